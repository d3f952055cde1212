"""A CA that forgot us: pebble is restarted in the middle of a renewal and
knows neither our account nor our order any more. The job registers a new
account and places a new order by itself on its next run, and the
certificate it gets verifies against the restarted CA.

The renewal is held at a chosen step with the module's test-only hook
(MD_TEST_CRASH_AT, src/core/md_testhook.h): the watchdog child freezes
there, pebble is restarted, and the child is let go on (or the server is
killed there, for the restart variant).
"""
import os
import re
import signal

from mdtest import certs, crash_hook_module_path
from mdtest.apache import check_module

HOOK_ENV = "MD_TEST_CRASH_AT"


def _hook_module():
    """The test build: the production module has no crash hook."""
    return check_module(crash_hook_module_path())


def _stopped_at(a, point, since):
    rx = re.compile(r"MD09900: test hook: stopped at %s " % re.escape(point))
    a.wait_for(lambda: a.log_lines(rx, since=since), timeout=60,
               what="the renewal to reach %s" % point)


def _frozen(a):
    pids = []
    for pid in a.processes():
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "T":
                    pids.append(pid)
        except OSError:
            pass
    return pids


def _configure(a, md):
    conf = a.config()
    conf.add_md([md])
    conf.add_vhost(md)
    conf.write()


def _served_by(a, ca, md):
    chain = a.wait_served(md)
    assert md in certs.dns_sans(chain[0])
    ok, out = ca.verify_chain(chain, hostname=md)
    assert ok, "not issued by the restarted CA:\n" + out


def test_ca_restarted_mid_renewal_job_registers_and_orders_again(apache_factory,
                                                                 pebble_factory):
    md = "reset.test"
    ca = pebble_factory()
    a = apache_factory(pebble=ca, module=_hook_module())
    _configure(a, md)
    # the child freezes once its order is saved at the CA and in staging
    a.start(env={HOOK_ENV: "drive:order-saved"})
    pid = a.pid
    _stopped_at(a, "drive:order-saved", 0)
    accounts_before = os.listdir(a.accounts_dir)

    ca.restart()                      # forgets every account and order
    mark = a.log_mark()
    for child in a.wait_for(lambda: _frozen(a), timeout=10, what="the frozen child"):
        os.kill(child, signal.SIGCONT)

    a.wait_staged(md, since=mark, timeout=180)
    assert a.pid == pid, "Apache was restarted"
    # the stored account was refused and a new one registered
    assert a.log_lines(r"MD04013: registered ACME account", since=mark)
    assert len(os.listdir(a.accounts_dir)) == len(accounts_before) + 1
    a.graceful()
    _served_by(a, ca, md)


def test_server_killed_mid_renewal_then_ca_reset_recovers_on_next_start(apache_factory,
                                                                       pebble_factory):
    md = "reset2.test"
    ca = pebble_factory()
    a = apache_factory(pebble=ca, module=_hook_module())
    _configure(a, md)
    # killed after the order was finalized with a staged key
    proc, _ = a.launch(env={HOOK_ENV: "drive:finalized"}, wait=False)
    _stopped_at(a, "drive:finalized", 0)
    for pid in a.processes():
        os.kill(pid, signal.SIGKILL)
    a.wait_for(lambda: not a.processes(), timeout=30, what="the server to be gone")
    proc.wait(timeout=30)
    assert os.path.exists(os.path.join(a.staging_dir(md), "order.json"))

    ca.restart()
    mark = a.log_mark()
    a.start()
    a.wait_staged(md, since=mark, timeout=180)
    assert a.log_lines(r"MD04013: registered ACME account", since=mark)
    a.graceful()
    _served_by(a, ca, md)
