"""Config corpus: every directive of the stock mod_md 2.6 in every context,
and typical and edge values, through `apache2 -t` with our module and with
Debian's stock module. The stock module is the oracle: what it accepts,
ours accepts; what it refuses, ours refuses. The exceptions are listed in
KNOWN with the reason, and checked too, so the list stays true:

  stricter  the stock module passes `apache2 -t` but refuses to start (or
            the value would break the store): ours says so at `apache2 -t`
  looser    the stock module refuses, ours accepts (directives of ours,
            forms ours understands besides the stock ones)

No server starts and no CA is needed: the configurations come from the
harness's config writer (mdtest.apache.ApacheConfig) and are only checked,
two at a time.
"""
import concurrent.futures
import os
import subprocess

import pytest

from mdtest import STOCK_MD_MODULE, default_module_path, static_certs, util
from mdtest.apache import APACHE_BIN, Apache

pytestmark = pytest.mark.long

# --- the corpus -------------------------------------------------------------

# A typical value of every directive; {cafile}, {cert}, {key}, {root} are
# filled in. Directives of ours only (the stock module does not know them)
# are in OURS_ONLY.
DIRECTIVES = [
    ("MDomain", "b.test"),
    ("MDMember", "b.test"),
    ("MDMembers", "manual"),
    ("MDCertificateAuthority", "https://acme.test/dir"),
    ("MDCertificateAgreement", "accepted"),
    ("MDCertificateProtocol", "ACME"),
    ("MDContactEmail", "admin@a.test"),
    ("MDRenewMode", "always"),
    ("MDDriveMode", "manual"),
    ("MDRenewWindow", "30days"),
    ("MDWarnWindow", "10%"),
    ("MDPrivateKeys", "RSA 3072 secp384r1"),
    ("MDMustStaple", "on"),
    ("MDRequireHttps", "permanent"),
    ("MDCACertificateFile", "{cafile}"),
    ("MDStoreDir", "{root}/md2"),
    ("MDStoreLocks", "5s"),
    ("MDPortMap", "http:80 https:443"),
    ("MDBaseServer", "off"),
    ("MDCAChallenges", "http-01 tls-alpn-01"),
    ("MDChallengeDns01", "/bin/true"),
    ("MDChallengeDns01Version", "2"),
    ("MDServerStatus", "off"),
    ("MDCertificateStatus", "off"),
    ("MDCertificateCheck", "crt.sh https://crt.sh?q="),
    ("MDCertificateFile", "{cert}\nMDCertificateKeyFile {key}"),
    ("MDCertificateKeyFile", "{key}"),
    ("MDExternalAccountBinding", "kid-1 a2V5"),
    ("MDHttpProxy", "http://proxy.test:3128"),
    ("MDHttpProxyCACertificateFile", "{cafile}"),
    ("MDProfile", "shortlived"),
    ("MDProfileMandatory", "on"),
    ("MDRenewViaARI", "off"),
    ("MDNotifyCmd", "/bin/true"),
    ("MDMessageCmd", "/bin/true arg"),
    ("MDActivationDelay", "1h"),
    ("MDCheckInterval", "1h"),
    ("MDInitialDelay", "5s"),
    ("MDRetryDelay", "30s"),
    ("MDRetryFailover", "3"),
    ("MDMatchNames", "servernames"),
    ("MDStapling", "on"),
    ("MDStapleOthers", "off"),
    ("MDStaplingKeepResponse", "7d"),
    ("MDStaplingRenewWindow", "33%"),
    # ours only
    ("MDActivationAuto", "off"),
    ("MDParallelRenewals", "4"),
    ("MDCertificateMonitor", "crt.sh https://crt.sh?q="),
    ("MDStoreBackend", "file"),
]
OURS_ONLY = {"MDActivationAuto", "MDParallelRenewals", "MDCertificateMonitor",
             "MDStoreBackend"}


def _vhost(*lines, port="{https}"):
    return (["<VirtualHost *:%s>" % port, "ServerName a.test", "SSLEngine on"]
            + list(lines) + ["</VirtualHost>"])


