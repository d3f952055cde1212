"""a2md next to a running server on the same store (one Apache, started
once for the whole file; the steps run in order):

  1. manual mode end to end: `MDRenewMode manual` for man.test, the server
     does not order; `a2md drive` (run as root) stages the certificate as
     the server's User; the server's automatic activation puts it live;
  2. `a2md status`/`list` agree with the store and the served certificate;
  3. `a2md revoke` of the auto MD: pebble's management interface says
     Revoked, and the running server renews it at once (the marker);
  4. `a2md revoke -k` of the manual MD: revoked by the certificate's key,
     the server leaves it alone, `a2md drive` replaces it;
  5. `a2md acme keychange`, then a successful order with the new key;
  6. a2md and the server working at the same time: a drive while the server
     restarts and answers status requests, and the store lock.
"""
import fcntl
import grp
import json
import os
import pwd
import re
import time
import types

import pytest
import requests

from mdtest import certs, status
from mdtest.a2md import A2md, EXIT_INPUT, EXIT_OK
from mdtest.proxy import ConnectProxy

pytestmark = pytest.mark.long

MAN = "man.test"
AUTO = "rev.test"
WWW = pwd.getpwnam("www-data").pw_uid
WWW_GID = grp.getgrnam("www-data").gr_gid


def serial_of(chain):
    """The leaf's serial as pebble's management interface names it (hex
    without leading zeros); md-status keeps whole bytes (status.serial_hex)."""
    return "%X" % chain[0].serial_number


def pebble_cert_status(pebble, serial_hex):
    r = requests.get("%s/cert-status-by-serial/%s" % (pebble.mgmt_url, serial_hex.lower()),
                     verify=pebble.ca_file, timeout=10)
    assert r.status_code == 200, (r.status_code, r.text)
    return r.json()


def owned_by_user(store):
    """Every file and directory in the User's part of the store is www-data's."""
    bad = []
    for group in ("accounts", "challenges", "staging"):
        top = os.path.join(store, group)
        for root, dirs, files in os.walk(top):
            for name in dirs + files:
                st = os.lstat(os.path.join(root, name))
                if st.st_uid != WWW or st.st_gid != WWW_GID:
                    bad.append((os.path.join(root, name), st.st_uid, st.st_gid))
    return bad


@pytest.fixture(scope="module")
def srv(e2e, pebble):
    a = e2e.new_apache(name="a2md-server")
    conf = a.config()
    conf.add_md([MAN], ["MDRenewMode manual"])
    conf.add_md([AUTO])
    conf.add_vhost(MAN)
    conf.add_vhost(AUTO)
    status.add_handlers(conf)
    conf.write()
    cli = A2md(a.store, pebble)
    try:
        a.start()
        yield types.SimpleNamespace(apache=a, cli=cli, pebble=pebble)
    finally:
        a.stop()


def test_a2md_manual_mode_end_to_end(srv):
    a, cli = srv.apache, srv.cli
    # the server renews the auto MD itself, never the manual one
    a.wait_staged(AUTO)
    assert not os.path.exists(a.staged_pubcert(MAN))
    assert not a.log_lines(r"MD12001: %s" % re.escape(MAN))

    r = cli.run("drive", MAN)
    assert r.rc == EXIT_OK, r
    staged = cli.md_json(MAN, group="staging")
    assert r.output == [staged]
    assert os.path.exists(a.staged_pubcert(MAN))
    assert owned_by_user(a.store) == []
    # the server's automatic activation puts it live (no restart by hand)
    chain = a.wait_served(MAN, timeout=150)
    ok, out = srv.pebble.verify_chain(chain, hostname=MAN)
    assert ok, out
    a.wait_served(AUTO, timeout=150)
    assert a.log_lines(r"MD13001: restarting the server gracefully")


