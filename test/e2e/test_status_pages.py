"""What an admin sees in server-status (HTML and ?auto), the Prometheus
metrics and /.httpd/certificate-status, through one server's life:

  staged   live.test has its first certificate staged (still on the
           fallback), refused.test failed (the CA refuses the name),
           waiting.test is manual and has nothing
  live     after a graceful restart live.test serves its certificate
  renewed  a shorter renew window (graceful again) makes live.test due; the
           renewal is staged next to the live certificate

The CA is a pebble of this scenario that refuses refused.test and issues
certificates valid for one hour.
"""
import email.utils
import json
import re
import types

import pytest

from mdtest import certs, prometheus, status

LIVE = ["live.test", "www.live.test"]
REFUSED = "refused.test"
WAITING = "waiting.test"
MDS = (LIVE[0], REFUSED, WAITING)
CERT_STATUS = "/.httpd/certificate-status"


def _configure(a, renew_window=None):
    conf = a.config()
    conf.add_md(LIVE, ["MDRenewWindow %s" % renew_window] if renew_window else None)
    conf.add_md([REFUSED])
    conf.add_md([WAITING], ["MDRenewMode manual"])
    conf.add("MDCertificateCheck crt.test https://crt.test/?sha256=")
    conf.add_vhost(LIVE[0], aliases=LIVE[1:], http=True)
    conf.add_vhost(REFUSED)
    conf.add_vhost(WAITING)
    status.add_handlers(conf)
    conf.write()


def _snapshot(a):
    return types.SimpleNamespace(
        html=status.get(a, "/server-status").text,
        auto=status.get(a, "/server-status?auto").text,
        metrics=status.get(a, "/md-metrics"),
        cert_status=status.request(a, "GET", LIVE[0], CERT_STATUS, https=True),
        cert_status_http=status.request(a, "GET", LIVE[1], CERT_STATUS),
        md=status.md_status(a, LIVE[0]),
        refused=status.md_status(a, REFUSED),
    )


def _refused_errored(a):
    renewal = status.md_status(a, REFUSED).get("renewal", {})
    return renewal.get("errors", 0) >= 1


@pytest.fixture(scope="module")
def life(e2e):
    ca = e2e.new_pebble(config_extra={"domainBlocklist": [REFUSED],
                                      "certificateValidityPeriod": 3600})
    a = e2e.new_apache(name="status-pages", pebble=ca)
    try:
        _configure(a)
        a.start()
        a.wait_staged(LIVE[0])
        a.wait_for(lambda: _refused_errored(a), timeout=90,
                   what="an errored renewal of %s" % REFUSED)
        staged = _snapshot(a)
        staged.pubcert = certs.load_pem_file(a.staged_pubcert(LIVE[0]))[0]

        a.graceful()
        live_chain = a.wait_served(LIVE[0])
        live = _snapshot(a)
        live.served = live_chain[0]

        # due at once: renew when less than 3599s of the hour are left
        _configure(a, renew_window="3599s")
        mark = a.log_mark()
        a.graceful()
        a.wait_staged(LIVE[0], since=mark)
        renewed = _snapshot(a)
        renewed.served = a.get_served_cert(LIVE[0])
        renewed.pubcert = certs.load_pem_file(a.staged_pubcert(LIVE[0]))[0]
        with open(a.store_json) as f:
            store_key = json.load(f)["key"]
        yield types.SimpleNamespace(apache=a, ca=ca, staged=staged, live=live,
                                    renewed=renewed, store_key=store_key)
    finally:
        a.stop()
        ca.stop()


def _auto_counts(text):
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^ManagedCertificates(\w+): (\d+)$", text, re.M)}


# --- server-status ----------------------------------------------------------

def test_server_status_auto_counts_certificates(life):
    assert _auto_counts(life.staged.auto) == {
        "Total": 3, "OK": 0, "Renew": 3, "Errored": 1, "Ready": 1}
    assert _auto_counts(life.live.auto) == {
        "Total": 3, "OK": 1, "Renew": 2, "Errored": 1, "Ready": 0}
    assert _auto_counts(life.renewed.auto) == {
        "Total": 3, "OK": 0, "Renew": 3, "Errored": 1, "Ready": 1}