# Where a directive line can stand: a function of the line.
CONTEXTS = {
    "server": lambda line: ["MDomain a.test", line],
    "vhost": lambda line: ["MDomain a.test"] + _vhost(line),
    "mdomainset": lambda line: ["<MDomainSet a.test>", line, "</MDomainSet>"],
    "mdomain": lambda line: ["<MDomain a.test>", line, "</MDomain>"],
    "if": lambda line: ["MDomain a.test"] + _vhost('<If "true">', line, "</If>"),
    "files": lambda line: ["MDomain a.test"] + _vhost("<Files x.html>", line, "</Files>"),
    "location": lambda line: ["MDomain a.test"] + _vhost("<Location /x>", line,
                                                         "</Location>"),
    "directory": lambda line: ["MDomain a.test", "<Directory /tmp>", line, "</Directory>"],
}

# Values beyond the typical: (id, config lines).
EDGES = [
    # names
    ("name-wildcard", ["MDomain *.a.test"]),
    ("name-ip4", ["MDomain 127.0.0.1"]),
    ("name-ip6", ["MDomain ::1"]),
    ("name-ip6-brackets", ["MDomain [::1]"]),
    ("name-upper", ["MDomain A.TEST"]),
    ("name-underscore", ["MDomain bad_name.test"]),
    ("name-bang", ["MDomain invalid!.example.org"]),
    ("name-leading-hyphen", ["MDomain -lead.test"]),
    ("name-empty-label", ["MDomain a..test"]),
    ("name-trailing-dot", ["MDomain a.test."]),
    ("name-single-label", ["MDomain intranet"]),
    ("name-renew-mode-word", ["MDomain always"]),
    ("name-star-middle", ["MDomain a.*.test"]),
    ("name-star-alone", ["MDomain *"]),
    ("name-long-label", ["MDomain " + "a" * 70 + ".test"]),
    ("name-twice", ["MDomain a.test a.test"]),
    ("name-auto-manual", ["MDomain a.test auto manual"]),
    ("name-manual", ["MDomain a.test manual"]),
    ("name-only-auto", ["MDomain auto"]),
    ("name-none", ["MDomain"]),
    ("name-slash", ["MDomain a/b.test"]),
    ("name-in-two-mds", ["MDomain a.test", "MDomain b.test a.test"]),
    ("name-md-twice", ["MDomain a.test", "MDomain a.test"]),
    ("name-wildcard-overlap", ["MDomain *.a.test", "MDomain www.a.test"]),
    ("name-wildcard-and-covered-in-one", ["MDomain *.a.test www.a.test"]),
    ("member-invalid", ["<MDomain a.test>", "MDMember bad_name", "</MDomain>"]),
    ("member-twice", ["<MDomain a.test>", "MDMember a.test", "</MDomain>"]),
    ("members-outside-names", ["MDomain a.test", "MDMembers auto manual"]),
    ("section-empty", ["<MDomainSet>", "</MDomainSet>"]),
    ("section-nested", ["<MDomainSet a.test>", "<MDomain b.test>", "</MDomain>",
                        "</MDomainSet>"]),
    ("section-in-vhost", _vhost("<MDomainSet a.test>", "</MDomainSet>")),
    ("section-with-vhost-inside", ["<MDomain a.test>", "<VirtualHost *:{https}>",
                                   "ServerName a.test", "</VirtualHost>", "</MDomain>"]),
    ("section-ifmodule-inside", ["<MDomain a.test>", "<IfModule md_module>",
                                 "MDRenewMode manual", "</IfModule>", "</MDomain>"]),
    ("section-in-ifmodule", ["<IfModule md_module>", "<MDomain a.test>",
                             "MDRenewMode manual", "</MDomain>", "</IfModule>"]),
    # given twice
    ("twice-server", ["MDomain a.test", "MDRenewMode always", "MDRenewMode manual"]),
    ("twice-section", ["<MDomain a.test>", "MDPrivateKeys RSA", "MDPrivateKeys P-256",
                       "</MDomain>"]),
    ("twice-global", ["MDomain a.test", "MDRetryDelay 5s", "MDRetryDelay 10s"]),
    ("twice-alias", ["MDomain a.test", "MDRenewMode always", "MDDriveMode manual"]),
    ("static-two-pairs", ["<MDomain a.test>", "MDCertificateFile {cert}",
                          "MDCertificateKeyFile {key}", "MDCertificateFile {cert}",
                          "MDCertificateKeyFile {key}", "</MDomain>"]),
    ("static-cert-only", ["<MDomain a.test>", "MDCertificateFile {cert}", "</MDomain>"]),
    ("static-key-only", ["<MDomain a.test>", "MDCertificateKeyFile {key}", "</MDomain>"]),
    ("static-missing", ["<MDomain a.test>", "MDCertificateFile /nonexistent/c.pem",
                        "MDCertificateKeyFile /nonexistent/k.pem", "</MDomain>"]),
]

