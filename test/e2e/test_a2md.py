"""a2md without a server: the stock command line (store, add, list, update,
acme newreg/agree/validate/delreg), ours (status, help, acme keychange), the
-j envelope compared member by member with the store's md.json and
account.json, and the exit codes of bad input (1), usage (2), the CA (3)
and local failures (4). Only pebble runs; no Apache.
"""
import grp
import json
import os
import pwd
import re
import shutil
import subprocess

import pytest

from mdtest.a2md import (A2md, EXIT_INPUT, EXIT_LOCAL, EXIT_OK, EXIT_REMOTE,
                         EXIT_USAGE, copy_for_others)

# What list/add/update add to md.json: the assessed state and "renew".
ASSESSED = {"state", "state-descr", "renew"}


@pytest.fixture
def cli(e2e, pebble, request):
    d = os.path.join(e2e.workdir, "a2md-" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()))
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return A2md(os.path.join(d, "md"), pebble)


def same_as_stored(out, stored, extra=()):
    """Every member of the stored md.json is in the output with the same
    value; the output has nothing else but `extra`."""
    for key, value in stored.items():
        if key in extra:
            continue
        assert key in out, "member %r missing in a2md output" % key
        assert out[key] == value, "member %r: %r != %r" % (key, out[key], value)
    for key in out:
        assert key in stored or key in extra, "member %r not in md.json" % key


def envelope_ok(r, n=None):
    assert r.rc == EXIT_OK, r
    assert r.json["status"] == 0, r
    assert "description" not in r.json
    if n is not None:
        assert len(r.output) == n, r
    return r.output


def one_error_line(r):
    lines = [l for l in r.err.splitlines() if l.startswith("a2md: ")]
    assert lines, r
    return lines[0]


# --- interface ------------------------------------------------------------------

def test_a2md_version_help(cli):
    r = cli.raw("-V")
    assert r.rc == 0 and re.match(r"version: \d+\.\d+\.\d+", r.out), r
    r = cli.raw("--help")
    assert r.rc == 0 and "acme keychange" in r.out and "revoke" in r.out, r
    for args, want in ((["help", "drive"], "--force"), (["help", "acme", "newreg"], "registered:"),
                       (["drive", "-h"], "--reset"), (["help", "update"], "renew-window"),
                       (["help", "revoke"], "keyCompromise"), (["help", "status"], "md-status")):
        r = cli.raw(*args)
        assert r.rc == 0 and want in r.out, r


@pytest.mark.parametrize("args, msg", [
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["store", "frob"], "unknown command 'store frob'"),
    (["--frob", "list"], "unknown option '--frob'"),
    (["drive", "-x"], "unknown option '-x'"),
    (["store", "add"], "'store add' needs at least 1 argument"),
    (["status", "a", "b"], "'status' takes at most 1 argument"),
    (["store"], "'store' needs a command"),
    ([], "no command given"),
    (["help", "nope"], "no help for unknown command 'nope'"),
    (["-d"], "option '-d' needs a value (DIR)"),
])
def test_a2md_usage_errors(cli, args, msg):
    r = cli.raw(*args)
    assert r.rc == EXIT_USAGE, r
    assert one_error_line(r) == "a2md: " + msg, r
    assert "usage: a2md" in r.err


def test_a2md_usage_json_envelope(cli):
    r = cli.raw("-j", "frobnicate")
    assert r.rc == EXIT_USAGE
    assert r.json == {"status": 22, "output": [], "description": "Invalid argument"}


def test_a2md_needs_store_dir(cli):
    r = cli.raw("list")
    assert r.rc == EXIT_USAGE and "needs the store directory (-d DIR)" in r.err, r


# --- store ------------------------------------------------------------------------

