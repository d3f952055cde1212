"""External programs (MDMessageCmd, MDNotifyCmd, MDChallengeDns01) get
nothing of the server but their arguments (issue 11, finding 6): no open
descriptor (httpd's listening sockets, curl's connections to the CA, the
store's files), a minimal environment, a process group of their own; and a
program that exits 0 but leaves a child holding its stdout has succeeded.
Programs run by a renewal run at its priority: 10 nice levels below the
server's (ours; stock runs them at the server's own).
"""
import os
import re
import signal
import stat

from mdtest.dns01 import Dns01Program

# Writes what the program has open (but the directory it lists them with)
# and its environment, then exits 0.
PROBE = """#!/usr/bin/python3
import os
out = "%(dir)s/probe.%%d" %% os.getpid()
fds = []
for fd in os.listdir("/proc/self/fd"):
    try:
        target = os.readlink("/proc/self/fd/" + fd)
    except OSError:
        continue                        # the listing's own, closed again
    if not target.startswith("/proc/"):
        fds.append("%%s %%s" %% (fd, target))
with open(out + ".env", "w") as f:
    f.write("".join("%%s=%%s\\n" %% kv for kv in os.environ.items()))
with open(out + ".nice", "w") as f:
    f.write(str(os.nice(0)))
with open(out + ".fds", "w") as f:
    f.write("\\n".join(fds))
os.rename(out + ".fds", out + ".fds.done")
"""

# Starts a helper that keeps stdout open, then becomes the dns-01 program.
WRAPPER = """#!/bin/sh
sleep 300 &
echo $! >> %(dir)s/helpers
exec %(prog)s "$@"
"""


def _script(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)


def _workdir(apache, name):
    d = os.path.join(apache.root, name)
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o777)      # the watchdog child runs as www-data
    return d


def test_programs_get_no_descriptors_and_a_minimal_environment(apache):
    md = "probe.test"
    d = _workdir(apache, "probe")
    probe = os.path.join(d, "probe.sh")
    _script(probe, PROBE % {"dir": d})
    conf = apache.config()
    conf.add("MDMessageCmd %s" % probe)
    conf.add_md([md])
    conf.add_vhost(md)
    conf.write()
    apache.start(env={"MD_TEST_SECRET": "do-not-pass", "TZ": "UTC"})
    # "renewing" before the order, "renewed" after
    apache.wait_staged(md)

    def probes():
        return [n for n in os.listdir(d) if n.endswith(".fds.done")]
    apache.wait_for(lambda: len(probes()) >= 2, what="two runs of the program")
    for name in probes():
        with open(os.path.join(d, name)) as f:
            fds = f.read().splitlines()
        assert sorted(int(l.split()[0]) for l in fds) == [0, 1, 2], \
            "%s: the program had open:\n%s" % (name, "\n".join(fds))
        with open(os.path.join(d, name.replace(".fds.done", ".env"))) as f:
            env = dict(line.split("=", 1) for line in f.read().splitlines() if "=" in line)
        assert "MD_TEST_SECRET" not in env
        assert env.get("TZ") == "UTC"
        assert env.get("PATH") == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        assert not [k for k in env if k.startswith("APACHE") or k.startswith("MD_")], env
        # "renewing" and "renewed" come from the renewal's worker thread
        with open(os.path.join(d, name.replace(".fds.done", ".nice"))) as f:
            assert int(f.read()) == min(19, os.nice(0) + 10), name


def _kill_helpers(d):
    try:
        with open(os.path.join(d, "helpers")) as f:
            pids = [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return []
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pids


def test_dns01_program_leaving_a_child_behind_succeeds(apache, challtestsrv):
    md = "bg-dns.test"
    prog = Dns01Program(apache, challtestsrv, name="bgdns")
    d = _workdir(apache, "bg")
    wrapper = os.path.join(d, "wrapper.sh")
    _script(wrapper, WRAPPER % {"dir": d, "prog": prog.script})
    conf = apache.config()
    conf.add(prog.directive().replace(prog.script, wrapper, 1))
    conf.add_md([md], ["MDCAChallenges dns-01"])
    conf.add_vhost(md)
    conf.write()
    try:
        apache.start()
        # well before the program's time limit (120 s)
        apache.wait_staged(md, timeout=60)
        assert prog.calls("setup", md) and prog.calls("setup", md)[0]["rc"] == 0
        assert not apache.log_lines(r"ran too long|was killed")
    finally:
        helpers = _kill_helpers(d)
    assert helpers, "the wrapper did not run"
