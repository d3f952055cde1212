"""Crash safety, continued (see test_store_crash.py): the whole server is
killed with SIGKILL at each point of an activation (in the parent's
post_config) and of registering an account; every time, the next start
serves a valid certificate, finishes the activation and stages the next
one. Its own server and pebble, so that it can run in parallel with
test_store_crash.py.
"""
import shutil

import pytest

from mdtest import crash

pytestmark = pytest.mark.long


@pytest.fixture(scope="module")
def scenario(e2e):
    with crash.seeded(e2e, "crash-activation") as sc:
        yield sc


def test_kill_9_during_activation_leaves_a_store_the_next_start_recovers(scenario):
    before = scenario.trials
    for point in crash.ACTIVATION_POINTS:
        # the next start finishes the activation, then orders the next one
        scenario.trial(point, 1)
    assert scenario.trials - before == len(crash.ACTIVATION_POINTS)


def test_kill_9_while_registering_an_account_recovers(scenario):
    before = scenario.trials
    for point, max_orders in crash.ACCOUNT_POINTS:
        shutil.rmtree(scenario.a.accounts_dir)
        scenario.trial(point, max_orders)
    assert scenario.trials - before == len(crash.ACCOUNT_POINTS)
