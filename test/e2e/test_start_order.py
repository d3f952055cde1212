"""The MDs at start-up (issue 13): our module starts its MDs on a thread
beside mod_ssl's post_config, in the order of httpd's server list (the
order mod_ssl asks in), and mod_ssl's certificate hooks wait for the MD
they ask about (src/glue/mod_md_start.h). Every host must get what the
stock module gives it:

  live MDs       a certificate planted in domains/<md>/: served, no 503
                 (the site's own answer: 404, there is no index)
  new MDs        no certificate: a self-signed fallback and 503
  own.order.test an MD without certificate whose vhost has its own
                 SSLCertificateFile: the admin's certificate, no 503, and
                 no fallback made for it (our thread makes fallbacks ahead
                 only for hosts that will ask)
  unused.order.test  no vhost: started after the others (md.json written)

The MDs are declared in one order and their vhosts in another. Each module
runs the same config: a first start, then a graceful restart (the second
config pass on a known store). No CA: the CA URL is a closed port.
"""
import os

import pytest

from mdtest import STOCK_MD_MODULE, certs, static_certs, util

NAMES = ["m%02d.order.test" % i for i in range(1, 13)]
LIVE = NAMES[0::2]
NEW = NAMES[1::2]
OWN = "own.order.test"
UNUSED = "unused.order.test"
KEY_FILE, CERT_FILE = "privkey.secp256r1.pem", "pubcert.secp256r1.pem"


def _plant(a, files):
    """The live MDs' certificates in the store, as a module leaves them."""
    for name in LIVE:
        d = a.domain_dir(name)
        os.makedirs(d, mode=0o700, exist_ok=True)
        cert_pem, key_pem = files[name]
        with open(os.path.join(d, CERT_FILE), "wb") as f:
            f.write(cert_pem)
        with open(os.path.join(d, KEY_FILE), "wb") as f:
            f.write(key_pem)
        os.chmod(os.path.join(d, KEY_FILE), 0o600)


def _seen(a):
    """{host: (serial of the certificate served, HTTP status of GET /)}."""
    seen = {}
    for name in NAMES + [OWN]:
        cert = a.get_served_cert(name)
        seen[name] = (cert.serial_number, a.https_get(name).status)
    return seen


def _fallback_mds(a):
    """The MDs with a fallback certificate in the store."""
    domains = os.path.join(a.store, "domains")
    return sorted(n for n in os.listdir(domains)
                  if any(f.startswith("fallback-pubcert")
                         for f in os.listdir(os.path.join(domains, n))))


def _run(e2e, module, tag, files, own):
    a = e2e.new_apache(name="order-%s" % tag, module=module,
                       ca_url="https://127.0.0.1:%d/dir" % util.free_port())
    conf = a.config()
    conf.add("MDPrivateKeys secp256r1")
    for name in [NAMES[0], UNUSED] + NAMES[1:] + [OWN]:
        conf.add_md([name])
    for name in NAMES[6:] + list(reversed(NAMES[:6])):
        conf.add_vhost(name)
    conf.add_vhost(OWN, lines=["SSLCertificateFile %s" % own[0],
                               "SSLCertificateKeyFile %s" % own[1]])
    conf.write()
    _plant(a, files)
    try:
        a.start()
        first = _seen(a)
        a.graceful()
        second = _seen(a)
        fallbacks = _fallback_mds(a)
        unused_synced = os.path.exists(os.path.join(a.domain_dir(UNUSED), "md.json"))
    finally:
        a.stop()
    return first, second, fallbacks, unused_synced


@pytest.fixture(scope="module")
def runs(e2e):
    files = {}
    for name in LIVE:
        cert_pem, key_pem, cert = static_certs.make_static([name], key_type="ec")
        files[name] = (cert_pem, key_pem)
        files[name + ":serial"] = cert.serial_number
    cert_pem, key_pem, own_cert = static_certs.make_static([OWN], key_type="ec")
    own = static_certs.write_pair(os.path.join(e2e.workdir, "order-own"), "own",
                                  cert_pem, key_pem)
    return {
        "files": files,
        "own_serial": own_cert.serial_number,
        "stock": _run(e2e, STOCK_MD_MODULE, "stock", files, own),
        "ours": _run(e2e, None, "ours", files, own),
    }


@pytest.mark.parametrize("which", ["stock", "ours"])
def test_each_host_gets_its_certificate_in_any_order(runs, which):
    for seen in runs[which][:2]:
        for name in LIVE:
            serial, status = seen[name]
            assert serial == runs["files"][name + ":serial"], (which, name, seen)
            assert status != 503, (which, name, seen)
        for name in NEW:
            serial, status = seen[name]
            assert status == 503, (which, name, seen)
            assert serial not in runs["files"].values(), (which, name, seen)
        assert seen[OWN][0] == runs["own_serial"], (which, seen)
        assert seen[OWN][1] != 503, (which, seen)


@pytest.mark.parametrize("which", ["stock", "ours"])
def test_fallbacks_only_for_hosts_that_ask(runs, which):
    assert runs[which][2] == sorted(NEW), which


@pytest.mark.parametrize("which", ["stock", "ours"])
def test_md_without_vhost_is_started_too(runs, which):
    assert runs[which][3], which


def test_same_outcome_as_stock(runs):
    def outcome(run):
        return [{n: (s in (runs["files"].get(n + ":serial"), runs["own_serial"]), st)
                 for n, (s, st) in seen.items()} for seen in run[:2]] + list(run[2:])
    assert outcome(runs["ours"]) == outcome(runs["stock"])


BASE = "base.order.test"


def _run_base(e2e, module, tag):
    """MDBaseServer on, SSL in the server config and no vhosts: mod_ssl asks
    for the base server's fallback, which our thread has not made ahead
    (it does so for vhosts only): it is made when asked."""
    a = e2e.new_apache(name="order-base-%s" % tag, module=module,
                       ca_url="https://127.0.0.1:%d/dir" % util.free_port())
    conf = a.config()
    conf.add("MDBaseServer on", "MDPrivateKeys secp256r1", "ServerName %s" % BASE)
    conf.add_md([BASE])
    conf.add("SSLEngine on")
    conf.write()
    try:
        a.start()
        cert = a.get_served_cert(BASE)
        status = a.https_get(BASE).status
        fallbacks = _fallback_mds(a)
        unused_synced = os.path.exists(os.path.join(a.domain_dir(UNUSED), "md.json"))
    finally:
        a.stop()
    return certs.subject_cn(cert), certs.dns_sans(cert), status, fallbacks


@pytest.mark.parametrize("which", ["stock", "ours"])
def test_base_server_fallback_made_when_asked(e2e, which):
    cn, sans, status, fallbacks = _run_base(e2e, STOCK_MD_MODULE if which == "stock" else None,
                                            which)
    assert BASE in sans, (which, cn, sans)
    assert status == 503, which
    assert fallbacks == [BASE], which
