"""Static certificates (MDCertificateFile/MDCertificateKeyFile inside an MD):
served as given, shown in md-status and certificate-status (with the SCTs
the certificate carries), and left alone by the renewal unless the MD says
MDRenewMode always.

One server, its own pebble (so its order count is ours alone):
  static.test   a static certificate with two SCTs, 30 days left
  due.test      a static certificate in its renew window (10 of 90 days
                left): shown as needing renewal, still not renewed
  always.test   like due.test, with MDRenewMode always: renewed by the CA
  normal.test   an ordinary MD; its order shows the renewal ran
"""
import datetime
import json
import os
import types

import pytest

from mdtest import certs, static_certs, status

STATIC = "static.test"
DUE = "due.test"
ALWAYS = "always.test"
NORMAL = "normal.test"

LOG_A = bytes(range(32))
LOG_B = bytes([0xAB] * 32)
SIG_A = bytes.fromhex("3006020101020102")
SIG_B = bytes.fromhex("3006020103020104")
TS_A = 1700000000123
TS_B = 1700000001000


@pytest.fixture(scope="module")
def static(e2e):
    ca = e2e.new_pebble()
    a = e2e.new_apache(name="status-static", pebble=ca)
    files = os.path.join(a.root, "static-certs")
    made = {}
    scts = [static_certs.sct_bytes(LOG_A, TS_A, SIG_A),
            static_certs.sct_bytes(LOG_B, TS_B, SIG_B)]
    # due.test's serial has a leading zero nibble: shown as whole bytes
    for name, before, after, extra, serial in ((STATIC, 1, 30, scts, None),
                                               (DUE, 80, 10, None, 0x0A11),
                                               (ALWAYS, 80, 10, None, None)):
        cpem, kpem, cert = static_certs.make_static([name], days_before=before,
                                                    days_after=after, scts=extra,
                                                    serial=serial)
        made[name] = types.SimpleNamespace(cert=cert, files=static_certs.write_pair(
            files, name, cpem, kpem))
    conf = a.config()
    for name in (STATIC, DUE, ALWAYS):
        lines = ["MDCertificateFile %s" % made[name].files[0],
                 "MDCertificateKeyFile %s" % made[name].files[1]]
        if name == ALWAYS:
            lines.append("MDRenewMode always")
        conf.add_md([name], lines)
    conf.add_md([NORMAL])
    for name in (STATIC, DUE, ALWAYS, NORMAL):
        conf.add_vhost(name)
    status.add_handlers(conf)
    conf.write()
    try:
        a.start()
        # the renewal pass that ordered these has looked at every MD
        a.wait_staged(NORMAL)
        a.wait_staged(ALWAYS)
        yield types.SimpleNamespace(apache=a, ca=ca, made=made)
    finally:
        a.stop()
        ca.stop()


def test_static_certificate_is_served(static):
    a = static.apache
    for name in (STATIC, DUE, ALWAYS):
        served = a.get_served_cert(name)
        assert served.serial_number == static.made[name].cert.serial_number, name
    r = a.https_get(STATIC, "/index.html")
    assert r.status == 200, "a static MD does not answer 503"


def test_static_certificate_is_not_renewed(static):
    a = static.apache
    for name in (STATIC, DUE):
        assert not os.path.exists(a.staging_dir(name)), name
        assert "renewal" not in status.md_status(a, name), name
    # two orders: normal.test and always.test, nothing for the static ones
    assert static.ca.count_orders_created() == 2, static.ca.log_tail(30)


def test_static_certificate_in_md_status(static):
    a = static.apache
    st = status.md_status(a, STATIC)
    cert = static.made[STATIC].cert
    assert st["state"] == 2
    assert st["renew-mode"] == 0, "static files are not renewed: manual"
    assert st["cert"]["0"]["serial"] == status.serial_hex(cert)
    assert st["cert"]["0"]["issuer-name"] == "/CN=%s" % STATIC
    assert st["cert-files"] == [static.made[STATIC].files[0]]
    assert st["pkey-files"] == [static.made[STATIC].files[1]]
    assert "renew" not in st
    due = status.md_status(a, DUE)
    assert due["renew"] is True, "in its renew window, so shown as due"
    assert due["cert"]["0"]["serial"] == "0A11"
    # the store keeps the files in md.json, as the stock module does
    with open(os.path.join(a.domain_dir(STATIC), "md.json")) as f:
        assert json.load(f)["cert-files"] == [static.made[STATIC].files[0]]


def test_static_certificate_status_shows_scts(static):
    r = static.apache.https_get(STATIC, "/.httpd/certificate-status")
    assert r.status == 200, r.text
    cs = json.loads(r.text)
    scts = cs["0"]["scts"]
    assert [s["logid"] for s in scts] == [LOG_A.hex(), LOG_B.hex()]
    assert [s["signature"] for s in scts] == [SIG_A.hex(), SIG_B.hex()]
    assert scts[0]["signed"] == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert scts[1]["signed"] == "Tue, 14 Nov 2023 22:13:21 GMT"
    # the stock module's members: the wire version (v1 is 0), the short name
    assert all(s["version"] == 0 and s["signature-type"] == "ecdsa-with-SHA256"
               for s in scts)
    assert cs["0"]["serial"] == status.serial_hex(static.made[STATIC].cert)


def test_static_md_with_renew_mode_always_is_renewed(static):
    a = static.apache
    st = status.md_status(a, ALWAYS)
    assert st["renew-mode"] == 2
    staged = st["renewal"]["cert"]["rsa"]
    assert staged["issuer-name"].startswith("/CN=Pebble Intermediate")
    chain = certs.load_pem_file(a.staged_pubcert(ALWAYS))
    assert ALWAYS in certs.dns_sans(chain[0])
    # the static certificate is what is served and shown as live
    assert st["cert"]["0"]["serial"] == status.serial_hex(static.made[ALWAYS].cert)
    left = certs.not_after(static.made[ALWAYS].cert) - datetime.datetime.now(
        datetime.timezone.utc)
    assert left < datetime.timedelta(days=11)
