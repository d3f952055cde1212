"""A private PostgreSQL server (Debian's postgresql-15) for the store tests.

    pg = Postgres(workdir)              # nothing runs yet
    pg.start()                          # initdb on first start, then postgres
    pg.create_db("cluster1")            # owned by the node role
    pg.conninfo("cluster1")             # what MDStoreBackend gets (TCP, passfile)
    pg.admin_conninfo("cluster1")       # superuser over the unix socket
    pg.query("cluster1", "SELECT ...")  # rows as lists of strings
    pg.stop(); pg.start()               # same data, same ports
    pg.close()                          # stopped by PID, data left to the caller

It runs as the unprivileged `postgres` user from a directory of its own,
listening on a unix socket in <root>/sock and on 127.0.0.1:<free port>.
Durability settings are off (fsync, synchronous_commit): the data is thrown
away after the run, and the tests stop the server cleanly when they mean
to keep it.

The nodes log in as role `mdnode` with a password they read from a libpq
passfile (owned by the server's User, mode 0600), the way a production
server would; the password is random per run and never in the connection
string.

Also a command line for the unit tests, which need a database too:

    /usr/bin/python3 test/e2e/mdtest/postgres.py run -- build/test/test_md_store_pg

starts a server in a temp dir, runs the command with MD_TEST_PG_CONNINFO
(superuser, database `mdunit`) in its environment, stops the server by PID
and exits with the command's status.
"""
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from mdtest import util  # noqa: E402
else:
    from . import util

PG_BIN = "/usr/lib/postgresql/15/bin"
PG_USER = "postgres"
ADMIN = "mdadmin"
NODE_ROLE = "mdnode"
NODE_OS_USER = "www-data"


def _ids(user):
    pw = pwd.getpwnam(user)
    return pw.pw_uid, pw.pw_gid


class PostgresError(AssertionError):
    pass


