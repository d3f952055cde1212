"""An automatic restart while another MD's order is still in progress: the
old child finishes that order, and the new generation's child does not
drive the same MD at the same time (it waits for the old one, MD12007);
the order is placed once, staged by the old child, and the new child does
not start it again.

Also here: MDActivationDelay holds a new certificate back, from the
automatic restart and from one made by hand.

fast.test gets its certificate from pebble at once; slow.test talks to the
same pebble through a front that holds its order's finalize for a while,
so the restart for fast.test comes while slow.test is in the middle.
"""
import datetime
import os
import re
import threading

import pytest

from mdtest import certs
from mdtest.acmefront import AcmeFront

pytestmark = pytest.mark.long

FAST = "fast.test"
SLOW = "slow.test"
HOLD = 20     # seconds the front holds slow.test's finalize


def test_restart_during_an_order_does_not_drive_it_twice(e2e, apache_factory, pebble_factory):
    ca = pebble_factory()
    front = AcmeFront(os.path.join(e2e.workdir, "front-generations"), ca)
    front.ari = False
    front.start()
    held = threading.Event()
    release = threading.Event()

    def before(method, path, payload):
        if method == "POST" and path.startswith("/finalize-order/"):
            held.set()
            release.wait(HOLD)
    front.before = before
    try:
        a = apache_factory(pebble=ca)
        conf = a.config()
        conf.add_md([FAST])
        conf.add_md([SLOW], ["MDCertificateAuthority %s" % front.directory_url])
        conf.add_vhost(FAST)
        conf.add_vhost(SLOW)
        conf.write()
        a.start()
        a.wait_served(FAST, timeout=90)
        # the restart for fast.test came while slow.test's finalize was held
        assert held.is_set() and not a.log_lines(r"MD12002: %s" % re.escape(SLOW))
        a.wait_for_log(r"MD12007: a child of the previous generation is still renewing")
        mark = a.log_mark()
        release.set()
        # the old child finishes the order and only then lets go of the lock
        a.wait_staged(SLOW, timeout=60)
        a.wait_for_log(r"MD12014: renewals stopped", since=mark)
        a.wait_for_log(r"MD12013: this child renews now", since=mark)
        a.wait_for_log(r"MD12012: checked 2 MDs", since=a.log_text().rfind("MD12013"))
        # one order, one attempt: the new child did not start slow.test again
        # (a newOrder pebble refused with badNonce, at its default 5 %, and
        # the module sent again created no order: only accepted ones count)
        created = [r for r in front.requests()
                   if r.method == "POST" and r.path == "/order-plz" and r.status == 201]
        assert len(created) == 1, front.requests()
        assert len(a.log_lines(r"MD12001: %s" % re.escape(SLOW))) == 1
    finally:
        release.set()
        front.stop()


def test_activation_delay_holds_a_new_certificate_back(apache_factory):
    md = "delayed.test"
    delay = 12
    a = apache_factory()
    conf = a.config()
    conf.add("MDActivationDelay %ds" % delay)
    conf.add_md([md])
    conf.add_vhost(md)
    conf.write()
    a.start()
    a.wait_staged(md)
    # a restart by hand before the delay is over does not activate it either
    a.graceful()
    assert certs.is_self_signed(a.get_served_cert(md))
    assert not a.log_lines(r"MD07003: %s: activated" % re.escape(md))
    a.wait_for_log(r"MD13002: %s: the staged certificate goes live at" % re.escape(md))
    chain = a.wait_served(md, timeout=90)
    restart = a.log_lines(r"MD13001: .*%s" % re.escape(md))
    assert restart, a.log_tail()
    # not before the certificate had been valid for the delay (whole seconds)
    t = datetime.datetime.strptime(re.match(r"^\[([^\]]+)\]", restart[0]).group(1),
                                   "%a %b %d %H:%M:%S.%f %Y").timestamp()
    assert t >= certs.not_before(chain[0]).timestamp() + delay - 1
