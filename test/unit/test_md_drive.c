/* Unit tests: the CA an attempt uses (md_drive_ca_url, MDRetryFailover)
 * and the account selection concurrent drives share (md_drive_accts.c). */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "unit.h"
#include "md.h"
#include "md_acme.h"
#include "md_acme_int.h"
#include "md_drive.h"
#include "md_drive_share.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_sched.h"
#include "md_store.h"
#include "fixtures/fx.h"

#define CA1 "https://ca1.test/dir"
#define CA2 "https://ca2.test/dir"
#define CA3 "https://ca3.test/dir"

static md_t *md_with_cas(apr_pool_t *p, const char *effective, int n)
{
    static const char *const urls[] = { CA1, CA2, CA3 };
    md_t *md = md_create_empty(p);
    int i;

    md->name = "a.test";
    md->ca_urls = apr_array_make(p, 3, sizeof(const char *));
    for (i = 0; i < n; ++i) {
        APR_ARRAY_PUSH(md->ca_urls, const char *) = urls[i];
    }
    md->ca_effective = effective;
    return md;
}

static void test_ca_url_failover(void **state)
{
    apr_pool_t *p = *state;
    md_t *one = md_with_cas(p, NULL, 1);
    md_t *three = md_with_cas(p, NULL, 3);
    md_t *sticky = md_with_cas(p, CA2, 3);
    md_t *gone = md_with_cas(p, "https://removed.test/dir", 2);

    /* one CA: always that one */
    assert_string_equal(md_drive_ca_url(one, 0, 2), CA1);
    assert_string_equal(md_drive_ca_url(one, 100, 2), CA1);
    /* three CAs, failover after 2 errors, round the list */
    assert_string_equal(md_drive_ca_url(three, 0, 2), CA1);
    assert_string_equal(md_drive_ca_url(three, 1, 2), CA1);
    assert_string_equal(md_drive_ca_url(three, 2, 2), CA2);
    assert_string_equal(md_drive_ca_url(three, 3, 2), CA2);
    assert_string_equal(md_drive_ca_url(three, 4, 2), CA3);
    assert_string_equal(md_drive_ca_url(three, 6, 2), CA1);
    assert_string_equal(md_drive_ca_url(three, 2000000001, 2), CA2);
    /* failover 0: never */
    assert_string_equal(md_drive_ca_url(three, 50, 0), CA1);
    /* the CA that issued last comes first */
    assert_string_equal(md_drive_ca_url(sticky, 0, 1), CA2);
    assert_string_equal(md_drive_ca_url(sticky, 1, 1), CA3);
    assert_string_equal(md_drive_ca_url(sticky, 2, 1), CA1);
    /* one no longer configured is not used */
    assert_string_equal(md_drive_ca_url(gone, 0, 1), CA1);
}

/* --- shared accounts ------------------------------------------------------ */

static md_store_t *store_make(apr_pool_t *p)
{
    return fx_store_make("test_md_drive", NULL, p);
}

static apr_array_header_t *strs(apr_pool_t *p, const char *s1, const char *s2)
{
    return fx_strs(p, s1, s2, NULL, NULL);
}

/* An account of ca_url as the store holds it after a registration. */
static void acct_store(md_store_t *store, const char *id, const char *ca_url,
                       apr_array_header_t *contacts, apr_pool_t *p)
{
    md_acme_acct_t acct;
    md_pkey_t *key = fx_key_ec(p);

    memset(&acct, 0, sizeof(acct));
    acct.url = apr_pstrcat(p, ca_url, "/acct/", id, NULL);
    acct.ca_url = ca_url;
    acct.status = "valid";
    acct.contacts = contacts;
    assert_int_equal(md_store_save_pkey(store, MD_SG_ACCOUNTS, id, MD_FN_ACCT_KEY, key, p),
                     APR_SUCCESS);
    assert_int_equal(md_store_save_json(store, MD_SG_ACCOUNTS, id, MD_FN_ACCOUNT,
                                        md_json_pool_own(p, md_acme_acct_to_json(&acct)), p),
                     APR_SUCCESS);
}

static md_acme_t *acme_for(const char *url, md_store_t *store, apr_pool_t *p)
{
    md_acme_t *acme;

    assert_int_equal(md_acme_create(&acme, p, url, NULL, store), APR_SUCCESS);
    return acme;
}

