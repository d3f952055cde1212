#!/usr/bin/python3
"""dns-01 program for the e2e tests (MDChallengeDns01): publishes and
removes _acme-challenge TXT records in pebble-challtestsrv through its
management API.

    dns01_challtestsrv.py MGMT_URL LOGFILE [fail-setup|fail-teardown] \
        setup DOMAIN VALUE | teardown DOMAIN [VALUE]

Every call is appended to LOGFILE as one JSON line (argv and exit code),
so tests can see what the module ran. "fail-setup" makes setup exit 3
after logging (teardown still works), for testing the failure path.
"""
import json
import sys
import urllib.request


def post(mgmt, path, body):
    req = urllib.request.Request(mgmt + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"},
                                 method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status


def main(argv):
    mgmt, logfile = argv[1], argv[2]
    rest = argv[3:]
    fail = None
    if rest and rest[0].startswith("fail-"):
        fail, rest = rest[0], rest[1:]
    rc = 0
    msg = ""
    try:
        action, domain = rest[0], rest[1]
        host = "_acme-challenge.%s." % domain
        if action == "setup":
            if fail == "fail-setup":
                rc, msg = 3, "refusing to set up %s (test)" % host
            else:
                post(mgmt, "/set-txt", {"host": host, "value": rest[2]})
        elif action == "teardown":
            if fail == "fail-teardown":
                rc, msg = 4, "refusing to tear down %s (test)" % host
            else:
                post(mgmt, "/clear-txt", {"host": host})
        else:
            rc, msg = 2, "unknown action %r" % action
    except Exception as exc:  # noqa: BLE001 - report anything to the module
        rc, msg = 1, "error: %s" % exc
    with open(logfile, "a") as f:
        f.write(json.dumps({"argv": rest, "rc": rc}) + "\n")
    if msg:
        sys.stderr.write(msg + "\n")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
