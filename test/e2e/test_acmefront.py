"""The test front for pebble (mdtest.acmefront) does what its README
promises: features are read from the directory, pebble's URLs are rewritten
to the front's, and injected errors and headers reach the client. Other
suites rely on it, so it is checked without Apache.
"""
import os

import pytest
import requests

from mdtest import acmefront


@pytest.fixture
def front(e2e):
    f = acmefront.AcmeFront(os.path.join(e2e.workdir, "front-selftest"), e2e.pebble).start()
    try:
        yield f
    finally:
        f.stop()


def test_acmefront_adds_what_the_directory_lacks(front, pebble):
    # what the suite relies on the front for: pebble itself offers neither
    raw = acmefront.ca_features(pebble.directory_url, pebble.ca_file)
    assert not raw["ari"] and raw["profiles"] == []
    front.profiles = {"classic": "x", "shortlived": "y"}
    got = acmefront.ca_features(front.directory_url, front.ca_file)
    assert got["ari"] and got["profiles"] == ["classic", "shortlived"]
    front.ari = False
    front.profiles = None
    got = acmefront.ca_features(front.directory_url, front.ca_file)
    assert not got["ari"] and got["profiles"] == []


def test_acmefront_rewrites_pebble_urls(front, pebble):
    d = requests.get(front.directory_url, verify=front.ca_file, timeout=10).json()
    for key in ("newNonce", "newAccount", "newOrder", "renewalInfo"):
        assert d[key].startswith(front.base_url), d
    r = requests.head(d["newNonce"], verify=front.ca_file, timeout=10)
    assert r.status_code in (200, 204) and r.headers.get("Replay-Nonce")
    assert ":%d" % pebble.acme_port not in r.text


def test_acmefront_injects_problems_and_headers(front):
    front.inject("/dir", status=429, problem="rateLimited", retry_after=7, times=1)
    r = requests.get(front.directory_url, verify=front.ca_file, timeout=10)
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "7"
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["type"] == "urn:ietf:params:acme:error:rateLimited"
    # only as often as asked
    assert requests.get(front.directory_url, verify=front.ca_file, timeout=10).status_code == 200
    front.add_header("/dir", "Retry-After", "3")
    r = requests.get(front.directory_url, verify=front.ca_file, timeout=10)
    assert r.status_code == 200 and r.headers["Retry-After"] == "3"
    front.clear_rules()
    r = requests.get(front.directory_url, verify=front.ca_file, timeout=10)
    assert "Retry-After" not in r.headers
    assert [x.status for x in front.requests()] == [429, 200, 200, 200]


def test_acmefront_serves_renewal_windows(front):
    base = front.base_url + acmefront.RENEWAL_INFO_PATH
    assert requests.get(base + "a.b", verify=front.ca_file, timeout=10).status_code == 404
    front.set_renewal_window("a.b", 1735790400, 1735876800, retry_after=60,
                             explanation="https://ca.example/why")
    r = requests.get(base + "a.b", verify=front.ca_file, timeout=10)
    assert r.status_code == 200 and r.headers["Retry-After"] == "60"
    assert r.json() == {"suggestedWindow": {"start": "2025-01-02T04:00:00Z",
                                            "end": "2025-01-03T04:00:00Z"},
                        "explanationURL": "https://ca.example/why"}
    assert front.renewal_info_requests() == ["a.b", "a.b"]
