"""dns-01 through an admin's program (MDChallengeDns01), wildcards, and the
order of MDCAChallenges, on one server. The program is
test/e2e/dns01_challtestsrv.py: it sets TXT records in pebble-challtestsrv
and logs every call.

  wild.test *.wild.test   wildcard plus base name: dns-01 for the wildcard,
                          http-01 (first choice) for the base name
  v2.test                 MDCAChallenges dns-01, MDChallengeDns01Version 2
  dnsfirst.test           MDCAChallenges dns-01 http-01: dns-01 is used
  httpfirst.test          MDCAChallenges http-01 dns-01: http-01 is used
  fail.test               the program fails setup: error, teardown, retry
  nowild.test *.nowild.test  wildcard without a program: refused, no order
"""
import json
import os
import types

import pytest

from mdtest import certs
from mdtest.dns01 import Dns01Program

# checked through our log lines (and IP identifiers, pre-checks: not in stock)
pytestmark = pytest.mark.ours

WILD = ["wild.test", "*.wild.test"]
V2 = "v2.test"
DNSFIRST = "dnsfirst.test"
HTTPFIRST = "httpfirst.test"
FAIL = "fail.test"
NOWILD = ["nowild.test", "*.nowild.test"]


@pytest.fixture(scope="module")
def dns(e2e):
    a = e2e.new_apache(name="dns01")
    prog = Dns01Program(a, e2e.challtestsrv)
    conf = a.config()
    # fail.test is tried again soon (the default is 30s, as in the stock module)
    conf.add("MDRetryDelay 5s")
    # per MD, so nowild.test has none
    conf.add_md(WILD, [prog.directive()])
    conf.add_md([V2], [prog.directive(), "MDChallengeDns01Version 2",
                       "MDCAChallenges dns-01"])
    conf.add_md([DNSFIRST], [prog.directive(), "MDCAChallenges dns-01 http-01"])
    conf.add_md([HTTPFIRST], [prog.directive(), "MDCAChallenges http-01 dns-01"])
    conf.add_md([FAIL], [prog.directive(fail="fail-setup"), "MDCAChallenges dns-01"])
    conf.add_md(NOWILD)
    conf.add_vhost(WILD[0], aliases=WILD[1:])
    conf.add_vhost(V2)
    conf.add_vhost(DNSFIRST)
    conf.add_vhost(HTTPFIRST)
    conf.add_vhost(FAIL)
    conf.add_vhost(NOWILD[0], aliases=NOWILD[1:])
    conf.write()
    try:
        a.start()
        for md in (WILD[0], V2, DNSFIRST, HTTPFIRST):
            a.wait_staged(md)
        # the failing MD is tried again after its backoff
        a.wait_for_log(r"MD12003: fail\.test: getting a certificate failed \(attempt 2\)",
                       timeout=60)
        a.graceful()
        a.wait_served(WILD[0])
        yield types.SimpleNamespace(apache=a, prog=prog)
    finally:
        a.stop()


def test_wildcard_and_base_name_get_one_certificate(dns, pebble):
    a = dns.apache
    for name in ("wild.test", "any.wild.test"):
        chain = a.get_served_chain(name)
        assert sorted(certs.dns_sans(chain[0])) == sorted(WILD)
        ok, out = pebble.verify_chain(chain, hostname=name)
        assert ok, out
    # the wildcard authorization (identifier "wild.test") was answered over
    # dns-01, the base name over http-01, the first automatic choice
    assert a.log_lines(r"MD08011: wild\.test: challenge types http-01, dns-01$")
    assert a.log_lines(r"MD04030: wild\.test: answered the dns-01 challenge")
    assert a.log_lines(r"MD04030: wild\.test: answered the http-01 challenge")


def test_dns01_program_called_with_setup_and_teardown(dns):
    prog = dns.prog
    setups = prog.calls("setup", "wild.test")
    teardowns = prog.calls("teardown", "wild.test")
    assert setups and all(c["rc"] == 0 for c in setups)
    assert len(setups[0]["argv"]) == 3
    # version 1: teardown gets the domain only
    assert teardowns and all(len(c["argv"]) == 2 for c in teardowns)
    # no TXT record is left behind
    assert not os.path.exists(os.path.join(dns.apache.store, "challenges", "wild.test"))


def test_dns01_version2_teardown_gets_the_value_the_ca_accepted(dns):
    """The value (base64url of SHA-256, 43 characters, no padding; the unit
    tests check the computation) was accepted by the CA, and with
    MDChallengeDns01Version 2 the teardown is given the same value."""
    a = dns.apache
    value = dns.prog.calls("setup", V2)[0]["argv"][2]
    assert len(value) == 43 and "=" not in value
    assert a.log_lines(r"MD04030: v2\.test: answered the dns-01 challenge")
    assert os.path.isfile(a.live_pubcert(V2))
    teardowns = dns.prog.calls("teardown", V2)
    assert teardowns and teardowns[0]["argv"] == ["teardown", V2, value]


def test_ca_challenges_order_is_respected(dns):
    a = dns.apache
    prog = dns.prog
    assert prog.calls("setup", DNSFIRST), "dns-01 listed first, but not used"
    assert a.log_lines(r"MD04030: dnsfirst\.test: answered the dns-01 challenge")
    assert not prog.calls("setup", HTTPFIRST), "http-01 listed first, dns-01 used"
    assert a.log_lines(r"MD04030: httpfirst\.test: answered the http-01 challenge")
    assert a.log_lines(r"MD08011: httpfirst\.test: challenge types http-01, dns-01$")


def test_failing_dns01_program_reports_tears_down_and_retries(dns):
    a = dns.apache
    prog = dns.prog
    setups = prog.calls("setup", FAIL)
    assert len(setups) >= 2 and all(c["rc"] == 3 for c in setups)
    # teardown ran after each failed setup
    assert len(prog.calls("teardown", FAIL)) >= len(setups) - 1
    errors = a.log_lines(r"MD12003: fail\.test: getting a certificate failed")
    assert errors
    assert "dns01_challtestsrv.py setup fail.test: exit code 3" in errors[0]
    assert "refusing to set up _acme-challenge.fail.test." in errors[0]
    with open(os.path.join(a.staging_dir(FAIL), "job.json")) as f:
        job = json.load(f)
    assert job["errors"] >= 2
    assert "exit code 3" in json.dumps(job["last"])


def test_wildcard_without_dns01_program_is_refused_before_any_order(dns):
    a = dns.apache
    errors = a.log_lines(r"MD12003: nowild\.test: getting a certificate failed")
    assert errors
    assert "has a wildcard name, which only the dns-01 challenge can validate, but no " \
           "MDChallengeDns01 program is configured" in errors[0]
    assert a.log_lines(r"MD16522: MDomain nowild\.test has a wildcard name")
    assert not a.log_lines(r"MD08010: nowild\.test: (Creating new order|Contacting)")
    assert certs.is_self_signed(a.get_served_cert("nowild.test"))