class Postgres:
    def __init__(self, workdir, name="postgres", port=None):
        self.root = os.path.join(workdir, name)
        self.data = os.path.join(self.root, "data")
        self.sock = os.path.join(self.root, "sock")
        self.log_path = os.path.join(self.root, "postgres.log")
        self.passfile = os.path.join(self.root, "pgpass")
        self.port = port or util.free_port()
        self.password = secrets.token_urlsafe(18)
        self.proc = None
        self._initialized = False

    # --- lifecycle --------------------------------------------------------
    def _as_postgres(self, args, **kw):
        uid, gid = _ids(PG_USER)
        return subprocess.run(args, user=uid, group=gid, extra_groups=[],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, cwd=self.root, **kw)

    def _initdb(self):
        uid, gid = _ids(PG_USER)
        os.makedirs(self.root, exist_ok=True)
        # the parents are root's; postgres and the node user must get through
        os.chmod(self.root, 0o755)
        os.chown(self.root, uid, gid)
        os.makedirs(self.sock, exist_ok=True)
        os.chown(self.sock, uid, gid)
        os.chmod(self.sock, 0o755)
        pwfile = os.path.join(self.root, "initpw")
        with open(pwfile, "w") as f:
            f.write(self.password + "\n")
        os.chown(pwfile, uid, gid)
        os.chmod(pwfile, 0o600)
        r = self._as_postgres([os.path.join(PG_BIN, "initdb"), "-D", self.data,
                               "-U", ADMIN, "-E", "UTF8", "--no-instructions", "--no-sync",
                               "--auth-local=trust", "--auth-host=scram-sha-256",
                               "--pwfile", pwfile], timeout=120)
        os.unlink(pwfile)
        if r.returncode != 0:
            raise PostgresError("initdb failed:\n" + r.stdout.decode("utf-8", "replace"))
        self._initialized = True

    def start(self, timeout=60):
        if self.running:
            return self
        if not self._initialized:
            self._initdb()
        uid, gid = _ids(PG_USER)
        args = [os.path.join(PG_BIN, "postgres"), "-D", self.data,
                "-c", "port=%d" % self.port,
                "-c", "listen_addresses=127.0.0.1",
                "-c", "unix_socket_directories=%s" % self.sock,
                "-c", "fsync=off", "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off", "-c", "max_connections=300",
                "-c", "shared_buffers=32MB", "-c", "log_min_messages=warning",
                "-c", "log_connections=off"]
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(args, user=uid, group=gid, extra_groups=[],
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, cwd=self.root,
                                         preexec_fn=util._die_with_parent)
        finally:
            log.close()
        util.wait_for(self._ready, timeout=timeout, what="postgres on port %d" % self.port,
                      on_timeout=lambda: util.tail(self.log_path))
        if not os.path.exists(self.passfile):
            self._setup_roles()
        return self

    def _ready(self):
        if self.proc.poll() is not None:
            raise util.Abort("postgres exited with %s\n%s" % (self.proc.returncode,
                                                             util.tail(self.log_path)))
        r = subprocess.run([os.path.join(PG_BIN, "pg_isready"), "-q", "-h", self.sock,
                            "-p", str(self.port)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        return r.returncode == 0

    def _setup_roles(self):
        self.sql("postgres", "CREATE ROLE %s LOGIN PASSWORD '%s'" % (NODE_ROLE, self.password))
        uid, gid = _ids(NODE_OS_USER)
        with open(self.passfile, "w") as f:
            f.write("127.0.0.1:%d:*:%s:%s\n" % (self.port, NODE_ROLE, self.password))
        # libpq ignores a passfile others can read; the children run as User
        os.chown(self.passfile, uid, gid)
        os.chmod(self.passfile, 0o600)

    def stop(self, timeout=30):
        """Fast shutdown (SIGINT to the postmaster PID); SIGKILL if it lingers."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def close(self):
        self.stop()

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    # --- databases ----------------------------------------------------------
    def admin_conninfo(self, db):
        return "host=%s port=%d user=%s dbname=%s" % (self.sock, self.port, ADMIN, db)

    def conninfo(self, db, application_name=None):
        """What a node puts into MDStoreBackend: TCP, the node role, the
        password from the passfile (never in the string itself)."""
        s = "host=127.0.0.1 port=%d dbname=%s user=%s passfile=%s" % (
            self.port, db, NODE_ROLE, self.passfile)
        if application_name:
            s += " application_name=%s" % application_name
        return s

    def _psql(self, db, sql):
        r = subprocess.run([os.path.join(PG_BIN, "psql"), "-X", "-q", "-A", "-t",
                            "-F", "\x1f", "-v", "ON_ERROR_STOP=1",
                            "-h", self.sock, "-p", str(self.port), "-U", ADMIN, "-d", db,
                            "-c", sql], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        if r.returncode != 0:
            raise PostgresError("psql %s: %s\n%s" % (db, sql, r.stderr.decode("utf-8", "replace")))
        return r.stdout.decode("utf-8", "replace")

    def sql(self, db, sql):
        self._psql(db, sql)

    def query(self, db, sql):
        """Rows of a SELECT as lists of strings."""
        out = self._psql(db, sql)
        return [line.split("\x1f") for line in out.splitlines() if line != ""]

    def create_db(self, db):
        self.sql("postgres", "CREATE DATABASE %s OWNER %s" % (db, NODE_ROLE))
        return db

    def drop_db(self, db):
        self.sql("postgres", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % db)

    def log_tail(self, lines=40):
        return util.tail(self.log_path, lines)


def _run(argv):
    """postgres.py run -- cmd...: a server around one command."""
    if len(argv) < 3 or argv[0] != "run" or argv[1] != "--":
        print("usage: postgres.py run -- command [args...]", file=sys.stderr)
        return 2
    workdir = tempfile.mkdtemp(prefix="md-pg-")
    os.chmod(workdir, 0o755)
    pg = Postgres(workdir)
    try:
        pg.start()
        pg.sql("postgres", "CREATE DATABASE mdunit")
        env = dict(os.environ, MD_TEST_PG_CONNINFO=pg.admin_conninfo("mdunit"),
                   MD_TEST_PG_ADMIN=pg.admin_conninfo("postgres"))
        return subprocess.run(argv[2:], env=env).returncode
    finally:
        pg.close()
        if os.environ.get("MD_E2E_KEEP", "") in ("", "0"):
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(_run(sys.argv[1:]))
