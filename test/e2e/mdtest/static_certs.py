"""Certificates the admin brings (MDCertificateFile): self-signed with
chosen names, validity and serial, optionally carrying an embedded SCT list
(RFC 6962 §3.3) so certificate-status has SCTs to show.

    scts = [sct_bytes(log_id=bytes(32), timestamp_ms=..., signature=b"...")]
    cert_pem, key_pem, cert = make_static(["a.test"], days_before=80,
                                          days_after=10, scts=scts)
    write_pair(directory, "a", cert_pem, key_pem)  # -> (cert path, key path)
"""
import datetime
import os
import struct

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID, ObjectIdentifier

SCT_LIST_OID = ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")


def sct_bytes(log_id, timestamp_ms, signature, extensions=b""):
    """One SerializedSCT: v1, log id (32 bytes), time, extensions, and a
    DigitallySigned with SHA-256/ECDSA."""
    assert len(log_id) == 32
    return (bytes([0]) + log_id + struct.pack(">Q", timestamp_ms)
            + struct.pack(">H", len(extensions)) + extensions
            + bytes([4, 3]) + struct.pack(">H", len(signature)) + signature)


def sct_list_extension(scts):
    body = b"".join(struct.pack(">H", len(s)) + s for s in scts)
    tls = struct.pack(">H", len(body)) + body
    # extnValue holds a DER OCTET STRING around the TLS encoding
    assert len(tls) < 128 * 256
    if len(tls) < 128:
        der = bytes([0x04, len(tls)]) + tls
    elif len(tls) < 256:
        der = bytes([0x04, 0x81, len(tls)]) + tls
    else:
        der = bytes([0x04, 0x82]) + struct.pack(">H", len(tls)) + tls
    return x509.UnrecognizedExtension(SCT_LIST_OID, der)


def make_static(names, days_before=1, days_after=30, serial=None, scts=None,
                key_type="rsa"):
    """(cert_pem, key_pem, cert) self-signed for names."""
    if key_type == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
         .public_key(key.public_key())
         .serial_number(serial or x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=days_before))
         .not_valid_after(now + datetime.timedelta(days=days_after))
         .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                        critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()),
                        critical=False))
    if scts:
        b = b.add_extension(sct_list_extension(scts), critical=False)
    cert = b.sign(key, hashes.SHA256())
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()),
            cert)


def write_pair(directory, stem, cert_pem, key_pem):
    """stem.cert.pem and stem.key.pem (0600) in directory; their paths."""
    os.makedirs(directory, exist_ok=True)
    cpath = os.path.join(directory, stem + ".cert.pem")
    kpath = os.path.join(directory, stem + ".key.pem")
    with open(cpath, "wb") as f:
        f.write(cert_pem)
    with open(kpath, "wb") as f:
        f.write(key_pem)
    os.chmod(kpath, 0o600)
    return cpath, kpath
