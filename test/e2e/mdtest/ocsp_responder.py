"""A small OCSP responder (RFC 6960) for the certificates a pebble issues.

Pebble has no OCSP responder of its own, but its management interface
serves the intermediate's key (/intermediate-keys/0) and what it knows
about a certificate (/cert-status-by-serial/<hex>): this responder answers
"good" or "revoked" as pebble knows it, signed with that key (a CA-signed
response, RFC 6960 §4.2.2.2), so clients verify it against the chain.

    r = OcspResponder(workdir)                   # binds a free port at once
    ca = e2e.new_pebble(config_extra={"ocspResponderURL": r.url})
    r.pebble = ca
    r.start()                                    # a thread in this process
    r.validity = 120                             # nextUpdate - thisUpdate (s)
    r.mode = "error"                             # answer HTTP 500 (also:
                                                 # "malformed", "unauthorized",
                                                 # "tryLater")
    r.stop()                                     # connections are refused
    r.start()                                    # back on the same port
    r.requests()                                 # [Request(method, serial, status, time)]
    r.count(serial=None)
    r.validity_for[serial] = 3600                # one certificate's responses differ
    cert_pem, key_pem = r.issue(["ms.test"], must_staple=True)
                                                 # pebble 2.4 drops must-staple from CSRs:
                                                 # a certificate with it, signed with
                                                 # pebble's intermediate key, that this
                                                 # responder answers "good" for

A request is answered by POST (application/ocsp-request) and by GET
(the base64 request in the path).

What a client sees, and revocation (RFC 8555 §7.6, signed with the
certificate's own key, so no account is needed):

    st = served_staple(port, "a.test")   # None, or Staple(status, serial, this_update,
                                         # next_update) from `openssl s_client -status`
    revoke_cert(pebble, cert_pem, key_pem)
"""
import base64
import collections
import datetime
import http.server
import json
import re
import subprocess
import threading
import time
import urllib.parse

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509 import ocsp

from . import util

Request = collections.namedtuple("Request", "method serial status time")