def test_a2md_store_add_list_update_remove(cli, pebble):
    out = envelope_ok(cli.run("store", "add", "s.test", "www.s.test", "S.test"), 1)[0]
    stored = cli.md_json("s.test")
    assert out == stored
    assert stored["domains"] == ["s.test", "www.s.test"]
    assert stored["ca"]["url"] == pebble.directory_url
    assert stored["state"] == 0
    # the same name again: input error, nothing changed
    r = cli.run("store", "add", "s.test")
    assert r.rc == EXIT_INPUT and r.json["status"] != 0, r
    assert cli.md_json("s.test") == stored
    envelope_ok(cli.run("store", "add", "t.test"))
    listed = envelope_ok(cli.run("store", "list"), 2)
    assert sorted(o["name"] for o in listed) == ["s.test", "t.test"]
    for o in listed:
        assert o == cli.md_json(o["name"])
    # update: names, and the CA with -a
    out = envelope_ok(cli.run("store", "update", "s.test", "domains", "s.test", "x.s.test"), 1)[0]
    assert out == cli.md_json("s.test") and out["domains"] == ["s.test", "x.s.test"]
    cli.ca_url = "https://ca.example.org/dir"
    out = envelope_ok(cli.run("store", "update", "s.test"), 1)[0]
    assert out["ca"]["url"] == "https://ca.example.org/dir" == cli.md_json("s.test")["ca"]["url"]
    r = cli.run("store", "update", "s.test", "domains")
    assert r.rc == EXIT_INPUT, r
    r = cli.run("store", "update", "nope.test")
    assert r.rc == EXIT_INPUT and "nope.test: no such managed domain" in r.err, r
    # remove: missing names fail unless -f, with stock's envelope
    r = cli.run("store", "remove", "nope.test")
    assert r.rc == EXIT_INPUT
    assert r.json == {"status": 2, "description": "No such file or directory", "output": []}
    assert cli.run("store", "remove", "-f", "nope.test").json == {"status": 0, "output": []}
    envelope_ok(cli.run("store", "remove", "s.test"), 0)
    assert [o["name"] for o in envelope_ok(cli.run("store", "list"))] == ["t.test"]
    assert not os.path.exists(cli.path("domains", "s.test"))


def test_a2md_store_text_output(cli):
    r = cli.run("store", "add", "txt.test", "www.txt.test", json=False)
    assert r.rc == 0 and r.out == "md: txt.test [txt.test, www.txt.test]\n", r


# --- add / list / update ------------------------------------------------------------

def test_a2md_add_list(cli, pebble):
    out = envelope_ok(cli.run("add", "r.test", "www.r.test", "r.test"), 1)[0]
    same_as_stored(out, cli.md_json("r.test"), ASSESSED)
    assert out["state"] == 1 and out["renew"] is True     # no certificate yet
    assert out["domains"] == ["r.test", "www.r.test"]
    assert cli.run("list").json == cli.run("list", "r.test").json
    assert cli.run("list", "www.r.test").output[0]["name"] == "r.test"
    envelope_ok(cli.run("add", "sub.r.test"))
    assert [o["name"] for o in cli.run("list").output] == ["r.test", "sub.r.test"]
    r = cli.run("list", "nope.test")
    assert r.rc == EXIT_INPUT and r.json["status"] == 2, r


@pytest.mark.parametrize("names", [["r.test"], ["other.test", "www.r.test"], ["www.r.test"]])
def test_a2md_add_overlap(cli, names):
    envelope_ok(cli.run("add", "r.test", "www.r.test"))
    r = cli.run("add", *names)
    assert r.rc == EXIT_INPUT, r
    assert len(os.listdir(cli.path("domains"))) == 1


@pytest.mark.parametrize("bad", ["tld", "white sp.ace", "invalid.*.wildcard.com",
                                 "k\xc3ller.idn.com", "lead-.test"])
def test_a2md_add_bad_names(cli, bad):
    r = cli.run("add", "ok.test", bad)
    assert r.rc == EXIT_INPUT, r
    assert "is not a valid domain name" in one_error_line(r)
    assert not os.path.exists(cli.path("domains", "ok.test"))


def test_a2md_add_wildcard_ip(cli):
    envelope_ok(cli.run("add", "*.wild.test"))
    envelope_ok(cli.run("add", "127.0.0.1"))


