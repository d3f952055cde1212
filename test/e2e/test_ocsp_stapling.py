"""OCSP stapling (MDStapling, MDStapleOthers, MDStaplingKeepResponse,
MDStaplingRenewWindow) against a pebble whose certificates name our test
OCSP responder (mdtest/ocsp_responder.py, answering as pebble knows each
certificate, signed with pebble's intermediate key).

One pebble and responder for the file. The stock module runs first with
the same configurations (the outcomes are compared: staple served, files
in the store's ocsp/, md-status' "ocsp"), then our module takes over its
store while the responder is down; then our module runs alone through:

  A  per-MD MDStapling: good.test, must.test (MDMustStaple on),
     revoke.test staple, plain.test (MDStapling off) and other.test do not
  -  responder down: the response stays stapled until it expires, then
     none; ocsp-errored to MDMessageCmd; responder back: stapled again
  -  a full restart staples the stored response at once (responder down)
  B  MDStapling on for the server: other.test (SSLCertificateFile, issued by
     pebble, no MD) is stapled (MDStapleOthers), ms-static.test
     (MDCertificateFile, a must-staple certificate) too; plain.test says off
  C  MDStapleOthers off, MDStaplingKeepResponse 1s: other.test is not
     stapled and its unused response is removed from the store
  -  revoke.test's certificate revoked at pebble: the staple says revoked,
     the module gets a new certificate, whose staple is good

Responses are valid 30s in the phases that watch them renew and expire
(MDStaplingRenewWindow 33%: renewed 10s before they end).
"""
import datetime
import hashlib
import json
import os
import re
import shutil
import time
import types

import pytest
from cryptography.hazmat.primitives import serialization

from mdtest import STOCK_MD_MODULE, certs, status, util
from mdtest.ocsp_responder import OcspResponder, revoke_cert, served_staple

GOOD = "good.test"
MUST = "must.test"
PLAIN = "plain.test"
OTHER = "other.test"
REVOKE = "revoke.test"
MS_STATIC = "ms-static.test"
MDS_A = (GOOD, MUST, PLAIN, OTHER, REVOKE)
SHORT = 30          # seconds a response is valid in the watched phases


# --- helpers ---------------------------------------------------------------------

def _messages(a):
    """An MDMessageCmd program writing "<reason> <md>" lines; returns
    (directive, path of its log)."""
    d = os.path.join(a.root, "messages")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o777)
    log = os.path.join(d, "messages.log")
    prog = os.path.join(a.root, "message.sh")
    with open(prog, "w") as f:
        f.write("#!/bin/sh\necho \"$@\" >> %s\n" % log)
    os.chmod(prog, 0o755)
    return "MDMessageCmd %s" % prog, log


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def _config_a(a, msg):
    conf = a.config()
    conf.add(msg)
    conf.add_md([GOOD], ["MDStapling on"])
    conf.add_md([MUST], ["MDStapling on", "MDMustStaple on"])
    conf.add_md([PLAIN])
    conf.add_md([OTHER])
    conf.add_md([REVOKE], ["MDStapling on"])
    for name in MDS_A:
        conf.add_vhost(name)
    status.add_handlers(conf)
    conf.write()


def _config_b(a, msg, static, extra=()):
    """MDStapling on for the server; other.test from SSLCertificateFile."""
    conf = a.config()
    conf.add(msg, "MDStapling on", *extra)
    conf.add_md([GOOD])
    conf.add_md([MUST], ["MDMustStaple on"])
    conf.add_md([PLAIN], ["MDStapling off"])
    conf.add_md([REVOKE])
    conf.add_md([MS_STATIC], ["MDCertificateFile %s" % static.ms_cert,
                              "MDCertificateKeyFile %s" % static.ms_key])
    for name in (GOOD, MUST, PLAIN, REVOKE, MS_STATIC):
        conf.add_vhost(name)
    conf.add_vhost(OTHER, lines=["SSLCertificateFile %s" % static.other_cert,
                                 "SSLCertificateKeyFile %s" % static.other_key])
    status.add_handlers(conf)
    conf.write()


