"""Crash safety: the whole server is killed with SIGKILL at many points of
an issuance and of an activation; every time, the next start serves a
valid certificate (the old or the new one) and finishes the job.

The module's test-only hook (src/core/md_testhook.h) picks the instant:
MD_TEST_CRASH_AT=<point> in the server's environment makes the process that
reaches <point> log it and freeze (SIGSTOP) right there; the test then
SIGKILLs every process of the server. One MD is configured with a renew window longer than pebble's
certificate lifetime, so every start activates the set staged before and
immediately orders the next one: each trial is one crashing start and one
normal start.

    start with MD_TEST_CRASH_AT=P   -> activation of the staged set, then a
                                       new issuance; killed at P
    start normally                  -> must serve a valid pebble certificate
                                       (the staged one once activation
                                       finished), then stage the next one

The trials (mdtest/crash.py) are split over two files that can run in
parallel, each with its own server: here the points of an issuance,
test_store_crash_activation.py those of an activation and of registering
an account.
"""
import os

import pytest

from mdtest import REPO_ROOT, crash

pytestmark = pytest.mark.long


@pytest.fixture(scope="module")
def scenario(e2e):
    with crash.seeded(e2e, "crash-issuance") as sc:
        yield sc


def test_kill_9_during_issuance_leaves_a_store_the_next_start_recovers(scenario):
    before = scenario.trials
    for point, max_orders in crash.ISSUANCE_POINTS:
        scenario.trial(point, max_orders)
    assert scenario.trials - before == len(crash.ISSUANCE_POINTS)


def test_crash_test_covers_at_least_20_points():
    # The trial tests (here and in test_store_crash_activation.py) crash the
    # server at every point of these lists (each waits for the hook to
    # report the point, MD09900, and counts its trials), whichever of them
    # runs and in whatever order: here, that the lists name at least 20
    # distinct points, each one the source calls the hook with (store
    # writes name their file at run time: their prefix).
    points = ([p for p, _ in crash.ISSUANCE_POINTS] + crash.ACTIVATION_POINTS
              + [p for p, _ in crash.ACCOUNT_POINTS])
    assert len(set(points)) == len(points) >= 20, points
    src = _source_text()
    for point in points:
        prefix, name = point.split("#")[0].split(":", 1)
        assert '"%s"' % prefix in src, "no crash point %s in src/" % point
        if prefix not in ("tmp-written", "renamed"):
            assert '"%s"' % name in src, "no crash point %s in src/" % point


def _source_text():
    root = os.path.join(REPO_ROOT, "src")
    text = []
    for d, _, files in os.walk(root):
        text += [open(os.path.join(d, f), encoding="utf-8").read()
                 for f in files if f.endswith(".c")]
    return "\n".join(text)