UPDATES = [
    (["domains", "u.test", "foo.u.test"], lambda o: o["domains"] == ["u.test", "foo.u.test"]),
    (["ca", "https://ca.example.org/dir", "FOO"],
     lambda o: o["ca"]["url"] == "https://ca.example.org/dir" and o["ca"]["proto"] == "FOO"),
    (["account", "ACME-x-0001"], lambda o: o["ca"]["account"] == "ACME-x-0001"),
    (["contacts", "a@u.test", "mailto:b@u.test"],
     lambda o: o["contacts"] == ["mailto:a@u.test", "mailto:b@u.test"]),
    (["agreement", "accepted"], lambda o: o["ca"]["agreement"] == "accepted"),
    (["challenges", "dns-01", "http-01"], lambda o: o["ca"]["challenges"] == ["dns-01", "http-01"]),
    (["pkey", "RSA", "3072", "P-384"],
     # the stock module's member name, the curve as written
     lambda o: o["privkey"] == [{"type": "RSA", "bits": 3072}, {"type": "EC", "curve": "P-384"}]),
    (["renew-window", "30d"], lambda o: o["renew-window"] == "30d"),
    (["warn-window", "5%"], lambda o: o["warn-window"] == "5%"),
    (["renew-mode", "manual"], lambda o: o["renew-mode"] == 0),
    (["must-staple", "on"], lambda o: o["must-staple"] is True),
    (["require-https", "permanent"], lambda o: o["require-https"] == "permanent"),
    (["profile", "shortlived"], lambda o: o["profile"] == "shortlived"),
]


@pytest.mark.parametrize("args, check", UPDATES, ids=[u[0][0] for u in UPDATES])
def test_a2md_update(cli, args, check):
    envelope_ok(cli.run("add", "u.test"))
    out = envelope_ok(cli.run("update", "u.test", *args), 1)[0]
    assert check(out), out
    stored = cli.md_json("u.test")
    assert check(stored), stored
    same_as_stored(out, stored, ASSESSED)


def test_a2md_update_unset(cli):
    envelope_ok(cli.run("add", "u.test"))
    envelope_ok(cli.run("update", "u.test", "account", "ACME-x-0001"))
    envelope_ok(cli.run("update", "u.test", "agreement", "accepted"))
    assert "account" not in envelope_ok(cli.run("update", "u.test", "account"))[0]["ca"]
    assert "agreement" not in envelope_ok(cli.run("update", "u.test", "agreement"))[0]["ca"]
    assert "account" not in cli.md_json("u.test")["ca"]


def test_a2md_update_keeps_foreign_members(cli):
    envelope_ok(cli.run("add", "u.test"))
    path = cli.path("domains", "u.test", "md.json")
    j = cli.md_json("u.test")
    j["stock-only"] = {"x": 1}
    j["ca"]["stock-ca-only"] = "y"
    with open(path, "w") as f:
        json.dump(j, f)
    envelope_ok(cli.run("update", "u.test", "renew-window", "20d"))
    j = cli.md_json("u.test")
    assert j["stock-only"] == {"x": 1} and j["ca"]["stock-ca-only"] == "y"
    assert j["renew-window"] == "20d"


@pytest.mark.parametrize("args", [
    ["domains"], ["domains", "bad name"], ["ca", "no.schema/path"],
    ["ca", "http://white space/path"], ["ca", "http://bad.port:-1/path"],
    ["contacts"], ["contacts", "no.at.char"], ["contacts", "double@at@test.com"],
    ["contacts", "double..dot@test.com"], ["agreement", "no.schema/path"],
    ["challenges", "tls-sni-01"], ["pkey", "DSA"], ["renew-window", "101%"],
    ["must-staple", "maybe"], ["renew-mode", "sometimes"], ["frobnicate", "x"],
])
def test_a2md_update_bad_input(cli, args):
    envelope_ok(cli.run("add", "u.test", "v.test"))
    before = cli.md_json("u.test")
    r = cli.run("update", "u.test", *args)
    assert r.rc in (EXIT_INPUT, EXIT_USAGE), r
    assert r.json["status"] != 0
    assert len([l for l in r.err.splitlines() if l.startswith("a2md: ")]) == 1, r
    assert cli.md_json("u.test") == before


