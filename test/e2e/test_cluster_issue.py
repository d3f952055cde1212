"""A cluster of three nodes on one PostgreSQL store (MDStoreBackend
postgresql), all started at once with the same 20 MDs, behind round-robin
proxies on the ports the CA validates against:

 - exactly one order per MD at the CA, however many nodes;
 - any node answers the CA's http-01 challenge, not only the one ordering;
 - every node serves every certificate, verified, with no restart by hand
   (each node restarts itself once it sees the new live sets);
 - the store holds everything: keys sealed, one ACME account for all;
 - md-status and md-metrics show the store and who holds which lease;
 - nothing secret (the database password) in any log or status output.
"""
import os
import re
import types

import pytest

from mdtest import prometheus, status
from mdtest.cluster import Cluster

COUNT = 20
MDS = ["c%02d.cluster.test" % i for i in range(1, COUNT + 1)]
DRIVER_RE = re.compile(r"MD24907: (\S+): this server \((\S+)\) renews it")
ANSWER_RE = re.compile(r"MD11021: answering http-01 challenge for (\S+)")


@pytest.fixture(scope="module")
def cluster(e2e, postgres):
    # no rejected nonces: each newOrder pebble logs is one order
    # a long lease: a node slowed down by a busy machine keeps its work
    cl = Cluster(e2e, postgres, "issue", nodes=3, lease_time="20s",
                 pebble_env={"PEBBLE_WFE_NONCEREJECT": 0})
    try:
        for a in cl.nodes:
            # a few at a time per node: the first node up cannot take all
            conf = cl.node_config(a, MDS, extra=["MDPrivateKeys secp256r1",
                                                 "MDParallelRenewals 4"])
            status.add_handlers(conf)
            conf.write()
        cl.start()
        cl.wait_all_served(MDS, timeout=240)
        yield types.SimpleNamespace(cl=cl)
    finally:
        cl.close()


def test_one_order_per_md(cluster):
    cl = cluster.cl
    assert cl.pebble.count_orders_created() == COUNT, cl.pebble.log_tail(40)
    # one account for the whole cluster
    assert cl.pebble.count_accounts_created() == 1, cl.pebble.log_tail(40)
    drivers = {}
    for a in cl.nodes:
        for m in DRIVER_RE.finditer(a.log_text()):
            drivers.setdefault(m.group(1), set()).add(m.group(2))
    assert sorted(drivers) == sorted(MDS)
    assert all(len(nodes) == 1 for nodes in drivers.values()), drivers
    # the work was shared: more than one node ordered
    assert len({n for nodes in drivers.values() for n in nodes}) > 1, drivers


def test_any_node_answers_the_challenges(cluster):
    cl = cluster.cl
    drivers = {}
    answered = {}
    for a in cl.nodes:
        text = a.log_text()
        for m in DRIVER_RE.finditer(text):
            drivers[m.group(1)] = m.group(2)
        for m in ANSWER_RE.finditer(text):
            answered.setdefault(m.group(1), set()).add(a.node_name)
    by_other = [md for md in MDS if answered.get(md, set()) - {drivers[md]}]
    # round robin sends the CA to every node in turn: most challenges were
    # answered by a node that did not order the certificate
    assert len(by_other) >= COUNT // 3, (drivers, answered)
    counts = cl.http_proxy.counts()
    assert len(counts) == 3 and all(n > 0 for n in counts.values()), counts


def test_every_node_restarted_by_itself(cluster):
    cl = cluster.cl
    for a in cl.nodes:
        assert a.count_log(r"MD13001: restarting the server gracefully") >= 1, a.log_tail()
        # the same certificate on every node
    for name in MDS[:5]:
        fps = {cl.fingerprint(a, name) for a in cl.nodes}
        assert len(fps) == 1, (name, fps)


def test_store_holds_it_all(cluster):
    cl = cluster.cl
    rows = cl.query("SELECT count(*) FROM md_items WHERE grp = 'domains' AND version <> 0")
    assert int(rows[0][0]) == COUNT
    # private keys only sealed, never plain
    rows = cl.query("SELECT count(*) FROM md_values WHERE aspect LIKE 'privkey%' AND NOT sealed")
    assert rows == [["0"]]
    rows = cl.query("SELECT count(*) FROM md_values WHERE position('PRIVATE KEY' in "
                    "encode(data, 'escape')) > 0")
    assert rows == [["0"]]
    # staging is empty after activation, nothing left to order
    assert cl.query("SELECT count(*) FROM md_values WHERE grp = 'staging' "
                    "AND aspect = 'md.json'") == [["0"]]
    # local copies for mod_ssl on every node, plain key readable by root only
    for a in cl.nodes:
        for name in MDS:
            d = a.domain_dir(name)
            with open(os.path.join(d, "pubcert.secp256r1.pem")) as f:
                assert f.read().startswith("-----BEGIN CERTIFICATE"), a.name
            key = os.path.join(d, "privkey.secp256r1.pem")
            assert os.stat(key).st_mode & 0o077 == 0
            with open(key) as f:
                assert "BEGIN PRIVATE KEY" in f.read()


def test_status_shows_leases(cluster):
    cl = cluster.cl
    a = cl.nodes[0]
    j = status.md_status(a)
    assert j["store"]["backend"] == "postgresql"
    assert j["store"]["node"] == a.node_name
    assert j["store"]["reachable"] is True
    for md in j["managed-domains"]:
        assert "lease" in md, md["name"]
        assert md["lease"]["epoch"] >= 1
        assert md["lease"]["held"] is False      # all done, released
    one = status.md_status(a, MDS[0])
    assert one["lease"]["epoch"] >= 1
    text = status.get(a, "/md-metrics").text
    fams = prometheus.parse(text)
    assert fams["md_store_up"].value(backend="postgresql", node=a.node_name) == 1
    epochs = {l["name"]: v for l, v in fams["md_store_lease_epoch"].samples}
    assert all(epochs.get(name, 0) >= 1 for name in MDS), epochs


def test_nothing_secret_in_logs_or_status(cluster):
    cl = cluster.cl
    secret = cl.pg.password
    for a in cl.nodes:
        assert secret not in a.log_text()
        assert "passfile" not in a.log_text()
        assert secret not in status.get(a, "/md-status").text
        assert secret not in status.get(a, "/md-metrics").text
