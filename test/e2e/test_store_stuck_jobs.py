"""No stuck jobs (issue 9, item 9): what a crash, another module or a hand
edit leaves in staging/ does not stop renewals.

  stuck.test    staging/ holds a job.json that says "finished" but no
                certificate: renewal runs again and stages one
  corrupt.test  staging/ holds an unreadable md.json (and a finished job):
                it is discarded and renewal starts again

The store is made by a first start with both MDs in MDRenewMode manual;
then the files are planted and the MDs switched to auto. The stock module
runs the same steps for comparison.
"""
import datetime
import email.utils
import json
import os
import pwd
import types

import pytest

from mdtest import STOCK_MD_MODULE, status

STUCK = "stuck.test"
CORRUPT = "corrupt.test"


def _configure(a, mode):
    conf = a.config()
    for md in (STUCK, CORRUPT):
        conf.add_md([md], ["MDRenewMode %s" % mode])
        conf.add_vhost(md)
    status.add_handlers(conf, server_status=False, metrics=False)
    conf.write()


def _plant(a):
    www = pwd.getpwnam("www-data")
    now = email.utils.format_datetime(datetime.datetime.now(datetime.timezone.utc),
                                      usegmt=True)
    job = {"finished": True, "errors": 0, "valid-from": now, "last-run": now,
           "last": {"status": 0}, "log": {"entries": [{"when": now, "type": "finished"}]}}
    for md, extra in ((STUCK, None), (CORRUPT, "{not json")):
        d = a.staging_dir(md)
        os.makedirs(d, exist_ok=True)
        files = {"job.json": json.dumps(dict(job, name=md))}
        if extra:
            files["md.json"] = extra
        for name, text in files.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
            os.chown(os.path.join(d, name), www.pw_uid, www.pw_gid)
        os.chown(d, www.pw_uid, www.pw_gid)
        os.chmod(d, 0o700)


def _run(e2e, module, name):
    a = e2e.new_apache(name=name, module=module)
    ns = types.SimpleNamespace(apache=a, staged={})
    _configure(a, "manual")
    a.start()
    a.stop()
    _plant(a)
    _configure(a, "auto")
    try:
        a.start()
        for md in (STUCK, CORRUPT):
            try:
                a.wait_staged(md, timeout=60)
                ns.staged[md] = True
            except AssertionError:
                ns.staged[md] = False
        ns.status = {md: status.md_status(a, md) for md in (STUCK, CORRUPT)}
    finally:
        a.stop()
    return ns


@pytest.fixture(scope="module")
def both(e2e):
    stock = _run(e2e, STOCK_MD_MODULE, "stuck-stock")
    ours = _run(e2e, e2e.module, "stuck-ours")
    return types.SimpleNamespace(stock=stock, ours=ours)


@pytest.mark.parametrize("which", ["stock", "ours"])
@pytest.mark.parametrize("md", [STUCK, CORRUPT])
def test_left_over_staging_does_not_block_renewal(both, which, md):
    run = getattr(both, which)
    assert run.staged[md], run.apache.log_tail(30)
    renewal = run.status[md]["renewal"]
    assert renewal["finished"] is True and renewal["errors"] == 0
    assert renewal["cert"], "a certificate is staged"
