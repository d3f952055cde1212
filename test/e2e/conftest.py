"""Fixtures for the end-to-end tests.

Session-wide (one per pytest run):
  md_module      path of the module under test: $MD_MODULE or build/mod_md.so;
                 a missing file fails the tests that need it (never skips)
  e2e            mdtest.session.E2ESession: temp dir, Apache ports, ACME side
  pebble         the shared pebble (mdtest.pebble.Pebble)
  challtestsrv   the shared fake DNS with TXT management (ChallTestSrv)

Per test:
  apache         a fresh, unconfigured, unstarted Apache on our module
  apache_factory make more: apache_factory(name=..., pebble=..., module=...)
  pebble_factory extra pebbles: pebble_factory(config_extra=..., env_extra=...,
                 start=True)

Everything started through these is stopped by PID at teardown.
A module-scoped scenario calls e2e.new_apache() itself and stops it in its
own fixture's teardown (the session stops stragglers as a safety net).

In parallel (pytest-xdist, `-n 4`, what `make test-e2e` runs) each worker
is a session of its own (temp dir, ports, pebble, challtestsrv) and a test
file stays on one worker (`--dist loadfile`, also when -n comes alone):
the tests of a file share module-scoped servers and run in their order.
Files marked `pytestmark = pytest.mark.long` are handed out first.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mdtest import apache as apache_mod  # noqa: E402
from mdtest import default_module_path  # noqa: E402
from mdtest.session import E2ESession  # noqa: E402


def pytest_configure(config):
    # `-n N` alone means xdist's "load", which spreads the tests of one
    # file over several sessions: module-scoped scenarios need the file
    # whole on one worker.
    if getattr(config.option, "dist", "no") == "load":
        config.option.dist = "loadfile"


def pytest_collection_modifyitems(session, config, items):
    """Long files first (stable: files and tests keep their order
    otherwise), so that in parallel they overlap with the short ones."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("long") else 1)


@pytest.fixture(scope="session")
def md_module():
    path = default_module_path()
    problem = None
    try:
        apache_mod.check_module(path)
    except apache_mod.MissingModule as exc:
        problem = str(exc)
    if problem:
        # fail, never skip: a missing build must not look like a green run
        pytest.fail(problem, pytrace=False)
    return path


@pytest.fixture(scope="session")
def e2e(md_module):
    session = E2ESession(module=md_module)
    session.start()
    try:
        yield session
    finally:
        session.close()


@pytest.fixture(scope="session")
def pebble(e2e):
    return e2e.pebble


@pytest.fixture(scope="session")
def challtestsrv(e2e):
    return e2e.challtestsrv


@pytest.fixture(scope="session")
def postgres(e2e):
    """The run's PostgreSQL (started on first use, stopped by PID at the end)."""
    return e2e.postgres


def _test_name(request):
    return request.node.name


@pytest.fixture
def apache_factory(e2e, request):
    made = []

    def make(name=None, **kwargs):
        a = e2e.new_apache(name=name or _test_name(request), **kwargs)
        made.append(a)
        return a
    try:
        yield make
    finally:
        for a in reversed(made):
            a.stop()


@pytest.fixture
def apache(apache_factory):
    return apache_factory()


@pytest.fixture
def pebble_factory(e2e):
    made = []

    def make(config_extra=None, env_extra=None, start=True, name=None):
        p = e2e.new_pebble(config_extra=config_extra, env_extra=env_extra,
                           start=start, name=name)
        made.append(p)
        return p
    try:
        yield make
    finally:
        for p in reversed(made):
            p.stop()