_MAX_REQUEST = 64 * 1024


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the test reads requests()
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > _MAX_REQUEST:
            self._reply(400, b"bad request length", "text/plain")
            return
        self._answer("POST", self.rfile.read(length))

    def do_GET(self):
        path = urllib.parse.unquote(self.path.lstrip("/"))
        try:
            der = base64.b64decode(path, validate=False)
        except ValueError:
            self._reply(400, b"bad request encoding", "text/plain")
            return
        self._answer("GET", der)

    def _answer(self, method, der):
        try:
            status, body, ctype = self.server.responder.respond(method, der)
        except Exception as exc:  # noqa: BLE001 - shown in requests(), answered 500
            self.server.responder._record(method, None, "error: %r" % (exc,))
            status, body, ctype = 500, b"responder failed", "text/plain"
        self._reply(status, body, ctype)

    def _reply(self, status, body, ctype):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        # no kept-alive connection may outlive stop()
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class OcspResponder:
    def __init__(self, workdir=None, pebble=None, port=None, validity=3600):
        self.workdir = workdir
        self.pebble = pebble
        self.port = port or util.free_port()
        self.validity = validity
        self.validity_for = {}       # serial -> validity (s) for that certificate
        self.mode = "normal"
        self._lock = threading.Lock()
        self._requests = []
        self._signer = None          # (pebble start count, issuer cert, key)
        self._issued = {}            # serial -> certificate issued by issue()
        self._server = None
        self._thread = None

    @property
    def url(self):
        return "http://127.0.0.1:%d/" % self.port

    # --- lifecycle ----------------------------------------------------------
    def start(self):
        if self._server is not None:
            return self
        self._server = _Server(("127.0.0.1", self.port), _Handler)
        self._server.responder = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="ocsp-responder", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop listening: clients get their connections refused."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    @property
    def running(self):
        return self._server is not None

    # --- what was asked -----------------------------------------------------
    def requests(self):
        with self._lock:
            return list(self._requests)

    def count(self, serial=None, status=None):
        return sum(1 for r in self.requests()
                   if (serial is None or r.serial == serial)
                   and (status is None or r.status == status))

    # --- answering ----------------------------------------------------------
    def _signing_material(self):
        """The intermediate that issues pebble's certificates and its key
        (new ones on every pebble start)."""
        starts = getattr(self.pebble, "starts", 0)
        if self._signer is None or self._signer[0] != starts:
            issuer = x509.load_pem_x509_certificate(self.pebble.intermediate_pem())
            key = serialization.load_pem_private_key(
                self.pebble._mgmt_get("/intermediate-keys/0"), password=None)
            self._signer = (starts, issuer, key)
        return self._signer[1], self._signer[2]

    def issue(self, names, must_staple=True, days=30):
        """A certificate for names (EC P-256) signed by pebble's current
        intermediate, naming this responder; (cert chain PEM, key PEM)."""
        issuer, ikey = self._signing_material()
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.utcnow()
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, names[0])]))
            .issuer_name(issuer.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                           critical=False)
            .add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                x509.AuthorityInformationAccessOID.OCSP,
                x509.UniformResourceIdentifier(self.url))]), critical=False))
        if must_staple:
            builder = builder.add_extension(
                x509.TLSFeature([x509.TLSFeatureType.status_request]), critical=False)
        cert = builder.sign(ikey, hashes.SHA256())
        with self._lock:
            self._issued[cert.serial_number] = cert
        chain = cert.public_bytes(serialization.Encoding.PEM) \
            + issuer.public_bytes(serialization.Encoding.PEM)
        return chain, key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())

    def _pebble_status(self, serial):
        """(status, certificate, revoked_at, reason) as pebble knows the
        serial (or as issue() made it); status None when nobody knows it."""
        with self._lock:
            mine = self._issued.get(serial)
        if mine is not None:
            return "Valid", mine, None, None
        r = requests.get("%s/cert-status-by-serial/%x" % (self.pebble.mgmt_url, serial),
                         verify=self.pebble.ca_file, timeout=10)
        if r.status_code == 404:
            return None, None, None, None
        r.raise_for_status()
        info = r.json()
        cert = x509.load_pem_x509_certificate(info["Certificate"].encode())
        revoked_at = None
        if info.get("RevokedAt"):
            revoked_at = _parse_time(info["RevokedAt"])
        return info.get("Status"), cert, revoked_at, info.get("Reason")

    def _record(self, method, serial, status):
        with self._lock:
            self._requests.append(Request(method, serial, status, time.time()))

    def respond(self, method, der):
        """(HTTP status, body, content type) for one request."""
        mode = self.mode
        try:
            req = ocsp.load_der_ocsp_request(der)
        except ValueError:
            self._record(method, None, "malformedRequest")
            return 200, _failure(ocsp.OCSPResponseStatus.MALFORMED_REQUEST), \
                "application/ocsp-response"
        serial = req.serial_number
        if mode == "error":
            self._record(method, serial, "http-500")
            return 500, b"responder error", "text/plain"
        if mode == "malformed":
            self._record(method, serial, "malformed")
            return 200, b"\x30\x03\x0a\x01", "application/ocsp-response"
        if mode in ("unauthorized", "tryLater"):
            self._record(method, serial, mode)
            code = (ocsp.OCSPResponseStatus.UNAUTHORIZED if mode == "unauthorized"
                    else ocsp.OCSPResponseStatus.TRY_LATER)
            return 200, _failure(code), "application/ocsp-response"
        issuer, key = self._signing_material()
        status, cert, revoked_at, reason = self._pebble_status(serial)
        if status is None:
            self._record(method, serial, "unauthorized")
            return 200, _failure(ocsp.OCSPResponseStatus.UNAUTHORIZED), \
                "application/ocsp-response"
        now = datetime.datetime.utcnow().replace(microsecond=0)
        builder = ocsp.OCSPResponseBuilder()
        if status == "Revoked":
            cert_status = ocsp.OCSPCertStatus.REVOKED
            rev_time = revoked_at or now
            rev_reason = _reason(reason)
        else:
            cert_status = ocsp.OCSPCertStatus.GOOD
            rev_time = rev_reason = None
        builder = builder.add_response(
            cert=cert, issuer=issuer, algorithm=hashes.SHA1(),
            cert_status=cert_status, this_update=now,
            next_update=now + datetime.timedelta(
                seconds=self.validity_for.get(serial, self.validity)),
            revocation_time=rev_time, revocation_reason=rev_reason)
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, issuer)
        for ext in req.extensions:
            if isinstance(ext.value, x509.OCSPNonce):
                builder = builder.add_extension(ext.value, critical=False)
        resp = builder.sign(key, hashes.SHA256())
        self._record(method, serial, cert_status.name.lower())
        return 200, resp.public_bytes(serialization.Encoding.DER), \
            "application/ocsp-response"


def _failure(code):
    return ocsp.OCSPResponseBuilder.build_unsuccessful(code).public_bytes(
        serialization.Encoding.DER)


def _reason(value):
    """pebble's RFC 5280 reason code as cryptography's ReasonFlags, or None."""
    flags = {
        1: x509.ReasonFlags.key_compromise, 2: x509.ReasonFlags.ca_compromise,
        3: x509.ReasonFlags.affiliation_changed, 4: x509.ReasonFlags.superseded,
        5: x509.ReasonFlags.cessation_of_operation,
        6: x509.ReasonFlags.certificate_hold, 8: x509.ReasonFlags.remove_from_crl,
        9: x509.ReasonFlags.privilege_withdrawn, 10: x509.ReasonFlags.aa_compromise,
    }
    return flags.get(value) if isinstance(value, int) else None


