"""Fallback certificates per key type (issue 9, runtime report difference 1;
issue 13 for the cost): while an MD has no certificate, the self-signed
fallback must be one a client can take. The stock module makes one per key
spec of the MD, so an RSA-only TLS 1.2 client (a cipher list of aRSA suites
and RSA signatures only, as old clients and some validators have) completes
the handshake on an MD with the default (RSA) key; ours served only an EC
fallback and such a client failed.

Both modules, the same configuration, the CA unreachable (nothing is ever
issued, the fallbacks stay):
  rsa.test    the default key (RSA 2048)
  ec.test     MDPrivateKeys secp256r1
  both.test   MDPrivateKeys secp256r1 rsa2048
probed by an RSA-only and an ECDSA-only TLS 1.2 client. Ours makes one RSA
fallback key per store (RSA key generation is slow), not one per MD: the
test checks that too.
"""
import os
import re
import subprocess

import pytest

from mdtest import STOCK_MD_MODULE, certs, util

RSA = "rsa.test"
EC = "ec.test"
BOTH = "both.test"
ALL = (RSA, EC, BOTH)

# TLS 1.2, so that the cipher suite fixes the key type before anything else
RSA_ONLY = ["-tls1_2", "-cipher", "aRSA", "-sigalgs", "RSA+SHA256:RSA-PSS+SHA256"]
ECDSA_ONLY = ["-tls1_2", "-cipher", "aECDSA", "-sigalgs", "ECDSA+SHA256"]


def _probe(a, name, client):
    """(handshake completed, key type of the served leaf or None)."""
    proc = subprocess.run([certs.OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % a.https_port,
                           "-servername", name, "-showcerts"] + client,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    chain = certs.parse_pem_chain(proc.stdout)
    out = proc.stdout.decode("utf-8", "replace")
    done = proc.returncode == 0 and bool(re.search(r"Cipher is (?!\(NONE\))", out))
    return done, certs.key_type(chain[0]) if done and chain else None


def _run(e2e, module, name):
    closed = "https://127.0.0.1:%d/dir" % util.free_port()
    a = e2e.new_apache(name=name, module=module, ca_url=closed)
    conf = a.config()
    conf.add_md([RSA])
    conf.add_md([EC], ["MDPrivateKeys secp256r1"])
    conf.add_md([BOTH], ["MDPrivateKeys secp256r1 rsa2048"])
    for n in ALL:
        conf.add_vhost(n)
    conf.write()
    try:
        a.start()
        seen = {(n, c): _probe(a, n, client)
                for n in ALL for c, client in (("rsa", RSA_ONLY), ("ecdsa", ECDSA_ONLY))}
        # a graceful restart reuses the fallbacks
        a.graceful()
        again = {(n, c): _probe(a, n, client)
                 for n in ALL for c, client in (("rsa", RSA_ONLY), ("ecdsa", ECDSA_ONLY))}
        files = sorted(os.path.relpath(os.path.join(r, f), a.store)
                       for r, _, fs in os.walk(a.store) for f in fs if "fallback" in f)
        return seen, again, files, a.log_text()
    finally:
        a.stop()


@pytest.fixture(scope="module")
def runs(e2e):
    return {"stock": _run(e2e, STOCK_MD_MODULE, "fb-stock"),
            "ours": _run(e2e, None, "fb-ours")}


def test_rsa_only_client_gets_an_rsa_fallback_as_with_stock(runs):
    for who in ("stock", "ours"):
        seen = runs[who][0]
        assert seen[(RSA, "rsa")] == (True, "RSA-2048"), who
        assert seen[(BOTH, "rsa")] == (True, "RSA-2048"), who


def test_ecdsa_only_client_gets_an_ec_fallback_as_with_stock(runs):
    for who in ("stock", "ours"):
        seen = runs[who][0]
        assert seen[(EC, "ecdsa")] == (True, "EC-secp256r1"), who
        assert seen[(BOTH, "ecdsa")] == (True, "EC-secp256r1"), who


def test_same_handshake_outcomes_as_stock(runs):
    # every host, both clients, before and after a graceful restart
    assert runs["ours"][0] == runs["stock"][0]
    assert runs["ours"][1] == runs["stock"][1]


def test_one_rsa_fallback_key_per_store(runs):
    files = runs["ours"][2]
    keys = [f for f in files if "privkey" in f]
    # the shared keys at the store's base, one per type; certificates per MD and type
    assert sorted(keys) == ["fallback-privkey.pem", "fallback-privkey.rsa.pem"], files
    for n in (RSA, BOTH):
        assert os.path.join("domains", n, "fallback-pubcert.rsa.pem") in files, files
    assert os.path.join("domains", RSA, "fallback-pubcert.pem") not in files, files
