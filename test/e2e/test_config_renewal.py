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


def test_huge_durations_are_clamped_not_overflowed(apache):
    """Issue 11, finding 7: durations the stock module accepts up to
    INT64_MAX overflowed `valid_from + delay` (immediate activation) and
    `now + interval` (a watchdog spinning every 200 ms). They are taken as
    3650 days now, with a warning."""
    md = "huge.test"
    conf = _config(apache, "MDActivationDelay 9223372036854775807",
                   "MDCheckInterval 106751991d")
    conf.add_vhost(md)
    conf.add_md([md])
    conf.write()
    rc, out = apache.config_test()
    assert rc == 0, out
    assert re.search(r"MDActivationDelay \"9223372036854775807\": longer than 3650d", out), out
    assert re.search(r"MDCheckInterval \"106751991d\": longer than 3650d", out), out
    apache.start()
    apache.wait_staged(md)
    # the watchdog sleeps for years, not for 200 ms
    line = apache.wait_for_log(r"MD12012: checked \d+ MDs .*next check in (\d+) days")
    days = [int(d) for d in re.findall(r"next check in (\d+) days",
                                       "\n".join(apache.log_lines(r"MD12012")))]
    assert days and min(days) >= 3000, line
    # held back for 3650 days, also over a restart by hand
    apache.graceful()
    when = apache.wait_for_log(r"MD13002: %s: the staged certificate goes live at .* 20[3-9]\d "
                               % re.escape(md))
    assert not apache.log_lines(r"MD07003: %s: activated" % re.escape(md)), when