def test_a2md_status_and_list_agree(srv):
    a, cli = srv.apache, srv.cli
    served = a.get_served_chain(MAN)
    j = cli.run("status", MAN).output[0]
    assert j["state"] == 2
    assert j["cert"]["rsa"]["serial"] == status.serial_hex(served[0])
    # the status handler of the server says the same about the certificate
    served_status = status.md_status(a, MAN)
    assert served_status["cert"]["rsa"]["serial"] == j["cert"]["rsa"]["serial"]
    listed = {o["name"]: o for o in cli.run("list").output}
    for name in (MAN, AUTO):
        stored = cli.md_json(name)
        for key, value in stored.items():
            if key not in ("state", "state-descr"):
                assert listed[name][key] == value, key
        assert listed[name]["state"] == 2 and listed[name]["renew"] is False
    r = cli.run("status", json=False)
    assert re.search(r"^man\.test\s+complete\s+rsa\s+\S+ \S+\s+manual\s+manual\s+-$", r.out,
                     re.M), r.out
    # md-status of the server and a2md give the same schedule (md_sched.h)
    assert served_status["renew-schedule"] == j["renew-schedule"]
    assert j["renew-schedule"]["reason"] == "manual"


def test_a2md_revoke_server_renews(srv):
    a, cli, pebble = srv.apache, srv.cli, srv.pebble
    old = a.get_served_chain(AUTO)
    serial = serial_of(old)
    shown = status.serial_hex(old[0])   # a2md shows whole bytes, as md-status
    assert pebble_cert_status(pebble, serial)["Status"] == "Valid"
    mark = a.log_mark()
    r = cli.run("revoke", AUTO, "keyCompromise")
    assert r.rc == EXIT_OK, r
    assert r.output == [{"name": AUTO, "reason": "keyCompromise",
                         "revoked": [{"serial": shown, "type": "rsa"}]}]
    st = pebble_cert_status(pebble, serial)
    assert st["Status"] == "Revoked", st
    assert st.get("Reason") in (1, None), st
    with open(os.path.join(a.staging_dir(AUTO), "revoked.json")) as f:
        marker = json.load(f)
    assert marker["revoked"][0]["serial"] == shown
    assert owned_by_user(a.store) == []
    # the running server renews at once (its 12 h check interval is not waited for)
    a.wait_for_log(r"MD12015: %s: the certificate was revoked" % re.escape(AUTO), since=mark,
                   timeout=60)
    a.wait_staged(AUTO, since=mark, timeout=120)
    a.graceful()
    new = a.wait_served(AUTO, predicate=lambda c: serial_of(c) != serial, timeout=60)
    assert pebble_cert_status(pebble, serial_of(new))["Status"] == "Valid"
    # activation took the marker away with staging
    assert not os.path.exists(os.path.join(a.staging_dir(AUTO), "revoked.json"))


def test_a2md_revoke_by_key_manual(srv):
    a, cli, pebble = srv.apache, srv.cli, srv.pebble
    served = a.get_served_chain(MAN)
    serial = serial_of(served)
    mark = a.log_mark()
    r = cli.run("revoke", "-k", MAN, json=False)
    assert r.rc == EXIT_OK, r
    assert r.out == "revoked: %s %s (rsa)\n" % (MAN, status.serial_hex(served[0]))
    assert pebble_cert_status(pebble, serial)["Status"] == "Revoked"
    rows = cli.run("status", MAN, json=False).out.splitlines()
    assert re.match(r"man\.test\s+revoked\s", rows[1]), rows
    # MDRenewMode manual: the server does not renew it; a2md drive does
    r = cli.run("drive", MAN)
    assert r.rc == EXIT_OK, r
    assert not a.log_lines(r"MD12015: %s" % re.escape(MAN), since=mark)
    a.graceful()
    new = a.wait_served(MAN, predicate=lambda c: serial_of(c) != serial, timeout=60)
    assert pebble_cert_status(pebble, serial_of(new))["Status"] == "Valid"