static void test_accts_remembered_per_ca_contacts_and_binding(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *store = store_make(p);
    apr_array_header_t *c1 = strs(p, "mailto:a@x.test", "mailto:b@x.test");
    apr_array_header_t *c1_other_order = strs(p, "mailto:b@x.test", "mailto:a@x.test");
    apr_array_header_t *c2 = strs(p, "mailto:c@x.test", NULL);
    md_drive_share_t *share;
    md_acme_t *acme;

    acct_store(store, "ACME-ca1.test-0000", CA1, c1, p);
    assert_int_equal(md_drive_share_create(&share, p), APR_SUCCESS);

    md_drive_share_lock(share);
    acme = acme_for(CA1, store, p);
    assert_int_equal(md_drive_share_acct_get(share, acme, c1, p), APR_ENOENT);
    /* what a drive does after md_acme_acct_find/register succeeded */
    assert_int_equal(md_acme_acct_load(acme, "ACME-ca1.test-0000", p), APR_SUCCESS);
    md_drive_share_acct_put(share, acme, c1);

    /* the next drive gets it from the store, without the CA */
    acme = acme_for(CA1, store, p);
    assert_int_equal(md_drive_share_acct_get(share, acme, c1_other_order, p), APR_SUCCESS);
    assert_non_null(acme->acct);
    assert_string_equal(acme->acct->id, "ACME-ca1.test-0000");
    assert_non_null(acme->acct_key);
    /* other contacts or another CA: not this account */
    assert_int_equal(md_drive_share_acct_get(share, acme_for(CA1, store, p), c2, p), APR_ENOENT);
    assert_int_equal(md_drive_share_acct_get(share, acme_for(CA2, store, p), c1, p), APR_ENOENT);
    md_drive_share_unlock(share);

    /* another external account binding: not this account (RFC 8555 §7.3.4:
     * an account belongs to its binding) */
    {
        md_acme_eab_t eab1 = { "kid-1", (const unsigned char *)"k", 1, "HS256" };
        md_acme_eab_t eab2 = { "kid-2", (const unsigned char *)"k", 1, "HS256" };
        md_acme_t *with1 = acme_for(CA1, store, p);
        md_acme_t *with2 = acme_for(CA1, store, p);

        with1->eab = &eab1;
        with2->eab = &eab2;
        md_drive_share_lock(share);
        assert_int_equal(md_drive_share_acct_get(share, with1, c1, p), APR_ENOENT);
        assert_int_equal(md_acme_acct_load(with1, "ACME-ca1.test-0000", p), APR_SUCCESS);
        md_drive_share_acct_put(share, with1, c1);
        assert_int_equal(md_drive_share_acct_get(share, with2, c1, p), APR_ENOENT);
        with2 = acme_for(CA1, store, p);
        with2->eab = &eab1;
        assert_int_equal(md_drive_share_acct_get(share, with2, c1, p), APR_SUCCESS);
        md_drive_share_unlock(share);
    }

    /* refused by the CA: forgotten */
    md_drive_share_acct_forget(share, CA1);
    md_drive_share_lock(share);
    assert_int_equal(md_drive_share_acct_get(share, acme_for(CA1, store, p), c1, p), APR_ENOENT);
    md_drive_share_unlock(share);
}

static void test_accts_used_without_the_store(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *store = store_make(p);
    apr_array_header_t *c1 = strs(p, "mailto:a@x.test", NULL);
    md_drive_share_t *share;
    md_acme_t *acme;
    md_acme_t *next;
    apr_pool_t *drive;

    acct_store(store, "ACME-ca1.test-0000", CA1, c1, p);
    assert_int_equal(md_drive_share_create(&share, p), APR_SUCCESS);
    /* the first drive, in a pool of its own that is gone afterwards */
    apr_pool_create(&drive, p);
    acme = acme_for(CA1, store, drive);
    assert_int_equal(md_acme_acct_load(acme, "ACME-ca1.test-0000", drive), APR_SUCCESS);
    md_drive_share_lock(share);
    md_drive_share_acct_put(share, acme, c1);
    md_drive_share_unlock(share);
    apr_pool_destroy(drive);

    /* the key was taken into the share: the next drive needs no store read
     * (100 drives would otherwise decrypt it 100 times, one at a time) */
    assert_int_equal(md_store_purge(store, MD_SG_ACCOUNTS, "ACME-ca1.test-0000", p),
                     APR_SUCCESS);
    next = acme_for(CA1, store, p);
    md_drive_share_lock(share);
    assert_int_equal(md_drive_share_acct_get(share, next, c1, p), APR_SUCCESS);
    md_drive_share_unlock(share);
    assert_string_equal(next->acct->id, "ACME-ca1.test-0000");
    assert_string_equal(next->acct->url, CA1 "/acct/ACME-ca1.test-0000");
    assert_non_null(next->acct_key);
    assert_int_equal(md_pkey_type(next->acct_key), MD_PKEY_TYPE_EC);
}

