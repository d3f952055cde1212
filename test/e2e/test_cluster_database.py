"""The store's database goes away in the middle of a renewal and comes back.

Two nodes serve d1. Node A is renewing d2 (a new MD) and is paused by the
test hook right after finalizing the order; then the database stops:

 - node B, restarted meanwhile, starts and serves d1 from its local copies;
 - each node's parent logs the outage once (a warning), not per request;
 - A goes on, cannot save the certificate, and retries;
 - once the database is back, A resumes the same order, and both nodes
   serve d2 after restarting by themselves; nothing was lost, nothing was
   ordered twice.
"""
import re
import signal
import os
import types

import pytest

from mdtest import crash_hook_module_path, util
from mdtest.apache import check_module
from mdtest.cluster import Cluster

pytestmark = pytest.mark.ours

D1 = "d1.db.test"
D2 = "d2.db.test"
OUTAGE_RE = r"\[md:warn\].*MD24010: the store database .* is unreachable"
BACK_RE = r"\[md:notice\].*MD24011: the store database .* is reachable again"


@pytest.fixture(scope="module")
def outage(e2e, postgres):
    # a long lease: B must not take d2 over while A is paused
    # the crash hook (MD_TEST_CRASH_AT) is only in the test build
    cl = Cluster(e2e, postgres, "dbdown", nodes=2, lease_time="30s",
                 module=check_module(crash_hook_module_path()))
    a, b = cl.nodes
    try:
        cl.configure([D1], extra=["MDPrivateKeys secp256r1"])
        cl.start()
        cl.wait_all_served([D1])
        d1_fp = cl.fingerprint(b, D1)

        # A renews d2 and pauses after finalizing the order
        cl.configure([D1, D2], extra=["MDPrivateKeys secp256r1"])
        a.stop()
        a.start(env={"MD_TEST_CRASH_AT": "drive:finalized"})
        a.wait_for_log(r"MD09900: test hook: stopped at drive:finalized", timeout=90)

        mark_a = a.log_mark()
        postgres.stop()
        try:
            # B starts without its database
            b.stop()
            mark_b = b.log_mark()
            b.start()
            b_served_d1 = cl.fingerprint(b, D1)
            # A goes on and fails to save what the CA issued
            for pid in a.processes():
                os.kill(pid, signal.SIGCONT)
            a.wait_for_log(r"MD12003: %s: getting a certificate failed" % re.escape(D2),
                           since=mark_a, timeout=90)
            a.wait_for_log(OUTAGE_RE, since=mark_a, timeout=60)
        finally:
            postgres.start()
        cl.wait_all_served([D1, D2], timeout=180)
        yield types.SimpleNamespace(cl=cl, a=a, b=b, mark_a=mark_a, mark_b=mark_b,
                                    d1_fp=d1_fp, b_served_d1=b_served_d1)
    finally:
        cl.close()


def test_node_starts_and_serves_without_the_database(outage):
    assert outage.b_served_d1 == outage.d1_fp
    # no fallback, no 503 for the certificate it has
    assert outage.b.count_log(r"MD11011: %s" % re.escape(D1), since=outage.mark_b) == 0


def test_outage_logged_once_per_node(outage):
    a, b = outage.a, outage.b
    assert a.count_log(OUTAGE_RE, since=outage.mark_a) == 1, a.log_tail(40)
    assert b.count_log(OUTAGE_RE, since=outage.mark_b) == 1, b.log_tail(40)
    util.wait_for(lambda: a.count_log(BACK_RE, since=outage.mark_a) >= 1, timeout=60,
                  what="A noticing the database back")


def test_same_order_resumed_after_the_outage(outage):
    cl = outage.cl
    # d1 and d2, one order each
    assert cl.pebble.count_orders_created() == 2, cl.pebble.log_tail(40)
    text = outage.a.log_text(outage.mark_a)
    assert re.search(r"MD08010: %s: Resuming order " % re.escape(D2), text), text[-3000:]
    fps = {cl.fingerprint(n, D2) for n in cl.nodes}
    assert len(fps) == 1
    # both certificates live in the store, nothing staged or half-written
    assert cl.query("SELECT count(*) FROM md_items WHERE grp = 'domains' AND version <> 0") \
        == [["2"]]
    assert cl.query("SELECT count(*) FROM md_values WHERE grp = 'staging' AND "
                    "aspect = 'md.json'") == [["0"]]
