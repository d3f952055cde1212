/* Unit tests: the renewal engine, md_drive_renew (md_drive.h), against the
 * mock CA of the fixtures (fx_mock_ca.c). Only the public API is used:
 * what an attempt leaves in the store (staging/<md>/: keys, certificates,
 * order.json, job.json, md.json) and what the CA saw.
 *
 * Each attempt runs as the watchdog runs it: the job loaded from the store,
 * a pool of its own destroyed afterwards (joining a key generation thread). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_network_io.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "unit.h"
#include "md.h"
#include "md_acme.h"
#include "md_acme_int.h"
#include "md_crypt.h"
#include "md_drive.h"
#include "md_http.h"
#include "md_job.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_reg.h"
#include "md_result.h"
#include "md_store.h"
#include "md_util.h"
#include "md_watch.h"
#include "fixtures/fx.h"

#define MDNAME  "a.test"
#define PROBLEM(t)  "urn:ietf:params:acme:error:" t

typedef struct {
    apr_pool_t *p;
    md_store_t *store;
    const char *dir;            /* the temp dir holding the store */
    fx_mock_ca_t *ca;
    md_drive_env_t env;
    md_t *md;
    md_job_t *job;              /* of the last attempt */
    md_result_t *result;        /* of the last attempt */
} drive_t;

static md_pkey_spec_t *spec_ec(apr_pool_t *p, const char *curve)
{
    md_pkey_spec_t *spec = apr_pcalloc(p, sizeof(*spec));

    spec->type = MD_PKEY_TYPE_EC;
    spec->curve = curve;
    return spec;
}

static md_pkey_spec_t *spec_rsa(apr_pool_t *p, unsigned int bits)
{
    md_pkey_spec_t *spec = apr_pcalloc(p, sizeof(*spec));

    spec->type = MD_PKEY_TYPE_RSA;
    spec->bits = bits;
    return spec;
}

/* An MD "a.test" (and www.a.test) with one EC P-256 key, at the mock CA;
 * http-01 possible (port 80 served, not checked locally). */
static void drive_setup(drive_t *d, apr_pool_t *p)
{
    memset(d, 0, sizeof(*d));
    d->p = p;
    d->store = fx_store_make("test_md_drive_renew", &d->dir, p);
    d->ca = fx_mock_ca_make(NULL, p);

    d->env.store = d->store;
    d->env.user_agent = "test_md_drive_renew";
    d->env.authz_timeout = apr_time_from_sec(5);
    d->env.order_timeout = apr_time_from_sec(5);
    d->env.http_port = 80;
    d->env.http_mock = fx_mock_ca_fn;
    d->env.http_mock_baton = d->ca;

    d->md = md_create_empty(p);
    d->md->name = MDNAME;
    APR_ARRAY_PUSH(d->md->domains, const char *) = "a.test";
    APR_ARRAY_PUSH(d->md->domains, const char *) = "www.a.test";
    APR_ARRAY_PUSH(d->md->contacts, const char *) = "mailto:admin@a.test";
    APR_ARRAY_PUSH(d->md->ca_urls, const char *) = FX_CA_DIR;
    d->md->ca_agreement = "accepted";
    d->md->pkey_specs = apr_array_make(p, 2, sizeof(md_pkey_spec_t *));
    APR_ARRAY_PUSH(d->md->pkey_specs, md_pkey_spec_t *) = spec_ec(p, "P-256");
}

static const md_pkey_spec_t *spec_at(drive_t *d, int i)
{
    return MD_ARR_IDX(d->md->pkey_specs, i, const md_pkey_spec_t *);
}

/* One attempt, as the watchdog makes it. */
static apr_status_t attempt(drive_t *d)
{
    apr_pool_t *drive_pool;
    apr_status_t rv;

    d->job = md_job_create(d->p, d->md->name);
    md_job_load(d->job, d->store, d->p);     /* none saved yet: a new job */
    d->result = md_result_make(d->p, d->md->name);
    assert_int_equal(apr_pool_create(&drive_pool, d->p), APR_SUCCESS);
    rv = md_drive_renew(&d->env, d->md, NULL, d->job, d->result, drive_pool);
    apr_pool_destroy(drive_pool);
    /* whatever happened, the mock CA saw only well-formed requests */
    assert_int_equal(d->ca->errors, 0);
    /* and no challenge response stays behind */
    assert_false(md_store_exists(d->store, MD_SG_CHALLENGES, "a.test", MD_FN_HTTP01, d->p));
    assert_false(md_store_exists(d->store, MD_SG_CHALLENGES, "www.a.test", MD_FN_HTTP01,
                                 d->p));
    return rv;
}

/* A file's bytes (small files), and writing them back. */
static const char *file_get(const char *path, size_t *plen, apr_pool_t *p)
{
    char *buf = apr_palloc(p, 64 * 1024);
    FILE *f = fopen(path, "rb");

    assert_non_null(f);
    *plen = fread(buf, 1, 64 * 1024, f);
    assert_true(feof(f));
    fclose(f);
    return buf;
}

