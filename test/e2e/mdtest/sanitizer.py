"""Apache with the AddressSanitizer build of the module (`make asan`).

    make asan-test-e2e                          # all of test/e2e
    make asan-test-e2e E2E_TESTS=test/e2e/test_foundation.py
    MD_MODULE=build/asan/mod_md.so MD_E2E_ASAN=1 /usr/bin/python3 -m pytest ...

With MD_E2E_ASAN=1 every apache2 the harness runs (start, `-t`) with an
ASan-built module gets the sanitizer runtime preloaded (the module is instrumented, httpd is not, and
the runtime must come first): LD_PRELOAD of MD_E2E_ASAN_PRELOAD, default
gcc's libasan.so. ASan writes its reports into `<instance root>/sanitizer/`
(world-writable: the children run as www-data); UBSan's land in the error
log (stderr). When an instance stops, a report in either place fails the
test, with the report in the message.

MD_E2E_ASAN_OPTIONS adds ASAN_OPTIONS (e.g. `fast_unwind_on_malloc=0` for
allocation stacks through OpenSSL, which has no frame pointers).

Leak checking is off in Apache (httpd, APR and OpenSSL keep memory until
exit by design, so every process would "leak"); the unit tests and the
fuzz targets check leaks of the core.
"""
import glob
import os
import re
import subprocess

ENV_SWITCH = "MD_E2E_ASAN"
ENV_PRELOAD = "MD_E2E_ASAN_PRELOAD"
ENV_OPTIONS = "MD_E2E_ASAN_OPTIONS"   # more ASAN_OPTIONS, e.g. fast_unwind_on_malloc=0


def enabled():
    return os.environ.get(ENV_SWITCH, "") not in ("", "0")


def runtime_library():
    """The ASan runtime to preload (gcc's, which `make asan` links against)."""
    lib = os.environ.get(ENV_PRELOAD)
    if not lib:
        lib = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True,
                             text=True, check=True).stdout.strip()
        lib = os.path.realpath(lib)
    if not os.path.isfile(lib):
        raise AssertionError("%s=1 but the ASan runtime %r is not there (set %s)"
                             % (ENV_SWITCH, lib, ENV_PRELOAD))
    return lib


_INSTRUMENTED = {}


def instrumented(module):
    """Is this module built with ASan (does it need the runtime)? Servers
    of other modules (the stock one, run side by side) start as usual:
    ASan's interceptors are stricter than libc (fopen(NULL) crashes)."""
    if module not in _INSTRUMENTED:
        try:
            with open(module, "rb") as f:
                _INSTRUMENTED[module] = b"libasan.so" in f.read()
        except OSError:
            _INSTRUMENTED[module] = False
    return _INSTRUMENTED[module]


def prepare(report_dir):
    """Make the report directory (writable by the www-data children)."""
    os.makedirs(report_dir, exist_ok=True)
    os.chmod(report_dir, 0o1777)


def environment(report_dir):
    """Variables for an apache2 process loading the ASan module."""
    return {
        "LD_PRELOAD": runtime_library(),
        "ASAN_OPTIONS": ":".join([
            "log_path=%s/asan" % report_dir,
            "detect_leaks=0",
            # httpd installs its own SIGSEGV handler for core dumps; ASan
            # must still report the fault first
            "allow_user_segv_handler=0",
            "handle_abort=1",
            # symbolizing takes seconds, and httpd's shutdown kills a child
            # in the middle of it: write raw frames at once, symbolize()
            # names them afterwards
            "symbolize=0",
        ] + ([os.environ[ENV_OPTIONS]] if os.environ.get(ENV_OPTIONS) else [])),
        "UBSAN_OPTIONS": "log_path=%s/ubsan:print_stacktrace=1:halt_on_error=1" % report_dir,
    }


# What a report looks like where it lands on stderr (which httpd points at
# the error log): UBSan in a module writes there whatever log_path says.
_REPORT_RE = re.compile(r"ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|"
                        r"^\S+:\d+:\d+: runtime error: |^SUMMARY: \w+Sanitizer", re.M)


_FRAME_RE = re.compile(r"^(\s*#\d+ 0x[0-9a-f]+ +)\((/[^)+]+)\+(0x[0-9a-f]+)\)", re.M)


def symbolize(text):
    """Report frames "(<object>+0x<offset>)" as "in <function> <file>:<line>"
    (addr2line, one call per object)."""
    frames = _FRAME_RE.findall(text)
    by_obj = {}
    for _, obj, off in frames:
        by_obj.setdefault(obj, set()).add(off)
    names = {}
    for obj, offs in by_obj.items():
        offs = sorted(offs)
        try:
            out = subprocess.run(["addr2line", "-f", "-C", "-e", obj] + offs,
                                 capture_output=True, text=True, timeout=60).stdout.split("\n")
        except (OSError, subprocess.SubprocessError):
            continue
        for i, off in enumerate(offs):
            if 2 * i + 1 < len(out) and out[2 * i] != "??":
                names[(obj, off)] = "%s %s" % (out[2 * i], out[2 * i + 1])

    def named(m):
        name = names.get((m.group(2), m.group(3)))
        return m.group(0) + (" in " + name if name else "")
    return _FRAME_RE.sub(named, text)


def _last_lines_of_pid(logs, pid, n=8):
    """The last n error log lines of process pid: what it was doing."""
    needle = "[pid %s:" % pid
    lines = []
    for path in logs:
        try:
            with open(path, "rb") as f:
                lines += [l for l in f.read().decode("utf-8", "replace").splitlines()
                          if needle in l]
        except OSError:
            pass
    return lines[-n:]


def reports(report_dir, logs=()):
    """[(path, text)] of the sanitizer reports in report_dir (each with the
    last error log lines of its process), and of the `logs` (paths) that
    have a report in them (the lines from the first one on)."""
    found = []
    for path in sorted(glob.glob(os.path.join(report_dir, "*"))):
        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        if text.strip():
            pid = path.rsplit(".", 1)[-1]
            last = _last_lines_of_pid(logs, pid)
            if last:
                text += "\n(last error log lines of pid %s:)\n%s\n" % (pid, "\n".join(last))
            found.append((path, symbolize(text)))
    for path in logs:
        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        m = _REPORT_RE.search(text)
        if m:
            start = text.rfind("\n", 0, m.start()) + 1
            found.append((path, text[start:start + 20000]))
    return found
