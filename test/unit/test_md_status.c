/* Unit tests of md_status.c (status JSON built from the store, the start-up
 * assessment and job.json) and md_static.c (MDs with certificate files).
 *
 * Each test works on a fresh file-system store in a temp dir; certificates
 * are self-signed with md_cert_self_sign, job.json files are written by us
 * in the stock module's format. */
#include "unit.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "md.h"
#include "md_crypt.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_reg.h"
#include "md_static.h"
#include "md_status.h"
#include "md_store.h"
#include "md_time.h"
#include "md_util.h"
#include "md_version.h"
#include "fixtures/fx.h"

#define DAY     apr_time_from_sec(MD_SECS_PER_DAY)

/* --- fixtures ------------------------------------------------------------ */

static md_store_t *new_store(apr_pool_t *p)
{
    return fx_store_make("test_md_status", NULL, p);
}

static md_t *new_md(apr_pool_t *p, const char *name, const char *alias)
{
    md_t *md = md_create_empty(p);

    md->name = name;
    APR_ARRAY_PUSH(md->domains, const char *) = name;
    if (alias) {
        APR_ARRAY_PUSH(md->domains, const char *) = alias;
    }
    APR_ARRAY_PUSH(md->contacts, const char *) = "mailto:admin@example.org";
    APR_ARRAY_PUSH(md->ca_urls, const char *) = "https://ca.test/dir";
    md->ca_agreement = "accepted";
    return md;
}

static apr_array_header_t *chain_for(const md_t *md, md_pkey_t *pkey, apr_interval_time_t life,
                                     apr_pool_t *p)
{
    apr_array_header_t *chain = apr_array_make(p, 1, sizeof(md_cert_t *));
    md_cert_t *cert;

    assert_int_equal(md_cert_self_sign(&cert, md->name, md->domains, pkey, life, p),
                     APR_SUCCESS);
    APR_ARRAY_PUSH(chain, md_cert_t *) = cert;
    return chain;
}

/* Put a certificate+key for md's (default RSA) spec into group. The key is
 * EC: the store does not care and it is fast. */
static const md_cert_t *put_cred(md_store_t *store, md_store_group_t group, const md_t *md,
                                 apr_interval_time_t life, apr_pool_t *p)
{
    const md_pkey_spec_t *spec = MD_ARR_IDX(md_pkey_specs(md, p), 0, const md_pkey_spec_t *);
    md_pkey_t *pkey = fx_key_ec(p);
    apr_array_header_t *chain = chain_for(md, pkey, life, p);

    assert_int_equal(md_store_save_pkey(store, group, md->name, md_reg_pkey_fname(spec, p),
                                        pkey, p), APR_SUCCESS);
    assert_int_equal(md_store_save_certs(store, group, md->name, md_reg_cert_fname(spec, p),
                                         chain, p), APR_SUCCESS);
    return MD_ARR_IDX(chain, 0, const md_cert_t *);
}

static void put_job(md_store_t *store, md_store_group_t group, const char *mdname,
                    const char *text, apr_pool_t *p)
{
    json_t *j = NULL;

    assert_int_equal(md_json_parse(&j, text, strlen(text), "test", NULL, p), APR_SUCCESS);
    assert_int_equal(md_store_save_json(store, group, mdname, MD_FN_JOB, j, p), APR_SUCCESS);
}

static md_status_snap_t *snap_of(md_store_t *store, md_t *md, apr_time_t now, apr_pool_t *p)
{
    md_reg_state_t *st = apr_pcalloc(p, sizeof(*st));

    if (md_static_is(md)) {
        md_static_assess(st, store, md, now, p);
    }
    else {
        md_reg_assess(st, store, md, now, p);
    }
    md->state = st->state;
    md->state_descr = st->state_descr;
    st->watched = strcmp(md->name, "unused.test") != 0;
    return md_status_snap_make(store, st, p);
}

static const char *str_at(const json_t *j, const char *path, apr_pool_t *p)
{
    char *copy = apr_pstrdup(p, path);
    char *last = NULL;
    char *key;
    const json_t *v = j;

    for (key = apr_strtok(copy, ".", &last); key && v; key = apr_strtok(NULL, ".", &last)) {
        v = json_object_get(v, key);
    }
    return v ? json_string_value(v) : NULL;
}