# One directive line in the server config: (directive value, ...).
VALUES = [
    "MDMustStaple On", "MDMustStaple yes", "MDMustStaple 1",
    "MDCertificateAgreement whatever", "MDCertificateAgreement https://tos.test/",
    "MDCertificateAuthority foo", "MDCertificateAuthority letsencrypt",
    "MDCertificateAuthority LetsEncrypt https://b.test/dir",
    "MDCertificateAuthority LETSENCRYPT-TEST buypass buypass-test",
    "MDCertificateAuthority ftp://x.test/", "MDCertificateAuthority",
    "MDCertificateAuthority https://a.test/dir https://a.test/dir",
    "MDCertificateProtocol foo",
    "MDContactEmail notanemail", "MDContactEmail mailto:a@b.test", 'MDContactEmail ""',
    "MDContactEmail a@", "MDContactEmail a b",
    "MDPrivateKeys rsa 4096", "MDPrivateKeys RSA 1024", "MDPrivateKeys RSA 2047",
    "MDPrivateKeys RSA 100000", "MDPrivateKeys P-521", "MDPrivateKeys secp521r1",
    "MDPrivateKeys prime256v1", "MDPrivateKeys X25519", "MDPrivateKeys brainpoolP256r1",
    "MDPrivateKeys Default", "MDPrivateKeys Default RSA", "MDPrivateKeys rsa3072",
    "MDPrivateKeys RSA RSA", "MDPrivateKeys P-256 secp256r1", "MDPrivateKeys foo",
    "MDPrivateKeys secp256k1", "MDPrivateKeys P-224", "MDPrivateKeys ED25519",
    "MDCAChallenges foo-01", "MDCAChallenges http-01 http-01", "MDCAChallenges HTTP-01",
    "MDCAChallenges http-01 foo dns-01",
    "MDChallengeDns01 /nonexistent/prog", "MDChallengeDns01 relative/prog arg",
    "MDChallengeDns01 /etc/hostname", "MDChallengeDns01",
    "MDChallengeDns01Version 3", "MDChallengeDns01Version 2x", "MDChallengeDns01Version 02",
    "MDNotifyCmd /nonexistent/x", "MDNotifyCmd", 'MDNotifyCmd /bin/echo "a b" c',
    "MDMessageCmd /nonexistent/x a",
    "MDCertificateCheck a", "MDCertificateCheck a b", "MDCertificateCheck a https://x.test/ c",
    "MDHttpProxy ftp://p.test:21", "MDHttpProxy p.test:3128", "MDHttpProxy none",
    "MDHttpProxy http://", "MDHttpProxy https://p.test", "MDHttpProxy HTTP://p.test:3",
    "MDHttpProxyCACertificateFile /nonexistent/ca.pem",
    "MDCACertificateFile /nonexistent/ca.pem", "MDCACertificateFile /tmp", 'MDStoreDir ""',
    "MDPortMap 80:8080", "MDPortMap http:8080", "MDPortMap 80:-", "MDPortMap 443:0",
    "MDPortMap http:99999", "MDPortMap 81:1", "MDPortMap 80:1 80:2",
    "MDPortMap https:443 http:80", "MDPortMap 80", "MDPortMap HTTP:8080",
    "MDPortMap http:08080", "MDPortMap http:+80", "MDPortMap 080:8080", "MDPortMap http:-1",
    "MDPortMap http:80x",
    "MDBaseServer maybe", "MDBaseServer ON", "MDServerStatus maybe", "MDCertificateStatus maybe",
    "MDMatchNames all", "MDMatchNames ServerNames", "MDMatchNames none", "MDMatchNames ALL",
    "MDStapling maybe", "MDStapling ON",
    "MDStaplingKeepResponse 7days", "MDStaplingKeepResponse 0", "MDStaplingKeepResponse -1d",
    "MDStaplingKeepResponse 5", "MDStaplingKeepResponse 10%", "MDStaplingKeepResponse 200%",
    "MDStaplingKeepResponse 0s",
    "MDStaplingRenewWindow 2d", "MDStaplingRenewWindow 100%", "MDStaplingRenewWindow x",
    "MDStaplingRenewWindow -5%", "MDStaplingRenewWindow 0%", "MDStaplingRenewWindow 99%",
    'MDProfile "two words"', 'MDProfile ""', "MDProfile none", "MDProfileMandatory maybe",
    "MDRenewViaARI maybe",
    "MDExternalAccountBinding none", "MDExternalAccountBinding kid-1 s3cr*t+k3y!",
    "MDExternalAccountBinding kid-1 a2V5 HS256", "MDExternalAccountBinding /nonexistent/eab.json",
    "MDRenewMode sometimes", "MDRenewMode stick", "MDRenewMode AUTO", "MDRenewMode automatic",
    "MDRequireHttps off", "MDRequireHttps maybe", "MDRequireHttps Temporary",
    "MDMembers maybe",
    "MDWarnWindow 100%", "MDWarnWindow 5mins",
    "MDRenewWindow 30days", "MDRenewWindow 33.5%", "MDRenewWindow 100%", "MDRenewWindow 0%",
    "MDRenewWindow -5%", "MDRenewWindow -30d", "MDRenewWindow 101%", "MDRenewWindow 33x",
    "MDRenewWindow 99999999999999999999d", "MDRenewWindow 5", "MDRenewWindow +33%",
    "MDRenewWindow 9223372036854775807",
    "MDRetryDelay -5s", "MDRetryDelay 0", "MDRetryDelay 30days", "MDRetryDelay 5m",
    "MDRetryDelay 5mins", "MDRetryDelay 1w", "MDRetryDelay 5xyz", "MDRetryDelay 99999999999999d",
    "MDRetryDelay 1ms", "MDRetryDelay 500msec",
    "MDCheckInterval 500ms", "MDCheckInterval 0", "MDCheckInterval -1h", "MDCheckInterval 1s",
    "MDCheckInterval 99999999d", "MDCheckInterval 12hours",
    "MDActivationDelay 2", "MDActivationDelay -2", "MDActivationDelay 9223372036854775807",
    "MDActivationDelay 99999999999999999999", "MDActivationDelay 1w",
    "MDActivationDelay 30minutes", "MDActivationDelay 5m", "MDActivationDelay 1mi",
    "MDInitialDelay -1", "MDInitialDelay 1w", "MDInitialDelay 0", "MDInitialDelay 5days",
    "MDStoreLocks 0", "MDStoreLocks 30", "MDStoreLocks -3", "MDStoreLocks maybe",
    "MDStoreLocks 1w", "MDStoreLocks 500ms", "MDStoreLocks ON", "MDStoreLocks 99999999999d",
    "MDRetryFailover 0", "MDRetryFailover -1", "MDRetryFailover many",
    "MDRetryFailover 1000000000", "MDRetryFailover 3x", "MDRetryFailover +3",
    "MDRetryFailover 1e3", "MDRetryFailover 99999999999", "MDRetryFailover 2147483648",
]

