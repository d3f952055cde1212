"""Configuration changes between restarts, on one store:

- a name added to an MD: a new certificate with all names; until it is
  there the old one is still served (not the fallback);
- a name removed: the certificate still covers the rest and is kept;
- a name moved from one MD to another: the first keeps its certificate,
  the second gets one with the name;
- the first name of an MD changes (so does its name): the stored MD is
  renamed, its certificate kept, as the stock module does;
- an MD removed: its data stays, and adding it back serves its old
  certificate without a new order;
- staging/ and challenges/ entries of MDs no longer configured are removed.
"""
import os
import types

import pytest

from mdtest import certs

ALPHA = ["alpha.test", "www.alpha.test"]           # gets a name added
BETA = ["beta.test", "www.beta.test", "old.beta.test"]   # loses a name
MOVER = ["mover.test", "moved.test"]               # moved.test moves to DEST
DEST = ["dest.test", "moved.test"]
RENAMED = ["first.test", "second.test"]            # becomes second.test first.test
GONE = ["gone.test"]                               # removed, then added back
FRESH = ["fresh.test"]                             # new in the last phase


def _configure(a, mds):
    conf = a.config()
    for names in mds:
        conf.add_md(names)
    for names in mds:
        conf.add_vhost(names[0], aliases=names[1:])
    conf.write()


def _serial(a, name):
    return a.get_served_cert(name).serial_number


def _pebble_issued(leaf):
    return certs.issuer_cn(leaf).startswith("Pebble Intermediate")


@pytest.fixture(scope="module")
def changes(e2e, pebble):
    a = e2e.new_apache(name="config-changes")
    ns = types.SimpleNamespace(apache=a)
    try:
        # phase 1: every MD gets its certificate
        _configure(a, [ALPHA, BETA, MOVER, RENAMED, GONE])
        a.start()
        for names in (ALPHA, BETA, MOVER, RENAMED, GONE):
            a.wait_staged(names[0])
        a.graceful()
        for names in (ALPHA, BETA, MOVER, RENAMED, GONE):
            a.wait_served(names[0])
        ns.before = {n[0]: _serial(a, n[0]) for n in (ALPHA, BETA, MOVER, RENAMED, GONE)}
        a.stop()
        # leftovers of an MD that no longer exists
        for group, aspect in (("staging", "job.json"), ("challenges", "acme-http-01.txt")):
            d = os.path.join(a.store, group, "ghost.test")
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, aspect), "w") as f:
                f.write("{}")

        # phase 2: the changes
        orders = pebble.count_orders_created()
        _configure(a, [BETA[:2], MOVER[:1], [RENAMED[1], RENAMED[0]], ALPHA + ["new.alpha.test"],
                       DEST])
        mark = a.log_mark()
        a.start()
        ns.at_start = {n: a.get_served_chain(n)[0] for n in
                       ("alpha.test", "beta.test", "mover.test", "second.test", "first.test")}
        ns.alpha_status_at_start = a.https_get("alpha.test", "/index.html").status
        ns.stale_left = [g for g in ("staging", "challenges")
                         if os.path.exists(os.path.join(a.store, g, "ghost.test"))]
        ns.domains_after_rename = sorted(os.listdir(os.path.join(a.store, "domains")))
        a.wait_staged("alpha.test", since=mark)
        a.wait_staged("dest.test", since=mark)
        ns.phase2_orders = pebble.count_orders_created() - orders
        ns.phase2_log = a.log_text(mark)
        a.graceful()
        ns.alpha_new = a.wait_served(
            "new.alpha.test", predicate=lambda c: "new.alpha.test" in certs.dns_sans(c[0]))[0]
        ns.dest_new = a.wait_served("dest.test")[0]
        ns.moved_served = a.get_served_cert("moved.test")
        a.stop()

        # phase 3: the removed MD comes back, and one new MD after it
        orders = pebble.count_orders_created()
        _configure(a, [BETA[:2], GONE, FRESH])
        mark = a.log_mark()
        a.start()
        ns.gone_back = a.get_served_cert(GONE[0])
        a.wait_staged(FRESH[0], since=mark)
        ns.phase3_orders = pebble.count_orders_created() - orders
        yield ns
    finally:
        a.stop()


def test_added_name_gets_new_certificate_old_one_served_meanwhile(changes):
    old = changes.at_start["alpha.test"]
    assert _pebble_issued(old)
    assert old.serial_number == changes.before["alpha.test"]
    assert changes.alpha_status_at_start == 200
    assert sorted(certs.dns_sans(changes.alpha_new)) == sorted(ALPHA + ["new.alpha.test"])


def test_removed_name_keeps_valid_certificate(changes):
    assert changes.at_start["beta.test"].serial_number == changes.before["beta.test"]


def test_moved_name_old_md_keeps_certificate_new_md_gets_one(changes):
    assert changes.at_start["mover.test"].serial_number == changes.before["mover.test"]
    assert sorted(certs.dns_sans(changes.dest_new)) == sorted(DEST)
    assert changes.moved_served.serial_number == changes.dest_new.serial_number


def test_md_renamed_when_first_name_changes_keeps_certificate(changes):
    assert "second.test" in changes.domains_after_rename
    assert "first.test" not in changes.domains_after_rename
    for name in ("second.test", "first.test"):
        assert changes.at_start[name].serial_number == changes.before["first.test"]
    assert "MD07011: second.test: renamed from first.test" in changes.phase2_log


def test_config_changes_order_only_what_is_needed(changes):
    # alpha.test (a name added) and dest.test (new); nothing for the others
    assert changes.phase2_orders == 2


def test_removed_md_keeps_its_data_and_is_reused_when_added_back(changes):
    assert changes.gone_back.serial_number == changes.before["gone.test"]
    assert changes.phase3_orders == 1      # fresh.test only


def test_stale_staging_and_challenges_of_unknown_mds_are_removed(changes):
    assert changes.stale_left == []
    assert "MD07012: staging/ghost.test" in changes.phase2_log
    assert "MD07013: challenges/ghost.test" in changes.phase2_log
