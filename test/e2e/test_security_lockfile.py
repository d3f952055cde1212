"""The renewal lock file (<DefaultRuntimeDir>/mod_md-renew.lock) is created
by the parent as root and handed to the server's User (issue 11, finding
7). In a runtime directory others can write to, a link planted at its name
must not make root open, create or chown anything else. (The test plants
the link as root: on a system with fs.protected_symlinks=1 the kernel
would refuse root to follow another user's link in a sticky directory
anyway; on others it would not.)
"""
import os


def test_lock_file_link_is_not_followed(apache):
    md = "lockfile.test"
    victim = os.path.join(apache.root, "victim.conf")
    with open(victim, "w") as f:
        f.write("root's\n")
    os.chmod(victim, 0o600)
    link = os.path.join(apache.run_dir, "mod_md-renew.lock")
    os.symlink(victim, link)
    conf = apache.config()
    conf.add_md([md])
    conf.add_vhost(md)
    conf.write()
    apache.start()
    apache.wait_staged(md)      # renewals go on without the lock
    st = os.stat(victim)
    assert (st.st_uid, st.st_gid) == (0, 0), "root handed %s to www-data" % victim
    assert os.path.islink(link)
    # refused, and said so
    assert apache.log_lines(r"MD12008: .*mod_md-renew.lock.*symbolic link")
    with open(victim) as f:
        assert f.read() == "root's\n"