# Where ours differs from the stock module on purpose (see the top).
KNOWN = {
    "name-in-two-mds": ("stricter", "stock refuses to start (AH10038 overlap)"),
    "name-md-twice": ("stricter", "stock refuses to start (AH10038 overlap)"),
    "name-wildcard-overlap": ("stricter", "stock refuses to start (AH10038 overlap)"),
    "name-slash": ("stricter", "a name with '/' would leave its directory in the store"),
    "static-cert-only": ("stricter", "stock refuses to start (AH10170)"),
    "static-key-only": ("stricter", "stock refuses to start (AH10170)"),
    "static-missing": ("stricter", "stock refuses to start (mod_ssl AH02562) for a used MD"),
    "MDCertificateKeyFile@mdomainset": ("stricter", "a key file without its certificate "
                                        "file: stock refuses to start (AH10170)"),
    "MDCertificateKeyFile@mdomain": ("stricter", "as MDCertificateKeyFile@mdomainset"),
    "MDChallengeDns01Version@mdomainset": ("looser", "ours keeps the version per MD"),
    "MDChallengeDns01Version@mdomain": ("looser", "ours keeps the version per MD"),
    "value: MDHttpProxy none": ("looser", "ours can switch a global proxy off per MD"),
    "value: MDExternalAccountBinding kid-1 a2V5 HS256": ("looser", "ours takes the MAC "
                                                         "algorithm as a third word"),
    "value: MDPortMap HTTP:8080": ("looser", "ours takes http/https in any case"),
    "value: MDRetryFailover 2147483648": ("looser", "ours takes any count (as the "
                                          "larger 99999999999, which stock takes, too)"),
}


