#!/usr/bin/python3
"""Write the seeds that need real certificates and keys (made fresh here,
self-signed, for nothing but fuzzing) into test/fuzz/corpus/:

    pem/          chains (EC leaf with SANs, SCTs, AKI and must-staple; RSA;
                  tls-alpn-01 with acmeIdentifier) + keys (plain, SEC1,
                  PKCS#8 encrypted under fuzz_pem.c's STORE_KEY)
    acme_ca/      a whole happy ACME session, one response per part
    cert_status/  staged job.json + staged certificate
    ocsp/         OCSP responses (good, revoked, unknown, without
                  nextUpdate, from a delegated responder, tryLater, in a
                  store file) for the CA and certificate that
                  fuzz_ocsp_fixture.h holds (also written here)

Other seeds are small hand-written files. Run once; the output is committed:

    /usr/bin/python3 test/fuzz/make_seeds.py          # all
    /usr/bin/python3 test/fuzz/make_seeds.py ocsp     # only OCSP's
"""
import base64
import datetime
import ipaddress
import json
import os
import struct
import subprocess
import sys
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID
from cryptography.x509.oid import ObjectIdentifier

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
SEP = b"\n--8<--\n"
STORE_KEY = b"fuzz-store-key-fuzz-store-key-fuzz-store-key-123"
NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)


def sct_list(n=2):
    scts = []
    for i in range(n):
        sig = bytes(range(70))
        sct = (bytes([0]) + bytes([i + 1]) * 32 + struct.pack(">Q", 1795000000000 + i)
               + struct.pack(">H", 0) + bytes([4, 3]) + struct.pack(">H", len(sig)) + sig)
        scts.append(struct.pack(">H", len(sct)) + sct)
    body = b"".join(scts)
    tls = struct.pack(">H", len(body)) + body
    der = bytes([0x04, 0x81, len(tls)]) + tls
    return x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2"), der)


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def ca():
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name("Fuzz CA")).issuer_name(name("Fuzz CA"))
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(NOW - datetime.timedelta(days=1))
            .not_valid_after(NOW + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def leaf(ca_key, ca_cert, key, sans, extra=()):
    b = (x509.CertificateBuilder().subject_name(name(str(sans[0].value)))
         .issuer_name(ca_cert.subject).public_key(key.public_key())
         .serial_number(0x8f00112233445566778899)
         .not_valid_before(NOW - datetime.timedelta(days=1))
         .not_valid_after(NOW + datetime.timedelta(days=89))
         .add_extension(x509.SubjectAlternativeName(sans), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
             ca_key.public_key()), critical=False))
    for ext, critical in extra:
        b = b.add_extension(ext, critical=critical)
    return b.sign(ca_key, hashes.SHA256())


