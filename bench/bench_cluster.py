#!/usr/bin/python3
"""Benchmark: a cluster of nodes on one PostgreSQL store getting N new
certificates, beside one server alone (file store and PostgreSQL store) and
Debian's stock module, in the same run against fresh pebbles.

    /usr/bin/python3 bench/bench_cluster.py                     # 100 MDs, 3 nodes
    /usr/bin/python3 bench/bench_cluster.py --mds 50 --nodes 2 --only cluster,single

Scenarios (`--only`, default all):
  cluster    N MDs on `--nodes` nodes (PostgreSQL store), all started at
             once behind round-robin proxies (test/e2e/mdtest/cluster.py)
  single-pg  our module alone on the PostgreSQL store
  single     our module alone on the file store (the default)
  stock      the stock module alone (it stages only: the benchmark restarts
             it gracefully once everything is staged, as an admin would)

For each: seconds from `apache2 -k start` until every certificate is in
the store (staged or live; for the cluster: live in the database, i.e.
activated) and until every node serves every certificate (a TLS handshake
per node and name shows a pebble-issued leaf), certificates per second
(N / first figure), pebble's orders and accounts, and the CPU seconds of
all httpd processes. P-256 keys for all. Nothing is asserted. Every
process is stopped by PID (the e2e harness), also on errors.
"""
import argparse
import concurrent.futures
import os
import signal
import socket
import ssl
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "test", "e2e"))

from cryptography import x509  # noqa: E402

from mdtest import STOCK_MD_MODULE  # noqa: E402
from mdtest.cluster import Cluster  # noqa: E402
from mdtest.session import E2ESession  # noqa: E402

SCENARIOS = ["cluster", "single-pg", "single", "stock"]


def say(msg):
    print("bench: %s" % msg, file=sys.stderr, flush=True)


def cpu_secs(pids):
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
        except (OSError, IndexError, ValueError):
            pass
    return total / tick


def serves_pebble_cert(port, name):
    ctx = ssl._create_unverified_context()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        with ctx.wrap_socket(sock, server_hostname=name) as tls:
            der = tls.getpeercert(binary_form=True)
    cert = x509.load_der_x509_certificate(der)
    return "Pebble" in cert.issuer.rfc4514_string()


def all_served(nodes, names, pool):
    jobs = [pool.submit(serves_pebble_cert, a.https_port, n) for a in nodes for n in names]
    ok = 0
    for j in jobs:
        try:
            ok += 1 if j.result() else 0
        except Exception:  # noqa: BLE001 - not up (restarting)
            pass
    return ok == len(jobs)


def in_store(cl, node, names, backend):
    """How many of names have a certificate staged or live."""
    if backend:
        rows = cl.query("SELECT count(DISTINCT name) FROM md_values WHERE "
                        "(grp = 'domains' OR grp = 'staging') AND aspect = "
                        "'pubcert.secp256r1.pem'")
        return int(rows[0][0])
    n = 0
    for name in names:
        for grp in ("staging", "domains"):
            if os.path.exists(os.path.join(node.store, grp, name, "pubcert.secp256r1.pem")):
                n += 1
                break
    return n


def run(session, pg, scenario, count, nodes_n, timeout, args_parallel):
    names = ["b%05d.bench.test" % i for i in range(1, count + 1)]
    label = scenario.replace("-", "")
    n = nodes_n if scenario == "cluster" else 1
    module = STOCK_MD_MODULE if scenario == "stock" else None
    backend = scenario in ("cluster", "single-pg")
    cl = Cluster(session, pg, "bench%s%d" % (label, count), nodes=n, module=module,
                 log_level="md:info", lease_time="30s", poll_interval="5s")
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=8)
    try:
        for a in cl.nodes:
            extra = ["MDPrivateKeys secp256r1"]
            if scenario != "stock":
                extra.append("MDParallelRenewals %d" % args_parallel)
            conf = cl.node_config(a, names, backend=backend, extra=extra)
            conf.write()
        say("%s: %d MDs on %d node(s)" % (scenario, count, n))
        t0 = time.monotonic()
        cl.start()
        t_store = t_served = None
        restarted = False
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            if t_store is None and in_store(cl, cl.nodes[0], names, backend) == count:
                t_store = time.monotonic() - t0
                say("%s: all in the store after %.1f s" % (scenario, t_store))
                if scenario == "stock" and not restarted:
                    cl.nodes[0].graceful()      # the stock module waits for an admin
                    restarted = True
            if t_store is not None and all_served(cl.nodes, names, pool):
                t_served = time.monotonic() - t0
                say("%s: served everywhere after %.1f s" % (scenario, t_served))
                break
            time.sleep(0.5)
        cpu = cpu_secs([pid for a in cl.nodes for pid in a.processes()])
        if t_served is None and cl.pebble.pid:
            # a CA that stopped answering: Go dumps its goroutines on SIGQUIT
            os.kill(cl.pebble.pid, signal.SIGQUIT)
            time.sleep(2)
            say("%s: timed out; pebble's goroutines are in %s" % (scenario, cl.pebble.log_path))
        return {
            "scenario": scenario, "mds": count, "nodes": n,
            "store_s": t_store, "served_s": t_served,
            "certs_per_s": (count / t_store) if t_store else None,
            "orders": cl.pebble.count_orders_created(),
            "accounts": cl.pebble.count_accounts_created(),
            "httpd_cpu_s": cpu,
        }
    finally:
        pool.shutdown(wait=False)
        cl.close()


def fmt(v, f="%.1f"):
    return "x" if v is None else (f % v)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mds", type=int, default=100)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--only", default=",".join(SCENARIOS))
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--parallel", type=int, default=16,
                    help="MDParallelRenewals per node (default 16, the module's default)")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    wanted = [s for s in args.only.split(",") if s]
    for s in wanted:
        if s not in SCENARIOS:
            ap.error("unknown scenario %s" % s)
    results = []
    with E2ESession(keep=args.keep) as session:
        pg = session.postgres
        for scenario in wanted:
            results.append(run(session, pg, scenario, args.mds, args.nodes, args.timeout,
                               args.parallel))
    load = os.getloadavg()
    print("\n%d MDs, P-256; load average %.1f %.1f %.1f" % ((args.mds,) + load))
    print("| scenario | nodes | in store | served everywhere | certs/s | orders | accounts "
          "| httpd CPU |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print("| %s | %d | %s s | %s s | %s | %d | %d | %.1f s |" % (
            r["scenario"], r["nodes"], fmt(r["store_s"]), fmt(r["served_s"]),
            fmt(r["certs_per_s"]), r["orders"], r["accounts"], r["httpd_cpu_s"]))
    by = {r["scenario"]: r for r in results}
    base = by.get("cluster")
    for other in ("single-pg", "single", "stock"):
        o = by.get(other)
        if base and o and base["served_s"] and o["served_s"]:
            print("served everywhere, %s / cluster: %.2f" % (other, o["served_s"]
                                                             / base["served_s"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
