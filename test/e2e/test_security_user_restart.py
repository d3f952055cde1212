"""The server's User attacks the root parent's activation check (issue 11,
findings 1, 2 and 3). With MDActivationAuto on, the parent (root) looks at
staging/ about every 10 s (the monitor hook) and restarts gracefully for a
staged set whose job.json says finished; /.httpd/certificate-status reads
staging/<md>/job.json per request. www-data owns staging/ and plants:

- a FIFO as job.json: nothing may block on it (finding 2);
- a symlink as job.json to a file only root may read: root must not read it
  (finding 1; the file's text would end up in the error log);
- a job.json that says finished, with no set or with a set it made itself
  (a self-signed certificate and its plain key): no restart, and nothing
  of it goes live at the next restart either (finding 3);
- a staged key that claims 2^31-1 rounds of PBKDF2: not decrypted, so
  neither the check nor a restart takes half an hour (finding 4).

Server: started as root with User www-data, MDActivationAuto on, LogLevel
md:trace1 (MD13006 marks each look of the monitor). Its MDs are manual:
the renewal never touches their staging, only the attacker does. All four
attacks are planted at once right after the start (the parent looks only
every 10 s, so the scenarios share the waiting); the tests run in order.
"""
import base64
import datetime
import json
import os
import secrets
import types

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mdtest import attacker, certs, status

FIFO_MD = "fifo.test"
LEAK_MD = "leak.test"
FAKE_MD = "fake.test"
FORGED_MD = "forged.test"
COSTLY_MD = "costly.test"
MDS = (FIFO_MD, LEAK_MD, FAKE_MD, FORGED_MD, COSTLY_MD)


def _monitor_looked(a, since, times=2):
    """Wait until the parent's activation check ran `times` times after
    `since` (the first may have started before)."""
    a.wait_for(lambda: a.count_log(r"MD13006: activation check", since=since) >= times,
               timeout=60, what="the parent's activation check to run")


def _settled(srv):
    """Once: the parent has judged both planted "finished" sets and looked
    twice more (the settle time of 5 s is over: it would have restarted),
    three looks in all since the planting at least."""
    if not srv.settled:
        a = srv.apache
        for md in (FAKE_MD, FORGED_MD, COSTLY_MD):
            a.wait_for_log(r"MD13004: %s: .*does not verify" % md, since=srv.mark)
        _monitor_looked(a, a.log_mark(), times=2)
        _monitor_looked(a, srv.mark, times=3)
        srv.settled = True


def _finished_job(md):
    now = datetime.datetime.now(datetime.timezone.utc)
    return json.dumps({"name": md, "finished": True,
                       "valid-from": now.strftime("%a, %d %b %Y %H:%M:%S GMT")})


def _md_json(md):
    return json.dumps({"name": md, "domains": [md], "contacts": [], "transitive": 1,
                       "ca": {"urls": ["https://ca.invalid/dir"]}, "state": 1,
                       "renew-mode": 0})