def _static_files(a, responder):
    """other.test's certificate and key out of the store (issued by pebble
    for the MD of config A), and a must-staple certificate."""
    d = os.path.join(a.root, "static")
    os.makedirs(d, exist_ok=True)
    ns = types.SimpleNamespace(other_cert=os.path.join(d, "other.pem"),
                               other_key=os.path.join(d, "other.key"),
                               ms_cert=os.path.join(d, "ms.pem"),
                               ms_key=os.path.join(d, "ms.key"))
    shutil.copy(a.live_pubcert(OTHER), ns.other_cert)
    shutil.copy(a.live_privkey(OTHER), ns.other_key)
    chain, key = responder.issue([MS_STATIC], must_staple=True)
    with open(ns.ms_cert, "wb") as f:
        f.write(chain)
    with open(ns.ms_key, "wb") as f:
        f.write(key)
    os.chmod(ns.ms_key, 0o600)
    return ns


def _staple(a, name):
    return served_staple(a.https_port, name)


def _wait_staple(a, name, cert_status="good", serial=None, timeout=90):
    def check():
        st = _staple(a, name)
        if st and st.status == cert_status and (serial is None or st.serial == serial):
            return st
        return None
    return a.wait_for(check, timeout=timeout,
                      what="a %s OCSP response stapled for %s" % (cert_status, name))


def _serial(cert):
    return status.serial_hex(cert)


def _load_cert(path):
    return certs.load_pem_file(path)[0]


def _sha1(cert):
    return hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _ocsp_files(a):
    """{md: sorted file names} under the store's ocsp/."""
    base = os.path.join(a.store, "ocsp")
    out = {}
    if os.path.isdir(base):
        for md in sorted(os.listdir(base)):
            out[md] = sorted(os.listdir(os.path.join(base, md)))
    return out


def _cleanup_diagnosis(a, md, mark):
    """The files of ocsp/<md>/ with their ages, and the OCSP lines of the
    log since mark: why a response was not removed."""
    base = os.path.join(a.store, "ocsp", md)
    now = time.time()
    out = ["files of %s:" % base]
    for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        st = os.lstat(os.path.join(base, name))
        out.append("  %s uid=%d mode=%o written %.1fs ago"
                   % (name, st.st_uid, st.st_mode, now - st.st_mtime))
    out.append("OCSP log lines since the graceful restart:")
    out.extend(a.log_lines(r"MD22|AH00493|AH00489", since=mark))
    return "\n".join(out)


def _ocsp_json(a, md, cert):
    with open(os.path.join(a.store, "ocsp", md, "ocsp-%s.json" % _sha1(cert))) as f:
        return json.load(f)


def _cert_ocsp(j, key="rsa"):
    return j.get("cert", {}).get(key, {}).get("ocsp")


def _cert_status(a, name):
    r = status.request(a, "GET", name, "/.httpd/certificate-status", https=True)
    assert r.status == 200, r.text
    return json.loads(r.text)


def _start_a(a, msg):
    _config_a(a, msg)
    a.start()
    for md in MDS_A:
        a.wait_staged(md)
    a.graceful()
    for md in MDS_A:
        a.wait_served(md)


def _snapshot_a(a, msg_log):
    ns = types.SimpleNamespace()
    ns.good = _wait_staple(a, GOOD)
    ns.must = _wait_staple(a, MUST)
    ns.revoke = _wait_staple(a, REVOKE)
    ns.plain = _staple(a, PLAIN)
    ns.other = _staple(a, OTHER)
    ns.served = {md: a.get_served_cert(md) for md in MDS_A}
    ns.files = _ocsp_files(a)
    ns.file_good = _ocsp_json(a, GOOD, ns.served[GOOD])
    ns.md_good = status.md_status(a, GOOD)
    ns.md_must = status.md_status(a, MUST)
    ns.md_plain = status.md_status(a, PLAIN)
    ns.md_all = status.md_status(a)
    ns.cert_status = _cert_status(a, GOOD)
    ns.auto = status.get(a, "/server-status?auto").text
    ns.html = status.get(a, "/server-status").text
    a.wait_for(lambda: "ocsp-renewed %s" % GOOD in _read(msg_log), timeout=30,
               what="ocsp-renewed told to MDMessageCmd")
    ns.messages = _read(msg_log)
    return ns


def _snapshot_b(a, ns):
    ns.b_other = _wait_staple(a, OTHER)
    ns.b_ms = _wait_staple(a, MS_STATIC)
    ns.b_ms_cert = a.get_served_cert(MS_STATIC)
    ns.b_plain = _staple(a, PLAIN)
    ns.b_other_cert = a.get_served_cert(OTHER)
    ns.b_files = _ocsp_files(a)
    ns.b_auto = status.get(a, "/server-status?auto").text