/* A rolled-over account key (a2md acme keychange writes account.pem anew)
 * is not used from the share any more: the next drive loads the new one. */
static void test_accts_key_rollover_reloads(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *store = store_make(p);
    apr_array_header_t *c1 = strs(p, "mailto:a@x.test", NULL);
    md_drive_share_t *share;
    md_pkey_t *new_key;
    md_acme_t *acme;

    acct_store(store, "ACME-ca1.test-0000", CA1, c1, p);
    assert_int_equal(md_drive_share_create(&share, p), APR_SUCCESS);
    acme = acme_for(CA1, store, p);
    assert_int_equal(md_acme_acct_load(acme, "ACME-ca1.test-0000", p), APR_SUCCESS);
    md_drive_share_lock(share);
    md_drive_share_acct_put(share, acme, c1);
    assert_int_equal(md_drive_share_acct_get(share, acme_for(CA1, store, p), c1, p),
                     APR_SUCCESS);
    md_drive_share_unlock(share);

    apr_sleep(apr_time_from_msec(10));
    new_key = fx_key_ec(p);
    assert_int_equal(md_store_save_pkey(store, MD_SG_ACCOUNTS, "ACME-ca1.test-0000",
                                        MD_FN_ACCT_KEY, new_key, p), APR_SUCCESS);
    md_drive_share_lock(share);
    assert_int_equal(md_drive_share_acct_get(share, acme_for(CA1, store, p), c1, p),
                     APR_ENOENT);
    /* loaded again (as md_acme_acct_find would) and remembered anew */
    acme = acme_for(CA1, store, p);
    assert_int_equal(md_acme_acct_load(acme, "ACME-ca1.test-0000", p), APR_SUCCESS);
    md_drive_share_acct_put(share, acme, c1);
    acme = acme_for(CA1, store, p);
    assert_int_equal(md_drive_share_acct_get(share, acme, c1, p), APR_SUCCESS);
    md_drive_share_unlock(share);
    assert_true(json_equal(md_json_pool_own(p, md_pkey_to_jwk(acme->acct_key)),
                           md_json_pool_own(p, md_pkey_to_jwk(new_key))));
}

/* Threads selecting at once: the selection is serialized. */
typedef struct {
    md_drive_share_t *accts;
    int *inside;
    int *max_inside;
} race_t;

static void *APR_THREAD_FUNC racer(apr_thread_t *t, void *data)
{
    race_t *r = data;
    int i;

    for (i = 0; i < 200; ++i) {
        md_drive_share_lock(r->accts);
        ++*r->inside;
        if (*r->inside > *r->max_inside) {
            *r->max_inside = *r->inside;
        }
        apr_sleep(10);
        --*r->inside;
        md_drive_share_unlock(r->accts);
    }
    (void)t;
    return NULL;   /* not apr_thread_exit: pthread_exit unwinding upsets ASan */
}

static void test_accts_lock_serializes(void **state)
{
    apr_pool_t *p = *state;
    apr_thread_t *threads[8];
    int inside = 0;
    int max_inside = 0;
    race_t r;
    apr_status_t trv;
    int i;

    assert_int_equal(md_drive_share_create(&r.accts, p), APR_SUCCESS);
    r.inside = &inside;
    r.max_inside = &max_inside;
    for (i = 0; i < 8; ++i) {
        assert_int_equal(apr_thread_create(&threads[i], NULL, racer, &r, p), APR_SUCCESS);
    }
    for (i = 0; i < 8; ++i) {
        apr_thread_join(&trv, threads[i]);
    }
    assert_int_equal(max_inside, 1);
}

