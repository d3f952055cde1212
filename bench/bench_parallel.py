#!/usr/bin/python3
"""Benchmark: parallel issuance and the cost of an idle watchdog pass.

    /usr/bin/python3 bench/bench_parallel.py                  # both parts
    /usr/bin/python3 bench/bench_parallel.py --only issue --mds 100 --keys ec
    /usr/bin/python3 bench/bench_parallel.py --only pass --pass-mds 10000

1. issue: N new MDs (default 100, one SSL vhost each) from `apache2 -k start`
   to every certificate staged, our module and Debian's stock module in the
   same run against the same pebble, EC (P-256) and RSA 2048 keys. Reports
   seconds and certificates per second. Ours runs with MDActivationAuto off
   so that both only stage (a restart would move staging/ to domains/).
   For ours the log also tells how many orders were in flight at most
   (MD12001 "k of at most n renewals running").
2. pass: our module with M MDs (default 10,000) that all have valid
   certificates, none due; MDCheckInterval 1s makes the watchdog look every
   second. Reports the CPU time of a pass as the watchdog thread measured it
   (MD12012, CLOCK_THREAD_CPUTIME_ID), median over the passes after the first.

Nothing is asserted: the benchmark prints what it saw. Every process is
stopped by PID (the e2e harness), also on errors.
"""
import argparse
import datetime
import os
import re
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "test", "e2e"))

from mdtest import STOCK_MD_MODULE  # noqa: E402
from mdtest.session import E2ESession  # noqa: E402

OURS = os.path.join(REPO, "build", "mod_md.so")
KEYS = {
    # MDPrivateKeys line, staged certificate file
    "ec": ("MDPrivateKeys secp256r1", "pubcert.secp256r1.pem"),
    "rsa": (None, "pubcert.pem"),
}
RUNNING_RE = re.compile(r"MD12001: .* \((\d+) of at most (\d+) renewals running\)")
PASS_RE = re.compile(r"MD12012: checked (\d+) MDs in (\d+) us \(cpu (\d+) us\), (\d+) queued")