# --- the runs ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def env(e2e):
    responder = OcspResponder()
    ca = e2e.new_pebble(config_extra={"ocspResponderURL": responder.url}, start=False,
                        name="pebble-ocsp")
    responder.pebble = ca
    responder.start()
    try:
        ca.start()
        yield types.SimpleNamespace(ca=ca, responder=responder)
    finally:
        responder.stop()
        ca.stop()


@pytest.fixture(scope="module")
def stock(e2e, env):
    """The stock module with configs A and B, then ours on its store."""
    r = env.responder
    r.validity = 3600
    a = e2e.new_apache(name="ocsp-stock", pebble=env.ca, module=STOCK_MD_MODULE)
    msg, msg_log = _messages(a)
    try:
        _start_a(a, msg)
        ns = _snapshot_a(a, msg_log)
        ns.apache = a
        static = _static_files(a, r)
        _config_b(a, msg, static)
        a.graceful()
        _snapshot_b(a, ns)
    finally:
        a.stop()
    # Our module takes the stock store over while the responder is down.
    b = e2e.new_apache(name="ocsp-takeover", pebble=env.ca, store_dir=a.store)
    r.stop()
    try:
        msg_b, _ = _messages(b)
        _config_b(b, msg_b, static)
        b.start()
        ns.takeover_good = _staple(b, GOOD)
        ns.takeover_other = _staple(b, OTHER)
    finally:
        b.stop()
        r.start()
    yield ns


@pytest.fixture(scope="module")
def ours(e2e, env, stock):
    """Our module through all phases (see the top)."""
    r = env.responder
    r.validity = SHORT
    r.validity_for.clear()
    a = e2e.new_apache(name="ocsp-ours", pebble=env.ca, log_level="md:trace1")
    msg, msg_log = _messages(a)
    try:
        _start_a(a, msg)
        # revoke.test's responses are renewed often: its revocation shows soon
        r.validity_for[a.get_served_cert(REVOKE).serial_number] = 9
        ns = _snapshot_a(a, msg_log)
        ns.apache = a
        ns.csrs_must = certs.logged_csrs(a, MUST)
        good_serial = _serial(ns.served[GOOD])

        # The responder goes down. The next renewal fails when a third of the
        # response's time is left: plenty for the check that it is stapled.
        r.stop()
        ns.down_at = datetime.datetime.utcnow()
        ns.down_staple = _staple(a, GOOD)

        def errored():
            j = status.md_status(a, GOOD)
            renewal = (_cert_ocsp(j) or {}).get("renewal", {})
            return j if renewal.get("errors", 0) >= 1 else None
        ns.down_md = a.wait_for(errored, timeout=2 * SHORT, what="a failed OCSP renewal")
        ns.down_errored_staple = _staple(a, GOOD)
        ns.down_errored_at = datetime.datetime.utcnow()
        a.wait_for(lambda: _staple(a, GOOD) is None, timeout=3 * SHORT,
                   what="the stapled response to expire")
        ns.expired_md = status.md_status(a, GOOD)
        ns.expired_auto = status.get(a, "/server-status?auto").text
        a.wait_for(lambda: "ocsp-errored %s" % GOOD in _read(msg_log), timeout=30,
                   what="ocsp-errored told to MDMessageCmd")

        # Back; good.test's next responses are valid an hour.
        r.validity_for[ns.served[GOOD].serial_number] = 3600
        r.start()
        ns.back_staple = _wait_staple(a, GOOD, timeout=2 * SHORT)
        ns.messages_down = _read(msg_log)

        # A full restart with the responder down staples the stored response.
        r.stop()
        a.stop()
        a.start()
        ns.restart_staple = _staple(a, GOOD)
        r.start()

        # B: MDStapling on for the server, others too.
        static = _static_files(a, r)
        r.validity_for[_load_cert(static.other_cert).serial_number] = 3600
        _config_b(a, msg, static)
        a.graceful()
        _snapshot_b(a, ns)

        # C: others off, unused responses kept 1s. other.test's response
        # (valid an hour: not renewed meanwhile) is made an hour old.
        other_file = os.path.join(a.store, "ocsp", "other",
                                  "ocsp-%s.json" % _sha1(ns.b_other_cert))
        hour_ago = datetime.datetime.now().timestamp() - 3600
        os.utime(other_file, (hour_ago, hour_ago))
        _config_b(a, msg, static, extra=["MDStapleOthers off", "MDStaplingKeepResponse 1s"])
        mark = a.log_mark()
        a.graceful()
        ns.c_other = _staple(a, OTHER)
        util.wait_for(lambda: not [f for f in _ocsp_files(a).get("other", [])
                                   if f.startswith("ocsp-")],
                      timeout=60, what="the unused response of other.test to be removed",
                      on_timeout=lambda: _cleanup_diagnosis(a, "other", mark))
        ns.c_files = _ocsp_files(a)
        ns.c_good = _staple(a, GOOD)

        # revoke.test's certificate is revoked at the CA.
        old = a.get_served_cert(REVOKE)
        mark = a.log_mark()
        with open(a.live_pubcert(REVOKE), "rb") as f:
            cert_pem = f.read()
        with open(a.live_privkey(REVOKE), "rb") as f:
            key_pem = f.read()
        revoke_cert(env.ca, cert_pem, key_pem)
        ns.revoked_staple = _wait_staple(a, REVOKE, cert_status="revoked", timeout=2 * SHORT)
        ns.revoked_md = status.md_status(a, REVOKE)
        a.wait_for_log(r"MD22512: %s" % re.escape(REVOKE), since=mark, timeout=60)
        a.wait_staged(REVOKE, since=mark)
        a.graceful()
        ns.renewed_cert = a.wait_served(
            REVOKE, predicate=lambda chain: chain[0].serial_number != old.serial_number)[0]
        ns.renewed_staple = _wait_staple(a, REVOKE, serial=_serial(ns.renewed_cert),
                                         timeout=2 * SHORT)
        ns.good_serial = good_serial
        ns.old_revoke_serial = _serial(old)
    finally:
        a.stop()
    yield ns


