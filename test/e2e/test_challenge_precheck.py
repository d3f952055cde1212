"""Before the CA is asked to validate, the module fetches its own answer
the way the CA will (on the local port MDPortMap says port 80/443 arrives
at). A wrong MDPortMap is then reported precisely, and no validation is
spent at the CA."""
import os

import pytest

# checked through our log lines (and IP identifiers, pre-checks: not in stock)
pytestmark = pytest.mark.ours

MD = "precheck.test"


def _start_failing(a, pebble, lines):
    conf = a.config()
    conf.add(*lines)
    conf.add_md([MD])
    conf.add_vhost(MD)
    conf.write()
    challenges = pebble.count_requests("/chalZ/")
    a.start()
    errors = a.wait_for_log(r"MD12003: precheck\.test: getting a certificate failed")
    return errors[0], challenges


def test_http01_precheck_catches_wrong_port_map(apache, pebble):
    a = apache
    # port 80 "arrives" at the TLS port: a plain request there gets a 400
    line, challenges = _start_failing(a, pebble, [
        "MDPortMap http:%d https:%d" % (a.https_port, a.https_port)])
    assert "http-01 pre-check for precheck.test: GET http://precheck.test/.well-known/" \
           "acme-challenge/" in line
    assert "on local port %d (where port 80 arrives, see MDPortMap) answered HTTP 400" \
           % a.https_port in line
    assert pebble.count_requests("/chalZ/") == challenges, \
        "the CA was asked to validate anyway:\n" + pebble.log_tail(20)
    # the response was torn down after the failed attempt
    assert not os.path.exists(os.path.join(a.store, "challenges", MD))


def test_tls_alpn01_precheck_catches_wrong_port_map(apache, pebble):
    a = apache
    # port 443 "arrives" at the plain http port: no TLS handshake there
    line, challenges = _start_failing(a, pebble, [
        "Protocols http/1.1 acme-tls/1",
        "MDPortMap http:- https:%d" % a.http_port])
    assert "tls-alpn-01 pre-check for precheck.test: TLS to local port %d (where port 443 " \
           "arrives, see MDPortMap) with SNI precheck.test and ALPN acme-tls/1 failed: " \
           "TLS handshake failed" % a.http_port in line
    assert pebble.count_requests("/chalZ/") == challenges, \
        "the CA was asked to validate anyway:\n" + pebble.log_tail(20)
