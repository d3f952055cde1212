"""Playing the server's User (www-data) as an attacker.

The store's accounts/, challenges/ and staging/ belong to User; anything a
web application running as User can do there, these helpers do in a child
process that has become www-data (the test itself runs as root):

    attacker.run(fn, *args)            # fn(*args) as www-data, raises on failure
    attacker.symlink(target, path)     # path -> target, made by www-data
    attacker.mkfifo(path)
    attacker.write(path, data)         # bytes or str, replacing path
    attacker.copy(src, dst)

What needs more than User's rights is done by the test as root and says so
(e.g. a hard link to a root file, which needs fs.protected_hardlinks=0).
"""
import grp
import os
import pwd
import shutil
import traceback

USER = "www-data"


def ids():
    return pwd.getpwnam(USER).pw_uid, grp.getgrnam(USER).gr_gid


def run(fn, *args):
    """fn(*args) in a forked child running as www-data (uid, gid and no
    supplementary groups). Raises AssertionError if it raised."""
    uid, gid = ids()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        code = 0
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            fn(*args)
        except BaseException:
            os.write(w, traceback.format_exc().encode())
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        err = f.read().decode("utf-8", "replace")
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise AssertionError("as %s: %s" % (USER, err or "exit status %d" % status))


def _replace(path):
    if os.path.lexists(path):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


def _symlink(target, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    _replace(path)
    os.symlink(target, path)


def _mkfifo(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    _replace(path)
    os.mkfifo(path, 0o644)


def _write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    _replace(path)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def _copy(src, dst):
    with open(src, "rb") as f:
        _write(dst, f.read())


def symlink(target, path):
    run(_symlink, target, path)


def mkfifo(path):
    run(_mkfifo, path)


def write(path, data):
    run(_write, path, data)


def copy(src, dst):
    run(_copy, src, dst)


def release_fifo(path):
    """Open a FIFO for writing without blocking and close it: whoever is
    stuck opening it for reading goes on (and reads EOF). For cleaning up
    after a module that blocked on it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return False
    os.close(fd)
    return True
