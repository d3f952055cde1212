"""What md-status and the staged job.json show while the MDNotifyCmd
program for "renewed" runs (issue 9, item 6): the same states with the
stock module and with ours.

Observed with the stock module (2.6.10): the job is saved as finished
before the program starts, so while it runs md-status says finished: true,
notified: true (the challenge setup was told), notified-renewed: false;
once the program has succeeded, notified-renewed: true. Ours saves and
tells in the same order.

MDNotifyCmd is a script that, when called, copies the staged job.json
(the state on disk at the moment the program starts), says it started and
then waits until the test creates a file. While it waits, the test reads
md-status and job.json; then it lets the program end and waits for the
job to say "renewed" was told. A thread polls md-status all along, so the
report can list every state it saw in order (informative only: a poll can
miss a short state, so only the held states are compared).
"""
import os
import threading
import types

import pytest

from mdtest import notify, status

MD = "n-window.test"
SCRIPT = """#!/bin/sh
cp %(job)s %(d)s/job-at-start.json
echo "$*" >> %(d)s/calls.log
touch %(d)s/started
""" + notify.hold_until_released(1200) + """exit 0
"""
FLAGS = ("finished", "notified", "notified-renewed")
# the states md-status goes through, in this order (a poll may miss some)
ORDER = [(False, False, False), (False, True, False), (True, True, False), (True, True, True)]


def _flags(doc):
    doc = doc or {}
    return tuple(doc.get(k) for k in FLAGS)


def _renewal(a):
    try:
        return status.md_status(a, MD).get("renewal", {})
    except (OSError, AssertionError, ValueError):
        return None


class _Poller(threading.Thread):
    """Records each new (finished, notified, notified-renewed) of md-status."""

    def __init__(self, apache):
        super().__init__(daemon=True)
        self.apache = apache
        self.seen = []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            r = _renewal(self.apache)
            if r is not None and (not self.seen or self.seen[-1] != _flags(r)):
                self.seen.append(_flags(r))
            self.halt.wait(0.05)


def _run(e2e, which, module):
    a = e2e.new_apache(name="window-%s" % which, module=module)
    job = os.path.join(a.staging_dir(MD), "job.json")
    d, script = notify.program(a, SCRIPT, job)
    conf = a.config()
    conf.add("MDNotifyCmd %s notify" % script)
    conf.add_md([MD])
    conf.add_vhost(MD)
    status.add_handlers(conf, server_status=False, metrics=False)
    conf.write()
    poller = _Poller(a)
    try:
        a.start()
        poller.start()
        a.wait_for_file(os.path.join(d, "started"), timeout=120)
        during = types.SimpleNamespace(
            status=_renewal(a), job=notify.read_json(job),
            at_start=notify.read_json(os.path.join(d, "job-at-start.json")))
        # still held: nothing the test read was after the program ended
        assert not os.path.exists(os.path.join(d, "release"))
        open(os.path.join(d, "release"), "w").close()
        a.wait_for(lambda: (_renewal(a) or {}).get("notified-renewed"), timeout=60,
                   what="%s: md-status notified-renewed" % which)
        after = types.SimpleNamespace(status=_renewal(a), job=notify.read_json(job))
        poller.halt.set()
        poller.join()
        calls = notify.calls(d)
        print("%s: md-status states seen: %s" % (which, poller.seen))
        return types.SimpleNamespace(during=during, after=after, calls=calls, seen=poller.seen)
    finally:
        poller.halt.set()
        a.stop()


@pytest.fixture(scope="module")
def runs(e2e):
    return notify.both_modules(e2e, _run)


@pytest.mark.parametrize("which", ["stock", "ours"])
def test_told_once(runs, which):
    assert runs[which].calls == [["notify", MD]], runs[which].calls


@pytest.mark.parametrize("which", ["stock", "ours"])
def test_after_the_program(runs, which):
    r = runs[which].after
    assert _flags(r.status) == (True, True, True), r.status
    assert _flags(r.job) == (True, True, True), r.job


@pytest.mark.parametrize("which", ["stock", "ours"])
def test_during_the_program(runs, which):
    d = runs[which].during
    # finished is saved before the program starts; "renewed" not told yet
    for doc in (d.at_start, d.job, d.status):
        assert _flags(doc) == (True, True, False), doc


@pytest.mark.parametrize("which", ["stock", "ours"])
def test_states_in_order(runs, which):
    seen = [s for s in runs[which].seen if s != (None, None, None)]
    assert all(s in ORDER for s in seen), seen
    assert [ORDER.index(s) for s in seen] == sorted(set(ORDER.index(s) for s in seen)), seen
    assert seen[-1] == ORDER[-1], seen


def test_during_the_program_as_stock(runs):
    stock, ours = runs["stock"].during, runs["ours"].during
    assert _flags(ours.at_start) == _flags(stock.at_start), (ours.at_start, stock.at_start)
    assert _flags(ours.job) == _flags(stock.job), (ours.job, stock.job)
    assert _flags(ours.status) == _flags(stock.status), (ours.status, stock.status)


def test_after_the_program_as_stock(runs):
    assert _flags(runs["ours"].after.status) == _flags(runs["stock"].after.status)
