"""Key types over time: adding a key type to an MD that has a certificate
orders only the new one and keeps serving the old; every renewal makes a
new key."""
import os

import pytest

from mdtest import certs

# checked through our log lines (and IP identifiers, pre-checks: not in stock)
pytestmark = pytest.mark.ours

MD = "keys.test"
ECDSA_ONLY = "ECDSA+SHA256"
RSA_ONLY = "RSA-PSS+SHA256:RSA+SHA256"


def _write_config(a, lines=()):
    conf = a.config()
    conf.add(*lines)
    conf.add_md([MD])
    conf.add_vhost(MD)
    conf.write()


def test_adding_a_key_type_keeps_the_existing_certificate(apache, pebble):
    a = apache
    _write_config(a)
    a.start()
    a.wait_staged(MD)
    a.graceful()
    rsa = a.wait_served(MD)[0]
    assert certs.key_type(rsa) == "RSA-2048"
    with open(a.live_privkey(MD), "rb") as f:
        rsa_key = f.read()
    orders = pebble.count_orders_created()

    _write_config(a, ["MDPrivateKeys RSA secp256r1"])
    mark = a.log_mark()
    a.graceful()
    # the RSA certificate is still served while the EC one is ordered
    assert a.get_served_cert(MD).serial_number == rsa.serial_number
    assert a.https_get(MD, "/index.html").status == 200
    a.wait_staged(MD, since=mark, fname="pubcert.secp256r1.pem")
    assert pebble.count_orders_created() == orders + 1, "more than the new key ordered"
    assert not os.path.exists(a.staged_pubcert(MD)), "the RSA certificate was renewed too"

    a.graceful()
    ec = a.wait_served(MD, sigalgs=ECDSA_ONLY)[0]
    assert certs.key_type(ec) == "EC-secp256r1"
    again = a.get_served_cert(MD, sigalgs=RSA_ONLY)
    assert again.serial_number == rsa.serial_number
    with open(a.live_privkey(MD), "rb") as f:
        assert f.read() == rsa_key
    assert a.log_lines(r"MD08010: keys\.test: Creating new order for secp256r1 certificate",
                       since=mark)
    assert not a.log_lines(r"MD08010: keys\.test: Creating new order for rsa", since=mark)


def test_every_renewal_makes_a_new_key(apache_factory, pebble_factory):
    # certificates that live a minute and are due at once: renewed right away
    short = pebble_factory(config_extra={"certificateValidityPeriod": 60})
    a = apache_factory(pebble=short)
    _write_config(a, ["MDRenewWindow 99%"])
    a.start()
    a.wait_staged(MD)
    first = certs.load_pem_file(a.staged_pubcert(MD))[0]
    mark = a.log_mark()
    a.graceful()
    a.wait_staged(MD, since=mark)
    second = certs.load_pem_file(a.staged_pubcert(MD))[0]
    assert second.serial_number != first.serial_number
    assert second.public_key().public_numbers() != first.public_key().public_numbers()
