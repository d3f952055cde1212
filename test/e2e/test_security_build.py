"""The test-only crash hook (MD_TEST_CRASH_AT, src/core/md_testhook.h) is in
the test build only (`make testhooks`: build/testhooks/mod_md.so), never in
the module users load (build/mod_md.so): with it anyone who can set the
server's environment could freeze the server at will (issue 11, finding 8).
"""
import os
import subprocess

from mdtest import crash_hook_module_path
from mdtest.apache import check_module

HOOK_STRINGS = (b"MD_TEST_CRASH_AT", b"MD09900", b"test hook: stopped at")


def _symbols(path, dynamic=False):
    """Defined symbols: the exported ones (dynamic), or all of the symbol
    table (the module exports md_module only, src/glue/mod_md.exports)."""
    out = subprocess.run(["nm"] + (["-D"] if dynamic else []) + ["--defined-only", path],
                         check=True, capture_output=True, text=True).stdout
    return [line.split()[-1] for line in out.splitlines() if line.strip()]


def _strings(path):
    return subprocess.run(["strings", "-a", path], check=True,
                          capture_output=True).stdout


def test_production_module_has_no_crash_hook(md_module):
    for dynamic in (True, False):
        symbols = _symbols(md_module, dynamic)
        assert symbols, "nm found no symbols in %s" % md_module
        assert not [s for s in symbols if "testhook" in s], symbols
    text = _strings(md_module)
    for needle in HOOK_STRINGS:
        assert needle not in text, "%r is in %s" % (needle, md_module)


def test_test_build_has_the_hook():
    # the check above looks at the right things: the test build has them
    path = check_module(crash_hook_module_path())
    assert [s for s in _symbols(path) if s == "md_testhook_crash"]
    text = _strings(path)
    for needle in HOOK_STRINGS:
        assert needle in text, "%r is not in %s" % (needle, path)


def test_production_module_ignores_the_hook_variable(apache):
    md = "nohook.test"
    conf = apache.config()
    conf.add_md([md])
    conf.add_vhost(md)
    conf.write()
    # with the hook, the watchdog child would freeze at its first step
    apache.start(env={"MD_TEST_CRASH_AT": "drive:started"})
    apache.wait_staged(md)
    assert not apache.log_lines(r"MD09900")
    assert os.path.exists(apache.staged_pubcert(md)) or apache.log_lines(r"MD07003")
