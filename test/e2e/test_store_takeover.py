"""Switching modules on one store: Debian's stock mod_md fills a store and
ours takes it over (same certificates, same account, no new order); our
store is then read by the stock module the same way.

Both directions share one pebble and one MDStoreDir; the servers run one
after the other on the session ports.
"""
import json
import os
import pwd
import types

import pytest

from mdtest import STOCK_MD_MODULE, certs

RSA_MD = ["take.test", "www.take.test"]
DUAL_MD = "dual.test"          # two key types: the EC files have their own names
NEW_BY_OURS = "ours-new.test"
NEW_BY_STOCK = "stock-new.test"


def _configure(a, mds, new_md):
    conf = a.config()
    conf.add_md(RSA_MD)
    conf.add_md([DUAL_MD], ["MDPrivateKeys secp256r1 rsa2048"])
    if new_md:
        conf.add_md([new_md])
    conf.add_vhost(RSA_MD[0], aliases=RSA_MD[1:])
    conf.add_vhost(DUAL_MD)
    if new_md:
        conf.add_vhost(new_md)
    conf.write()


def _live_serials(a, md):
    d = a.domain_dir(md)
    return sorted(certs.load_pem_file(os.path.join(d, f))[0].serial_number
                  for f in os.listdir(d) if f.startswith("pubcert"))


@pytest.fixture(scope="module")
def switch(e2e, pebble):
    """stock fills -> ours takes over (and orders one new MD) -> stock takes
    the store back (and orders another new MD). Records what each saw."""
    store = os.path.join(e2e.workdir, "takeover-store")
    ns = types.SimpleNamespace(store=store)

    stock = e2e.new_apache(name="takeover-stock", module=STOCK_MD_MODULE, store_dir=store)
    _configure(stock, [RSA_MD, DUAL_MD], None)
    try:
        stock.start()
        stock.wait_staged(RSA_MD[0])
        stock.wait_staged(DUAL_MD)
        stock.graceful()
        stock.wait_served(RSA_MD[0])
        ns.stock_serial = stock.get_served_cert(RSA_MD[0]).serial_number
        ns.stock_live = {md: _live_serials(stock, md) for md in (RSA_MD[0], DUAL_MD)}
        ns.stock_accounts = sorted(os.listdir(stock.accounts_dir))
    finally:
        stock.stop()

    # what the stock module wrote, plus members a newer stock module might
    # write: all of it must survive our module's start
    md_json = os.path.join(store, "domains", RSA_MD[0], "md.json")
    with open(md_json) as f:
        ns.stock_md_json = json.load(f)
    extended = dict(ns.stock_md_json, **{"x-future": {"a": [1, 2]}})
    extended["ca"] = dict(extended["ca"], **{"x-ca-future": "kept"})
    with open(md_json, "w") as f:
        json.dump(extended, f)
    ns.stock_ocsp = os.path.isdir(os.path.join(store, "ocsp"))

    ns.orders_before_ours = pebble.count_orders_created()
    ns.accounts_before_ours = pebble.count_accounts_created()
    ours = e2e.new_apache(name="takeover-ours", store_dir=store)
    _configure(ours, None, NEW_BY_OURS)
    try:
        ours.start()
        ns.ours_served = {n: ours.get_served_chain(n) for n in RSA_MD + [DUAL_MD]}
        # the job looks at the MDs in config order: once the new MD is
        # staged, the taken-over ones have been considered too
        ours.wait_staged(NEW_BY_OURS)
        ns.orders_after_ours = pebble.count_orders_created()
        ns.accounts_after_ours = pebble.count_accounts_created()
        ours.graceful()
        ours.wait_served(NEW_BY_OURS)
        ns.ours_new_serial = ours.get_served_cert(NEW_BY_OURS).serial_number
        ns.ours_log = ours.log_text()
        ns.ours_live = {md: _live_serials(ours, md) for md in (RSA_MD[0], DUAL_MD)}
        with open(md_json) as f:
            ns.ours_md_json = json.load(f)
        ns.ocsp_after_ours = os.path.isdir(os.path.join(store, "ocsp"))
    finally:
        ours.stop()

    ns.orders_before_stock = pebble.count_orders_created()
    ns.accounts_before_stock = pebble.count_accounts_created()
    back = e2e.new_apache(name="takeover-back", module=STOCK_MD_MODULE, store_dir=store)
    _configure(back, None, NEW_BY_STOCK)
    conf_text = open(back.conf_path).read().replace(
        "MDomain %s\n" % NEW_BY_STOCK, "MDomain %s\nMDomain %s\n" % (NEW_BY_OURS, NEW_BY_STOCK))
    conf_text += ("<VirtualHost *:%d>\n    ServerName %s\n    SSLEngine on\n"
                  "</VirtualHost>\n" % (back.https_port, NEW_BY_OURS))
    back.write_config(conf_text)
    try:
        back.start()
        ns.back_served = {n: back.get_served_cert(n).serial_number
                          for n in (RSA_MD[0], NEW_BY_OURS)}
        back.wait_staged(NEW_BY_STOCK)
        ns.orders_after_stock = pebble.count_orders_created()
        ns.accounts_after_stock = pebble.count_accounts_created()
        ns.back_log = back.log_text()
    finally:
        back.stop()
    yield ns