def pem(*certs):
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def pkcs8(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def pkcs8_encrypted(key):
    """PBES2 + PBKDF2 + AES-256-CBC, the way the store writes keys."""
    with tempfile.TemporaryDirectory() as d:
        kp, pp = os.path.join(d, "k"), os.path.join(d, "p")
        with open(kp, "wb") as f:
            f.write(pkcs8(key))
        with open(pp, "wb") as f:
            f.write(STORE_KEY)
        return subprocess.run(["openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc",
                               "-in", kp, "-passout", "file:" + pp],
                              check=True, capture_output=True).stdout


def write(target, fname, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data)


def response(status, headers, body=b""):
    head = "%d\n" % status + "".join("%s: %s\n" % h for h in headers)
    return head.encode() + b"\n" + body


def main():
    ca_key, ca_cert = ca()
    ec_key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.DNSName("a.test"), x509.DNSName("www.a.test"),
            x509.IPAddress(__import__("ipaddress").ip_address("192.0.2.1"))]
    must_staple = x509.TLSFeature([x509.TLSFeatureType.status_request])
    ec_leaf = leaf(ca_key, ca_cert, ec_key, sans, [(sct_list(), False), (must_staple, False)])
    write("pem", "chain_ec", pem(ec_leaf, ca_cert) + SEP + pkcs8_encrypted(ec_key))

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_leaf = leaf(ca_key, ca_cert, rsa_key, [x509.DNSName("*.a.test")])
    write("pem", "rsa", pem(rsa_leaf) + SEP + pkcs8(rsa_key))

    alpn_key = ec.generate_private_key(ec.SECP384R1())
    acme_id = x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.5.5.7.1.31"),
                                         bytes([0x04, 0x20]) + bytes(range(32)))
    alpn = leaf(ca_key, ca_cert, alpn_key, [x509.DNSName("b.test")], [(acme_id, True)])
    write("pem", "tlsalpn", pem(alpn) + SEP + alpn_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()))

    chain = pem(ec_leaf, ca_cert)
    nonce = [("Replay-Nonce", "nonce-%d" % i) for i in range(12)]
    base = "https://ca.test/acme"
    order = ('{"status": "%s", "expires": "2026-12-08T00:00:00Z", "identifiers": '
             '[{"type": "dns", "value": "a.test"}, {"type": "ip", "value": "192.0.2.1"}], '
             '"authorizations": ["%s/authz/1", "%s/authz/2"], "finalize": '
             '"%s/order/1/finalize"%s}')
    authz = ('{"status": "valid", "identifier": {"type": "%s", "value": "%s"}, '
             '"challenges": [{"type": "http-01", "url": "%s/chall/%s", "status": "valid", '
             '"token": "DGyRejmCefe7v4NfDGDKfA"}]}')
    json_ct = ("Content-Type", "application/json")
    parts = [
        response(200, [json_ct], (
            '{"newNonce": "%s/new-nonce", "newAccount": "%s/new-acct", "newOrder": '
            '"%s/new-order", "revokeCert": "%s/revoke", "keyChange": "%s/key-change", '
            '"renewalInfo": "%s/renewal-info", "meta": {"termsOfService": '
            '"%s/terms", "profiles": {"shortlived": "6 days"}}}'
            % ((base,) * 7)).encode()),
        response(200, [nonce[0]]),
        response(201, [json_ct, nonce[1], ("Location", base + "/acct/1")],
                 b'{"status": "valid", "contact": ["mailto:admin@a.test"], '
                 b'"orders": "https://ca.test/acme/acct/1/orders"}'),
        response(201, [json_ct, nonce[2], ("Location", base + "/order/1")],
                 (order % ("pending", base, base, base, "")).encode()),
        response(200, [json_ct, nonce[3]], (authz % ("dns", "a.test", base, "1")).encode()),
        response(200, [json_ct, nonce[4]], (authz % ("ip", "192.0.2.1", base, "2")).encode()),
        response(200, [json_ct, nonce[5], ("Retry-After", "1")],
                 (order % ("ready", base, base, base, "")).encode()),
        response(200, [json_ct, nonce[6], ("Location", base + "/order/1")],
                 (order % ("processing", base, base, base, "")).encode()),
        response(200, [json_ct, nonce[7]],
                 (order % ("valid", base, base, base,
                           ', "certificate": "%s/cert/1"' % base)).encode()),
        response(200, [("Content-Type", "application/pem-certificate-chain"), nonce[8],
                       ("Link", '<%s/cert/1/alt>;rel="alternate"' % base)], chain),
        response(200, [json_ct, ("Retry-After", "21600")],
                 b'{"suggestedWindow": {"start": "2027-01-20T00:00:00Z", '
                 b'"end": "2027-01-22T00:00:00Z"}, '
                 b'"explanationURL": "https://ca.test/ari-docs"}'),
    ]
    write("acme_ca", "happy", SEP.join(parts))
    bad = list(parts[:3]) + [
        response(400, [("Content-Type", "application/problem+json"), nonce[3]],
                 b'{"type": "urn:ietf:params:acme:error:badNonce", "detail": "stale"}'),
        response(403, [("Content-Type", "application/problem+json"), nonce[4]],
                 b'{"type": "urn:ietf:params:acme:error:rejectedIdentifier", "detail": "no", '
                 b'"subproblems": [{"type": "urn:ietf:params:acme:error:malformed", '
                 b'"identifier": {"type": "dns", "value": "a.test"}, "detail": "bad"}]}'),
    ]
    write("acme_ca", "rejected", SEP.join(bad))

    job = (b'{"name": "a.test", "finished": true, "valid-from": "Mon, 30 Nov 2026 00:00:00 GMT", '
           b'"errors": 0, "last-run": "Tue, 01 Dec 2026 10:00:00 GMT", '
           b'"next-run": "Tue, 01 Dec 2026 12:00:00 GMT", '
           b'"last": {"status": 0, "detail": "certificate staged", "activity": "finalizing"}, '
           b'"log": {"entries": [{"when": "Tue, 01 Dec 2026 10:00:00 GMT", "type": "renewed", '
           b'"detail": "ok"}]}, "stock-extra": {"kept": [1, 2]}}')
    write("cert_status", "staged", job + SEP + chain + SEP + pem(rsa_leaf))
    failed = (b'{"name": "a.test", "finished": false, "errors": 3, '
              b'"next-run": "Tue, 01 Dec 2026 12:00:00 GMT", "last": {"status": 11, '
              b'"problem": "urn:ietf:params:acme:error:rateLimited", "detail": "slow down", '
              b'"subproblems": [], "retry-after": "Tue, 01 Dec 2026 13:00:00 GMT"}}')
    write("cert_status", "failed", failed)


