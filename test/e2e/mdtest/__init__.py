"""End-to-end harness for the mod_md replacement.

Modules:
  util    - free ports, wait_for polling, stopping processes by PID
  certs   - pebble's TLS identity, served-chain inspection and verification
  pebble  - pebble-challtestsrv and pebble ACME server control
  apache  - a private httpd instance with generated configuration
  session - one run: temp dir, ports, ACME side, Apache instances

Nothing here depends on pytest; conftest.py wraps it in fixtures and
scripts/demo.py uses it directly.
"""
import os

#: the repository root (test/e2e/mdtest/__init__.py -> three levels up)
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))

#: Debian's stock module, used as a behavioural reference
STOCK_MD_MODULE = "/usr/lib/apache2/modules/mod_md.so"


def default_module_path():
    """Our module unless MD_MODULE points elsewhere."""
    return os.environ.get("MD_MODULE") or os.path.join(REPO_ROOT, "build", "mod_md.so")


def crash_hook_module_path():
    """The test build with the crash hook (`make testhooks`), for the crash
    tests: $MD_TESTHOOK_MODULE or build/testhooks/mod_md.so. The production
    build/mod_md.so has no hook (test_security_build.py)."""
    return os.environ.get("MD_TESTHOOK_MODULE") or os.path.join(
        REPO_ROOT, "build", "testhooks", "mod_md.so")


#: For the test build (crash_hook_module_path()): the environment that makes
#: automatic activation (MDActivationAuto) restart as soon as its next check
#: finds a staged set, and again a second later, instead of waiting for new
#: sets to settle (5 s) and at most once a minute (src/glue/mod_md_activate.h).
#: For tests that wait for more than one automatic restart of a server.
#: The production module ignores it.
FAST_ACTIVATION = {
    "MD_TEST_ACTIVATE_SETTLE": "0",
    "MD_TEST_ACTIVATE_MIN_GAP": "1s",
}
