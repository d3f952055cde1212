"""The dns-01 test program (test/e2e/dns01_challtestsrv.py) as an MD
configuration sees it, and what it was asked to do.

    prog = Dns01Program(apache, challtestsrv)
    conf.add(prog.directive())                 # MDChallengeDns01 ... (global)
    conf.add_md(["x.test"], [prog.directive(fail="fail-setup")])
    prog.calls()          # [{"argv": ["setup", "x.test", "<value>"], "rc": 0}, ...]
    prog.calls("setup", "x.test")
"""
import json
import os
import shutil

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "dns01_challtestsrv.py")


class Dns01Program:
    def __init__(self, apache, challtestsrv, name="dns01"):
        self.apache = apache
        self.challtestsrv = challtestsrv
        # the server's children (www-data) append to it
        self.log_dir = os.path.join(apache.root, name)
        os.makedirs(self.log_dir, exist_ok=True)
        os.chmod(self.log_dir, 0o777)
        self.log_path = os.path.join(self.log_dir, "calls.jsonl")
        # A copy the children can run: the checkout itself may sit below a
        # directory www-data cannot enter (a clone in a 0700 temp dir).
        self.script = os.path.join(self.log_dir, os.path.basename(SCRIPT))
        shutil.copyfile(SCRIPT, self.script)
        os.chmod(self.script, 0o755)

    def directive(self, fail=None):
        words = ["MDChallengeDns01", self.script, self.challtestsrv.mgmt_url, self.log_path]
        if fail:
            words.append(fail)
        return " ".join(words)

    def calls(self, action=None, domain=None):
        try:
            with open(self.log_path) as f:
                entries = [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []
        return [e for e in entries
                if (action is None or e["argv"][0] == action)
                and (domain is None or e["argv"][1] == domain)]
