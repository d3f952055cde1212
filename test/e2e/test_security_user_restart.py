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
  of it goes live at the next restart either (finding 3).

Server: started as root with User www-data, MDActivationAuto on, LogLevel
md:trace1 (MD13006 marks each look of the monitor). Its MDs are manual:
the renewal never touches their staging, only the attacker does. All four
attacks are planted at once right after the start (the parent looks only
every 10 s, so the scenarios share the waiting); the tests run in order.
"""
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
MDS = (FIFO_MD, LEAK_MD, FAKE_MD, FORGED_MD)


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
        for md in (FAKE_MD, FORGED_MD):
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
