"""MDRequireHttps: plain http for a managed name is redirected to https
with the right code for the method (temporary 302/307, permanent 301/308),
ACME challenges never are, and "permanent" adds HSTS to https responses
unless the site sets its own.

One server: the global MDRequireHttps is temporary; perm.test and own.test
say permanent (own.test sets its own Strict-Transport-Security with
mod_headers), plain.test says off, nocert.test (manual, so without
certificate) is permanent but has no https to send anyone to.
"""
import types

import pytest

from mdtest import status

TEMP = "temp.test"
PERM = "perm.test"
OWN = "own.test"
PLAIN = "plain.test"
NOCERT = "nocert.test"
ISSUED = (TEMP, PERM, OWN, PLAIN)
HSTS = "Strict-Transport-Security"
PATH = "/index.html?x=1&y=%2F"


@pytest.fixture(scope="module")
def https(e2e):
    a = e2e.new_apache(name="require-https")
    conf = a.config()
    conf.add("LoadModule headers_module /usr/lib/apache2/modules/mod_headers.so")
    conf.add("MDRequireHttps temporary")
    conf.add_md([TEMP])
    conf.add_md([PERM], ["MDRequireHttps permanent"])
    conf.add_md([OWN], ["MDRequireHttps permanent"])
    conf.add_md([PLAIN], ["MDRequireHttps off"])
    conf.add_md([NOCERT], ["MDRequireHttps permanent", "MDRenewMode manual"])
    for name in (TEMP, PERM, PLAIN, NOCERT):
        conf.add_vhost(name, http=True)
    conf.add_vhost(OWN, http=True,
                   lines=['Header always set %s "max-age=60"' % HSTS])
    conf.write()
    try:
        a.start()
        for name in ISSUED:
            a.wait_staged(name)
        before = status.request(a, "GET", TEMP, PATH)
        a.graceful()
        for name in ISSUED:
            a.wait_served(name)
        yield types.SimpleNamespace(apache=a, before=before)
    finally:
        a.stop()


@pytest.mark.parametrize("name,method,code", [
    (TEMP, "GET", 302), (TEMP, "HEAD", 302), (TEMP, "POST", 307), (TEMP, "PUT", 307),
    (TEMP, "DELETE", 307),
    (PERM, "GET", 301), (PERM, "HEAD", 301), (PERM, "POST", 308), (PERM, "PUT", 308),
])
def test_http_is_redirected_to_https(https, name, method, code):
    r = status.request(https.apache, method, name, PATH,
                       body=b"a=b" if method in ("POST", "PUT") else None)
    assert r.status == code, (method, r.status, r.headers)
    assert r.headers["Location"] == "https://%s%s" % (name, PATH)


def test_redirect_target_serves_the_page(https):
    r = status.request(https.apache, "GET", PERM, "/index.html")
    assert r.status == 301
    # the client reaches https at the port MDPortMap maps 443 to
    r2 = https.apache.https_get(PERM, r.headers["Location"].split(PERM, 1)[1])
    assert r2.status == 200 and "md e2e test" in r2.text


@pytest.mark.parametrize("name", [TEMP, PERM])
def test_acme_challenge_path_is_never_redirected(https, name):
    r = status.request(https.apache, "GET", name, "/.well-known/acme-challenge/unknownToken")
    assert r.status == 404, (r.status, r.headers)
    assert "Location" not in r.headers


def test_off_and_no_certificate_are_not_redirected(https):
    for name in (PLAIN, NOCERT):
        r = status.request(https.apache, "GET", name, "/index.html")
        assert r.status == 200, (name, r.status, r.headers)


def test_no_redirect_before_the_certificate_is_live(https):
    # still on the fallback certificate (503 over https): http keeps serving
    assert https.before.status == 200, https.before.headers


@pytest.mark.parametrize("path,code", [("/index.html", 200), ("/missing.html", 404)])
def test_permanent_adds_hsts_to_https_responses(https, path, code):
    r = status.request(https.apache, "GET", PERM, path, https=True)
    assert r.status == code
    assert [v for k, v in r.header_list if k.lower() == HSTS.lower()] == ["max-age=15768000"]


def test_hsts_set_by_the_site_is_kept(https):
    r = status.request(https.apache, "GET", OWN, "/index.html", https=True)
    assert r.status == 200
    assert [v for k, v in r.header_list if k.lower() == HSTS.lower()] == ["max-age=60"]


def test_temporary_and_http_have_no_hsts(https):
    for name, secure in ((TEMP, True), (PLAIN, True), (PLAIN, False)):
        r = status.request(https.apache, "GET", name, "/index.html", https=secure)
        assert r.status == 200
        assert HSTS not in r.headers, (name, secure)
