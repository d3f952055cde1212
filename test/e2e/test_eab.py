"""External account binding (RFC 8555 §7.3.4) against a pebble that
requires it: accounts are registered with the binding, reused only for the
same key id, refused clearly with a wrong key or none, and the MAC key never
shows up in the error log or the store.
"""
import base64
import glob
import json
import os
import secrets
import types

import pytest

from mdtest.a2md import A2md, EXIT_INPUT, EXIT_OK

GOOD = "eab-good.test"
WRONG = "eab-wrong.test"
NONE = "eab-none.test"
FILE = "eab-file.test"       # phase 2: kid-1 again, from a JSON file, HS512
OTHER = "eab-other.test"     # phase 2: kid-2, HS384
CLI = "eab-cli.test"         # phase 2: kid-3, MDRenewMode manual: a2md drives it


def _b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _accounts(a):
    found = []
    for path in sorted(glob.glob(os.path.join(a.accounts_dir, "*", "account.json"))):
        with open(path) as f:
            found.append(json.load(f))
    return found


def _store_text(a):
    """Every file in the store that is not a key or certificate, as text."""
    texts = []
    for root, _, files in os.walk(a.store):
        for name in files:
            if name.endswith(".json"):
                with open(os.path.join(root, name), errors="replace") as f:
                    texts.append(f.read())
    return "\n".join(texts)


@pytest.fixture(scope="module")
def eab(e2e, tmp_path_factory):
    # 64-byte keys: enough for HS512, and pebble wants base64url
    keys = {"kid-1": secrets.token_bytes(64), "kid-2": secrets.token_bytes(64),
            "kid-3": secrets.token_bytes(64)}
    ca = e2e.new_pebble(config_extra={
        "externalAccountBindingRequired": True,
        "externalAccountMACKeys": {k: _b64url(v) for k, v in keys.items()},
    })
    wrong = _b64url(secrets.token_bytes(64))
    key_file = tmp_path_factory.mktemp("eab") / "eab.json"
    # standard base64 with padding in the file: CAs hand out either form
    key_file.write_text(json.dumps({"kid": "kid-1", "alg": "HS512",
                                    "hmac": base64.b64encode(keys["kid-1"]).decode()}))
    a = e2e.new_apache(name="eab", pebble=ca)
    conf = a.config()
    conf.add_md([GOOD], ["MDExternalAccountBinding kid-1 %s" % _b64url(keys["kid-1"])])
    conf.add_md([WRONG], ["MDExternalAccountBinding kid-2 %s" % wrong])
    conf.add_md([NONE], ["MDExternalAccountBinding none"])
    for name in (GOOD, WRONG, NONE):
        conf.add_vhost(name)
    # a global binding that the "none" above switches off
    conf.add("MDExternalAccountBinding kid-1 %s" % _b64url(keys["kid-1"]))
    conf.write()
    try:
        a.start()
        a.wait_staged(GOOD)
        a.wait_for_log(r"%s.*kid-2" % WRONG.replace(".", r"\."))
        a.wait_for_log(r"%s.*MDExternalAccountBinding" % NONE.replace(".", r"\."))
        phase1_accounts = _accounts(a)
        phase1_log = a.log_text()
        phase1_jobs = {}
        for md in (WRONG, NONE):
            with open(os.path.join(a.staging_dir(md), "job.json")) as f:
                phase1_jobs[md] = json.load(f)
        # Phase 2 registers kid-2 with the right key (OTHER), which WRONG may
        # then reuse (accounts are matched by key id): look at WRONG now.
        phase1_wrong_staged = os.path.exists(a.staged_pubcert(WRONG))

        conf.add_md([FILE], ["MDExternalAccountBinding %s" % key_file])
        conf.add_md([OTHER], ["MDExternalAccountBinding kid-2 %s HS384"
                              % _b64url(keys["kid-2"])])
        conf.add_md([CLI], ["MDExternalAccountBinding kid-3 %s" % _b64url(keys["kid-3"]),
                            "MDRenewMode manual"])
        conf.add_vhost(FILE)
        conf.add_vhost(OTHER)
        conf.add_vhost(CLI)
        conf.write()
        mark = a.log_mark()
        a.graceful()
        a.wait_staged(FILE, since=mark)
        a.wait_staged(OTHER, since=mark)
        yield types.SimpleNamespace(apache=a, ca=ca, keys=keys, wrong=wrong,
                                    phase1_accounts=phase1_accounts,
                                    phase1_log=phase1_log, phase1_jobs=phase1_jobs,
                                    phase1_wrong_staged=phase1_wrong_staged)
    finally:
        a.stop()


def test_eab_account_registered_with_binding_gets_certificate(eab):
    a = eab.apache
    # staged in phase 1, made live by the graceful restart of phase 2
    assert os.path.exists(a.live_pubcert(GOOD))
    # the CA accepted the newAccount with the binding
    assert eab.ca.count_requests("/sign-me-up", method="POST") >= 1
    kids = [acct.get("eab", {}).get("kid") for acct in eab.phase1_accounts]
    assert kids == ["kid-1"], eab.phase1_accounts


