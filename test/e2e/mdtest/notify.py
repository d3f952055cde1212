"""Helpers for the tests of MDNotifyCmd/MDMessageCmd programs that run the
same configuration with the stock module and with ours: a program written
into the instance, the calls it logged, the JSON files it copied.

    d, script = notify.program(a, SCRIPT, job=job_path)   # SCRIPT % {"d": d, "job": job}
    script = notify.program_in(d, SCRIPT)                  # any directory d
    notify.calls(d)                                        # [["msg", "renewed", "a.test"], ...]
    notify.calls(d, "installed")                           # only those calls
    notify.read_json(path)                                 # None while missing or half written
    runs = notify.both_modules(e2e, run)                   # {"stock": run(e2e, "stock", module), "ours": ...}
"""
import json
import os

from . import STOCK_MD_MODULE


def program(apache, template, job):
    """<root>/notify/cmd.sh from template (%(d)s: that directory, %(job)s:
    job). Returns (directory, script path)."""
    d = os.path.join(apache.root, "notify")
    os.makedirs(d)
    return d, program_in(d, template, job=job)


def program_in(d, template, **values):
    """d/cmd.sh from template (%(d)s: d, and values); d is made open to the
    watchdog child (www-data), which runs the program and writes there.
    Returns the script's path."""
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o777)
    script = os.path.join(d, "cmd.sh")
    with open(script, "w") as f:
        f.write(template % dict(values, d=d))
    os.chmod(script, 0o755)
    return script


def hold_until_released(tenths):
    """Shell lines for a template: wait until the test creates %(d)s/release,
    at most tenths tenths of a second (the program must end by itself if
    the test fails)."""
    return ("i=0\n"
            "while [ ! -f %%(d)s/release ] && [ $i -lt %d ]; do\n"
            "    sleep 0.1\n"
            "    i=$((i + 1))\n"
            "done\n" % tenths)


def calls(d, reason=None):
    """The argument lists the program logged in d/calls.log, one per call;
    with reason, only the calls whose second argument it is."""
    with open(os.path.join(d, "calls.log")) as f:
        return [args for args in (line.split() for line in f)
                if args and (reason is None or args[1:2] == [reason])]


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