static void test_share_directories(void **state)
{
    apr_pool_t *p = *state;
    md_drive_share_t *share;
    md_acme_t *acme;
    md_result_t *result = md_result_make(p, NULL);
    json_t *dir;
    const char *text = "{\"newNonce\": \"https://ca1.test/nonce\", "
                       "\"newAccount\": \"https://ca1.test/acct\", "
                       "\"newOrder\": \"https://ca1.test/order\", "
                       "\"meta\": {\"termsOfService\": \"https://ca1.test/tos\"}}";

    assert_int_equal(md_drive_share_create(&share, p), APR_SUCCESS);
    assert_null(md_drive_share_dir_get(share, CA1, p));
    md_drive_share_dir_put(share, CA1, text);
    assert_null(md_drive_share_dir_get(share, CA2, p));
    dir = md_drive_share_dir_get(share, CA1, p);
    assert_non_null(dir);

    /* a session set up from it needs no GET */
    assert_int_equal(md_acme_create(&acme, p, CA1, NULL, NULL), APR_SUCCESS);
    assert_int_equal(md_acme_setup_from(acme, dir, result), APR_SUCCESS);
    assert_string_equal(acme->url_new_order, "https://ca1.test/order");
    assert_string_equal(acme->tos, "https://ca1.test/tos");

    /* replaced by a newer one; a broken document is refused by the setup */
    md_drive_share_dir_put(share, CA1, "{\"newNonce\": \"https://ca1.test/nonce\"}");
    dir = md_drive_share_dir_get(share, CA1, p);
    assert_non_null(dir);
    assert_int_equal(md_acme_create(&acme, p, CA1, NULL, NULL), APR_SUCCESS);
    assert_int_equal(md_acme_setup_from(acme, dir, result), APR_EINVAL);
    assert_null(acme->url_new_order);
    md_drive_share_dir_put(share, CA1, "not json");
    assert_null(md_drive_share_dir_get(share, CA1, p));
}

/* An MD the configuration found unusable (a name the CA will refuse) is
 * not ordered; the attempt fails at once, saying why in the job. */
static void test_config_problem_recorded(void **state)
{
    apr_pool_t *p = *state;
    md_drive_env_t env;
    md_store_t *store = store_make(p);
    md_t *md = md_with_cas(p, NULL, 1);
    md_result_t *result = md_result_make(p, md->name);
    md_job_t *job = md_job_create(p, md->name);
    json_t *j = NULL;
    apr_time_t now = apr_time_now();

    memset(&env, 0, sizeof(env));
    env.store = store;
    APR_ARRAY_PUSH(md->domains, const char *) = "invalid!.a.test";
    md->config_problem = "MDomain invalid!.a.test (httpd.conf:3): not a valid DNS name";
    md->config_problem_type = "urn:ietf:params:acme:error:rejectedIdentifier";

    assert_int_equal(md_drive_renew(&env, md, NULL, job, result, p), APR_EINVAL);
    assert_string_equal(result->problem, md->config_problem_type);
    assert_string_equal(result->detail, md->config_problem);
    assert_int_equal(job->errors, 1);
    assert_false(job->finished);
    /* the CA would refuse it the same way tomorrow: the cap */
    assert_true(job->next_run >= now + MD_SCHED_RETRY_MAX - apr_time_from_sec(5));
    /* what md-status shows */
    assert_int_equal(md_store_load_json(store, MD_SG_STAGING, md->name, MD_FN_JOB, &j, p),
                     APR_SUCCESS);
    assert_string_equal(md_json_get_str(md_json_get_obj(j, "last"), "problem"),
                        md->config_problem_type);
    assert_non_null(md_json_get_str(md_json_get_obj(j, "last"), "status-description"));
    assert_string_equal(md_json_get_str(json_array_get(md_json_get_array(
        md_json_get_obj(j, "log"), "entries"), 0), "type"), "renewal-error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_ca_url_failover),
        UNIT_TEST(test_accts_remembered_per_ca_contacts_and_binding),
        UNIT_TEST(test_accts_used_without_the_store),
        UNIT_TEST(test_accts_key_rollover_reloads),
        UNIT_TEST(test_accts_lock_serializes),
        UNIT_TEST(test_share_directories),
        UNIT_TEST(test_config_problem_recorded),
    };
    return UNIT_RUN(tests);
}