static const char *dump(const json_t *j, apr_pool_t *p)
{
    return md_json_dump(j, 0, p);
}

static const char JOB_FAILED[] =
    "{\"name\": \"a.test\", \"finished\": false, \"errors\": 2,"
    " \"last-run\": \"Sun, 29 Nov 2026 10:00:00 GMT\","
    " \"next-run\": \"Sun, 29 Nov 2026 10:00:20 GMT\","
    " \"last\": {\"status\": 22, \"problem\": \"urn:ietf:params:acme:error:rejectedIdentifier\","
    "   \"detail\": \"no <b>way</b>\", \"activity\": \"Creating new order\"},"
    " \"log\": {\"entries\": [{\"when\": \"Sun, 29 Nov 2026 10:00:00 GMT\","
    "   \"type\": \"errored\", \"detail\": \"no way\"}]}}";

static const char JOB_FINISHED[] =
    "{\"name\": \"a.test\", \"finished\": true, \"errors\": 0,"
    " \"last-run\": \"Sun, 29 Nov 2026 11:00:00 GMT\", \"last\": {\"status\": 0},"
    " \"valid-from\": \"Sun, 29 Nov 2026 10:59:00 GMT\","
    " \"log\": {\"entries\": []}}";

/* --- md-status ----------------------------------------------------------- */

static void test_md_without_certificate(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *store = new_store(p);
    md_t *md = new_md(p, "a.test", "www.a.test");
    apr_time_t now = apr_time_now();
    json_t *j = md_status_md_load(store, snap_of(store, md, now, p), 1, now, p);

    /* the md.json members, in the stock module's names */
    assert_string_equal(str_at(j, "name", p), "a.test");
    assert_int_equal(json_array_size(json_object_get(j, "domains")), 2);
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "ca"), "urls")), 1);
    assert_string_equal(str_at(j, "ca.agreement", p), "accepted");
    assert_int_equal(json_integer_value(json_object_get(j, "state")), MD_S_INCOMPLETE);
    assert_non_null(str_at(j, "state-descr", p));
    assert_string_equal(str_at(j, "renew-window", p), "33%");
    /* status additions */
    assert_int_equal(json_object_size(json_object_get(j, "cert")), 0);
    assert_true(json_is_true(json_object_get(j, "renew")));
    assert_true(json_is_true(json_object_get(j, "watched")));
    assert_string_equal(str_at(j, "renew-at", p), md_time_format_http(now, p));
    assert_null(json_object_get(j, "renewal"));

    /* an MD no virtual host uses is not watched, as with the stock module */
    md = new_md(p, "unused.test", NULL);
    j = md_status_md_load(store, snap_of(store, md, now, p), 1, now, p);
    assert_true(json_is_false(json_object_get(j, "watched")));
    assert_true(json_is_true(json_object_get(j, "renew")));
}


static void test_md_with_live_certificate(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *store = new_store(p);
    md_t *md = new_md(p, "a.test", NULL);
    apr_time_t now = apr_time_now();
    const md_cert_t *leaf = put_cred(store, MD_SG_DOMAINS, md, 90 * DAY, p);
    md_status_snap_t *snap = snap_of(store, md, now, p);
    json_t *j = md_status_md_load(store, snap, 1, now, p);

    assert_int_equal(json_integer_value(json_object_get(j, "state")), MD_S_COMPLETE);
    assert_null(json_object_get(j, "state-descr"));
    assert_string_equal(str_at(j, "cert.rsa.serial", p), md_cert_serial_hex(leaf, p));
    assert_string_equal(str_at(j, "cert.rsa.sha256-fingerprint", p),
                        md_cert_sha256_fingerprint(leaf, p));
    assert_string_equal(str_at(j, "cert.rsa.issuer-name", p), "/CN=a.test");
    assert_string_equal(str_at(j, "cert.rsa.valid.until", p),
                        md_time_format_http(md_cert_valid_until(leaf), p));
    assert_string_equal(str_at(j, "cert.valid.from", p),
                        md_time_format_http(md_cert_valid_from(leaf), p));
    /* renewal is due at 2/3 of the lifetime: not now */
    assert_string_equal(str_at(j, "renew-at", p),
                        md_time_format_http(snap->state->renew_at, p));
    assert_true(snap->state->renew_at > now);
    assert_null(json_object_get(j, "renew"));
    assert_null(json_object_get(j, "renewal"));
    /* no key material anywhere */
    assert_null(strstr(dump(j, p), "PRIVATE"));
}

