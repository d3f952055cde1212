"""MDNotifyCmd and MDMessageCmd: the programs are called with the right
arguments, as often as the rate limits allow, a non-zero exit from
"renewing" or "challenge-setup" vetoes the attempt, and a failed "renewed"
is retried until it works.

The program is a script that appends its argv (joined with "|") to a file;
a file fail-<reason>-<md> makes it exit 1 for that reason and MD, a file
failonce-<reason>-<md> once.
"""
import json
import os
import re
import stat
import types

import pytest

OK = "n-ok.test"            # everything works; inside its warn window when live
VETO = "n-veto.test"        # "renewing" says no
CHVETO = "n-chveto.test"    # "challenge-setup" says no
RETRY = "n-retry.test"      # "renewed" fails once, then works

SCRIPT = """#!/bin/sh
dir=%(dir)s
line=""
for a in "$@"; do line="$line$a|"; done
echo "$line" >> "$dir/calls.log"
if [ "$1" = msg ]; then
    reason=${2%%%%:*}
    md=$3
    if [ -f "$dir/failonce-$reason-$md" ]; then
        rm -f "$dir/failonce-$reason-$md"
        exit 1
    fi
    if [ -f "$dir/fail-$reason-$md" ]; then
        exit 1
    fi
fi
exit 0
"""


def _calls(d):
    try:
        with open(os.path.join(d, "calls.log")) as f:
            return [l.rstrip("\n") for l in f if l.strip()]
    except FileNotFoundError:
        return []


def _count(d, line):
    return _calls(d).count(line)


def _notified_job(a, md):
    """The staged job.json of md once it says "renewed" was told, else None."""
    try:
        with open(os.path.join(a.staging_dir(md), "job.json")) as f:
            job = json.load(f)
    except (OSError, ValueError):
        return None
    return job if job.get("notified-renewed") else None