# --- per-MD stapling (A) ------------------------------------------------------------

def test_staple_served_for_mds_with_stapling(stock, ours):
    for run in (stock, ours):
        for md, st in ((GOOD, run.good), (MUST, run.must), (REVOKE, run.revoke)):
            assert st.status == "good", (md, st)
            assert st.serial == _serial(run.served[md])
            assert st.next_update > st.this_update
        # MDStapling only where the MD says so
        assert run.plain is None
        assert run.other is None


def test_store_layout_as_stock(stock, ours):
    """ocsp/<md>/ocsp-<sha1 of the certificate>.json and job.json, with the
    stock module's members; nothing for MDs without stapling."""
    for run in (stock, ours):
        assert set(run.files) == {GOOD, MUST, REVOKE}, run.files
        for md in (GOOD, MUST, REVOKE):
            assert run.files[md] == sorted(["job.json",
                                            "ocsp-%s.json" % _sha1(run.served[md])]), md
        assert set(run.file_good) == {"response", "status", "valid"}
        assert run.file_good["status"] == "good"
        assert set(run.file_good["valid"]) == {"from", "until"}
    # what ours wrote is the response the client got
    st = ours.good
    until = datetime.datetime.strptime(ours.file_good["valid"]["until"],
                                       "%a, %d %b %Y %H:%M:%S GMT")
    assert abs((until - st.next_update).total_seconds()) < 2 * SHORT


def test_md_status_ocsp_member(stock, ours):
    for run in (stock, ours):
        o = _cert_ocsp(run.md_good)
        assert o is not None, run.md_good["cert"]
        assert o["status"] == "good"
        assert set(o["valid"]) == {"from", "until"}
        assert o["renewal"]["name"] == GOOD
        assert run.md_good["stapling"] is True
        assert run.md_must["must-staple"] is True
        assert _cert_ocsp(run.md_plain) is None or "status" not in _cert_ocsp(run.md_plain)
    assert set(_cert_ocsp(ours.md_good)) == set(_cert_ocsp(stock.md_good))
    assert set(_cert_ocsp(ours.md_good)["renewal"]) >= {"name", "finished", "errors", "last",
                                                         "log"}
    # in the list of all MDs too, without the job's log
    mine = [m for m in ours.md_all["managed-domains"] if m["name"] == GOOD][0]
    assert _cert_ocsp(mine)["status"] == "good"
    assert "log" not in _cert_ocsp(mine)["renewal"]


def test_certificate_and_server_status(ours):
    o = ours.cert_status["rsa"].get("ocsp")
    assert o and o["status"] == "good" and set(o["valid"]) == {"from", "until"}
    auto = ours.auto
    assert "ManagedStaplingsTotal: 3\n" in auto, auto
    assert "ManagedStaplingsOK: 3\n" in auto, auto
    assert re.search(r"ManagedStapling\[\d\]Domain: %s\n" % re.escape(GOOD), auto)
    assert "Managed Staplings" in ours.html
    assert _sha1(ours.served[GOOD]) in ours.html