static void test_md_renew_when_in_window(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *store = new_store(p);
    md_t *md = new_md(p, "a.test", NULL);
    apr_time_t now = apr_time_now();

    put_cred(store, MD_SG_DOMAINS, md, 90 * DAY, p);
    /* 80 days later the 33% window (last 30 days) has started */
    assert_true(json_is_true(json_object_get(
        md_status_md_load(store, snap_of(store, md, now, p), 0, now + 80 * DAY, p), "renew")));
}

static void test_renewal_failed(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *store = new_store(p);
    md_t *md = new_md(p, "a.test", NULL);
    apr_time_t now = apr_time_now();
    md_status_snap_t *snap = snap_of(store, md, now, p);
    json_t *one;
    json_t *list;
    json_t *r;

    put_job(store, MD_SG_STAGING, md->name, JOB_FAILED, p);
    one = md_status_md_load(store, snap, 1, now, p);
    r = json_object_get(one, "renewal");
    assert_non_null(r);
    assert_false(json_is_true(json_object_get(r, "finished")));
    assert_int_equal(json_integer_value(json_object_get(r, "errors")), 2);
    assert_string_equal(str_at(r, "last.problem", p),
                        "urn:ietf:params:acme:error:rejectedIdentifier");
    assert_string_equal(str_at(r, "last.detail", p), "no <b>way</b>");
    assert_string_equal(str_at(r, "last.activity", p), "Creating new order");
    assert_non_null(str_at(r, "last.status-description", p));
    assert_string_equal(str_at(r, "next-run", p), "Sun, 29 Nov 2026 10:00:20 GMT");
    assert_int_equal(json_array_size(json_object_get(json_object_get(r, "log"), "entries")), 1);
    assert_int_equal(json_object_size(json_object_get(r, "cert")), 0);

    /* the list of all MDs leaves the logs out */
    list = json_object_get(md_status_all_json(store, NULL, now, p), "managed-domains");
    assert_int_equal(json_array_size(list), 0);
    {
        apr_array_header_t *snaps = apr_array_make(p, 1, sizeof(md_status_snap_t *));
        json_t *all;

        APR_ARRAY_PUSH(snaps, md_status_snap_t *) = snap;
        all = md_status_all_json(store, snaps, now, p);
        assert_string_equal(str_at(all, "version", p), MD_VERSION);
        list = json_object_get(all, "managed-domains");
        assert_int_equal(json_array_size(list), 1);
        r = json_object_get(json_array_get(list, 0), "renewal");
        assert_int_equal(json_integer_value(json_object_get(r, "errors")), 2);
        assert_null(json_object_get(r, "log"));
    }
}

/* An MD whose configuration cannot work shows why as renewal.last, also
 * over a job an older configuration left. */
static void test_config_problem_as_renewal(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *store = new_store(p);
    md_t *md = new_md(p, "a.test", NULL);
    apr_time_t now = apr_time_now();
    json_t *r;

    md->config_problem = "MDomain \"a!.test\" (httpd.conf:3): not a valid domain name";
    md->config_problem_type = "urn:ietf:params:acme:error:rejectedIdentifier";
    r = json_object_get(md_status_md_load(store, snap_of(store, md, now, p), 1, now, p),
                        "renewal");
    assert_non_null(r);
    assert_string_equal(str_at(r, "name", p), "a.test");
    assert_false(json_is_true(json_object_get(r, "finished")));
    assert_string_equal(str_at(r, "last.problem", p),
                        "urn:ietf:params:acme:error:rejectedIdentifier");
    assert_string_equal(str_at(r, "last.detail", p), md->config_problem);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "last"), "status")),
                     APR_EINVAL);

    put_job(store, MD_SG_STAGING, md->name, JOB_FAILED, p);
    md->config_problem_type = NULL;
    r = json_object_get(md_status_md_load(store, snap_of(store, md, now, p), 1, now, p),
                        "renewal");
    assert_string_equal(str_at(r, "last.problem", p), "config-problem");
    assert_string_equal(str_at(r, "last.detail", p), md->config_problem);
    /* what the job knows stays */
    assert_int_equal(json_integer_value(json_object_get(r, "errors")), 2);
}

