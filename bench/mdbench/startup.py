"""Benchmark 2: start-up time with many vhosts.

Three set-ups, each N SSL vhosts (name-based, one https port):
  ours-new    our module, one MDomain per vhost, no certificate yet: every MD
              gets a fallback certificate at start
  static      our module loaded but no MDomain; every vhost has its own
              SSLCertificateFile/SSLCertificateKeyFile (self-signed, P-256,
              made before the clock starts), or one pair shared by all
  stock-new   Debian's mod_md, one MDomain per vhost, no certificate yet

One run: a fresh ServerRoot and store, a first start, a stop, a second start
on the same store (fallbacks exist by then), a stop. The clock starts just
before `apache2 -k start` and stops when a TLS handshake on the https port
(SNI: the last vhost's name) completes; probes every 20 ms. The moment the
PidFile appears is recorded too.

No ACME traffic: `MDRenewMode manual` and the CA URL points at a closed
loopback port, so the watchdog has nothing to do while we measure.
"""
import datetime
import os
import re
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mdtest import util

from . import common


def vhost_names(count):
    return ["v%04d.start.test" % i for i in range(1, count + 1)]


def _self_signed(name, key):
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]),
                           critical=False)
            .sign(key, hashes.SHA256()))


def make_static_certs(directory, names, shared):
    """Write a self-signed P-256 cert+key per name (or one pair for all if
    `shared`) into `directory`; returns {name: (certfile, keyfile)}."""
    os.makedirs(directory, exist_ok=True)
    os.chmod(directory, 0o755)
    files = {}
    key = None
    for i, name in enumerate(names):
        if shared and i > 0:
            files[name] = files[names[0]]
            continue
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _self_signed("shared.start.test" if shared else name, key)
        base = os.path.join(directory, "shared" if shared else name)
        with open(base + ".crt", "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(base + ".key", "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        os.chmod(base + ".key", 0o600)
        files[name] = (base + ".crt", base + ".key")
    return files


def configure(apache, kind, names, log_level, static_files=None):
    conf = apache.config(log_level=log_level)
    if kind == "static":
        for name in names:
            crt, key = static_files[name]
            conf.add_vhost(name, lines=['SSLCertificateFile "%s"' % crt,
                                        'SSLCertificateKeyFile "%s"' % key])
    else:
        conf.add("MDRenewMode manual")
        for name in names:
            conf.add_md([name])
            conf.add_vhost(name)
    conf.write()


def _timed_start(apache, probe_name, timeout):
    """Start `apache`; returns (secs to TLS handshake, secs to PidFile,
    status, leaf DER)."""
    served = {}

    def answers():
        der = common.tls_handshake(apache.https_port, probe_name, timeout=5)
        if der:
            served["der"] = der
        return der is not None

    bg = common.BackgroundStart(apache, timeout=timeout)

    def abort():
        if bg.error is not None:
            return "start failed: %s" % str(bg.error).splitlines()[0]
        return None

    # a PidFile left from the previous start must not count
    if os.path.exists(apache.pid_file):
        os.unlink(apache.pid_file)
    t0_wall = time.time()
    try:
        bg.begin()
        t_end = common.poll_until(answers, bg.t0 + timeout, abort=abort)
    except RuntimeError as exc:
        return None, None, str(exc), None
    if t_end is None:
        return None, None, "no TLS handshake within %ds (cap hit)" % timeout, None
    bg.join(timeout)
    try:
        # httpd writes the PidFile once, when the daemon is about to start
        # its children; its mtime says when, without polling
        pid_secs = os.stat(apache.pid_file).st_mtime - t0_wall
    except OSError:
        pid_secs = None
    return t_end - bg.t0, pid_secs, "ok", served.get("der")


_LOG_LINE_RE = re.compile(
    r"^\[\w+ (\w+) (\d+) (\d+):(\d+):(\d+)\.(\d+) (\d+)\] \[[^\]]+\] \[pid (\d+)")


def fallback_phases(apache, since):
    """Where a start spent its time on vhosts without a certificate: for each
    config pass (httpd runs post_config once before it detaches and once in
    the daemon; each pass is its own pid), the seconds from the first to the
    last mod_ssl AH10085 line ("will respond with 503", logged per vhost that
    got a fallback). That span holds the md module's fallback hook and
    mod_ssl loading what it returned. Module-neutral: both modules go
    through the same mod_ssl hook. Returns [(pid, vhosts, seconds)].
    """
    spans = {}
    for line in apache.log_text(since).splitlines():
        if "AH10085" not in line:
            continue
        m = _LOG_LINE_RE.match(line)
        if not m:
            continue
        t = (int(m.group(3)) * 3600 + int(m.group(4)) * 60 + int(m.group(5))
             + int(m.group(6)) / 10 ** len(m.group(6)))
        pid = int(m.group(8))
        first, last, n = spans.get(pid, (t, t, 0))
        spans[pid] = (first, t, n + 1)
    return [(pid, n, last - first) for pid, (first, last, n) in spans.items()]


def describe_cert(der):
    if not der:
        return "-"
    cert = x509.load_der_x509_certificate(der)
    key = cert.public_key()
    kname = type(key).__name__.replace("_", "").replace("PublicKey", "")
    return "subject %s, issuer %s, %s key" % (
        cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(), kname)


def run_once(session, kind, module, count, rep, timeout, log_level,
             static_files=None):
    """First and second start of one fresh instance. Returns a dict."""
    names = vhost_names(count)
    closed_ca = "https://127.0.0.1:%d/dir" % util.free_port()
    a = session.new_apache(name="start-%s-%d-%d" % (kind, count, rep),
                           module=module, ca_url=closed_ca)
    configure(a, kind, names, log_level, static_files)
    result = {"kind": kind, "mds": count, "rep": rep, "first": None,
              "second": None, "first_pid": None, "second_pid": None,
              "first_fallback": None, "second_fallback": None,
              "status": "ok", "cert": None}
    try:
        for which in ("first", "second"):
            mark = a.log_mark()
            secs, pid_secs, status, der = _timed_start(a, names[-1], timeout)
            result[which], result[which + "_pid"] = secs, pid_secs
            result[which + "_fallback"] = fallback_phases(a, mark)
            if which == "first":
                result["cert"] = describe_cert(der)
            a.stop()
            if status != "ok":
                result["status"] = "%s start: %s" % (which, status)
                result["log_tail"] = a.log_tail(10)
                break
    finally:
        a.stop()
    return result