class Case:
    def __init__(self, cid, lines, directive=None):
        self.id = cid
        self.lines = lines
        self.directive = directive


def _cases():
    cases = []
    for name, value in DIRECTIVES:
        line = "%s %s" % (name, value)
        for ctx, make in CONTEXTS.items():
            lines = [part for l in make(line) for part in l.split("\n")]
            cases.append(Case("%s@%s" % (name, ctx), lines, name))
    for cid, lines in EDGES:
        cases.append(Case(cid, lines))
    for line in VALUES:
        cases.append(Case("value: " + line, ["MDomain a.test", line]))
    return cases


CASES = _cases()
for _id in KNOWN:
    assert any(c.id == _id for c in CASES), "KNOWN names no case %r" % _id
for _name in OURS_ONLY:
    for _ctx in CONTEXTS:
        # the stock module refuses every directive it does not know
        KNOWN.setdefault("%s@%s" % (_name, _ctx), ("ours-only", "a directive of ours"))


# --- running them -------------------------------------------------------------

def _config_test(apache, conf, path):
    with open(path, "w") as f:
        f.write(conf.text())
    proc = subprocess.run([APACHE_BIN, "-t", "-f", path], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60,
                          env=apache.process_env())
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """{case id: (stock rc, stock output, our rc, our output)}"""
    work = str(tmp_path_factory.mktemp("corpus"))
    http_port, https_port = util.free_ports(2)
    cafile = os.path.join(work, "ca.pem")
    cert_pem, key_pem, _ = static_certs.make_static(["a.test"])
    cert, key = static_certs.write_pair(os.path.join(work, "static"), "a", cert_pem, key_pem)
    with open(cafile, "wb") as f:
        f.write(cert_pem)
    fill = {"cafile": cafile, "cert": cert, "key": key, "https": https_port}
    apaches = {}
    for which, module in (("stock", STOCK_MD_MODULE), ("ours", default_module_path())):
        apaches[which] = Apache(work, http_port, https_port, module=module, name=which,
                                ca_url="https://127.0.0.1:9/dir", ca_file=cafile)

    def run(job):
        i, case, which = job
        a = apaches[which]
        conf = a.config()
        values = dict(fill, root=a.root)
        conf.add(*[l.format(**values) for l in case.lines])
        return case.id, which, _config_test(a, conf, os.path.join(a.conf_dir, "c%d.conf" % i))

    jobs = [(i, c, w) for i, c in enumerate(CASES) for w in ("stock", "ours")]
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for cid, which, res in pool.map(run, jobs):
            results.setdefault(cid, {})[which] = res
    for a in apaches.values():
        a.check_sanitizer()
    return {cid: (r["stock"][0], r["stock"][1], r["ours"][0], r["ours"][1])
            for cid, r in results.items()}


def test_corpus_is_large_enough():
    assert len(CASES) >= 100
    assert {name for name, _ in DIRECTIVES} >= OURS_ONLY


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_corpus_case(corpus, case):
    stock_rc, stock_out, ours_rc, ours_out = corpus[case.id]
    kind, why = KNOWN.get(case.id, (None, None))
    where = "\n--- stock:\n%s\n--- ours:\n%s" % (stock_out, ours_out)
    if kind == "ours-only":
        assert stock_rc != 0, "the stock module knows %s%s" % (case.directive, where)
        return
    if stock_rc == 0:
        if kind == "stricter":
            assert ours_rc != 0, "listed as stricter (%s), but ours accepts%s" % (why, where)
        else:
            assert ours_rc == 0, "the stock module accepts, ours refuses%s" % where
    else:
        if kind == "looser":
            assert ours_rc == 0, "listed as looser (%s), but ours refuses%s" % (why, where)
        else:
            assert ours_rc != 0, "the stock module refuses, ours accepts%s" % where


def test_corpus_summary(corpus):
    """One line per outcome, for the record (pytest -s shows it)."""
    counts = {}
    for cid, (stock_rc, _, ours_rc, _) in corpus.items():
        key = ("stock " + ("accepts" if stock_rc == 0 else "refuses")
               + ", ours " + ("accepts" if ours_rc == 0 else "refuses"))
        counts[key] = counts.get(key, 0) + 1
    print("\nconfig corpus: %d configurations" % len(corpus))
    for key in sorted(counts):
        print("  %-32s %d" % (key, counts[key]))
    assert sum(counts.values()) == len(CASES)
