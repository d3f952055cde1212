"""A CA that is not steady: it rejects half of all nonces, or it is stopped
and started again (forgetting every account and order) between two
renewals. Certificates still arrive, without anyone restarting Apache.
Along the way: MDInitialDelay holds the first renewal back, and a
certificate inside MDWarnWindow is reported as expiring.

The restarted-CA scenario runs on the test build with
mdtest.FAST_ACTIVATION: its second automatic restart need not wait out the
minute after the first (the production rate limit).
"""
import datetime
import re

import pytest

from mdtest import FAST_ACTIVATION, certs, crash_hook_module_path
from mdtest.apache import check_module

pytestmark = pytest.mark.long


def _log_time(line):
    stamp = re.match(r"^\[([^\]]+)\]", line).group(1)
    return datetime.datetime.strptime(stamp, "%a %b %d %H:%M:%S.%f %Y").timestamp()


def test_half_of_the_nonces_rejected_still_succeeds(apache_factory, pebble_factory):
    ca = pebble_factory(env_extra={"PEBBLE_WFE_NONCEREJECT": 50})
    mds = ["nonce%d.test" % i for i in range(1, 4)]
    a = apache_factory(pebble=ca)
    conf = a.config()
    conf.add("MDRetryDelay 1s", "MDActivationAuto off", "MDInitialDelay 2s")
    for name in mds:
        conf.add_md([name])
        conf.add_vhost(name)
    conf.write()
    a.start()
    for name in mds:
        a.wait_staged(name, timeout=180)
    # MDInitialDelay: no renewal started sooner than 2 s after the start
    started = [_log_time(l) for l in a.log_lines(r"resuming normal operations|MD12001")]
    assert min(started[1:]) >= started[0] + 2 - 0.1, started
    # the CA did reject nonces, and we answered with fresh ones
    assert a.count_log(r"MD04008: POST .*: badNonce, retrying") > 0, a.log_tail()
    a.graceful()
    for name in mds:
        chain = a.wait_served(name)
        ok, out = ca.verify_chain(chain, hostname=name)
        assert ok, out


def test_ca_restarted_between_renewals(apache_factory, pebble_factory):
    md = "restart.test"
    # 60-second certificates: renewed 30 s after issue (half the lifetime)
    ca = pebble_factory(config_extra={"certificateValidityPeriod": 60})
    a = apache_factory(pebble=ca, module=check_module(crash_hook_module_path()),
                       env=FAST_ACTIVATION)
    conf = a.config()
    # inside the warn window from the start: the module says so (MD12011)
    conf.add("MDRetryDelay 1s", "MDWarnWindow 95%")
    conf.add_md([md])
    conf.add_vhost(md)
    conf.write()
    a.start()
    first = a.wait_served(md, timeout=90)
    ok, out = ca.verify_chain(first, hostname=md)
    assert ok, out
    accounts = ca.count_requests("/sign-me-up")
    a.wait_for_log(r"\[md:warn\].*MD12011: %s: the certificate is expiring" % md)

    # a new CA on the same address: new roots, no accounts, no orders
    ca.stop()
    ca.start()
    second = a.wait_served(
        md, timeout=180, what="a certificate from the restarted CA",
        predicate=lambda c: (c[0].serial_number != first[0].serial_number
                             and certs.issuer_cn(c[0]).startswith("Pebble")))
    ok, out = ca.verify_chain(second, hostname=md)
    assert ok, out
    # the account the store had is unknown to the new CA: a new one was made
    assert ca.count_requests("/sign-me-up") > accounts
    assert a.count_log(r"MD13001: restarting the server gracefully") >= 2
