"""Configuration checking: `apache2 -t` refuses what the stock module
refuses, with a message that says what is wrong and where; a value the
stock module accepts but that cannot work starts with a warning that names
directive, value, file and line; an MD that no virtual host uses is only a
warning.

Each test runs the same configuration through the stock module too and
compares the outcome (accepted or not). Tests named test_bad_config_* also
check our module's messages, so they are marked `ours`.
"""
import re

import pytest

from mdtest import STOCK_MD_MODULE

REFUSED = [
    # (line, directive, bad value): the stock module refuses these too
    ("MDRenewMode sometimes", "MDRenewMode", "sometimes"),
    ("MDRenewWindow 100%", "MDRenewWindow", "100%"),
    ("MDRenewWindow -5%", "MDRenewWindow", "-5%"),
    ("MDRenewWindow 33x", "MDRenewWindow", "33x"),
    ("MDExternalAccountBinding kid-1 a2V5 HS999", "MDExternalAccountBinding", "HS999"),
    ("MDExternalAccountBinding /nonexistent/eab.json", "MDExternalAccountBinding",
     "/nonexistent/eab.json"),
    ("MDHttpProxy ftp://proxy.test:21", "MDHttpProxy", "ftp://proxy.test:21"),
    ("MDProfileMandatory maybe", "MDProfileMandatory", "maybe"),
    ("MDRenewViaARI sometimes", "MDRenewViaARI", "sometimes"),
    ("MDPrivateKeys RSA 1024", "MDPrivateKeys", "1024"),
    ("MDCertificateAuthority no-such-ca", "MDCertificateAuthority", "no-such-ca"),
]

WARNED = [
    # (line, directive, value): the stock module starts with these; they
    # cannot work (or not yet), so ours starts with a warning
    ("MDomain bad_name.test", "MDomain", "bad_name.test"),
    ("MDomain -lead.test", "MDomain", "-lead.test"),
    ("MDomain a..test", "MDomain", "a..test"),
    ("MDHttpProxyCACertificateFile /nonexistent/proxy-ca.pem",
     "MDHttpProxyCACertificateFile", "/nonexistent/proxy-ca.pem"),
    ('MDProfile "two words"', "MDProfile", "two words"),
    ("MDNotifyCmd /nonexistent/notify-prog", "MDNotifyCmd", "/nonexistent/notify-prog"),
    ("MDMessageCmd /nonexistent/message-prog arg", "MDMessageCmd",
     "/nonexistent/message-prog"),
    ("MDPrivateKeys X25519", "MDPrivateKeys", "X25519"),
    ("MDActivationDelay 9223372036854775807", "MDActivationDelay", "9223372036854775807"),
]


def _mentions_line(out, lineno):
    return re.search(r"(?<!\d)%d(?!\d)" % lineno, out) is not None


def _good_base(apache):
    conf = apache.config()
    conf.add_md(["good.test"])
    conf.add_vhost("good.test")
    return conf


def _with_lines(apache, *lines):
    """The good base plus `lines`, after checking the base alone passes, so
    a failure below is about those lines (not, say, a module that does not
    load)."""
    conf = _good_base(apache)
    conf.write()
    rc, out = apache.config_test()
    assert rc == 0, "the base config alone fails apache2 -t:\n" + out
    conf.add(*lines)
    conf.write()
    return conf


@pytest.fixture
def stock(apache_factory):
    return apache_factory(name="stock", module=STOCK_MD_MODULE)


def test_valid_md_config_passes_config_test(apache):
    conf = _good_base(apache)
    conf.add("MDRenewMode auto", "MDRenewWindow 33%")
    conf.add_md(["set.test", "www.set.test"], ["MDRenewWindow 20d"])
    conf.add_vhost("set.test", aliases=["www.set.test"])
    conf.write()
    rc, out = apache.config_test()
    assert rc == 0, out


@pytest.mark.ours
@pytest.mark.parametrize("line,directive,value", REFUSED,
                         ids=[b[0].replace(" ", "_") for b in REFUSED])
