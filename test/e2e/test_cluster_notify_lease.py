"""A cluster node whose admin's program runs longer than MDStoreLeaseTime
keeps the MD's lease meanwhile, so no other node takes over and tells
the admin a second time.

Two nodes, one MD, MDStoreLeaseTime 3s. MDMessageCmd is a script that
logs its calls (with the node's name) and, for "installed", waits until
the test creates a file. Once both nodes serve the certificate, one of
them runs the program for "installed"; the test holds it for more than
two lease times, then restarts the other node, whose watchdog looks at
once: it must find the lease taken (MD20007) and not tell again. Then the
program may end: "installed" must have run exactly once.

Without the keeper the lease has run out when the other node looks (the
test then fails on "kept" and "taken"; the restarted node does not count
"installed" as due, so the duplicate itself is not what fails).
"""
import os
import re

import pytest

from mdtest import notify, util
from mdtest.cluster import Cluster

pytestmark = pytest.mark.ours

MD = "slow-installed.cluster.test"
SCRIPT = """#!/bin/sh
echo "$*" >> %(d)s/calls.log
if [ "$2" = installed ]; then
""" + notify.hold_until_released(550) + """fi
exit 0
"""
LEASE_TAKEN = r"MD20007: %s: .* works on it" % re.escape(MD)
DONE = r"MD21003: %s: MDMessageCmd .* for 'installed' done" % re.escape(MD)
NOW_US = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)"
HELD_SQL = "SELECT " + NOW_US + " - acquired > 7000000 FROM md_leases WHERE name = '%s'"
KEPT_SQL = "SELECT expires > " + NOW_US + " FROM md_leases WHERE name = '%s'"


@pytest.fixture(scope="module")
def run(e2e, postgres):
    cl = Cluster(e2e, postgres, "notifylease", nodes=2)
    d = os.path.join(e2e.workdir, "notifylease-files")
    script = notify.program_in(d, SCRIPT)
    try:
        for node in cl.nodes:
            cl.node_config(node, [MD], extra=["MDMessageCmd %s %s" % (script, node.node_name)]
                           ).write()
        cl.start()
        cl.wait_all_served([MD])
        cl.nodes[0].wait_for(lambda: notify.calls(d, "installed"), timeout=120,
                             what="a node runs the program for 'installed'")
        teller = notify.calls(d, "installed")[0][0]
        other = [a for a in cl.nodes if a.node_name != teller][0]
        # held for more than two lease times (the database's clock)
        cl.nodes[0].wait_for(lambda: cl.query(HELD_SQL % MD) == [["t"]], timeout=60,
                             what="the program held past the lease time")
        kept = cl.query(KEPT_SQL % MD)
        # the other node's watchdog looks at once after a restart: the lease
        # is taken (MD20007), or, the fault, it tells too
        mark = other.log_mark()
        other.graceful()
        try:
            other.wait_for(lambda: other.count_log(LEASE_TAKEN, since=mark) >= 1
                           or len(notify.calls(d, "installed")) > 1,
                           timeout=30, what="the other node looking at the lease")
        except util.WaitTimeout:
            pass        # asserted below
        taken = other.count_log(LEASE_TAKEN, since=mark)
        open(os.path.join(d, "release"), "w").close()
        teller_node = [a for a in cl.nodes if a.node_name == teller][0]
        teller_node.wait_for_log(DONE)
        yield dict(calls=notify.calls(d, "installed"), teller=teller, kept=kept, taken=taken,
                   lost=cl.log_count(r"MD24901: %s:" % re.escape(MD)))
    finally:
        cl.close()


def test_installed_told_once(run):
    assert len(run["calls"]) == 1, run["calls"]


def test_lease_kept_while_the_program_ran(run):
    assert run["kept"] == [["t"]]
    # the restarted node found it held by the teller
    assert run["taken"] >= 1
    assert run["lost"] == 0
