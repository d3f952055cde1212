"""The renewal and activation directives: good values pass `apache2 -t`,
bad ones are refused naming the directive, the value and the line; they
are server-wide, so not allowed inside an MD section.
"""
import re

import pytest

GOOD = [
    "MDActivationAuto off", "MDActivationDelay 1h", "MDParallelRenewals 4",
    "MDCheckInterval 30mi", "MDInitialDelay 10s", "MDRetryDelay 500ms",
    "MDRetryFailover 3",
]

BAD_VALUES = [
    # (line, directive, bad value)
    ("MDActivationAuto maybe", "MDActivationAuto", "maybe"),
    ("MDActivationDelay soon", "MDActivationDelay", "soon"),
    ("MDParallelRenewals 0", "MDParallelRenewals", "0"),
    ("MDParallelRenewals 1000", "MDParallelRenewals", "1000"),
    ("MDParallelRenewals 4x", "MDParallelRenewals", "4x"),
    ("MDCheckInterval 500ms", "MDCheckInterval", "500ms"),
    ("MDInitialDelay -1", "MDInitialDelay", "-1"),
    ("MDRetryDelay 0", "MDRetryDelay", "0"),
    ("MDRetryFailover 0", "MDRetryFailover", "0"),
    ("MDRetryFailover many", "MDRetryFailover", "many"),
]


def _config(apache, *lines, md_lines=None):
    conf = apache.config()
    conf.add(*lines)
    conf.add_md(["good.test"], md_lines)
    conf.add_vhost("good.test")
    conf.write()
    return conf


def test_renewal_directives_pass_config_test(apache):
    _config(apache, *GOOD)
    rc, out = apache.config_test()
    assert rc == 0, out


@pytest.mark.ours
@pytest.mark.parametrize("line,directive,value", BAD_VALUES,
                         ids=[b[0].replace(" ", "_") for b in BAD_VALUES])
def test_bad_config_renewal_directive_refused(apache, line, directive, value):
    _config(apache)
    rc, out = apache.config_test()
    assert rc == 0, "the base config alone fails apache2 -t:\n" + out
    conf = _config(apache, line)
    rc, out = apache.config_test()
    assert rc != 0, "config with %r was accepted:\n%s" % (line, out)
    assert directive in out and value in out, out
    assert re.search(r"(?<!\d)%d(?!\d)" % conf.line_of(line), out), out


@pytest.mark.ours
def test_bad_config_renewal_directive_inside_md_section(apache):
    _config(apache, md_lines=["MDParallelRenewals 2"])
    rc, out = apache.config_test()
    assert rc != 0, out
    assert "MDParallelRenewals" in out and "good.test" in out, out
