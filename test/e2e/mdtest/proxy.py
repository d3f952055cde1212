"""A forward proxy on loopback that records what passes through it.

    proxy = ConnectProxy(redirect={"127.0.0.1:4000": ("127.0.0.1", 14000)})
    proxy.start()                   # a thread in this process
    proxy.url                       # "http://127.0.0.1:<port>" (https:// with tls=True)
    proxy.tunnels()                 # ["127.0.0.1:4000", ...]: CONNECT targets, in order
    proxy.stop()

It speaks only CONNECT (what clients use for https:// URLs); any other
request is answered 501 and recorded in `refused`, so a test notices traffic
it did not expect. `redirect` maps a CONNECT target "host:port" to the
address actually connected to: point a client at a port where nothing
listens and only the proxy can reach the server. With `tls=True` the proxy
itself is an https:// proxy with a certificate of its own (`ca_file` is the
PEM a client must trust for it).
"""
import datetime
import ipaddress
import os
import select
import socket
import socketserver
import ssl
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from . import util

_MAX_HEAD = 16 * 1024


def _self_signed(directory, name="md e2e proxy"):
    """A self-signed certificate for 127.0.0.1 and localhost; returns
    (cert_path, key_path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256()))
    cert_path = os.path.join(directory, "proxy-cert.pem")
    key_path = os.path.join(directory, "proxy-key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    os.chmod(cert_path, 0o644)
    return cert_path, key_path


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class ConnectProxy:
    def __init__(self, workdir, port=None, tls=False, redirect=None):
        self.workdir = workdir
        self.port = port or util.free_port()
        self.tls = tls
        self.redirect = dict(redirect or {})
        self.ca_file = None
        self._ctx = None
        self._lock = threading.Lock()
        self._tunnels = []
        self.refused = []
        self.tls_handshakes = 0
        self._server = None
        self._thread = None
        if tls:
            os.makedirs(workdir, exist_ok=True)
            cert, key = _self_signed(workdir)
            self.ca_file = cert
            self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._ctx.load_cert_chain(cert, key)

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.port)

    def tunnels(self):
        with self._lock:
            return list(self._tunnels)

    def start(self):
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                proxy._handle(self.request)

        self._server = _Server(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="proxy-%d" % self.port, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- one client connection ---------------------------------------------
    def _handle(self, conn):
        conn.settimeout(30)
        try:
            if self._ctx is not None:
                conn = self._ctx.wrap_socket(conn, server_side=True)
                with self._lock:
                    self.tls_handshakes += 1
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
                if len(head) > _MAX_HEAD:
                    return
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            parts = line.split()
            if len(parts) != 3 or parts[0] != "CONNECT":
                with self._lock:
                    self.refused.append(line)
                conn.sendall(b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\n\r\n")
                return
            target = parts[1]
            with self._lock:
                self._tunnels.append(target)
            host, _, port = target.rpartition(":")
            addr = self.redirect.get(target, (host.strip("[]"), int(port)))
            try:
                upstream = socket.create_connection(addr, timeout=10)
            except OSError:
                conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            with upstream:
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                # bytes the client sent after the head belong to the tunnel
                rest = head.split(b"\r\n\r\n", 1)[1]
                if rest:
                    upstream.sendall(rest)
                self._pump(conn, upstream)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    @staticmethod
    def _pump(a, b):
        socks = [a, b]
        while True:
            # an SSL socket may hold decrypted bytes select() cannot see
            ready = [s for s in socks if isinstance(s, ssl.SSLSocket) and s.pending()]
            if not ready:
                ready, _, _ = select.select(socks, [], [], 60)
                if not ready:
                    return
            for s in ready:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