def test_a2md_keychange_then_order(srv):
    a, cli, pebble = srv.apache, srv.cli, srv.pebble
    acct = cli.md_json(MAN)["ca"]["account"]
    key_file = os.path.join(a.accounts_dir, acct, "account.pem")
    with open(key_file) as f:
        old_key = f.read()
    r = cli.run("acme", "keychange", acct)
    assert r.rc == EXIT_OK, r
    with open(key_file) as f:
        assert f.read() != old_key
    assert owned_by_user(a.store) == []
    before = pebble.count_orders_created()
    r = cli.run("drive", "--force", MAN)
    assert r.rc == EXIT_OK, r
    assert pebble.count_orders_created() == before + 1
    # the order was made by the same account, under its new key
    assert cli.md_json(MAN, group="staging")["ca"]["account"] == acct
    assert cli.run("acme", "validate", acct).rc == EXIT_OK


def test_a2md_drive_options(srv, e2e):
    """-p (through a proxy), -c, -r, -f, -v, -q, -u as drive takes them."""
    a, cli, pebble = srv.apache, srv.cli, srv.pebble
    proxy = ConnectProxy(e2e.workdir)
    proxy.start()
    try:
        r = cli.run("-vvv", "-p", proxy.url, "drive", "-r", "-f", "-c", "http-01", MAN)
    finally:
        proxy.stop()
    assert r.rc == EXIT_OK, r
    assert "127.0.0.1:%d" % int(pebble.directory_url.split(":")[2].split("/")[0]) \
        in proxy.tunnels()
    assert "[debug]" in r.err and "MD08010" in r.err
    assert owned_by_user(a.store) == []
    # up-to-date: nothing to do, said on stderr unless -q
    r = cli.run("drive", MAN)
    assert r.rc == EXIT_OK and "up-to-date" in r.err, r
    r = cli.run("-q", "drive", MAN)
    assert r.rc == EXIT_OK and r.err == "", r
    # bad values: input errors, nothing ordered
    before = pebble.count_orders_created()
    r = cli.run("drive", "-f", "-c", "tls-sni-01", MAN)
    assert r.rc == EXIT_INPUT and "-c: 'tls-sni-01' is not a challenge type" in r.err, r
    r = cli.run("-u", "nosuchuser", "drive", "-f", MAN)
    assert r.rc == EXIT_INPUT and "user 'nosuchuser' does not exist" in r.err, r
    r = cli.run("revoke", MAN, "cACompromise")
    assert r.rc == EXIT_INPUT, r
    r = cli.run("drive", "nope.test")
    assert r.rc == EXIT_INPUT, r
    assert pebble.count_orders_created() == before


def test_a2md_concurrent_with_server(srv):
    a, cli = srv.apache, srv.cli
    drive = cli.popen("drive", "-f", MAN)
    # while it orders: the server restarts and answers, a2md reads (at least
    # once each, however fast the drive is; as often as it lasts)
    a.graceful()
    while True:
        done = drive.poll() is not None
        assert cli.run("list").rc == EXIT_OK
        assert status.md_status(a, MAN)["name"] == MAN
        if done:
            break
    out, err = drive.communicate()
    assert drive.returncode == EXIT_OK, err
    assert json.loads(out)["output"][0]["name"] == MAN
    assert owned_by_user(a.store) == []
    a.graceful()
    a.wait_served(MAN, timeout=60)


def test_a2md_waits_for_store_lock(srv):
    """A server starting with MDStoreLocks holds store.lock: a2md waits for
    it before it writes, and goes on when it is free."""
    a, cli = srv.apache, srv.cli
    lock_path = os.path.join(a.store, "store.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)
        proc = cli.popen("update", AUTO, "renew-window", "21d")
        # observed for a second: it waits, nothing written
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            assert proc.poll() is None
            assert cli.md_json(AUTO)["renew-window"] != "21d"
            time.sleep(0.1)
        fcntl.lockf(fd, fcntl.LOCK_UN)
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(fd)
    assert proc.returncode == EXIT_OK, err
    assert cli.md_json(AUTO)["renew-window"] == "21d"
