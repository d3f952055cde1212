"""OCSP stapling in a cluster: the nodes share the responses through the
store, so the responder is asked once per certificate and renewal however
many nodes staple it (the lease "@ocsp/<md>": one node asks, the others
take what it saved). Two nodes, two MDs with MDStapling on, pebble's
certificates name our test responder (mdtest/ocsp_responder.py), which
notes every request. Its responses are valid for a minute, so the nodes
renew them about every 40 s (MDStaplingRenewWindow 33%), all at the same
time: each node computes the same time from the same response.
"""
import types

import pytest

from mdtest import util
from mdtest.cluster import Cluster
from mdtest.ocsp_responder import OcspResponder, served_staple

pytestmark = pytest.mark.ours

MDS = ["o1.ocsp-cl.test", "o2.ocsp-cl.test"]
VALIDITY = 60
ROUNDS = 3


@pytest.fixture(scope="module")
def stapled(e2e, postgres):
    responder = OcspResponder()
    cl = Cluster(e2e, postgres, "ocspcl", nodes=2, lease_time="20s",
                 pebble_config={"ocspResponderURL": responder.url})
    responder.pebble = cl.pebble
    responder.validity = VALIDITY
    responder.start()
    try:
        cl.configure(MDS, extra=["MDPrivateKeys secp256r1", "MDStapling on"])
        cl.start()
        cl.wait_all_served(MDS, timeout=180)
        yield types.SimpleNamespace(cl=cl, responder=responder)
    finally:
        responder.stop()
        cl.close()


def _staple(node, name):
    try:
        return served_staple(node.https_port, name)
    except RuntimeError:
        return None


def test_every_node_staples(stapled):
    for node in stapled.cl.nodes:
        for name in MDS:
            staple = util.wait_for(lambda: _staple(node, name), timeout=90, interval=1,
                                   what="%s staples for %s" % (node.name, name))
            assert staple.status == "good"
            serial = node.get_served_cert(name).serial_number
            assert int(staple.serial, 16) == serial


def test_responder_asked_once_per_renewal(stapled):
    """Until every certificate's response was renewed twice: never two
    requests for one certificate at one time (the other node took the
    response from the store)."""
    cl = stapled.cl
    r = stapled.responder
    serials = {cl.nodes[0].get_served_cert(name).serial_number for name in MDS}
    # every node serves the same certificates
    for node in cl.nodes[1:]:
        assert {node.get_served_cert(name).serial_number for name in MDS} == serials

    def times(serial):
        return sorted(q.time for q in r.requests() if q.serial == serial)
    util.wait_for(lambda: all(len(times(s)) >= ROUNDS for s in serials),
                  timeout=ROUNDS * VALIDITY + 60, interval=1,
                  what="%d OCSP requests per certificate" % ROUNDS)
    for serial in serials:
        t = times(serial)
        gaps = [b - a for a, b in zip(t, t[1:])]
        # a renewal comes 40 s after the last one; two nodes asking at the
        # same time come within a few seconds of each other
        assert min(gaps) > VALIDITY / 4, "serial %x asked at %r" % (serial, t)
    # both nodes still staple, a current response
    for node in cl.nodes:
        for name in MDS:
            assert _staple(node, name).status == "good"