static void test_renewal_staged(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *store = new_store(p);
    md_t *md = new_md(p, "a.test", NULL);
    apr_time_t now = apr_time_now();
    const md_cert_t *live = put_cred(store, MD_SG_DOMAINS, md, 90 * DAY, p);
    md_status_snap_t *snap = snap_of(store, md, now, p);
    const md_cert_t *staged = put_cred(store, MD_SG_STAGING, md, 90 * DAY, p);
    json_t *j;
    json_t *cs;

    put_job(store, MD_SG_STAGING, md->name, JOB_FINISHED, p);
    j = md_status_md_load(store, snap, 0, now, p);
    assert_true(json_is_true(json_object_get(json_object_get(j, "renewal"), "finished")));
    assert_string_equal(str_at(j, "renewal.cert.rsa.serial", p), md_cert_serial_hex(staged, p));
    assert_string_equal(str_at(j, "cert.rsa.serial", p), md_cert_serial_hex(live, p));
    assert_null(str_at(j, "renewal.last.status-description", p));
    assert_string_equal(str_at(j, "renewal.last.valid-from", p),
                        "Sun, 29 Nov 2026 10:59:00 GMT");

    /* certificate-status: the live one brief, the staged one under renewal */
    cs = md_status_cert_status_json(j, p);
    assert_string_equal(str_at(cs, "rsa.serial", p), md_cert_serial_hex(live, p));
    assert_non_null(str_at(cs, "rsa.sha256-fingerprint", p));
    assert_non_null(str_at(cs, "valid.until", p));
    assert_null(str_at(cs, "rsa.issuer-name", p));
    assert_string_equal(str_at(cs, "renewal.cert.rsa.serial", p),
                        md_cert_serial_hex(staged, p));
    assert_null(json_object_get(cs, "scts"));
}

static void test_cert_status_without_live_certificate(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *store = new_store(p);
    md_t *md = new_md(p, "a.test", NULL);
    apr_time_t now = apr_time_now();
    md_pkey_spec_t *rsa = apr_pcalloc(p, sizeof(*rsa));
    md_pkey_spec_t *ec = apr_pcalloc(p, sizeof(*ec));
    json_t *cs;

    rsa->type = MD_PKEY_TYPE_RSA;
    rsa->bits = 2048;
    ec->type = MD_PKEY_TYPE_EC;
    ec->curve = "P-256";
    md->pkey_specs = apr_array_make(p, 2, sizeof(md_pkey_spec_t *));
    APR_ARRAY_PUSH(md->pkey_specs, md_pkey_spec_t *) = rsa;
    APR_ARRAY_PUSH(md->pkey_specs, md_pkey_spec_t *) = ec;
    cs = md_status_cert_status_json(md_status_md_load(store, snap_of(store, md, now, p), 0,
                                                      now, p), p);
    /* as the stock module: an empty object per key type, nothing else */
    assert_int_equal(json_object_size(cs), 2);
    assert_int_equal(json_object_size(json_object_get(cs, "rsa")), 0);
    assert_int_equal(json_object_size(json_object_get(cs, "secp256r1")), 0);
}

static void test_counts(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *store = new_store(p);
    md_t *ok = new_md(p, "ok.test", NULL);
    md_t *failing = new_md(p, "failing.test", NULL);
    md_t *ready = new_md(p, "ready.test", NULL);
    apr_time_t now = apr_time_now();
    md_status_counts_t c;

    memset(&c, 0, sizeof(c));
    put_cred(store, MD_SG_DOMAINS, ok, 90 * DAY, p);
    put_job(store, MD_SG_STAGING, failing->name, JOB_FAILED, p);
    put_job(store, MD_SG_STAGING, ready->name, JOB_FINISHED, p);
    md_status_count(&c, md_status_md_load(store, snap_of(store, ok, now, p), 0, now, p));
    md_status_count(&c, md_status_md_load(store, snap_of(store, failing, now, p), 0, now, p));
    md_status_count(&c, md_status_md_load(store, snap_of(store, ready, now, p), 0, now, p));
    assert_int_equal(c.total, 3);
    assert_int_equal(c.ok, 1);
    assert_int_equal(c.renew, 2);
    assert_int_equal(c.errored, 1);
    assert_int_equal(c.ready, 1);
}