static void file_put(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static int staged(drive_t *d, const char *fname)
{
    return md_store_exists(d->store, MD_SG_STAGING, d->md->name, fname, d->p);
}

static json_t *staged_json(drive_t *d, const char *fname)
{
    json_t *j = NULL;

    assert_int_equal(md_store_load_json(d->store, MD_SG_STAGING, d->md->name, fname, &j, d->p),
                     APR_SUCCESS);
    return j;
}

static md_pkey_t *staged_key(drive_t *d, const md_pkey_spec_t *spec)
{
    md_pkey_t *pkey = NULL;

    assert_int_equal(md_store_load_pkey(d->store, MD_SG_STAGING, d->md->name,
                                        md_reg_pkey_fname(spec, d->p), &pkey, d->p),
                     APR_SUCCESS);
    return pkey;
}

/* The staged certificate of spec: for all names, with the staged key of
 * spec (and with key, if given), issued by the mock CA from a CSR; of
 * spec's key type. */
static const md_cert_t *assert_staged_cert(drive_t *d, const md_pkey_spec_t *spec,
                                           const md_pkey_t *key)
{
    apr_array_header_t *chain = NULL;
    const md_cert_t *leaf;
    md_pkey_t *pkey = staged_key(d, spec);

    assert_int_equal(md_store_load_certs(d->store, MD_SG_STAGING, d->md->name,
                                         md_reg_cert_fname(spec, d->p), &chain, d->p),
                     APR_SUCCESS);
    assert_int_equal(chain->nelts, 2);
    leaf = MD_ARR_IDX(chain, 0, const md_cert_t *);
    assert_true(md_cert_issued_by(leaf, MD_ARR_IDX(chain, 1, const md_cert_t *)));
    assert_true(md_cert_covers(leaf, d->md->domains));
    assert_true(md_cert_matches_key(leaf, pkey));
    assert_int_equal(md_pkey_type(pkey), spec->type);
    if (key) {
        assert_true(md_cert_matches_key(leaf, key));
    }
    return leaf;
}

/* The saved order (staging/<md>/order.json): its URL and status. */
static void assert_saved_order(drive_t *d, int n, const char *status)
{
    json_t *j = staged_json(d, MD_FN_ORDER);

    assert_string_equal(md_json_get_str(j, MD_KEY_URL),
                        apr_psprintf(d->p, "%s/order/%d", d->ca->url, n));
    if (status) {
        assert_string_equal(md_json_get_str(j, MD_KEY_STATUS), status);
    }
}

/* Does the job's log (job.json) hold an entry of type? */
static int job_logged(const json_t *job, const char *type)
{
    json_t *entries = md_json_get_array(md_json_get_obj(job, MD_KEY_LOG), MD_KEY_ENTRIES);
    size_t i;

    for (i = 0; i < json_array_size(entries); ++i) {
        const char *t = md_json_get_str(json_array_get(entries, i), MD_KEY_TYPE);

        if (t && !strcmp(t, type)) {
            return 1;
        }
    }
    return 0;
}

/* A failed attempt as md-status shows it: the result in the job, saved. */
static void assert_failure_recorded(drive_t *d, apr_status_t rv, int errors,
                                    const char *problem)
{
    json_t *job = staged_json(d, MD_FN_JOB);
    json_t *last = md_json_get_obj(job, MD_KEY_LAST);

    assert_int_not_equal(rv, APR_SUCCESS);
    assert_int_equal(d->result->status, rv);
    assert_int_equal(d->job->errors, errors);
    assert_false(d->job->finished);
    assert_int_equal(md_json_get_int(job, MD_KEY_ERRORS, -1), errors);
    assert_false(json_is_true(json_object_get(job, MD_KEY_FINISHED)));
    assert_int_equal(md_json_get_int(last, MD_KEY_STATUS, -1), rv);
    assert_true(job_logged(job, MD_JOB_LOG_ERROR));
    if (problem) {
        assert_non_null(d->result->problem);
        assert_string_equal(d->result->problem, problem);
        assert_string_equal(md_json_get_str(last, MD_KEY_PROBLEM), problem);
    }
    /* nothing is staged as if it were a certificate set */
    assert_false(staged(d, MD_FN_MD));
}

/* When the staged set starts: the earliest start of its certificates. */
static apr_time_t staged_valid_from(drive_t *d)
{
    apr_time_t from = 0;
    int i;

    for (i = 0; i < d->md->pkey_specs->nelts; ++i) {
        apr_array_header_t *chain = NULL;
        apr_time_t t;

        assert_int_equal(md_store_load_certs(d->store, MD_SG_STAGING, d->md->name,
                                             md_reg_cert_fname(spec_at(d, i), d->p), &chain,
                                             d->p), APR_SUCCESS);
        t = md_cert_valid_from(MD_ARR_IDX(chain, 0, const md_cert_t *));
        from = (!from || t < from) ? t : from;
    }
    return from;
}

/* A successful attempt: the set staged, md.json last, the job finished and
 * knowing when the set starts (MDActivationDelay, the "renewed" message). */
static void assert_success_recorded(drive_t *d, apr_status_t rv, const char *ca_dir)
{
    json_t *job;
    json_t *mdj;

    assert_int_equal(rv, APR_SUCCESS);
    assert_int_equal(d->result->status, APR_SUCCESS);
    assert_true(d->job->finished);
    assert_int_equal(d->job->errors, 0);
    assert_true(d->job->valid_from > 0);
    assert_true(d->job->valid_from == staged_valid_from(d));
    job = staged_json(d, MD_FN_JOB);
    assert_true(json_is_true(json_object_get(job, MD_KEY_FINISHED)));
    assert_int_equal(md_json_get_int(job, MD_KEY_ERRORS, -1), 0);
    assert_non_null(md_json_get_str(job, MD_KEY_VALID_FROM));
    assert_true(job_logged(job, MD_JOB_LOG_FINISHED));
    mdj = staged_json(d, MD_FN_MD);
    assert_string_equal(md_json_get_str(mdj, MD_KEY_NAME), d->md->name);
    assert_string_equal(md_json_get_str(md_json_get_obj(mdj, MD_KEY_CA), MD_KEY_URL), ca_dir);
    /* the order is done with */
    assert_false(staged(d, MD_FN_ORDER));
}

/* One attempt that must fail as assert_failure_recorded says; its status. */
static apr_status_t attempt_fails(drive_t *d, int errors, const char *problem)
{
    apr_status_t rv = attempt(d);

    assert_failure_recorded(d, rv, errors, problem);
    return rv;
}

/* One attempt that must stage everything, from the CA at ca_dir. */
static void attempt_succeeds(drive_t *d, const char *ca_dir)
{
    assert_success_recorded(d, attempt(d), ca_dir);
}

/* --- from nothing to a staged set ------------------------------------------ */

static void test_full_renewal_stages_every_spec(void **state)
{
    drive_t d;
    md_pkey_t *ec_key;
    md_pkey_t *rsa_key;
    int i;

    drive_setup(&d, *state);
    APR_ARRAY_PUSH(d.md->pkey_specs, md_pkey_spec_t *) = spec_rsa(d.p, 2048);

    attempt_succeeds(&d, FX_CA_DIR);
    /* one account, one order per key spec, each validated, finalized and
     * downloaded once */
    assert_int_equal(d.ca->acct_ctr, 1);
    assert_int_equal(d.ca->orders_created, 2);
    assert_int_equal(d.ca->challenges_posted, 4);
    assert_int_equal(d.ca->finalizes, 2);
    assert_int_equal(d.ca->cert_downloads, 2);
    for (i = 1; i <= 2; ++i) {
        assert_int_equal(d.ca->orders[i].names->nelts, 2);
        assert_string_equal(MD_ARR_IDX(d.ca->orders[i].names, 0, const char *), "a.test");
        assert_string_equal(MD_ARR_IDX(d.ca->orders[i].names, 1, const char *), "www.a.test");
    }
    /* the files, under the names the stock module uses */
    assert_true(staged(&d, "privkey.p-256.pem"));
    assert_true(staged(&d, "pubcert.p-256.pem"));
    assert_true(staged(&d, MD_FN_PRIVKEY));     /* RSA: the default names */
    assert_true(staged(&d, MD_FN_PUBCERT));
    ec_key = staged_key(&d, spec_at(&d, 0));
    rsa_key = staged_key(&d, spec_at(&d, 1));
    assert_int_equal(md_pkey_type(ec_key), MD_PKEY_TYPE_EC);
    assert_int_equal(md_pkey_type(rsa_key), MD_PKEY_TYPE_RSA);
    assert_staged_cert(&d, spec_at(&d, 0), ec_key);
    assert_staged_cert(&d, spec_at(&d, 1), rsa_key);
    /* the account the set came from is named in md.json */
    assert_non_null(md_json_get_str(md_json_get_obj(staged_json(&d, MD_FN_MD), MD_KEY_CA),
                                    MD_KEY_ACCOUNT));

    /* a complete staged set is never ordered again */
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->orders_created, 2);
    assert_int_equal(d.ca->finalizes, 2);
    assert_staged_cert(&d, spec_at(&d, 0), ec_key);
    assert_staged_cert(&d, spec_at(&d, 1), rsa_key);
}

/* --- resuming an earlier attempt --------------------------------------------- */

/* Stopped before the authorizations were answered: the order is resumed,
 * its challenges answered then. */
static void test_resume_pending_order(void **state)
{
    drive_t d;

    drive_setup(&d, *state);
    d.ca->down_path = "/chall/";
    attempt_fails(&d, 1, NULL);
    assert_int_equal(d.ca->orders_created, 1);
    assert_int_equal(d.ca->orders[1].challenged, 0);
    assert_saved_order(&d, 1, "pending");

    d.ca->down_path = NULL;
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->orders_created, 1);     /* no new newOrder */
    assert_int_equal(d.ca->orders[1].challenged, 3);
    assert_int_equal(d.ca->finalizes, 1);
    assert_staged_cert(&d, spec_at(&d, 0), NULL);
    assert_int_equal(d.ca->acct_ctr, 1);            /* the same account */
}