def test_a2md_update_overlap_and_missing(cli):
    envelope_ok(cli.run("add", "u.test"))
    envelope_ok(cli.run("add", "v.test"))
    r = cli.run("update", "u.test", "domains", "u.test", "v.test")
    assert r.rc == EXIT_INPUT and "v.test is in managed domain v.test already" in r.err, r
    r = cli.run("update", "nope.test", "domains", "nope.test")
    assert r.rc == EXIT_INPUT, r


def test_a2md_corrupt_md_json(cli):
    envelope_ok(cli.run("add", "good.test"))
    envelope_ok(cli.run("add", "bad.test"))
    with open(cli.path("domains", "bad.test", "md.json"), "w") as f:
        f.write("{ not json")
    # list shows what it can read; the broken one by name is an input error
    assert [o["name"] for o in envelope_ok(cli.run("list"))] == ["good.test"]
    r = cli.run("update", "bad.test", "renew-window", "3d")
    assert r.rc == EXIT_INPUT, r
    r = cli.run("drive", "bad.test")
    assert r.rc == EXIT_INPUT and "domains/bad.test/md.json" in one_error_line(r), r
    with open(cli.path("domains", "bad.test", "md.json")) as f:
        assert f.read() == "{ not json"


# --- status -------------------------------------------------------------------------

def test_a2md_status(cli):
    envelope_ok(cli.run("add", "st.test"))
    envelope_ok(cli.run("add", "st2.test"))
    envelope_ok(cli.run("update", "st2.test", "renew-mode", "manual"))
    r = cli.run("status", json=False)
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert lines[0].split()[:3] == ["NAME", "STATE", "KEYS"]
    assert lines[0].split()[-4:] == ["RENEW", "WHY", "LAST", "ERROR"], r.out
    # when the next attempt starts and why: the server's schedule (md_sched.h)
    assert re.match(r"st\.test\s+incomplete\s+rsa\s+-\s+now\s+no-certificate\s+-$",
                    lines[1]), r.out
    assert re.match(r"st2\.test\s+incomplete\s+rsa\s+-\s+manual\s+manual\s+-$",
                    lines[2]), r.out
    out = envelope_ok(cli.run("status"), 2)
    for o in out:
        # the md-status object: md.json members plus the status ones
        same_as_stored(o, cli.md_json(o["name"]), {"state", "state-descr", "cert", "renew-at",
                                                     "watched", "renew", "renewal",
                                                     "renew-schedule"})
        assert o["cert"] == {} and o["watched"] is True
    assert out[0]["renew-schedule"]["reason"] == "no-certificate"
    assert "at" in out[0]["renew-schedule"]
    assert out[1]["renew-schedule"]["reason"] == "manual"
    assert "at" not in out[1]["renew-schedule"]
    one = envelope_ok(cli.run("status", "st.test"), 1)[0]
    assert one["name"] == "st.test"
    assert cli.run("status", "nope.test").rc == EXIT_INPUT


# --- accounts -----------------------------------------------------------------------

def newreg(cli, *contacts):
    r = cli.run("-t", "accepted", "acme", "newreg", *contacts, json=False)
    assert r.rc == 0, r
    m = re.match(r"registered: (\S+)$", r.out.strip())
    assert m, r
    return m.group(1)


