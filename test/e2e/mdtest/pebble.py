"""pebble (the ACME test CA) and pebble-challtestsrv (its fake DNS), run as
private processes on free loopback ports.

Typical use (see conftest.py for the fixtures wrapping this):

    env = AcmeEnv(workdir, http_port=5080, https_port=5443)
    env.start()                     # TLS material, challtestsrv, one pebble
    env.pebble.directory_url        # https://127.0.0.1:<port>/dir
    other = env.new_pebble(config_extra={"certificateValidityPeriod": 600})
    env.stop()                      # every process, by PID
"""
import json
import os
import re

import requests

from . import certs, util

PEBBLE = "/usr/bin/pebble"
CHALLTESTSRV = "/usr/bin/pebble-challtestsrv"

# "Pebble 2026/11/29 10:20:30 POST /order-plz -> calling handler()"
_REQ_RE = re.compile(r"^Pebble \S+ \S+ ([A-Z]+) (\S+) -> calling handler", re.M)


class ChallTestSrv:
    """pebble-challtestsrv as fake DNS only: every name resolves to 127.0.0.1.

    Its management API lets tests publish TXT records for dns-01.
    """

    def __init__(self, workdir, dns_port=None, mgmt_port=None):
        self.workdir = workdir
        self.dns_port = dns_port or util.free_ports(1, udp_too=True)[0]
        self.mgmt_port = mgmt_port or util.free_port()
        self.log_path = os.path.join(workdir, "challtestsrv.log")
        self.proc = None

    @property
    def dns_address(self):
        return "127.0.0.1:%d" % self.dns_port

    @property
    def mgmt_url(self):
        return "http://127.0.0.1:%d" % self.mgmt_port

    def start(self, timeout=60):
        if self.running:
            return
        args = [CHALLTESTSRV,
                "-dns01", self.dns_address,
                "-http01", "", "-https01", "", "-tlsalpn01", "",
                "-management", "127.0.0.1:%d" % self.mgmt_port,
                "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""]
        self.proc = util.spawn(args, self.log_path, cwd=self.workdir)

        def ready():
            if self.proc.poll() is not None:
                raise util.Abort("pebble-challtestsrv exited with %s\n%s"
                                       % (self.proc.returncode, util.tail(self.log_path)))
            return util.port_open(self.mgmt_port)
        try:
            util.wait_for(ready, timeout=timeout, what="challtestsrv management port",
                          on_timeout=lambda: util.tail(self.log_path))
        except BaseException:
            self.stop()
            raise

    def stop(self):
        util.stop_popen(self.proc)
        self.proc = None

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # --- management API -------------------------------------------------
    def post(self, path, body):
        """POST JSON to the management API; raises on a non-2xx answer."""
        r = requests.post(self.mgmt_url + path, data=json.dumps(body), timeout=10)
        r.raise_for_status()
        return r

    @staticmethod
    def _fqdn(host):
        return host if host.endswith(".") else host + "."

    def set_txt(self, host, value):
        """Publish TXT `value` at `host` (e.g. "_acme-challenge.a.test")."""
        return self.post("/set-txt", {"host": self._fqdn(host), "value": value})

    def clear_txt(self, host):
        return self.post("/clear-txt", {"host": self._fqdn(host)})

    def add_a(self, host, addresses):
        return self.post("/add-a", {"host": self._fqdn(host), "addresses": list(addresses)})

    def clear_a(self, host):
        return self.post("/clear-a", {"host": self._fqdn(host)})


class Pebble:
    """One pebble ACME server. Ports are fixed at construction, so stop() and
    start() bring it back on the same addresses (with a fresh root CA: pebble
    makes new roots/intermediates on every start).
    """

    def __init__(self, workdir, tls, dns_address, http_port, https_port,
                 acme_port=None, mgmt_port=None, config_extra=None,
                 env_extra=None, name="pebble"):
        self.workdir = workdir
        self.name = name
        self.tls = tls
        self.dns_address = dns_address
        self.http_port = http_port
        self.https_port = https_port
        if acme_port is None or mgmt_port is None:
            acme_port, mgmt_port = util.free_ports(2)
        self.acme_port = acme_port
        self.mgmt_port = mgmt_port
        self.config_extra = dict(config_extra or {})
        self.env_extra = dict(env_extra or {})
        self.config_path = os.path.join(workdir, "%s.json" % name)
        self.log_path = os.path.join(workdir, "%s.log" % name)
        self.proc = None
        self.starts = 0

    # --- addresses --------------------------------------------------------
    @property
    def directory_url(self):
        return "https://127.0.0.1:%d/dir" % self.acme_port

    @property
    def mgmt_url(self):
        return "https://127.0.0.1:%d" % self.mgmt_port

    @property
    def ca_file(self):
        """What clients (and MDCACertificateFile) trust for pebble's TLS."""
        return self.tls["ca"]

    # --- lifecycle --------------------------------------------------------
    def config(self):
        conf = {
            "listenAddress": "127.0.0.1:%d" % self.acme_port,
            "managementListenAddress": "127.0.0.1:%d" % self.mgmt_port,
            "certificate": self.tls["cert"],
            "privateKey": self.tls["key"],
            "httpPort": self.http_port,
            "tlsPort": self.https_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }
        conf.update(self.config_extra)
        return {"pebble": conf}

    def environment(self):
        # inherited PEBBLE_* settings would make runs depend on the caller's
        # shell, so only ours count
        env = {k: v for k, v in os.environ.items() if not k.startswith("PEBBLE_")}
        env["PEBBLE_VA_NOSLEEP"] = "1"
        env.update({k: str(v) for k, v in self.env_extra.items()})
        return env

    def start(self, timeout=90):
        if self.running:
            return
        with open(self.config_path, "w") as f:
            json.dump(self.config(), f, indent=2)
        args = [PEBBLE, "-config", self.config_path, "-dnsserver", self.dns_address]
        self.proc = util.spawn(args, self.log_path, env=self.environment(),
                               cwd=self.workdir)
        self.starts += 1
        try:
            util.wait_for(self._ready, timeout=timeout,
                          what="%s directory at %s" % (self.name, self.directory_url),
                          on_timeout=lambda: util.tail(self.log_path))
        except BaseException:
            self.stop()
            raise

    def _ready(self):
        if self.proc.poll() is not None:
            # not worth polling any longer: report at once
            raise util.Abort("%s exited with %s\n%s" % (
                self.name, self.proc.returncode, util.tail(self.log_path)))
        r = requests.get(self.directory_url, verify=self.ca_file, timeout=5)
        return r.status_code == 200 and "newOrder" in r.json()

    def stop(self):
        util.stop_popen(self.proc)
        self.proc = None

    def restart(self, timeout=90):
        self.stop()
        self.start(timeout=timeout)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    # --- what the CA currently signs with ----------------------------------
    def _mgmt_get(self, path):
        r = requests.get(self.mgmt_url + path, verify=self.ca_file, timeout=10)
        r.raise_for_status()
        return r.content

    def root_pem(self, index=0):
        """PEM of the root that signs issued certs (changes on each start)."""
        return self._mgmt_get("/roots/%d" % index)

    def intermediate_pem(self, index=0):
        return self._mgmt_get("/intermediates/%d" % index)

    def verify_chain(self, chain, hostname=None):
        """Verify a served chain against this pebble's current root.

        Pebble's intermediate is offered as untrusted too, so a server that
        sends only the leaf still verifies; use certs.verify_chain directly to
        demand a complete chain. Returns (ok, openssl output).
        """
        return certs.verify_chain(chain, self.root_pem(),
                                  extra_intermediates_pem=self.intermediate_pem(),
                                  hostname=hostname)

    # --- request log ------------------------------------------------------
    def requests_seen(self):
        """[(method, path)] for every request pebble logged, all starts."""
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return _REQ_RE.findall(f.read())
        except FileNotFoundError:
            return []

    def count_requests(self, path, method=None, prefix=None):
        """How many requests to `path` pebble handled so far.

        Exact path match unless `path` ends in "/" (or prefix=True), then it
        matches every path below it, e.g. "/finalize-order/".
        """
        if prefix is None:
            prefix = path.endswith("/")
        n = 0
        for m, p in self.requests_seen():
            if method and m != method:
                continue
            if p == path or (prefix and p.startswith(path)):
                n += 1
        return n

    def count_log(self, regex):
        """How many lines of pebble's log (all starts) match regex."""
        rx = re.compile(regex)
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return sum(1 for line in f if rx.search(line))
        except FileNotFoundError:
            return 0

    def count_orders_created(self):
        """Orders pebble actually created (a request retried after a
        badNonce shows twice in count_requests but creates one order)."""
        return self.count_log(r'Added order "')

    def count_accounts_created(self):
        """Accounts pebble actually registered (all starts)."""
        return self.count_log(r"There are now \d+ accounts in memory")

    def log_tail(self, lines=40):
        return util.tail(self.log_path, lines)


class AcmeEnv:
    """The ACME side of a test run: TLS material, one challtestsrv, one
    default pebble and any extra pebbles a test asks for.

    `http_port`/`https_port` are where Apache listens: pebble validates
    http-01 and tls-alpn-01 against them (all names resolve to 127.0.0.1).
    """

    def __init__(self, workdir, http_port, https_port):
        self.workdir = workdir
        self.http_port = http_port
        self.https_port = https_port
        self.tls = None
        self.challtestsrv = None
        self.pebble = None
        self._pebbles = []
        self._serial = 0

    @property
    def ca_file(self):
        return self.tls["ca"]

    def start(self):
        try:
            os.makedirs(self.workdir, exist_ok=True)
            self.tls = certs.make_pebble_tls(self.workdir)
            self.challtestsrv = ChallTestSrv(self.workdir)
            self.challtestsrv.start()
            self.pebble = self.new_pebble(name="pebble")
        except BaseException:
            self.stop()
            raise
        return self

    def new_pebble(self, config_extra=None, env_extra=None, start=True,
                   name=None, http_port=None, https_port=None):
        """Another pebble on its own ports, sharing TLS material and DNS.

        It is stopped by stop() with all others; tests may stop it earlier.
        """
        if name is None:
            self._serial += 1
            name = "pebble-%d" % self._serial
        p = Pebble(self.workdir, self.tls, self.challtestsrv.dns_address,
                   http_port or self.http_port, https_port or self.https_port,
                   config_extra=config_extra, env_extra=env_extra, name=name)
        self._pebbles.append(p)
        if start:
            p.start()
        return p

    def stop(self):
        for p in reversed(self._pebbles):
            p.stop()
        if self.challtestsrv is not None:
            self.challtestsrv.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
