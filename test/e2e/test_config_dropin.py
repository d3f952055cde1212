"""Configurations that start with the stock module start with ours, with
the same meaning: the same configuration runs under Debian's stock mod_md
and under ours, one after the other, and the outcomes are compared.

Without certificates (MDRenewMode manual, two starts per module, one per
MDMatchNames mode):
  - a directive given twice, in the server config and in a section: the
    later value wins (ours warns, naming both lines)
  - per-MD directives inside <VirtualHost>: accepted, no effect
  - MDMatchNames all|servernames: a vhost's ServerAlias finds the MD (and
    the other names of the vhost, with SSL, join it) only with "all"
  - a vhost without SSL with names in two MDs
  - MDRequireHttps in .htaccess (AllowOverride AuthConfig)
  - an MDNotifyCmd program that does not exist
  - a name the CA will refuse

With certificates from pebble:
  - MDomain *.wc.test covers the vhost www.wc.test: its certificate is served
  - a name the CA will refuse: the server starts, the other MDs get their
    certificates, that MD reports the problem in md-status (renewal.last)

And what both refuse to start: a name in two MDs (ours already at
`apache2 -t`), a vhost with SSL and names in two MDs.
"""
import json
import os
import re
import types

import pytest

from mdtest import STOCK_MD_MODULE, certs, static_certs, status
from mdtest.dns01 import Dns01Program

TWICE = "twice.test"
VHOST_MD = "vh.test"
MATCH = "mn.test"
MATCH_HOST = "other.test"
PAIR = ["a2.test", "b2.test"]
BAD = "bad!.test"
GOOD = "good.test"
WILD = "*.wc.test"
WILD_HOST = "www.wc.test"
MISSING_PROG = "/nonexistent/notify-prog"


def _key_spec(md_json):
    """The key spec of md-status, under the stock module's member name or
    ours."""
    return md_json.get("privkey") or md_json.get("pkey")


def _manual_config(a, mode):
    conf = a.config()
    htdir = os.path.join(a.root, "ht")
    os.makedirs(htdir, exist_ok=True)
    with open(os.path.join(htdir, ".htaccess"), "w") as f:
        f.write("MDRequireHttps permanent\n")
    with open(os.path.join(htdir, "x.html"), "w") as f:
        f.write("x\n")
    os.chmod(htdir, 0o755)
    conf.add("MDRenewMode always",
             "MDRenewMode manual",
             "MDNotifyCmd %s" % MISSING_PROG,
             "MDMatchNames %s" % mode)
    conf.add_md([TWICE], ["MDPrivateKeys RSA", "MDPrivateKeys secp384r1"])
    conf.add_md([VHOST_MD])
    conf.add_md([MATCH])
    conf.add_md([PAIR[0]])
    conf.add_md([PAIR[1]])
    conf.add_md([BAD])
    conf.add_vhost(VHOST_MD, ssl=False, lines=["MDRenewMode always"])
    # with SSL: its other names join the MD it matches (as with the stock
    # module, only for a vhost with SSL); its own certificate lets it start
    # when it matches none
    cert, key = static_certs.write_pair(os.path.join(a.root, "static"), "other",
                                        *static_certs.make_static([MATCH_HOST])[:2])
    conf.add_vhost(MATCH_HOST, aliases=[MATCH], lines=["SSLCertificateFile %s" % cert,
                                                       "SSLCertificateKeyFile %s" % key])
    conf.add_vhost(PAIR[0], aliases=PAIR[1:], ssl=False)
    conf.add_vhost(TWICE, ssl=False, doc_root=htdir,
                   lines=["ServerAdmin vhost-admin@twice.test",
                          '<Directory "%s">' % htdir, "    AllowOverride AuthConfig",
                          "    Require all granted", "</Directory>"])
    status.add_handlers(conf, server_status=False, metrics=False)
    conf.write()
    return conf


def _run_manual(e2e, module, name, mode):
    a = e2e.new_apache(name=name, module=module)
    conf = _manual_config(a, mode)
    res = types.SimpleNamespace(apache=a, conf=conf)
    try:
        a.start()
        res.mds = {md: status.md_status(a, md) for md in (TWICE, VHOST_MD, MATCH) + tuple(PAIR)}
        res.htaccess = status.request(a, "GET", TWICE, "/x.html")
        res.log = a.log_text()
    finally:
        a.stop()
    return res


