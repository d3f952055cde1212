"""A strict parser of the Prometheus text exposition format 0.0.4, for
testing what the md-metrics handler serves.

    families = prometheus.parse(text)      # raises ParseError on anything off
    families["md_state"].type              # "gauge"
    families["md_state"].value(md="a.test")

Stricter than Prometheus itself: every family must have exactly one HELP
and one TYPE line, both before its first sample; samples of a family must
be contiguous; no empty lines; no duplicate label sets; counters must not
be negative. Only counter, gauge and untyped families are accepted (the
module serves no histograms or summaries).
"""
import math
import re

NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = ("counter", "gauge", "untyped")
# Go's strconv.ParseFloat as Prometheus uses it: decimal, exponent, Inf, NaN
FLOAT_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\Z|[+-]?Inf\Z|NaN\Z")


class ParseError(AssertionError):
    pass


class Family:
    def __init__(self, name):
        self.name = name
        self.help = None
        self.type = None
        self.samples = []       # (labels dict, float)

    def value(self, **labels):
        """The value of the one sample with exactly these labels."""
        found = [v for l, v in self.samples if l == labels]
        if len(found) != 1:
            raise KeyError("%s%r: %d samples (have %r)" % (
                self.name, labels, len(found), [l for l, _ in self.samples]))
        return found[0]

    def __repr__(self):
        return "<Family %s %s %d samples>" % (self.name, self.type, len(self.samples))


def _unescape(s, allowed, where):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            if i + 1 >= len(s) or s[i + 1] not in allowed:
                raise ParseError("%s: bad escape in %r" % (where, s))
            out.append({"\\": "\\", "n": "\n", '"': '"'}[s[i + 1]])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _parse_labels(text, where):
    """text is what is between { and }; returns (dict, rest after })."""
    labels = {}
    i = 0
    while True:
        if text[i:i + 1] == "}":
            return labels, text[i + 1:]
        m = re.match(r"([^=\s]*)=\"", text[i:])
        if not m:
            raise ParseError("%s: expected label=\"value\" at %r" % (where, text[i:]))
        lname = m.group(1)
        if not LABEL_NAME_RE.match(lname) or lname.startswith("__"):
            raise ParseError("%s: bad label name %r" % (where, lname))
        if lname in labels:
            raise ParseError("%s: label %r given twice" % (where, lname))
        i += m.end()
        j = i
        while j < len(text) and text[j] != '"':
            j += 2 if text[j] == "\\" else 1
        if j >= len(text):
            raise ParseError("%s: unterminated label value" % where)
        labels[lname] = _unescape(text[i:j], '\\"n', where)
        i = j + 1
        if text[i:i + 1] == ",":
            i += 1
        elif text[i:i + 1] != "}":
            raise ParseError("%s: expected , or } after label %s" % (where, lname))


def _parse_value(s, where):
    if not FLOAT_RE.match(s):
        raise ParseError("%s: %r is not a valid float" % (where, s))
    return float(s.replace("Inf", "inf").replace("NaN", "nan"))


def parse(text):
    if not text.endswith("\n"):
        raise ParseError("exposition must end with a newline")
    families = {}
    order = []          # family names in the order their samples appeared
    current = None
    for n, line in enumerate(text[:-1].split("\n"), 1):
        where = "line %d" % n
        if line == "":
            raise ParseError("%s: empty line" % where)
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 2 and parts[1] in ("HELP", "TYPE"):
                if len(parts) < 3 or not NAME_RE.match(parts[2]):
                    raise ParseError("%s: %s without a valid metric name" % (where, parts[1]))
                fam = families.setdefault(parts[2], Family(parts[2]))
                if fam.samples:
                    raise ParseError("%s: %s for %s after its samples" % (
                        where, parts[1], fam.name))
                rest = parts[3] if len(parts) > 3 else ""
                if parts[1] == "HELP":
                    if fam.help is not None:
                        raise ParseError("%s: second HELP for %s" % (where, fam.name))
                    fam.help = _unescape(rest, "\\n", where)
                else:
                    if fam.type is not None:
                        raise ParseError("%s: second TYPE for %s" % (where, fam.name))
                    if rest not in TYPES:
                        raise ParseError("%s: type %r of %s" % (where, rest, fam.name))
                    fam.type = rest
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{|\s)", line)
        if not m:
            raise ParseError("%s: not a sample: %r" % (where, line))
        name = m.group(1)
        rest = line[m.end(1):]
        labels = {}
        if rest.startswith("{"):
            labels, rest = _parse_labels(rest[1:], where)
        if not rest.startswith(" "):
            raise ParseError("%s: expected a space before the value" % where)
        fields = rest.split()
        if len(fields) not in (1, 2) or rest != " " + " ".join(fields):
            raise ParseError("%s: expected value [timestamp], got %r" % (where, rest))
        value = _parse_value(fields[0], where)
        if len(fields) == 2 and not re.match(r"-?\d+\Z", fields[1]):
            raise ParseError("%s: bad timestamp %r" % (where, fields[1]))
        fam = families.get(name)
        if fam is None or fam.help is None or fam.type is None:
            raise ParseError("%s: sample of %s before its HELP and TYPE" % (where, name))
        if name != current:
            if name in order:
                raise ParseError("%s: samples of %s are not contiguous" % (where, name))
            order.append(name)
            current = name
        if any(l == labels for l, _ in fam.samples):
            raise ParseError("%s: duplicate sample %s%r" % (where, name, labels))
        if fam.type == "counter" and (value < 0 or math.isnan(value)):
            raise ParseError("%s: counter %s is %r" % (where, name, value))
        fam.samples.append((labels, value))
    return families
