#!/usr/bin/python3
"""Benchmark: many vhosts (issue 13) - start time, memory, graceful restarts.

    /usr/bin/python3 bench/bench_scale.py                        # defaults (long)
    /usr/bin/python3 bench/bench_scale.py --mds 50 --reps 1 --restarts 5 \\
        --restart-mds 20 --stock-new-mds 10                      # smoke run, ~1 min
    /usr/bin/python3 bench/bench_scale.py --only start --setups static,ours-live

Set-ups, each N SSL vhosts (one name each, P-256) on one https port, all in
the same run, in an order that alternates per repetition:

  static      our module loaded, no MDomain; each vhost has SSLCertificateFile
              and SSLCertificateKeyFile (the same certificates as the live MDs)
  ours-live   our module, one MDomain per vhost, each with a valid certificate
              in the store (domains/<md>/, made by the benchmark, not due)
  stock-live  Debian's stock mod_md on the same kind of store
  ours-new    our module, one MDomain per vhost, empty store (fallbacks)
  stock-new   the stock module, same, with --stock-new-mds MDs (it makes an
              RSA key per MD, minutes for 1000); extrapolated to N, marked "~"

1. start: a fresh instance per set-up and repetition: a first start (on a
   store the module has not seen, or on new MDs), a stop, a second start on
   the same store at once, a stop, and a third ("settled") once every file
   of the store and the stop are more than SETTLED_AGE seconds old, as on
   a server restarted some time after it last wrote its store (the module
   trusts a file's version only when it is 2 s old; the second start still
   reads what the first wrote). Static waits as long after its stop.
   Seconds from just before `apache2 -k start` to a TLS handshake with
   SNI = the last vhost's name (probed every 20 ms).
   After the second start, once the parent and its StartServers children
   are there: the summed PSS (/proc/<pid>/smaps_rollup) of all processes of
   the instance, and the parent's alone. Medians over --reps; ratios to static.
2. restarts: per set-up (static, ours-live, stock-live) one instance with
   --restart-mds vhosts, --restarts graceful restarts (SIGUSR1, wait until the
   new generation serves and the old children are gone); the parent's RSS and
   the summed PSS after the first restart and at checkpoints. Growth from
   the first to the last restart, per restart.
3. pass: the idle watchdog pass over --pass-mds (10,000) MDs whose certificates
   are valid and not due: the CPU time of one pass as the watchdog thread
   measures it (MD12012), median over --passes (bench_parallel.pass_bench).

No ACME traffic: the CA URL points at a closed loopback port and nothing is
due. Nothing is asserted; every process is stopped by PID (the e2e harness).
"""
import argparse
import datetime
import os
import resource
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mdbench import common, startup  # noqa: E402
import bench_parallel  # noqa: E402
from mdtest import util  # noqa: E402
from mdtest.session import E2ESession  # noqa: E402

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

OURS = os.path.join(common.REPO_ROOT, "build", "mod_md.so")
SETUPS = ["static", "ours-live", "stock-live", "ours-new", "stock-new"]
START_SERVERS = 2
STARTS = ("first", "second", "settled")
# md_store_version: a file changed less than 2 s ago has no version yet.
SETTLED_AGE = 3.0
KEY_FILE, CERT_FILE = "privkey.secp256r1.pem", "pubcert.secp256r1.pem"


# --- certificates ----------------------------------------------------------------

