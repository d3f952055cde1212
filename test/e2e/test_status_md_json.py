"""md-status JSON has the stock module's keys: the same MDs run under
Debian's stock mod_md and under ours, against the same pebble, and the
documents are compared key by key at the same moments: an MD with a staged
certificate, an MD the CA refuses (errored renewal), an MD in manual mode,
and the first MD again once its certificate is live. Plus the handler's
own behaviour: lookup by any name of an MD, 404 for unknown names, GET only.
"""
import types

import pytest

from mdtest import STOCK_MD_MODULE, status

OK = ["cmp.test", "www.cmp.test"]
BLOCKED = "blocked.test"        # pebble refuses it: rejectedIdentifier
MANUAL = "manual.test"
MDS = (OK[0], BLOCKED, MANUAL)

# Keys the stock module has that ours lacks, and why. Everything else must
# be there. (test_stock_parity.py compares more: job.json, md.json, files.)
STOCK_ONLY = set()


def _configure(a):
    conf = a.config()
    conf.add_md(OK)
    conf.add_md([BLOCKED])
    conf.add_md([MANUAL], ["MDRenewMode manual"])
    conf.add_vhost(OK[0], aliases=OK[1:])
    conf.add_vhost(BLOCKED)
    conf.add_vhost(MANUAL)
    status.add_handlers(conf, server_status=False, metrics=False)
    conf.write()


def _blocked_errored(a):
    renewal = status.md_status(a, BLOCKED).get("renewal", {})
    return renewal.get("errors", 0) >= 1 and renewal.get("last", {}).get("problem")


def _run(e2e, ca, module, name):
    """Start, wait for the staged and the errored MD, snapshot, go live,
    snapshot again, stop. Returns the snapshots."""
    a = e2e.new_apache(name=name, pebble=ca, module=module)
    _configure(a)
    snaps = types.SimpleNamespace(apache=a)
    try:
        a.start()
        a.wait_staged(OK[0])
        a.wait_for(lambda: _blocked_errored(a), timeout=90,
                   what="an errored renewal for %s" % BLOCKED)
        snaps.before = {md: status.md_status(a, md) for md in MDS}
        snaps.before_all = status.md_status(a)
        a.graceful()
        a.wait_served(OK[0])
        snaps.after = {md: status.md_status(a, md) for md in (OK[0], MANUAL)}
        snaps.by_alias = status.md_status(a, OK[1])
        snaps.unknown = status.get(a, "/md-status/unknown.test")
        snaps.post = status.request(a, "POST", status.STATUS_HOST, "/md-status", body=b"x")
        snaps.put_one = status.request(a, "PUT", status.STATUS_HOST, "/md-status/" + OK[0],
                                       body=b"x")
        snaps.head = status.request(a, "HEAD", status.STATUS_HOST, "/md-status")
    finally:
        a.stop()
    return snaps


@pytest.fixture(scope="module")
def both(e2e):
    ca = e2e.new_pebble(config_extra={"domainBlocklist": [BLOCKED]})
    try:
        stock = _run(e2e, ca, STOCK_MD_MODULE, "status-json-stock")
        ours = _run(e2e, ca, e2e.module, "status-json-ours")
        yield types.SimpleNamespace(stock=stock, ours=ours)
    finally:
        ca.stop()


def _missing(stock_doc, our_doc):
    return sorted(status.key_paths(stock_doc) - status.key_paths(our_doc) - STOCK_ONLY)


@pytest.mark.parametrize("md", MDS)
def test_md_status_has_stock_keys_during_renewal(both, md):
    missing = _missing(both.stock.before[md], both.ours.before[md])
    assert not missing, "keys of the stock module's md-status missing for %s: %s" % (
        md, missing)


@pytest.mark.parametrize("md", (OK[0], MANUAL))
def test_md_status_has_stock_keys_when_live(both, md):
    missing = _missing(both.stock.after[md], both.ours.after[md])
    assert not missing, "keys missing for %s: %s" % (md, missing)


def test_md_status_list_has_stock_keys(both):
    stock = {"/managed-domains[]" + p for p in STOCK_ONLY}
    missing = sorted(status.key_paths(both.stock.before_all)
                     - status.key_paths(both.ours.before_all) - stock)
    assert not missing, missing
    assert [m["name"] for m in both.ours.before_all["managed-domains"]] == list(MDS)
    # the list leaves the renewal logs out, as the stock module does
    for m in both.ours.before_all["managed-domains"]:
        assert "log" not in m.get("renewal", {}), m["name"]


def test_md_status_values_agree_with_stock(both):
    """Not only the keys: what both modules say about the same MDs."""
    for when in ("before", "after"):
        for md, stock in getattr(both.stock, when).items():
            ours = getattr(both.ours, when)[md]
            for key in ("name", "domains", "contacts", "transitive", "state", "renew-mode",
                        "renew-window", "warn-window", "must-staple", "watched", "renew"):
                assert ours.get(key) == stock.get(key), (when, md, key)
            assert ours["ca"]["urls"] == stock["ca"]["urls"]
            assert sorted(ours["cert"]) == sorted(stock["cert"]), (when, md)
            assert ("renewal" in ours) == ("renewal" in stock), (when, md)


def test_md_status_shows_staged_certificate(both):
    r = both.ours.before[OK[0]]
    assert r["state"] == 1 and r["renew"] is True and r["cert"] == {}
    renewal = r["renewal"]
    assert renewal["finished"] is True and renewal["errors"] == 0
    cert = renewal["cert"]["rsa"]
    assert cert["issuer-name"].startswith("/CN=Pebble Intermediate")
    assert cert["sha256-fingerprint"] and cert["serial"]
    assert renewal["log"]["entries"], "the single-MD view has the job's log"


def test_md_status_shows_ca_problem_of_failed_renewal(both):
    renewal = both.ours.before[BLOCKED]["renewal"]
    assert renewal["finished"] is False
    assert renewal["errors"] >= 1
    last = renewal["last"]
    assert last["problem"] == "urn:ietf:params:acme:error:rejectedIdentifier"
    assert BLOCKED in last["detail"]
    assert last["status"] != 0 and last["status-description"]
    assert renewal["next-run"]


def test_md_status_live_certificate_is_the_served_one(both):
    live = both.ours.after[OK[0]]
    assert live["state"] == 2
    assert "renew" not in live and "renewal" not in live
    assert live["ca"]["account"], "the account the certificate was obtained with"
    assert live["cert"]["rsa"]["serial"] == both.ours.before[OK[0]]["renewal"]["cert"]["rsa"][
        "serial"]


def test_md_status_finds_md_by_any_of_its_names(both):
    assert both.ours.by_alias["name"] == OK[0]
    assert both.ours.by_alias["cert"] == both.ours.after[OK[0]]["cert"]


def test_md_status_unknown_name_is_404(both):
    assert both.ours.unknown.status == 404


def test_md_status_answers_get_only(both):
    for r in (both.ours.post, both.ours.put_one):
        assert r.status == 405, r
        assert "GET" in r.headers.get("Allow", ""), r.headers
    assert both.ours.head.status == 200 and not both.ours.head.body