def _parse_time(text):
    """pebble's revocation time ("2026-12-05 03:19:35.896888096 +0000 UTC",
    Go's default format, or RFC 3339) as a naive UTC datetime."""
    m = re.match(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})", text)
    if not m:
        raise ValueError("unknown time format %r" % (text,))
    return datetime.datetime.strptime("%s %s" % m.groups(), "%Y-%m-%d %H:%M:%S")


# --- what a client sees ---------------------------------------------------------

Staple = collections.namedtuple("Staple", "status serial this_update next_update")

_OPENSSL_TIME = "%b %d %H:%M:%S %Y GMT"


def _field(text, name):
    m = re.search(r"^\s*%s:\s*(.+?)\s*$" % re.escape(name), text, re.M)
    return m.group(1) if m else None


def _time(text):
    return datetime.datetime.strptime(" ".join(text.split()), _OPENSSL_TIME) if text else None


def served_staple(port, name, host="127.0.0.1", timeout=20):
    """The OCSP response stapled in a handshake with SNI `name`, as
    `openssl s_client -status` prints it: None when none was sent, else a
    Staple (status "good"/"revoked"/..., serial as upper-case hex, times as
    naive UTC datetimes). Raises RuntimeError if no handshake happened."""
    proc = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (host, port),
                           "-servername", name, "-status"],
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    out = proc.stdout.decode("utf-8", "replace")
    if "OCSP response:" not in out:
        raise RuntimeError("no TLS handshake with %s on port %d: %s"
                           % (name, port, proc.stderr.decode("utf-8", "replace")[-300:]))
    if "OCSP response: no response sent" in out:
        return None
    if _field(out, "OCSP Response Status") is None \
            or not _field(out, "OCSP Response Status").startswith("successful"):
        return Staple(_field(out, "OCSP Response Status"), None, None, None)
    return Staple(_field(out, "Cert Status"), _field(out, "Serial Number"),
                  _time(_field(out, "This Update")), _time(_field(out, "Next Update")))


# --- revocation -------------------------------------------------------------------

def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64(n):
    return _b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def revoke_cert(pebble, cert_pem, key_pem, reason=1):
    """Revoke a certificate at pebble with a JWS signed by the certificate's
    key (RFC 8555 §7.6). RSA (RS256) and P-256 (ES256) keys."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    key = serialization.load_pem_private_key(key_pem, password=None)
    directory = requests.get(pebble.directory_url, verify=pebble.ca_file, timeout=10).json()
    nonce = requests.head(directory["newNonce"], verify=pebble.ca_file,
                          timeout=10).headers["Replay-Nonce"]
    if isinstance(key, rsa.RSAPrivateKey):
        pub = key.public_key().public_numbers()
        alg, jwk = "RS256", {"e": _int_b64(pub.e), "kty": "RSA", "n": _int_b64(pub.n)}
    else:
        pub = key.public_key().public_numbers()
        alg, jwk = "ES256", {"crv": "P-256", "kty": "EC",
                             "x": _b64(pub.x.to_bytes(32, "big")),
                             "y": _b64(pub.y.to_bytes(32, "big"))}
    payload = _b64(json.dumps({"certificate": _b64(cert.public_bytes(
        serialization.Encoding.DER)), "reason": reason}).encode())
    # pebble rejects some nonces on purpose (RFC 8555 6.5: retry with the
    # one the error carries)
    for _ in range(10):
        protected = _b64(json.dumps({"alg": alg, "jwk": jwk, "nonce": nonce,
                                     "url": directory["revokeCert"]}).encode())
        signing_input = ("%s.%s" % (protected, payload)).encode()
        if alg == "RS256":
            sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:
            r, s_ = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            sig = r.to_bytes(32, "big") + s_.to_bytes(32, "big")
        resp = requests.post(directory["revokeCert"], verify=pebble.ca_file, timeout=10,
                             headers={"Content-Type": "application/jose+json"},
                             data=json.dumps({"protected": protected, "payload": payload,
                                              "signature": _b64(sig)}))
        if resp.status_code != 400 or "badNonce" not in resp.text \
                or "Replay-Nonce" not in resp.headers:
            break
        nonce = resp.headers["Replay-Nonce"]
    if resp.status_code != 200:
        raise AssertionError("revoking serial %x failed: %d %s"
                             % (cert.serial_number, resp.status_code, resp.text[:300]))
