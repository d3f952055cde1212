"""The strict Prometheus text-format parser (mdtest/prometheus.py) that the
metrics tests rely on: it must accept a well-formed exposition and refuse
each kind of malformed one, or the metrics tests prove nothing.
"""
import pytest

from mdtest import prometheus

GOOD = (
    "# HELP up Whether it is up.\n"
    "# TYPE up gauge\n"
    "up 1\n"
    "# a comment\n"
    "# HELP req_total Requests.\n"
    "# TYPE req_total counter\n"
    'req_total{ca="https://a/dir",x="q\\"uote\\\\ \\n"} 12\n'
    'req_total{ca="https://b/dir",} 1.5e3 1700000000000\n'
    "# HELP t Temperature.\n"
    "# TYPE t gauge\n"
    "t{a=\"1\"} -Inf\n"
    "t{a=\"2\"} NaN\n"
)


def test_parser_accepts_well_formed_exposition():
    fams = prometheus.parse(GOOD)
    assert fams["up"].type == "gauge" and fams["up"].value() == 1
    assert fams["req_total"].value(ca="https://a/dir", x='q"uote\\ \n') == 12
    assert fams["req_total"].value(ca="https://b/dir") == 1500
    assert fams["t"].value(a="1") == float("-inf")


@pytest.mark.parametrize("bad", [
    "up 1\n",                                                   # no HELP/TYPE
    "# HELP up x\nup 1\n",                                      # no TYPE
    "# TYPE up gauge\n# HELP up x\nup 1",                       # no final newline
    "# HELP up x\n# TYPE up gauge\nup one\n",                   # not a float
    "# HELP up x\n# TYPE up gauge\nup 1\n\n",                   # empty line
    "# HELP up x\n# TYPE up gauge\nup{a=\"1\"} 1\nup{a=\"1\"} 2\n",   # duplicate
    "# HELP up x\n# TYPE up gauge\nup{a=1} 1\n",                # unquoted value
    "# HELP up x\n# TYPE up gauge\nup{a=\"\\x\"} 1\n",          # bad escape
    "# HELP up x\n# TYPE up gauge\nup{1a=\"v\"} 1\n",           # bad label name
    "# HELP up x\n# TYPE up nonsense\nup 1\n",                  # bad type
    "# HELP up x\n# TYPE up gauge\n# TYPE up gauge\nup 1\n",    # TYPE twice
    "# HELP up x\n# TYPE up gauge\nup 1\n# HELP up y\n",        # HELP after samples
    "# HELP c x\n# TYPE c counter\nc -1\n",                     # negative counter
    "# HELP a x\n# TYPE a gauge\n# HELP b x\n# TYPE b gauge\na 1\nb 1\na{x=\"1\"} 1\n",
    "# HELP up x\n# TYPE up gauge\nup  1\n",                    # two spaces
    "# HELP up x\n# TYPE up gauge\nup 1 2 3\n",                 # junk after timestamp
])
def test_parser_refuses_malformed_exposition(bad):
    with pytest.raises(prometheus.ParseError):
        prometheus.parse(bad)
