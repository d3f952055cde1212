"""Parallel issuance: 20 new MDs are driven at the same time, never more
than MDParallelRenewals at once, share one new ACME account, and go live
together with one automatic restart.

The number in flight is what the module logs when a renewal starts
(MD12001 "k of at most n renewals running"); pebble's log shows the
orders overlapping as well.
"""
import re
import types

import pytest

from mdtest import certs

COUNT = 20
CAP = 8
MDS = ["p%02d.par.test" % i for i in range(1, COUNT + 1)]
RUNNING_RE = re.compile(r"MD12001: (\S+): .*\((\d+) of at most (\d+) renewals running\)")
RESTART_RE = r"MD13001: restarting the server gracefully"


@pytest.fixture(scope="module")
def parallel(e2e):
    # no rejected nonces: every POST to /order-plz in pebble's log is an order
    ca = e2e.new_pebble(name="pebble-parallel", env_extra={"PEBBLE_WFE_NONCEREJECT": 0})
    a = e2e.new_apache(name="parallel", pebble=ca)
    conf = a.config()
    conf.add("MDParallelRenewals %d" % CAP, "MDPrivateKeys secp256r1")
    for name in MDS:
        conf.add_md([name])
        conf.add_vhost(name)
    conf.write()
    try:
        a.start()
        chains = {name: a.wait_served(name, timeout=180) for name in MDS}
        yield types.SimpleNamespace(apache=a, ca=ca, chains=chains)
    finally:
        a.stop()
        ca.stop()


def test_mds_are_driven_in_parallel_within_the_cap(parallel):
    a = parallel.apache
    seen = [(m.group(1), int(m.group(2)), int(m.group(3)))
            for m in RUNNING_RE.finditer(a.log_text())]
    assert sorted({name for name, _, _ in seen}) == sorted(MDS)
    assert all(cap == CAP for _, _, cap in seen)
    in_flight = max(k for _, k, _ in seen)
    assert 1 < in_flight <= CAP, seen


def test_orders_overlap_at_the_ca(parallel):
    # pebble logs each request as it arrives: a second newOrder before the
    # first order's finalize means two orders were open at once
    reqs = parallel.ca.requests_seen()
    open_orders = 0
    most = 0
    for method, path in reqs:
        if method == "POST" and path == "/order-plz":
            open_orders += 1
            most = max(most, open_orders)
        elif method == "POST" and path.startswith("/finalize-order/"):
            open_orders -= 1
    assert most > 1, "orders never overlapped:\n" + parallel.ca.log_tail(40)


def test_parallel_mds_share_one_new_account(parallel):
    a = parallel.apache
    assert parallel.ca.count_requests("/sign-me-up") == 1
    assert a.count_log(r"MD04013: registered ACME account") == 1


def test_parallel_mds_go_live_with_one_restart(parallel):
    a = parallel.apache
    for name, chain in parallel.chains.items():
        assert certs.dns_sans(chain[0]) == [name]
        ok, out = parallel.ca.verify_chain(chain, hostname=name)
        assert ok, out
    restarts = a.log_lines(RESTART_RE)
    # one restart for all; an MD whose attempt failed and was retried later
    # may need one more (the CA rejects nonces at random)
    failed = {m.group(1) for m in re.finditer(r"MD12003: (\S+):", a.log_text())}
    assert 1 <= len(restarts) <= 1 + len(failed), restarts
    if not failed:
        assert all(name in restarts[0] for name in MDS), restarts[0]
