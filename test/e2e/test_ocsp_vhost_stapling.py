"""MDStapling and MDStapleOthers inside a <VirtualHost>, with the stock
module and ours on the same configurations.

The stock module uses a vhost's own values for the certificates of that
vhost that are not from an MD (SSLCertificateFile): it staples them when
the vhost's effective MDStapling and MDStapleOthers are both on; a vhost
that sets neither inherits the server config's values. An MD's certificate
is stapled when the MD's MDStapling is on, and (stock) also when it is off
but the vhost's effective values say so; ours then staples only when the
vhost sets MDStapling on itself, not when it inherits it from the server
config (a difference kept on purpose: the MD section's "off" wins over the
server config's "on", see test_ocsp_stapling.py and the README). Each vhost here
has a certificate of its own, issued with pebble's intermediate by our
test OCSP responder (mdtest/ocsp_responder.py), which answers for it.

  config 1 (server: MDStapling off)
    both.test     MDStapling on, MDStapleOthers on  -> stapled
    stapling.test MDStapling on (MDStapleOthers from the server: on)
                                                    -> stapled
    othersoff.test MDStapling on, MDStapleOthers off -> not stapled
    none.test     nothing (server's off)            -> not stapled
    mdon.test     an MD (MDCertificateFile) with MDStapling on in its
                  section, MDStapling off in the vhost -> stapled
    mdoff.test    an MD (MDCertificateFile, MDStapling off from the
                  server), MDStapling on, MDStapleOthers on in the vhost
                                                    -> stapled
  config 2 (server: MDStapling on, MDStapleOthers off)
    both.test     MDStapleOthers on                 -> stapled
    stapling.test MDStapling off, MDStapleOthers on -> not stapled
    none.test     nothing (server's: others off)    -> not stapled
    mdsecoff.test an MD with MDStapling off in its section, MDStapleOthers
                  on in the vhost (MDStapling on from the server)
                                  -> stock: stapled; ours: not (on purpose)

Which vhost's handshake carries a response (`openssl s_client -status`)
must be the same with both modules (and as listed). Responses are fetched
in the background: the stapled vhosts are waited for first, then the
others are asked.
"""
import os
import types

import pytest

from mdtest import STOCK_MD_MODULE
from mdtest.ocsp_responder import OcspResponder, served_staple

BOTH = "both.test"
STAPLING = "stapling.test"
OTHERS_OFF = "othersoff.test"
NONE = "none.test"
MD_ON = "mdon.test"
MD_OFF = "mdoff.test"
MD_SECTION_OFF = "mdsecoff.test"
HOSTS = (BOTH, STAPLING, OTHERS_OFF, NONE, MD_ON, MD_OFF, MD_SECTION_OFF)

CONFIGS = {
    1: {
        "server": ["MDStapling off"],
        "vhosts": {
            BOTH: ["MDStapling on", "MDStapleOthers on"],
            STAPLING: ["MDStapling on"],
            OTHERS_OFF: ["MDStapling on", "MDStapleOthers off"],
            NONE: [],
            MD_ON: ["MDStapling off"],
            MD_OFF: ["MDStapling on", "MDStapleOthers on"],
        },
        "mds": {MD_ON: ["MDStapling on"], MD_OFF: []},
        "expected": {BOTH: True, STAPLING: True, OTHERS_OFF: False, NONE: False,
                     MD_ON: True, MD_OFF: True},
    },
    2: {
        "server": ["MDStapling on", "MDStapleOthers off"],
        "vhosts": {
            BOTH: ["MDStapleOthers on"],
            STAPLING: ["MDStapling off", "MDStapleOthers on"],
            NONE: [],
            MD_SECTION_OFF: ["MDStapleOthers on"],
        },
        "mds": {MD_SECTION_OFF: ["MDStapling off"]},
        "expected": {BOTH: True, STAPLING: False, NONE: False},
        # differs on purpose: {host: (stock, ours)}
        "differs": {MD_SECTION_OFF: (True, False)},
    },
}