def test_takeover_of_stock_store_serves_same_certificates(switch, pebble):
    for name in RSA_MD:
        leaf = switch.ours_served[name][0]
        assert leaf.serial_number == switch.stock_serial, name
        ok, out = pebble.verify_chain(switch.ours_served[name], hostname=name)
        assert ok, out
    assert switch.ours_served[DUAL_MD][0].serial_number in switch.stock_live[DUAL_MD]
    # and the live files stayed as the stock module left them
    assert switch.ours_live == switch.stock_live


def test_takeover_of_stock_store_places_no_order_for_valid_certificates(switch):
    # exactly one order: the MD that was new to the store
    assert switch.orders_after_ours - switch.orders_before_ours == 1


def test_takeover_of_stock_store_reuses_its_account(switch):
    assert switch.accounts_after_ours == switch.accounts_before_ours, \
        "a new ACME account was registered instead of using the stock one"
    assert sorted(os.listdir(os.path.join(switch.store, "accounts"))) == switch.stock_accounts


def test_stock_module_serves_certificates_of_our_store(switch):
    assert switch.back_served[RSA_MD[0]] == switch.stock_serial
    assert switch.back_served[NEW_BY_OURS] == switch.ours_new_serial


def test_stock_module_orders_nothing_for_our_valid_certificates(switch):
    assert switch.orders_after_stock - switch.orders_before_stock == 1
    assert switch.accounts_after_stock == switch.accounts_before_stock, \
        "the stock module could not use the account in our store"


def test_takeover_keeps_what_the_stock_module_wrote(switch):
    assert switch.ours_md_json["x-future"] == {"a": [1, 2]}
    assert switch.ours_md_json["ca"]["x-ca-future"] == "kept"
    for key, value in switch.stock_md_json.items():
        if key == "ca":
            for k, v in value.items():
                assert switch.ours_md_json["ca"].get(k) == v, "ca." + k
        elif key != "state":
            assert switch.ours_md_json.get(key) == value, key
    assert switch.stock_ocsp and switch.ocsp_after_ours


def test_takeover_right_after_stock_renewal_activates_and_keeps_its_new_account(
        e2e, pebble, apache_factory):
    """The stock module registered an account and staged a certificate but
    was replaced before activating it (its account still in staging/)."""
    store = os.path.join(e2e.workdir, "takeover-staged-store")
    md, later = "staged.test", "later.test"
    stock = apache_factory(name="staged-stock", module=STOCK_MD_MODULE, store_dir=store)
    conf = stock.config()
    conf.add_md([md])
    conf.add_vhost(md)
    conf.write()
    stock.start()
    stock.wait_staged(md)
    stock.stop()
    staged_dir = os.path.join(store, "staging", md)
    assert os.path.exists(os.path.join(staged_dir, "account.json")), os.listdir(staged_dir)
    staged_serial = certs.load_pem_file(os.path.join(staged_dir, "pubcert.pem"))[0].serial_number
    accounts = pebble.count_accounts_created()
    orders = pebble.count_orders_created()

    ours = apache_factory(name="staged-ours", store_dir=store)
    conf = ours.config()
    conf.add_md([md])
    conf.add_md([later])
    conf.add_vhost(md)
    conf.add_vhost(later)
    conf.write()
    ours.start()
    assert ours.get_served_cert(md).serial_number == staged_serial
    ours.wait_staged(later)
    assert pebble.count_accounts_created() == accounts, \
        "the account the stock module had staged was not used"
    assert pebble.count_orders_created() == orders + 1
    ids = os.listdir(os.path.join(store, "accounts"))
    assert len(ids) == 1, ids
    with open(os.path.join(store, "domains", md, "md.json")) as f:
        assert json.load(f)["ca"]["account"] == ids[0]
    acct_dir = os.path.join(store, "accounts", ids[0])
    for name in os.listdir(acct_dir) + [""]:
        assert os.stat(os.path.join(acct_dir, name)).st_uid == pwd.getpwnam("www-data").pw_uid