# fuzz_ocsp.c's "now": 2026-11-18T11:06:40Z
OCSP_NOW = datetime.datetime.fromtimestamp(1795000000, datetime.timezone.utc)


def c_string(name, pem):
    lines = pem.decode().splitlines()
    return "static const char %s[] =\n%s;\n" % (
        name, "\n".join('    "%s\\n"' % l for l in lines))


def ocsp_seeds():
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = name("Fuzz OCSP CA")
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
               .public_key(ca_key.public_key()).serial_number(7)
               .not_valid_before(OCSP_NOW - datetime.timedelta(days=30))
               .not_valid_after(OCSP_NOW + datetime.timedelta(days=3650))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                              critical=False)
               .sign(ca_key, hashes.SHA256()))
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    aia = x509.AuthorityInformationAccess([x509.AccessDescription(
        AuthorityInformationAccessOID.OCSP,
        x509.UniformResourceIdentifier("http://ocsp.ca.test/"))])
    leaf_cert = (x509.CertificateBuilder().subject_name(name("a.test"))
                 .issuer_name(ca_name).public_key(leaf_key.public_key())
                 .serial_number(0x0a11ce)
                 .not_valid_before(OCSP_NOW - datetime.timedelta(days=10))
                 .not_valid_after(OCSP_NOW + datetime.timedelta(days=80))
                 .add_extension(x509.SubjectAlternativeName([x509.DNSName("a.test")]),
                                critical=False)
                 .add_extension(aia, critical=False)
                 .sign(ca_key, hashes.SHA256()))
    resp_key = ec.generate_private_key(ec.SECP256R1())
    resp_cert = (x509.CertificateBuilder().subject_name(name("Fuzz OCSP responder"))
                 .issuer_name(ca_name).public_key(resp_key.public_key()).serial_number(8)
                 .not_valid_before(OCSP_NOW - datetime.timedelta(days=30))
                 .not_valid_after(OCSP_NOW + datetime.timedelta(days=300))
                 .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]),
                                critical=False)
                 .sign(ca_key, hashes.SHA256()))
    with open(os.path.join(HERE, "fuzz_ocsp_fixture.h"), "w") as f:
        f.write("/* The CA and certificate of fuzz_ocsp.c, made by make_seeds.py with the\n"
                " * seeds in corpus/ocsp/ (signed with keys that exist nowhere else). */\n")
        f.write(c_string("FIXTURE_CA", pem(ca_cert)))
        f.write(c_string("FIXTURE_CERT", pem(leaf_cert)))

    def response(status=ocsp.OCSPCertStatus.GOOD, key=ca_key, cert=ca_cert, nxt=True,
                 revoked=None, certs=None):
        b = ocsp.OCSPResponseBuilder().add_response(
            cert=leaf_cert, issuer=ca_cert, algorithm=hashes.SHA1(), cert_status=status,
            this_update=OCSP_NOW - datetime.timedelta(hours=1),
            next_update=OCSP_NOW + datetime.timedelta(days=3) if nxt else None,
            revocation_time=revoked, revocation_reason=(
                x509.ReasonFlags.key_compromise if revoked else None))
        b = b.responder_id(ocsp.OCSPResponderEncoding.HASH, cert)
        if certs:
            b = b.certificates(certs)
        return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    good = response()
    write("ocsp", "good", good)
    write("ocsp", "revoked", response(ocsp.OCSPCertStatus.REVOKED,
                                      revoked=OCSP_NOW - datetime.timedelta(days=2)))
    write("ocsp", "unknown", response(ocsp.OCSPCertStatus.UNKNOWN))
    write("ocsp", "no_next_update", response(nxt=False))
    write("ocsp", "delegated", response(key=resp_key, cert=resp_cert, certs=[resp_cert]))
    write("ocsp", "try_later", ocsp.OCSPResponseBuilder.build_unsuccessful(
        ocsp.OCSPResponseStatus.TRY_LATER).public_bytes(serialization.Encoding.DER))
    file_json = json.dumps({"response": base64.urlsafe_b64encode(good).decode().rstrip("="),
                            "status": "good", "valid": {
                                "from": "Wed, 18 Nov 2026 10:06:40 GMT",
                                "until": "Sat, 21 Nov 2026 11:06:40 GMT"}}).encode()
    write("ocsp", "store_file", SEP + file_json)


if __name__ == "__main__":
    if sys.argv[1:] == ["ocsp"]:
        ocsp_seeds()
    else:
        main()
        ocsp_seeds()
