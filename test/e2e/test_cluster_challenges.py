"""Any node of a cluster answers the CA's challenges, of both kinds: node A
orders every certificate, but the proxies send the CA only to nodes B and
C, which never ordered anything (MDRenewMode manual on them). They answer
http-01 (plain http) and tls-alpn-01 (the acme-tls/1 handshake) from the
challenge data in the database.
"""
import re
import types

import pytest

from mdtest import certs
from mdtest.cluster import Cluster

pytestmark = pytest.mark.ours

HTTP01 = ["h1.chal.test", "h2.chal.test"]
ALPN = ["t1.chal.test", "t2.chal.test"]
ALL = HTTP01 + ALPN
ANSWER_HTTP_RE = r"MD11021: answering http-01 challenge for %s"


@pytest.fixture(scope="module")
def challenges(e2e, postgres):
    cl = Cluster(e2e, postgres, "chal", nodes=3, lease_time="20s")
    a, b, c = cl.nodes
    try:
        for node in cl.nodes:
            conf = cl.node_config(node, [], extra=["MDPrivateKeys secp256r1"])
            mode = [] if node is a else ["MDRenewMode manual"]
            for name in HTTP01:
                conf.add_md([name], ["MDCAChallenges http-01"] + mode)
                conf.add_vhost(name)
            for name in ALPN:
                conf.add_md([name], ["MDCAChallenges tls-alpn-01"] + mode)
                conf.add_vhost(name, lines=["Protocols http/1.1 acme-tls/1"])
            conf.write()
        cl.route([b, c])
        cl.start([b, c])
        cl.start([a])
        # B and C serve too, after restarting by themselves
        cl.wait_all_served(ALL, timeout=180)
        yield types.SimpleNamespace(cl=cl, a=a, b=b, c=c)
    finally:
        cl.close()


def test_orderer_was_not_asked(challenges):
    cl = challenges.cl
    a = challenges.a
    for name in ALL:
        assert re.search(r"MD24907: %s: this server \(%s\)" % (re.escape(name),
                                                               re.escape(a.node_name)),
                         a.log_text()), name
    for node in (challenges.b, challenges.c):
        assert node.count_log(r"MD24907") == 0
    counts = cl.http_proxy.counts()
    assert ("127.0.0.1", a.http_port) not in counts
    assert cl.pebble.count_orders_created() == len(ALL)


def test_others_answered_http01(challenges):
    b, c = challenges.b, challenges.c
    for name in HTTP01:
        n = b.count_log(ANSWER_HTTP_RE % re.escape(name)) + \
            c.count_log(ANSWER_HTTP_RE % re.escape(name))
        assert n >= 1, name


def test_others_answered_tls_alpn01(challenges):
    cl = challenges.cl
    counts = cl.https_proxy.counts()
    # the CA's handshakes went to B and C only
    assert counts and set(counts) <= {("127.0.0.1", challenges.b.https_port),
                                      ("127.0.0.1", challenges.c.https_port)}, counts
    for name in ALPN:
        n = sum(node.count_log(r"MD16504: %s: answering the tls-alpn-01" % re.escape(name))
                for node in (challenges.b, challenges.c))
        assert n >= 1, name
        chain = challenges.b.get_served_chain(name)
        assert certs.dns_sans(chain[0]) == [name]
    assert cl.pebble.count_requests("/chalZ/") >= len(ALL)
