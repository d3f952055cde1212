"""Modes, owners and encryption of every file in the store, as the stock
module keeps them, for a server started as root with `User www-data`:

- md_store.json holds a random 48-byte key, mode 0600, owned by root;
- private keys in accounts/, staging/ and archive/ are PKCS#8 PEM
  encrypted with AES-256-CBC under that key; live keys in domains/ are plain
  but readable by root only;
- challenges/, staging/ and accounts/ belong to www-data (the child writes
  there); domains/, archive/ and tmp/ are root's alone;
- no key, key material or the store key appear in the error log, even at
  LogLevel md:trace8.
"""
import base64
import grp
import json
import os
import pwd
import stat
import subprocess
import types

import pytest
from cryptography.hazmat.primitives import serialization

from mdtest import status

MD = "perm.test"           # renews at every start: something is always staged
OTHER = "perm2.test"

WWW = pwd.getpwnam("www-data").pw_uid
WWW_GID = grp.getgrnam("www-data").gr_gid


def _walk(top):
    for root, dirs, files in os.walk(top):
        for d in dirs:
            yield os.path.join(root, d)
        for f in files:
            yield os.path.join(root, f)


def _mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def _owner(path):
    return os.lstat(path).st_uid


def _is_key_file(path):
    with open(path, "rb") as f:
        return b"PRIVATE KEY-----" in f.read()


@pytest.fixture(scope="module")
def store(e2e):
    a = e2e.new_apache(name="perm", log_level="md:trace8")
    conf = a.config()
    conf.add_md([MD], ["MDRenewWindow 3000d"])
    conf.add_md([OTHER])
    conf.add_vhost(MD)
    conf.add_vhost(OTHER)
    status.add_handlers(conf)
    conf.write()
    try:
        a.start()
        a.wait_staged(MD)
        a.wait_staged(OTHER)
        a.graceful()           # activation: the fallback sets go to archive/
        a.wait_served(MD)
        a.wait_served(OTHER)
        mark = a.log_mark()
        a.wait_staged(MD, since=mark)
        # Activation again: the first real set (with its key) goes to archive/
        # as perm.test.2; fallbacks have no key of their own to archive.
        a.graceful()
        a.wait_served(MD)
        mark = a.log_mark()
        a.wait_staged(MD, since=mark)   # staged again, keys in staging/
        with open(a.store_json) as f:
            key = base64.urlsafe_b64decode(json.load(f)["key"] + "==")
        outputs = [status.get(a, "/md-status").text, status.get(a, "/md-metrics").text,
                   status.get(a, "/server-status").text,
                   status.get(a, "/md-status/%s" % MD).text]
        yield types.SimpleNamespace(apache=a, base=a.store, key=key, outputs=outputs)
    finally:
        a.stop()


def test_store_key_is_48_random_bytes_in_a_root_only_file(store):
    path = os.path.join(store.base, "md_store.json")
    assert len(store.key) == 48
    assert _mode(path) == 0o600
    assert _owner(path) == 0


def test_group_directories_have_stock_modes_and_owners(store):
    expect = {
        "accounts": (0o700, WWW),
        "challenges": (0o755, WWW),
        "staging": (0o755, WWW),
        "domains": (0o700, 0),
        "archive": (0o700, 0),
        "tmp": (0o700, 0),
    }
    for name, (mode, owner) in expect.items():
        path = os.path.join(store.base, name)
        assert (_mode(path), _owner(path)) == (mode, owner), name


def test_child_owned_groups_belong_to_user_entirely(store):
    for group in ("accounts", "staging", "challenges"):
        for path in _walk(os.path.join(store.base, group)):
            assert _owner(path) == WWW, path
            assert os.lstat(path).st_gid == WWW_GID, path


def test_root_only_groups_hold_nothing_for_anyone_else(store):
    for group in ("domains", "archive", "tmp"):
        for path in _walk(os.path.join(store.base, group)):
            assert _owner(path) == 0, path
            assert _mode(path) & 0o077 == 0, "%s has mode %o" % (path, _mode(path))


def test_nothing_in_the_store_is_world_writable(store):
    for path in _walk(store.base):
        assert _mode(path) & 0o002 == 0, path


def test_live_keys_are_plain_and_root_only(store):
    d = os.path.join(store.base, "domains", MD)
    key = os.path.join(d, "privkey.pem")
    with open(key, "rb") as f:
        pem = f.read()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    serialization.load_pem_private_key(pem, password=None)
    assert _mode(key) == 0o600 and _owner(key) == 0


def _check_encrypted(path, store_key):
    with open(path, "rb") as f:
        pem = f.read()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----"), path
    # PKCS#8 with PBES2 and AES-256-CBC, the passphrase the store key bytes
    out = subprocess.run(["openssl", "asn1parse", "-in", path], capture_output=True,
                         check=True, text=True).stdout
    assert "aes-256-cbc" in out, out
    serialization.load_pem_private_key(pem, password=store_key)
    assert _mode(path) == 0o600, "%s has mode %o" % (path, _mode(path))


def test_keys_outside_domains_are_encrypted_with_the_store_key(store):
    seen = {"accounts": 0, "staging": 0, "archive": 0}
    for group in seen:
        for path in _walk(os.path.join(store.base, group)):
            if os.path.isfile(path) and _is_key_file(path):
                _check_encrypted(path, store.key)
                seen[group] += 1
    assert all(seen.values()), "no key files found in some group: %s" % seen


def test_archive_holds_the_replaced_set_with_encrypted_keys(store):
    arch = os.path.join(store.base, "archive", MD + ".2")
    names = os.listdir(arch)
    assert "md.json" in names
    keys = [n for n in names if _is_key_file(os.path.join(arch, n))]
    assert keys, names
    for n in keys:
        _check_encrypted(os.path.join(arch, n), store.key)


def _secrets(store):
    """The store key (base64url and a prefix) and every line of every key
    file's PEM body."""
    key64 = base64.urlsafe_b64encode(store.key).decode().rstrip("=")
    found = ["PRIVATE KEY", key64, key64[:16]]
    for path in _walk(store.base):
        if os.path.isfile(path) and _is_key_file(path):
            with open(path) as f:
                found += [l.strip() for l in f if l.strip() and "-----" not in l]
    return found


def test_no_key_material_in_status_outputs(store):
    assert "perm.test" in store.outputs[0]
    for text in store.outputs:
        for secret in _secrets(store):
            assert secret not in text


def test_no_key_material_in_the_log_at_trace8(store):
    log = store.apache.log_text()
    assert "trace8" in log or "[md:trace" in log, "the log is not at trace level"
    assert "PRIVATE KEY" not in log
    key64 = base64.urlsafe_b64encode(store.key).decode().rstrip("=")
    assert key64 not in log
    assert key64[:16] not in log
    # no line of any key's PEM body (plain or encrypted)
    for path in _walk(store.base):
        if os.path.isfile(path) and _is_key_file(path):
            with open(path) as f:
                body = [l.strip() for l in f if l.strip() and "-----" not in l]
            for line in body:
                assert line not in log, "a line of %s is in the log" % path
