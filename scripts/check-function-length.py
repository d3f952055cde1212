#!/usr/bin/env python3
"""Fail when a C function in the given trees is longer than the limit.

A function is counted from the first line of its signature to its closing
brace, both included (STYLE.md §1: functions under ~80 lines). The code
base writes function bodies K&R style: the opening brace alone at column 0,
the closing one at column 0; that is what this script looks for, so a
function written otherwise is reported as unparsable rather than skipped.

    scripts/check-function-length.py [--max N] [--list] [paths...]

Paths are files or directories (searched for *.c); default: src.
"""
import argparse
import os
import re
import sys

SIG_START = re.compile(r"^[A-Za-z_]")


def c_files(paths):
    for path in paths:
        if os.path.isdir(path):
            for root, _dirs, files in os.walk(path):
                for name in sorted(files):
                    if name.endswith(".c"):
                        yield os.path.join(root, name)
        else:
            yield path


def signature_start(lines, brace):
    """Index of the first line of the signature that ends just above brace."""
    i = brace - 1
    while i > 0:
        prev = lines[i - 1].rstrip()
        if (not prev or prev.endswith(";") or prev.endswith("}") or prev.endswith("*/")
                or prev.startswith("#") or prev.startswith("//")):
            break
        i -= 1
    return i


def functions(path):
    """Yield (name, first line, length) for every function in path."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        if lines[i].rstrip() != "{":
            i += 1
            continue
        start = signature_start(lines, i)
        sig = " ".join(l.strip() for l in lines[start:i])
        m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", sig)
        name = m.group(1) if m and SIG_START.match(lines[start]) else None
        end = i + 1
        while end < len(lines) and not lines[end].startswith("}"):
            end += 1
        if end >= len(lines):
            raise SystemExit("%s:%d: no closing brace at column 0" % (path, i + 1))
        if name:
            yield name, start + 1, end - start + 1
        i = end + 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--max", type=int, default=80, help="longest allowed (default 80)")
    ap.add_argument("--list", action="store_true", help="print every function's length")
    ap.add_argument("paths", nargs="*", default=["src"])
    args = ap.parse_args()
    too_long = []
    count = 0
    for path in c_files(args.paths):
        for name, line, length in functions(path):
            count += 1
            if args.list:
                print("%5d %s:%d %s" % (length, path, line, name))
            if length > args.max:
                too_long.append((length, path, line, name))
    for length, path, line, name in sorted(too_long, reverse=True):
        print("%s:%d: %s() has %d lines (at most %d)" % (path, line, name, length, args.max),
              file=sys.stderr)
    if too_long:
        print("%d of %d functions are longer than %d lines" % (len(too_long), count, args.max),
              file=sys.stderr)
        return 1
    print("function length: %d functions, none longer than %d lines" % (count, args.max))
    return 0


if __name__ == "__main__":
    sys.exit(main())
