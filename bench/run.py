#!/usr/bin/python3
"""Benchmarks: our mod_md beside Debian's stock mod_md (see bench/README.md).

    /usr/bin/python3 bench/run.py                    # everything, defaults
    /usr/bin/python3 bench/run.py --only staging --keys ec --reps 1:3
    /usr/bin/python3 bench/run.py --only startup --stock-startup-mds 1000

1. staging: seconds from `apache2 -k start` to every MD's certificate staged
   (1 and 20 MDs; P-256 keys pinned, then the default RSA), ours and stock
   in the same run against the same pebble.
2. startup: seconds from `apache2 -k start` to a TLS handshake on the https
   port with 1000 new MDs (fallback certificates) vs 1000 static-certificate
   vhosts, and the stock module with new MDs; first and second start.

Progress goes to stderr, the result tables to stdout. Every process is
stopped by PID (the e2e harness does it), also on Ctrl-C.
"""
import argparse
import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mdbench import common, report, staging, startup  # noqa: E402
from mdtest.session import E2ESession  # noqa: E402

OURS_MODULE = os.path.join(common.REPO_ROOT, "build", "mod_md.so")


def parse_reps(text):
    """"1:5,20:3" -> [(1, 5), (20, 3)]"""
    out = []
    for part in text.split(","):
        count, _, reps = part.partition(":")
        out.append((int(count), int(reps or 1)))
    return out


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="Benchmarks: our mod_md vs Debian's stock mod_md.")
    ap.add_argument("--only", choices=["staging", "startup"],
                    help="run one benchmark only (default: both)")
    ap.add_argument("--ours", default=OURS_MODULE, help="our module (%(default)s)")
    ap.add_argument("--stock", default=common.STOCK_MD_MODULE,
                    help="stock module (%(default)s)")
    ap.add_argument("--log-level", default="md:info",
                    help="LogLevel of every Apache (%(default)s)")
    ap.add_argument("--json", metavar="FILE", help="also write all runs as JSON")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    g = ap.add_argument_group("staging")
    g.add_argument("--keys", default="ec,rsa",
                   help="key types, in order: ec (MDPrivateKeys secp256r1 for "
                        "both), rsa (the default, RSA 2048) (%(default)s)")
    g.add_argument("--reps", default="1:5,20:3", type=parse_reps,
                   help="MDs:repetitions,... (%(default)s)")
    g.add_argument("--stage-timeout", type=int, default=600,
                   help="cap per run, seconds (%(default)s)")
    g = ap.add_argument_group("startup")
    g.add_argument("--startup-mds", type=int, default=1000,
                   help="vhosts for ours-new and static (%(default)s)")
    g.add_argument("--startup-reps", type=int, default=3,
                   help="fresh instances per set-up (%(default)s)")
    g.add_argument("--stock-startup-mds", type=int, default=100,
                   help="new MDs for the stock module; its time is extrapolated "
                        "linearly to --startup-mds; 0 skips it (%(default)s)")
    g.add_argument("--stock-startup-reps", type=int, default=2,
                   help="fresh instances for the stock module (%(default)s)")
    g.add_argument("--startup-timeout", type=int, default=600,
                   help="cap per start, seconds (%(default)s)")
    g.add_argument("--static-certs", choices=["per-vhost", "shared"],
                   default="per-vhost",
                   help="static set-up: a P-256 cert+key per vhost, or one "
                        "pair for all (%(default)s)")
    args = ap.parse_args(argv)
    args.keys = [k.strip() for k in args.keys.split(",") if k.strip()]
    for k in args.keys:
        if k not in staging.KEYS:
            ap.error("unknown key type %r (ec, rsa)" % k)
    for path in (args.ours, args.stock):
        if not os.path.isfile(path):
            ap.error("module not found: %s (make all?)" % path)
    return args


def bench_staging(session, args):
    modules = [("ours", args.ours), ("stock", args.stock)]
    runs = []
    for key in args.keys:
        for count, reps in args.reps:
            for rep in range(reps):
                # alternate who goes first, so drift on a shared machine
                # does not always favour the same module
                order = modules if rep % 2 == 0 else modules[::-1]
                for label, module in order:
                    r = staging.run_once(session, label, module, count, key, rep,
                                         args.stage_timeout, args.log_level)
                    runs.append(r)
                    common.say("staging %-5s %-3s %2d MDs rep %d: %s%s" % (
                        label, key, count, rep + 1, common.fmt_secs(r["secs"]),
                        "" if r["status"] == "ok" else "  (%s)" % r["status"]))
                    if r["status"] != "ok":
                        common.say("  log tail:\n" + r.get("log_tail", ""))
    return runs


def bench_startup(session, args):
    runs = []
    names = startup.vhost_names(args.startup_mds)
    common.say("making %d static certificates (%s)" % (
        1 if args.static_certs == "shared" else len(names), args.static_certs))
    static_files = startup.make_static_certs(
        os.path.join(session.workdir, "static-certs"), names,
        shared=args.static_certs == "shared")
    plan = []
    for rep in range(args.startup_reps):
        kinds = [("static", args.ours, args.startup_mds),
                 ("ours-new", args.ours, args.startup_mds)]
        plan += kinds if rep % 2 == 0 else kinds[::-1]
    if args.stock_startup_mds > 0:
        plan += [("stock-new", args.stock, args.stock_startup_mds)] \
            * args.stock_startup_reps
    reps = {}
    for kind, module, count in plan:
        rep = reps.get(kind, 0)
        reps[kind] = rep + 1
        r = startup.run_once(session, kind, module, count, rep,
                             args.startup_timeout, args.log_level, static_files)
        runs.append(r)
        common.say("startup %-9s %4d vhosts rep %d: first %s, second %s%s" % (
            kind, count, rep + 1, common.fmt_secs(r["first"]),
            common.fmt_secs(r["second"]),
            "" if r["status"] == "ok" else "  (%s)" % r["status"]))
        if rep == 0:
            common.say("  served for %s: %s" % (startup.vhost_names(count)[-1], r["cert"]))
        if r["status"] != "ok":
            common.say("  log tail:\n" + r.get("log_tail", ""))
    return runs


def _terminate(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    results = {"ours": args.ours, "stock": args.stock, "staging": [], "startup": [],
               "load_before": os.getloadavg(), "load_after": None}
    session = E2ESession(keep=args.keep or None, module=args.ours)
    try:
        session.start()
        common.say("workdir %s, pebble %s" % (session.workdir,
                                              session.pebble.directory_url))
        if args.only in (None, "staging"):
            results["staging"] = bench_staging(session, args)
        if args.only in (None, "startup"):
            results["startup"] = bench_startup(session, args)
    except KeyboardInterrupt:
        common.say("interrupted; stopping everything")
        return 130
    finally:
        session.close()
        results["load_after"] = os.getloadavg()
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=2, default=str)
    report.print_all(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