def _static_certs(a, responder):
    """{host: (cert file, key file)}, one certificate per host."""
    d = os.path.join(a.root, "static")
    os.makedirs(d, exist_ok=True)
    files = {}
    for host in HOSTS:
        chain, key = responder.issue([host], must_staple=False)
        cert_file = os.path.join(d, "%s.pem" % host)
        key_file = os.path.join(d, "%s.key" % host)
        with open(cert_file, "wb") as f:
            f.write(chain)
        with open(key_file, "wb") as f:
            f.write(key)
        os.chmod(key_file, 0o600)
        files[host] = (cert_file, key_file)
    return files


def _config(a, files, n):
    spec = CONFIGS[n]
    conf = a.config()
    conf.add(*spec["server"])
    mds = spec.get("mds", {})
    for md, lines in mds.items():
        cert_file, key_file = files[md]
        conf.add_md([md], ["MDCertificateFile %s" % cert_file,
                           "MDCertificateKeyFile %s" % key_file] + lines)
    for host, lines in spec["vhosts"].items():
        cert_file, key_file = files[host]
        own = [] if host in mds else ["SSLCertificateFile %s" % cert_file,
                                      "SSLCertificateKeyFile %s" % key_file]
        conf.add_vhost(host, lines=own + lines)
    conf.write()


def _expected(n, module):
    """{host: stapled?} for config n with module "stock" or "ours"."""
    out = dict(CONFIGS[n]["expected"])
    for host, both in CONFIGS[n].get("differs", {}).items():
        out[host] = both[0] if module == "stock" else both[1]
    return out


def _stapled(a, n, module):
    """{host: the stapled response's status, or None} for config n."""
    expected = _expected(n, module)
    out = {}
    for host in [h for h in expected if expected[h]]:
        out[host] = a.wait_for(lambda: served_staple(a.https_port, host), timeout=60,
                               what="an OCSP response stapled for %s" % host).status
    for host in [h for h in expected if not expected[h]]:
        st = served_staple(a.https_port, host)
        out[host] = st.status if st else None
    return out


def _run(e2e, responder, name, module=None):
    which = "stock" if module else "ours"
    a = e2e.new_apache(name=name, module=module)
    files = _static_certs(a, responder)
    result = {}
    try:
        for n in sorted(CONFIGS):
            _config(a, files, n)
            a.start()
            try:
                result[n] = _stapled(a, n, which)
                result[n]["log"] = a.log_text()
                ocsp_dir = os.path.join(a.store, "ocsp")
                result[n]["dirs"] = sorted(os.listdir(ocsp_dir)) \
                    if os.path.isdir(ocsp_dir) else []
            finally:
                a.stop()
    finally:
        a.stop()
    return result


@pytest.fixture(scope="module")
def runs(e2e):
    responder = OcspResponder(pebble=e2e.pebble, validity=3600)
    responder.start()
    try:
        ns = types.SimpleNamespace()
        ns.stock = _run(e2e, responder, "vstaple-stock", module=STOCK_MD_MODULE)
        ns.ours = _run(e2e, responder, "vstaple-ours")
        yield ns
    finally:
        responder.stop()


@pytest.mark.parametrize("n", sorted(CONFIGS))
def test_vhost_stapling_as_stock(runs, n):
    for which, run in (("stock", runs.stock), ("ours", runs.ours)):
        expected = _expected(n, which)
        got = {h: run[n][h] for h in expected}
        assert got == {h: ("good" if expected[h] else None) for h in expected}, (which, got)


def test_store_dirs_as_stock(runs):
    """Responses are kept where stock keeps them: under the MD's name for
    an MD's certificate (also when the vhost's values staple it), under
    "other" for the rest."""
    for n in CONFIGS:
        differs = set(CONFIGS[n].get("differs", {}))
        stock = [d for d in runs.stock[n]["dirs"] if d not in differs]
        ours = [d for d in runs.ours[n]["dirs"] if d not in differs]
        assert stock == ours, (n, runs.stock[n]["dirs"], runs.ours[n]["dirs"])
    assert MD_OFF in runs.ours[1]["dirs"] and "other" in runs.ours[1]["dirs"]


def test_no_no_effect_warning(runs):
    """The directives count in a vhost: no "has no effect" warning for them."""
    for n in CONFIGS:
        assert "has no effect" not in runs.ours[n]["log"]
