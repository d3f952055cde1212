"""A round-robin TCP proxy on loopback, in front of the nodes of a cluster:
what a load balancer does, at the TCP level (http and TLS pass through).

    px = RoundRobinProxy(port, [("127.0.0.1", 5001), ("127.0.0.1", 5002)]).start()
    px.backends = [("127.0.0.1", 5002)]     # change whom it sends to
    px.counts()                             # {(host, port): connections}
    px.stop()

Each connection goes to the next backend in turn; one that refuses the
connection is skipped for that connection (a stopped node), as load
balancers do. A thread in the test process, no subprocess to stop.
"""
import select
import socket
import threading


class RoundRobinProxy:
    def __init__(self, port, backends, host="127.0.0.1", name="rrproxy"):
        self.host = host
        self.port = port
        self.name = name
        self._backends = list(backends)
        self._next = 0
        self._counts = {}
        self._lock = threading.Lock()
        self._sock = None
        self._thread = None
        self._stopping = False

    @property
    def backends(self):
        with self._lock:
            return list(self._backends)

    @backends.setter
    def backends(self, value):
        with self._lock:
            self._backends = list(value)
            self._next = 0

    def counts(self):
        with self._lock:
            return dict(self._counts)

    def start(self):
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((self.host, self.port))
        self._sock.listen(128)
        self._thread = threading.Thread(target=self._accept_loop, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stopping = True
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _accept_loop(self):
        while not self._stopping:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _pick(self):
        """The backends in the order to try for one connection."""
        with self._lock:
            n = len(self._backends)
            if n == 0:
                return []
            start = self._next % n
            self._next += 1
            return self._backends[start:] + self._backends[:start]

    def _serve(self, client):
        upstream = None
        for backend in self._pick():
            try:
                upstream = socket.create_connection(backend, timeout=5)
                upstream.settimeout(None)
                with self._lock:
                    self._counts[backend] = self._counts.get(backend, 0) + 1
                break
            except OSError:
                continue
        if upstream is None:
            client.close()
            return
        try:
            self._pipe(client, upstream)
        finally:
            for s in (client, upstream):
                try:
                    s.close()
                except OSError:
                    pass

    @staticmethod
    def _pipe(a, b):
        peers = {a: b, b: a}
        open_ = {a, b}
        while open_:
            readable, _, _ = select.select(list(open_), [], [], 60)
            if not readable:
                return
            for s in readable:
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    open_.discard(s)
                    try:
                        peers[s].shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    continue
                try:
                    peers[s].sendall(data)
                except OSError:
                    return