/* Stopped when the order was ready (validated) but before it was
 * finalized: resumed without answering any challenge again, finalized with
 * the key staged before the CSR was sent. */
static void test_resume_ready_order(void **state)
{
    drive_t d;
    md_pkey_t *key;
    int answered;

    drive_setup(&d, *state);
    d.ca->down_path = "/finalize/";
    attempt_fails(&d, 1, NULL);
    assert_int_equal(d.ca->orders_created, 1);
    assert_int_equal(d.ca->orders[1].challenged, 3);
    assert_false(d.ca->orders[1].finalized);
    assert_saved_order(&d, 1, NULL);
    key = staged_key(&d, spec_at(&d, 0));
    answered = d.ca->challenges_posted;

    d.ca->down_path = NULL;
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->orders_created, 1);     /* no new newOrder */
    assert_int_equal(d.ca->challenges_posted, answered);
    assert_int_equal(d.ca->finalizes, 1);
    assert_staged_cert(&d, spec_at(&d, 0), key);
}

/* Finalized, the CA still processing when the attempt gave up: resumed
 * without finalizing again, the certificate is for the staged key. */
static void test_resume_processing_order(void **state)
{
    drive_t d;
    apr_status_t rv;
    md_pkey_t *key;

    drive_setup(&d, *state);
    d.env.order_timeout = apr_time_from_msec(200);
    d.ca->never_valid = 1;
    rv = attempt_fails(&d, 1, NULL);
    assert_int_equal(rv, APR_TIMEUP);
    assert_int_equal(d.ca->orders_created, 1);
    assert_int_equal(d.ca->finalizes, 1);
    assert_int_equal(d.ca->cert_downloads, 0);
    assert_saved_order(&d, 1, "processing");
    key = staged_key(&d, spec_at(&d, 0));

    d.ca->never_valid = 0;
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->orders_created, 1);     /* no new newOrder */
    assert_int_equal(d.ca->finalizes, 1);          /* nor a second finalize */
    assert_int_equal(d.ca->cert_downloads, 1);
    assert_staged_cert(&d, spec_at(&d, 0), key);
}

/* Valid, the certificate not downloaded: only the download is left. */
static void test_resume_valid_order(void **state)
{
    drive_t d;
    md_pkey_t *key;
    int answered;

    drive_setup(&d, *state);
    d.ca->down_path = "/cert/";
    attempt_fails(&d, 1, NULL);
    assert_int_equal(d.ca->orders_created, 1);
    assert_int_equal(d.ca->finalizes, 1);
    assert_saved_order(&d, 1, "valid");
    assert_non_null(md_json_get_str(staged_json(&d, MD_FN_ORDER), MD_KEY_CERTIFICATE));
    key = staged_key(&d, spec_at(&d, 0));
    answered = d.ca->challenges_posted;

    d.ca->down_path = NULL;
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->orders_created, 1);     /* no new newOrder */
    assert_int_equal(d.ca->challenges_posted, answered);
    assert_int_equal(d.ca->finalizes, 1);
    assert_int_equal(d.ca->cert_downloads, 1);
    assert_staged_cert(&d, spec_at(&d, 0), key);
}

/* Two key specs, the second one's order stopped: the next attempt leaves
 * the staged first spec alone and resumes only the second. */
static void test_resume_second_spec_only(void **state)
{
    drive_t d;
    md_pkey_t *first_key;
    apr_array_header_t *first_chain = NULL;
    apr_array_header_t *chain = NULL;

    drive_setup(&d, *state);
    APR_ARRAY_PUSH(d.md->pkey_specs, md_pkey_spec_t *) = spec_ec(d.p, "P-384");
    d.ca->down_path = "/chall/2-";
    attempt_fails(&d, 1, NULL);
    assert_int_equal(d.ca->orders_created, 2);
    assert_int_equal(d.ca->cert_downloads, 1);
    assert_true(staged(&d, "pubcert.p-256.pem"));
    assert_false(staged(&d, "pubcert.p-384.pem"));
    assert_saved_order(&d, 2, "pending");
    first_key = staged_key(&d, spec_at(&d, 0));
    assert_int_equal(md_store_load_certs(d.store, MD_SG_STAGING, MDNAME, "pubcert.p-256.pem",
                                         &first_chain, d.p), APR_SUCCESS);

    d.ca->down_path = NULL;
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->orders_created, 2);     /* no new newOrder */
    assert_int_equal(d.ca->finalizes, 2);
    assert_int_equal(d.ca->cert_downloads, 2);
    assert_staged_cert(&d, spec_at(&d, 0), first_key);
    assert_staged_cert(&d, spec_at(&d, 1), NULL);
    /* the first spec's certificate is the one of the first attempt */
    assert_int_equal(md_store_load_certs(d.store, MD_SG_STAGING, MDNAME, "pubcert.p-256.pem",
                                         &chain, d.p), APR_SUCCESS);
    assert_string_equal(md_cert_sha256_fingerprint(MD_ARR_IDX(chain, 0, const md_cert_t *),
                                                   d.p),
                        md_cert_sha256_fingerprint(MD_ARR_IDX(first_chain, 0,
                                                              const md_cert_t *), d.p));
}

/* A CA that cannot be reached keeps the saved order for later; a CA that
 * has forgotten it (404 after a reset) gets a new one. */
static void test_saved_order_kept_while_ca_down_dropped_when_forgotten(void **state)
{
    drive_t d;

    drive_setup(&d, *state);
    d.ca->down_path = "/chall/";
    attempt_fails(&d, 1, NULL);
    assert_saved_order(&d, 1, "pending");

    /* the directory and the account answer, the order does not */
    d.ca->down_path = "/order/";
    attempt_fails(&d, 2, NULL);
    assert_int_equal(d.ca->orders_created, 1);
    assert_saved_order(&d, 1, "pending");

    d.ca->down_path = NULL;
    d.ca->orders[1].forgotten = 1;
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->orders_created, 2);
    assert_true(d.ca->orders[2].finalized);
    assert_staged_cert(&d, spec_at(&d, 0), NULL);
}

/* --- what cannot be resumed -------------------------------------------------- */

/* The order was finalized with a key that is gone from staging: its
 * certificate would be useless, so a new order with a new key. */
static void test_lost_key_orders_anew(void **state)
{
    drive_t d;
    md_pkey_t *lost;
    const md_cert_t *leaf;

    drive_setup(&d, *state);
    d.ca->down_path = "/cert/";
    attempt_fails(&d, 1, NULL);
    assert_saved_order(&d, 1, "valid");
    lost = staged_key(&d, spec_at(&d, 0));
    assert_int_equal(md_store_remove(d.store, MD_SG_STAGING, d.md->name,
                                     md_reg_pkey_fname(spec_at(&d, 0), d.p), d.p),
                     APR_SUCCESS);

    d.ca->down_path = NULL;
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->orders_created, 2);
    assert_int_equal(d.ca->finalizes, 2);
    assert_int_equal(d.ca->cert_downloads, 1);     /* only the new order's */
    leaf = assert_staged_cert(&d, spec_at(&d, 0), NULL);
    assert_false(md_cert_matches_key(leaf, lost));
}

/* The staged key is there but unreadable (a crash mid-write, a hostile
 * User): never a certificate staged for a key we do not have; today the
 * attempt makes a new key, finds the downloaded certificate not matching
 * it, says so and drops the order, and the next attempt orders anew (one
 * failed attempt; ordering anew at once would save it). */