static void test_metrics_numbers(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *store = new_store(p);
    md_t *md = new_md(p, "a.test", NULL);
    apr_time_t now = apr_time_now();
    const md_cert_t *leaf = put_cred(store, MD_SG_DOMAINS, md, 90 * DAY, p);
    md_status_snap_t *snap;
    json_t *m;
    json_t *c;

    /* the activated job moved into domains/ tells when the last success was */
    put_job(store, MD_SG_DOMAINS, md->name, JOB_FINISHED, p);
    snap = snap_of(store, md, now, p);
    assert_true(snap->last_success == md_time_parse_http("Sun, 29 Nov 2026 11:00:00 GMT"));
    m = md_status_metrics_json(snap, md_status_md_load(store, snap, 0, now, p), p);
    assert_string_equal(str_at(m, "name", p), "a.test");
    assert_int_equal(json_integer_value(json_object_get(m, "state")), MD_S_COMPLETE);
    assert_int_equal(json_integer_value(json_object_get(m, "renew")), 0);
    assert_int_equal(json_integer_value(json_object_get(m, "errors")), 0);
    assert_int_equal(json_integer_value(json_object_get(m, "ready")), 0);
    assert_true(json_integer_value(json_object_get(m, "last-success"))
                == apr_time_sec(snap->last_success));
    assert_true(json_integer_value(json_object_get(m, "renew-at"))
                == apr_time_sec(snap->state->renew_at));
    assert_int_equal(json_array_size(json_object_get(m, "certs")), 1);
    c = json_array_get(json_object_get(m, "certs"), 0);
    assert_string_equal(str_at(c, "key", p), "rsa");
    assert_true(json_integer_value(json_object_get(c, "not-after"))
                == apr_time_sec(md_cert_valid_until(leaf)));
    assert_true(json_integer_value(json_object_get(c, "not-before"))
                == apr_time_sec(md_cert_valid_from(leaf)));

    /* a failing renewal in staging: its errors count, no success from it */
    put_job(store, MD_SG_STAGING, md->name, JOB_FAILED, p);
    m = md_status_metrics_json(snap, md_status_md_load(store, snap, 0, now, p), p);
    assert_int_equal(json_integer_value(json_object_get(m, "errors")), 2);
    assert_true(json_integer_value(json_object_get(m, "last-success"))
                == apr_time_sec(snap->last_success));
}

static void test_corrupt_job_is_left_out(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *store = new_store(p);
    md_t *md = new_md(p, "a.test", NULL);
    apr_time_t now = apr_time_now();
    const char *fname;
    json_t *renewal = NULL;
    FILE *f;

    put_job(store, MD_SG_STAGING, md->name, JOB_FAILED, p);
    assert_int_equal(md_store_get_fname(store, MD_SG_STAGING, md->name, MD_FN_JOB, &fname, p),
                     APR_SUCCESS);
    f = fopen(fname, "w");
    fputs("{\"name\": \"a.te", f);
    fclose(f);
    assert_int_equal(md_status_renewal(&renewal, store, md, 1, p), APR_EINVAL);
    assert_null(renewal);
    assert_null(json_object_get(md_status_md_load(store, snap_of(store, md, now, p), 1, now, p),
                                "renewal"));
}

/* --- static certificates -------------------------------------------------- */

static const char *write_file(const char *dir, const char *name, const char *data,
                              apr_pool_t *p)
{
    const char *path = apr_pstrcat(p, dir, "/", name, NULL);
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(data, f);
    fclose(f);
    return path;
}

static const char *cert_pem(const apr_array_header_t *chain, apr_pool_t *p)
{
    const char *pem;
    apr_size_t len;

    assert_int_equal(md_certs_to_pem(&pem, &len, chain, p), APR_SUCCESS);
    return pem;
}

static const char *key_pem(md_pkey_t *pkey, apr_pool_t *p)
{
    const char *pem;
    apr_size_t len;

    assert_int_equal(md_pkey_to_pem(&pem, &len, pkey, NULL, 0, p), APR_SUCCESS);
    return pem;
}

static md_t *static_md(const char *cfile, const char *kfile, apr_pool_t *p)
{
    md_t *md = new_md(p, "st.test", NULL);

    md->renew_mode = MD_RENEW_MANUAL;
    md->cert_files = apr_array_make(p, 1, sizeof(const char *));
    md->pkey_files = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(md->cert_files, const char *) = cfile;
    APR_ARRAY_PUSH(md->pkey_files, const char *) = kfile;
    return md;
}

