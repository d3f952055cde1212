"""AcmeFront: a test-only HTTPS front for pebble that adds what pebble 2.4
lacks, so tests can exercise it: ACME Renewal Information (RFC 9773), ACME
profiles (meta.profiles), Retry-After headers and error answers on demand.

    front = AcmeFront(workdir, pebble).start()   # a thread in this process
    apache = e2e.new_apache(ca_url=front.directory_url)   # same CA file as pebble

    # what the directory advertises
    front.ari = True                                  # "renewalInfo" (default on)
    front.profiles = {"classic": "...", "short": "..."}   # meta.profiles (default none)

    # renewal windows (RFC 9773 §4.2), per certificate id or for all ("*")
    front.set_renewal_window(cert_id, start, end, retry_after=None, explanation=None)
    front.renewal_info_requests()                     # [cert_id, ...] asked for, in order
    ari_cert_id(cert)                                 # the id of a cryptography x509 cert
    ca_features(url, ca_file)                         # {"ari", "profiles", "eab_required"}

    # what went through, JWS payloads decoded
    front.requests()                                  # [Request(method, path, payload, status, time)]
    front.new_orders()                                # [payload dict of each newOrder]

    # misbehaving on demand (for retry tests): the next `times` requests
    # whose path starts with `path` (and method, if given) get this answer
    # instead of pebble's; problem "rateLimited" means
    # urn:ietf:params:acme:error:rateLimited
    front.inject(path, status=429, problem="rateLimited", detail="slow down",
                 retry_after=30, times=1, method=None)
    # extra headers on pebble's answers for matching paths (e.g. Retry-After
    # on order polling), until cleared
    front.add_header(path, "Retry-After", "2", method=None)
    front.clear_rules()

    # anything else, in Python: called on the front's request threads
    front.before = fn(method, path, payload)       # before forwarding; may block
    front.after = fn(method, path, status, headers, body)
    #   -> None (pass pebble's answer on) or (status, headers, body) to send instead

    front.stop()

Everything pebble answers is passed through, with pebble's own URLs
rewritten to the front's, so a client never talks to pebble directly. Paths
are pebble's ("/dir", "/order-plz", "/my-order/", "/finalize-order/", ...);
the front's own are "/renewal-info/<id>". It listens on 127.0.0.1 with
pebble's TLS certificate, so clients trusting pebble's CA file trust it.
"""
import base64
import datetime
import http.client
import http.server
import json
import re
import socketserver
import ssl
import threading
import time

import requests
from cryptography import x509

from . import util

PROBLEM_PREFIX = "urn:ietf:params:acme:error:"
RENEWAL_INFO_PATH = "/renewal-info/"


def _b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def ari_cert_id(cert):
    """RFC 9773 §4.1: base64url(AKI keyIdentifier) "." base64url(serial DER content)."""
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    serial = cert.serial_number
    length = (serial.bit_length() + 8) // 8      # room for a leading 0 bit
    return "%s.%s" % (_b64url(aki.key_identifier), _b64url(serial.to_bytes(length, "big")))


def ca_features(directory_url, ca_file):
    """What a CA offers, read from its directory (never inferred from its
    version): {"ari": bool, "profiles": [names], "eab_required": bool}."""
    d = requests.get(directory_url, verify=ca_file, timeout=10).json()
    meta = d.get("meta", {}) or {}
    return {"ari": "renewalInfo" in d,
            "profiles": sorted(meta.get("profiles", {}) or {}),
            "eab_required": bool(meta.get("externalAccountRequired"))}