static void test_corrupt_key_orders_anew(void **state)
{
    drive_t d;
    apr_status_t rv;
    const char *path;

    drive_setup(&d, *state);
    d.ca->down_path = "/cert/";
    rv = attempt_fails(&d, 1, NULL);
    assert_saved_order(&d, 1, "valid");
    path = apr_pstrcat(d.p, d.dir, "/md/staging/" MDNAME "/",
                       md_reg_pkey_fname(spec_at(&d, 0), d.p), NULL);
    file_put(path, "-----BEGIN PRIVATE KEY-----\nAAAA\n", 33);

    d.ca->down_path = NULL;
    rv = attempt(&d);
    if (rv != APR_SUCCESS) {
        assert_failure_recorded(&d, rv, 2, NULL);
        assert_non_null(strstr(d.result->detail, "does not match"));
        assert_false(staged(&d, md_reg_cert_fname(spec_at(&d, 0), d.p)));
        assert_false(staged(&d, MD_FN_ORDER));
        rv = attempt(&d);
    }
    assert_success_recorded(&d, rv, FX_CA_DIR);
    assert_int_equal(d.ca->orders_created, 2);
    assert_staged_cert(&d, spec_at(&d, 0), NULL);
}

/* Validation fails, the CA marks the order invalid: the CA's problem is in
 * the result and the job; the next attempt places a new order. */
static void test_invalid_order_recorded_then_new_order(void **state)
{
    drive_t d;
    apr_status_t rv;

    drive_setup(&d, *state);
    d.ca->fail_challenge = 1;
    rv = attempt_fails(&d, 1, PROBLEM("connection"));
    assert_int_equal(rv, APR_EINVAL);
    assert_non_null(strstr(d.result->detail, "Connection refused"));
    assert_int_equal(d.ca->orders_created, 1);
    assert_int_equal(d.ca->finalizes, 0);

    d.ca->fail_challenge = 0;
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->orders_created, 2);
    assert_int_equal(d.ca->finalizes, 1);
    assert_true(d.ca->orders[2].finalized);
    assert_staged_cert(&d, spec_at(&d, 0), NULL);
}

/* A saved order the CA has since made invalid (it expired there, or was
 * deactivated) is not resumed: a new order. */
static void test_saved_order_gone_invalid_orders_anew(void **state)
{
    drive_t d;

    drive_setup(&d, *state);
    d.ca->down_path = "/chall/";
    attempt_fails(&d, 1, NULL);
    assert_saved_order(&d, 1, "pending");

    d.ca->down_path = NULL;
    d.ca->orders[1].invalid = 1;
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->orders_created, 2);
    assert_false(d.ca->orders[1].finalized);
    assert_true(d.ca->orders[2].finalized);
    assert_staged_cert(&d, spec_at(&d, 0), NULL);
}

/* The CA issued a certificate that is not for the staged key (or names):
 * nothing is staged, the order is dropped, the next attempt orders anew. */
static void test_foreign_certificate_not_staged(void **state)
{
    drive_t d;
    apr_status_t rv;

    drive_setup(&d, *state);
    d.ca->cert_pem = fx_self_signed_pem(d.md->domains, d.p);
    rv = attempt_fails(&d, 1, NULL);
    assert_int_equal(rv, APR_EINVAL);
    assert_int_equal(d.ca->cert_downloads, 1);
    assert_false(staged(&d, "pubcert.p-256.pem"));
    assert_false(staged(&d, MD_FN_ORDER));

    d.ca->cert_pem = NULL;
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->orders_created, 2);
    assert_staged_cert(&d, spec_at(&d, 0), NULL);
}

/* A staged set that no longer fits the configuration (a name added,
 * MDMustStaple switched on) is dropped: the next attempt orders anew. */
static void test_staged_set_dropped_when_config_changes(void **state)
{
    drive_t d;

    drive_setup(&d, *state);
    d.ca->backdate = apr_time_from_sec(MD_SECS_PER_DAY);
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->orders_created, 1);

    /* the new set starts later than the dropped one: the job says when */
    d.ca->backdate = apr_time_from_sec(60);
    APR_ARRAY_PUSH(d.md->domains, const char *) = "new.a.test";
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->orders_created, 2);
    assert_int_equal(d.ca->orders[2].names->nelts, 3);
    assert_staged_cert(&d, spec_at(&d, 0), NULL);   /* covers new.a.test */

    /* the staged certificate would do for the names, not for the config */
    d.md->must_staple = 1;
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->orders_created, 3);
    assert_true(json_is_true(json_object_get(staged_json(&d, MD_FN_MD), MD_KEY_MUST_STAPLE)));
}

/* A saved order for other names (the config changed since) is not resumed:
 * a new order for the names configured now. */
static void test_saved_order_for_other_names_orders_anew(void **state)
{
    drive_t d;

    drive_setup(&d, *state);
    d.ca->down_path = "/chall/";
    attempt_fails(&d, 1, NULL);
    assert_saved_order(&d, 1, "pending");

    d.ca->down_path = NULL;
    APR_ARRAY_PUSH(d.md->domains, const char *) = "new.a.test";
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->orders_created, 2);
    assert_int_equal(d.ca->orders[1].challenged, 0);
    assert_int_equal(d.ca->orders[2].names->nelts, 3);
    assert_staged_cert(&d, spec_at(&d, 0), NULL);
}

/* A saved order.json that does not parse (a crash mid-write on a store
 * without atomic writes, a hostile User) is not trusted: a new order. */
static void test_corrupt_saved_order_orders_anew(void **state)
{
    drive_t d;
    const char *path;

    drive_setup(&d, *state);
    d.ca->down_path = "/chall/";
    attempt_fails(&d, 1, NULL);
    assert_saved_order(&d, 1, "pending");
    path = apr_pstrcat(d.p, d.dir, "/md/staging/" MDNAME "/" MD_FN_ORDER, NULL);
    file_put(path, "{\"url\": \"https://ca.test/order/1\", \"status\": ", 45);

    d.ca->down_path = NULL;
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->orders_created, 2);
    assert_staged_cert(&d, spec_at(&d, 0), NULL);
}

/* An attempt that finds a complete staged set orders nothing and stages
 * md.json again: what the store looks like after job.json was lost
 * (lost: nothing else), or after a crash right after the last certificate
 * was saved (lost: md.json too). */
static void restage(drive_t *d, int md_json_lost, const char **paccount)
{
    apr_status_t rv = attempt(d);
    int requests;

    assert_success_recorded(d, rv, FX_CA_DIR);
    *paccount = md_json_get_str(md_json_get_obj(staged_json(d, MD_FN_MD), MD_KEY_CA),
                                MD_KEY_ACCOUNT);
    assert_non_null(*paccount);
    assert_int_equal(md_store_remove(d->store, MD_SG_STAGING, MDNAME, MD_FN_JOB, d->p),
                     APR_SUCCESS);
    if (md_json_lost) {
        assert_int_equal(md_store_remove(d->store, MD_SG_STAGING, MDNAME, MD_FN_MD, d->p),
                         APR_SUCCESS);
    }
    requests = d->ca->requests;
    rv = attempt(d);
    assert_int_equal(rv, APR_SUCCESS);
    assert_true(d->job->finished);
    assert_true(staged(d, MD_FN_MD));
    assert_int_equal(d->ca->requests, requests);   /* the CA was not asked */
    assert_staged_cert(d, spec_at(d, 0), NULL);
}

