"""The CA's Retry-After is honoured: a rateLimited answer makes the next
attempt wait until the time the CA gave (not our own, shorter, retry
delay), and an order still pending is polled no sooner than the CA asks.

Pebble 2.4 sends neither, so the test front (mdtest/acmefront.py) adds
them to pebble's answers.
"""
import json
import os
import re

import pytest

from mdtest.acmefront import AcmeFront


@pytest.fixture
def front(e2e, pebble_factory, request):
    ca = pebble_factory()
    f = AcmeFront(os.path.join(e2e.workdir, "front-" + request.node.name), ca)
    f.ari = False
    f.start()
    try:
        yield f
    finally:
        f.stop()


def _server(apache_factory, front, md):
    a = apache_factory(pebble=front.pebble, ca_url=front.directory_url)
    conf = a.config()
    conf.add("MDRetryDelay 1s", "MDActivationAuto off")
    conf.add_md([md])
    conf.add_vhost(md)
    conf.write()
    return a


def _times(front, method, prefix, status=None):
    # without status: not the requests pebble refused for their nonce (400
    # badNonce, pebble's random rejections), which are sent again at once, as
    # RFC 8555 wants
    return [r.time for r in front.requests() if r.method == method and r.path.startswith(prefix)
            and (r.status == status if status is not None else r.status != 400)]


def test_rate_limited_order_waits_until_the_time_the_ca_gives(apache_factory, front):
    md = "limited.test"
    wait = 6
    front.inject("/order-plz", status=429, problem="rateLimited",
                 detail="too many new orders (test front)", retry_after=wait, times=1,
                 method="POST")
    a = _server(apache_factory, front, md)
    a.start()
    a.wait_staged(md, timeout=90)
    orders = _times(front, "POST", "/order-plz")
    assert len(orders) >= 2, front.requests()
    # MDRetryDelay 1s would have tried again after about a second
    assert orders[1] - orders[0] >= wait - 0.5, orders
    line = a.log_lines(r"MD12003: %s: .*rateLimited" % re.escape(md))
    assert line and "retry after" in line[0], a.log_tail()


def test_pending_order_polled_no_sooner_than_retry_after(apache_factory, front):
    md = "polled.test"
    wait = 2
    seen = {}

    def after(method, path, status, headers, body):
        # the first two looks at an order find it still pending, with
        # Retry-After; pebble itself has it ready within milliseconds
        if method != "POST" or not path.startswith("/my-order/") or status != 200:
            return None
        order = json.loads(body)
        if order.get("status") not in ("pending", "ready"):
            return None
        n = seen.get(path, 0)
        seen[path] = n + 1
        if n >= 2:
            return None
        order["status"] = "pending"
        headers = [(k, v) for k, v in headers if k.lower() != "retry-after"]
        headers.append(("Retry-After", str(wait)))
        return status, headers, json.dumps(order).encode()
    front.after = after
    a = _server(apache_factory, front, md)
    a.start()
    a.wait_staged(md, timeout=90)
    assert seen, front.requests()
    path = sorted(seen)[0]
    # the looks pebble answered: one it refused with badNonce (its
    # default, 5 %) is sent again at once, and that is no new look
    polls = _times(front, "POST", path, status=200)
    assert len(polls) >= 3, polls
    gaps = [b - a_ for a_, b in zip(polls, polls[1:3])]
    # our own first delays are 20 and 40 ms
    assert all(g >= wait - 0.2 for g in gaps), gaps