def _rfc3339(t):
    if isinstance(t, (int, float)):
        t = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Request:
    def __init__(self, method, path, payload, status, when):
        self.method = method
        self.path = path
        self.payload = payload      # decoded JWS payload (dict), "" for POST-as-GET, else None
        self.status = status
        self.time = when            # time.time() when it arrived

    def __repr__(self):
        return "<%s %s -> %s>" % (self.method, self.path, self.status)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class AcmeFront:
    def __init__(self, workdir, pebble, port=None):
        self.workdir = workdir
        self.pebble = pebble
        self.port = port or util.free_port()
        self.ari = True
        self.profiles = None
        self._lock = threading.Lock()
        self._windows = {}
        self._ari_requests = []
        self._requests = []
        self._injections = []
        self._headers = []
        self._server = None
        self._thread = None
        self.before = None
        self.after = None

    # --- addresses ----------------------------------------------------------
    @property
    def base_url(self):
        return "https://127.0.0.1:%d" % self.port

    @property
    def directory_url(self):
        return self.base_url + "/dir"

    @property
    def ca_file(self):
        return self.pebble.ca_file

    def _pebble_bases(self):
        return ["https://127.0.0.1:%d" % self.pebble.acme_port,
                "https://localhost:%d" % self.pebble.acme_port]

    # --- lifecycle ----------------------------------------------------------
    def start(self):
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):   # quiet
                pass

            def do_GET(self):
                front._serve(self)

            def do_HEAD(self):
                front._serve(self)

            def do_POST(self):
                front._serve(self)

        self._server = _Server(("127.0.0.1", self.port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.pebble.tls["cert"], self.pebble.tls["key"])
        self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="acmefront-%d" % self.port, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- configuration --------------------------------------------------------
    def set_renewal_window(self, cert_id, start, end, retry_after=None, explanation=None):
        """start/end: datetime or epoch seconds; cert_id "*" for every certificate."""
        with self._lock:
            self._windows[cert_id] = {"start": _rfc3339(start), "end": _rfc3339(end),
                                      "retry_after": retry_after,
                                      "explanation": explanation}

    def inject(self, path, status=429, problem="rateLimited", detail="injected by the test",
               retry_after=None, times=1, method=None):
        with self._lock:
            self._injections.append({"path": path, "method": method, "status": status,
                                     "problem": problem, "detail": detail,
                                     "retry_after": retry_after, "times": times})

    def add_header(self, path, name, value, method=None):
        with self._lock:
            self._headers.append((path, method, name, value))

    def clear_rules(self):
        with self._lock:
            self._injections = []
            self._headers = []

    # --- what happened --------------------------------------------------------
    def requests(self):
        with self._lock:
            return list(self._requests)

    def new_orders(self):
        return [r.payload for r in self.requests()
                if r.method == "POST" and r.path == "/order-plz"
                and isinstance(r.payload, dict)]

    def renewal_info_requests(self):
        with self._lock:
            return list(self._ari_requests)

    # --- serving --------------------------------------------------------------
    def _record(self, method, path, payload, status):
        with self._lock:
            self._requests.append(Request(method, path, payload, status, time.time()))

    @staticmethod
    def _jws_payload(body):
        try:
            jws = json.loads(body)
            p = jws.get("payload")
            if p == "":
                return ""
            return json.loads(_b64url_decode(p))
        except (ValueError, TypeError, AttributeError):
            return None

    def _take_injection(self, method, path):
        with self._lock:
            for inj in self._injections:
                if inj["times"] > 0 and path.startswith(inj["path"]) \
                        and (inj["method"] is None or inj["method"] == method):
                    inj["times"] -= 1
                    return dict(inj)
        return None

    def _extra_headers(self, method, path):
        with self._lock:
            return [(n, v) for (p, m, n, v) in self._headers
                    if path.startswith(p) and (m is None or m == method)]

    def _send(self, h, status, headers, body):
        h.send_response(status)
        for name, value in headers:
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)

    def _serve(self, h):
        method, path = h.command, h.path
        body = b""
        n = int(h.headers.get("Content-Length") or 0)
        if n:
            body = h.rfile.read(n)
        payload = self._jws_payload(body) if method == "POST" else None

        inj = self._take_injection(method, path)
        if inj:
            doc = {"type": PROBLEM_PREFIX + inj["problem"], "detail": inj["detail"],
                   "status": inj["status"]}
            headers = [("Content-Type", "application/problem+json")]
            if inj["retry_after"] is not None:
                headers.append(("Retry-After", str(inj["retry_after"])))
            self._record(method, path, payload, inj["status"])
            self._send(h, inj["status"], headers, json.dumps(doc).encode())
            return
        if path.startswith(RENEWAL_INFO_PATH) and method == "GET":
            self._serve_renewal_info(h, path[len(RENEWAL_INFO_PATH):])
            return
        if self.before:
            self.before(method, path, payload)
        status, headers, out = self._forward(h, method, path, body)
        if method == "GET" and path == "/dir" and status == 200:
            out = self._augment_directory(out)
        headers += self._extra_headers(method, path)
        if self.after:
            changed = self.after(method, path, status, headers, out)
            if changed is not None:
                status, headers, out = changed
        self._record(method, path, payload, status)
        self._send(h, status, headers, out)

    def _serve_renewal_info(self, h, cert_id):
        with self._lock:
            self._ari_requests.append(cert_id)
            win = self._windows.get(cert_id) or self._windows.get("*")
        if not self.ari or not re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", cert_id) \
                or not win:
            doc = {"type": PROBLEM_PREFIX + "malformed",
                   "detail": "no renewal information for %s" % cert_id, "status": 404}
            self._record("GET", h.path, None, 404)
            self._send(h, 404, [("Content-Type", "application/problem+json")],
                       json.dumps(doc).encode())
            return
        doc = {"suggestedWindow": {"start": win["start"], "end": win["end"]}}
        if win["explanation"]:
            doc["explanationURL"] = win["explanation"]
        headers = [("Content-Type", "application/json")]
        if win["retry_after"] is not None:
            headers.append(("Retry-After", str(win["retry_after"])))
        self._record("GET", h.path, None, 200)
        self._send(h, 200, headers, json.dumps(doc).encode())

    def _augment_directory(self, out):
        d = json.loads(out)
        if self.ari:
            d["renewalInfo"] = self.base_url + RENEWAL_INFO_PATH
        if self.profiles is not None:
            d.setdefault("meta", {})["profiles"] = dict(self.profiles)
        return json.dumps(d).encode()

    def _rewrite(self, data):
        for base in self._pebble_bases():
            data = data.replace(base, self.base_url)
        return data

    def _forward(self, h, method, path, body):
        ctx = ssl.create_default_context(cafile=self.pebble.ca_file)
        conn = http.client.HTTPSConnection("127.0.0.1", self.pebble.acme_port,
                                           context=ctx, timeout=30)
        headers = {"Host": "127.0.0.1:%d" % self.port}
        for name in ("Content-Type", "Accept", "User-Agent"):
            if h.headers.get(name):
                headers[name] = h.headers[name]
        try:
            conn.request(method, path, body=body if method == "POST" else None,
                         headers=headers)
            resp = conn.getresponse()
            out = resp.read()
            hdrs = []
            for name, value in resp.getheaders():
                if name.lower() in ("content-length", "connection", "transfer-encoding",
                                    "date", "server"):
                    continue
                if name.lower() in ("location", "link"):
                    value = self._rewrite(value)
                hdrs.append((name, value))
            return resp.status, hdrs, self._rewrite(out.decode("utf-8", "surrogateescape")
                                                    ).encode("utf-8", "surrogateescape")
        except OSError as exc:
            doc = {"type": PROBLEM_PREFIX + "serverInternal",
                   "detail": "front could not reach pebble: %s" % exc, "status": 502}
            return 502, [("Content-Type", "application/problem+json")], \
                json.dumps(doc).encode()
        finally:
            conn.close()
