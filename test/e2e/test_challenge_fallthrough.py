"""Challenge types as the stock module uses them (issue 9, items 5 and 10):

  skipalpn.test  MDCAChallenges tls-alpn-01 http-01, but no host offers
                 acme-tls/1: tls-alpn-01 is skipped, http-01 gets it
  dnsfail.test   MDCAChallenges dns-01 http-01 with an MDChallengeDns01
                 program that cannot run when it is due (its interpreter is
                 missing): dns-01 fails, the next offered type gets it
  alpn.test      RSA and P-256 keys, tls-alpn-01 only: while the challenge
                 is up (MDMessageCmd holds "challenge-setup" until the test
                 says go), a validator that prefers RSA gets an RSA
                 acmeIdentifier certificate and one that prefers ECDSA an EC
                 one; nothing but the validation certificate is offered

  mismatch.test  MDCAChallenges tls-alpn-01, its host without acme-tls/1:
                 renewal.last.problem "challenge-mismatch"
  setupfail.test MDCAChallenges dns-01 with that failing program:
                 renewal.last.problem "challenge-setup-failure"

The same configuration runs with the stock module and with ours.
"""
import os
import subprocess
import types

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from mdtest import STOCK_MD_MODULE, status

SKIP = "skipalpn.test"
DNSFAIL = "dnsfail.test"
ALPN = "alpn.test"
MISMATCH = "mismatch.test"
SETUPFAIL = "setupfail.test"
ACME_IDENTIFIER = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")
PROBES = {
    # as Go's crypto/tls (Let's Encrypt's and pebble's validators): RSA-PSS first
    "prefers-rsa": ("rsa_pss_rsae_sha256:ecdsa_secp256r1_sha256",),
    "prefers-ec": ("ecdsa_secp256r1_sha256:rsa_pss_rsae_sha256",),
    "rsa-only": ("rsa_pss_rsae_sha256:rsa_pkcs1_sha256",),
    "ec-only": ("ecdsa_secp256r1_sha256",),
    "rsa-only-tls12": ("RSA+SHA256", "-tls1_2"),
    "ec-only-tls12": ("ECDSA+SHA256", "-tls1_2"),
    "prefers-rsa-tls12": ("RSA+SHA256:ECDSA+SHA256", "-tls1_2"),
}

MSG_SCRIPT = """#!/bin/sh
echo "$*" >> %(dir)s/calls.log
if [ "$1" = "challenge-setup:tls-alpn-01:%(md)s" ]; then
    touch %(dir)s/holding
    i=0
    while [ ! -f %(dir)s/go ] && [ $i -lt 500 ]; do sleep 0.1; i=$((i+1)); done
fi
exit 0
"""

# A program that exists (the config check passes) but cannot run when due.
DNS_SCRIPT = """#!/nonexistent/interpreter
exit 0
"""


def _probe(a, name, sigalgs, version="-tls1_3"):
    """The certificate a validator gets: ALPN acme-tls/1, these signature
    algorithms in this order of preference."""
    proc = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % a.https_port,
                           "-servername", name, "-alpn", "acme-tls/1", version,
                           "-sigalgs", sigalgs], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
    out = proc.stdout.decode("utf-8", "replace")
    start = out.find("-----BEGIN CERTIFICATE-----")
    if start < 0:
        return None
    end = out.find("-----END CERTIFICATE-----", start) + len("-----END CERTIFICATE-----")
    return x509.load_pem_x509_certificate(out[start:end].encode())


def _describe(cert):
    if cert is None:
        return None
    kind = ("RSA" if isinstance(cert.public_key(), rsa.RSAPublicKey)
            else "EC" if isinstance(cert.public_key(), ec.EllipticCurvePublicKey) else "?")
    try:
        cert.extensions.get_extension_for_oid(ACME_IDENTIFIER)
        return kind + "+acmeIdentifier"
    except x509.ExtensionNotFound:
        return kind