def test_a2md_acme_accounts(cli, pebble):
    acct = newreg(cli, "x@acct.test", "mailto:y@acct.test")
    j = cli.account_json(acct)
    assert j["registration"]["contact"] == ["mailto:x@acct.test", "mailto:y@acct.test"]
    assert j["status"] == "valid" and j["ca-url"] == pebble.directory_url
    # -j: the account object as account.json has it, with its name
    r = cli.run("-t", "accepted", "acme", "newreg", "z@acct.test")
    o = envelope_ok(r, 1)[0]
    assert o["id"] != acct
    stored = cli.account_json(o["id"])
    same_as_stored(o, stored, {"id"})
    # validate, agree: by the account's own CA (no -a needed)
    r = cli.run("acme", "validate", acct, json=False, ca=False)
    assert r.rc == 0 and r.out == "account valid: %s\n" % acct, r
    r = cli.run("acme", "agree", acct, json=False)
    assert r.rc == 0 and r.out.startswith("agreed terms-of-service: https://"), r
    assert cli.run("acme", "validate", "ACME-nope-0000").rc == EXIT_INPUT
    # delreg: deactivated at the CA, gone from the store; validate fails then
    r = cli.run("acme", "delreg", acct, json=False)
    assert r.rc == 0 and r.out == "deleted: %s\n" % acct, r
    assert not os.path.exists(cli.path("accounts", acct))
    assert cli.run("acme", "validate", acct).rc == EXIT_INPUT


def test_a2md_acme_validate_refused(cli):
    acct = newreg(cli, "v@acct.test")
    path = cli.path("accounts", acct, "account.json")
    j = cli.account_json(acct)
    j["url"] = j["url"] + "0"
    with open(path, "w") as f:
        json.dump(j, f)
    r = cli.run("acme", "validate", acct)
    assert r.rc == EXIT_REMOTE, r


def test_a2md_acme_newreg_errors(cli, pebble):
    # no agreement to pebble's terms of service
    r = cli.run("acme", "newreg", "x@acct.test")
    assert r.rc == EXIT_INPUT and "add -t accepted" in one_error_line(r), r
    for bad in ["no.at.char", "with blank@test.com", "missing.host@", "@missing.localpart.de",
                "double..dot@test.com", "double@at@test.com"]:
        r = cli.run("-t", "accepted", "acme", "newreg", bad)
        assert r.rc == EXIT_INPUT, r
    # the CA refuses a contact scheme it does not support
    r = cli.run("-t", "accepted", "acme", "newreg", "mehlto:xxx@acct.test")
    assert r.rc == EXIT_REMOTE, r
    # no CA
    r = cli.run("acme", "newreg", "x@acct.test", ca=False)
    assert r.rc == EXIT_USAGE, r
    assert not os.listdir(cli.path("accounts"))


def test_a2md_ca_down(cli):
    cli.ca_url = "https://127.0.0.1:1/dir"
    r = cli.run("-t", "accepted", "acme", "newreg", "x@acct.test")
    assert r.rc == EXIT_REMOTE, r
    line = one_error_line(r)
    assert "127.0.0.1:1" in line, r
    assert not os.listdir(cli.path("accounts"))


def test_a2md_acme_keychange(cli, pebble):
    acct = newreg(cli, "k@acct.test")
    key_file = cli.path("accounts", acct, "account.pem")
    with open(key_file) as f:
        old_key = f.read()
    o = envelope_ok(cli.run("acme", "keychange", acct), 1)[0]
    assert o["id"] == acct
    with open(key_file) as f:
        new_key = f.read()
    assert new_key != old_key and "ENCRYPTED PRIVATE KEY" in new_key
    assert not os.path.exists(cli.path("accounts", acct, "account.new.pem"))
    assert cli.run("acme", "validate", acct).rc == 0
    # the old key is refused by the CA now
    with open(key_file, "w") as f:
        f.write(old_key)
    assert cli.run("acme", "validate", acct).rc == EXIT_REMOTE
    with open(key_file, "w") as f:
        f.write(new_key)
    assert cli.run("acme", "validate", acct).rc == 0


def test_a2md_acme_keychange_resumes(cli):
    """A key change whose store update was lost (crash after the CA agreed):
    the pending key is there, account.pem still has the old one. Running it
    again completes it without asking the CA to change anything."""
    acct = newreg(cli, "k2@acct.test")
    key_file = cli.path("accounts", acct, "account.pem")
    with open(key_file) as f:
        old_key = f.read()
    envelope_ok(cli.run("acme", "keychange", acct))
    with open(key_file) as f:
        new_key = f.read()
    shutil.copy(key_file, cli.path("accounts", acct, "account.new.pem"))
    with open(key_file, "w") as f:
        f.write(old_key)
    envelope_ok(cli.run("acme", "keychange", acct))
    with open(key_file) as f:
        assert f.read() != old_key
    assert not os.path.exists(cli.path("accounts", acct, "account.new.pem"))
    assert cli.run("acme", "validate", acct).rc == 0


