"""Certificates for the harness: pebble's TLS identity, and inspection of
what Apache serves.
"""
import datetime
import ipaddress
import os
import re
import subprocess
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

OPENSSL = "/usr/bin/openssl"

_PEM_RE = re.compile(
    rb"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----",
    re.DOTALL)


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path, data, mode=0o644):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_pebble_tls(directory):
    """Create a private CA and a localhost server cert for pebble's own TLS.

    Writes ca.pem (what the module trusts via MDCACertificateFile),
    pebble.pem and pebble.key into `directory`; returns their paths as a
    dict with keys "ca", "cert", "key".
    """
    now = datetime.datetime.now(datetime.timezone.utc)
    start = now - datetime.timedelta(hours=1)
    end = now + datetime.timedelta(days=30)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("md e2e test CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            key_cert_sign=True, crl_sign=True, encipher_only=False,
            decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256()))

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost")).issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256()))

    paths = {
        "ca": os.path.join(directory, "ca.pem"),
        "cert": os.path.join(directory, "pebble.pem"),
        "key": os.path.join(directory, "pebble.key"),
    }
    _write(paths["ca"], ca_cert.public_bytes(serialization.Encoding.PEM))
    _write(paths["cert"], cert.public_bytes(serialization.Encoding.PEM))
    _write(paths["key"], _key_pem(key), mode=0o600)
    return paths


def parse_pem_chain(data):
    """All certificates found in PEM text (str or bytes), in order."""
    if isinstance(data, str):
        data = data.encode()
    return [x509.load_pem_x509_certificate(m.group(0))
            for m in _PEM_RE.finditer(data)]


def load_pem_file(path):
    with open(path, "rb") as f:
        return parse_pem_chain(f.read())


def to_pem(certs):
    if isinstance(certs, x509.Certificate):
        certs = [certs]
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def cn_of(name):
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return attrs[0].value if attrs else ""


def issuer_cn(cert):
    return cn_of(cert.issuer)


def subject_cn(cert):
    return cn_of(cert.subject)


def dns_sans(cert):
    """DNS names in the subjectAltName extension (empty list if none)."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return ext.value.get_values_for_type(x509.DNSName)


def not_before(cert):
    """notBefore as an aware UTC datetime (works on old and new cryptography)."""
    if hasattr(cert, "not_valid_before_utc"):
        return cert.not_valid_before_utc
    return cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)


def not_after(cert):
    """notAfter as an aware UTC datetime."""
    if hasattr(cert, "not_valid_after_utc"):
        return cert.not_valid_after_utc
    return cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def is_self_signed(cert):
    return cert.issuer == cert.subject


def ip_sans(cert):
    """IP addresses in the subjectAltName extension, as text ("::1")."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [str(ip) for ip in ext.value.get_values_for_type(x509.IPAddress)]


def has_must_staple(cert):
    """Does the certificate carry TLS Feature status_request (RFC 7633)?"""
    try:
        ext = cert.extensions.get_extension_for_class(x509.TLSFeature)
    except x509.ExtensionNotFound:
        return False
    return x509.TLSFeatureType.status_request in list(ext.value)


def key_type(cert):
    """"RSA-<bits>" or "EC-<curve name>" of the certificate's public key."""
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC-%s" % key.curve.name
    return "RSA-%d" % key.key_size


def get_served_chain(name, port, host="127.0.0.1", timeout=20, sigalgs=None):
    """The certificate chain presented for SNI `name` on host:port.

    Uses `openssl s_client -showcerts` so what we see is exactly what a TLS
    client gets, independent of Python's TLS stack. `name` None sends no
    SNI; `sigalgs` (e.g. "ECDSA+SHA256") limits the signature algorithms the
    client accepts, as an RSA-only or EC-capable client would (TLS 1.2 then,
    where the server picks its certificate by them). Returns a list of
    x509.Certificate, leaf first. Raises RuntimeError if nothing came back
    (e.g. the server is not listening yet).
    """
    connect = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
    args = [OPENSSL, "s_client", "-connect", connect, "-showcerts"]
    args += ["-servername", name] if name else ["-noservername"]
    if sigalgs:
        args += ["-sigalgs", sigalgs, "-tls1_2"]
    proc = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=timeout)
    chain = parse_pem_chain(proc.stdout)
    if not chain:
        raise RuntimeError("no certificate served for %s on %s:%d (rc=%d): %s"
                           % (name, host, port, proc.returncode,
                              proc.stderr.decode("utf-8", "replace")[-500:]))
    return chain


def verify_chain(chain, roots_pem, extra_intermediates_pem=b"", hostname=None):
    """Verify a served chain (leaf first) with `openssl verify`.

    `roots_pem` are the only trust anchors; the chain's own non-leaf certs
    plus `extra_intermediates_pem` are offered as untrusted intermediates.
    Returns (ok, output).
    """
    if not chain:
        return False, "empty chain"
    with tempfile.TemporaryDirectory(prefix="md-verify-") as d:
        root_f = os.path.join(d, "root.pem")
        inter_f = os.path.join(d, "inter.pem")
        leaf_f = os.path.join(d, "leaf.pem")
        _write(root_f, roots_pem)
        _write(inter_f, to_pem(chain[1:]) + extra_intermediates_pem)
        _write(leaf_f, to_pem(chain[0]))
        args = [OPENSSL, "verify", "-CAfile", root_f]
        if len(chain) > 1 or extra_intermediates_pem:
            args += ["-untrusted", inter_f]
        if hostname:
            args += ["-verify_hostname", hostname]
        args.append(leaf_f)
        proc = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True)
        out = (proc.stdout + proc.stderr).decode("utf-8", "replace")
        return proc.returncode == 0, out


_CSR_LOG_RE = r"MD08012: %s: (\S+) CSR(?: \(must-staple\))?: ([A-Za-z0-9_-]+)"


def logged_csrs(apache, md):
    """The CSRs the module sent for `md`, as it logs them at trace1
    (LogLevel md:trace1): [(key name, x509.CertificateSigningRequest)]."""
    import base64
    out = []
    rx = re.compile(_CSR_LOG_RE % re.escape(md))
    for line in apache.log_lines(rx):
        m = rx.search(line)
        der = base64.urlsafe_b64decode(m.group(2) + "=" * (-len(m.group(2)) % 4))
        out.append((m.group(1), x509.load_der_x509_csr(der)))
    return out


def csr_names(csr):
    """(dns names, ip addresses as text) in the CSR's subjectAltName."""
    ext = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    return (ext.value.get_values_for_type(x509.DNSName),
            [str(ip) for ip in ext.value.get_values_for_type(x509.IPAddress)])


def csr_has_must_staple(csr):
    try:
        ext = csr.extensions.get_extension_for_class(x509.TLSFeature)
    except x509.ExtensionNotFound:
        return False
    return x509.TLSFeatureType.status_request in list(ext.value)
