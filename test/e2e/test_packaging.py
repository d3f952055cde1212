"""Packaging: `make install` and the Debian package (`make deb`).

test_make_install_*  `make install DESTDIR=...` into a temp dir: the files,
                     their modes and names, the LoadModule line; the same
                     install into temp directories loads in `apache2 -t`
                     (with every documented default uncommented, and refused
                     with our message next to the stock md.load).
test_deb_*           builds the package once (`make deb`, lintian included),
                     installs it with apt-get, enables it with a2enmod (the
                     conflict with the stock `md` both ways), runs
                     `apache2ctl -t` on the machine's own config, lets the
                     installed module get a certificate from pebble on a
                     private Apache, then removes and purges it.

The Debian test changes the machine's /etc/apache2 while it runs (it has to:
that is what a2enmod does). It takes a lock so two runs on one machine take
turns, never restarts the system's Apache (maintainer scripts see an
invoke-rc.d that only records its arguments), and puts back exactly the
enabled modules, confs and sites and a2enmod's state in /var/lib/apache2
that it found, also when it fails.
"""
import contextlib
import fcntl
import os
import re
import shutil
import stat
import subprocess
import time

import pytest

from mdtest import prometheus, status, util

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = "libapache2-mod-md-ng"
INSTALL_MODULE = "mod_md_ng.so"
MODS_NAME = "md_ng"
STOCK_LOAD = "/etc/apache2/mods-available/md.load"
APACHE_ETC = "/etc/apache2"
APACHE_STATE = "/var/lib/apache2"          # a2enmod's enabled_by_maint/disabled_by_admin
LOCK_FILE = "/run/lock/mod-md-ng-packaging-test.lock"
LOCK_WAIT = 1200                            # seconds another run may hold it
CONFLICT_MSG = "md_ng: the stock mod_md (md.load) is enabled as well"
SYSTEM_MODULES = "/usr/lib/apache2/modules"


def run(cmd, check=True, env=None, timeout=600, cwd=REPO_ROOT):
    """Run `cmd` (a list), return (rc, stdout+stderr); with check, a
    non-zero exit fails the test with the output."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    p = subprocess.run(cmd, cwd=cwd, env=full_env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    out = p.stdout.decode("utf-8", "replace")
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d:\n%s" % (" ".join(cmd), p.returncode, out[-4000:]))
    return p.returncode, out


def apxs(var):
    return run(["apxs", "-q", var])[1].strip()


def md_version():
    with open(os.path.join(REPO_ROOT, "src", "core", "md_version.h")) as f:
        return re.search(r'#define MD_VERSION\s+"([^"]+)"', f.read()).group(1)


def has_a2md():
    cli = os.path.join(REPO_ROOT, "src", "cli")
    return os.path.isdir(cli) and any(n.endswith(".c") for n in os.listdir(cli))


def load_file_header(path):
    """What a2enmod reads from a .load file: the `# Key: values` lines before
    the first line that is neither empty nor a comment, and that line."""
    headers, first = {}, None
    with open(path) as f:
        for line in f:
            m = re.match(r"^# (\w+):\s+(.*?)\s*$", line)
            if m:
                headers.setdefault(m.group(1), m.group(2).split())
            elif not re.match(r"^\s*(#.*)?$", line):
                first = line.strip()
                break
    return headers, first


def minimal_httpd_conf(root, includes, port):
    """A config that loads only what md_ng.conf needs, then `includes`."""
    lines = [
        'ServerRoot "%s"' % root,
        "ServerName localhost",
        'PidFile "%s/httpd.pid"' % root,
        'DefaultRuntimeDir "%s"' % root,
        'ErrorLog "%s/error_log"' % root,
        "Listen 127.0.0.1:%d" % port,
    ]
    for mod, so in (("mpm_event_module", "mod_mpm_event.so"),
                    ("authz_core_module", "mod_authz_core.so"),
                    ("authz_host_module", "mod_authz_host.so")):
        lines.append("LoadModule %s %s/%s" % (mod, SYSTEM_MODULES, so))
    lines += ['Include "%s"' % inc for inc in includes]
    path = os.path.join(root, "httpd.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def apache2_t(conf_path, *extra):
    return run(["/usr/sbin/apache2", "-t", "-f", conf_path] + list(extra), check=False)


def tree_files(root):
    """{relative path: (mode bits, is dir)} of everything under root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = (stat.S_IMODE(st.st_mode), stat.S_ISDIR(st.st_mode))
    return out