def test_server_status_auto_lines_per_md(life):
    auto = life.live.auto
    assert "ManagedDomain[0]Domain: %s\n" % LIVE[0] in auto
    assert "ManagedDomain[0]Names[1]: %s\n" % LIVE[1] in auto
    assert "ManagedDomain[0]Status: good\n" in auto
    assert "ManagedDomain[1]ActivityLastProblem: urn:ietf:params:acme:error:rejectedIdentifier\n" \
        in auto
    assert "ManagedDomain[1]ActivityFinished: no\n" in auto
    # every line "Key: value", nothing spilling over lines
    for line in auto.splitlines():
        if line.startswith("Managed"):
            assert re.match(r"^Managed[\w\[\]]+: .*$", line), line


def test_server_status_html_shows_managed_certificates(life):
    html = life.live.html
    assert "<h2>Managed Certificates</h2>" in html
    table = html[html.index("<h2>Managed Certificates</h2>"):]
    rows = re.findall(r"<tr><td>(.*?)</td></tr>", table)
    assert [re.match(r"[^<]*", r).group(0) for r in rows] == list(MDS)
    live_row = rows[0]
    assert "%s %s" % tuple(LIVE) in live_row
    assert "good" in live_row
    assert "until " in live_row and "renew in" in live_row
    assert ">127.0.0.1</a>" in live_row                       # the CA
    fp = life.live.md["cert"]["rsa"]["sha256-fingerprint"]
    assert '<a href="https://crt.test/?sha256=%s">crt.test</a>' % fp in live_row
    assert "renew mode is manual" in rows[2]


def test_server_status_html_shows_ca_error_escaped(life):
    table = life.live.html.split("<h2>Managed Certificates</h2>")[1]
    row = re.findall(r"<tr><td>%s</td>.*?</tr>" % re.escape(REFUSED), table)[0]
    assert "failed" in row and "next attempt" in row
    assert "rejectedIdentifier" in row
    # pebble's detail quotes the name: it must arrive escaped
    detail = life.live.refused["renewal"]["last"]["detail"]
    assert '"%s"' % REFUSED in detail
    assert "&quot;%s&quot;" % REFUSED in row
    assert '"%s"' % REFUSED not in row


def test_server_status_while_staged(life):
    table = life.staged.html.split("<h2>Managed Certificates</h2>")[1]
    row = re.findall(r"<tr><td>%s</td>.*?</tr>" % re.escape(LIVE[0]), table)[0]
    assert "incomplete" in row
    assert "staged" in row


# --- certificate-status -----------------------------------------------------

def test_certificate_status_before_first_certificate_goes_live(life):
    r = life.staged.cert_status
    assert r.status == 200, r.text
    cs = json.loads(r.text)
    assert cs["rsa"] == {}, "no live certificate yet"
    staged = cs["renewal"]["cert"]["rsa"]
    assert staged["serial"] == status.serial_hex(life.staged.pubcert)
    assert staged["valid"]["until"]


def test_certificate_status_of_live_certificate(life):
    cs = json.loads(life.live.cert_status.text)
    assert cs["rsa"]["serial"] == status.serial_hex(life.live.served)
    assert cs["rsa"]["sha256-fingerprint"] == life.live.md["cert"]["rsa"]["sha256-fingerprint"]
    assert cs["valid"]["until"] == life.live.md["cert"]["valid"]["until"]
    assert "renewal" not in cs
    assert "scts" not in cs["rsa"], "pebble's certificates carry no SCTs"
    # plain http on another name of the same MD answers the same
    assert json.loads(life.live.cert_status_http.text) == cs


def test_certificate_status_after_renewal_is_staged(life):
    cs = json.loads(life.renewed.cert_status.text)
    assert cs["rsa"]["serial"] == status.serial_hex(life.renewed.served)
    assert cs["rsa"]["serial"] == status.serial_hex(life.live.served), "still the same live one"
    staged = cs["renewal"]["cert"]["rsa"]
    assert staged["serial"] == status.serial_hex(life.renewed.pubcert)
    assert staged["serial"] != cs["rsa"]["serial"]


