"""Moving a server with a file store to the PostgreSQL store, and back.

A server gets certificates with the file store (MDStoreBackend not set);
pointed at an empty database it imports its store once (accounts, live
certificates, job state) and orders nothing new; a new node that gets the
store key (md_store.json) serves the same certificates from the database
at once; md-status works the same; the stock module started on the
server's MDStoreDir (the local copies keep the stock layout) serves them
too, without ordering. A restart imports nothing again.
"""
import json
import os
import subprocess
import types

import pytest

from mdtest import REPO_ROOT, STOCK_MD_MODULE, status
from mdtest.cluster import Cluster

pytestmark = pytest.mark.ours

MDS = ["m1.mig.test", "m2.mig.test"]
IMPORTED_RE = r"MD24023: set up the store database .* from this server's store: imported"


@pytest.fixture(scope="module")
def migration(e2e, postgres):
    cl = Cluster(e2e, postgres, "mig", nodes=1, lease_time="20s")
    f = cl.nodes[0]
    try:
        # a plain server with the file store first
        conf = cl.node_config(f, MDS, backend=False)
        status.add_handlers(conf)
        conf.write()
        cl.start([f])
        cl.wait_all_served(MDS, nodes=[f])
        before = {name: cl.fingerprint(f, name) for name in MDS}
        status_before = status.md_status(f)
        orders = cl.pebble.count_orders_created()
        accounts = sorted(os.listdir(f.accounts_dir))
        f.stop()

        # the same server, now on the (empty) database
        conf = cl.node_config(f, MDS)
        status.add_handlers(conf)
        conf.write()
        mark = f.log_mark()
        cl.start([f])
        yield types.SimpleNamespace(cl=cl, f=f, before=before, orders=orders, mark=mark,
                                    accounts=accounts, status_before=status_before)
    finally:
        cl.close()


def test_import_once_orders_nothing(migration):
    cl, f = migration.cl, migration.f
    assert f.count_log(IMPORTED_RE, since=migration.mark) == 1, f.log_tail(30)
    for name in MDS:
        assert cl.fingerprint(f, name) == migration.before[name]
    # accounts, live sets and their job state are in the database
    rows = cl.query("SELECT grp, count(*) FROM md_items GROUP BY grp ORDER BY grp")
    groups = dict((g, int(n)) for g, n in rows)
    assert groups.get("accounts") == len(migration.accounts), rows
    assert groups.get("domains") == len(MDS), rows
    assert cl.query("SELECT count(*) FROM md_values WHERE grp = 'domains' AND "
                    "aspect = 'job.json'") == [[str(len(MDS))]]
    assert cl.pebble.count_orders_created() == migration.orders
    # md-status: the same document, plus the store
    now = status.md_status(f)
    assert now["store"]["backend"] == "postgresql"
    for old, new in zip(migration.status_before["managed-domains"], now["managed-domains"]):
        assert old["name"] == new["name"]
        assert old["cert"] == new["cert"]
        assert old["state"] == new["state"]


def test_a2md_reads_the_database(migration):
    """a2md with the stock command line; the shared store in its environment."""
    cl, f = migration.cl, migration.f
    a2md = os.path.join(REPO_ROOT, "build", "a2md")
    env = dict(os.environ, MD_STORE_BACKEND="postgresql", MD_STORE_CONNINFO=cl.conninfo(f))
    r = subprocess.run([a2md, "-j", "-d", f.store, "list"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    assert r.returncode == 0, r.stderr
    listed = json.loads(r.stdout)["output"]
    assert sorted(o["name"] for o in listed) == sorted(MDS)
    assert cl.pg.password not in (r.stdout + r.stderr).decode()


def test_new_node_serves_from_the_database(migration):
    cl, f = migration.cl, migration.f
    g = cl.add_node()
    # the store key of the migrated server: what an admin copies over
    with open(f.store_json) as src:
        key = src.read()
    with open(g.store_json, "w") as dst:
        dst.write(key)
    cl.node_config(g, MDS).write()
    cl.start([g])
    for name in MDS:
        assert cl.fingerprint(g, name) == migration.before[name]
    assert cl.pebble.count_orders_created() == migration.orders
    assert g.count_log(r"MD24023") == 0
    g.stop()


def test_restart_imports_nothing(migration):
    cl, f = migration.cl, migration.f
    mark = f.log_mark()
    f.stop()
    cl.start([f])
    assert f.count_log(r"MD24023", since=mark) == 0
    assert json.loads(cl.query("SELECT count(*) FROM md_meta WHERE name = 'initialized'")
                      [0][0]) == 1


def test_stock_module_serves_the_local_copies(migration, e2e):
    cl, f = migration.cl, migration.f
    f.stop()
    stock = e2e.new_apache(name="mig-stock", module=STOCK_MD_MODULE, pebble=cl.pebble,
                           store_dir=f.store)
    conf = stock.config()
    for name in MDS:
        conf.add_md([name])
        conf.add_vhost(name)
    conf.write()
    try:
        stock.start()
        for name in MDS:
            assert cl.fingerprint(stock, name) == migration.before[name]
        assert cl.pebble.count_orders_created() == migration.orders
    finally:
        stock.stop()
