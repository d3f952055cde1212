"""Taking over a stock module's store with EC key specs (issue 9, item 7):
the stock module names EC files after the key spec as the admin wrote it
(MDPrivateKeys P-256 -> privkey.p-256.pem), ours does the same and finds
either spelling, so switching modules orders nothing.

Stock issues for three MDs and puts them live; ours starts on the same
store: the same certificates are served and pebble sees no new order. Then
the files are renamed to another spelling of the same curve (what our
earlier releases wrote): still found, still no order.
"""
import os
import re
import types

import pytest

from mdtest import STOCK_MD_MODULE, certs, status

P256 = "kp256.test"      # MDPrivateKeys P-256
P384 = "kp384.test"      # MDPrivateKeys P-384
MIXED = "kmixed.test"    # MDPrivateKeys secp384r1 RSA
ECDSA_ONLY = "ECDSA+SHA256:ECDSA+SHA384"
RSA_ONLY = "RSA+SHA256"

FILES = {
    P256: ["privkey.p-256.pem", "pubcert.p-256.pem"],
    P384: ["privkey.p-384.pem", "pubcert.p-384.pem"],
    MIXED: ["privkey.pem", "privkey.secp384r1.pem", "pubcert.pem", "pubcert.secp384r1.pem"],
}


def _configure(a):
    conf = a.config()
    conf.add_md([P256], ["MDPrivateKeys P-256"])
    conf.add_md([P384], ["MDPrivateKeys P-384"])
    conf.add_md([MIXED], ["MDPrivateKeys secp384r1 RSA"])
    for md in (P256, P384, MIXED):
        conf.add_vhost(md)
    status.add_handlers(conf, server_status=False, metrics=False)
    conf.write()


def _cred_files(a, md):
    return sorted(f for f in os.listdir(a.domain_dir(md)) if f.startswith(("privkey", "pubcert")))


def _served(a):
    return {P256: a.get_served_cert(P256, sigalgs=ECDSA_ONLY).serial_number,
            P384: a.get_served_cert(P384, sigalgs=ECDSA_ONLY).serial_number,
            MIXED + "/ec": a.get_served_cert(MIXED, sigalgs=ECDSA_ONLY).serial_number,
            MIXED + "/rsa": a.get_served_cert(MIXED, sigalgs=RSA_ONLY).serial_number}


def _ours_settled(a, mark):
    """Ours has looked at every MD at least once (a whole watchdog pass)."""
    a.wait_for_log(r"MD12012: checked 3 MDs", since=mark, timeout=60)


@pytest.fixture(scope="module")
def takeover(e2e, pebble):
    store = os.path.join(e2e.workdir, "keyspec-store")
    ns = types.SimpleNamespace()
    stock = e2e.new_apache(name="keyspec-stock", module=STOCK_MD_MODULE, store_dir=store)
    _configure(stock)
    try:
        stock.start()
        stock.wait_staged(P256, fname="pubcert.p-256.pem")
        stock.wait_staged(P384, fname="pubcert.p-384.pem")
        stock.wait_staged(MIXED)
        stock.graceful()
        stock.wait_served(P256, sigalgs=ECDSA_ONLY)
        stock.wait_served(MIXED)
        ns.stock_files = {md: _cred_files(stock, md) for md in FILES}
        ns.stock_served = _served(stock)
    finally:
        stock.stop()

    ns.orders = pebble.count_orders_created()
    ours = e2e.new_apache(name="keyspec-ours", store_dir=store)
    _configure(ours)
    ns.apache = ours
    try:
        mark = ours.log_mark()
        ours.start()
        _ours_settled(ours, mark)
        ns.ours_served = _served(ours)
        ns.ours_status = {md: status.md_status(ours, md) for md in FILES}
        ns.orders_after_takeover = pebble.count_orders_created()
        ours.stop()

        # another spelling of the same curves in the store
        for md, old, new in ((P256, "p-256", "secp256r1"), (P384, "p-384", "secp384r1")):
            for kind in ("privkey", "pubcert"):
                os.rename(os.path.join(ours.domain_dir(md), "%s.%s.pem" % (kind, old)),
                          os.path.join(ours.domain_dir(md), "%s.%s.pem" % (kind, new)))
        mark = ours.log_mark()
        ours.start()
        _ours_settled(ours, mark)
        ns.respelled_served = _served(ours)
        ns.respelled_status = {md: status.md_status(ours, md) for md in FILES}
        ns.orders_after_respelling = pebble.count_orders_created()
    finally:
        ours.stop()
    return ns


def test_stock_names_ec_files_after_the_spec_as_written(takeover):
    assert takeover.stock_files == FILES


def test_ours_serves_the_stock_certificates(takeover):
    assert takeover.ours_served == takeover.stock_served
    for md, st in takeover.ours_status.items():
        assert st["state"] == 2, (md, st.get("state-descr"))
        assert "renew" not in st and "renewal" not in st, md


def test_taking_over_orders_nothing(takeover):
    assert takeover.orders_after_takeover == takeover.orders


def test_either_spelling_is_found(takeover):
    assert takeover.respelled_served == takeover.stock_served
    for md, st in takeover.respelled_status.items():
        assert st["state"] == 2, (md, st.get("state-descr"))
    assert sorted(takeover.respelled_status[P256]["cert"]) == ["P-256", "valid"]
    assert takeover.orders_after_respelling == takeover.orders
    a = takeover.apache
    assert not a.log_lines(r"MD1200[12]: %s" % re.escape(P256))