def test_bad_config_refused_naming_directive_value_and_place(apache, stock, line,
                                                             directive, value):
    conf = _with_lines(apache, line)
    lineno = conf.line_of(line)
    rc, out = apache.config_test()
    assert rc != 0, "config with %r was accepted:\n%s" % (line, out)
    assert directive in out, out
    assert value in out, out
    assert apache.conf_path in out, out
    assert _mentions_line(out, lineno), "line %d not named:\n%s" % (lineno, out)
    _with_lines(stock, line)
    rc, out = stock.config_test()
    assert rc != 0, "the stock module accepts %r:\n%s" % (line, out)


@pytest.mark.ours
@pytest.mark.parametrize("line,directive,value", WARNED,
                         ids=[b[0].replace(" ", "_") for b in WARNED])
def test_bad_config_starts_with_warning_naming_directive_value_and_place(
        apache, stock, line, directive, value):
    """`apache2 -t` passes, as with the stock module, and shows a warning."""
    conf = _with_lines(apache, line)
    lineno = conf.line_of(line)
    rc, out = apache.config_test()
    assert rc == 0, "config with %r was refused:\n%s" % (line, out)
    warning = [w for w in out.splitlines() if "[md:warn]" in w and directive in w]
    assert warning, "no warning about %s:\n%s" % (directive, out)
    assert value in warning[0], out
    assert "%s:%d" % (apache.conf_path, lineno) in warning[0], out
    _with_lines(stock, line)
    rc, out = stock.config_test()
    assert rc == 0, "the stock module refuses %r:\n%s" % (line, out)


@pytest.mark.ours
def test_bad_config_same_name_in_two_mds_names_both_places(apache, stock):
    """The stock module passes `apache2 -t` with this but refuses to start
    (test_config_dropin.py shows it); ours says so at `apache2 -t`."""
    conf = _with_lines(apache, "MDomain x.test", "# something in between",
                       "MDomain y.test x.test")
    first = conf.line_of("MDomain x.test")
    second = conf.line_of("MDomain y.test x.test")
    rc, out = apache.config_test()
    assert rc != 0, "x.test in two MDs was accepted:\n%s" % out
    assert "x.test" in out, out
    assert apache.conf_path in out, out
    assert _mentions_line(out, first), "line %d not named:\n%s" % (first, out)
    assert _mentions_line(out, second), "line %d not named:\n%s" % (second, out)


@pytest.mark.ours
def test_bad_config_eab_key_warned_without_quoting_it(apache, stock):
    """A MAC key that is not base64url cannot sign: the server starts (as
    with the stock module, which fails later), the warning names the key id,
    never the key (configs and logs get pasted into bug reports)."""
    conf = _with_lines(apache, "MDExternalAccountBinding kid-7 s3cr*t+k3y!")
    lineno = conf.line_of("MDExternalAccountBinding")
    rc, out = apache.config_test()
    assert rc == 0, out
    assert "kid-7" in out and "base64url" in out, out
    assert "s3cr*t" not in out, out
    assert _mentions_line(out, lineno), out
    _with_lines(stock, "MDExternalAccountBinding kid-7 s3cr*t+k3y!")
    rc, out = stock.config_test()
    assert rc == 0, out


def test_md_without_vhost_warns_but_server_starts(apache):
    conf = apache.config()
    conf.add_md(["unused.test"])
    conf.add_vhost("plain.test", ssl=False)
    conf.write()
    apache.start()
    apache.wait_for_log(r"\[md:warn\].*unused\.test")
    assert apache.running
    assert apache.http_get("plain.test", "/index.html").status == 200


def test_mdomain_inside_virtualhost_is_accepted_and_managed(apache):
    """As with the stock module, MDomain may stand inside the VirtualHost it
    is for; it defines the same MD as at the top level."""
    conf = apache.config()
    conf.add_vhost("invhost.test", lines=["MDomain invhost.test"])
    conf.write()
    rc, out = apache.config_test()
    assert rc == 0, out
    apache.start()
    apache.wait_staged("invhost.test")
