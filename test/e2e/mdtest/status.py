"""Helpers for the status tests: the status handlers in a config, requests
with any method, JSON fetching and comparing JSON documents by their keys.

    status.add_handlers(conf)                     # /md-status, /md-metrics, /server-status
    j = status.get_json(a, "/md-status/a.test")   # via http, Host: localhost
    r = status.request(a, "POST", "a.test", "/x", https=True)   # r.header_list too
    status.key_paths(j)                           # {"/name", "/ca/urls", ...}
"""
import http.client
import json
import socket
import ssl

from .apache import HttpResponse

STATUS_HOST = "localhost"


def add_handlers(conf, server_status=True, metrics=True):
    """The handlers on a plain-http vhost for STATUS_HOST (the first http
    vhost, so also the default one for unknown names)."""
    conf.add("<VirtualHost *:%d>" % conf.apache.http_port,
             "    ServerName %s" % STATUS_HOST,
             "    <Location /md-status>",
             "        SetHandler md-status",
             "    </Location>")
    if metrics:
        conf.add("    <Location /md-metrics>",
                 "        SetHandler md-metrics",
                 "    </Location>")
    if server_status:
        conf.add("    <Location /server-status>",
                 "        SetHandler server-status",
                 "    </Location>")
    conf.add("</VirtualHost>")
    return conf


def request(apache, method, host, path, https=False, body=None, headers=None, timeout=15):
    """One request to 127.0.0.1 with Host (and SNI) = host; no redirects
    followed, no certificate checked."""
    hdrs = {"Host": host, "Connection": "close"}
    hdrs.update(headers or {})
    if https:
        ctx = ssl._create_unverified_context()
        conn = http.client.HTTPSConnection("127.0.0.1", apache.https_port, timeout=timeout,
                                           context=ctx)
        sock = socket.create_connection(("127.0.0.1", apache.https_port), timeout)
        conn.sock = ctx.wrap_socket(sock, server_hostname=host)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", apache.http_port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        resp = HttpResponse(r.status, dict(r.getheaders()), r.read())
        resp.header_list = r.getheaders()     # repeated headers stay repeated
        return resp
    finally:
        conn.close()


def get(apache, path, host=STATUS_HOST, https=False):
    return request(apache, "GET", host, path, https=https)


def get_json(apache, path, host=STATUS_HOST, https=False):
    r = get(apache, path, host=host, https=https)
    assert r.status == 200, "GET %s -> %d\n%s" % (path, r.status, r.text[:500])
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    return json.loads(r.text)


def md_status(apache, name=None):
    return get_json(apache, "/md-status" + ("/" + name if name else ""))


def serial_hex(cert):
    """A certificate's serial as status shows it: upper-case hex of whole
    bytes (OpenSSL's BN_bn2hex, as the stock module), so "0A..." keeps its
    leading zero."""
    h = "%X" % cert.serial_number
    return h if len(h) % 2 == 0 else "0" + h


def key_paths(doc, prefix="", skip=("log",)):
    """The set of key paths in a JSON document: "/a/b" for objects, "[]"
    for array elements (all elements merged). Members named in skip are
    listed but not descended into."""
    paths = set()
    if isinstance(doc, dict):
        for key, value in doc.items():
            path = "%s/%s" % (prefix, key)
            paths.add(path)
            if key not in skip:
                paths |= key_paths(value, path, skip)
    elif isinstance(doc, list):
        for value in doc:
            paths |= key_paths(value, prefix + "[]", skip)
    return paths
