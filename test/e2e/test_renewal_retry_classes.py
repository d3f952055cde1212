"""Retries as the stock module classifies errors (issue 9, item 4): a
failed validation ("unauthorized", Let's Encrypt's answer to most failed
http-01 checks) is retried with the normal doubling backoff from
MDRetryDelay, not after a day. Only errors a retry cannot fix (a refused
name: test_stock_parity.py, test_renewal_retries.py) wait the cap.

The CA's DNS sends its validation of unauth.test to 127.0.0.2, where a
small server of the test answers 404: pebble says "unauthorized" (while
our own check of the answer, on 127.0.0.1, is fine). Once the module shows
that problem, the DNS entry goes; with MDRetryDelay 1s both modules try
again within seconds and get the certificate.
"""
import http.server
import json
import os
import threading
import types

import pytest

from mdtest import STOCK_MD_MODULE, status

MD = "unauth.test"
UNAUTHORIZED = "urn:ietf:params:acme:error:unauthorized"
ELSEWHERE = "127.0.0.2"


class _NotFound(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def _job(a):
    try:
        with open(os.path.join(a.staging_dir(MD), "job.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _run(e2e, module, name):
    a = e2e.new_apache(name=name, module=module)
    conf = a.config()
    conf.add("MDRetryDelay 1s")
    conf.add_md([MD])
    conf.add_vhost(MD)
    status.add_handlers(conf, server_status=False, metrics=False)
    conf.write()
    ns = types.SimpleNamespace(apache=a)

    def failed_twice():
        renewal = status.md_status(a, MD).get("renewal", {})
        if renewal.get("last", {}).get("problem"):
            ns.problems.add(renewal["last"]["problem"])
        return renewal.get("errors", 0) >= 2 and renewal
    ns.problems = set()
    e2e.challtestsrv.add_a(MD, [ELSEWHERE])
    try:
        a.start()
        # a second attempt within a minute: the normal backoff, not a day
        ns.renewal = a.wait_for(failed_twice, timeout=60, interval=0.1,
                                what="two failed validations")
        ns.failed_job = _job(a)
        e2e.challtestsrv.clear_a(MD)
        # retried soon, not in a day: the certificate comes within a minute
        a.wait_staged(MD, timeout=60)
        ns.job = _job(a)
    finally:
        e2e.challtestsrv.clear_a(MD)
        a.stop()
    return ns


@pytest.fixture(scope="module")
def both(e2e):
    server = http.server.ThreadingHTTPServer((ELSEWHERE, e2e.http_port), _NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        stock = _run(e2e, STOCK_MD_MODULE, "retry-class-stock")
        ours = _run(e2e, e2e.module, "retry-class-ours")
        yield types.SimpleNamespace(stock=stock, ours=ours)
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("which", ["stock", "ours"])
def test_failed_validation_is_retried_with_backoff(both, which):
    run = getattr(both, which)
    assert run.renewal["errors"] >= 2
    assert run.renewal["finished"] is False
    assert run.job["finished"] is True and run.job["errors"] == 0


def test_failed_validation_reports_the_cas_problem(both):
    """renewal.last.problem is the CA's problem type (the stock module here
    reports only that waiting for the validation failed)."""
    ours = both.ours
    assert UNAUTHORIZED in ours.problems
    assert MD in ours.renewal["last"]["detail"]
    errors = [e for e in ours.job["log"]["entries"] if e["type"] == "renewal-error"]
    assert any(e.get("status") == UNAUTHORIZED for e in errors)
