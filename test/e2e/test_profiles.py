"""ACME profiles (MDProfile, MDProfileMandatory): the newOrder carries the
profile only when the CA's directory offers it; a profile the CA does not
offer is left out, unless it is mandatory, which is a clear error.

Pebble 2.4 has no profiles: the test front (mdtest.acmefront) adds
meta.profiles to its directory.
"""
import os
import re
import types

import pytest

from mdtest import acmefront

OFFERED = "prof-offered.test"
MISSING = "prof-missing.test"
MANDATORY = "prof-mandatory.test"
NONE = "prof-none.test"


def _orders_for(front, name):
    return [o for o in front.new_orders()
            if any(i.get("value") == name for i in o.get("identifiers", []))]


@pytest.fixture(scope="module")
def profiled(e2e):
    front = acmefront.AcmeFront(os.path.join(e2e.workdir, "front-profiles"), e2e.pebble)
    front.profiles = {"classic": "the usual", "shortlived": "a few days"}
    front.start()
    a = e2e.new_apache(name="profiled", ca_url=front.directory_url)
    conf = a.config()
    conf.add("MDProfile shortlived")
    conf.add_md([OFFERED])
    conf.add_md([MISSING], ["MDProfile nosuch"])
    conf.add_md([MANDATORY], ["MDProfile nosuch", "MDProfileMandatory on"])
    conf.add_md([NONE], ["MDProfile none"])
    for name in (OFFERED, MISSING, MANDATORY, NONE):
        conf.add_vhost(name)
    conf.write()
    try:
        a.start()
        a.wait_staged(OFFERED)
        a.wait_staged(MISSING)
        a.wait_staged(NONE)
        a.wait_for_log(r"%s.*nosuch" % re.escape(MANDATORY))
        yield types.SimpleNamespace(apache=a, front=front)
    finally:
        a.stop()
        front.stop()


def test_profile_offered_is_ordered(profiled):
    orders = _orders_for(profiled.front, OFFERED)
    assert orders and all(o.get("profile") == "shortlived" for o in orders), orders


def test_profile_not_offered_orders_without(profiled):
    orders = _orders_for(profiled.front, MISSING)
    assert orders and all("profile" not in o for o in orders), orders
    assert profiled.apache.count_log(r"%s.*does not offer the profile 'nosuch'"
                                     % re.escape(MISSING)) >= 1


def test_profile_mandatory_not_offered_is_an_error(profiled):
    a = profiled.apache
    assert _orders_for(profiled.front, MANDATORY) == []
    assert not os.path.exists(a.staged_pubcert(MANDATORY))
    lines = a.log_lines(r"%s.*does not offer the profile 'nosuch'.*MDProfileMandatory"
                        % re.escape(MANDATORY))
    assert lines and "classic, shortlived" in lines[0], lines


def test_profile_none_overrides_global(profiled):
    orders = _orders_for(profiled.front, NONE)
    assert orders and all("profile" not in o for o in orders), orders
