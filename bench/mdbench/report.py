"""The result tables (stdout): medians, ratios and every run's figure."""
import os

from .common import fmt_ratio, fmt_secs, median, ratio


def _table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = "  ".join("%-*s" % (w, h) for w, h in zip(widths, header))
    print(line.rstrip())
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join("%-*s" % (w, c) for w, c in zip(widths, r)).rstrip())


def _runs_text(values):
    return " ".join(fmt_secs(v).rstrip("s") if v is not None else "x" for v in values)


def _passes_text(runs, key):
    """Median seconds per config pass in the fallback loop, "a+b"."""
    per_pass = {}
    for r in runs:
        for i, (_pid, _n, secs) in enumerate(r.get(key) or []):
            per_pass.setdefault(i, []).append(secs)
    if not per_pass:
        return "-"
    return "+".join("%.2f" % median(per_pass[i]) for i in sorted(per_pass))


def staging_table(runs):
    print("Start to all certificates staged (seconds; median of runs; "
          "x = not staged within the cap)")
    groups = []
    for r in runs:
        g = (r["key"], r["mds"])
        if g not in groups:
            groups.append(g)
    rows = []
    for key, count in groups:
        by = {m: [r for r in runs if (r["key"], r["mds"], r["module"]) == (key, count, m)]
              for m in ("ours", "stock")}
        med = {m: median(r["secs"] for r in by[m]) for m in by}
        orders = {m: median(r["orders"] for r in by[m]) for m in by}
        up = {m: median(r["serving"] for r in by[m]) for m in by}
        rows.append([
            "P-256" if key == "ec" else "RSA-2048", str(count),
            fmt_secs(med["ours"]), fmt_secs(med["stock"]),
            fmt_ratio(ratio(med["stock"], med["ours"])),
            _runs_text(r["secs"] for r in by["ours"]),
            _runs_text(r["secs"] for r in by["stock"]),
            "%s/%s" % ("-" if orders["ours"] is None else "%g" % orders["ours"],
                       "-" if orders["stock"] is None else "%g" % orders["stock"]),
            "%s/%s" % (fmt_secs(up["ours"]), fmt_secs(up["stock"])),
        ])
    _table(["key", "MDs", "ours", "stock", "stock/ours", "ours runs", "stock runs",
            "orders o/s", "serving o/s"], rows)
    failed = [r for r in runs if r["status"] != "ok"]
    for r in failed:
        print("  %s %s %d MDs rep %d: %s" % (r["module"], r["key"], r["mds"],
                                             r["rep"] + 1, r["status"]))
    print()


def startup_table(runs, args):
    print("Start-up: `apache2 -k start` to a TLS handshake on the https port "
          "(seconds; median)")
    kinds = []
    for r in runs:
        if r["kind"] not in kinds:
            kinds.append(r["kind"])
    med = {}
    for kind in kinds:
        rs = [r for r in runs if r["kind"] == kind]
        med[kind] = {
            "mds": rs[0]["mds"],
            "first": median(r["first"] for r in rs),
            "second": median(r["second"] for r in rs),
            "first_pid": median(r["first_pid"] for r in rs),
            "firsts": [r["first"] for r in rs],
            "seconds": [r["second"] for r in rs],
            "fb1": _passes_text(rs, "first_fallback"),
            "fb2": _passes_text(rs, "second_fallback"),
        }
    base = med.get("static")
    labels = {
        "static": "static certs (%s)" % args.static_certs,
        "ours-new": "ours, new MDs (fallbacks)",
        "stock-new": "stock, new MDs (fallbacks)",
    }
    rows = []
    for kind in kinds:
        m = med[kind]
        rows.append([labels.get(kind, kind), str(m["mds"]), fmt_secs(m["first"]),
                     fmt_secs(m["first_pid"]), fmt_secs(m["second"]),
                     fmt_ratio(ratio(m["first"], base and base["first"]))
                     if m["mds"] == (base and base["mds"]) else "n/a",
                     fmt_ratio(ratio(m["second"], base and base["second"]))
                     if m["mds"] == (base and base["mds"]) else "n/a",
                     m["fb1"], m["fb2"],
                     _runs_text(m["firsts"]), _runs_text(m["seconds"])])
    stock = med.get("stock-new")
    if stock and base and stock["mds"] != base["mds"] and stock["first"] is not None:
        factor = base["mds"] / stock["mds"]
        est = stock["first"] * factor
        rows.append(["stock, extrapolated (linear x%g)" % factor, str(base["mds"]),
                     "~" + fmt_secs(est), "", "", fmt_ratio(ratio(est, base["first"])),
                     "", "", "", "", ""])
    _table(["set-up", "vhosts", "1st start", "1st PidFile", "2nd start",
            "1st/static", "2nd/static", "1st fallback loops", "2nd fallback loops",
            "1st runs", "2nd runs"], rows)
    print("  fallback loops: seconds from the first to the last mod_ssl AH10085 line "
          "per config pass\n  (pre-detach pass + daemon pass): the md module's "
          "fallback hook plus mod_ssl loading its files")
    ours = med.get("ours-new")
    if ours and stock and ours["first"] and stock["first"] is not None:
        print("  stock per new MD at first start: %.0f ms; ours: %.1f ms "
              "(ours-new minus static, over %d MDs)" % (
                  1000 * stock["first"] / stock["mds"],
                  1000 * ((ours["first"] - base["first"]) / ours["mds"]) if base else 0,
                  ours["mds"]))
    for r in runs:
        if r["status"] != "ok":
            print("  %s %d vhosts rep %d: %s" % (r["kind"], r["mds"], r["rep"] + 1,
                                                r["status"]))
    print()


def print_all(results, args):
    print()
    print("our module:   %s" % results["ours"])
    print("stock module: %s" % results["stock"])
    print("load average: %s before, %s after (%d CPUs); other load skews every figure" % (
        "/".join("%.1f" % x for x in results["load_before"]),
        "/".join("%.1f" % x for x in results["load_after"] or ()),
        os.cpu_count() or 0))
    print()
    if results["staging"]:
        staging_table(results["staging"])
    if results["startup"]:
        startup_table(results["startup"], args)
