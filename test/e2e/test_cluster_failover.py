"""Nodes of a cluster that die or stall in the middle of an order.

Four "victim" nodes each order one MD and are frozen by the test hook
(MD_TEST_CRASH_AT, src/core/md_testhook.h) at a different ACME step, then
killed with SIGKILL (every process of the node): the survivor takes the
MD's lease over once it expired and finishes the *same* order (one order
per MD at the CA in all).

A fifth node is frozen (SIGSTOP) right after saving its order and only let
go (SIGCONT) when the survivor has taken the work over and finished it:
its late writes carry the old lease epoch and are refused, also the state
of the admin's program it tells about its failure (notify.json).

The survivor starts first, with every MD but a first look delayed
(MDInitialDelay), so the victims take the leases; the CA's challenge
requests reach it through the proxies (it answers from the database).
"""
import os
import re
import signal
import types

import pytest

from mdtest import crash_hook_module_path, util
from mdtest.apache import check_module
from mdtest.cluster import Cluster

pytestmark = pytest.mark.ours

STEPS = ["order-saved", "challenges-answered", "finalized", "order-valid"]
KILLED = {step: "%s.failover.test" % step for step in STEPS}
STALLED = "stalled.failover.test"
ALL = sorted(list(KILLED.values()) + [STALLED])
HOOK_RE = r"MD09900: test hook: stopped at drive:%s"


def wait_frozen(node, step, timeout=90):
    node.wait_for_log(HOOK_RE % re.escape(step), timeout=timeout)


@pytest.fixture(scope="module")
def failover(e2e, postgres):
    # the crash hook (MD_TEST_CRASH_AT) is only in the test build
    hooked = check_module(crash_hook_module_path())
    cl = Cluster(e2e, postgres, "failover", nodes=1, module=hooked)
    survivor = cl.nodes[0]
    victims = {step: cl.add_node(module=hooked) for step in STEPS}
    stalled = cl.add_node(module=hooked)
    try:
        conf = cl.node_config(survivor, ALL, extra=["MDInitialDelay 20s",
                                                    "MDPrivateKeys secp256r1"])
        conf.write()
        for step, node in victims.items():
            cl.node_config(node, [KILLED[step]], extra=["MDPrivateKeys secp256r1"]).write()
        # it tells a program about its failure: that state is written under
        # the lease too (notify.json), so it is refused as well
        cl.node_config(stalled, [STALLED], extra=["MDPrivateKeys secp256r1",
                                                  "MDMessageCmd /bin/true"]).write()
        # the CA reaches the survivor only: frozen nodes answer nothing
        cl.route([survivor])
        cl.start([survivor])
        for step, node in victims.items():
            node.start(env={"MD_TEST_CRASH_AT": "drive:" + step})
        stalled.start(env={"MD_TEST_CRASH_AT": "drive:order-saved"})
        for step, node in victims.items():
            wait_frozen(node, step)
        wait_frozen(stalled, "order-saved")
        epochs_before = {name: cl.lease(name) for name in ALL}
        # a crash at that instant: every process of the node
        for node in victims.values():
            for pid in node.processes():
                os.kill(pid, signal.SIGKILL)
            util.wait_for(lambda n=node: not n.processes(), timeout=30,
                          what="%s gone" % node.name)
        cl.wait_all_served(ALL, nodes=[survivor], timeout=240)
        yield types.SimpleNamespace(cl=cl, survivor=survivor, victims=victims,
                                    stalled=stalled, epochs_before=epochs_before)
    finally:
        for pid in stalled.processes():
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        cl.close()


def test_victims_held_the_leases(failover):
    # each victim took its MD's lease (epoch 1) before it froze
    for step, name in KILLED.items():
        epoch, node = failover.epochs_before[name]
        assert epoch == 1 and node == failover.victims[step].node_name, (name, epoch, node)
    assert failover.epochs_before[STALLED] == (1, failover.stalled.node_name)


def test_survivor_finished_the_same_orders(failover):
    cl = failover.cl
    text = failover.survivor.log_text()
    for name in KILLED.values():
        m = re.search(r"MD24907: %s: this server \(%s\) renews it, lease epoch (\d+)"
                      % (re.escape(name), re.escape(failover.survivor.node_name)), text)
        assert m and int(m.group(1)) >= 2, (name, failover.survivor.log_tail(40))
        assert re.search(r"MD08010: %s: Resuming order " % re.escape(name), text), name
    # one order per MD in all: the survivor resumed the victims' orders
    assert cl.pebble.count_orders_created() == len(ALL), cl.pebble.log_tail(40)


def test_stalled_node_writes_are_refused(failover):
    cl = failover.cl
    stalled = failover.stalled
    survivor = failover.survivor
    served = cl.fingerprint(survivor, STALLED)
    epoch, _ = cl.lease(STALLED)
    assert epoch >= 2
    mark = stalled.log_mark()
    for pid in stalled.processes():
        os.kill(pid, signal.SIGCONT)
    # its next write (job state, challenge) carries epoch 1
    lines = stalled.wait_for_log(r"MD24040: .*%s.*write refused: it was made under lease %s "
                                 r"epoch 1" % (re.escape(STALLED), re.escape(STALLED)),
                                 since=mark, timeout=60)
    assert lines
    # what the store holds is still the survivor's work
    assert cl.fingerprint(survivor, STALLED) == served
    assert cl.query("SELECT count(*) FROM md_values WHERE grp = 'staging' AND name = '%s' "
                    "AND aspect = 'md.json'" % STALLED) == [["0"]]
    # and it ordered nothing new
    assert cl.pebble.count_orders_created() == len(ALL)


def test_stalled_node_notification_state_is_refused(failover):
    """After its drive failed, the stalled node tells MDMessageCmd "errored";
    the rate-limit state it then writes (staging/<md>/notify.json) carries
    the old epoch too and does not reach the database."""
    cl = failover.cl
    stalled = failover.stalled
    if stalled.processes() and not stalled.count_log(r"MD24040: "):
        for pid in stalled.processes():
            os.kill(pid, signal.SIGCONT)
    stalled.wait_for_log(r"MD21003: %s: MDMessageCmd /bin/true for 'errored' done"
                         % re.escape(STALLED), timeout=90)
    stalled.wait_for_log(r"MD24040: staging/%s/notify.json: write refused: it was made "
                         r"under lease %s epoch 1" % (re.escape(STALLED), re.escape(STALLED)),
                         timeout=30)
    assert cl.query("SELECT count(*) FROM md_values WHERE grp = 'staging' AND name = '%s' "
                    "AND aspect = 'notify.json'" % STALLED) == [["0"]]
