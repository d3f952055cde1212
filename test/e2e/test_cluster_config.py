"""The directives of a shared store: `apache2 -t` refuses what cannot work
and names the directive; the connection string (which may hold a password)
is never quoted back; `MDStoreBackend file` is the file store as without
the directive. The stock module has no such directives (it refuses them as
unknown), so these check our module only.
"""
import os

import pytest

pytestmark = pytest.mark.ours

SECRET = "s3cr3t-pw"

BAD = [
    # (line, what the message says)
    ('MDStoreBackend postgresql "host=\'unterminated password=%s"' % SECRET,
     "MDStoreBackend: not a libpq connection string"),
    ("MDStoreBackend postgresql", "MDStoreBackend: needs a libpq connection string"),
    ('MDStoreBackend etcd "http://127.0.0.1:2379"', 'MDStoreBackend: "etcd" is not one of file, postgresql'),
    ('MDStoreBackend file "dbname=x"', "the file backend takes no arguments"),
    ("MDStorePollInterval 0", "MDStorePollInterval: \"0\" is too short"),
    ("MDStoreLeaseTime soon", "MDStoreLeaseTime: \"soon\" is not a duration"),
]


def _config(apache, *lines):
    conf = apache.config()
    conf.add_md(["good.test"])
    conf.add_vhost("good.test")
    conf.add(*lines)
    conf.write()
    return conf


@pytest.mark.parametrize("line,message", BAD)
def test_bad_store_backend_refused(apache, line, message):
    _config(apache, line)
    rc, out = apache.config_test()
    assert rc != 0, out
    assert message in out, out
    assert SECRET not in out


def test_good_store_backend_passes(apache):
    _config(apache, 'MDStoreBackend postgresql "host=db.test dbname=md user=md '
                    'passfile=/etc/apache2/md.pgpass application_name=web1"',
            "MDStorePollInterval 15s", "MDStoreLeaseTime 2mi")
    rc, out = apache.config_test()
    assert rc == 0, out


def test_file_backend_is_the_file_store(apache):
    _config(apache, "MDStoreBackend file")
    apache.start()
    # the usual layout, no database
    assert os.path.isfile(apache.store_json)
    assert os.path.isdir(os.path.join(apache.store, "staging"))
    assert apache.count_log(r"MD24038") == 0