def test_ocsp_renewed_message(stock, ours):
    for run in (stock, ours):
        assert "ocsp-renewed %s" % GOOD in run.messages, run.messages
        assert "ocsp-renewed %s" % PLAIN not in run.messages


def test_must_staple_requested_and_stapled(ours):
    # pebble 2.4 drops the extension, so the CSR shows what was asked
    assert ours.csrs_must and all(certs.csr_has_must_staple(c) for _, c in ours.csrs_must)
    assert ours.must.status == "good"


# --- responder down and back, restart ------------------------------------------------

def test_responder_down_keeps_staple_until_expiry(ours):
    assert ours.down_staple and ours.down_staple.status == "good"
    # a renewal failed, the response still valid is still stapled
    st = ours.down_errored_staple
    assert st and st.status == "good", st
    assert st.next_update > ours.down_errored_at - datetime.timedelta(seconds=2)
    o = _cert_ocsp(ours.down_md)
    assert o["status"] == "good"
    assert o["renewal"]["errors"] >= 1
    assert "did not answer" in o["renewal"]["last"]["detail"]
    # expired: nothing stapled (stock staples the expired one), status unknown
    o = _cert_ocsp(ours.expired_md)
    assert o["status"] == "unknown"
    assert o["renewal"]["errors"] >= 1
    assert re.search(r"ManagedStaplingsErrored: [1-9]", ours.expired_auto)
    assert re.search(r"ManagedStapling\[(\d)\]Domain: %s\n(?:.*\n)*?ManagedStapling\[\1\]"
                     r"OCSPStatus: unknown\n" % re.escape(GOOD), ours.expired_auto)
    assert "ocsp-errored %s" % GOOD in ours.messages_down


def test_responder_back_staples_again(ours):
    st = ours.back_staple
    assert st.status == "good" and st.serial == ours.good_serial
    assert (st.next_update - st.this_update).total_seconds() > 3000


def test_restart_keeps_response(stock, ours):
    # ours: the stored response is stapled at once, the responder is down
    st = ours.restart_staple
    assert st and st.status == "good" and st.serial == ours.good_serial
    # either module takes over the other's store: ours staples stock's files
    assert stock.takeover_good and stock.takeover_good.status == "good"
    assert stock.takeover_good.serial == _serial(stock.served[GOOD])
    assert stock.takeover_other and stock.takeover_other.status == "good"


# --- MDStapleOthers, static certificates, cleanup (B, C) -------------------------------

def test_staple_others(stock, ours):
    for run in (stock, ours):
        assert run.b_other.status == "good"
        assert run.b_other.serial == _serial(run.b_other_cert)
        assert "ocsp-%s.json" % _sha1(run.b_other_cert) in run.b_files.get("other", [])
    # The MD's own "MDStapling off" wins over the server's on. Stock staples
    # it anyway (into ocsp/plain.test/) while its md.json and md-status say
    # stapling is off: a difference kept on purpose.
    assert ours.b_plain is None
    assert PLAIN not in ours.b_files
    assert stock.b_plain is not None and PLAIN in stock.b_files
    assert "ManagedStaplingsTotal: 5\n" in ours.b_auto, ours.b_auto


def test_must_staple_certificate_served_with_staple(stock, ours):
    for run in (stock, ours):
        assert certs.has_must_staple(run.b_ms_cert)
        assert run.b_ms.status == "good"
        assert run.b_ms.serial == _serial(run.b_ms_cert)
        assert "ocsp-%s.json" % _sha1(run.b_ms_cert) in run.b_files.get(MS_STATIC, [])


def test_staple_others_off_and_keep_response(ours):
    assert ours.c_other is None
    # the unused response went (MDStaplingKeepResponse 1s), the rest stayed
    assert not [f for f in ours.c_files.get("other", []) if f.startswith("ocsp-")]
    assert "ocsp-%s.json" % _sha1(ours.served[GOOD]) in ours.c_files[GOOD]
    assert ours.c_good and ours.c_good.status == "good"


# --- revoked ----------------------------------------------------------------------

def test_revoked_is_stapled_and_certificate_renewed(ours):
    st = ours.revoked_staple
    assert st.status == "revoked" and st.serial == ours.old_revoke_serial
    assert _cert_ocsp(ours.revoked_md)["status"] == "revoked"
    # the module got a new certificate, as stock does for a revoked one
    assert _serial(ours.renewed_cert) != ours.old_revoke_serial
    assert ours.renewed_staple.status == "good"