# --- make install --------------------------------------------------------------

def test_make_install_destdir_tree(tmp_path):
    """`make install DESTDIR=... PREFIX=/usr`: exactly our files, at apxs'
    paths, under names that do not clash with the stock package's, with the
    usual modes; md_ng.load names the module at its final path."""
    stage = str(tmp_path / "stage")
    run(["make", "install", "DESTDIR=" + stage, "PREFIX=/usr"])
    moduledir, confdir = apxs("LIBEXECDIR"), apxs("SYSCONFDIR")
    mods = os.path.join(confdir, "mods-available")

    expected = {
        os.path.join(moduledir, INSTALL_MODULE): 0o644,
        os.path.join(mods, MODS_NAME + ".load"): 0o644,
        os.path.join(mods, MODS_NAME + ".conf"): 0o644,
    }
    if has_a2md():
        expected["/usr/bin/a2md"] = 0o755
    if os.path.exists(os.path.join(REPO_ROOT, "docs", "a2md.1")):
        expected["/usr/share/man/man1/a2md.1"] = 0o644

    got = tree_files(stage)
    files = {"/" + p: mode for p, (mode, is_dir) in got.items() if not is_dir}
    assert files == expected
    for p, (mode, is_dir) in got.items():
        if is_dir:
            assert mode == 0o755, "directory %s has mode %o" % (p, mode)
    for clash in ("mod_md.so", "md.load", "md.conf"):
        assert not any(os.path.basename(p) == clash for p in files), clash

    with open(os.path.join(REPO_ROOT, "build", "mod_md.so"), "rb") as a, \
            open(stage + os.path.join(moduledir, INSTALL_MODULE), "rb") as b:
        assert a.read() == b.read(), "installed module differs from build/mod_md.so"

    headers, first = load_file_header(stage + os.path.join(mods, MODS_NAME + ".load"))
    # a2enmod md_ng refuses while the stock md is enabled
    assert headers.get("Conflicts") == ["md"], headers
    # drop-in: the stock module's name, our file at its final (non-DESTDIR) path
    assert first == "LoadModule md_module %s" % os.path.join(moduledir, INSTALL_MODULE)
    with open(stage + os.path.join(mods, MODS_NAME + ".load")) as f:
        assert stage not in f.read()


