#!/usr/bin/python3
"""Demo: get a certificate for demo.test from a private pebble and show it.

Starts pebble-challtestsrv and pebble, then Apache with the module
(build/mod_md.so, or $MD_MODULE) and one MD, demo.test + www.demo.test.
Waits for the certificate to be staged, restarts Apache gracefully, and
prints the certificate Apache now serves. Everything runs on 127.0.0.1 in a
temp dir and is stopped by PID at the end, also on Ctrl-C or errors.

    /usr/bin/python3 scripts/demo.py        # exit 0 on success, 1 on failure
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "test", "e2e"))

from mdtest import certs, util  # noqa: E402
from mdtest.session import E2ESession  # noqa: E402

NAMES = ["demo.test", "www.demo.test"]


def say(msg):
    print("demo: %s" % msg, flush=True)


def _terminate(signum, frame):
    # turn SIGTERM/SIGHUP into an exception so the cleanup below runs
    raise KeyboardInterrupt("signal %d" % signum)


def run(session):
    md = NAMES[0]
    say("pebble at %s, dns at %s" % (session.pebble.directory_url,
                                     session.challtestsrv.dns_address))
    a = session.new_apache(name="demo")
    conf = a.config()
    conf.add_md(NAMES)
    conf.add_vhost(md, aliases=NAMES[1:])
    conf.write()
    say("starting Apache with %s (http %d, https %d)" % (
        a.module, a.http_port, a.https_port))
    t0 = time.monotonic()
    a.start()
    try:
        a.wait_staged(md, timeout=120)
        say("certificate staged after %.1fs, graceful restart" % (time.monotonic() - t0))
        a.graceful()
        chain = a.wait_served(md)
        leaf = chain[0]
        ok, out = session.pebble.verify_chain(chain, hostname=md)
        print()
        print("  subject:    %s" % leaf.subject.rfc4514_string())
        print("  SANs:       %s" % ", ".join(certs.dns_sans(leaf)))
        print("  issuer:     %s" % leaf.issuer.rfc4514_string())
        print("  not before: %s" % certs.not_before(leaf).isoformat())
        print("  not after:  %s" % certs.not_after(leaf).isoformat())
        print("  serial:     %x" % leaf.serial_number)
        print("  chain:      %d certificates, %s" % (
            len(chain), "verifies against pebble's root" if ok else "DOES NOT VERIFY"))
        print()
        if not ok:
            raise AssertionError("served chain does not verify:\n" + out)
    except BaseException as exc:
        if not isinstance(exc, util.WaitTimeout):  # those carry the tail already
            print(a.log_tail(40), file=sys.stderr)
        raise
    finally:
        a.stop()


def main():
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    session = None
    try:
        session = E2ESession()
        session.start()
        run(session)
        say("ok")
        return 0
    except KeyboardInterrupt:
        say("interrupted")
        return 1
    except Exception as exc:  # noqa: BLE001 - report any failure, exit 1
        say("FAILED: %s" % exc)
        return 1
    finally:
        if session is not None:
            session.close()
            say("stopped all processes")


if __name__ == "__main__":
    sys.exit(main())
