"""The crash trials of test_store_crash*.py: a server on the test build
(its crash hook, src/core/md_testhook.h) is killed with SIGKILL at a point
of an issuance or an activation, and the next start must recover.

    with crash.seeded(e2e, "crash") as sc:   # a live certificate, a staged one
        sc.trial("drive:order-saved", 0)     # crash there, start, check
        sc.trials                            # trials run so far

The points of the trials are listed here (ISSUANCE_POINTS,
ACTIVATION_POINTS, ACCOUNT_POINTS); the test files split them so that they
can run in parallel.
"""
import contextlib
import os
import re
import signal

from . import certs, crash_hook_module_path
from .apache import check_module

MD = "crash.test"
HOOK_ENV = "MD_TEST_CRASH_AT"

# Points of an issuance in the watchdog child. The second element: how many
# new orders the next start may place before it has staged a certificate
# (0 once order.json is durable: the saved order is resumed, never ordered
# twice; 0 when a certificate is staged but the set is not complete yet).
ISSUANCE_POINTS = [
    ("tmp-written:staging/job.json", 1),
    ("drive:started", 1),
    ("drive:account", 1),
    ("drive:order-created", 1),
    ("tmp-written:staging/order.json", 1),
    ("renamed:staging/order.json", 0),
    ("drive:order-saved", 0),
    ("tmp-written:challenges/acme-http-01.txt", 0),
    ("drive:challenges-answered", 0),
    ("drive:order-ready", 0),
    ("tmp-written:staging/privkey.pem", 0),
    ("drive:key-saved", 0),
    ("drive:finalized", 0),
    ("drive:order-valid", 0),
    ("drive:chain-retrieved", 0),
    ("tmp-written:staging/pubcert.pem", 0),
    ("drive:cert-saved", 0),
    ("tmp-written:staging/md.json", 0),
    # complete: the next start activates it and orders the next one
    ("drive:md-staged", 1),
    ("drive:job-finished", 1),
]

# Points of an activation in the parent (post_config).
ACTIVATION_POINTS = [
    "activate:begin",
    "tmp-written:tmp/privkey.pem",
    "renamed:tmp/pubcert.pem",
    "activate:tmp-built",
    "tmp-written:archive/privkey.pem",
    "move:archived",
    "move:swapped",
    "purge:hidden",          # the replaced set hidden, not yet deleted
    "activate:moved",
    "purge:hidden#2",        # staging hidden after activation
    "activate:staging-purged",
]

# Registering an account (the accounts are removed before these trials).
ACCOUNT_POINTS = [
    ("tmp-written:accounts/account.pem", 1),
    ("renamed:accounts/account.json", 1),
]


def _serial(path):
    return certs.load_pem_file(path)[0].serial_number


class Scenario:
    """One server and its own pebble for a series of trials; `name` tells
    the files of two scenarios of one run apart."""

    def __init__(self, e2e, name="crash"):
        # a CA that never reuses an authorization, so that every issuance
        # passes through the challenge steps
        self.pebble = e2e.new_pebble(name="pebble-" + name,
                                     env_extra={"PEBBLE_AUTHZREUSE": "0"})
        # the test build: the production module has no crash hook
        self.a = e2e.new_apache(name=name, pebble=self.pebble,
                                module=check_module(crash_hook_module_path()))
        conf = self.a.config()
        conf.add_md([MD], ["MDRenewWindow 3000d"])
        conf.add_vhost(MD)
        conf.write()
        self.trials = 0

    def staged_serial(self):
        path = self.a.staged_pubcert(MD)
        md_json = os.path.join(self.a.staging_dir(MD), "md.json")
        if os.path.exists(path) and os.path.exists(md_json):
            return _serial(path)
        return None

    def crash_at(self, point):
        a = self.a
        mark = a.log_mark()
        # not waited for: a point in the parent's start-up is reached
        # before `apache2 -k start` returns
        proc, out = a.launch(env={HOOK_ENV: point}, wait=False)
        rx = re.compile(r"MD09900: test hook: stopped at %s " % re.escape(
            point.split("#")[0]))
        a.wait_for(lambda: a.log_lines(rx, since=mark), timeout=60,
                   what="the server to reach crash point %s" % point)
        for pid in a.processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        a.wait_for(lambda: not a.processes(), timeout=30,
                   what="every process of the server to be gone after SIGKILL")
        proc.wait(timeout=30)

    def check_serves_valid(self, expect_serial=None, point=None):
        chain = self.a.get_served_chain(MD)
        leaf = chain[0]
        assert certs.issuer_cn(leaf).startswith("Pebble Intermediate"), \
            "after the crash at %s the server does not serve a CA certificate:\n%s" % (
                point, self.a.log_tail(30))
        ok, out = self.pebble.verify_chain(chain, hostname=MD)
        assert ok, out
        if expect_serial is not None:
            assert leaf.serial_number == expect_serial, \
                "the staged certificate was not activated after the crash at %s " \
                "(serves %x, expected %x)\n%s" % (point, leaf.serial_number, expect_serial,
                                                   self.a.log_tail(80))
        return leaf.serial_number

    def trial(self, point, max_new_orders):
        """One crashing start at point, one normal start that must recover."""
        a = self.a
        staged_before = self.staged_serial()
        self.crash_at(point)
        # a complete set still staged (an activation that did not finish,
        # or an issuance that got that far) must be made live by this
        # start; else the one the crashing start activated is live
        staged_now = self.staged_serial()
        orders = self.pebble.count_orders_created()
        mark = a.log_mark()
        a.start()
        self.check_serves_valid(expect_serial=staged_now or staged_before, point=point)
        a.wait_staged(MD, since=mark, timeout=120)
        new_orders = self.pebble.count_orders_created() - orders
        # Once the challenges are answered, pebble validates at once; if that
        # races with the kill, the CA itself declares the saved order invalid
        # and a new one is the only way on. That is resuming as it should
        # (the module says so, MD08023), not ordering twice for one need.
        if a.count_log(r"MD08023: %s: the saved order \S+ is invalid" % MD, since=mark):
            max_new_orders += 1
        assert new_orders <= max_new_orders, \
            "%d new order(s) after a crash at %s: the saved order was not resumed" % (
                new_orders, point)
        assert self.staged_serial() is not None
        errors = a.log_lines(r"\[md:(error|crit|emerg)\]", since=mark)
        assert not errors, "errors after recovering from %s:\n%s" % (point, "\n".join(errors))
        a.stop()
        self.trials += 1


@contextlib.contextmanager
def seeded(e2e, name="crash"):
    """A Scenario whose server has a live certificate and a staged
    successor, and is stopped; everything stopped at the end."""
    sc = Scenario(e2e, name)
    try:
        sc.a.start()
        sc.a.wait_staged(MD)
        sc.a.graceful()
        sc.a.wait_served(MD)
        mark = sc.a.log_mark()
        sc.a.wait_staged(MD, since=mark)
        sc.a.stop()
        yield sc
    finally:
        sc.a.stop()
        sc.pebble.stop()