/* The re-staged md.json still names the account the set came from. */
static void test_restaged_set_keeps_its_account(void **state)
{
    drive_t d;
    const char *account;
    const char *now;

    drive_setup(&d, *state);
    restage(&d, 0, &account);
    now = md_json_get_str(md_json_get_obj(staged_json(&d, MD_FN_MD), MD_KEY_CA),
                          MD_KEY_ACCOUNT);
    /* (It was written anew with the config's account, NULL until a first
     * activation, and the CA of this attempt.) */
    assert_non_null(now);
    assert_string_equal(now, account);
}

/* The job of a re-staged set knows when its certificates start, as
 * MDActivationDelay and the "renewed" message need. */
static void test_restaged_set_knows_valid_from(void **state)
{
    drive_t d;
    const char *account;
    apr_time_t valid_from;

    drive_setup(&d, *state);
    restage(&d, 1, &account);
    valid_from = md_cert_valid_from(assert_staged_cert(&d, spec_at(&d, 0), NULL));
    /* (It stayed 0, set only by a download: mod_md_activate_delayed,
     * md_sched_activation_ready(0, delay, now), activated at once, ignoring
     * MDActivationDelay, and MDMessageCmd "renewed" was told the epoch.) */
    assert_true(d.job->valid_from == valid_from);
    assert_non_null(md_json_get_str(staged_json(&d, MD_FN_JOB), MD_KEY_VALID_FROM));
}

/* The CA no longer knows the account (a reset): a new account is
 * registered, the old account's saved order is not resumed, the old
 * account is not tried again. */
static void test_forgotten_account_new_account_new_order(void **state)
{
    drive_t d;

    drive_setup(&d, *state);
    d.ca->down_path = "/chall/";
    attempt_fails(&d, 1, NULL);
    assert_int_equal(d.ca->acct_ctr, 1);
    assert_saved_order(&d, 1, "pending");

    d.ca->down_path = NULL;
    d.ca->acct_reject = 1;
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->acct_ctr, 2);
    assert_int_equal(d.ca->orders_created, 2);
    assert_int_equal(d.ca->orders[1].challenged, 0);
    assert_string_equal(d.ca->last_kid, FX_CA_URL "/acct/2");
    assert_staged_cert(&d, spec_at(&d, 0), NULL);
}

/* --- MDCertificateAuthority with two CAs -------------------------------------- */

/* (md_drive_ca_url alone: test_md_drive.c.) The first CA fails after the
 * order was placed; with MDRetryFailover 1 the next attempt goes to the
 * second CA, drops the first one's order and gets the set there. */
static void test_failover_to_second_ca(void **state)
{
    apr_pool_t *p = *state;
    fx_mock_ca_t *cas[3];
    drive_t d;
    int ca1_requests;

    drive_setup(&d, p);
    cas[0] = fx_mock_ca_make("https://ca1.test", p);
    cas[1] = fx_mock_ca_make("https://ca2.test", p);
    cas[2] = NULL;
    d.env.http_mock = fx_mock_cas_fn;
    d.env.http_mock_baton = cas;
    d.env.retry_failover = 1;
    d.md->ca_urls = fx_strs(p, "https://ca1.test/dir", "https://ca2.test/dir", NULL, NULL);
    d.ca = cas[0];      /* attempt() checks its errors */

    cas[0]->down_path = "/chall/";
    attempt_fails(&d, 1, NULL);
    assert_int_equal(cas[0]->orders_created, 1);
    assert_int_equal(cas[1]->requests, 0);
    assert_saved_order(&d, 1, "pending");
    ca1_requests = cas[0]->requests;

    d.ca = cas[1];
    attempt_succeeds(&d, "https://ca2.test/dir");
    assert_int_equal(cas[0]->requests, ca1_requests);  /* not asked again */
    assert_int_equal(cas[0]->errors, 0);
    assert_int_equal(cas[1]->acct_ctr, 1);
    assert_int_equal(cas[1]->orders_created, 1);
    assert_int_equal(cas[1]->finalizes, 1);
    assert_staged_cert(&d, spec_at(&d, 0), NULL);
    /* the job says it failed over */
    assert_true(job_logged(staged_json(&d, MD_FN_JOB), "failover"));

    /* the set found again without its job (no errors counted: the first
     * CA's turn) is still the second CA's */
    assert_int_equal(md_store_remove(d.store, MD_SG_STAGING, MDNAME, MD_FN_JOB, d.p),
                     APR_SUCCESS);
    attempt_succeeds(&d, "https://ca2.test/dir");
    assert_int_equal(cas[0]->requests, ca1_requests);
    assert_int_equal(cas[1]->orders_created, 1);
}

/* --- badNonce ------------------------------------------------------------------ */

/* Each POST is retried MD_ACME_NONCE_RETRIES times on badNonce (RFC 8555
 * §6.5): that many in a row on newOrder still get the order. */
static void test_bad_nonces_within_the_limit(void **state)
{
    drive_t d;

    drive_setup(&d, *state);
    d.ca->bad_nonces = MD_ACME_NONCE_RETRIES;
    d.ca->bad_nonce_path = "/new-order";
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->bad_nonces_sent, MD_ACME_NONCE_RETRIES);
    assert_int_equal(d.ca->orders_created, 1);
    assert_staged_cert(&d, spec_at(&d, 0), NULL);
}

/* One more and the attempt fails with the CA's badNonce, no order placed;
 * the next attempt orders. */
static void test_bad_nonces_beyond_the_limit(void **state)
{
    drive_t d;

    drive_setup(&d, *state);
    d.ca->bad_nonces = MD_ACME_NONCE_RETRIES + 1 + 5;
    d.ca->bad_nonce_path = "/new-order";
    attempt_fails(&d, 1, PROBLEM("badNonce"));
    /* the first try and MD_ACME_NONCE_RETRIES retries, then it gave up */
    assert_int_equal(d.ca->bad_nonces_sent, MD_ACME_NONCE_RETRIES + 1);
    assert_int_equal(d.ca->orders_created, 0);
    assert_false(staged(&d, MD_FN_ORDER));

    d.ca->bad_nonces = 0;
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->orders_created, 1);
}

/* --- a CA that says "later" --------------------------------------------------- */

/* newOrder rate limited with Retry-After: the attempt fails with the CA's
 * problem, no order, and the job's next run is not before the CA said. */
static void test_rate_limited_order_retried_after(void **state)
{
    drive_t d;
    apr_status_t rv;
    apr_time_t before = apr_time_now();

    drive_setup(&d, *state);
    d.ca->rate_limit_path = "/new-order";
    d.ca->retry_after = 7200;
    rv = attempt_fails(&d, 1, PROBLEM("rateLimited"));
    assert_int_equal(rv, APR_EAGAIN);
    assert_int_equal(d.ca->rate_limited, 1);        /* not hammered */
    assert_int_equal(d.ca->orders_created, 0);
    assert_true(d.result->retry_after >= before + apr_time_from_sec(7200 - 5));
    assert_true(d.job->next_run >= d.result->retry_after);
    assert_non_null(md_json_get_str(staged_json(&d, MD_FN_JOB), MD_KEY_NEXT_RUN));

    d.ca->rate_limit_path = NULL;
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->orders_created, 1);
}

/* --- concurrent drives ---------------------------------------------------------- */

/* One drive on a thread of its own, with a pool of its own allocator, as
 * the glue's workers have (mod_md_drive.c): job and result are from it. */
typedef struct {
    const md_drive_env_t *env;
    md_t *md;
    apr_pool_t *p;
    md_job_t *job;
    md_result_t *result;
    apr_status_t rv;
} drive_thread_t;

