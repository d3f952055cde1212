"""A cluster of Apache nodes on one PostgreSQL store, behind round-robin
proxies on the ports a pebble of its own validates against.

    cl = Cluster(e2e, pg, "c1", nodes=3)    # db, pebble, proxies, 3 Apaches
    cl.configure(["a.test", "b.test"])      # MDomain + vhost per name, every node
    cl.start()                              # all nodes at once
    cl.wait_all_served(["a.test", "b.test"])
    cl.stop()

Each node has its own ServerRoot, ports (Listen and MDPortMap: the local
answer check goes to the node itself) and MDStoreDir, and
`MDStoreBackend postgresql "<conninfo>"` with application_name = the
node's name. The nodes share one store key: the harness writes the same
md_store.json into every MDStoreDir before the first start, which is what
the README tells an admin to do for a new node (copy md_store.json).
Test-only short times: MDStoreLeaseTime 3s, MDStorePollInterval 1s (the
parent looks about every 10 s anyway), MDRetryDelay 1s.
"""
import base64
import json
import os
import secrets
import threading

from . import certs, util
from .rrproxy import RoundRobinProxy

LEASE_TIME = "3s"
POLL_INTERVAL = "1s"


def store_json(key):
    return json.dumps({"store": {"version": 3.0},
                       "key": base64.urlsafe_b64encode(key).rstrip(b"=").decode()}, indent=2)


class Cluster:
    def __init__(self, e2e, pg, name, nodes=3, db=None, lease_time=LEASE_TIME,
                 poll_interval=POLL_INTERVAL, pebble_env=None, module=None,
                 log_level="md:debug", pebble_config=None):
        self.e2e = e2e
        self.pg = pg
        self.name = name
        self.db = db or name.replace("-", "_")
        self.lease_time = lease_time
        self.poll_interval = poll_interval
        pg.create_db(self.db)
        self.http_port, self.https_port = util.free_ports(2)
        # the CA validates at the proxies: any node may answer
        self.pebble = e2e.new_pebble(name="pebble-%s" % name, http_port=self.http_port,
                                     https_port=self.https_port, env_extra=pebble_env,
                                     config_extra=pebble_config)
        self.key = secrets.token_bytes(48)
        self.nodes = []
        for i in range(nodes):
            self.add_node(module=module, log_level=log_level)
        self.http_proxy = RoundRobinProxy(self.http_port, [], name="%s-http" % name).start()
        self.https_proxy = RoundRobinProxy(self.https_port, [], name="%s-https" % name).start()
        self.route()
        self._conf_args = None

    # --- nodes ------------------------------------------------------------
    def add_node(self, module=None, log_level="md:debug"):
        i = len(self.nodes)
        http, https = util.free_ports(2)
        a = self.e2e.new_apache(name="%s-n%d" % (self.name, i), pebble=self.pebble,
                                http_port=http, https_port=https, module=module,
                                log_level=log_level)
        a.node_name = "%s-n%d" % (self.name, i)
        self.give_key(a)
        self.nodes.append(a)
        return a

    def give_key(self, node, key=None):
        """What an admin does for a new node: the cluster's md_store.json."""
        os.makedirs(node.store, exist_ok=True)
        path = os.path.join(node.store, "md_store.json")
        with open(path, "w") as f:
            f.write(store_json(key or self.key))
        os.chmod(path, 0o600)

    def route(self, nodes=None):
        """Send the CA (and everyone) to these nodes only (default: all)."""
        nodes = self.nodes if nodes is None else nodes
        self.http_proxy.backends = [("127.0.0.1", a.http_port) for a in nodes]
        self.https_proxy.backends = [("127.0.0.1", a.https_port) for a in nodes]

    def conninfo(self, node):
        return self.pg.conninfo(self.db, application_name=node.node_name)

    # --- configuration ----------------------------------------------------------
    def node_config(self, node, mds, extra=(), md_lines=None, vhost_lines=None,
                    backend=True):
        conf = node.config()
        if backend:
            conf.add('MDStoreBackend postgresql "%s"' % self.conninfo(node))
        if backend:
            conf.add("MDStoreLeaseTime %s" % self.lease_time,
                     "MDStorePollInterval %s" % self.poll_interval)
        conf.add("MDRetryDelay 1s")
        conf.add(*extra)
        for name in mds:
            conf.add_md([name], md_lines)
            conf.add_vhost(name, lines=vhost_lines)
        return conf

    def configure(self, mds, extra=(), md_lines=None, vhost_lines=None, nodes=None):
        for node in (self.nodes if nodes is None else nodes):
            self.node_config(node, mds, extra, md_lines, vhost_lines).write()

    # --- lifecycle ----------------------------------------------------------------
    def start(self, nodes=None, env=None):
        """Start the nodes at the same time (threads)."""
        nodes = self.nodes if nodes is None else nodes
        errors = []

        def run(a):
            try:
                a.start(env=env)
            except BaseException as exc:  # noqa: BLE001
                errors.append((a.name, exc))
        threads = [threading.Thread(target=run, args=(a,)) for a in nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise AssertionError("nodes failed to start: %r" % errors)

    def stop(self):
        for a in self.nodes:
            a.stop()

    def close(self):
        self.stop()
        self.http_proxy.stop()
        self.https_proxy.stop()
        self.pebble.stop()

    # --- what clients see ---------------------------------------------------------
    def served_ok(self, node, name):
        chain = node.get_served_chain(name)
        if not certs.issuer_cn(chain[0]).startswith("Pebble Intermediate"):
            return False
        ok, _ = self.pebble.verify_chain(chain, hostname=name)
        return ok

    def wait_all_served(self, names, nodes=None, timeout=180):
        """Every node serves a verified pebble certificate for every name."""
        nodes = self.nodes if nodes is None else nodes
        pending = {(a.name, n) for a in nodes for n in names}
        by_name = {a.name: a for a in nodes}

        def check():
            for key in sorted(pending):
                try:
                    if self.served_ok(by_name[key[0]], key[1]):
                        pending.discard(key)
                except Exception:  # noqa: BLE001 - not yet
                    pass
            return not pending
        util.wait_for(check, timeout=timeout, interval=1,
                      what="all of %d names served by %d nodes" % (len(names), len(nodes)),
                      on_timeout=lambda: "still pending: %s\n%s" % (
                          sorted(pending)[:10], "\n".join(a.log_tail(15) for a in nodes)))

    def fingerprint(self, node, name):
        from cryptography.hazmat.primitives import hashes
        return node.get_served_cert(name).fingerprint(hashes.SHA256()).hex()

    # --- the database ---------------------------------------------------------------
    def query(self, sql):
        return self.pg.query(self.db, sql)

    def lease(self, name):
        rows = self.query("SELECT epoch, coalesce(node, '') FROM md_leases WHERE name = '%s'"
                          % name)
        return (int(rows[0][0]), rows[0][1]) if rows else (0, "")

    def log_count(self, regex):
        return sum(a.count_log(regex) for a in self.nodes)
