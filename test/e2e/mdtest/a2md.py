"""Running the a2md command line (build/a2md, or $MD_A2MD) in tests.

    cli = A2md(store_dir, pebble)          # -d store -a <pebble> -C <pebble CA>
    r = cli.run("add", "a.test")           # -j added: r.json is the envelope
    r = cli.run("acme", "newreg", "x@a.test", json=False)
    r.rc, r.out, r.err, r.json, r.output   # output = r.json["output"]
    p = cli.popen("drive", "a.test")       # for runs next to other work

Exit codes (src/cli/a2md.h): 0 ok, 1 input, 2 usage, 3 remote (CA), 4 local.
"""
import json
import os
import shutil
import subprocess

from . import REPO_ROOT

EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_REMOTE, EXIT_LOCAL = 0, 1, 2, 3, 4


def a2md_path():
    return os.environ.get("MD_A2MD") or os.path.join(REPO_ROOT, "build", "a2md")


def copy_for_others(workdir):
    """A copy of the binary that other users (www-data) can run: the
    checkout may sit in a 0700 directory."""
    dst = os.path.join(workdir, "a2md-bin")
    shutil.copy2(a2md_path(), dst)
    os.chmod(dst, 0o755)
    return dst


class Result:
    def __init__(self, args, proc, json_mode):
        self.args = args
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr
        self.json = None
        if json_mode and self.out.strip():
            self.json = json.loads(self.out)

    @property
    def output(self):
        return self.json["output"]

    def __repr__(self):
        return "a2md %s -> rc %d\nstdout: %s\nstderr: %s" % (
            " ".join(self.args), self.rc, self.out[-3000:], self.err[-3000:])


class A2md:
    def __init__(self, store_dir, pebble=None, binary=None, ca_url=None):
        self.store_dir = store_dir
        self.pebble = pebble
        self.binary = binary or a2md_path()
        self.ca_url = ca_url or (pebble.directory_url if pebble else None)

    def argv(self, args, json_mode=True, ca=True, prefix=()):
        argv = list(prefix) + [self.binary, "-d", self.store_dir]
        if ca and self.ca_url:
            argv += ["-a", self.ca_url]
        if self.pebble:
            argv += ["-C", self.pebble.ca_file]
        if json_mode:
            argv.append("-j")
        return argv + list(args)

    def run(self, *args, json=True, ca=True, env=None, prefix=(), timeout=300):
        argv = self.argv(args, json, ca, prefix)
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              env=self._env(env))
        return Result(argv, proc, json)

    def raw(self, *argv, env=None, timeout=60):
        """The binary with exactly these arguments."""
        full = [self.binary] + list(argv)
        proc = subprocess.run(full, capture_output=True, text=True, timeout=timeout,
                              env=self._env(env))
        return Result(full, proc, "-j" in argv)

    def popen(self, *args, json=True, env=None):
        return subprocess.Popen(self.argv(args, json), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self._env(env))

    @staticmethod
    def _env(extra):
        env = dict(os.environ)
        # the Debian apache2 environment must not leak into a test's choice
        env.pop("APACHE_RUN_USER", None)
        env.update(extra or {})
        return env

    # --- the store ----------------------------------------------------------
    def md_json(self, name, group="domains"):
        with open(os.path.join(self.store_dir, group, name, "md.json")) as f:
            return json.load(f)

    def account_json(self, acct):
        with open(os.path.join(self.store_dir, "accounts", acct, "account.json")) as f:
            return json.load(f)

    def path(self, *parts):
        return os.path.join(self.store_dir, *parts)