static void *APR_THREAD_FUNC drive_thread(apr_thread_t *t, void *data)
{
    drive_thread_t *dt = data;
    apr_pool_t *drive_pool;

    (void)t;
    /* no cmocka asserts off the main thread: the outcome is looked at there */
    dt->rv = apr_pool_create(&drive_pool, dt->p);
    if (dt->rv == APR_SUCCESS) {
        dt->job = md_job_create(dt->p, dt->md->name);
        dt->result = md_result_make(dt->p, dt->md->name);
        dt->rv = md_drive_renew(dt->env, dt->md, NULL, dt->job, dt->result, drive_pool);
        apr_pool_destroy(drive_pool);
    }
    return NULL;
}

static apr_status_t pool_destroy(void *data)
{
    apr_pool_destroy(data);
    return APR_SUCCESS;
}

/* MDs renewed at once on one store (env->share set): each gets its set,
 * and they register one account between them, not one each. */
static void test_concurrent_drives_share_one_account(void **state)
{
    static const char *const names[] = { "a.test", "b.test", "c.test", "d.test" };
    drive_thread_t dts[4];
    apr_thread_t *threads[4];
    md_drive_share_t *share;
    apr_pool_t *tp;
    drive_t d;
    apr_status_t trv;
    int i;

    drive_setup(&d, *state);
    /* as the glue does before its drive threads start (libcurl's global state) */
    assert_int_equal(md_http_global_init(), APR_SUCCESS);
    /* the threads' handles: only this thread allocates from it */
    assert_int_equal(apr_pool_create(&tp, d.p), APR_SUCCESS);
    fx_mock_ca_threaded(d.ca);
    assert_int_equal(md_drive_share_create(&share, d.p), APR_SUCCESS);
    d.env.share = share;
    for (i = 0; i < 4; ++i) {
        md_t *md = md_clone(d.p, d.md);

        md->name = names[i];
        md->domains = fx_strs(d.p, names[i], apr_pstrcat(d.p, "www.", names[i], NULL), NULL,
                              NULL);
        memset(&dts[i], 0, sizeof(dts[i]));
        dts[i].env = &d.env;
        dts[i].md = md;
        dts[i].rv = APR_EGENERAL;
        assert_int_equal(apr_pool_create_unmanaged_ex(&dts[i].p, NULL, NULL), APR_SUCCESS);
        apr_pool_cleanup_register(d.p, dts[i].p, pool_destroy, apr_pool_cleanup_null);
    }
    for (i = 0; i < 4; ++i) {
        assert_int_equal(apr_thread_create(&threads[i], NULL, drive_thread, &dts[i], tp),
                         APR_SUCCESS);
    }
    for (i = 0; i < 4; ++i) {
        assert_int_equal(apr_thread_join(&trv, threads[i]), APR_SUCCESS);
    }

    assert_int_equal(d.ca->errors, 0);
    assert_int_equal(d.ca->acct_ctr, 1);
    assert_int_equal(d.ca->orders_created, 4);
    for (i = 0; i < 4; ++i) {
        assert_int_equal(dts[i].rv, APR_SUCCESS);
        assert_true(dts[i].job->finished);
        d.md = dts[i].md;
        d.job = dts[i].job;
        d.result = dts[i].result;
        assert_success_recorded(&d, dts[i].rv, FX_CA_DIR);
        assert_staged_cert(&d, spec_at(&d, 0), NULL);
        assert_false(md_store_exists(d.store, MD_SG_CHALLENGES, names[i], MD_FN_HTTP01, d.p));
    }
}

/* --- dns-01 --------------------------------------------------------------------- */

/* How many lines of the file start with prefix; with value_len > 0, only
 * those followed by that many characters (a TXT value) to the line's end. */
static int count_lines(const char *path, const char *prefix, size_t value_len)
{
    char line[512];
    FILE *f = fopen(path, "r");
    int n = 0;

    if (!f) {
        return 0;
    }
    while (fgets(line, sizeof(line), f)) {
        n += !strncmp(line, prefix, strlen(prefix))
             && (!value_len || strlen(line + strlen(prefix)) == value_len + 1);
    }
    fclose(f);
    return n;
}

/* base64url of a SHA-256 digest (RFC 8555 §8.4), unpadded */
#define DNS01_VALUE_LEN 43

/* Neither port 80 nor 443 reaches us, MDChallengeDns01 is set: the CA's
 * dns-01 challenges are answered through the program, which is asked to
 * remove every TXT record afterwards, also when the attempt fails. */
static void test_dns01_through_the_program(void **state)
{
    drive_t d;
    const char *log;

    drive_setup(&d, *state);
    log = apr_pstrcat(d.p, d.dir, "/dns01.log", NULL);
    d.env.http_port = 0;
    d.ca->with_dns01 = 1;
    d.md->dns01_cmd = fx_strs(d.p, "/bin/sh", "-c", apr_psprintf(d.p,
                              "echo \"$0 $1 $2\" >> %s", log), NULL);

    /* validation fails: the records are removed all the same */
    d.ca->fail_challenge = 1;
    attempt_fails(&d, 1, NULL);
    assert_int_equal(d.ca->dns01_posted, 2);
    assert_int_equal(d.ca->challenges_posted, 2);  /* no http-01 */
    assert_int_equal(count_lines(log, "setup a.test ", DNS01_VALUE_LEN), 1);
    assert_int_equal(count_lines(log, "setup www.a.test ", DNS01_VALUE_LEN), 1);
    assert_int_equal(count_lines(log, "teardown a.test ", 0), 1);
    assert_int_equal(count_lines(log, "teardown www.a.test ", 0), 1);
    assert_false(md_store_exists(d.store, MD_SG_CHALLENGES, "a.test", MD_FN_DNS01, d.p));
    assert_false(md_store_exists(d.store, MD_SG_CHALLENGES, "www.a.test", MD_FN_DNS01, d.p));

    d.ca->fail_challenge = 0;
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->orders_created, 2);
    assert_int_equal(d.ca->dns01_posted, 4);
    assert_int_equal(d.ca->challenges_posted, 4);
    assert_int_equal(count_lines(log, "setup ", 0), 4);
    assert_int_equal(count_lines(log, "teardown ", 0), 4);
    assert_false(md_store_exists(d.store, MD_SG_CHALLENGES, "a.test", MD_FN_DNS01, d.p));
    assert_staged_cert(&d, spec_at(&d, 0), NULL);
}

/* A loopback port nobody answers on: bound, never listening (refused),
 * and taken as long as the socket lives, so nobody else gets it. */
static int refused_port(apr_socket_t **psock, apr_pool_t *p)
{
    apr_sockaddr_t *sa;
    apr_sockaddr_t *local;

    assert_int_equal(apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, 0, 0, p), APR_SUCCESS);
    assert_int_equal(apr_socket_create(psock, APR_INET, SOCK_STREAM, APR_PROTO_TCP, p),
                     APR_SUCCESS);
    assert_int_equal(apr_socket_bind(*psock, sa), APR_SUCCESS);
    assert_int_equal(apr_socket_addr_get(&local, APR_LOCAL, *psock), APR_SUCCESS);
    return local->port;
}

/* http-01 first, but its answer cannot be fetched on the local port where
 * port 80 arrives (the pre-check): the next type, dns-01, is used instead,
 * and no http-01 challenge goes to the CA. */
