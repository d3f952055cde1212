"""MDHttpProxy: all traffic to the CA goes through the configured proxy.

The CA URL names a loopback port where nothing listens; only the test's
proxies know to send tunnels for it to pebble. So a certificate can only be
obtained through a proxy, and an MD that goes direct fails.
"""
import os
import re
import types

import pytest

from mdtest import proxy as proxy_mod, util

PLAIN = "px-plain.test"     # the global MDHttpProxy (http://)
TLS = "px-tls.test"         # its own https:// proxy with MDHttpProxyCACertificateFile
DIRECT = "px-direct.test"   # MDHttpProxy none: goes direct and cannot reach the CA


@pytest.fixture(scope="module")
def proxied(e2e):
    dead_port = util.free_port()
    target = "127.0.0.1:%d" % dead_port
    redirect = {target: ("127.0.0.1", e2e.pebble.acme_port)}
    workdir = os.path.join(e2e.workdir, "proxies")
    plain = proxy_mod.ConnectProxy(workdir, redirect=redirect).start()
    tls = proxy_mod.ConnectProxy(workdir, tls=True, redirect=redirect).start()
    a = e2e.new_apache(name="proxied", ca_url="https://%s/dir" % target)
    conf = a.config()
    conf.add("MDHttpProxy %s" % plain.url)
    conf.add_md([PLAIN])
    conf.add_md([TLS], ["MDHttpProxy %s" % tls.url,
                        'MDHttpProxyCACertificateFile "%s"' % tls.ca_file])
    conf.add_md([DIRECT], ["MDHttpProxy none"])
    for name in (PLAIN, TLS, DIRECT):
        conf.add_vhost(name)
    conf.write()
    try:
        a.start()
        a.wait_staged(PLAIN)
        a.wait_staged(TLS)
        a.wait_for_log(r"%s.*%s" % (re.escape(DIRECT), re.escape(target)))
        yield types.SimpleNamespace(apache=a, plain=plain, tls=tls, target=target)
    finally:
        a.stop()
        plain.stop()
        tls.stop()


def _failed_attempts(a, md):
    return a.count_log(r"\[md:(warn|error)\].*%s" % re.escape(md))


def test_http_proxy_carries_all_ca_traffic(proxied):
    a = proxied.apache
    assert os.path.exists(a.staged_pubcert(PLAIN))
    tunnels = proxied.plain.tunnels()
    assert tunnels and set(tunnels) == {proxied.target}, tunnels
    assert proxied.plain.refused == []
    # the first attempt went through: nothing tried the CA directly first
    assert _failed_attempts(a, PLAIN) == 0, a.log_tail()


def test_https_proxy_per_md_with_its_ca_file(proxied):
    a = proxied.apache
    assert os.path.exists(a.staged_pubcert(TLS))
    assert proxied.tls.tls_handshakes >= 1
    tunnels = proxied.tls.tunnels()
    assert tunnels and set(tunnels) == {proxied.target}, tunnels
    assert proxied.tls.refused == []
    assert _failed_attempts(a, TLS) == 0, a.log_tail()


def test_http_proxy_none_goes_direct(proxied):
    a = proxied.apache
    assert not os.path.exists(a.staged_pubcert(DIRECT))
    assert _failed_attempts(a, DIRECT) >= 1
