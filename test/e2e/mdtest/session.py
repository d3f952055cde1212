"""One harness run: a private temp dir, the session's Apache ports, the
ACME side (challtestsrv + pebble) and every Apache made for it.

    with E2ESession() as s:          # starts challtestsrv and pebble
        a = s.new_apache()           # our module unless module= is given
        ...
    # all processes stopped by PID, temp dir removed (MD_E2E_KEEP=1 keeps it)

conftest.py exposes one of these as the session fixture `e2e`;
scripts/demo.py uses it directly.
"""
import os
import re
import shutil
import tempfile

from . import apache as apache_mod
from . import default_module_path, pebble as pebble_mod, util


class E2ESession:
    def __init__(self, workdir=None, keep=None, module=None):
        self.workdir = workdir or tempfile.mkdtemp(prefix="md-e2e-")
        # httpd children (www-data) must traverse into instance roots
        os.chmod(self.workdir, 0o755)
        if keep is None:
            keep = os.environ.get("MD_E2E_KEEP", "") not in ("", "0")
        self.keep = keep
        self.module = module or default_module_path()
        # one pair for the whole run: pebble validates challenges against
        # these, and Apache instances of a run take turns on them
        self.http_port, self.https_port = util.free_ports(2)
        self.acme = pebble_mod.AcmeEnv(os.path.join(self.workdir, "acme"),
                                       self.http_port, self.https_port)
        self._apaches = []
        self._names = set()
        self._postgres = None

    # --- lifecycle ----------------------------------------------------------
    def start(self):
        try:
            self.acme.start()
        except BaseException:
            self.close()
            raise
        return self

    def close(self):
        """Stop every process of this run by PID; remove the temp dir.
        A sanitizer report (MD_E2E_ASAN) fails it after everything stopped."""
        failed = None
        try:
            for a in reversed(self._apaches):
                try:
                    a.stop()
                except AssertionError as exc:
                    failed = failed or exc
            apache_mod.stop_all()
        finally:
            if self._postgres is not None:
                self._postgres.close()
            self.acme.stop()
            if not self.keep:
                shutil.rmtree(self.workdir, ignore_errors=True)
        if failed:
            raise failed

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # --- shortcuts ----------------------------------------------------------
    @property
    def pebble(self):
        return self.acme.pebble

    @property
    def challtestsrv(self):
        return self.acme.challtestsrv

    @property
    def ca_file(self):
        return self.acme.ca_file

    def new_pebble(self, config_extra=None, env_extra=None, start=True, name=None,
                   http_port=None, https_port=None):
        """http_port/https_port: where it validates challenges (default: the
        session's Apache ports; a cluster puts its proxies there)."""
        return self.acme.new_pebble(config_extra=config_extra, env_extra=env_extra,
                                    start=start, name=name, http_port=http_port,
                                    https_port=https_port)

    @property
    def postgres(self):
        """The run's PostgreSQL server (mdtest.postgres), started on first use."""
        if self._postgres is None:
            from .postgres import Postgres
            self._postgres = Postgres(self.workdir)
        self._postgres.start()
        return self._postgres

    def _unique(self, name):
        base = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60] or "apache"
        candidate, n = base, 1
        while candidate in self._names:
            n += 1
            candidate = "%s-%d" % (base, n)
        self._names.add(candidate)
        return candidate

    def new_apache(self, name="apache", pebble=None, module=None, **kwargs):
        """A fresh Apache (own root dir) on the session ports, talking to
        `pebble` (default: the session's). Not started, no config yet.
        kwargs go to mdtest.apache.Apache (ca_url, log_level, store_dir, ...).
        """
        kwargs.setdefault("http_port", self.http_port)
        kwargs.setdefault("https_port", self.https_port)
        a = apache_mod.Apache(self.workdir, pebble=pebble or self.pebble,
                              module=module or self.module,
                              name=self._unique(name), **kwargs)
        self._apaches.append(a)
        return a