def _run(e2e, module, name):
    a = e2e.new_apache(name=name, module=module)
    d = os.path.join(e2e.workdir, name + "-files")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o777)
    for fname, text in (("msg.sh", MSG_SCRIPT % {"dir": d, "md": ALPN}),
                        ("dns.sh", DNS_SCRIPT)):
        with open(os.path.join(d, fname), "w") as f:
            f.write(text)
        os.chmod(os.path.join(d, fname), 0o755)
    conf = a.config()
    conf.add("MDMessageCmd %s" % os.path.join(d, "msg.sh"),
             "MDChallengeDns01 %s" % os.path.join(d, "dns.sh"))
    conf.add_md([SKIP], ["MDCAChallenges tls-alpn-01 http-01"])
    conf.add_md([DNSFAIL], ["MDCAChallenges dns-01 http-01"])
    conf.add_md([ALPN], ["MDCAChallenges tls-alpn-01", "MDPrivateKeys RSA P-256"])
    conf.add_md([MISMATCH], ["MDCAChallenges tls-alpn-01"])
    conf.add_md([SETUPFAIL], ["MDCAChallenges dns-01"])
    conf.add_vhost(SKIP)
    conf.add_vhost(DNSFAIL)
    conf.add_vhost(MISMATCH)
    conf.add_vhost(SETUPFAIL)
    conf.add_vhost(ALPN, lines=["Protocols http/1.1 acme-tls/1"])
    status.add_handlers(conf, server_status=False, metrics=False)
    conf.write()
    ns = types.SimpleNamespace(apache=a)
    try:
        a.start()
        a.wait_for(lambda: os.path.exists(os.path.join(d, "holding")), timeout=60,
                   what="the tls-alpn-01 challenge of %s to be set up" % ALPN)
        ns.probes = {what: _describe(_probe(a, ALPN, *args)) for what, args in PROBES.items()}
        with open(os.path.join(d, "go"), "w"):
            pass
        a.wait_staged(ALPN, timeout=90)
        a.wait_staged(SKIP, timeout=60)
        ns.dnsfail_staged = True
        try:
            a.wait_staged(DNSFAIL, timeout=60)
        except AssertionError:
            ns.dnsfail_staged = False
        for md in (MISMATCH, SETUPFAIL):
            a.wait_for(lambda: status.md_status(a, md).get("renewal", {}).get("last", {})
                       .get("problem"), timeout=60, what="a problem for %s" % md)
        ns.status = {md: status.md_status(a, md)
                     for md in (SKIP, DNSFAIL, ALPN, MISMATCH, SETUPFAIL)}
    finally:
        a.stop()
    return ns


@pytest.fixture(scope="module")
def both(e2e):
    stock = _run(e2e, STOCK_MD_MODULE, "fallthrough-stock")
    ours = _run(e2e, e2e.module, "fallthrough-ours")
    return types.SimpleNamespace(stock=stock, ours=ours)


@pytest.mark.parametrize("which", ["stock", "ours"])
def test_unusable_tls_alpn_is_skipped(both, which):
    run = getattr(both, which)
    assert run.status[SKIP]["renewal"]["finished"] is True


@pytest.mark.parametrize("which", ["stock", "ours"])
def test_tls_alpn_answers_a_client_preferring_rsa(both, which):
    """Go's crypto/tls (the validators of Let's Encrypt and pebble) lists
    RSA-PSS first."""
    probes = getattr(both, which).probes
    assert probes["prefers-rsa"] == "RSA+acmeIdentifier"
    assert probes["rsa-only"] == "RSA+acmeIdentifier"


def test_tls_alpn_answers_the_key_type_the_client_negotiates(both):
    """The stock module answers with the MD's first key type only: a
    validator preferring or only taking ECDSA gets a host certificate.
    Ours has one validation certificate per key type and answers each."""
    ours = both.ours.probes
    assert ours["prefers-ec"] == ours["ec-only"] == ours["ec-only-tls12"] \
        == "EC+acmeIdentifier"
    # TLS 1.2 picks the key type with the cipher suite, before ALPN: the
    # host's certificate decides (ours serves an EC fallback until the MD
    # has certificates), and the answer follows it
    assert ours["prefers-rsa-tls12"] == "EC+acmeIdentifier"
    stock = both.stock.probes
    assert stock["ec-only"] != "EC+acmeIdentifier"
    assert stock["rsa-only-tls12"] == "RSA+acmeIdentifier"


@pytest.mark.parametrize("which", ["stock", "ours"])
def test_next_type_after_a_failing_dns01_program(both, which):
    """dns-01 cannot run (its program's interpreter is missing): both move
    on to http-01 and get the certificate."""
    run = getattr(both, which)
    assert run.dnsfail_staged
    assert run.status[DNSFAIL]["renewal"]["finished"] is True


@pytest.mark.parametrize("which", ["stock", "ours"])
def test_problem_when_no_type_fits(both, which):
    last = getattr(both, which).status[MISMATCH]["renewal"]["last"]
    assert last["problem"] == "challenge-mismatch", last


@pytest.mark.parametrize("which", ["stock", "ours"])
def test_problem_when_no_type_can_be_set_up(both, which):
    last = getattr(both, which).status[SETUPFAIL]["renewal"]["last"]
    assert last["problem"] == "challenge-setup-failure", last
