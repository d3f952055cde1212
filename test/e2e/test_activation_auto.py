"""Automatic activation (MDActivationAuto, on by default): certificates go
live with no restart by hand, and a renewal does so while clients keep
requesting, without a failed request.

One server, one MD, a pebble that issues 60-second certificates. Nobody
restarts Apache in this file: the module does (the parent's graceful
restart, MD13001). The scenario runs once:
  1. start; the first certificate is staged and goes live by itself;
  2. keep-alive clients and slow downloads run while the certificate, short
     as it is, is renewed at half its lifetime and goes live by itself;
  3. the clients stop a few seconds after the new certificate is served.

The server is the test build with mdtest.FAST_ACTIVATION: its second
automatic restart comes as soon as the renewed certificate is staged, not a
minute after the first one (the production rate limit, longer than this
certificate's remaining life). Every other step is the production code.
"""
import datetime
import email.utils
import hashlib
import os
import re
import time
import types

import pytest

from mdtest import FAST_ACTIVATION, certs, crash_hook_module_path, status
from mdtest.apache import check_module
from mdtest.load import KeepAliveLoad

pytestmark = pytest.mark.long

MD = "live.test"
LIFETIME = 60
BIG = "/big.bin"
RESTART_RE = r"MD13001: restarting the server gracefully"
RESUMING_RE = r"resuming normal operations"


def _log_time(line):
    """Seconds since the epoch of an error_log line (local time)."""
    stamp = re.match(r"^\[([^\]]+)\]", line).group(1)
    return datetime.datetime.strptime(stamp, "%a %b %d %H:%M:%S.%f %Y").timestamp()


@pytest.fixture(scope="module")
def scenario(e2e):
    ca = e2e.new_pebble(config_extra={"certificateValidityPeriod": LIFETIME},
                        name="pebble-activation")
    a = e2e.new_apache(name="activation", pebble=ca,
                       module=check_module(crash_hook_module_path()), env=FAST_ACTIVATION)
    big = os.urandom(12 * 1024 * 1024)
    with open(os.path.join(a.htdocs, BIG.lstrip("/")), "wb") as f:
        f.write(big)
    conf = a.config()
    conf.add_md([MD])
    conf.add_vhost(MD)
    status.add_handlers(conf, server_status=False, metrics=False)
    conf.write()
    try:
        a.start()
        first = a.wait_served(MD, timeout=120)
        # when the module plans to renew the certificate it serves
        planned = a.wait_for(lambda: status.md_status(a, MD).get("renew-at"),
                             what="renew-at in md-status")
        load = KeepAliveLoad(a, MD, big=BIG, big_sha256=hashlib.sha256(big).hexdigest())
        load.start()
        try:
            second = a.wait_served(
                MD, timeout=LIFETIME + 60,
                predicate=lambda c: (c[0].serial_number != first[0].serial_number
                                     and certs.issuer_cn(c[0]).startswith("Pebble")),
                what="the renewed certificate served")
            # keep the clients going while the old children finish
            t_end = time.monotonic() + 5
            while time.monotonic() < t_end and not load.hard_failures:
                time.sleep(0.2)
        finally:
            summary = load.stop()
        print("\nclients during the automatic restart: %s" % summary)
        yield types.SimpleNamespace(apache=a, ca=ca, first=first, second=second, load=load,
                                    summary=summary, planned=planned)
    finally:
        a.stop()
        ca.stop()


def test_first_certificate_goes_live_without_restart_by_hand(scenario):
    a, first = scenario.apache, scenario.first
    assert certs.issuer_cn(first[0]).startswith("Pebble Intermediate")
    ok, out = scenario.ca.verify_chain(first, hostname=MD)
    assert ok, out
    # the module restarted the server, nobody else did
    restarts = a.log_lines(RESTART_RE)
    assert restarts, a.log_tail()
    assert MD in restarts[0]
    assert a.count_log(RESUMING_RE) == 1 + len(restarts)


def test_renewal_goes_live_under_load_and_no_request_fails(scenario):
    s = scenario.summary
    assert scenario.load.hard_failures == [], scenario.load.hard_failures[:10]
    assert s["ok"] > 100, s
    # downloads were in flight during the restart and arrived whole
    assert s["big_ok"] >= 2, s
    second = scenario.second
    ok, out = scenario.ca.verify_chain(second, hostname=MD)
    assert ok, out
    assert len(scenario.apache.log_lines(RESTART_RE)) >= 2


def test_short_certificate_renews_at_half_its_lifetime(scenario):
    a, first = scenario.apache, scenario.first
    nb = certs.not_before(first[0]).timestamp()
    na = certs.not_after(first[0]).timestamp()
    life = na - nb
    # the plan: half the lifetime (1 s: dates are whole seconds), well
    # before the default 33% window would start (at two thirds)
    planned = email.utils.parsedate_to_datetime(scenario.planned).timestamp()
    assert abs(planned - (nb + life / 2)) <= 1, (planned - nb, life)
    # and it was not renewed before the plan (how soon after it depends on
    # the machine's load: no wall-clock bound here)
    due = [l for l in a.log_lines(r"MD12001: %s: renewal is due" % re.escape(MD))]
    assert due, a.log_tail()
    t = _log_time(due[0])
    assert t >= planned - 1, (t - nb, planned - nb, life)


def test_fast_activation_is_in_the_test_build_only(md_module):
    """The module users load reads no MD_TEST_ACTIVATE_* variable: its
    activation timing is fixed (src/glue/mod_md_activate.h)."""
    names = [n.encode() for n in FAST_ACTIVATION]
    with open(md_module, "rb") as f:
        production = f.read()
    with open(check_module(crash_hook_module_path()), "rb") as f:
        test_build = f.read()
    assert not [n for n in names if n in production], md_module
    assert all(n in test_build for n in names)
