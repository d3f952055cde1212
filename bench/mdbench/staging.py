"""Benchmark 1: time from server start to all certificates staged.

One run: a fresh Apache (own ServerRoot, empty store, so a new ACME account)
with N MDs, one SSL vhost each, against the session's pebble. The clock
starts just before `apache2 -k start` and stops at the first file-system
poll (every 20 ms) that finds staging/<md>/<pubcert> for every MD. Log lines
are not used, so our module and the stock one are measured the same way.
"""
import os

from . import common

#: key types the benchmark knows: the MDPrivateKeys line (None: the module's
#: default, RSA 2048) and the staged certificate's file name for that key
KEYS = {
    "ec": ("MDPrivateKeys secp256r1", "pubcert.secp256r1.pem"),
    "rsa": (None, "pubcert.pem"),
}


def md_names(count):
    return ["md%02d.bench.test" % i for i in range(1, count + 1)]


def configure(apache, names, key, log_level):
    conf = apache.config(log_level=log_level)
    line, _ = KEYS[key]
    if line:
        conf.add(line)
    for name in names:
        conf.add_md([name])
        conf.add_vhost(name)
    conf.write()


def run_once(session, label, module, count, key, rep, timeout, log_level):
    """Returns a dict: secs (None if not staged), serving (secs until httpd
    logged that it serves), orders (newOrder requests pebble saw), status."""
    names = md_names(count)
    a = session.new_apache(name="stage-%s-%s-%d-%d" % (label, key, count, rep),
                           module=module)
    configure(a, names, key, log_level)
    pubcert = KEYS[key][1]
    paths = [os.path.join(a.staging_dir(n), pubcert) for n in names]
    orders_before = session.pebble.count_requests("/order-plz")

    def all_staged():
        return all(os.path.exists(p) for p in paths)

    bg = common.BackgroundStart(a, timeout=min(timeout, 120))

    def abort():
        if bg.error is not None:
            return "start failed: %s" % str(bg.error).splitlines()[0]
        if bg.done and not a.running:
            return "httpd is gone"
        return None

    result = {"module": label, "key": key, "mds": count, "rep": rep,
              "secs": None, "serving": None, "orders": None, "status": "ok"}
    try:
        bg.begin()
        t_end = common.poll_until(all_staged, bg.t0 + timeout, abort=abort)
        if t_end is None:
            missing = [n for n, p in zip(names, paths) if not os.path.exists(p)]
            result["status"] = "timeout after %ds, %d/%d staged (e.g. %s not)" % (
                timeout, count - len(missing), count, missing[0])
        else:
            result["secs"] = t_end - bg.t0
        bg.join(30)
        if bg.t_started is not None:
            result["serving"] = bg.t_started - bg.t0
    except RuntimeError as exc:
        result["status"] = str(exc)
    finally:
        a.stop()
    result["orders"] = session.pebble.count_requests("/order-plz") - orders_before
    if result["status"] != "ok":
        result["log_tail"] = a.log_tail(15)
    return result