def test_make_install_loads_in_apache(tmp_path):
    """Installed into temp directories (no DESTDIR), the md_ng.load and
    md_ng.conf pair loads our module in `apache2 -t`; every default the
    .conf documents is a valid directive; next to the stock md.load the
    .conf refuses to start with the fix in the message; uninstall removes
    every file."""
    root = str(tmp_path)
    inst = os.path.join(root, "inst")
    dirs = ["MODULEDIR=%s/modules" % inst, "APACHE_CONFDIR=%s/etc" % inst, "PREFIX=%s/usr" % inst]
    run(["make", "install"] + dirs)
    load = os.path.join(inst, "etc", "mods-available", MODS_NAME + ".load")
    conf = os.path.join(inst, "etc", "mods-available", MODS_NAME + ".conf")
    _, first = load_file_header(load)
    assert first == "LoadModule md_module %s/modules/%s" % (inst, INSTALL_MODULE)
    port = util.free_port()

    httpd_conf = minimal_httpd_conf(root, [load, conf], port)
    rc, out = apache2_t(httpd_conf, "-D", "DUMP_MODULES")
    assert rc == 0 and "md_module (shared)" in out, out

    # the commented defaults, uncommented, are accepted as they stand
    with open(conf) as f:
        text = f.read()
    defaults = re.findall(r"^\s*#(MD\w+ .*)$", text, re.M)
    assert len(defaults) >= 10, defaults
    all_on = os.path.join(root, "defaults-on.conf")
    with open(all_on, "w") as f:
        f.write(re.sub(r"^(\s*)#(MD\w+ )", r"\1\2", text, flags=re.M))
    rc, out = apache2_t(minimal_httpd_conf(root, [load, all_on], port))
    assert rc == 0, "defaults in %s rejected:\n%s" % (conf, out)

    # stock md.load first (as mods-enabled/*.load sorts), then ours: httpd
    # skips ours (AH01574) and md_ng.conf stops the start with the fix
    rc, out = apache2_t(minimal_httpd_conf(root, [STOCK_LOAD, load, conf], port))
    assert rc != 0, out
    assert CONFLICT_MSG in out and "a2dismod md" in out, out

    run(["make", "uninstall"] + dirs)
    left = [p for p, (_, is_dir) in tree_files(inst).items() if not is_dir]
    assert left == [], left


# --- the Debian package ----------------------------------------------------------

@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    """Build the package once: (path of the .deb, make's output). The unit
    tests are left to `make test-unit` (nocheck); lintian runs inside
    `make deb` and fails it on any warning."""
    for tool in ("dpkg-buildpackage", "dh", "dh_apache2", "fakeroot", "lintian"):
        assert shutil.which(tool), "%s missing: bash scripts/install-deps.sh" % tool
    out_dir = str(tmp_path_factory.mktemp("deb"))
    _, out = run(["make", "deb", "DEB_OUT=" + out_dir],
                 env={"DEB_BUILD_OPTIONS": "nocheck"}, timeout=1200)
    debs = [n for n in os.listdir(out_dir)
            if n.startswith(PACKAGE + "_") and n.endswith(".deb")]
    assert len(debs) == 1, os.listdir(out_dir)
    return os.path.join(out_dir, debs[0]), out


def dpkg_status(package):
    """dpkg's "want ok state", or "not-installed" (never installed, or purged)."""
    rc, out = run(["dpkg-query", "-W", "-f", "${Status}", package], check=False)
    out = out.strip()
    return "not-installed" if rc != 0 or out.endswith(" not-installed") else out