@pytest.fixture(scope="module")
def manual(e2e):
    runs = {}
    for mode in ("all", "servernames"):
        runs[mode] = types.SimpleNamespace(
            stock=_run_manual(e2e, STOCK_MD_MODULE, "dropin-stock-" + mode, mode),
            ours=_run_manual(e2e, e2e.module, "dropin-ours-" + mode, mode))
    return runs


@pytest.mark.parametrize("mode", ["all", "servernames"])
def test_given_twice_later_value_wins(manual, mode):
    for run in (manual[mode].stock, manual[mode].ours):
        assert run.mds[TWICE]["renew-mode"] == 0, run.mds[TWICE]
        spec = _key_spec(run.mds[TWICE])
        spec = spec[0] if isinstance(spec, list) else spec
        assert spec and spec.get("curve", "").lower() in ("secp384r1", "p-384"), run.mds[TWICE]


@pytest.mark.ours
def test_given_twice_warns_naming_both_lines(manual):
    run = manual["all"].ours
    first = run.conf.line_of("MDRenewMode always")
    second = run.conf.line_of("MDRenewMode manual")
    assert re.search(r"\[md:warn\].*%s:%d: MDRenewMode given again \(first at %s:%d\)" % (
        re.escape(run.apache.conf_path), second, re.escape(run.apache.conf_path), first),
        run.log), run.log
    assert re.search(r"\[md:warn\].*MDPrivateKeys given again", run.log), run.log


def test_contact_is_the_main_servers_admin(manual):
    """Without MDContactEmail: the main server's ServerAdmin, not the one of
    the MD's vhost (as with the stock module)."""
    for run in (manual["all"].stock, manual["all"].ours):
        assert run.mds[TWICE]["contacts"] == ["mailto:admin@example.org"], run.mds[TWICE]


def test_per_md_directive_in_vhost_has_no_effect(manual):
    for run in (manual["all"].stock, manual["all"].ours):
        assert run.mds[VHOST_MD]["renew-mode"] == 0, run.mds[VHOST_MD]


@pytest.mark.parametrize("mode", ["all", "servernames"])
def test_match_names(manual, mode):
    """With "all" the vhost other.test finds mn.test by its alias and its
    server name joins the MD (MDMembers auto, a vhost with SSL); with
    "servernames" not."""
    for run in (manual[mode].stock, manual[mode].ours):
        domains = sorted(run.mds[MATCH]["domains"])
        expected = sorted([MATCH, MATCH_HOST]) if mode == "all" else [MATCH]
        assert domains == expected, (run.apache.module, domains)


@pytest.mark.ours
def test_match_names_servernames_says_md_is_unused(manual):
    assert re.search(r"MD11004: MDomain %s .*not used by any virtual host.*"
                     r"MDMatchNames servernames" % MATCH, manual["servernames"].ours.log)


def test_vhost_without_ssl_in_two_mds_starts(manual):
    for run in (manual["all"].stock, manual["all"].ours):
        for md in PAIR:
            assert run.mds[md]["domains"] == [md], run.mds[md]


def test_require_https_in_htaccess_is_accepted(manual):
    """AllowOverride AuthConfig allows it, as with the stock module; it has
    no effect there (the MD has no certificate anyway)."""
    for run in (manual["all"].stock, manual["all"].ours):
        assert run.htaccess.status == 200, (run.apache.module, run.htaccess)


@pytest.mark.ours
def test_missing_notify_program_is_a_warning(manual):
    run = manual["all"].ours
    line = run.conf.line_of("MDNotifyCmd")
    assert re.search(r"\[md:warn\].*%s:%d: MDNotifyCmd \"%s\": program %s does not exist" % (
        re.escape(run.apache.conf_path), line, MISSING_PROG, MISSING_PROG), run.log), run.log


# --- with certificates ---------------------------------------------------------