@pytest.fixture(scope="module")
def notified(e2e):
    d = os.path.join(e2e.workdir, "notify")
    os.makedirs(d, exist_ok=True)
    # the watchdog child runs as www-data: it must run the script and write here
    os.chmod(d, 0o777)
    script = os.path.join(d, "cmd.sh")
    with open(script, "w") as f:
        f.write(SCRIPT % {"dir": d})
    os.chmod(script, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    for name in ("fail-renewing-%s" % VETO, "fail-challenge-setup-%s" % CHVETO,
                 "failonce-renewed-%s" % RETRY):
        open(os.path.join(d, name), "w").close()

    a = e2e.new_apache(name="notified")
    conf = a.config()
    conf.add("MDMessageCmd %s msg" % script)
    conf.add("MDNotifyCmd %s notify" % script)
    # vetoed attempts come again soon (the default, 30s as in the stock
    # module, would let the automatic activation come first)
    conf.add("MDRetryDelay 5s")
    # longer than the certificate lives: "expiring" as soon as it is live
    conf.add_md([OK], ["MDWarnWindow 3650d"])
    conf.add_md([VETO])
    conf.add_md([CHVETO])
    conf.add_md([RETRY])
    for name in (OK, VETO, CHVETO, RETRY):
        conf.add_vhost(name)
    conf.write()

    def wait_calls(line, n=1, timeout=120):
        a.wait_for(lambda: _count(d, line) >= n, timeout=timeout,
                   what="%d call(s) %r in %s" % (n, line, _calls(d)))
    try:
        a.start()
        a.wait_staged(OK)
        a.wait_staged(RETRY)
        # the failed "renewed" is told again, and then works: job.json says
        # so again (it said notified false after the first attempt)
        wait_calls("msg|renewed|%s|" % RETRY, 2)
        retry_job = a.wait_for(lambda: _notified_job(a, RETRY), timeout=60,
                               what="staging job.json of %s notified again" % RETRY)
        # two vetoed attempts each: the rate limit on "errored" shows
        wait_calls("msg|renewing|%s|" % VETO, 2)
        wait_calls("msg|challenge-setup:http-01:%s|%s|" % (CHVETO, CHVETO), 2)
        wait_calls("msg|errored|%s|" % VETO)
        wait_calls("msg|errored|%s|" % CHVETO)
        staged_calls = _calls(d)
        mark = a.log_mark()
        a.graceful()
        wait_calls("msg|installed|%s|" % OK)
        wait_calls("msg|expiring|%s|" % OK)
        yield types.SimpleNamespace(apache=a, dir=d, staged_calls=staged_calls, mark=mark,
                                    retry_job=retry_job)
    finally:
        a.stop()


def test_message_cmd_called_with_reason_and_md_for_a_renewal(notified):
    calls = notified.staged_calls
    # argv: configured arguments, then reason and MD name; in this order
    seq = [c for c in calls if c.endswith("|%s|" % OK) and c.startswith("msg|")]
    assert seq == ["msg|renewing|%s|" % OK,
                   "msg|challenge-setup:http-01:%s|%s|" % (OK, OK),
                   "msg|renewed|%s|" % OK], calls


def test_notify_cmd_called_with_md_once_when_renewed(notified):
    calls = _calls(notified.dir)
    assert calls.count("notify|%s|" % OK) == 1, calls
    # MDNotifyCmd only for "renewed": nothing for the MDs that never got one
    assert "notify|%s|" % VETO not in calls
    assert "notify|%s|" % CHVETO not in calls


def test_message_installed_and_expiring_after_activation(notified):
    d = notified.dir
    assert _count(d, "msg|installed|%s|" % OK) == 1, _calls(d)
    assert _count(d, "msg|expiring|%s|" % OK) == 1, _calls(d)
    # told once: a renewal is not told again after it went live
    assert _count(d, "msg|renewed|%s|" % OK) == 1, _calls(d)


def test_message_renewing_veto_stops_the_attempt(notified):
    a, d = notified.apache, notified.dir
    calls = _calls(d)
    assert calls.count("msg|renewing|%s|" % VETO) >= 2
    # vetoed before any order: no challenge was set up
    assert not any(c.startswith("msg|challenge-setup:") and VETO in c for c in calls)
    assert not os.path.exists(a.staged_pubcert(VETO))
    assert a.count_log(r"%s.*renewal vetoed.*MDMessageCmd.*exit code 1" % re.escape(VETO)) >= 1


def test_message_challenge_setup_veto_stops_the_attempt(notified):
    a, d = notified.apache, notified.dir
    assert _count(d, "msg|challenge-setup:http-01:%s|%s|" % (CHVETO, CHVETO)) >= 2
    assert not os.path.exists(a.staged_pubcert(CHVETO))
    assert _count(d, "msg|renewed|%s|" % CHVETO) == 0


def test_message_errored_rate_limited_per_md(notified):
    d = notified.dir
    # several failed attempts each, one "errored" each within the hour
    assert _count(d, "msg|errored|%s|" % VETO) == 1, _calls(d)
    assert _count(d, "msg|errored|%s|" % CHVETO) == 1, _calls(d)


def test_message_failed_renewed_is_retried(notified):
    d = notified.dir
    assert _count(d, "msg|renewed|%s|" % RETRY) == 2, _calls(d)
    # the MDNotifyCmd part worked the first time and is not repeated
    assert _count(d, "notify|%s|" % RETRY) == 1, _calls(d)
    assert not os.path.exists(os.path.join(d, "failonce-renewed-%s" % RETRY))


def test_retried_renewed_sets_notified_in_job(notified):
    """After the retry worked, job.json says notified and notified-renewed
    as after a first success, and its log has the failure and then the
    message (test_notify_retried.py compares with the stock module)."""
    job = notified.retry_job
    assert job["notified"] is True
    assert job["notified-renewed"] is True
    types_ = [e.get("type") for e in job["log"]["entries"]]
    assert "message-renewed" in types_ and "message-error" in types_, types_
    assert types_.index("message-renewed") < types_.index("message-error"), \
        "newest first: the retry after the failure"
