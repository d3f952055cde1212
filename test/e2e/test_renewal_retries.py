"""Retries and failover, on one server with four MDs that each meet a
different CA (MDCertificateAuthority inside <MDomain>):

  backoff.test    a CA on a closed port: every attempt fails; the delay
                  before the next one doubles (MDRetryDelay 1s), with jitter
  blocked.test    pebble refuses the name (rejectedIdentifier): an input
                  error, so the next attempt waits the cap, a day
  failover.test   a closed port first, then pebble: after MDRetryFailover 2
                  failed attempts the second CA is used and issues
  manual.test     pebble, with MDActivationAuto off: staged, the admin is
                  told to restart, and the server does not restart itself

The scenario waits until backoff.test has failed five times (about 20 s).
"""
import datetime
import email.utils
import json
import os
import re
import types

import pytest

from mdtest import util

BACKOFF = "backoff.test"
BLOCKED = "blocked.test"
FAILOVER = "failover.test"
MANUAL = "manual.test"
ERRORS = 5


def _job(a, md):
    try:
        with open(os.path.join(a.staging_dir(md), "job.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _http_date(s):
    return email.utils.parsedate_to_datetime(s).timestamp()


@pytest.fixture(scope="module")
def retries(e2e):
    ca = e2e.new_pebble(name="pebble-retries", config_extra={"domainBlocklist": [BLOCKED]})
    closed1, closed2 = util.free_ports(2)
    a = e2e.new_apache(name="retries", pebble=ca)
    conf = a.config()
    conf.add("MDRetryDelay 1s", "MDRetryFailover 2", "MDActivationAuto off")
    conf.add_md([BACKOFF], ["MDCertificateAuthority https://127.0.0.1:%d/dir" % closed1])
    conf.add_md([FAILOVER], ["MDCertificateAuthority https://127.0.0.1:%d/dir %s"
                             % (closed2, ca.directory_url)])
    conf.add_md([BLOCKED])
    conf.add_md([MANUAL])
    for name in (BACKOFF, FAILOVER, BLOCKED, MANUAL):
        conf.add_vhost(name)
    conf.write()
    snapshots = {}

    def backoff_done():
        job = _job(a, BACKOFF)
        if job and job.get("errors") and job.get("next-run") and job.get("last-run"):
            # one snapshot per error count: the delay chosen after that error
            snapshots.setdefault(job["errors"], (_http_date(job["last-run"]),
                                                 _http_date(job["next-run"])))
        return len(snapshots) and max(snapshots) >= ERRORS
    try:
        a.start()
        a.wait_for(backoff_done, timeout=120, interval=0.1,
                   what="%s to fail %d times" % (BACKOFF, ERRORS))
        a.wait_staged(FAILOVER, timeout=60)
        a.wait_staged(MANUAL, timeout=60)
        yield types.SimpleNamespace(apache=a, ca=ca, snapshots=snapshots,
                                    closed=(closed1, closed2))
    finally:
        a.stop()
        ca.stop()


def test_retry_delay_doubles_per_error(retries):
    snaps = retries.snapshots
    delays = {n: nxt - last for n, (last, nxt) in snaps.items()}
    # MDRetryDelay 1s: 1, 2, 4, 8, 16 s, up to 20% less (jitter); the
    # dates in job.json are whole seconds, hence the 1 s either side
    for n in range(3, ERRORS + 1):
        if n not in delays:
            continue    # a snapshot can be missed between two polls
        full = 2 ** (n - 1)
        assert full * 0.8 - 1 <= delays[n] <= full + 1, delays
    seen = [delays[n] for n in sorted(delays) if n >= 3]
    assert seen == sorted(seen) and len(set(seen)) == len(seen), delays
    # and the log says the same, attempt by attempt
    lines = retries.apache.log_lines(r"MD12003: %s: getting a certificate failed"
                                     % re.escape(BACKOFF))
    assert len(lines) >= ERRORS


def test_input_error_from_the_ca_waits_a_day(retries):
    job = _job(retries.apache, BLOCKED)
    assert job is not None
    assert job["errors"] == 1, job
    assert job["last"]["problem"] == "urn:ietf:params:acme:error:rejectedIdentifier", job
    wait = _http_date(job["next-run"]) - _http_date(job["last-run"])
    assert 23 * 3600 <= wait <= 24 * 3600 + 1, wait


def test_failover_to_the_next_ca_after_failed_attempts(retries):
    a = retries.apache
    lines = a.log_lines(r"MD08602: %s: 2 attempts failed, trying the next CA, %s"
                        % (re.escape(FAILOVER), re.escape(retries.ca.directory_url)))
    assert lines, a.log_tail()
    failed = a.log_lines(r"MD12003: %s: .*127\.0\.0\.1:%d" % (re.escape(FAILOVER),
                                                             retries.closed[1]))
    assert len(failed) == 2, failed
    with open(os.path.join(a.staging_dir(FAILOVER), "md.json")) as f:
        staged = json.load(f)
    assert staged["ca"]["url"] == retries.ca.directory_url
    # nothing of the broken CA's attempts was left in staging
    assert sorted(os.listdir(a.staging_dir(FAILOVER))) == sorted(
        ["job.json", "md.json", "privkey.pem", "pubcert.pem"])


def test_activation_auto_off_leaves_the_restart_to_the_admin(retries):
    a = retries.apache
    staged = a.log_lines(r"MD12002: %s: .*restart the server gracefully.*"
                         r"MDActivationAuto off" % re.escape(MANUAL))
    assert staged, a.log_tail()
    # backoff.test has failed five times since (some 20 s): the server did
    # not restart itself meanwhile
    assert not a.log_lines(r"MD13001")
    assert a.count_log(r"resuming normal operations") == 1
    a.graceful()
    chain = a.wait_served(MANUAL)
    ok, out = retries.ca.verify_chain(chain, hostname=MANUAL)
    assert ok, out