class ApacheState:
    """What a2enmod/a2dismod and the package change: the entries of
    /etc/apache2/*-enabled and /etc/apache2/mods-available/md_ng.*, and
    a2enmod's records under /var/lib/apache2. `capture()` snapshots,
    `restore(snapshot)` makes the disk match it again."""

    ROOTS = [os.path.join(APACHE_ETC, d) for d in ("mods-enabled", "conf-enabled", "sites-enabled")] \
        + [APACHE_STATE]

    @classmethod
    def capture(cls):
        snap = {}
        for root in cls.ROOTS:
            snap[root] = None
            if not os.path.isdir(root):
                continue
            entries = {}
            for dirpath, dirnames, filenames in os.walk(root):
                for n in sorted(dirnames + filenames):
                    p = os.path.join(dirpath, n)
                    st = os.lstat(p)
                    if stat.S_ISLNK(st.st_mode):
                        entries[p] = ("link", os.readlink(p))
                    elif stat.S_ISDIR(st.st_mode):
                        entries[p] = ("dir", stat.S_IMODE(st.st_mode))
                    else:
                        with open(p, "rb") as f:
                            entries[p] = ("file", stat.S_IMODE(st.st_mode), f.read())
            snap[root] = entries
        for ext in (".load", ".conf"):
            p = os.path.join(APACHE_ETC, "mods-available", MODS_NAME + ext)
            snap[p] = os.path.lexists(p)
        return snap

    @classmethod
    def restore(cls, snap):
        now = cls.capture()
        for root in cls.ROOTS:
            want, have = snap[root] or {}, now[root] or {}
            # deepest first, so a directory is emptied before it goes
            for p in sorted(set(have) - set(want), key=len, reverse=True):
                if have[p][0] == "dir":
                    shutil.rmtree(p, ignore_errors=True)
                elif os.path.lexists(p):
                    os.unlink(p)
            for p in sorted(want, key=len):
                if have.get(p) == want[p]:
                    continue
                kind = want[p][0]
                if os.path.lexists(p) and not os.path.isdir(p):
                    os.unlink(p)
                if kind == "dir":
                    os.makedirs(p, exist_ok=True)
                    os.chmod(p, want[p][1])
                elif kind == "link":
                    os.symlink(want[p][1], p)
                else:
                    with open(p, "wb") as f:
                        f.write(want[p][2])
                    os.chmod(p, want[p][1])

    @staticmethod
    def diff(a, b):
        """Lines "<path>: <before> -> <after>" for what differs."""
        def show(entry):
            # a file's content stays out of the message
            return "absent" if entry is None else repr(entry[:2])
        out = []
        for k in sorted(set(a) | set(b)):
            if isinstance(a.get(k), dict) or isinstance(b.get(k), dict):
                da, db = a.get(k) or {}, b.get(k) or {}
                out += ["%s: %s -> %s" % (p, show(da.get(p)), show(db.get(p)))
                        for p in sorted(set(da) | set(db)) if da.get(p) != db.get(p)]
            elif a.get(k) != b.get(k):
                out.append("%s: %r -> %r" % (k, a.get(k), b.get(k)))
        return out


@contextlib.contextmanager
def machine_lock():
    """One packaging test per machine at a time (they share /etc/apache2)."""
    os.makedirs(os.path.dirname(LOCK_FILE), exist_ok=True)
    with open(LOCK_FILE, "w") as f:
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                assert time.monotonic() < deadline, \
                    "%s held by another packaging test for %ds" % (LOCK_FILE, LOCK_WAIT)
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class Machine:
    """apt-get, a2enmod and apache2ctl on the real system, with a recording
    invoke-rc.d first on PATH, so maintainer scripts never restart the
    system's Apache."""

    def __init__(self, workdir):
        self.fakebin = os.path.join(workdir, "fakebin")
        self.rcd_log = os.path.join(workdir, "invoke-rc.d.log")
        os.makedirs(self.fakebin, exist_ok=True)
        script = os.path.join(self.fakebin, "invoke-rc.d")
        with open(script, "w") as f:
            f.write('#!/bin/sh\necho "$*" >> "%s"\nexit 0\n' % self.rcd_log)
        os.chmod(script, 0o755)
        self.env = {"PATH": self.fakebin + ":" + os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
                    "DEBIAN_FRONTEND": "noninteractive"}

    def apt(self, *args, check=True):
        # apt-get runs dpkg with PATH=DPkg::Path, not ours
        return run(["apt-get", "-y", "-o", "DPkg::Lock::Timeout=600",
                    "-o", "DPkg::Path=" + self.env["PATH"],
                    "--no-install-recommends"] + list(args), check=check, env=self.env)

    def cmd(self, *args, check=True):
        return run(list(args), check=check, env=self.env)

    def enabled(self, module):
        return self.cmd("a2query", "-m", module, check=False)[0] == 0

    def rcd_calls(self):
        if not os.path.exists(self.rcd_log):
            return []
        with open(self.rcd_log) as f:
            return f.read().splitlines()


