"""A program of MDMessageCmd or MDNotifyCmd that is missing when it is due
(issue 9, item 10) is a recorded problem in md-status (renewal.last), not
a crash: the server keeps serving.

  msg-missing   MDMessageCmd cannot run: "renewing" fails, which vetoes
                the attempt (as the stock module does); renewal.last says so
  notify-missing  MDNotifyCmd cannot run: the certificate is staged, but
                "renewed" failed: renewal.last has the problem, notified is
                false

The programs exist when the server starts (the configuration check passes)
but cannot run: their interpreter is missing. Both modules run each case.
"""
import os
import types

import pytest

from mdtest import STOCK_MD_MODULE, status

MD = "missing.test"
BROKEN = """#!/nonexistent/interpreter
exit 0
"""


def _run(e2e, module, name, directive):
    a = e2e.new_apache(name=name, module=module)
    prog = os.path.join(a.root, "prog.sh")
    with open(prog, "w") as f:
        f.write(BROKEN)
    os.chmod(prog, 0o755)
    conf = a.config()
    conf.add("%s %s" % (directive, prog))
    conf.add_md([MD])
    conf.add_vhost(MD)
    status.add_handlers(conf, server_status=False, metrics=False)
    conf.write()

    def recorded():
        renewal = status.md_status(a, MD).get("renewal", {})
        last = renewal.get("last", {})
        return last.get("problem") and last.get("status") and renewal
    try:
        a.start()
        renewal = a.wait_for(recorded, timeout=60, what="a recorded problem")
        return types.SimpleNamespace(renewal=renewal,
                                     serving=a.https_get(MD, "/index.html").status)
    finally:
        a.stop()


@pytest.fixture(scope="module")
def runs(e2e):
    out = {}
    for which, module in (("stock", STOCK_MD_MODULE), ("ours", e2e.module)):
        for directive in ("MDMessageCmd", "MDNotifyCmd"):
            out[which, directive] = _run(e2e, module, "missing-%s-%s" % (which, directive),
                                         directive)
    return out


@pytest.mark.parametrize("which", ["stock", "ours"])
def test_missing_message_program_vetoes_and_is_recorded(runs, which):
    run = runs[which, "MDMessageCmd"]
    assert run.renewal["finished"] is False
    assert run.renewal["last"]["problem"] == "urn:org:apache:httpd:log:AH10109:"
    assert "MDMessageCmd" in run.renewal["last"]["detail"]
    assert run.renewal["last"]["status-description"]
    assert run.serving == 503, "the server keeps serving (the fallback)"


def test_vetoed_attempt_counts_as_failed(runs):
    """Ours counts a vetoed attempt and backs off (the stock module keeps
    errors at 0 and asks again at every watchdog run)."""
    assert runs["ours", "MDMessageCmd"].renewal["errors"] >= 1


@pytest.mark.parametrize("which", ["stock", "ours"])
def test_missing_notify_program_is_recorded(runs, which):
    run = runs[which, "MDNotifyCmd"]
    assert run.renewal["finished"] is True, "the certificate is staged anyway"
    # MDMessageCmd (not configured) counts as told, MDNotifyCmd failed
    assert run.renewal["notified"] is True
    assert run.renewal["notified-renewed"] is False
    assert run.renewal["last"]["problem"] == "urn:org:apache:httpd:log:AH10108:"
    assert "MDNotifyCmd" in run.renewal["last"]["detail"]
    assert run.serving == 503

