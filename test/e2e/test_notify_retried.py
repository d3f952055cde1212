"""A "renewed" notification that fails once and works when it is told again
(issue 9, item 6): job.json's "notified" and "notified-renewed" as the
stock module sets them, after the failure and after the retry. Both
modules run the same configuration.

MDMessageCmd is a script that fails its first "renewed" call; at its
second one it copies the staged job.json, so the state written after the
failure is seen exactly, whatever the timing.
"""
import os
import types

import pytest

from mdtest import notify

MD = "n-retried.test"
SCRIPT = """#!/bin/sh
echo "$*" >> %(d)s/calls.log
if [ "$2" = renewed ]; then
    if [ -f %(d)s/failonce ]; then
        rm -f %(d)s/failonce
        exit 1
    fi
    cp %(job)s %(d)s/job-at-retry.json
fi
exit 0
"""


def _run(e2e, which, module):
    a = e2e.new_apache(name="retried-%s" % which, module=module)
    job = os.path.join(a.staging_dir(MD), "job.json")
    d, script = notify.program(a, SCRIPT, job)
    open(os.path.join(d, "failonce"), "w").close()
    os.chmod(os.path.join(d, "failonce"), 0o666)
    conf = a.config()
    conf.add("MDMessageCmd %s msg" % script)
    # the stock module tells again after its retry delay
    conf.add("MDRetryDelay 5s")
    conf.add_md([MD])
    conf.add_vhost(MD)
    conf.write()
    try:
        a.start()
        final = a.wait_for(lambda: (notify.read_json(job) or {}).get("notified-renewed")
                           and notify.read_json(job),
                           timeout=120, what="%s: job.json notified-renewed" % which)
        return types.SimpleNamespace(
            at_retry=notify.read_json(os.path.join(d, "job-at-retry.json")),
            final=final, calls=notify.calls(d))
    finally:
        a.stop()


@pytest.fixture(scope="module")
def runs(e2e):
    return notify.both_modules(e2e, _run)


@pytest.mark.parametrize("which", ["stock", "ours"])
def test_renewed_told_twice(runs, which):
    assert [c for c in runs[which].calls if c[1] == "renewed"] == \
        [["msg", "renewed", MD]] * 2, runs[which].calls


@pytest.mark.parametrize("which", ["stock", "ours"])
def test_flags_after_the_failure(runs, which):
    job = runs[which].at_retry
    assert job is not None and job["finished"] is True
    # "renewing" went through; "renewed" was not told
    assert job["notified"] is True
    assert job["notified-renewed"] is False


@pytest.mark.parametrize("which", ["stock", "ours"])
def test_flags_after_the_retry(runs, which):
    job = runs[which].final
    assert job["finished"] is True
    assert job["notified"] is True
    assert job["notified-renewed"] is True


def test_flags_as_stock(runs):
    for key in ("notified", "notified-renewed"):
        assert runs["ours"].at_retry[key] == runs["stock"].at_retry[key], key
        assert runs["ours"].final[key] == runs["stock"].final[key], key
