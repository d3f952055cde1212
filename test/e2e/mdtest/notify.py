"""Helpers for the tests of MDNotifyCmd/MDMessageCmd programs that run the
same configuration with the stock module and with ours: a program written
into the instance, the calls it logged, the JSON files it copied.

    d, script = notify.program(a, SCRIPT, job=job_path)   # SCRIPT % {"d": d, "job": job}
    notify.calls(d)                                        # [["msg", "renewed", "a.test"], ...]
    notify.read_json(path)                                 # None while missing or half written
    runs = notify.both_modules(e2e, run)                   # {"stock": run(e2e, "stock", module), "ours": ...}
"""
import json
import os

from . import STOCK_MD_MODULE


def program(apache, template, job):
    """<root>/notify/cmd.sh from template (%(d)s: that directory, %(job)s:
    job); the directory is open to the watchdog child (www-data), which
    runs the program and writes there. Returns (directory, script path)."""
    d = os.path.join(apache.root, "notify")
    os.makedirs(d)
    os.chmod(d, 0o777)
    script = os.path.join(d, "cmd.sh")
    with open(script, "w") as f:
        f.write(template % {"d": d, "job": job})
    os.chmod(script, 0o755)
    return d, script


def calls(d):
    """The argument lists the program logged in d/calls.log, one per call."""
    with open(os.path.join(d, "calls.log")) as f:
        return [line.split() for line in f if line.strip()]


def read_json(path):
    """The JSON document at path; None while it is missing or incomplete."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def both_modules(e2e, run):
    """run(e2e, which, module) for the stock module and for ours."""
    return {which: run(e2e, which, module)
            for which, module in (("stock", STOCK_MD_MODULE), ("ours", e2e.module))}