@pytest.fixture(scope="module")
def machine(deb, tmp_path_factory):
    """The machine with the package not installed yet; afterwards the package
    is purged and the state put back as it was, whatever happened."""
    if os.geteuid() != 0:
        pytest.skip("installing a package needs root")
    with machine_lock():
        if dpkg_status(PACKAGE) != "not-installed":
            pytest.skip("%s is installed on this machine (%s); the test would "
                        "replace it" % (PACKAGE, dpkg_status(PACKAGE)))
        m = Machine(str(tmp_path_factory.mktemp("machine")))
        before = ApacheState.capture()
        try:
            yield m
        finally:
            if dpkg_status(PACKAGE) != "not-installed":
                m.apt("purge", PACKAGE, check=False)
            ApacheState.restore(before)
        # checked after the test, pass or fail (an error in teardown)
        left = ApacheState.diff(before, ApacheState.capture())
        assert not left, "machine state not restored:\n" + "\n".join(left)
        assert dpkg_status(PACKAGE) == "not-installed", dpkg_status(PACKAGE)


def test_deb_built_and_lintian_clean(deb):
    path, out = deb
    assert os.path.basename(path) == "%s_%s_%s.deb" % (
        PACKAGE, md_version(), run(["dpkg", "--print-architecture"])[1].strip())
    assert "lintian " in out and "lintian not installed" not in out, out[-2000:]
    _, fields = run(["dpkg-deb", "-f", path, "Package", "Version", "Depends"])
    depends = re.search(r"^Depends: (.*)$", fields, re.M).group(1)
    # dh_apache2's API dependency, ours on the mod_ssl hooks, and the shared
    # libraries the module links (dpkg-shlibdeps)
    for dep in (r"apache2-api-\d{8}", r"apache2-bin \(>= 2\.4\.48\)", r"libssl3\b",
                r"libcurl4\b", r"libjansson4\b", r"libapr1\b", r"libaprutil1\b"):
        assert re.search(dep, depends), (dep, depends)
    # --as-needed: apr-util's pkg-config asks for libldap, the module never calls it
    assert "libldap" not in depends, depends
    _, listing = run(["dpkg-deb", "-c", path])
    for p in ("/usr/lib/apache2/modules/%s" % INSTALL_MODULE,
              "/etc/apache2/mods-available/%s.load" % MODS_NAME,
              "/etc/apache2/mods-available/%s.conf" % MODS_NAME,
              "/usr/share/doc/%s/copyright" % PACKAGE,
              "/usr/share/doc/%s/changelog.gz" % PACKAGE):
        assert "." + p in listing, (p, listing)
    if has_a2md():
        assert "./usr/bin/a2md" in listing and "./usr/share/man/man1/a2md.1.gz" in listing, listing
    for clash in ("/mod_md.so", "/md.load", "/md.conf", "mods-enabled/"):
        assert clash not in listing, (clash, listing)