static void test_fall_through_to_dns01(void **state)
{
    drive_t d;
    apr_socket_t *sock;
    const char *log;

    drive_setup(&d, *state);
    log = apr_pstrcat(d.p, d.dir, "/dns01.log", NULL);
    d.env.http_port = refused_port(&sock, d.p);
    d.env.http_host = "127.0.0.1";
    d.ca->with_dns01 = 1;
    d.md->dns01_cmd = fx_strs(d.p, "/bin/sh", "-c", apr_psprintf(d.p,
                              "echo \"$0 $1 $2\" >> %s", log), NULL);

    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->dns01_posted, 2);
    assert_int_equal(d.ca->challenges_posted, 2);
    assert_int_equal(count_lines(log, "setup ", 0), 2);
    assert_int_equal(count_lines(log, "teardown ", 0), 2);
    assert_staged_cert(&d, spec_at(&d, 0), NULL);
    apr_socket_close(sock);
}

/* Only port 443 reaches us and the MD's hosts have acme-tls/1: the CA's
 * tls-alpn-01 challenges are answered with a certificate per name in the
 * store (there when MDMessageCmd challenge-setup runs), removed after. */
static void test_tls_alpn01_certificates(void **state)
{
    drive_t d;
    md_watch_cfg_t cfg;
    const char *log;

    drive_setup(&d, *state);
    log = apr_pstrcat(d.p, d.dir, "/setup.log", NULL);
    d.env.http_port = 0;
    d.env.https_port = 443;
    d.md->acme_tls_1_domains = fx_strs(d.p, "a.test", "www.a.test", NULL, NULL);
    d.ca->with_dns01 = 1;           /* offered, not configured: not used */
    d.ca->with_tls_alpn01 = 1;
    memset(&cfg, 0, sizeof(cfg));
    cfg.message_argv = fx_strs(d.p, "/bin/sh", "-c", apr_psprintf(d.p,
        "case \"$0\" in challenge-setup:*) ls %s/md/challenges/$1 | sed \"s/^/$0 /\" >> %s;; "
        "esac", d.dir, log), NULL);
    d.env.watch = md_watch_create(d.p, d.store, apr_array_make(d.p, 1, sizeof(void *)), &cfg);

    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->tls_alpn01_posted, 2);
    assert_int_equal(d.ca->challenges_posted, 2);
    assert_int_equal(count_lines(log, "challenge-setup:tls-alpn-01:a.test "
                                 MD_FN_TLSALPN01_PREFIX "pubcert", 0), 1);
    assert_int_equal(count_lines(log, "challenge-setup:tls-alpn-01:www.a.test "
                                 MD_FN_TLSALPN01_PREFIX "pubcert", 0), 1);
    assert_true(count_lines(log, "challenge-setup:tls-alpn-01:a.test "
                            MD_FN_TLSALPN01_PREFIX "privkey", 0) >= 1);
    assert_false(md_store_exists(d.store, MD_SG_CHALLENGES, "a.test", MD_FN_TLSALPN01_CERT,
                                 d.p));
    assert_false(md_store_exists(d.store, MD_SG_CHALLENGES, "a.test",
                                 MD_FN_TLSALPN01_PREFIX "pubcert.p-256.pem", d.p));
    assert_staged_cert(&d, spec_at(&d, 0), NULL);
}

/* --- external account binding ---------------------------------------------------- */

/* A CA that requires a binding: none configured, the attempt fails saying
 * so before any account or order; with MDExternalAccountBinding the new
 * account carries it; another binding later gets an account of its own
 * (RFC 8555 §7.3.4: an account belongs to its binding). */
static void test_eab_required_and_bound(void **state)
{
    drive_t d;

    drive_setup(&d, *state);
    d.ca->eab_required = 1;
    attempt_fails(&d, 1, PROBLEM("externalAccountRequired"));
    assert_int_equal(d.ca->acct_ctr, 0);
    assert_int_equal(d.ca->orders_created, 0);

    d.md->ca_eab_kid = "kid-1";
    d.md->ca_eab_hmac = "c2VjcmV0LWtleS1mb3ItdGhlLXRlc3Qtb2YtZWFi";
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->acct_ctr, 1);
    assert_non_null(d.ca->new_acct_eab_kid);
    assert_string_equal(d.ca->new_acct_eab_kid, "kid-1");

    /* the next renewal with another binding */
    assert_int_equal(md_store_purge(d.store, MD_SG_STAGING, MDNAME, d.p), APR_SUCCESS);
    d.md->ca_eab_kid = "kid-2";
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->acct_ctr, 2);
    assert_string_equal(d.ca->new_acct_eab_kid, "kid-2");
    assert_string_equal(d.ca->last_kid, FX_CA_URL "/acct/2");
}

/* --- renewing a live certificate (ARI, RFC 9773) ---------------------------------- */

/* An MD with a live certificate at a CA with renewalInfo: its newOrder
 * says which certificate it replaces; a CA that refuses that (replaced
 * already, another account's) still gets the order, without "replaces". */
static void test_replaces_the_live_certificate(void **state)
{
    drive_t d;
    md_reg_state_t *st;
    apr_array_header_t *states;
    apr_array_header_t *live;
    apr_time_t now = apr_time_now();

    drive_setup(&d, *state);
    d.ca->with_ari_profiles = 1;
    live = fx_chain_issue(d.ca->issuer, d.md->domains, fx_key_ec(d.p),
                          now - apr_time_from_sec(80 * MD_SECS_PER_DAY),
                          now + apr_time_from_sec(10 * MD_SECS_PER_DAY), d.p);
    assert_int_equal(md_store_save_certs(d.store, MD_SG_DOMAINS, MDNAME,
                                         md_reg_cert_fname(spec_at(&d, 0), d.p), live, d.p),
                     APR_SUCCESS);
    st = apr_pcalloc(d.p, sizeof(*st));
    st->md = d.md;
    st->has_cert = 1;
    st->valid_from = now - apr_time_from_sec(80 * MD_SECS_PER_DAY);
    st->valid_until = now + apr_time_from_sec(10 * MD_SECS_PER_DAY);
    states = apr_array_make(d.p, 1, sizeof(md_reg_state_t *));
    APR_ARRAY_PUSH(states, md_reg_state_t *) = st;
    d.env.watch = md_watch_create(d.p, d.store, states, NULL);

    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->replaces_seen, 1);
    assert_non_null(d.ca->last_replaces);
    assert_non_null(strchr(d.ca->last_replaces, '.'));  /* keyIdentifier.serial */

    /* the next renewal, at a CA that will not have it replaced */
    assert_int_equal(md_store_purge(d.store, MD_SG_STAGING, MDNAME, d.p), APR_SUCCESS);
    d.ca->refuse_replaces = 1;
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->replaces_seen, 2);
    assert_int_equal(d.ca->orders_created, 2);
    assert_null(d.ca->last_replaces);
    assert_staged_cert(&d, spec_at(&d, 0), NULL);
}

/* MDProfile: newOrder asks for a profile the CA offers; one it does not
 * offer is left out, unless MDProfileMandatory, which fails before any
 * order, saying why. */
static void test_profile_requested(void **state)
{
    drive_t d;
    apr_status_t rv;

    drive_setup(&d, *state);
    d.ca->with_ari_profiles = 1;     /* offers "classic" and "shortlived" */
    d.md->profile = "shortlived";
    attempt_succeeds(&d, FX_CA_DIR);
    assert_non_null(d.ca->last_profile);
    assert_string_equal(d.ca->last_profile, "shortlived");

    assert_int_equal(md_store_purge(d.store, MD_SG_STAGING, MDNAME, d.p), APR_SUCCESS);
    d.md->profile = "tlsserver";
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->orders_created, 2);
    assert_null(d.ca->last_profile);

    assert_int_equal(md_store_purge(d.store, MD_SG_STAGING, MDNAME, d.p), APR_SUCCESS);
    d.md->profile_mandatory = 1;
    rv = attempt_fails(&d, 1, NULL);
    assert_int_equal(rv, APR_EINVAL);
    assert_int_equal(d.ca->orders_created, 2);
    assert_non_null(strstr(d.result->detail, "tlsserver"));
}

