"""A name the CA will refuse in an MDomain (issue 9, item 11): the server
starts, that MD reports a clear problem in md-status (renewal.last), and
the other MDs get their certificates. The stock module asks the CA and
shows its refusal; ours knows before asking (the configuration found the
name unusable) and does not send the order.
"""
import re
import types

import pytest

from mdtest import STOCK_MD_MODULE, status

OK = "fine.test"
BAD = "invalid!.test"


def _run(e2e, module, name):
    a = e2e.new_apache(name=name, module=module)
    conf = a.config()
    conf.add_md([OK])
    conf.add_md([BAD])
    conf.add_vhost(OK)
    conf.add_vhost(BAD)
    status.add_handlers(conf, server_status=False, metrics=False)
    conf.write()

    def problem():
        last = status.md_status(a, BAD).get("renewal", {}).get("last", {})
        return last.get("problem") and last
    try:
        a.start()
        a.wait_staged(OK, timeout=60)
        last = a.wait_for(problem, timeout=60, what="the problem of %s" % BAD)
        return types.SimpleNamespace(apache=a, last=last,
                                     ok=status.md_status(a, OK)["renewal"])
    finally:
        a.stop()


@pytest.fixture(scope="module")
def both(e2e):
    return types.SimpleNamespace(stock=_run(e2e, STOCK_MD_MODULE, "refused-stock"),
                                 ours=_run(e2e, e2e.module, "refused-ours"))


@pytest.mark.parametrize("which", ["stock", "ours"])
def test_refused_name_is_a_problem_in_md_status(both, which):
    run = getattr(both, which)
    assert run.last["problem"].startswith("urn:ietf:params:acme:error:"), run.last
    assert "!" in run.last["detail"]
    assert run.last["status-description"]
    assert run.ok["finished"] is True, "the other MD gets its certificate"


def test_refused_name_is_not_sent_to_the_ca(both):
    a = both.ours.apache
    assert "invalid!.test" in both.ours.last["detail"]
    assert not a.log_lines(r"MD04020: .*for %s" % re.escape(BAD))