def test_eab_wrong_key_is_a_clear_error(eab):
    a = eab.apache
    assert not eab.phase1_wrong_staged
    lines = a.log_lines(r"%s.*kid-2" % WRONG.replace(".", r"\."))
    assert any("external account binding" in l for l in lines), lines


def test_eab_refusals_keep_the_cas_problem_type(eab):
    """renewal.last.problem is the CA's problem type, also where the detail
    says more (which key id, which directive)."""
    for md in (WRONG, NONE):
        last = eab.phase1_jobs[md]["last"]
        assert last["problem"].startswith("urn:ietf:params:acme:error:"), (md, last)
        assert last["status-description"]
    assert eab.phase1_jobs[NONE]["last"]["problem"].endswith(":externalAccountRequired")
    assert "kid-2" in eab.phase1_jobs[WRONG]["last"]["detail"]


def test_eab_missing_binding_names_the_directive(eab):
    a = eab.apache
    assert not os.path.exists(a.staged_pubcert(NONE))
    lines = a.log_lines(r"%s.*MDExternalAccountBinding" % NONE.replace(".", r"\."))
    assert any("requires an external account binding" in l for l in lines), lines


def test_eab_account_reused_only_for_same_kid(eab):
    """kid-1 from the JSON file (HS512) reuses the kid-1 account; kid-2 with
    the right key (HS384) gets an account of its own."""
    a = eab.apache
    kids = sorted(acct.get("eab", {}).get("kid") for acct in _accounts(a))
    assert kids == ["kid-1", "kid-2"], _accounts(a)
    # one kid-1 account only, and the MD from the file used it
    with open(os.path.join(a.staging_dir(FILE), "md.json")) as f:
        account = json.load(f)["ca"]["account"]
    with open(os.path.join(a.accounts_dir, account, "account.json")) as f:
        assert json.load(f)["eab"]["kid"] == "kid-1"


def test_eab_mac_key_never_logged_or_stored(eab):
    a = eab.apache
    log = a.log_text()
    store = _store_text(a)
    for raw in list(eab.keys.values()):
        for form in (_b64url(raw), base64.b64encode(raw).decode()):
            assert form not in log
            assert form not in store
    assert eab.wrong not in log
    for acct in _accounts(a):
        assert "hmac" not in acct.get("eab", {})


def _eab_file(directory, kid, key):
    path = os.path.join(str(directory), "%s.json" % kid)
    with open(path, "w") as f:
        json.dump({"kid": kid, "hmac": _b64url(key)}, f)
    os.chmod(path, 0o600)       # root's: a2md reads it before it becomes the User
    return path


def test_eab_a2md_drive_takes_the_mac_key_from_a_file(eab, tmp_path):
    """md.json keeps only the key id: a2md drive uses an account bound to it,
    and registers a new one only with the MAC key from -e FILE (ours)."""
    a = eab.apache
    cli = A2md(a.store, eab.ca)
    assert cli.md_json(CLI)["eab"] == {"kid": "kid-3"}
    # no account for kid-3 yet, no MAC key: refused before the CA is asked
    r = cli.run("drive", CLI)
    assert r.rc != EXIT_OK, r
    assert "kid-3" in r.err and "--eab" in r.err, r
    r = cli.run("drive", "-e", str(tmp_path / "missing.json"), CLI)
    assert r.rc == EXIT_INPUT and "is not a file" in r.err, r
    r = cli.run("drive", "-e", _eab_file(tmp_path, "kid-3", eab.keys["kid-3"]), CLI)
    assert r.rc == EXIT_OK, r
    assert os.path.exists(a.staged_pubcert(CLI))
    assert "kid-3" in [acct.get("eab", {}).get("kid") for acct in _accounts(a)]
    # then the account bound to kid-3 serves without the key
    r = cli.run("drive", "-f", CLI)
    assert r.rc == EXIT_OK, r
    raw = _b64url(eab.keys["kid-3"])
    assert raw not in _store_text(a) and raw not in a.log_text()


def test_eab_a2md_newreg_with_binding(eab, tmp_path):
    cli = A2md(eab.apache.store, eab.ca)
    r = cli.run("-t", "accepted", "acme", "newreg", "admin@eab-cli.test")
    assert r.rc != EXIT_OK and "--eab" in r.err, r
    r = cli.run("-t", "accepted", "acme", "newreg", "-e",
                _eab_file(tmp_path, "kid-2", eab.keys["kid-2"]), "admin@eab-cli.test")
    assert r.rc == EXIT_OK, r
    acct = r.output[0]["id"] if isinstance(r.output[0], dict) else None
    assert acct, r
    assert cli.account_json(acct)["eab"] == {"kid": "kid-2"}
