"""Configuration of the status outputs and static certificates:
MDServerStatus off and MDCertificateStatus off switch their output off,
and `apache2 -t` refuses bad MDCertificateFile/MDCertificateKeyFile/
MDCertificateCheck/MDServerStatus lines naming directive, value and place.
"""
import os
import re

import pytest

from mdtest import static_certs, status

MD = "quiet.test"


def _base(apache, *lines):
    conf = apache.config()
    conf.add_md([MD], ["MDRenewMode manual"])
    conf.add_vhost(MD, http=True)
    conf.add(*lines)
    status.add_handlers(conf)
    return conf


def test_status_outputs_can_be_switched_off(apache):
    _base(apache, "MDServerStatus off", "MDCertificateStatus off").write()
    apache.start()
    html = status.get(apache, "/server-status").text
    auto = status.get(apache, "/server-status?auto").text
    assert "Scoreboard" in auto, "mod_status answers"
    assert "Managed Certificates" not in html
    assert "ManagedCertificates" not in auto
    assert status.request(apache, "GET", MD, "/.httpd/certificate-status").status == 404
    # md-status is a handler the admin places: it stays
    assert status.md_status(apache, MD)["name"] == MD


def test_status_outputs_are_on_by_default(apache):
    _base(apache).write()
    apache.start()
    assert "ManagedCertificatesTotal: 1\n" in status.get(apache, "/server-status?auto").text
    r = status.request(apache, "GET", MD, "/.httpd/certificate-status")
    assert r.status == 200 and r.text.startswith("{"), r


def _refused(apache, lines, *expected):
    conf = _base(apache)
    conf.write()
    rc, out = apache.config_test()
    assert rc == 0, "the base config alone fails apache2 -t:\n" + out
    conf = _base(apache, *lines)
    conf.write()
    rc, out = apache.config_test()
    assert rc != 0, "accepted:\n%s\n%s" % ("\n".join(lines), out)
    for what in expected:
        assert what in out, "%r not in:\n%s" % (what, out)
    return out


@pytest.fixture
def pair(apache):
    cpem, kpem, _ = static_certs.make_static(["st.test"])
    return static_certs.write_pair(os.path.join(apache.root, "static"), "st", cpem, kpem)


@pytest.mark.ours
def test_bad_config_certificate_file_without_key(apache, pair):
    out = _refused(apache, ["<MDomainSet st.test>", "MDCertificateFile %s" % pair[0],
                            "</MDomainSet>"],
                   "MDCertificateFile", "MDCertificateKeyFile", "st.test")
    assert apache.conf_path in out


@pytest.mark.ours
def test_bad_config_key_file_without_certificate(apache, pair):
    _refused(apache, ["<MDomainSet st.test>", "MDCertificateKeyFile %s" % pair[1],
                      "</MDomainSet>"],
             "MDCertificateKeyFile", "st.test")


@pytest.mark.ours
def test_bad_config_certificate_file_outside_md(apache, pair):
    out = _refused(apache, ["MDCertificateFile %s" % pair[0]], "MDCertificateFile",
                   "MDomainSet")
    assert re.search(r"line \d+", out), out


@pytest.mark.ours
def test_bad_config_certificate_file_missing(apache):
    missing = os.path.join(apache.root, "nope.pem")
    _refused(apache, ["<MDomainSet st.test>", "MDCertificateFile %s" % missing,
                      "MDCertificateKeyFile %s" % missing, "</MDomainSet>"],
             "MDCertificateFile", missing)


@pytest.mark.ours
@pytest.mark.parametrize("line,directive,value", [
    ("MDServerStatus maybe", "MDServerStatus", "maybe"),
    ("MDCertificateStatus yes", "MDCertificateStatus", "yes"),
])
def test_bad_config_status_directives(apache, line, directive, value):
    _refused(apache, [line], directive, value)


@pytest.mark.ours
@pytest.mark.parametrize("line,directive,value", [
    ("MDCertificateCheck crt.sh not-a-url", "MDCertificateCheck", "not-a-url"),
    ("MDCertificateMonitor crt.sh ftp://x/", "MDCertificateMonitor", "ftp://x/"),
])
def test_bad_config_check_url_warned(apache, line, directive, value):
    """The stock module takes any URL for the link; ours warns that the
    server-status links will lead nowhere."""
    conf = _base(apache, line)
    conf.write()
    rc, out = apache.config_test()
    assert rc == 0, out
    assert re.search(r"\[md:warn\].*%s.*%s" % (directive, re.escape(value)), out), out


def test_certificate_check_directives_accepted(apache):
    conf = _base(apache, "MDCertificateMonitor mon https://mon.test/?q=")
    conf.write()
    rc, out = apache.config_test()
    assert rc == 0, out
