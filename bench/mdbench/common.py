"""Helpers shared by the benchmarks: clocks, statistics, polling, TLS probes,
and starting an Apache in the background while the caller watches the clock.

Nothing here asserts on times: a benchmark reports what it saw.
"""
import os
import socket
import ssl
import statistics
import sys
import threading
import time

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(BENCH_DIR)
E2E_DIR = os.path.join(REPO_ROOT, "test", "e2e")
if E2E_DIR not in sys.path:
    sys.path.insert(0, E2E_DIR)

from mdtest import STOCK_MD_MODULE  # noqa: E402,F401  (re-exported)

#: file-system and TLS polling interval (seconds)
POLL = 0.02


def now():
    return time.monotonic()


def median(values):
    """Median of the numbers in `values` (None entries are failures and are
    left out); None if nothing is left."""
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def ratio(a, b):
    """a / b, or None if either is missing."""
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_secs(v):
    if v is None:
        return "-"
    return "%.2fs" % v if v < 100 else "%.0fs" % v


def fmt_ratio(v):
    return "-" if v is None else "%.2fx" % v


def say(msg):
    print("bench: %s" % msg, file=sys.stderr, flush=True)


class BackgroundStart:
    """Run `apache.start(timeout)` in a thread, so the caller can poll for
    its own condition (staged files, a TLS handshake) from the moment
    `apache2 -k start` is launched. The harness's start() waits for httpd's
    "resuming normal operations" line; its outcome is kept in `error`.
    """

    def __init__(self, apache, timeout):
        self.apache = apache
        self.timeout = timeout
        self.error = None
        self.t_started = None      # monotonic time start() returned
        self.t0 = None             # monotonic time just before launching
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            self.apache.start(timeout=self.timeout)
            self.t_started = now()
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            self.error = exc

    def begin(self):
        self.t0 = now()
        self._thread.start()
        return self

    @property
    def done(self):
        return not self._thread.is_alive()

    def join(self, timeout=None):
        self._thread.join(timeout)
        return not self._thread.is_alive()


def poll_until(predicate, deadline, abort=None, interval=POLL):
    """Call predicate() every `interval` seconds until it is truthy (returns
    the monotonic time it first was) or `deadline` passes (returns None).
    `abort()` returning a message ends the wait early with that message
    raised as RuntimeError."""
    while True:
        if predicate():
            return now()
        if abort is not None:
            msg = abort()
            if msg:
                raise RuntimeError(msg)
        if now() >= deadline:
            return None
        time.sleep(interval)


def tls_handshake(port, sni, host="127.0.0.1", timeout=10.0):
    """One TLS handshake with SNI `sni`; returns the server's leaf
    certificate (DER) or None if the port refused, reset or timed out.

    A connection that lands in the listen backlog before a child accepts
    simply waits, so a long timeout does not blur the moment of readiness.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            with ctx.wrap_socket(sock, server_hostname=sni) as tls:
                return tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None
