"""Foundation behaviours on one server: the fallback certificate before a
certificate exists, obtaining certificates for one MD, for an MD with three
names and for two MDs side by side, and restarts that keep the certificate
without a new order.
"""
import os
import stat
import types

import pytest

from mdtest import certs

ONE = "one.test"
THREE = ["three.test", "www.three.test", "api.three.test"]
HELD = "held.test"      # an MD kept from the CA, so its fallback stays


def _pebble_issued(chain):
    return certs.issuer_cn(chain[0]).startswith("Pebble Intermediate")


@pytest.fixture(scope="module")
def issued(e2e):
    """One server with two MDs that get certificates (one.test and the
    three-name three.test) and one MD held back with MDRenewMode manual.

    Runs the whole lifecycle: start, wait until both are staged, graceful
    restart, wait until both are served. Tests look at the result.
    """
    a = e2e.new_apache(name="issued")
    conf = a.config()
    conf.add_md([ONE])
    conf.add_md(THREE)
    conf.add_md([HELD], ["MDRenewMode manual"])
    conf.add_vhost(ONE)
    conf.add_vhost(THREE[0], aliases=THREE[1:])
    conf.add_vhost(HELD)
    conf.write()
    try:
        a.start()
        # the held MD is looked at before anything is activated too, as a
        # freshly started server presents it
        held_chain = a.get_served_chain(HELD)
        held_status = a.https_get(HELD, "/index.html").status
        a.wait_staged(ONE)
        a.wait_staged(THREE[0])
        a.graceful()
        a.wait_served(ONE)
        a.wait_served(THREE[0])
        yield types.SimpleNamespace(apache=a, held_chain_at_start=held_chain,
                                    held_status_at_start=held_status)
    finally:
        a.stop()


def test_md_without_certificate_serves_self_signed_fallback_and_503(issued):
    a = issued.apache
    for chain, status in ((issued.held_chain_at_start, issued.held_status_at_start),
                          (a.get_served_chain(HELD),
                           a.https_get(HELD, "/index.html").status)):
        leaf = chain[0]
        assert certs.is_self_signed(leaf), \
            "fallback cert should be self-signed, issuer=%s subject=%s" % (
                leaf.issuer.rfc4514_string(), leaf.subject.rfc4514_string())
        assert not _pebble_issued(chain)
        assert status == 503
    assert not os.path.exists(a.live_pubcert(HELD))
    assert not os.path.exists(a.staged_pubcert(HELD))


def test_md_gets_certificate_from_ca_and_serves_it(issued, pebble, tmp_path):
    a = issued.apache
    chain = a.get_served_chain(ONE)
    leaf = chain[0]
    assert certs.issuer_cn(leaf).startswith("Pebble Intermediate"), certs.issuer_cn(leaf)
    assert ONE in certs.dns_sans(leaf)
    ok, out = pebble.verify_chain(chain, hostname=ONE)
    assert ok, out
    # a verifying client is served the page
    root = tmp_path / "root.pem"
    root.write_bytes(pebble.root_pem())
    r = a.https_get(ONE, "/index.html", ca_file=str(root))
    assert r.status == 200, r
    assert "md e2e test" in r.text
    # the served certificate is the one in the store
    live = certs.load_pem_file(a.live_pubcert(ONE))
    assert live[0].serial_number == leaf.serial_number


def test_md_private_key_is_not_readable_by_others(issued):
    a = issued.apache
    mode = stat.S_IMODE(os.stat(a.live_privkey(ONE)).st_mode)
    assert mode & 0o077 == 0, "privkey.pem mode is %o" % mode


def test_store_has_stock_layout(issued):
    a = issued.apache
    assert os.path.isfile(a.store_json)
    assert os.path.isfile(a.live_pubcert(ONE))
    assert os.path.isfile(a.live_privkey(ONE))
    assert os.listdir(a.accounts_dir), "no ACME account in the store"


def test_md_with_three_names_gets_one_certificate_with_all_names(issued, pebble):
    a = issued.apache
    serials = set()
    for name in THREE:
        chain = a.get_served_chain(name)
        assert _pebble_issued(chain), name
        assert sorted(certs.dns_sans(chain[0])) == sorted(THREE)
        ok, out = pebble.verify_chain(chain, hostname=name)
        assert ok, out
        serials.add(chain[0].serial_number)
    assert len(serials) == 1, "names of one MD got different certificates"


def test_two_mds_in_one_server_both_get_certificates(issued):
    a = issued.apache
    one = a.get_served_cert(ONE)
    three = a.get_served_cert(THREE[0])
    for leaf in (one, three):
        assert certs.issuer_cn(leaf).startswith("Pebble Intermediate")
    assert one.serial_number != three.serial_number
    assert certs.dns_sans(one) == [ONE]


def test_restart_serves_same_certificate_without_new_order(issued, pebble):
    a = issued.apache
    serial = a.get_served_cert(ONE).serial_number
    orders = pebble.count_orders_created()
    assert orders >= 2, "pebble's log shows no orders:\n" + pebble.log_tail(20)

    a.graceful()
    after_graceful = a.get_served_cert(ONE).serial_number
    a.restart()
    after_restart = a.get_served_cert(ONE).serial_number

    assert after_graceful == serial
    assert after_restart == serial
    assert a.https_get(ONE, "/index.html").status == 200
    assert pebble.count_orders_created() == orders, \
        "a new order was placed:\n" + pebble.log_tail(20)
    assert not os.path.exists(a.staged_pubcert(ONE))