def test_deb_install_enable_remove_purge(deb, machine, e2e):
    m, path = machine, deb[0]
    stock_was_enabled = m.enabled("md")

    # -- install: files in place, conffiles, nothing enabled -------------------
    before = ApacheState.capture()
    m.apt("install", path)
    assert dpkg_status(PACKAGE) == "install ok installed"
    _, conffiles = m.cmd("dpkg-query", "-W", "-f", "${Conffiles}", PACKAGE)
    for name in (MODS_NAME + ".load", MODS_NAME + ".conf"):
        assert "/etc/apache2/mods-available/%s " % name in conffiles, conffiles
    module = os.path.join(SYSTEM_MODULES, INSTALL_MODULE)
    assert os.path.isfile(module)
    if has_a2md():
        assert m.cmd("/usr/bin/a2md", "-V")[1].strip() == "version: %s" % md_version()
    assert not m.enabled(MODS_NAME)
    assert ApacheState.diff(before, ApacheState.capture()) == [
        "/etc/apache2/mods-available/md_ng.conf: False -> True",
        "/etc/apache2/mods-available/md_ng.load: False -> True"], \
        "installing must not enable or disable anything"

    # -- a2enmod refuses while the stock md is enabled -------------------------
    if not stock_was_enabled:
        m.cmd("a2enmod", "-q", "md")
    rc, out = m.cmd("a2enmod", MODS_NAME, check=False)
    assert rc != 0 and "Module md is enabled - cannot proceed due to conflicts" in out, out
    assert not m.enabled(MODS_NAME)

    # -- the switch: a2dismod md, a2enmod md_ng, apache2ctl -t -----------------
    m.cmd("a2dismod", "-q", "md")
    m.cmd("a2enmod", MODS_NAME)
    assert m.enabled(MODS_NAME)
    rc, out = m.cmd("apache2ctl", "-t", check=False)
    assert rc == 0 and "Syntax OK" in out, out
    _, out = m.cmd("apache2ctl", "-M")
    assert "md_module (shared)" in out, out
    _, out = m.cmd("apache2ctl", "-t", "-D", "DUMP_INCLUDES")
    assert "mods-enabled/%s.load" % MODS_NAME in out, out
    assert "mods-enabled/md.load" not in out, out
    # with mod_ssl, whose certificate hooks the module uses
    m.cmd("a2enmod", "-q", "ssl")
    rc, out = m.cmd("apache2ctl", "-t", check=False)
    assert rc == 0 and "Syntax OK" in out, out

    # -- the stock md enabled on top: the server refuses, saying what to do ----
    m.cmd("a2enmod", "-q", "md")
    rc, out = m.cmd("apache2ctl", "-t", check=False)
    assert rc != 0 and CONFLICT_MSG in out, out
    m.cmd("a2dismod", "-q", "md")
    rc, out = m.cmd("apache2ctl", "-t", check=False)
    assert rc == 0, out

    # -- the packaged module at work: a certificate from pebble, md-status -----
    # A private Apache (own ports and ServerRoot) on the installed module with
    # the installed md_ng.conf, whose /md-status and /md-metrics (Require
    # local) are the only handlers: the stripped, hardened build serves.
    a = e2e.new_apache(name="deb-installed", module=module)
    conf = a.config()
    conf.add("LoadModule authz_host_module %s/mod_authz_host.so" % SYSTEM_MODULES,
             'Include "/etc/apache2/mods-available/%s.conf"' % MODS_NAME)
    conf.add_md(["deb.test"])
    conf.add_vhost("deb.test")
    conf.write()
    try:
        a.start()
        a.wait_served("deb.test")
        j = status.md_status(a, "deb.test")
        assert j["name"] == "deb.test", j
        # ours, not the stock module (which says 2.6.x)
        assert status.md_status(a)["version"] == md_version()
        r = status.get(a, "/md-metrics")
        assert r.status == 200, r.text[:500]
        assert prometheus.parse(r.text)["md_state"].value(md="deb.test") is not None
    finally:
        a.stop()

    # -- remove: the module goes and is disabled, the conffiles stay ----------
    rcd_before = len(m.rcd_calls())
    m.apt("remove", PACKAGE)
    assert dpkg_status(PACKAGE) == "deinstall ok config-files"
    assert not os.path.exists(module) and not os.path.exists("/usr/bin/a2md")
    assert not m.enabled(MODS_NAME)
    for ext in (".load", ".conf"):
        assert not os.path.lexists(os.path.join(APACHE_ETC, "mods-enabled", MODS_NAME + ext))
        assert os.path.exists(os.path.join(APACHE_ETC, "mods-available", MODS_NAME + ext))
    # the prerm asked for a restart (our recording invoke-rc.d took it)
    assert "apache2 restart" in m.rcd_calls()[rcd_before:], m.rcd_calls()
    rc, out = m.cmd("apache2ctl", "-t", check=False)
    assert rc == 0, out

    # -- purge: nothing of ours is left -----------------------------------------
    m.apt("purge", PACKAGE)
    assert dpkg_status(PACKAGE) == "not-installed"
    for ext in (".load", ".conf"):
        assert not os.path.lexists(os.path.join(APACHE_ETC, "mods-available", MODS_NAME + ext))
    _, records = m.cmd("find", APACHE_STATE, "-name", MODS_NAME)
    assert records.strip() == "", records