/* --- vetoes: nothing is asked of the CA -------------------------------------- */

/* MDMessageCmd failing on "renewing" vetoes the attempt. */
static void test_veto_by_message_cmd(void **state)
{
    drive_t d;
    md_watch_cfg_t cfg;
    const char *log;
    const char *err;
    char line[256];
    FILE *f;

    drive_setup(&d, *state);
    log = apr_pstrcat(d.p, d.dir, "/messages", NULL);
    memset(&cfg, 0, sizeof(cfg));
    cfg.message_argv = fx_strs(d.p, "/bin/sh", "-c", apr_psprintf(d.p,
        "echo \"$0 $1\" >> %s; test \"$0\" != renewing", log), NULL);
    d.env.watch = md_watch_create(d.p, d.store, apr_array_make(d.p, 1, sizeof(void *)), &cfg);

    attempt_fails(&d, 1, NULL);
    assert_int_equal(d.ca->requests, 0);
    assert_non_null(d.result->detail);
    assert_non_null(strstr(d.result->detail, "renewal vetoed"));
    assert_false(staged(&d, MD_FN_ORDER));
    /* the program was asked, and told of the error afterwards */
    f = fopen(log, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    assert_string_equal(line, "renewing " MDNAME "\n");
    fclose(f);
    err = md_json_get_str(md_json_get_obj(staged_json(&d, MD_FN_JOB), MD_KEY_LAST),
                          MD_KEY_DETAIL);
    assert_non_null(err);
    assert_non_null(strstr(err, "renewal vetoed"));
}

/* No challenge type can work (neither port 80 nor 443 served, no dns-01
 * program): refused before any order, saying why. */
static void test_veto_no_challenge_type(void **state)
{
    drive_t d;

    drive_setup(&d, *state);
    d.env.http_port = 0;
    d.env.https_port = 0;
    attempt_fails(&d, 1, MD_PROBLEM_CHALLENGE_MISMATCH);
    assert_int_equal(d.ca->requests, 0);
    assert_non_null(d.result->detail);
    assert_false(staged(&d, MD_FN_ORDER));
}

/* md_store.json unreadable (corrupt, or not restored from a backup): the
 * store opens without its key; nothing is asked of the CA, the reason is
 * recorded, nothing staged is lost, and with the file back the saved
 * order is resumed. */
static void test_refused_without_store_key(void **state)
{
    drive_t d;
    apr_status_t rv;
    const char *path;
    const char *saved;
    size_t len = 0;
    int requests;

    drive_setup(&d, *state);
    d.ca->down_path = "/chall/";
    rv = attempt_fails(&d, 1, NULL);
    assert_saved_order(&d, 1, "pending");

    path = apr_pstrcat(d.p, d.dir, "/md/md_store.json", NULL);
    saved = file_get(path, &len, d.p);
    file_put(path, "{\"store\": ", 10);
    assert_int_equal(md_store_fs_open(&d.store, d.p, apr_pstrcat(d.p, d.dir, "/md", NULL)),
                     APR_SUCCESS);
    assert_null(d.store->key);
    d.env.store = d.store;
    d.ca->down_path = NULL;
    requests = d.ca->requests;
    rv = attempt_fails(&d, 2, NULL);
    assert_int_equal(rv, APR_EACCES);
    assert_int_equal(d.ca->requests, requests);
    assert_non_null(strstr(d.result->detail, "store key"));
    assert_non_null(strstr(d.result->detail, "md_store.json"));
    assert_saved_order(&d, 1, "pending");

    file_put(path, saved, len);
    assert_int_equal(md_store_fs_open(&d.store, d.p, apr_pstrcat(d.p, d.dir, "/md", NULL)),
                     APR_SUCCESS);
    assert_non_null(d.store->key);
    d.env.store = d.store;
    attempt_succeeds(&d, FX_CA_DIR);
    assert_int_equal(d.ca->orders_created, 1);
    assert_int_equal(d.ca->acct_ctr, 1);
    assert_staged_cert(&d, spec_at(&d, 0), NULL);
}

/* MDMessageCmd failing on "challenge-setup:http-01:<name>" vetoes the
 * attempt before the CA is asked to validate: no challenge answered. */
static void test_veto_by_challenge_setup(void **state)
{
    drive_t d;
    md_watch_cfg_t cfg;

    drive_setup(&d, *state);
    memset(&cfg, 0, sizeof(cfg));
    cfg.message_argv = fx_strs(d.p, "/bin/sh", "-c",
                               "case \"$0\" in challenge-setup:*) exit 1;; esac", NULL);
    d.env.watch = md_watch_create(d.p, d.store, apr_array_make(d.p, 1, sizeof(void *)), &cfg);

    attempt_fails(&d, 1, NULL);
    assert_int_equal(d.ca->challenges_posted, 0);
    assert_int_equal(d.ca->finalizes, 0);
    assert_int_equal(d.ca->orders[1].challenged, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_full_renewal_stages_every_spec),
        UNIT_TEST(test_resume_pending_order),
        UNIT_TEST(test_resume_ready_order),
        UNIT_TEST(test_resume_processing_order),
        UNIT_TEST(test_resume_valid_order),
        UNIT_TEST(test_resume_second_spec_only),
        UNIT_TEST(test_saved_order_kept_while_ca_down_dropped_when_forgotten),
        UNIT_TEST(test_lost_key_orders_anew),
        UNIT_TEST(test_corrupt_key_orders_anew),
        UNIT_TEST(test_invalid_order_recorded_then_new_order),
        UNIT_TEST(test_saved_order_gone_invalid_orders_anew),
        UNIT_TEST(test_foreign_certificate_not_staged),
        UNIT_TEST(test_staged_set_dropped_when_config_changes),
        UNIT_TEST(test_saved_order_for_other_names_orders_anew),
        UNIT_TEST(test_corrupt_saved_order_orders_anew),
        UNIT_TEST(test_restaged_set_keeps_its_account),
        UNIT_TEST(test_restaged_set_knows_valid_from),
        UNIT_TEST(test_forgotten_account_new_account_new_order),
        UNIT_TEST(test_failover_to_second_ca),
        UNIT_TEST(test_bad_nonces_within_the_limit),
        UNIT_TEST(test_bad_nonces_beyond_the_limit),
        UNIT_TEST(test_rate_limited_order_retried_after),
        UNIT_TEST(test_concurrent_drives_share_one_account),
        UNIT_TEST(test_dns01_through_the_program),
        UNIT_TEST(test_tls_alpn01_certificates),
        UNIT_TEST(test_fall_through_to_dns01),
        UNIT_TEST(test_eab_required_and_bound),
        UNIT_TEST(test_replaces_the_live_certificate),
        UNIT_TEST(test_profile_requested),
        UNIT_TEST(test_veto_by_message_cmd),
        UNIT_TEST(test_veto_no_challenge_type),
        UNIT_TEST(test_veto_by_challenge_setup),
        UNIT_TEST(test_refused_without_store_key),
    };
    return UNIT_RUN(tests);
}
