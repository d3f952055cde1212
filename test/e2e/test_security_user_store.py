"""The server's User attacks the root parent through the store (issue 11,
finding 1). accounts/, challenges/ and staging/ belong to www-data; at every
start and graceful restart the parent (root) hands them to www-data again,
activates staged sets, imports staged accounts and purges stale entries in
them. Whatever www-data planted there must not make root write, chown or
delete anything outside the store.

Server: started as root with User www-data, MDActivationAuto off (the test
makes every restart). imp.test renews at every start (MDRenewWindow 3000d),
so there is always a staged set to activate.
"""
import json
import re
import os
import stat
import types

import pytest

from mdtest import attacker, certs

MD = "imp.test"


@pytest.fixture(scope="module")
def srv(e2e):
    a = e2e.new_apache(name="usec-store")
    conf = a.config()
    conf.add("MDActivationAuto off")
    conf.add_md([MD], ["MDRenewWindow 3000d"])
    conf.add_vhost(MD)
    conf.write()
    # outside the store, root's: what www-data must never reach through it
    victim = os.path.join(a.root, "victim")
    os.makedirs(victim, mode=0o755)
    os.chmod(victim, 0o755)
    try:
        a.start()
        a.wait_staged(MD)
        yield types.SimpleNamespace(apache=a, victim=victim)
    finally:
        a.stop()


def _graceful_and_restage(a):
    """Restart (activating what is staged) and wait for the next staged set."""
    mark = a.log_mark()
    a.graceful()
    a.wait_for_log(r"MD07003: %s: activated" % MD, since=mark)
    a.wait_staged(MD, since=mark)
    return mark


def test_staged_account_is_not_imported_through_a_symlink(srv):
    """staging/<md>/account.json makes root import the account into
    accounts/<next free name>; www-data made that name a link to a root
    directory (think /etc/cron.d): root must not write there."""
    a = srv.apache
    accounts = sorted(os.listdir(a.accounts_dir))
    assert accounts, "no account registered"
    acct = accounts[0]
    src = os.path.join(a.accounts_dir, acct)
    with open(os.path.join(src, "account.json")) as f:
        account = json.load(f)
    # "another" account (the CA URL differs), staged as the stock module does
    account["url"] = account["url"] + "-staged"
    staging = a.staging_dir(MD)
    attacker.write(os.path.join(staging, "account.json"), json.dumps(account))
    attacker.copy(os.path.join(src, "account.pem"), os.path.join(staging, "account.pem"))
    prefix = acct.rsplit("-", 1)[0]
    for n in range(0, 8):
        name = "%s-%04d" % (prefix, n)
        if name not in accounts:
            attacker.symlink(srv.victim, os.path.join(a.accounts_dir, name))

    mark = _graceful_and_restage(a)
    assert os.listdir(srv.victim) == [], "root wrote into %s: %s" % (
        srv.victim, os.listdir(srv.victim))
    # refused, and said so
    assert a.log_lines(r"MD05200: .*accounts/%s-\d{4}: is a symbolic link" % prefix, since=mark)
    # the links are still just links
    for n in range(0, 8):
        path = os.path.join(a.accounts_dir, "%s-%04d" % (prefix, n))
        if os.path.lexists(path) and n and "%s-%04d" % (prefix, n) not in accounts:
            assert os.path.islink(path)


def test_hard_link_in_staging_is_not_chowned(srv):
    """The parent hands staging/ to www-data at every start: a hard link in
    it to a root file must not make that file www-data's. (Making the link
    needs fs.protected_hardlinks=0, which some systems have; the test makes
    it as root.)"""
    a = srv.apache
    precious = os.path.join(srv.victim, "shadow")
    with open(precious, "w") as f:
        f.write("root:secret\n")
    os.chmod(precious, 0o600)
    link = os.path.join(a.staging_dir(MD), "evil")
    os.link(precious, link)

    # the next test needs a staged set again: wait for it here
    mark = _graceful_and_restage(a)
    st = os.stat(precious)
    assert (st.st_uid, st.st_gid) == (0, 0), "root handed %s to www-data" % precious
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert a.log_lines(r"MD05201: .*staging/%s/evil: has other names" % MD, since=mark)
    os.unlink(precious)


def _stuff(directory, count):
    for i in range(count):
        os.close(os.open(os.path.join(directory, "junk%06d" % i),
                         os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644))


def test_stuffed_directory_is_read_up_to_the_cap(srv):
    """www-data fills challenges/ with more entries than root reads from a
    directory of User's (MD_FSIO_USER_DIR_MAX, 10000): at the restart root
    lists the first 10000, says which directory is stuffed, and the server
    goes on: the staged set is activated and served."""
    a = srv.apache
    challenges = os.path.join(a.store, "challenges")
    attacker.run(_stuff, challenges, 10000 + 1000)
    try:
        staged = certs.load_pem_file(a.staged_pubcert(MD))[0]
        mark = _graceful_and_restage(a)
        assert a.log_lines(r"MD05202: %s: more than 10000 entries" % re.escape(challenges),
                           since=mark)
        # the set staged before the restart is the one served now
        assert a.get_served_cert(MD).serial_number == staged.serial_number
    finally:
        for name in os.listdir(challenges):
            if name.startswith("junk"):
                os.unlink(os.path.join(challenges, name))
