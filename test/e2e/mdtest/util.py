"""Small helpers shared by the e2e harness: ports, polling, process control.

Everything here is deliberately free of pytest so scripts/demo.py can use it.
"""
import os
import signal
import socket
import subprocess
import time


class WaitTimeout(AssertionError):
    """A polled condition did not become true before its deadline.

    Subclasses AssertionError so pytest reports it as a plain test failure.
    """


class Abort(AssertionError):
    """Raised by a wait_for predicate to stop waiting at once: the condition
    can no longer become true (e.g. the process being waited for died)."""


def free_ports(count, udp_too=False, host="127.0.0.1"):
    """Return `count` distinct ports that are free on `host` right now.

    All probe sockets stay bound until every port is picked, and a port is
    never handed out twice by this process. With udp_too, the UDP port of the
    same number must be free as well (for DNS servers that bind both).
    """
    held = []
    ports = []
    try:
        while len(ports) < count:
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            tcp.bind((host, 0))
            held.append(tcp)
            port = tcp.getsockname()[1]
            if port in _handed_out:
                # free now, but promised to a server of ours that may not
                # have bound it yet (the kernel readily reuses a port)
                continue
            if udp_too:
                udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                try:
                    udp.bind((host, port))
                except OSError:
                    udp.close()
                    continue
                held.append(udp)
            ports.append(port)
    finally:
        for s in held:
            s.close()
    _handed_out.update(ports)
    return ports


_handed_out = set()


def free_port(host="127.0.0.1"):
    return free_ports(1, host=host)[0]


def wait_for(predicate, timeout=90.0, interval=0.2, what="condition",
             on_timeout=None):
    """Poll `predicate` until it returns something truthy; return that value.

    On timeout raise WaitTimeout naming `what`; `on_timeout` (a callable
    returning text, e.g. the tail of an error log) is appended to the message.
    Exceptions from the predicate count as "not yet" and the last one is
    reported if the deadline passes; Abort ends the wait immediately.
    """
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            result = predicate()
            if result:
                return result
            last_exc = None
        except Abort as exc:
            msg = str(exc)
            if on_timeout is not None:
                try:
                    msg += "\n" + on_timeout()
                except Exception as diag_exc:  # noqa: BLE001
                    msg += "\n(could not collect diagnostics: %r)" % (diag_exc,)
            raise Abort("gave up waiting for %s: %s" % (what, msg)) from None
        except Exception as exc:  # noqa: BLE001 - "not ready yet" of any kind
            last_exc = exc
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    msg = "timed out after %.0fs waiting for %s" % (timeout, what)
    if last_exc is not None:
        msg += "\nlast error: %r" % (last_exc,)
    if on_timeout is not None:
        try:
            msg += "\n" + on_timeout()
        except Exception as exc:  # noqa: BLE001
            msg += "\n(could not collect diagnostics: %r)" % (exc,)
    raise WaitTimeout(msg)


def port_open(port, host="127.0.0.1", timeout=1.0):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid):
    """True while `pid` exists and is not a zombie.

    Daemonized httpd is not our child, so a zombie left for init to reap
    must count as gone.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            # state is the field after the ")" closing the command name
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    if state in ("Z", "X"):
        _reap(pid)
        return False
    return True


def _reap(pid):
    """Collect a zombie if it is our child (see become_subreaper)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def become_subreaper():
    """Adopt orphaned descendants, i.e. the httpd daemon after it detaches.

    Without this the daemon is re-parented to init, which may reap it late,
    leaving a visible <defunct> apache2 for a while after we stopped it.
    As its subreaper we collect it ourselves in pid_alive(). Best effort.
    """
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        PR_SET_CHILD_SUBREAPER = 36
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1)
    except Exception:  # noqa: BLE001
        pass


def stop_pid(pid, timeout=30.0, sig=signal.SIGTERM):
    """Send `sig` to pid, wait until it is gone, SIGKILL if it lingers.

    Returns True if the process ended from `sig`, False if it had to be
    killed (or was already gone).
    """
    if not pid_alive(pid):
        return False
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.1)
    return False


def stop_popen(proc, timeout=15.0):
    """Terminate a subprocess.Popen, wait, kill if needed; always reaps it."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def tail(path, lines=40):
    """Last `lines` lines of a text file, or a note that it is missing."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read().decode("utf-8", "replace")
    except OSError as exc:
        return "(%s: %s)" % (path, exc.strerror)
    text = "\n".join(data.splitlines()[-lines:])
    return "--- tail of %s ---\n%s\n--- end ---" % (path, text)


def _die_with_parent():
    """preexec_fn: have the kernel SIGTERM the child if the harness dies.

    Covers the case where the test runner itself is killed hard and no
    teardown runs. Best effort: silently skipped if prctl is unavailable.
    """
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except Exception:  # noqa: BLE001
        pass


def spawn(args, log_path, env=None, cwd=None):
    """Start a long-running helper with stdout+stderr appended to log_path."""
    log = open(log_path, "ab")
    try:
        return subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env=env, cwd=cwd, preexec_fn=_die_with_parent, close_fds=True)
    finally:
        # the child holds its own descriptor
        log.close()