def test_certificate_status_only_on_managed_hosts(life):
    r = status.get(life.apache, CERT_STATUS)     # localhost: no MD
    assert r.status == 404


# --- metrics ----------------------------------------------------------------

def _metrics(snap):
    r = snap.metrics
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
    return prometheus.parse(r.text)


def test_metrics_parse_strictly_at_every_stage(life):
    for snap in (life.staged, life.live, life.renewed):
        fams = _metrics(snap)
        assert fams["md_managed_domains"].value() == 3
        for name, fam in fams.items():
            assert name.startswith("md_"), name
            assert fam.help and fam.type in ("gauge", "counter"), name


def test_metrics_per_certificate(life):
    fams = _metrics(life.live)
    served = life.live.served
    assert fams["md_certificate_not_after_timestamp_seconds"].value(md=LIVE[0], key="rsa") \
        == certs.not_after(served).timestamp()
    assert fams["md_certificate_not_before_timestamp_seconds"].value(md=LIVE[0], key="rsa") \
        == certs.not_before(served).timestamp()
    assert fams["md_state"].value(md=LIVE[0]) == 2
    assert fams["md_state"].value(md=WAITING) == 1
    assert fams["md_renewal_needed"].value(md=LIVE[0]) == 0
    assert fams["md_renewal_needed"].value(md=WAITING) == 1
    due = fams["md_renewal_due_timestamp_seconds"].value(md=LIVE[0])
    assert certs.not_before(served).timestamp() < due < certs.not_after(served).timestamp()
    # the renewal that made the live certificate: its job, seen while staged
    last = fams["md_renewal_last_success_timestamp_seconds"].value(md=LIVE[0])
    staged_run = email.utils.parsedate_to_datetime(life.staged.md["renewal"]["last-run"])
    assert last == staged_run.timestamp()
    assert fams["md_renewal_errors"].value(md=REFUSED) >= 1
    assert fams["md_renewal_errors"].value(md=LIVE[0]) == 0
    # no certificate: no certificate samples
    assert not [l for l, _ in fams["md_certificate_not_after_timestamp_seconds"].samples
                if l["md"] != LIVE[0]]


def test_metrics_staged_renewal(life):
    fams = _metrics(life.renewed)
    assert fams["md_renewal_staged"].value(md=LIVE[0]) == 1
    assert fams["md_renewal_needed"].value(md=LIVE[0]) == 1
    assert fams["md_renewal_staged"].value(md=REFUSED) == 0
    assert _metrics(life.live)["md_renewal_staged"].value(md=LIVE[0]) == 0


def test_metrics_count_ca_requests_across_restarts(life):
    url = life.ca.directory_url
    counts = []
    for snap in (life.staged, life.live, life.renewed):
        fams = _metrics(snap)
        counts.append((fams["md_ca_requests_total"].value(ca=url),
                       fams["md_ca_request_failures_total"].value(ca=url)))
    (req0, fail0), (req1, fail1), (req2, fail2) = counts
    # directory, nonce, account, order, authz, challenge, finalize, cert...
    assert req0 >= 8
    # the refused order was answered with a problem document
    assert fail0 >= 1
    # counters survive graceful restarts and keep growing with the renewal
    assert req0 <= req1 < req2
    assert fail0 <= fail1 <= fail2
    # pebble saw at least as many requests as we counted for the orders
    assert life.ca.count_requests("/order-plz") >= 3


# --- no secrets ---------------------------------------------------------------

def test_no_secret_in_any_status_output(life):
    for snap in (life.staged, life.live, life.renewed):
        for text in (snap.html, snap.auto, snap.metrics.text, snap.cert_status.text,
                     json.dumps(snap.md), json.dumps(snap.refused)):
            assert life.store_key not in text
            assert "PRIVATE KEY" not in text
            assert "BEGIN" not in text