def _staged(a, md):
    """Staged (the job says finished) or, with our automatic activation,
    live already. Not through the log: the stock module logs its staged
    notice only when MDNotifyCmd succeeds."""
    if os.path.exists(a.live_pubcert(md)):
        return True
    try:
        with open(os.path.join(a.staging_dir(md), "job.json")) as f:
            job = json.load(f)
    except (OSError, ValueError):
        return False
    return job.get("finished") and os.path.exists(a.staged_pubcert(md))


def _bad_errored(a):
    last = status.md_status(a, BAD).get("renewal", {}).get("last", {})
    return last if last.get("problem") else None


def _run_issuing(e2e, module, name):
    a = e2e.new_apache(name=name, module=module)
    prog = Dns01Program(a, e2e.challtestsrv)
    conf = a.config()
    conf.add("MDNotifyCmd %s" % MISSING_PROG)
    conf.add_md([GOOD])
    conf.add_md([BAD])
    conf.add_md([WILD], [prog.directive()])
    conf.add_vhost(GOOD)
    conf.add_vhost(BAD, ssl=False)
    conf.add_vhost(WILD_HOST)
    status.add_handlers(conf, server_status=False, metrics=False)
    conf.write()
    res = types.SimpleNamespace(apache=a, conf=conf)
    try:
        a.start()
        for md in (GOOD, WILD):
            a.wait_for(lambda: _staged(a, md), timeout=120,
                       what="a certificate for %s" % md)
        res.bad_last = a.wait_for(lambda: _bad_errored(a), timeout=90,
                                  what="the problem of %s in md-status" % BAD)
        a.graceful()
        res.good = a.wait_served(GOOD)
        res.wild = a.wait_served(WILD_HOST)
    finally:
        a.stop()
    return res


@pytest.fixture(scope="module")
def issuing(e2e):
    return types.SimpleNamespace(stock=_run_issuing(e2e, STOCK_MD_MODULE, "dropin-issue-stock"),
                                 ours=_run_issuing(e2e, e2e.module, "dropin-issue-ours"))


def test_wildcard_md_covers_vhost(issuing, pebble):
    for run in (issuing.stock, issuing.ours):
        assert certs.dns_sans(run.wild[0]) == [WILD], run.apache.module
        ok, out = pebble.verify_chain(run.wild, hostname=WILD_HOST)
        assert ok, out


def test_refused_name_does_not_stop_the_others(issuing, pebble):
    for run in (issuing.stock, issuing.ours):
        assert GOOD in certs.dns_sans(run.good[0]), run.apache.module
        assert run.bad_last.get("problem"), (run.apache.module, run.bad_last)


@pytest.mark.ours
def test_refused_name_problem_names_directive_file_and_line(issuing):
    run = issuing.ours
    line = run.conf.line_of("MDomain %s" % BAD)
    assert run.bad_last["problem"] == "urn:ietf:params:acme:error:rejectedIdentifier"
    assert "%s:%d" % (run.apache.conf_path, line) in run.bad_last["detail"], run.bad_last
    assert BAD in run.bad_last["detail"]


# --- what neither starts with --------------------------------------------------

def _start_fails(a):
    try:
        a.start(timeout=30)
    except AssertionError:
        return True
    a.stop()
    return False


def _start_fails_with(e2e, apache_factory, name, module, add):
    a = apache_factory(name="%s-%s" % (name, module),
                       module=STOCK_MD_MODULE if module == "stock" else e2e.module)
    conf = a.config()
    add(conf)
    conf.write()
    return _start_fails(a)


@pytest.mark.parametrize("module", ["stock", "ours"])
def test_name_in_two_mds_does_not_start(e2e, apache_factory, module):
    def add(conf):
        conf.add_md(["*.ov.test"])
        conf.add_md(["www.ov.test"])
        conf.add_vhost("www.ov.test", ssl=False)
    assert _start_fails_with(e2e, apache_factory, "overlap", module, add)


@pytest.mark.parametrize("module", ["stock", "ours"])
def test_vhost_with_ssl_in_two_mds_does_not_start(e2e, apache_factory, module):
    def add(conf):
        conf.add_md(["a3.test"])
        conf.add_md(["b3.test"])
        conf.add_vhost("a3.test", aliases=["b3.test"])
    assert _start_fails_with(e2e, apache_factory, "sslpair", module, add)
