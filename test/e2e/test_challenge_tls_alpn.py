"""tls-alpn-01 (RFC 8737) on a server whose port 80 the CA cannot reach
(MDPortMap http:-): a DNS name and the IP address 127.0.0.1 (RFC 8738,
validated with the reverse-DNS name in SNI) get certificates through the
acme-tls/1 handshake alone; an MD whose vhost does not offer acme-tls/1 is
told plainly that no challenge type can work.
"""
import json
import os
import socket
import ssl
import types

import pytest

from mdtest import certs

# checked through our log lines (and IP identifiers, pre-checks: not in stock)
pytestmark = pytest.mark.ours

ALPN = "alpn.test"
IP = "127.0.0.1"
NONE = "none.test"      # no acme-tls/1 in its vhost, port 80 unreachable


@pytest.fixture(scope="module")
def alpn(e2e):
    # trace1: the module logs the CSRs it sends
    a = e2e.new_apache(name="tls_alpn", log_level="md:trace1")
    conf = a.config()
    conf.add("MDPortMap http:- https:%d" % a.https_port)
    conf.add_md([IP])
    conf.add_md([ALPN])
    conf.add_md([NONE])
    # the first vhost is the default one: it answers connections without
    # SNI (clients send none for an IP) and the reverse-DNS SNI of the CA
    conf.add_vhost(IP, lines=["Protocols http/1.1 acme-tls/1"])
    conf.add_vhost(ALPN, lines=["Protocols http/1.1 acme-tls/1"])
    conf.add_vhost(NONE)
    conf.write()
    try:
        a.start()
        a.wait_staged(ALPN)
        a.wait_staged(IP)
        none_error = a.wait_for_log(r"MD12003: none\.test: .*no ACME challenge type can work")
        a.graceful()
        a.wait_served(ALPN)
        a.wait_served(None)
        yield types.SimpleNamespace(apache=a, none_error=none_error)
    finally:
        a.stop()


def test_tls_alpn01_alone_gets_certificate_without_port_80(alpn, pebble):
    a = alpn.apache
    chain = a.get_served_chain(ALPN)
    assert certs.dns_sans(chain[0]) == [ALPN]
    ok, out = pebble.verify_chain(chain, hostname=ALPN)
    assert ok, out
    # the CA was asked to validate (this is what the pre-check tests count)
    assert pebble.count_requests("/chalZ/") >= 1, pebble.log_tail(20)
    assert a.log_lines(r"MD08011: alpn\.test: challenge types tls-alpn-01$")
    assert a.log_lines(r"MD04030: alpn\.test: answered the tls-alpn-01 challenge")
    assert not a.log_lines(r"answered the http-01 challenge")
    # the validation handshake was answered by our hook and closed
    assert a.log_lines(r"MD16504: alpn\.test: answering the tls-alpn-01 challenge")
    assert a.log_lines(r"MD16505: acme-tls/1 handshake done, closing")
    with open(os.path.join(a.store, "httpd.json")) as f:
        httpd = json.load(f)
    assert httpd["proto"] == {"http": False, "https": True}
    assert httpd["ports"]["https"] == a.https_port


def test_tls_alpn01_answer_checked_before_validation(alpn):
    a = alpn.apache
    check = a.log_lines(r"MD04103: alpn\.test: tls-alpn-01 answer checked on local port %d"
                        % a.https_port)
    answered = a.log_lines(r"MD04030: alpn\.test: answered")
    assert check and answered
    log = a.log_text()
    assert log.index(check[0]) < log.index(answered[0])


def test_ip_address_certificate_via_tls_alpn01(alpn, pebble):
    a = alpn.apache
    chain = a.get_served_chain(None)
    leaf = chain[0]
    assert certs.ip_sans(leaf) == [IP]
    assert certs.dns_sans(leaf) == []
    # RFC 8738 §7: the address goes into an IP SAN; we ask for no CN (pebble
    # puts one in on its own)
    csrs = certs.logged_csrs(a, IP)
    assert csrs, "no CSR logged for %s" % IP
    for _, csr in csrs:
        assert certs.csr_names(csr) == ([], [IP])
        assert certs.cn_of(csr.subject) == ""
    ok, out = pebble.verify_chain(chain)
    assert ok, out
    # pebble sent the reverse-DNS name, which we mapped back to the address
    assert a.log_lines(r"MD16504: 127\.0\.0\.1: answering the tls-alpn-01 challenge")
    assert a.log_lines(r"MD08011: 127\.0\.0\.1: challenge types tls-alpn-01$")


def test_acme_tls_1_connection_is_closed_after_handshake(alpn):
    """A client that negotiates acme-tls/1 gets the handshake and then the
    server closes: nothing else is served on such a connection."""
    a = alpn.apache
    ctx = ssl._create_unverified_context()
    ctx.set_alpn_protocols(["acme-tls/1"])
    with socket.create_connection(("127.0.0.1", a.https_port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=ALPN) as tls:
            assert tls.selected_alpn_protocol() == "acme-tls/1"
            try:
                tls.sendall(b"GET / HTTP/1.1\r\nHost: alpn.test\r\n\r\n")
                data = tls.recv(1024)
            except (ssl.SSLError, ConnectionError):
                data = b""
    assert not data.startswith(b"HTTP/"), data


def test_no_challenge_type_possible_is_reported_plainly(alpn):
    a = alpn.apache
    line = alpn.none_error[0]
    assert "http-01 needs the port the CA reaches as 80 to be served" in line
    assert "tls-alpn-01 needs 'acme-tls/1' in the Protocols" in line
    assert "dns-01 needs an MDChallengeDns01 program" in line
    # said at start-up too, and no order was placed for it
    assert a.log_lines(r"MD16522: MDomain none\.test: no ACME challenge type can work")
    assert not a.log_lines(r"MD08010: none\.test: Creating new order")
    assert certs.is_self_signed(a.get_served_cert(NONE))


def test_unchanged_httpd_json_is_not_written_again(alpn):
    """A restart with the same ports leaves httpd.json as it was: no new
    file (its durable write costs two fsyncs in each config pass)."""
    a = alpn.apache
    path = os.path.join(a.store, "httpd.json")
    before = os.stat(path)
    a.graceful()
    a.wait_served(ALPN)
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    with open(path) as f:
        assert json.load(f)["ports"]["https"] == a.https_port
