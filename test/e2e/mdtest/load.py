"""Client load against an Apache while something happens to it (e.g. an
automatic graceful restart), with an account of what the clients saw.

    load = KeepAliveLoad(a, "site.test", small="/index.html",
                         big="/big.bin", big_sha256=digest)
    load.start()
    ...                                   # the event
    load.stop()
    load.summary()                        # dict of counts
    load.hard_failures                    # list of descriptions

Clients:
  - `workers` threads, each with one keep-alive HTTPS connection (SNI and
    Host = name, no certificate check), GET `small` in a loop, `pause`
    seconds apart;
  - `big_workers` threads downloading `big` one at a time and reading it
    slowly (`big_rate` bytes/s), so some transfers are in flight whenever
    the event happens; each must arrive whole, with the right SHA-256.

A failure is "soft" when a reused keep-alive connection was closed by the
server before any byte of the answer came back: the server never took the
request, and an HTTP client retries it on a new connection (RFC 9112
§9.3.1, as browsers and urllib3 do). The retry is made at once and must
succeed. Everything else is "hard": a refused or broken new connection, a
status other than 200, a short or corrupt body, an error after the answer
began.
"""
import hashlib
import http.client
import socket
import ssl
import threading
import time

#: errors a reused connection shows when the server closed it while idle
_CLOSED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
           http.client.BadStatusLine)


class _Conn(http.client.HTTPSConnection):
    def __init__(self, sni, port, timeout):
        ctx = ssl._create_unverified_context()
        super().__init__("127.0.0.1", port, context=ctx, timeout=timeout)
        self._sni = sni
        self._ctx = ctx

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._ctx.wrap_socket(sock, server_hostname=self._sni)


class KeepAliveLoad:
    def __init__(self, apache, name, small="/index.html", big=None, big_sha256=None,
                 workers=4, big_workers=2, big_rate=4 * 1024 * 1024, pause=0.005,
                 timeout=30):
        self.apache = apache
        self.name = name
        self.small = small
        self.big = big
        self.big_sha256 = big_sha256
        self.workers = workers
        self.big_workers = big_workers if big else 0
        self.big_rate = big_rate
        self.pause = pause
        self.timeout = timeout
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = []
        self.ok = 0
        self.soft = 0
        self.big_ok = 0
        self.new_connections = 0
        self.hard_failures = []

    # --- bookkeeping -------------------------------------------------------
    def _count(self, attr, n=1):
        with self._lock:
            setattr(self, attr, getattr(self, attr) + n)

    def _hard(self, what):
        with self._lock:
            self.hard_failures.append("%.3f %s" % (time.time(), what))

    def _connect(self):
        self._count("new_connections")
        return _Conn(self.name, self.apache.https_port, self.timeout)

    # --- small requests on keep-alive connections ---------------------------
    def _get(self, conn):
        """One GET; returns (status, body). Raises what http.client raises."""
        conn.request("GET", self.small, headers={"Host": self.name})
        r = conn.getresponse()
        return r.status, r.read(), r.will_close

    def _small_loop(self):
        conn = None
        reused = False
        while not self._stop.is_set():
            if conn is None:
                conn = self._connect()
                reused = False
            try:
                status, body, will_close = self._get(conn)
            except _CLOSED as exc:
                conn.close()
                conn = None
                if not reused:
                    self._hard("new connection failed: %r" % (exc,))
                    continue
                # the server closed the idle connection: retry at once
                self._count("soft")
                try:
                    conn = self._connect()
                    status, body, will_close = self._get(conn)
                except Exception as exc2:  # noqa: BLE001 - any error is a failure
                    self._hard("retry on a new connection failed: %r" % (exc2,))
                    conn.close()
                    conn = None
                    continue
            except Exception as exc:  # noqa: BLE001
                self._hard("request failed: %r" % (exc,))
                conn.close()
                conn = None
                continue
            if status != 200 or not body:
                self._hard("status %d, %d bytes" % (status, len(body)))
            else:
                self._count("ok")
            if will_close:
                conn.close()
                conn = None
            else:
                reused = True
            # a steady load, not a stress test of a shared machine
            self._stop.wait(self.pause)
        if conn is not None:
            conn.close()

    # --- big downloads in flight ---------------------------------------------
    def _big_loop(self):
        chunk = 64 * 1024
        while not self._stop.is_set():
            conn = self._connect()
            try:
                conn.request("GET", self.big, headers={"Host": self.name,
                                                       "Connection": "close"})
                r = conn.getresponse()
                if r.status != 200:
                    self._hard("big: status %d" % r.status)
                    continue
                h = hashlib.sha256()
                t0 = time.monotonic()
                got = 0
                while True:
                    data = r.read(chunk)
                    if not data:
                        break
                    h.update(data)
                    got += len(data)
                    # read slowly, so the transfer spans the event
                    ahead = got / self.big_rate - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(ahead)
                if self.big_sha256 and h.hexdigest() != self.big_sha256:
                    self._hard("big: %d bytes, wrong content" % got)
                else:
                    self._count("big_ok")
            except Exception as exc:  # noqa: BLE001
                self._hard("big: %r" % (exc,))
            finally:
                conn.close()

    # --- control -------------------------------------------------------------
    def start(self):
        for _ in range(self.workers):
            self._threads.append(threading.Thread(target=self._small_loop, daemon=True))
        for _ in range(self.big_workers):
            self._threads.append(threading.Thread(target=self._big_loop, daemon=True))
        for t in self._threads:
            t.start()
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(self.timeout + 30)
        return self.summary()

    def summary(self):
        with self._lock:
            return {"ok": self.ok, "soft_retried": self.soft, "big_ok": self.big_ok,
                    "connections": self.new_connections,
                    "hard_failures": len(self.hard_failures)}
