"""The renewal job's state survives a restart: attempts, errors, the last
result with what went wrong, the next run and a bounded log are in
staging/<md>/job.json, and a restarted server continues counting instead
of starting over.
"""
import json
import os
import re


def _job(a, md):
    with open(os.path.join(a.staging_dir(md), "job.json")) as f:
        return json.load(f)


def test_job_state_survives_restart_and_attempts_continue(apache_factory, pebble_factory):
    md = "persist.test"
    ca = pebble_factory()
    ca.stop()                                # unreachable: every attempt fails
    a = apache_factory(pebble=ca)
    conf = a.config()
    # retries after 2, 4, 8 s (less up to 20 % jitter) instead of 5, 10, 20
    conf.add("MDRetryDelay 2s")
    conf.add_md([md])
    conf.add_vhost(md)
    conf.write()
    a.start()
    a.wait_for_log(r"MD12003: %s: .*\(attempt 2\)" % re.escape(md), timeout=60)
    a.stop()

    job = _job(a, md)
    # 2, unless a slow stop let the third attempt (3.2 s later) in as well
    errors = job["errors"]
    assert errors in (2, 3), job
    assert a.count_log(r"MD12003: %s: .*\(attempt %d\)" % (re.escape(md), errors)) == 1
    assert job["name"] == md
    assert job["finished"] is False
    assert "next-run" in job and "last-run" in job
    assert job["last"]["status"] != 0
    assert re.search(re.escape(ca.directory_url.split("/dir")[0]), json.dumps(job["last"])), \
        job["last"]
    types = [e["type"] for e in job["log"]["entries"]]
    assert types.count("renewal-error") == errors
    assert len(job["log"]["entries"]) <= 50

    mark = a.log_mark()
    a.start()
    a.wait_for_log(r"MD12003: %s: .*\(attempt %d\)" % (re.escape(md), errors + 1),
                   since=mark, timeout=60)
    assert not a.log_lines(r"MD12003: %s: .*\(attempt 1\)" % re.escape(md), since=mark)
    assert _job(a, md)["errors"] == errors + 1

    # and once the CA is back, the job finishes and says so in job.json
    ca.start()
    a.wait_staged(md, since=mark, timeout=120)
    job = _job(a, md)
    assert job["finished"] is True and job["errors"] == 0
    assert job["log"]["entries"][0]["type"] == "finished"