def _forged_set(md):
    """What User can make: its own key (plain: it has no store key) and a
    self-signed certificate for the MD's names."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, md)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(md)]), critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert, cert.public_bytes(serialization.Encoding.PEM), key_pem


def _der(tag, body):
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _oid(dotted):
    parts = [int(x) for x in dotted.split(".")]
    out = bytes([parts[0] * 40 + parts[1]])
    for v in parts[2:]:
        chunk = [v & 0x7f]
        v >>= 7
        while v:
            chunk.insert(0, 0x80 | (v & 0x7f))
            v >>= 7
        out += bytes(chunk)
    return _der(0x06, out)


def _costly_key_pem(iterations):
    """An EncryptedPrivateKeyInfo (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC)
    whose parameters ask for `iterations` rounds; the ciphertext is junk:
    User has no store key, it only wants the parent to work for it."""
    seq = lambda *parts: _der(0x30, b"".join(parts))      # noqa: E731
    octets = lambda b: _der(0x04, b)                        # noqa: E731
    integer = _der(0x02, iterations.to_bytes((iterations.bit_length() + 8) // 8, "big"))
    pbkdf2 = seq(_oid("1.2.840.113549.1.5.12"),
                 seq(octets(b"saltsalt"), integer,
                     seq(_oid("1.2.840.113549.2.9"), b"\x05\x00")))
    aes = seq(_oid("2.16.840.1.101.3.4.1.42"), octets(b"\x00" * 16))
    alg = seq(_oid("1.2.840.113549.1.5.13"), seq(pbkdf2, aes))
    der = seq(alg, octets(b"\x5a" * 48))
    b64 = base64.encodebytes(der).decode().replace("\n", "")
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return ("-----BEGIN ENCRYPTED PRIVATE KEY-----\n" + "\n".join(lines)
            + "\n-----END ENCRYPTED PRIVATE KEY-----\n")


@pytest.fixture(scope="module")
def srv(e2e):
    """The server, and every attack planted at once (the parent looks only
    every 10 s: the scenarios share the waiting)."""
    a = e2e.new_apache(name="usec-restart", log_level="md:trace1")
    conf = a.config()
    conf.add("MDActivationAuto on")
    for md in MDS:
        conf.add_md([md], ["MDRenewMode manual"])
        conf.add_vhost(md)
    conf.write()
    fifo = os.path.join(a.staging_dir(FIFO_MD), "job.json")
    try:
        a.start()
        mark = a.log_mark()
        # a FIFO as job.json
        attacker.mkfifo(fifo)
        # a link to a file only root may read, not JSON: the parser's
        # message would quote it (at most 20 characters: jansson quotes
        # no longer token)
        token = "sekrit" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz")
                                   for _ in range(12))
        secret = os.path.join(a.root, "root-only.json")
        with open(secret, "w") as f:
            f.write("[%s]\n" % token)
        os.chmod(secret, 0o600)
        attacker.symlink(secret, os.path.join(a.staging_dir(LEAK_MD), "job.json"))
        # "finished" with nothing staged
        staging = a.staging_dir(FAKE_MD)
        attacker.write(os.path.join(staging, "md.json"), _md_json(FAKE_MD))
        attacker.write(os.path.join(staging, "job.json"), _finished_job(FAKE_MD))
        # "finished" with a set of User's own
        staging = a.staging_dir(FORGED_MD)
        forged, cert_pem, key_pem = _forged_set(FORGED_MD)
        attacker.write(os.path.join(staging, "privkey.pem"), key_pem)
        attacker.write(os.path.join(staging, "pubcert.pem"), cert_pem)
        attacker.write(os.path.join(staging, "md.json"), _md_json(FORGED_MD))
        attacker.write(os.path.join(staging, "job.json"), _finished_job(FORGED_MD))
        # "finished" with a key that costs 2^31-1 rounds of PBKDF2
        staging = a.staging_dir(COSTLY_MD)
        attacker.write(os.path.join(staging, "privkey.pem"), _costly_key_pem(2 ** 31 - 1))
        attacker.write(os.path.join(staging, "pubcert.pem"), _forged_set(COSTLY_MD)[1])
        attacker.write(os.path.join(staging, "md.json"), _md_json(COSTLY_MD))
        attacker.write(os.path.join(staging, "job.json"), _finished_job(COSTLY_MD))
        yield types.SimpleNamespace(apache=a, mark=mark, fifo=fifo, token=token,
                                    forged=forged, settled=False)
    finally:
        # a module that blocked on the FIFO would keep the server from stopping
        attacker.release_fifo(fifo)
        a.stop()


def test_fifo_as_job_json_blocks_nothing(srv):
    a = srv.apache
    # a client of the site: the handler reads staging/<md>/job.json
    r = status.request(a, "GET", FIFO_MD, "/.httpd/certificate-status", https=True,
                       timeout=20)
    assert r.status == 200, r
    # the parent looks at staging/ again and again
    _settled(srv)
    assert os.path.exists(srv.fifo)


def test_symlinked_job_json_is_not_read_by_root(srv):
    a = srv.apache
    r = status.request(a, "GET", LEAK_MD, "/.httpd/certificate-status", https=True,
                       timeout=20)
    assert r.status == 200, r
    _settled(srv)
    assert srv.token not in a.log_text(since=srv.mark), "root read the link's target"
    assert srv.token not in r.text
    # the link was refused, not followed (the child's read says so)
    assert a.log_lines(r"MD05200: .*staging/%s/job.json: is a symbolic link" % LEAK_MD,
                       since=srv.mark)


def test_planted_finished_job_makes_no_restart(srv):
    a = srv.apache
    _settled(srv)
    assert a.log_lines(r"MD13004: %s: .*does not verify \(no certificate is staged" % FAKE_MD,
                       since=srv.mark)
    assert not a.log_lines(r"MD13001: restarting", since=srv.mark)


def test_planted_self_signed_set_is_neither_restarted_for_nor_activated(srv):
    a = srv.apache
    _settled(srv)
    assert a.log_lines(r"MD13004: %s: .*does not verify \(.*private key" % FORGED_MD,
                       since=srv.mark)
    assert not a.log_lines(r"MD13001: restarting", since=srv.mark)
    # an admin's restart does not put it live either, and the FIFO and the
    # link planted beside it do not hold the parent up
    a.graceful(timeout=60)
    a.wait_for_log(r"MD07002: %s: staged set is unusable" % FORGED_MD, since=srv.mark)
    served = a.get_served_cert(FORGED_MD)
    assert served.fingerprint(hashes.SHA256()) != srv.forged.fingerprint(hashes.SHA256())
    assert certs.is_self_signed(served)   # still our fallback
    staging = a.staging_dir(FORGED_MD)
    assert not os.path.exists(staging) or not os.listdir(staging)
    assert srv.token not in a.log_text(since=srv.mark)


def test_costly_planted_key_is_not_decrypted(srv):
    a = srv.apache
    _settled(srv)
    assert a.log_lines(r"MD02030: not decrypting a private key: PBKDF2 with 2147483647 "
                       r"iterations", since=srv.mark)
    assert a.log_lines(r"MD13004: %s: .*does not verify" % COSTLY_MD, since=srv.mark)
    # a restart takes the same path (the one of the test above, or this one):
    # it must not take half an hour
    if os.path.exists(os.path.join(a.staging_dir(COSTLY_MD), "md.json")):
        a.graceful(timeout=60)
    a.wait_for_log(r"MD07002: %s: staged set is unusable" % COSTLY_MD, since=srv.mark)
    assert a.count_log(r"MD02030: ", since=srv.mark) >= 2
