"""ACME Renewal Information (RFC 9773): the watchdog asks the CA for the
renewal window of each live certificate, renews inside it (also long
before MDRenewWindow would), sends "replaces" in that order, keeps the
answer until the CA's Retry-After (also across a restart), and does none of
this with MDRenewViaARI off.

Pebble 2.4 has no ARI: the test front (mdtest.acmefront) adds renewalInfo
to the directory and answers with windows the test sets.
"""
import os
import time
import types

import pytest

from mdtest import acmefront, certs

pytestmark = pytest.mark.long

DUE = "ari-due.test"        # window in the past: renew now
LATER = "ari-later.test"    # window starting a little later: renew inside it
CACHED = "ari-cached.test"  # window far ahead, Retry-After an hour: asked once
OFF = "ari-off.test"        # MDRenewViaARI off


def _orders_for(front, name):
    return [r for r in front.requests()
            if r.method == "POST" and r.path == "/order-plz" and isinstance(r.payload, dict)
            and any(i.get("value") == name for i in r.payload.get("identifiers", []))]


def _cert_id(path):
    return acmefront.ari_cert_id(certs.load_pem_file(path)[0])


@pytest.fixture(scope="module")
def ari(e2e):
    front = acmefront.AcmeFront(os.path.join(e2e.workdir, "front-ari"), e2e.pebble).start()
    now = time.time()
    # whatever is not set per certificate: renew now
    front.set_renewal_window("*", now - 7200, now - 3600)
    a = e2e.new_apache(name="ari", ca_url=front.directory_url)
    conf = a.config()
    # the test makes the restarts (and times its windows by them)
    conf.add("MDActivationAuto off")
    for name in (DUE, LATER, CACHED):
        conf.add_md([name])
    conf.add_md([OFF], ["MDRenewViaARI off"])
    for name in (DUE, LATER, CACHED, OFF):
        conf.add_vhost(name)
    conf.write()
    try:
        a.start()
        for name in (DUE, LATER, CACHED, OFF):
            a.wait_staged(name)
        ids = {name: _cert_id(a.staged_pubcert(name)) for name in (DUE, LATER, CACHED, OFF)}
        # whole seconds: windows travel as RFC 3339 times without fractions
        now = int(time.time()) + 1
        later_window = (now + 20, now + 25)
        front.set_renewal_window(ids[LATER], *later_window, retry_after=3600)
        front.set_renewal_window(ids[CACHED], now + 10 * 86400, now + 11 * 86400,
                                 retry_after=3600,
                                 explanation="https://ca.example/why")

        mark = a.log_mark()
        live_at = time.time()
        a.graceful()                         # the first certificates go live
        a.wait_staged(DUE, since=mark)
        a.wait_staged(LATER, since=mark, timeout=180)
        # from here on no window asks for a renewal
        now = time.time()
        front.set_renewal_window("*", now + 10 * 86400, now + 11 * 86400)
        new_ids = {name: _cert_id(a.staged_pubcert(name)) for name in (DUE, LATER)}

        mark2 = a.log_mark()
        a.graceful()                         # a new child, the renewed ones go live
        # the new child asked for the new certificate's window: its passes ran
        a.wait_for(lambda: new_ids[DUE] in front.renewal_info_requests(),
                   what="the window of the renewed %s to be asked for" % DUE)
        a.wait_for(lambda: new_ids[LATER] in front.renewal_info_requests(),
                   what="the window of the renewed %s to be asked for" % LATER)
        yield types.SimpleNamespace(apache=a, front=front, ids=ids, new_ids=new_ids,
                                    later_window=later_window, live_at=live_at)
    finally:
        a.stop()
        front.stop()


def _split(ari, name):
    """Orders before the first certificates went live, and after."""
    orders = _orders_for(ari.front, name)
    return ([o for o in orders if o.time < ari.live_at],
            [o for o in orders if o.time >= ari.live_at])


def test_ari_window_in_past_renews_now_with_replaces(ari):
    first, renewal = _split(ari, DUE)
    # the first certificate replaced nothing; the renewal names it
    assert first and all("replaces" not in o.payload for o in first), first
    assert renewal and all(o.payload.get("replaces") == ari.ids[DUE] for o in renewal), renewal
    assert ari.ids[DUE] in ari.front.renewal_info_requests()


def test_ari_renews_inside_a_later_window(ari):
    first, renewal = _split(ari, LATER)
    assert first and renewal, (first, renewal)
    start, end = ari.later_window
    # ordered inside the window, not before it
    assert min(o.time for o in renewal) >= start, ([o.time for o in renewal], start)
    assert all(o.payload.get("replaces") == ari.ids[LATER] for o in renewal)


def test_ari_answer_cached_until_retry_after(ari):
    """Asked once, not again after a restart within its Retry-After, and no
    renewal for a window days ahead."""
    asked = ari.front.renewal_info_requests()
    assert asked.count(ari.ids[CACHED]) == 1, asked
    first, renewal = _split(ari, CACHED)
    assert first and not renewal, renewal
    assert ari.apache.count_log(r"%s.*https://ca\.example/why" % CACHED.replace(".", r"\.")) >= 1


def test_ari_off_neither_asks_nor_replaces(ari):
    assert ari.ids[OFF] not in ari.front.renewal_info_requests()
    first, renewal = _split(ari, OFF)
    assert first and not renewal, renewal
    assert all("replaces" not in o.payload for o in first), first