def cpu_secs(pids):
    """utime + stime of the processes, seconds (those gone count 0)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / tick


def say(msg):
    print("bench: %s" % msg, file=sys.stderr, flush=True)


def names(count, domain):
    return ["md%05d.%s" % (i, domain) for i in range(1, count + 1)]


# --- 1. issuance -------------------------------------------------------------

def issue_once(session, label, module, count, key, parallel, timeout):
    mds = names(count, "par.test")
    a = session.new_apache(name="par-%s-%s-%d" % (label, key, count), module=module)
    conf = a.config(log_level=os.environ.get("BENCH_LOGLEVEL", "md:info"))
    line, pubcert = KEYS[key]
    if line:
        conf.add(line)
    if label == "ours":
        conf.add("MDActivationAuto off")
        if parallel:
            conf.add("MDParallelRenewals %d" % parallel)
    for n in mds:
        conf.add_md([n])
        conf.add_vhost(n)
    conf.write()
    paths = [os.path.join(a.staging_dir(n), pubcert) for n in mds]
    orders0 = session.pebble.count_requests("/order-plz")
    res = {"module": label, "key": key, "mds": count, "secs": None, "status": "ok"}
    started = {}

    def start():
        try:
            a.start(timeout=120)
        except BaseException as exc:  # noqa: BLE001 - reported below
            started["error"] = exc

    pebble_cpu0 = cpu_secs([session.pebble.pid])
    t0 = time.monotonic()
    th = threading.Thread(target=start, daemon=True)
    th.start()
    try:
        while True:
            if all(os.path.exists(p) for p in paths):
                res["secs"] = time.monotonic() - t0
                break
            if "error" in started:
                res["status"] = "start failed: %s" % str(started["error"]).splitlines()[0]
                break
            if time.monotonic() - t0 > timeout:
                done = sum(os.path.exists(p) for p in paths)
                res["status"] = "timeout: %d/%d staged" % (done, count)
                break
            time.sleep(0.02)
        th.join(60)
        res["cpu_httpd"] = cpu_secs(a._processes())
        res["cpu_pebble"] = cpu_secs([session.pebble.pid]) - pebble_cpu0
        if label == "ours":
            seen = [(int(m.group(1)), int(m.group(2)))
                    for m in RUNNING_RE.finditer(a.log_text())]
            res["max_running"] = max((k for k, _ in seen), default=0)
            res["cap"] = seen[0][1] if seen else None
    finally:
        a.stop()
    res["orders"] = session.pebble.count_requests("/order-plz") - orders0
    if res["secs"]:
        res["certs_per_sec"] = count / res["secs"]
    return res


# --- 2. idle pass ------------------------------------------------------------

def make_store_certs(a, mds):
    """domains/<md>/{privkey,pubcert}.pem for every MD: one EC key, one
    certificate per MD (valid for a year, signed by a throwaway CA), so the
    module finds them complete and not due."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    ca_key = ec.generate_private_key(ec.SECP256R1())
    key = ec.generate_private_key(ec.SECP256R1())
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    for n in mds:
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, n)]))
                .issuer_name(issuer).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=365))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(n)]), False)
                .sign(ca_key, hashes.SHA256()))
        d = a.domain_dir(n)
        os.makedirs(d, mode=0o700, exist_ok=True)
        with open(os.path.join(d, "privkey.secp256r1.pem"), "wb") as f:
            f.write(key_pem)
        os.chmod(os.path.join(d, "privkey.secp256r1.pem"), 0o600)
        with open(os.path.join(d, "pubcert.secp256r1.pem"), "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))


def pass_bench(session, count, passes):
    mds = names(count, "idle.test")
    a = session.new_apache(name="pass-%d" % count)
    conf = a.config(log_level="md:debug")
    conf.add("MDCheckInterval 1s", "MDPrivateKeys secp256r1")
    for n in mds:
        conf.add_md([n])
    conf.write()
    say("pass: making %d certificates" % count)
    t = time.monotonic()
    make_store_certs(a, mds)
    say("pass: made in %.1fs, starting Apache" % (time.monotonic() - t))
    res = {"mds": count}
    try:
        t = time.monotonic()
        a.start(timeout=600)
        res["start_secs"] = time.monotonic() - t

        def enough():
            return len(PASS_RE.findall(a.log_text())) >= passes + 1
        a.wait_for(enough, timeout=120 + passes * 5, what="%d watchdog passes" % passes)
        found = [tuple(int(x) for x in m) for m in PASS_RE.findall(a.log_text())]
    finally:
        a.stop()
    later = [f for f in found[1:] if f[0] == count]
    res["passes"] = len(later)
    res["queued"] = sum(f[3] for f in found)
    res["cpu_us_median"] = statistics.median(f[2] for f in later)
    res["cpu_us_max"] = max(f[2] for f in later)
    res["wall_us_median"] = statistics.median(f[1] for f in later)
    res["first_cpu_us"] = found[0][2]
    return res


# --- main --------------------------------------------------------------------

def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["issue", "pass"])
    ap.add_argument("--mds", type=int, default=100, help="MDs to issue (%(default)s)")
    ap.add_argument("--keys", default="ec,rsa", help="ec,rsa (%(default)s)")
    ap.add_argument("--modules", default="ours,stock", help="ours,stock (%(default)s)")
    ap.add_argument("--parallel", type=int, default=0,
                    help="MDParallelRenewals for ours (default: the module's)")
    ap.add_argument("--timeout", type=int, default=900, help="per run, seconds")
    ap.add_argument("--pass-mds", type=int, default=10000)
    ap.add_argument("--passes", type=int, default=10)
    args = ap.parse_args(argv)
    modules = {"ours": OURS, "stock": STOCK_MD_MODULE}

    with E2ESession() as session:
        if args.only in (None, "issue"):
            print("%-6s %-4s %5s %9s %8s %7s %10s %10s %s" % (
                "module", "key", "MDs", "seconds", "certs/s", "orders", "httpd cpu",
                "pebble cpu", "in flight (max/cap)"))
            for key in args.keys.split(","):
                for label in args.modules.split(","):
                    say("issue: %s, %s, %d MDs" % (label, key, args.mds))
                    r = issue_once(session, label, modules[label], args.mds, key,
                                   args.parallel, args.timeout)
                    flight = ("%s/%s" % (r.get("max_running"), r.get("cap"))
                              if label == "ours" else "-")
                    if r["secs"]:
                        print("%-6s %-4s %5d %9.2f %8.2f %7d %9.2fs %9.2fs %s" % (
                            label, key, r["mds"], r["secs"], r["certs_per_sec"],
                            r["orders"], r["cpu_httpd"], r["cpu_pebble"], flight), flush=True)
                    else:
                        print("%-6s %-4s %5d %s" % (label, key, r["mds"], r["status"]),
                              flush=True)
        if args.only in (None, "pass"):
            r = pass_bench(session, args.pass_mds, args.passes)
            print("idle watchdog pass over %d MDs: cpu median %.2f ms, max %.2f ms, wall "
                  "median %.2f ms (%d passes; first pass %.2f ms cpu; %d queued; "
                  "Apache start %.1fs)" % (
                      r["mds"], r["cpu_us_median"] / 1000, r["cpu_us_max"] / 1000,
                      r["wall_us_median"] / 1000, r["passes"], r["first_cpu_us"] / 1000,
                      r["queued"], r["start_secs"]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
