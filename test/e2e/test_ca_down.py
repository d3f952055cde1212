"""The CA is unreachable when Apache starts: the module reports it and keeps
retrying on its own, so the MD is staged once the CA is back, without any
restart of Apache.
"""
import re

from mdtest import certs


def test_ca_down_at_start_is_retried_until_certificate_is_staged(apache_factory,
                                                                pebble_factory):
    md = "down.test"
    ca = pebble_factory()
    # down when Apache starts; start() brings it back on the same ports
    ca.stop()
    a = apache_factory(pebble=ca)
    conf = a.config()
    conf.add_md([md])
    conf.add_vhost(md)
    conf.write()
    a.start()
    pid = a.pid
    url, name = re.escape(ca.directory_url), re.escape(md)
    a.wait_for_log(r"\[md:(warn|error)\].*(%s.*%s|%s.*%s)" % (name, url, url, name))
    restarts = a.count_log(r"resuming normal operations")

    ca.start()
    a.wait_staged(md, timeout=180)
    assert a.pid == pid
    # no restart until the certificate was staged (with automatic activation
    # the server restarts by itself once it is: that one does not count)
    staged_at = a.log_text().find(a.log_lines(r"%s.*will be activated on" % name)[0])
    assert a.log_text()[:staged_at].count("resuming normal operations") == restarts, \
        "Apache was restarted while the CA came back"

    # and what was staged is a good certificate from the CA that came back
    a.graceful()
    chain = a.wait_served(md)
    assert md in certs.dns_sans(chain[0])
    ok, out = ca.verify_chain(chain, hostname=md)
    assert ok, out