# --- users ----------------------------------------------------------------------------

def test_a2md_as_user_on_roots_store(cli, e2e):
    """A store of a server started as root: its key file is root's. As the
    server's User, a2md fails with one line and changes nothing."""
    envelope_ok(cli.run("add", "usr.test"))
    before = sorted(os.listdir(cli.path()))
    binary = copy_for_others(os.path.dirname(cli.store_dir))
    os.chmod(os.path.dirname(cli.store_dir), 0o755)
    r = subprocess.run(["runuser", "-u", "www-data", "--", binary, "-d", cli.store_dir, "list"],
                       capture_output=True, text=True)
    assert r.returncode == EXIT_LOCAL, r
    assert r.stderr.count("a2md: ") == 1 and "run a2md as root" in r.stderr, r.stderr
    assert sorted(os.listdir(cli.path())) == before


# --- broken stores ----------------------------------------------------------------------

def test_a2md_missing_store(cli):
    """Reading a store that is not there is an input error that creates
    nothing (a mistyped -d); adding something makes a new store."""
    for args in (["list"], ["status"], ["store", "list"], ["drive", "x.test"],
                 ["acme", "validate", "ACME-x-0000"], ["revoke", "x.test"]):
        r = cli.run(*args)
        assert r.rc == EXIT_INPUT, r
        assert "there is no store" in one_error_line(r)
        assert not os.path.exists(cli.store_dir)
    envelope_ok(cli.run("add", "new.test"))
    assert os.path.exists(cli.path("md_store.json"))


def test_a2md_corrupt_store_key(cli):
    """A corrupt md_store.json: what needs the store key fails with one line
    naming the file; the file is left as it is."""
    envelope_ok(cli.run("add", "k.test"))
    with open(cli.path("md_store.json"), "w") as f:
        f.write("{ broken")
    r = cli.run("drive", "k.test")
    assert r.rc == EXIT_LOCAL, r
    assert "md_store.json" in one_error_line(r), r
    r = cli.run("-t", "accepted", "acme", "newreg", "x@k.test")
    assert r.rc != EXIT_OK, r
    with open(cli.path("md_store.json")) as f:
        assert f.read() == "{ broken"
    assert not os.listdir(cli.path("accounts"))
    # what does not need the key still works
    assert [o["name"] for o in envelope_ok(cli.run("list"))] == ["k.test"]


def test_a2md_corrupt_account(cli):
    acct = newreg(cli, "c@acct.test")
    with open(cli.path("accounts", acct, "account.json"), "w") as f:
        f.write("[]")
    r = cli.run("acme", "validate", acct)
    assert r.rc == EXIT_INPUT and acct in one_error_line(r), r


def test_a2md_as_user_own_store(cli, pebble):
    """A server that runs as one user throughout: a2md run as that user
    works on its store, and what it writes is that user's."""
    top = os.path.dirname(cli.store_dir)
    os.chmod(top, 0o755)
    os.chown(top, pwd.getpwnam("www-data").pw_uid, grp.getgrnam("www-data").gr_gid)
    binary = copy_for_others(top)
    user = A2md(cli.store_dir, pebble, binary=binary)
    prefix = ["runuser", "-u", "www-data", "--"]
    envelope_ok(user.run("add", "own.test", prefix=prefix))
    envelope_ok(user.run("update", "own.test", "contacts", "o@own.test", prefix=prefix))
    r = user.run("-t", "accepted", "acme", "newreg", "o@own.test", prefix=prefix, json=False)
    assert r.rc == 0, r
    uid = pwd.getpwnam("www-data").pw_uid
    for root, dirs, files in os.walk(cli.store_dir):
        for name in dirs + files:
            assert os.lstat(os.path.join(root, name)).st_uid == uid, os.path.join(root, name)
