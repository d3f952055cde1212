"""http-01 alone (no acme-tls/1, no dns-01 program) with the key types and
names modern clients want, on one server:

  dual.test    RSA 2048 + P-256: two certificates, mod_ssl picks per client
  big.test     RSA 4096 + P-384
  staple.test  MDMustStaple on: TLS Feature status_request in the CSR
  ::1          an IPv6 address (RFC 8738), validated over http-01 on [::1]
"""
import os
import types

import pytest

from mdtest import certs

# checked through our log lines (and IP identifiers, pre-checks: not in stock)
pytestmark = pytest.mark.ours

DUAL = "dual.test"
BIG = "big.test"
STAPLE = "staple.test"
IP6 = "::1"

ECDSA_ONLY = "ECDSA+SHA256:ECDSA+SHA384"
RSA_ONLY = "RSA-PSS+SHA256:RSA+SHA256"


@pytest.fixture(scope="module")
def keys(e2e):
    a = e2e.new_apache(name="http01_keys", log_level="md:trace1")
    conf = a.config()
    conf.add("Listen [::1]:%d" % a.http_port, "Listen [::1]:%d" % a.https_port)
    conf.add_md([DUAL], ["MDPrivateKeys RSA secp256r1"])
    conf.add_md([BIG], ["MDPrivateKeys RSA 4096 secp384r1"])
    conf.add_md([STAPLE], ["MDMustStaple on"])
    # an IPv6 literal cannot be a ServerName (httpd reads '[' as a pattern)
    conf.add_md([IP6], ["MDMembers manual"])
    conf.add_vhost(DUAL)
    conf.add_vhost(BIG)
    conf.add_vhost(STAPLE)
    conf.add("<VirtualHost [::1]:%d>" % a.https_port,
             "    ServerAlias [::1]",
             "    SSLEngine on",
             "</VirtualHost>")
    conf.write()
    try:
        a.start()
        for md in (DUAL, BIG, STAPLE, IP6):
            a.wait_staged(md)
        a.graceful()
        a.wait_served(DUAL)
        a.wait_served(BIG)
        a.wait_served(None, host=IP6)
        yield types.SimpleNamespace(apache=a)
    finally:
        a.stop()


def test_http01_alone_is_chosen_when_only_port_80_can_work(keys):
    a = keys.apache
    for md in (DUAL, BIG, STAPLE):
        assert a.log_lines(r"MD08011: %s: challenge types http-01$" % md.replace(".", r"\."))
    assert a.log_lines(r"MD04101: dual\.test: http-01 answer checked on local port %d"
                       % a.http_port)
    assert not a.log_lines(r"answered the (tls-alpn|dns)-01 challenge")


def test_dual_certificates_served_by_client_sigalgs(keys, pebble):
    a = keys.apache
    ec_chain = a.get_served_chain(DUAL, sigalgs=ECDSA_ONLY)
    rsa_chain = a.get_served_chain(DUAL, sigalgs=RSA_ONLY)
    assert certs.key_type(ec_chain[0]) == "EC-secp256r1"
    assert certs.key_type(rsa_chain[0]) == "RSA-2048"
    assert ec_chain[0].serial_number != rsa_chain[0].serial_number
    for chain in (ec_chain, rsa_chain):
        assert certs.dns_sans(chain[0]) == [DUAL]
        ok, out = pebble.verify_chain(chain, hostname=DUAL)
        assert ok, out
    # one order per key type; the stock file names
    d = a.domain_dir(DUAL)
    for fname in ("privkey.pem", "pubcert.pem", "privkey.secp256r1.pem",
                  "pubcert.secp256r1.pem"):
        assert os.path.isfile(os.path.join(d, fname)), fname
    assert certs.key_type(certs.load_pem_file(os.path.join(d, "pubcert.secp256r1.pem"))[0]) \
        == "EC-secp256r1"


def test_rsa4096_and_p384_certificates(keys):
    a = keys.apache
    assert certs.key_type(a.get_served_cert(BIG, sigalgs=RSA_ONLY)) == "RSA-4096"
    assert certs.key_type(a.get_served_cert(BIG, sigalgs=ECDSA_ONLY)) == "EC-secp384r1"
    assert os.path.isfile(os.path.join(a.domain_dir(BIG), "pubcert.secp384r1.pem"))


def test_default_key_stays_rsa2048(keys):
    a = keys.apache
    assert certs.key_type(a.get_served_cert(STAPLE)) == "RSA-2048"
    assert sorted(f for f in os.listdir(a.domain_dir(STAPLE)) if f.startswith("pubcert")) \
        == ["pubcert.pem"]


def test_must_staple_requested_in_csr(keys):
    a = keys.apache
    staple = certs.logged_csrs(a, STAPLE)
    plain = certs.logged_csrs(a, DUAL)
    assert staple and plain
    assert all(certs.csr_has_must_staple(csr) for _, csr in staple)
    assert not any(certs.csr_has_must_staple(csr) for _, csr in plain)


def test_ipv6_address_certificate_via_http01(keys, pebble):
    a = keys.apache
    chain = a.get_served_chain(None, host=IP6)
    assert certs.ip_sans(chain[0]) == [IP6]
    assert certs.dns_sans(chain[0]) == []
    ok, out = pebble.verify_chain(chain)
    assert ok, out
    # the CA fetched http://[::1]/... over IPv6 and we answered it (one of
    # the lines is our own pre-check, the others are pebble's validation)
    assert len(a.log_lines(r"\[client ::1:\d+\] MD11021: answering http-01 challenge "
                           r"for ::1$")) >= 2
    assert a.log_lines(r"MD04030: ::1: answered the http-01 challenge")
    for _, csr in certs.logged_csrs(a, IP6):
        assert certs.csr_names(csr) == ([], [IP6])