def make_certs(directory, names):
    """A P-256 key and a certificate (one year, signed by a throwaway CA) per
    name, written to directory/<name>.{key,crt}; returns {name: (crt, key)}."""
    os.makedirs(directory, exist_ok=True)
    os.chmod(directory, 0o755)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench_scale CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    files = {}
    for name in names:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                .issuer_name(issuer).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=365))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), False)
                .sign(ca_key, hashes.SHA256()))
        crt, kfile = (os.path.join(directory, name + ext) for ext in (".crt", ".key"))
        with open(crt, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(kfile, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        os.chmod(kfile, 0o600)
        files[name] = (crt, kfile)
    return files


def fill_store(store, names, files):
    """store/domains/<md>/ with the certificate and key, as a module leaves it."""
    for name in names:
        d = os.path.join(store, "domains", name)
        os.makedirs(d, mode=0o700, exist_ok=True)
        crt, key = files[name]
        shutil.copyfile(key, os.path.join(d, KEY_FILE))
        os.chmod(os.path.join(d, KEY_FILE), 0o600)
        shutil.copyfile(crt, os.path.join(d, CERT_FILE))


def reset_store(instance_dir, kind):
    """The store of an instance that bench_scale left (--keep) as a first
    start finds it: live, each MD's certificate and key from the run's
    certs/; new, none. For bench/callgrind_start.sh."""
    store = os.path.join(instance_dir, "md")
    shutil.rmtree(store, ignore_errors=True)
    if kind == "live":
        certs = os.path.join(os.path.dirname(os.path.abspath(instance_dir)), "certs")
        names = sorted(n[:-4] for n in os.listdir(certs) if n.endswith(".crt"))
        files = {n: (os.path.join(certs, n + ".crt"), os.path.join(certs, n + ".key"))
                 for n in names}
        fill_store(store, names, files)


# --- one instance --------------------------------------------------------------

def new_instance(session, args, setup, names, files, tag):
    module = args.stock if setup.startswith("stock") else args.ours
    closed_ca = "https://127.0.0.1:%d/dir" % util.free_port()
    a = session.new_apache(name="scale-%s-%s" % (setup, tag), module=module,
                           ca_url=closed_ca)
    conf = a.config(log_level=args.log_level)
    conf.add("StartServers %d" % START_SERVERS)
    if setup == "static":
        for name in names:
            crt, key = files[name]
            conf.add_vhost(name, lines=['SSLCertificateFile "%s"' % crt,
                                        'SSLCertificateKeyFile "%s"' % key])
    else:
        conf.add("MDPrivateKeys secp256r1")
        for name in names:
            conf.add_md([name])
            conf.add_vhost(name)
    conf.write()
    if setup.endswith("-live"):
        fill_store(a.store, names, files)
    return a


def pss_kb(pid):
    """(Pss, Rss) of one process in kB, from smaps_rollup; (0, 0) if gone."""
    vals = {"Pss:": 0, "Rss:": 0}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                parts = line.split()
                if parts and parts[0] in vals:
                    vals[parts[0]] = int(parts[1])
    except OSError:
        pass
    return vals["Pss:"], vals["Rss:"]


def settled_memory(a, timeout=120):
    """Once the parent and exactly StartServers children run (a graceful
    restart's old children gone): (summed PSS, parent PSS, parent RSS) in kB."""
    a.wait_for(lambda: len(a.processes()) == 1 + START_SERVERS, timeout=timeout,
               what="parent + %d children" % START_SERVERS)
    parent = a.pid
    total = sum(pss_kb(p)[0] for p in a.processes())
    ppss, prss = pss_kb(parent)
    return total, ppss, prss


def store_age(a):
    """Seconds since the newest file or directory in a's store changed
    (a static instance has none: infinite)."""
    newest = 0.0
    for root, dirs, files in os.walk(a.store_dir or a.md_dir):
        for n in dirs + files:
            try:
                st = os.lstat(os.path.join(root, n))
            except OSError:
                continue
            newest = max(newest, st.st_mtime, st.st_ctime)
    return time.time() - newest if newest else float("inf")


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def start_run(session, args, setup, count, files, rep):
    names = startup.vhost_names(count)
    a = new_instance(session, args, setup, names, files, "start%d" % rep)
    r = {"setup": setup, "mds": count, "rep": rep, "status": "ok",
         "pss": None, "parent_pss": None, "cert": None}
    for which in STARTS:
        r[which] = r[which + "_cpu"] = None
    stopped = 0.0
    try:
        for which in STARTS:
            if which == "settled":
                # The same pause for every set-up (static has no store): a
                # start right after a stop is slower, whoever it is.
                a.wait_for(lambda: store_age(a) > SETTLED_AGE
                           and time.monotonic() - stopped > SETTLED_AGE, timeout=60,
                           what="the store's files and the last stop %.0f s old" % SETTLED_AGE)
            cpu0 = children_cpu()
            secs, _pid_secs, status, der = startup._timed_start(a, names[-1], args.timeout)
            r[which] = secs
            # CPU of the start, less noisy than wall time on a shared machine:
            # `apache2 -k start` (the first config pass, waited for) plus the
            # daemon (the second pass) and its children so far
            r[which + "_cpu"] = (children_cpu() - cpu0
                                 + bench_parallel.cpu_secs(a.processes()))
            if which == "first":
                r["cert"] = startup.describe_cert(der)
            if status != "ok":
                r["status"] = "%s start: %s" % (which, status)
                r["log_tail"] = a.log_tail(10)
                break
            if which == "second":
                r["pss"], r["parent_pss"], _ = settled_memory(a)
            a.stop()
            stopped = time.monotonic()
    finally:
        a.stop()
    return r


def restart_run(session, args, setup, files):
    names = startup.vhost_names(args.restart_mds)
    a = new_instance(session, args, setup, names, files, "restarts")
    checkpoints = sorted({1, 10, 25, 50, args.restarts} & set(range(1, args.restarts + 1)))
    seen = []
    try:
        a.start(timeout=args.timeout)
        for i in range(1, args.restarts + 1):
            a.graceful(timeout=args.timeout)
            if i in checkpoints:
                total, _ppss, prss = settled_memory(a)
                seen.append((i, total, prss))
    finally:
        a.stop()
    return {"setup": setup, "mds": args.restart_mds, "points": seen}


# --- output --------------------------------------------------------------------

def mb(kb):
    return "-" if kb is None else "%.1f MB" % (kb / 1024)


def print_start(runs, args):
    static = [r for r in runs if r["setup"] == "static"]
    keys = STARTS + tuple(w + "_cpu" for w in STARTS) + ("pss", "parent_pss")
    base = {k: common.median(r[k] for r in static) for k in keys}
    print("\nStart with %d vhosts (median of runs; ratio to static)" % args.mds)
    hdr = ("set-up", "MDs", "1st start", "1st/static", "2nd start", "2nd/static", "settled",
           "/static", "PSS", "PSS/static", "parent PSS", "CPU 1st", "/static", "CPU 2nd",
           "/static", "CPU settled", "/static", "runs (1st/2nd/settled)")
    rows = []
    for setup in args.setups:
        rs = [r for r in runs if r["setup"] == setup]
        if not rs:
            continue
        count = rs[0]["mds"]
        # stock-new with fewer MDs: seconds scale linearly to --mds; its
        # memory is shown as measured, without a ratio
        scale = args.mds / count if count != args.mds else 1
        mark = "~" if scale != 1 else ""
        med = {k: common.median(r[k] for r in rs) for k in keys}
        row = [setup, "%d%s" % (count, " (x%g)" % scale if mark else "")]
        for which in STARTS:
            secs = None if med[which] is None else med[which] * scale
            row += [mark + common.fmt_secs(secs),
                    common.fmt_ratio(common.ratio(secs, base[which]))]
        pss_ratio = common.ratio(med["pss"], base["pss"]) if not mark else None
        row += [mb(med["pss"]), common.fmt_ratio(pss_ratio), mb(med["parent_pss"])]
        for which in STARTS:
            cpu = med[which + "_cpu"]
            row += [common.fmt_secs(cpu),
                    common.fmt_ratio(common.ratio(cpu, base[which + "_cpu"]) if not mark
                                     else None)]
        row.append(" ".join("/".join(common.fmt_secs(r[w]) for w in STARTS) for r in rs))
        rows.append(row)
    widths = [max(len(str(x[i])) for x in [hdr] + rows) for i in range(len(hdr))]
    for row in [hdr, ["-" * w for w in widths]] + rows:
        print("  ".join("%-*s" % (w, c) for w, c in zip(widths, row)).rstrip())
    print("1st start: on a store the module has not seen (live) or with no certificate "
          "(new: fallbacks made); 2nd start: the same store again at once; settled: again, "
          "once the store's files are %.0f s old. PSS after the 2nd start.\n"
          "CPU: seconds of CPU of the start (both config passes, the children so far)."
          % SETTLED_AGE)
    print_paired(runs, args)
    print_fastest(runs, args)
    for r in runs:
        if r["status"] != "ok":
            print("  %s rep %d: %s" % (r["setup"], r["rep"] + 1, r["status"]))


def print_paired(runs, args):
    """The median of per-repetition ratios: each set-up against static's start
    in the same repetition, a minute apart at most. On a VM whose speed drifts
    over minutes, this moves less than the ratio of the medians."""
    static = {r["rep"]: r for r in runs if r["setup"] == "static" and r["status"] == "ok"}
    parts = []
    for setup in args.setups:
        if setup == "static":
            continue
        ratios = {w: [] for w in STARTS}
        for r in runs:
            base = static.get(r["rep"])
            if r["setup"] != setup or r["status"] != "ok" or not base or r["mds"] != args.mds:
                continue
            for k in ratios:
                if r[k] and base[k]:
                    ratios[k].append(r[k] / base[k])
        if ratios["first"]:
            parts.append("%s %s" % (setup, " / ".join(
                common.fmt_ratio(common.median(ratios[w]) if ratios[w] else None)
                for w in STARTS)))
    if parts:
        print("Per-repetition ratios to static (median; 1st / 2nd / settled start): "
              + "; ".join(parts))


def print_fastest(runs, args):
    """The fastest run of each set-up against static's fastest: noise on a
    shared machine only ever adds time, so the fastest runs are the
    closest to what a start costs."""
    best = {}
    for r in runs:
        if r["status"] != "ok" or r["mds"] != args.mds:
            continue
        for w in STARTS:
            key = (r["setup"], w)
            if r[w] is not None and (key not in best or r[w] < best[key]):
                best[key] = r[w]
    parts = []
    for setup in args.setups:
        if setup == "static" or (setup, "first") not in best:
            continue
        parts.append("%s %s" % (setup, " / ".join(
            common.fmt_ratio(common.ratio(best.get((setup, w)), best.get(("static", w))))
            for w in STARTS)))
    if parts:
        print("Fastest run to static's fastest (1st / 2nd / settled start): " + "; ".join(parts))


def print_restarts(results, args):
    print("\n%d graceful restarts with %d vhosts (after restart k: summed PSS, parent RSS)"
          % (args.restarts, args.restart_mds))
    for res in results:
        pts = res["points"]
        line = "  ".join("#%d %s/%s" % (i, mb(t), mb(p)) for i, t, p in pts)
        growth = ""
        if len(pts) >= 2 and pts[-1][0] > pts[0][0]:
            n = pts[-1][0] - pts[0][0]
            growth = "; growth #%d..#%d: PSS %+.1f kB/restart, parent RSS %+.1f kB/restart" % (
                pts[0][0], pts[-1][0], (pts[-1][1] - pts[0][1]) / n, (pts[-1][2] - pts[0][2]) / n)
        print("%-11s %s%s" % (res["setup"], line, growth))


# --- main --------------------------------------------------------------------

def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["start", "restarts", "pass"])
    ap.add_argument("--pass-mds", type=int, default=10000,
                    help="MDs for the idle watchdog pass (%(default)s)")
    ap.add_argument("--passes", type=int, default=10, help="(%(default)s)")
    ap.add_argument("--setups", default=",".join(SETUPS), help="(%(default)s)")
    ap.add_argument("--mds", type=int, default=1000, help="vhosts for start (%(default)s)")
    ap.add_argument("--reps", type=int, default=3, help="start runs per set-up (%(default)s)")
    ap.add_argument("--stock-new-mds", type=int, default=100,
                    help="new MDs for stock-new, extrapolated to --mds (%(default)s)")
    ap.add_argument("--restart-mds", type=int, default=100, help="(%(default)s)")
    ap.add_argument("--restarts", type=int, default=100, help="(%(default)s)")
    ap.add_argument("--timeout", type=int, default=600, help="cap per start, seconds")
    ap.add_argument("--log-level", default="md:info")
    ap.add_argument("--ours", default=OURS)
    ap.add_argument("--stock", default=common.STOCK_MD_MODULE)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--reset-store", nargs=2, metavar=("INSTANCE_DIR", "live|new"),
                    help="only reset a kept instance's store (see reset_store)")
    args = ap.parse_args(argv)
    if args.reset_store:
        reset_store(*args.reset_store)
        return 0
    args.setups = [s for s in args.setups.split(",") if s]
    for s in args.setups:
        if s not in SETUPS:
            ap.error("unknown set-up %r (%s)" % (s, ", ".join(SETUPS)))

    with E2ESession(keep=args.keep or None, module=args.ours) as session:
        common.say("workdir %s, load %.1f" % (session.workdir, os.getloadavg()[0]))
        t = time.monotonic()
        files = make_certs(os.path.join(session.workdir, "certs"),
                           startup.vhost_names(max(args.mds, args.restart_mds)))
        common.say("made %d certificates in %.1fs" % (len(files), time.monotonic() - t))
        if args.only in (None, "start"):
            runs = []
            plain = [s for s in args.setups if s != "stock-new"]
            for rep in range(args.reps):
                order = plain if rep % 2 == 0 else plain[::-1]
                for setup in order:
                    r = start_run(session, args, setup, args.mds, files, rep)
                    runs.append(r)
                    common.say("start %-10s rep %d: 1st %s, 2nd %s, settled %s, PSS %s%s" % (
                        setup, rep + 1, common.fmt_secs(r["first"]), common.fmt_secs(r["second"]),
                        common.fmt_secs(r["settled"]), mb(r["pss"]),
                        "" if r["status"] == "ok" else " (%s)" % r["status"]))
                    if rep == 0:
                        common.say("  served for the last vhost: %s" % r["cert"])
            if "stock-new" in args.setups and args.stock_new_mds > 0:
                r = start_run(session, args, "stock-new", args.stock_new_mds, files, 0)
                runs.append(r)
                common.say("start stock-new  %d MDs: 1st %s, 2nd %s" % (
                    args.stock_new_mds, common.fmt_secs(r["first"]),
                    common.fmt_secs(r["second"])))
            print_start(runs, args)
        if args.only in (None, "restarts"):
            results = []
            for setup in [s for s in args.setups if s in ("static", "ours-live", "stock-live")]:
                common.say("restarts: %s, %d vhosts, %d graceful restarts" % (
                    setup, args.restart_mds, args.restarts))
                results.append(restart_run(session, args, setup, files))
            print_restarts(results, args)
        if args.only in (None, "pass"):
            res = bench_parallel.pass_bench(session, args.pass_mds, args.passes)
            print("\nIdle watchdog pass over %d MDs, nothing due (MD12012, the watchdog "
                  "thread's CPU): median %.1f ms CPU, max %.1f ms, wall %.1f ms over %d "
                  "passes; first pass %.1f ms; renewals queued %d (target: under 100 ms CPU)"
                  % (res["mds"], res["cpu_us_median"] / 1000, res["cpu_us_max"] / 1000,
                     res["wall_us_median"] / 1000, res["passes"], res["first_cpu_us"] / 1000,
                     res["queued"]))
        print("\nload average at the end: %.1f %.1f %.1f" % os.getloadavg())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