static void test_static_files_assessed_and_shown(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *store = new_store(p);
    const char *dir = fx_tmpdir("test_md_status", p);
    md_t *probe = new_md(p, "st.test", NULL);
    md_pkey_t *pkey = fx_key_ec(p);
    apr_array_header_t *chain = chain_for(probe, pkey, 10 * DAY, p);
    md_t *md = static_md(write_file(dir, "c.pem", cert_pem(chain, p), p),
                         write_file(dir, "k.pem", key_pem(pkey, p), p), p);
    apr_time_t now = apr_time_now();
    md_status_snap_t *snap = snap_of(store, md, now, p);
    json_t *j;

    assert_true(md_static_is(md));
    assert_true(snap->state->has_cert);
    assert_int_equal(snap->state->state, MD_S_COMPLETE);
    assert_true(snap->state->valid_until == md_cert_valid_until(MD_ARR_IDX(chain, 0,
                                                                           md_cert_t *)));
    j = md_status_md_load(store, snap, 0, now, p);
    /* keyed by position, as the stock module shows static certificates */
    assert_string_equal(str_at(j, "cert.0.serial", p),
                        md_cert_serial_hex(MD_ARR_IDX(chain, 0, md_cert_t *), p));
    assert_non_null(json_object_get(j, "cert-files"));
    assert_non_null(json_object_get(j, "pkey-files"));
    assert_null(json_object_get(j, "renewal"));
    assert_int_equal(json_integer_value(json_object_get(j, "renew-mode")), MD_RENEW_MANUAL);
    assert_string_equal(str_at(md_status_cert_status_json(j, p), "0.serial", p),
                        md_cert_serial_hex(MD_ARR_IDX(chain, 0, md_cert_t *), p));
}

static void test_static_problems(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = fx_tmpdir("test_md_status", p);
    md_t *probe = new_md(p, "st.test", NULL);
    md_t *other = new_md(p, "other.test", NULL);
    md_pkey_t *pkey = fx_key_ec(p);
    const char *good = write_file(dir, "c.pem", cert_pem(chain_for(probe, pkey, DAY, p), p), p);
    const char *key = write_file(dir, "k.pem", key_pem(pkey, p), p);
    const char *wrongkey = write_file(dir, "k2.pem", key_pem(fx_key_ec(p), p), p);
    const char *wrongname = write_file(dir, "c2.pem",
                                       cert_pem(chain_for(other, pkey, DAY, p), p), p);
    const char *garbage = write_file(dir, "c3.pem", "not a certificate\n", p);
    apr_time_t now = apr_time_now();
    md_reg_state_t st;

    md_static_assess(&st, NULL, static_md(good, wrongkey, p), now, p);
    assert_false(st.has_cert);
    assert_int_equal(st.state, MD_S_ERROR);
    assert_non_null(strstr(st.state_descr, "do not match"));

    md_static_assess(&st, NULL, static_md(wrongname, key, p), now, p);
    assert_false(st.has_cert);
    assert_non_null(strstr(st.state_descr, "cover"));

    md_static_assess(&st, NULL, static_md(garbage, key, p), now, p);
    assert_false(st.has_cert);
    assert_non_null(strstr(st.state_descr, garbage));

    md_static_assess(&st, NULL, static_md(apr_pstrcat(p, dir, "/missing.pem", NULL), key, p),
                     now, p);
    assert_false(st.has_cert);

    md_static_assess(&st, NULL, static_md(good, key, p), now + 2 * DAY, p);
    assert_false(st.has_cert);
    assert_int_equal(st.state, MD_S_EXPIRED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_md_without_certificate),
        UNIT_TEST(test_md_with_live_certificate),
        UNIT_TEST(test_md_renew_when_in_window),
        UNIT_TEST(test_renewal_failed),
        UNIT_TEST(test_renewal_staged),
        UNIT_TEST(test_config_problem_as_renewal),
        UNIT_TEST(test_cert_status_without_live_certificate),
        UNIT_TEST(test_counts),
        UNIT_TEST(test_metrics_numbers),
        UNIT_TEST(test_corrupt_job_is_left_out),
        UNIT_TEST(test_static_files_assessed_and_shown),
        UNIT_TEST(test_static_problems),
    };
    return UNIT_RUN(tests);
}
