"""MDStoreLocks: servers sharing one store take turns syncing and
activating at start-up through a lock on <store>/store.lock. A server that
does not get the lock in time says so, serves what the store holds and
activates nothing; the next restart with the lock free does.
"""
import fcntl
import os
import re

from mdtest import certs

MD = "locks.test"


def _config(a, locks):
    conf = a.config()
    conf.add("MDStoreLocks %s" % locks)
    conf.add_md([MD])
    conf.add_vhost(MD)
    conf.write()
    return conf


def test_store_lock_held_elsewhere_start_waits_reports_and_activates_nothing(apache):
    a = apache
    _config(a, "2s")
    a.start()
    a.wait_staged(MD)
    a.stop()
    lock_path = os.path.join(a.store, "store.lock")
    assert os.path.exists(lock_path), "the lock file was not used"

    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)     # another server is syncing
        mark = a.log_mark()
        a.start()
        lines = a.log_lines(r"MD11012: %s: could not get the store lock within 2 seconds"
                            % re.escape(lock_path), since=mark)
        assert lines, a.log_tail(20)
        assert "[md:error]" in lines[0]
        # nothing was activated: the fallback is served, the set stays staged
        assert certs.is_self_signed(a.get_served_cert(MD))
        assert os.path.exists(a.staged_pubcert(MD))
    finally:
        os.close(fd)                       # releases the lock
    mark = a.log_mark()
    a.graceful()
    chain = a.wait_served(MD)
    assert MD in certs.dns_sans(chain[0])
    assert not a.log_lines(r"MD11012", since=mark)
    assert not os.path.exists(a.staged_pubcert(MD))


def test_store_locks_refuses_bad_values(apache):
    a = apache
    for value in ("maybe", "10x", "1w"):
        conf = _config(a, value)
        rc, out = a.config_test()
        assert rc != 0, value
        assert "MDStoreLocks" in out and value in out, out
        assert str(conf.line_of("MDStoreLocks")) in out, out


def test_store_locks_accepts_on_off_and_durations(apache):
    """As the stock module: 0 is off, and so is a negative wait (with a
    warning)."""
    a = apache
    for value in ("on", "off", "30", "2mi", "500ms", "30secs", "0", "-5s"):
        _config(a, value)
        rc, out = a.config_test()
        assert rc == 0, "%s: %s" % (value, out)
