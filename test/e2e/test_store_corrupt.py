"""Corrupt or foreign files in the store: a truncated md.json, job.json,
pubcert.pem, privkey.pem or md_store.json, and a store key that does not
decrypt the account key. Each time the error names the file, the server
still starts and serves every other MD, and nothing valid is overwritten.
"""
import base64
import json
import os
import types

import pytest

from mdtest import certs

OK = "ok.test"
BAD_MD = "badmd.test"
BAD_JOB = "badjob.test"
BAD_CERT = "badcert.test"
BAD_KEY = "badkey.test"
ALL = [OK, BAD_MD, BAD_JOB, BAD_CERT, BAD_KEY]
NO_KEY = "nokey.test"         # new while md_store.json is broken
REKEY = "rekey.test"          # new while the store key is a different one


def _configure(a, names):
    conf = a.config()
    for n in names:
        conf.add_md([n])
    for n in names:
        conf.add_vhost(n)
    conf.write()


def _truncate(path):
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[:len(data) // 2])
    return data[:len(data) // 2]


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _issued(leaf):
    return certs.issuer_cn(leaf).startswith("Pebble Intermediate")


@pytest.fixture(scope="module")
def corrupt(e2e, pebble):
    a = e2e.new_apache(name="corrupt")
    ns = types.SimpleNamespace(apache=a)
    dom = lambda md, f: os.path.join(a.store, "domains", md, f)   # noqa: E731
    try:
        _configure(a, ALL)
        a.start()
        for n in ALL:
            a.wait_staged(n)
        a.graceful()
        for n in ALL:
            a.wait_served(n)
        ns.serial = {n: a.get_served_cert(n).serial_number for n in ALL}
        a.stop()

        # phase 2: one broken file per MD
        ns.bad_md_json = _truncate(dom(BAD_MD, "md.json"))
        ns.bad_cert = dom(BAD_CERT, "pubcert.pem")
        _truncate(ns.bad_cert)
        ns.bad_key = dom(BAD_KEY, "privkey.pem")
        with open(ns.bad_key, "w") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
        ns.bad_job = os.path.join(a.staging_dir(BAD_JOB), "job.json")
        os.makedirs(a.staging_dir(BAD_JOB), exist_ok=True)
        with open(ns.bad_job, "w") as f:
            f.write('{"name": "badjob.test", "finished": tr')
        mark = a.log_mark()
        a.start()
        ns.p2_at_start = {n: a.get_served_cert(n) for n in ALL}
        a.wait_staged(BAD_CERT, since=mark)
        a.wait_staged(BAD_KEY, since=mark)
        a.wait_for_log(r"job\.json", since=mark, timeout=30)
        ns.p2_log = a.log_text(mark)
        a.graceful()
        ns.p2_after = {n: a.wait_served(n)[0] for n in (BAD_CERT, BAD_KEY)}
        ns.p2_md_json_bad = _read(dom(BAD_MD, "md.json.bad"))
        ns.p2_md_json = json.loads(_read(dom(BAD_MD, "md.json")))
        a.stop()

        # phase 3: md_store.json truncated
        ns.store_json_before = _read(a.store_json)
        ns.store_json_broken = _truncate(a.store_json)
        _configure(a, ALL + [NO_KEY])
        mark = a.log_mark()
        a.start()
        ns.p3_served = {n: a.get_served_cert(n) for n in ALL}
        a.wait_for_log(r"%s.*md_store\.json" % NO_KEY.replace(".", r"\."), since=mark)
        ns.p3_log = a.log_text(mark)
        ns.p3_store_json = _read(a.store_json)
        a.stop()

        # phase 4: a valid md_store.json, but with another key
        other = json.loads(ns.store_json_before)
        other["key"] = base64.urlsafe_b64encode(os.urandom(48)).decode().rstrip("=")
        with open(a.store_json, "w") as f:
            json.dump(other, f)
        _configure(a, ALL + [REKEY])
        mark = a.log_mark()
        accounts = pebble.count_accounts_created()
        a.start()
        ns.p4_served = {n: a.get_served_cert(n) for n in ALL}
        a.wait_staged(REKEY, since=mark)
        ns.p4_log = a.log_text(mark)
        ns.p4_new_accounts = pebble.count_accounts_created() - accounts
        yield ns
    finally:
        a.stop()


def test_truncated_md_json_is_reported_kept_aside_and_md_still_served(corrupt):
    assert "domains/%s/md.json: corrupt JSON" % BAD_MD in corrupt.p2_log
    assert corrupt.p2_at_start[BAD_MD].serial_number == corrupt.serial[BAD_MD]
    # the broken file is kept for a look, md.json is the config again
    assert corrupt.p2_md_json_bad == corrupt.bad_md_json
    assert corrupt.p2_md_json["domains"] == [BAD_MD]


def test_corrupt_job_json_is_reported_naming_the_file(corrupt):
    assert "staging/%s/job.json: corrupt JSON" % BAD_JOB in corrupt.p2_log
    assert corrupt.p2_at_start[BAD_JOB].serial_number == corrupt.serial[BAD_JOB]


def test_truncated_certificate_is_reported_and_replaced(corrupt):
    assert corrupt.bad_cert in corrupt.p2_log
    # the fallback until a new certificate is there, then the new one
    assert not _issued(corrupt.p2_at_start[BAD_CERT])
    assert _issued(corrupt.p2_after[BAD_CERT])
    assert corrupt.p2_after[BAD_CERT].serial_number != corrupt.serial[BAD_CERT]


def test_garbage_private_key_is_reported_and_replaced(corrupt):
    assert "%s: not a valid private key" % corrupt.bad_key in corrupt.p2_log
    assert not _issued(corrupt.p2_at_start[BAD_KEY])
    assert _issued(corrupt.p2_after[BAD_KEY])


def test_other_mds_are_served_unchanged_next_to_corrupt_ones(corrupt):
    for n in (OK, BAD_MD, BAD_JOB):
        assert corrupt.p2_at_start[n].serial_number == corrupt.serial[n], n


def test_truncated_md_store_json_server_serves_all_and_keeps_the_file(corrupt):
    assert "md_store.json: not valid JSON" in corrupt.p3_log
    assert corrupt.p3_store_json == corrupt.store_json_broken
    for n in (OK, BAD_MD, BAD_JOB):
        assert corrupt.p3_served[n].serial_number == corrupt.serial[n], n
    for n in ALL:
        assert _issued(corrupt.p3_served[n]), n


def test_no_piece_of_a_broken_store_key_in_the_log(corrupt):
    text = corrupt.store_json_broken.decode()
    fragment = text.split('"key": "', 1)[1][:8]
    assert len(fragment) == 8
    assert fragment not in corrupt.apache.log_text()


def test_renewal_without_store_key_says_why(corrupt):
    lines = [l for l in corrupt.p3_log.splitlines() if NO_KEY in l and "store key" in l]
    assert lines, corrupt.p3_log[-3000:]


def test_store_key_that_does_not_decrypt_the_account_key_says_so(corrupt):
    assert "does not decrypt with the store key" in corrupt.p4_log
    assert "account.pem" in corrupt.p4_log
    # live keys are plain: still served; a new account replaces the old one
    for n in (OK, BAD_MD, BAD_JOB):
        assert corrupt.p4_served[n].serial_number == corrupt.serial[n], n
    assert corrupt.p4_new_accounts == 1
