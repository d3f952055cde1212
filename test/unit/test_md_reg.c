/* Unit tests of md_reg.c over a real file-system store in a temp dir:
 * sync of md.json, activation of staged sets, assessment, fallbacks, and
 * MDs with several key types (assessment per spec, which specs a renewal
 * orders, activation of a set that renewed only some of them). */
#include "unit.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include "fixtures/fx.h"
#include "md.h"
#include "md_credmemo.h"
#include "md_crypt.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_reg.h"
#include "md_store.h"
#include "md_util.h"

typedef struct {
    apr_pool_t *p;
    const char *dir;
    md_store_t *store;
    md_pkey_t *ec_key;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f;
    apr_pool_t *p;

    apr_pool_create(&p, NULL);
    f = apr_pcalloc(p, sizeof(*f));
    f->p = p;
    f->store = fx_store_make("test_md_reg", &f->dir, p);
    f->ec_key = fx_key_ec(p);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    apr_pool_destroy(f->p);     /* removes the temp dir */
    return 0;
}

static md_t *make_md(apr_pool_t *p, const char *name, const char *other)
{
    md_t *md = md_create_empty(p);

    md->name = name;
    md->domains = apr_array_make(p, 2, sizeof(const char *));
    APR_ARRAY_PUSH(md->domains, const char *) = name;
    if (other) {
        APR_ARRAY_PUSH(md->domains, const char *) = other;
    }
    md->ca_urls = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(md->ca_urls, const char *) = "https://127.0.0.1:1/dir";
    return md;
}

/* --- certificates as a CA issues them ------------------------------------
 * Staged sets go live only with a chain whose links verify and whose leaf
 * is not self-signed (md_reg_staged_verify): a test CA issues them. */

static apr_array_header_t *issued_chain(const apr_array_header_t *names, md_pkey_t *key,
                                        apr_interval_time_t valid_for, apr_pool_t *p)
{
    apr_time_t now = apr_time_now();
    return fx_chain_issue(fx_ca_make("Test CA", p), names, key, now, now + valid_for, p);
}

/* Put a certificate for names, signed by key, into group as the RSA-named
 * (default spec) files. */
static void put_cred(fixture_t *f, md_store_group_t group, const char *name,
                     const apr_array_header_t *names, md_pkey_t *key,
                     apr_interval_time_t valid_for)
{
    apr_array_header_t *chain = issued_chain(names, key, valid_for, f->p);

    assert_int_equal(md_store_save_pkey(f->store, group, name, MD_FN_PRIVKEY, key, f->p),
                     APR_SUCCESS);
    assert_int_equal(md_store_save_certs(f->store, group, name, MD_FN_PUBCERT, chain, f->p),
                     APR_SUCCESS);
}

/* The drive writes md.json into staging last: the set is finished. */
static void stage_finished(fixture_t *f, const md_t *md)
{
    assert_int_equal(md_store_save_json(f->store, MD_SG_STAGING, md->name, MD_FN_MD,
                                        md_to_json(md, f->p), f->p),
                     APR_SUCCESS);
}

static const char *read_file(fixture_t *f, const char *rel)
{
    char *data = NULL;
    apr_file_t *fd;
    apr_finfo_t fi;
    apr_size_t len;
    const char *path = apr_pstrcat(f->p, f->dir, "/md/", rel, NULL);

    if (apr_file_open(&fd, path, APR_FOPEN_READ, 0, f->p) != APR_SUCCESS) {
        return NULL;
    }
    apr_file_info_get(&fi, APR_FINFO_SIZE, fd);
    len = (apr_size_t)fi.size;
    data = apr_pcalloc(f->p, len + 1);
    apr_file_read_full(fd, data, len, &len);
    apr_file_close(fd);
    return data;
}

static void test_fnames(void **state)
{
    fixture_t *f = *state;
    md_pkey_spec_t rsa = { MD_PKEY_TYPE_RSA, 3072, NULL };
    md_pkey_spec_t ec = { MD_PKEY_TYPE_EC, 0, "P-384" };

    assert_string_equal(md_reg_pkey_fname(NULL, f->p), "privkey.pem");
    assert_string_equal(md_reg_cert_fname(&rsa, f->p), "pubcert.pem");
    md_pkey_spec_t ec2 = { MD_PKEY_TYPE_EC, 0, "secp384r1" };
    const char *kname, *cname;

    /* as the stock module: the curve as written, lower case */
    assert_string_equal(md_reg_pkey_fname(&ec, f->p), "privkey.p-384.pem");
    assert_string_equal(md_reg_cert_fname(&ec, f->p), "pubcert.p-384.pem");
    assert_string_equal(md_reg_pkey_fname(&ec2, f->p), "privkey.secp384r1.pem");

    /* readers find a store written with another spelling of the curve;
     * the return says whether the certificate is there */
    assert_false(md_reg_find_fnames(&kname, &cname, f->store, MD_SG_DOMAINS, "f.test", &ec,
                                    f->p));
    assert_string_equal(cname, "pubcert.p-384.pem");
    assert_int_equal(md_store_save_text(f->store, MD_SG_DOMAINS, "f.test",
                                        "pubcert.secp384r1.pem", "x", f->p), APR_SUCCESS);
    assert_true(md_reg_find_fnames(&kname, &cname, f->store, MD_SG_DOMAINS, "f.test", &ec,
                                   f->p));
    assert_string_equal(cname, "pubcert.secp384r1.pem");
    assert_string_equal(kname, "privkey.secp384r1.pem");
    /* the written spelling wins when both are there */
    assert_int_equal(md_store_save_text(f->store, MD_SG_DOMAINS, "f.test",
                                        "pubcert.p-384.pem", "x", f->p), APR_SUCCESS);
    assert_true(md_reg_find_fnames(&kname, &cname, f->store, MD_SG_DOMAINS, "f.test", &ec,
                                   f->p));
    assert_string_equal(cname, "pubcert.p-384.pem");
    assert_false(md_reg_find_fnames(&kname, &cname, f->store, MD_SG_DOMAINS, "f.test", &rsa,
                                    f->p));
    assert_string_equal(cname, "pubcert.pem");
    assert_int_equal(md_store_save_text(f->store, MD_SG_DOMAINS, "f.test", "pubcert.pem", "x",
                                        f->p), APR_SUCCESS);
    assert_true(md_reg_find_fnames(&kname, &cname, f->store, MD_SG_DOMAINS, "f.test", &rsa,
                                   f->p));
}

static void test_sync_writes_md_json_and_keeps_account(void **state)
{
    fixture_t *f = *state;
    md_t *md = make_md(f->p, "a.test", "www.a.test");
    md_t *again = make_md(f->p, "a.test", "www.a.test");
    json_t *j;

    assert_int_equal(md_reg_sync(f->store, md, f->p), APR_SUCCESS);
    assert_int_equal(md_store_load_json(f->store, MD_SG_DOMAINS, "a.test", MD_FN_MD, &j, f->p),
                     APR_SUCCESS);
    assert_string_equal(md_json_get_str(j, MD_KEY_NAME), "a.test");

    /* The store knows the account in use; the config does not say it. */
    json_object_set_new(md_json_get_obj(j, MD_KEY_CA), MD_KEY_ACCOUNT,
                        json_string("ACME-127.0.0.1-0000"));
    assert_int_equal(md_store_save_json(f->store, MD_SG_DOMAINS, "a.test", MD_FN_MD, j, f->p),
                     APR_SUCCESS);
    assert_int_equal(md_reg_sync(f->store, again, f->p), APR_SUCCESS);
    assert_non_null(again->ca_account);
    assert_string_equal(again->ca_account, "ACME-127.0.0.1-0000");
}

/* md.json written anew keeps another module's members, never ours that
 * are unset now (a profile or account removed must not come back). */
static void test_md_json_keeps_foreign_only(void **state)
{
    apr_pool_t *p = *state;
    md_t *md = md_create_empty(p);
    json_t *stored = NULL;
    json_t *now;
    const char *text = "{\"name\": \"x.test\", \"domains\": [\"x.test\"], "
                       "\"profile\": \"shortlived\", \"proxy-url\": \"http://p:1\", "
                       "\"stock-only\": 7, \"ca\": {\"account\": \"A\", "
                       "\"challenges\": [\"dns-01\"], \"stock-ca\": true}}";

    md->name = "x.test";
    APR_ARRAY_PUSH(md->domains, const char *) = "x.test";
    assert_int_equal(md_json_parse(&stored, text, strlen(text), "t", NULL, p), APR_SUCCESS);
    now = md_reg_md_json(md, stored, p);
    assert_non_null(now);
    assert_int_equal(md_json_get_int(now, "stock-only", 0), 7);
    assert_true(md_json_get_bool(md_json_get_obj(now, MD_KEY_CA), "stock-ca", 0));
    assert_null(json_object_get(now, MD_KEY_PROFILE));
    assert_null(json_object_get(now, MD_KEY_PROXY_URL));
    assert_null(json_object_get(md_json_get_obj(now, MD_KEY_CA), MD_KEY_ACCOUNT));
    assert_null(json_object_get(md_json_get_obj(now, MD_KEY_CA), MD_KEY_CHALLENGES));
    /* nothing stored: just md's */
    assert_non_null(md_reg_md_json(md, NULL, p));
}

static void test_assess_missing_then_complete(void **state)
{
    fixture_t *f = *state;
    md_t *md = make_md(f->p, "a.test", "www.a.test");
    md_reg_state_t st;
    apr_time_t now = apr_time_now();

    md_reg_assess(&st, f->store, md, now, f->p);
    assert_int_equal(st.state, MD_S_INCOMPLETE);
    assert_false(st.has_cert);
    assert_non_null(strstr(st.state_descr, "missing"));

    put_cred(f, MD_SG_DOMAINS, "a.test", md->domains, f->ec_key, apr_time_from_sec(90 * 86400));
    md_reg_assess(&st, f->store, md, now, f->p);
    assert_int_equal(st.state, MD_S_COMPLETE);
    assert_true(st.has_cert);
    /* 33% window of a ~91 day lifetime: renewal due about 30 days before the end. */
    assert_true(st.renew_at > now);
    assert_true(st.renew_at < st.valid_until - apr_time_from_sec(29 * 86400));

    /* A name the certificate does not cover makes the MD incomplete. */
    APR_ARRAY_PUSH(md->domains, const char *) = "new.a.test";
    md_reg_assess(&st, f->store, md, now, f->p);
    assert_int_equal(st.state, MD_S_INCOMPLETE);
    assert_non_null(strstr(st.state_descr, "cover"));
}

/* The memo answers for bytes it has seen and only for those: a key replaced
 * by garbage or a new certificate is parsed again; names the certificate
 * was not checked against are checked. */
static void test_assess_memo(void **state)
{
    fixture_t *f = *state;
    md_t *md = make_md(f->p, "a.test", "www.a.test");
    md_credmemo_t *memo = md_credmemo_create(f->p);
    md_reg_state_t st, again;
    apr_time_t now = apr_time_now();
    const char *digest, *kname, *cname;
    md_pkey_spec_t spec = { MD_PKEY_TYPE_RSA, 0, NULL };

    put_cred(f, MD_SG_DOMAINS, "a.test", md->domains, f->ec_key, apr_time_from_sec(90 * 86400));
    md_credmemo_begin(memo, f->store, 1, f->p);
    assert_int_equal(md_credmemo_count(memo), 0);
    md_reg_assess_memo(&st, f->store, md, now, memo, f->p);
    assert_int_equal(st.state, MD_S_COMPLETE);
    md_reg_find_fnames(&kname, &cname, f->store, MD_SG_DOMAINS, md->name, &spec, f->p);
    digest = md_credmemo_digest(memo, f->store, MD_SG_DOMAINS, md->name, kname, cname, f->p);
    assert_non_null(digest);
    assert_non_null(md_credmemo_find(memo, digest));
    md_credmemo_end(memo, f->store, 1, f->p);
    assert_non_null(read_file(f, MD_FN_CRED_MEMO));

    /* a new memo from the store: same answer, from the entry */
    memo = md_credmemo_create(f->p);
    md_credmemo_begin(memo, f->store, 1, f->p);
    assert_int_equal(md_credmemo_count(memo), 1);
    assert_non_null(md_credmemo_find(memo, digest));
    md_reg_assess_memo(&again, f->store, md, now, memo, f->p);
    assert_int_equal(again.state, MD_S_COMPLETE);
    assert_true(again.valid_until == st.valid_until);
    assert_int_equal(again.live_certs->nelts, 1);
    assert_string_equal(MD_ARR_IDX(again.live_certs, 0, md_live_cert_t *)->status_json,
                        MD_ARR_IDX(st.live_certs, 0, md_live_cert_t *)->status_json);

    /* a name added: checked, not taken from the memo */
    APR_ARRAY_PUSH(md->domains, const char *) = "new.a.test";
    md_reg_assess_memo(&again, f->store, md, now, memo, f->p);
    assert_int_equal(again.state, MD_S_INCOMPLETE);
    assert_non_null(strstr(again.state_descr, "new.a.test"));
    apr_array_pop(md->domains);

    /* garbage in place of the key: not a hit, the key does not load */
    assert_int_equal(md_store_save_text(f->store, MD_SG_DOMAINS, md->name, kname,
                                        "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n"
                                        "-----END PRIVATE KEY-----\n", f->p), APR_SUCCESS);
    md_reg_assess_memo(&again, f->store, md, now, memo, f->p);
    assert_false(again.has_cert);
    assert_non_null(strstr(again.state_descr, "private key"));
}

static void test_activate_moves_staging_into_domains(void **state)
{
    fixture_t *f = *state;
    md_t *md = make_md(f->p, "a.test", NULL);
    md_pkey_spec_t spec = { MD_PKEY_TYPE_EC, 0, "P-256" };
    md_pkey_t *newkey;
    md_reg_state_t st;
    int activated = -1;
    const char *live, *staged;
    struct stat sb;

    put_cred(f, MD_SG_DOMAINS, "a.test", md->domains, f->ec_key, apr_time_from_sec(86400));
    assert_int_equal(md_pkey_gen(&newkey, f->p, &spec), APR_SUCCESS);
    put_cred(f, MD_SG_STAGING, "a.test", md->domains, newkey, apr_time_from_sec(90 * 86400));
    staged = read_file(f, "staging/a.test/pubcert.pem");
    /* Not finished yet: left alone. */
    assert_int_equal(md_reg_activate_staged(f->store, md, &activated, f->p), APR_SUCCESS);
    assert_false(activated);
    stage_finished(f, md);
    assert_non_null(strstr(read_file(f, "staging/a.test/privkey.pem"), "ENCRYPTED"));

    assert_int_equal(md_reg_activate_staged(f->store, md, &activated, f->p), APR_SUCCESS);
    assert_true(activated);
    live = read_file(f, "domains/a.test/pubcert.pem");
    assert_string_equal(live, staged);
    /* Live keys are plain (mod_ssl reads them) and root-only. */
    assert_null(strstr(read_file(f, "domains/a.test/privkey.pem"), "ENCRYPTED"));
    assert_int_equal(stat(apr_pstrcat(f->p, f->dir, "/md/domains/a.test/privkey.pem", NULL),
                          &sb), 0);
    assert_int_equal(sb.st_mode & 077, 0);
    assert_non_null(read_file(f, "domains/a.test/md.json"));
    /* The previous set is archived, staging is cleared. */
    assert_non_null(read_file(f, "archive/a.test.1/pubcert.pem"));
    assert_null(read_file(f, "staging/a.test/pubcert.pem"));

    md_reg_assess(&st, f->store, md, apr_time_now(), f->p);
    assert_int_equal(st.state, MD_S_COMPLETE);

    /* Nothing staged: nothing to do. */
    assert_int_equal(md_reg_activate_staged(f->store, md, &activated, f->p), APR_SUCCESS);
    assert_false(activated);
}

static void test_activate_keeps_account_of_staged_certificate(void **state)
{
    fixture_t *f = *state;
    md_t *md = make_md(f->p, "a.test", NULL);
    md_t *staged = make_md(f->p, "a.test", NULL);
    md_t *again = make_md(f->p, "a.test", NULL);
    int activated = -1;
    json_t *j;

    /* The drive records in staging's md.json which account and CA it used. */
    staged->ca_account = "ACME-127.0.0.1-0007";
    staged->ca_effective = "https://127.0.0.1:1/dir";
    assert_int_equal(md_store_save_json(f->store, MD_SG_STAGING, "a.test", MD_FN_MD,
                                        md_to_json(staged, f->p), f->p),
                     APR_SUCCESS);
    put_cred(f, MD_SG_STAGING, "a.test", md->domains, f->ec_key, apr_time_from_sec(86400));
    assert_int_equal(md_reg_activate_staged(f->store, md, &activated, f->p), APR_SUCCESS);
    assert_true(activated);
    assert_int_equal(md_store_load_json(f->store, MD_SG_DOMAINS, "a.test", MD_FN_MD, &j, f->p),
                     APR_SUCCESS);
    assert_string_equal(md_json_get_str(md_json_get_obj(j, MD_KEY_CA), MD_KEY_ACCOUNT),
                        "ACME-127.0.0.1-0007");
    assert_string_equal(md_json_get_str(md_json_get_obj(j, MD_KEY_CA), MD_KEY_URL),
                        "https://127.0.0.1:1/dir");
    /* and the config's MD learns them at the next sync */
    assert_int_equal(md_reg_sync(f->store, again, f->p), APR_SUCCESS);
    assert_string_equal(again->ca_account, "ACME-127.0.0.1-0007");
    assert_null(md->ca_account);
}

static void test_activate_incomplete_staging_is_left_alone(void **state)
{
    fixture_t *f = *state;
    md_t *md = make_md(f->p, "a.test", NULL);
    md_cert_t *cert;
    apr_array_header_t *chain = apr_array_make(f->p, 1, sizeof(md_cert_t *));
    int activated = -1;

    /* A certificate without its key: the child is still writing. */
    assert_int_equal(md_cert_self_sign(&cert, "a.test", md->domains, f->ec_key,
                                       apr_time_from_sec(86400), f->p), APR_SUCCESS);
    APR_ARRAY_PUSH(chain, md_cert_t *) = cert;
    assert_int_equal(md_store_save_certs(f->store, MD_SG_STAGING, "a.test", MD_FN_PUBCERT,
                                         chain, f->p), APR_SUCCESS);
    assert_int_equal(md_reg_activate_staged(f->store, md, &activated, f->p), APR_SUCCESS);
    assert_false(activated);
    assert_non_null(read_file(f, "staging/a.test/pubcert.pem"));
    assert_null(read_file(f, "domains/a.test/pubcert.pem"));
}

static void test_activate_discards_set_not_covering_names(void **state)
{
    fixture_t *f = *state;
    md_t *md = make_md(f->p, "a.test", "www.a.test");
    md_t *other = make_md(f->p, "a.test", NULL);
    int activated = -1;

    put_cred(f, MD_SG_STAGING, "a.test", other->domains, f->ec_key, apr_time_from_sec(86400));
    stage_finished(f, md);
    assert_int_not_equal(md_reg_activate_staged(f->store, md, &activated, f->p), APR_SUCCESS);
    assert_false(activated);
    assert_null(read_file(f, "staging/a.test/pubcert.pem"));
    assert_null(read_file(f, "domains/a.test/pubcert.pem"));
}

static void test_activate_after_crash_post_swap_only_clears_staging(void **state)
{
    fixture_t *f = *state;
    md_t *md = make_md(f->p, "a.test", NULL);
    int activated = -1;
    const char *cert;

    /* The swap happened, then the process died before clearing staging. */
    put_cred(f, MD_SG_STAGING, "a.test", md->domains, f->ec_key, apr_time_from_sec(86400));
    stage_finished(f, md);
    cert = read_file(f, "staging/a.test/pubcert.pem");
    assert_int_equal(md_reg_activate_staged(f->store, md, &activated, f->p), APR_SUCCESS);
    put_cred(f, MD_SG_STAGING, "a.test", md->domains, f->ec_key, apr_time_from_sec(86400));
    stage_finished(f, md);
    apr_file_remove(apr_pstrcat(f->p, f->dir, "/md/staging/a.test/pubcert.pem", NULL), f->p);
    apr_file_remove(apr_pstrcat(f->p, f->dir, "/md/staging/a.test/privkey.pem", NULL), f->p);
    assert_int_equal(md_store_save_text(f->store, MD_SG_STAGING, "a.test", MD_FN_PUBCERT,
                                        cert, f->p), APR_SUCCESS);
    assert_int_equal(md_store_save_pkey(f->store, MD_SG_STAGING, "a.test", MD_FN_PRIVKEY,
                                        f->ec_key, f->p), APR_SUCCESS);

    assert_int_equal(md_reg_activate_staged(f->store, md, &activated, f->p), APR_SUCCESS);
    assert_false(activated);
    assert_null(read_file(f, "staging/a.test/pubcert.pem"));
    assert_null(read_file(f, "archive/a.test.1/pubcert.pem"));
}

static void test_fallback_created_once_and_reused(void **state)
{
    fixture_t *f = *state;
    md_t *md = make_md(f->p, "a.test", "www.a.test");
    const char *kf, *cf, *first, *second;
    apr_array_header_t *chain;

    assert_int_equal(md_reg_fallback_files(&kf, &cf, f->store, md, f->ec_key, NULL, f->p),
                     APR_SUCCESS);
    assert_non_null(strstr(cf, "domains/a.test/fallback-pubcert.pem"));
    first = read_file(f, "domains/a.test/fallback-pubcert.pem");
    assert_int_equal(md_store_load_certs(f->store, MD_SG_DOMAINS, "a.test",
                                         MD_FN_FALLBACK_CERT, &chain, f->p), APR_SUCCESS);
    assert_true(md_cert_covers(MD_ARR_IDX(chain, 0, const md_cert_t *), md->domains));

    assert_int_equal(md_reg_fallback_files(&kf, &cf, f->store, md, f->ec_key, NULL, f->p),
                     APR_SUCCESS);
    second = read_file(f, "domains/a.test/fallback-pubcert.pem");
    assert_string_equal(first, second);

    /* New names: a new fallback. */
    APR_ARRAY_PUSH(md->domains, const char *) = "new.a.test";
    assert_int_equal(md_reg_fallback_files(&kf, &cf, f->store, md, f->ec_key, NULL, f->p),
                     APR_SUCCESS);
    assert_string_not_equal(first, read_file(f, "domains/a.test/fallback-pubcert.pem"));
}

/* A fallback made in one pass is in the memo for the next (the daemon's
 * pass right after the dry run): it is not read and parsed again there. */
static void test_fallback_made_is_remembered(void **state)
{
    fixture_t *f = *state;
    md_t *md = make_md(f->p, "a.test", "www.a.test");
    md_credmemo_t *memo = md_credmemo_create(f->p);
    md_credmemo_entry_t *entry;
    md_pkey_t *key;
    const char *kf, *cf, *kd, *cd, *digest, *made;

    /* the shared key, as the server has it: in the store */
    assert_int_equal(md_reg_fallback_key(&key, f->store, f->p), APR_SUCCESS);
    md_credmemo_begin(memo, f->store, 1, f->p);
    assert_int_equal(md_reg_fallback_files(&kf, &cf, f->store, md, key, memo, f->p),
                     APR_SUCCESS);
    made = read_file(f, "domains/a.test/fallback-pubcert.pem");
    assert_int_equal(md_store_digest(f->store, MD_SG_NONE, NULL, MD_FN_FALLBACK_PKEY, &kd, f->p),
                     APR_SUCCESS);
    assert_int_equal(md_store_digest(f->store, MD_SG_DOMAINS, "a.test", MD_FN_FALLBACK_CERT,
                                     &cd, f->p), APR_SUCCESS);
    digest = apr_pstrcat(f->p, kd, ".", cd, NULL);
    /* the shared key's digest was taken once for the pass */
    assert_string_equal(md_credmemo_base_digest(memo, f->store, MD_FN_FALLBACK_PKEY), kd);
    md_credmemo_end(memo, f->store, 1, f->p);

    memo = md_credmemo_create(f->p);
    md_credmemo_begin(memo, f->store, 1, f->p);
    entry = md_credmemo_find(memo, digest);
    assert_non_null(entry);
    assert_int_equal(md_credmemo_covers(entry, md->domains, f->p), 1);
    assert_int_equal(md_reg_fallback_files(&kf, &cf, f->store, md, key, memo, f->p),
                     APR_SUCCESS);
    assert_string_equal(read_file(f, "domains/a.test/fallback-pubcert.pem"), made);
}

/* The shared key's digest is read once per pass (the pass loaded the key
 * once), and again in the next pass. */
static void test_base_digest_once_per_pass(void **state)
{
    fixture_t *f = *state;
    md_credmemo_t *memo = md_credmemo_create(f->p);
    const char *first, *again;

    assert_int_equal(md_store_save_text(f->store, MD_SG_NONE, NULL, MD_FN_FALLBACK_PKEY,
                                        "one", f->p), APR_SUCCESS);
    md_credmemo_begin(memo, f->store, 1, f->p);
    first = md_credmemo_base_digest(memo, f->store, MD_FN_FALLBACK_PKEY);
    assert_non_null(first);
    assert_int_equal(md_store_save_text(f->store, MD_SG_NONE, NULL, MD_FN_FALLBACK_PKEY,
                                        "two", f->p), APR_SUCCESS);
    assert_string_equal(md_credmemo_base_digest(memo, f->store, MD_FN_FALLBACK_PKEY), first);
    md_credmemo_begin(memo, f->store, 1, f->p);
    again = md_credmemo_base_digest(memo, f->store, MD_FN_FALLBACK_PKEY);
    assert_non_null(again);
    assert_string_not_equal(again, first);
    assert_null(md_credmemo_base_digest(memo, f->store, "no-such-file.pem"));
}

/* --- what a pass takes by the store's versions of files --- */

/* Until the value has rested (md_store_version tells its version). */
static const char *rested(fixture_t *f, const char *name, const char *aspect)
{
    return fx_store_rested_version(f->store, MD_SG_DOMAINS, name, aspect, f->p);
}

/* Change a record of the memo as the store keeps it (md_credmemo.c: a line
 * "<kind>\t<key>\t<rest>"): what a pass takes from there unread shows. */
static void memo_plant(fixture_t *f, const char *kind, const char *key, const char *rest)
{
    const char *prefix = apr_pstrcat(f->p, "\n", kind, "\t", key, "\t", NULL);
    const char *text = NULL, *at, *eol;

    assert_int_equal(md_store_load_text(f->store, MD_SG_NONE, NULL, MD_FN_CRED_MEMO, &text,
                                        f->p), APR_SUCCESS);
    at = strstr(text, prefix);
    assert_non_null(at);
    eol = strchr(at + 1, '\n');
    text = apr_pstrcat(f->p, apr_pstrmemdup(f->p, text, (apr_size_t)(at - text)), prefix, rest,
                       eol ? eol : "\n", NULL);
    assert_int_equal(md_store_save_text(f->store, MD_SG_NONE, NULL, MD_FN_CRED_MEMO, text, f->p),
                     APR_SUCCESS);
}

/* The memo as the store keeps it: a record that is not what this code
 * writes is skipped (and so parsed again), the others stand; a file
 * without the first line (an older JSON memo) is not read at all. */
static void test_memo_text_skips_bad_records(void **state)
{
    fixture_t *f = *state;
    md_credmemo_t *memo;
    md_credmemo_entry_t *e;
    const char *good = "e\td1\t100\t200\tari-1\t1\ta.test www.a.test\t{\"serial\":\"01\"}\n";

    assert_int_equal(md_store_save_text(f->store, MD_SG_NONE, NULL, MD_FN_CRED_MEMO, apr_pstrcat(
        f->p, "md-cred-memo 1\n", good,
        "e\td2\t1x\t200\t\t1\ta.test\t{}\n",                /* from not a number */
        "e\td3\t100\t200\t\tyes\ta.test\t{}\n",             /* covers neither 0, 1 nor - */
        "e\td4\t100\t200\t\t-\t\n",                         /* no certificate */
        "e\td5\t100\t200\n",                                /* fields missing */
        "e\t\t100\t200\t\t-\t\t{}\n",                       /* no digest */
        "e\td6\t1234567890123456\t200\t\t-\t\t{}\n",        /* beyond year 9999 */
        "e\td9\t100\t20055555555555\t\t-\t\t{}\n",          /* so, and too many us */
        "e\td10\t100\t253402300800\t\t-\t\t{}\n",           /* 10000-01-01 */
        "x\td7\t100\t200\t\t-\t\t{}\n\n",                   /* not a record */
        "e\td8\t300\t400\t\t-\t\t{}", NULL), f->p), APR_SUCCESS);
    memo = md_credmemo_create(f->p);
    md_credmemo_begin(memo, f->store, 1, f->p);
    assert_int_equal(md_credmemo_count(memo), 2);
    e = md_credmemo_find(memo, "d1");
    assert_non_null(e);
    assert_true(md_credmemo_from(e) == apr_time_from_sec(100));
    assert_true(md_credmemo_until(e) == apr_time_from_sec(200));
    assert_int_equal(md_credmemo_covers(e, make_md(f->p, "a.test", "www.a.test")->domains, f->p),
                     1);
    assert_int_equal(md_credmemo_covers(e, make_md(f->p, "a.test", NULL)->domains, f->p), -1);
    assert_string_equal(md_credmemo_live_cert(e, "P-256", f->p)->ari_id, "ari-1");
    /* the last line needs no newline; coverage not known is "-" */
    e = md_credmemo_find(memo, "d8");
    assert_non_null(e);
    assert_int_equal(md_credmemo_covers(e, make_md(f->p, "a.test", NULL)->domains, f->p), -1);
    assert_null(md_credmemo_live_cert(e, "P-256", f->p)->ari_id);
    /* saved: what the pass used, as it was */
    md_credmemo_end(memo, f->store, 1, f->p);
    memo = md_credmemo_create(f->p);
    md_credmemo_begin(memo, f->store, 1, f->p);
    assert_int_equal(md_credmemo_count(memo), 2);
    assert_string_equal(md_credmemo_live_cert(md_credmemo_find(memo, "d1"), "P-256", f->p)
                        ->status_json, "{\"serial\":\"01\"}");

    /* no first line: not read */
    assert_int_equal(md_store_save_text(f->store, MD_SG_NONE, NULL, MD_FN_CRED_MEMO, good, f->p),
                     APR_SUCCESS);
    memo = md_credmemo_create(f->p);
    md_credmemo_begin(memo, f->store, 1, f->p);
    assert_int_equal(md_credmemo_count(memo), 0);
}

static void test_digest_by_version(void **state)
{
    fixture_t *f = *state;
    md_credmemo_t *memo = md_credmemo_create(f->p);
    const char *real, *version;

    assert_int_equal(md_store_save_text(f->store, MD_SG_DOMAINS, "a.test", MD_FN_PUBCERT, "c1",
                                        f->p), APR_SUCCESS);
    assert_int_equal(md_store_digest(f->store, MD_SG_DOMAINS, "a.test", MD_FN_PUBCERT, &real,
                                     f->p), APR_SUCCESS);
    version = rested(f, "a.test", MD_FN_PUBCERT);
    md_credmemo_begin(memo, f->store, 1, f->p);
    assert_string_equal(md_credmemo_file_digest(memo, f->store, MD_SG_DOMAINS, "a.test",
                                                MD_FN_PUBCERT, f->p), real);
    md_credmemo_end(memo, f->store, 1, f->p);

    /* while the version stays, the file is not read */
    memo_plant(f, "f", version, "planted");
    memo = md_credmemo_create(f->p);
    md_credmemo_begin(memo, f->store, 1, f->p);
    assert_string_equal(md_credmemo_file_digest(memo, f->store, MD_SG_DOMAINS, "a.test",
                                                MD_FN_PUBCERT, f->p), "planted");
    md_credmemo_end(memo, f->store, 1, f->p);
    /* a pass that does not go by versions reads it */
    memo = md_credmemo_create(f->p);
    md_credmemo_begin(memo, f->store, 0, f->p);
    assert_string_equal(md_credmemo_file_digest(memo, f->store, MD_SG_DOMAINS, "a.test",
                                                MD_FN_PUBCERT, f->p), real);
    /* the same bytes written again: a new version, read again */
    memo_plant(f, "f", version, "planted");
    assert_int_equal(md_store_save_text(f->store, MD_SG_DOMAINS, "a.test", MD_FN_PUBCERT, "c1",
                                        f->p), APR_SUCCESS);
    memo = md_credmemo_create(f->p);
    md_credmemo_begin(memo, f->store, 1, f->p);
    assert_string_equal(md_credmemo_file_digest(memo, f->store, MD_SG_DOMAINS, "a.test",
                                                MD_FN_PUBCERT, f->p), real);
    assert_null(md_credmemo_file_digest(memo, f->store, MD_SG_DOMAINS, "a.test", "none.pem",
                                        f->p));
}

/* The memo's sync key for md as it is now (as md_reg_sync_memo makes it). */
/* The sync record's key: md.json's bytes and md as configured. */
static const char *sync_key_of(fixture_t *f, const md_t *md)
{
    const char *file, *config;

    assert_int_equal(md_store_digest(f->store, MD_SG_DOMAINS, md->name, MD_FN_MD, &file, f->p),
                     APR_SUCCESS);
    assert_int_equal(md_crypt_sha256_json_b64url(&config, md_to_json(md, f->p), f->p),
                     APR_SUCCESS);
    return apr_pstrcat(f->p, file, " ", config, NULL);
}

/* A new pass syncing md after an account was planted in md's sync record
 * (which must be there): md learns it only if sync took the record instead
 * of reading md.json. Returns the pass's memo. */
static md_credmemo_t *sync_with_planted_record(fixture_t *f, md_t *md)
{
    md_credmemo_t *memo;

    memo_plant(f, "s", sync_key_of(f, md), "acct-planted\tx");
    memo = md_credmemo_create(f->p);
    md_credmemo_begin(memo, f->store, 1, f->p);
    assert_int_equal(md_reg_sync_memo(f->store, md, memo, f->p), APR_SUCCESS);
    return memo;
}

static void test_sync_skipped_while_unchanged(void **state)
{
    fixture_t *f = *state;
    md_t *md = make_md(f->p, "a.test", "www.a.test");
    md_credmemo_t *memo;
    json_t *j;

    assert_int_equal(md_reg_sync(f->store, md, f->p), APR_SUCCESS);
    rested(f, "a.test", MD_FN_MD);
    /* in sync: remembered */
    memo = md_credmemo_create(f->p);
    md_credmemo_begin(memo, f->store, 1, f->p);
    md = make_md(f->p, "a.test", "www.a.test");
    assert_int_equal(md_reg_sync_memo(f->store, md, memo, f->p), APR_SUCCESS);
    assert_null(md->ca_account);
    md_credmemo_end(memo, f->store, 1, f->p);

    /* md.json and the MD unchanged: not read, the account as remembered */
    md = make_md(f->p, "a.test", "www.a.test");
    memo = sync_with_planted_record(f, md);
    assert_string_equal(md->ca_account, "acct-planted");
    /* learned only as sync would: the CA url is not one of the MD's */
    assert_null(md->ca_effective);

    /* the MD changed: read and written again */
    md = make_md(f->p, "a.test", "www.a.test");
    APR_ARRAY_PUSH(md->contacts, const char *) = "mailto:new@a.test";
    assert_int_equal(md_reg_sync_memo(f->store, md, memo, f->p), APR_SUCCESS);
    assert_null(md->ca_account);
    assert_int_equal(md_store_load_json(f->store, MD_SG_DOMAINS, "a.test", MD_FN_MD, &j, f->p),
                     APR_SUCCESS);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, MD_KEY_CONTACTS),
                                                         0)), "mailto:new@a.test");
    md_credmemo_end(memo, f->store, 1, f->p);

    /* md.json changed (another module wrote it): read again */
    json_object_set_new(md_json_get_obj(j, MD_KEY_CA), MD_KEY_ACCOUNT, json_string("acct-1"));
    assert_int_equal(md_store_save_json(f->store, MD_SG_DOMAINS, "a.test", MD_FN_MD, j, f->p),
                     APR_SUCCESS);
    rested(f, "a.test", MD_FN_MD);
    memo = md_credmemo_create(f->p);
    md_credmemo_begin(memo, f->store, 1, f->p);
    md = make_md(f->p, "a.test", "www.a.test");
    APR_ARRAY_PUSH(md->contacts, const char *) = "mailto:new@a.test";
    assert_int_equal(md_reg_sync_memo(f->store, md, memo, f->p), APR_SUCCESS);
    assert_string_equal(md->ca_account, "acct-1");
}

/* An md.json sync writes is remembered under its bytes: the next pass (the
 * daemon's, right after the first) hashes the new file but does not parse
 * it, before the file has rested long enough to have a version. */
static void test_sync_written_is_remembered(void **state)
{
    fixture_t *f = *state;
    md_t *md = make_md(f->p, "b.test", "www.b.test");
    md_credmemo_t *memo = md_credmemo_create(f->p);

    md_credmemo_begin(memo, f->store, 1, f->p);
    assert_int_equal(md_reg_sync_memo(f->store, md, memo, f->p), APR_SUCCESS);
    md_credmemo_end(memo, f->store, 1, f->p);

    /* the record is there, under md.json's bytes and the MD as configured */
    md = make_md(f->p, "b.test", "www.b.test");
    memo = sync_with_planted_record(f, md);
    assert_string_equal(md->ca_account, "acct-planted");
    md_credmemo_end(memo, f->store, 1, f->p);

    /* without versions (a shared store) there are no records: md.json is read */
    md = make_md(f->p, "b.test", "www.b.test");
    memo = md_credmemo_create(f->p);
    md_credmemo_begin(memo, f->store, 0, f->p);
    assert_int_equal(md_reg_sync_memo(f->store, md, memo, f->p), APR_SUCCESS);
    assert_null(md->ca_account);
}

#define DAY     apr_time_from_sec(24 * 3600)

/* --- several key types (tests with a plain pool state) --- */

static md_store_t *store_make(apr_pool_t *p)
{
    return fx_store_make("test_md_reg", NULL, p);
}

static md_pkey_spec_t *spec_make(apr_pool_t *p, const char *word)
{
    md_pkey_spec_t *spec = NULL;
    const char *err = NULL;
    int used = 0;

    assert_int_equal(md_pkey_spec_parse(&spec, word, NULL, &used, &err, p), APR_SUCCESS);
    return spec;
}

/* dual.test with RSA and P-256 */
static md_t *dual_md_make(apr_pool_t *p)
{
    md_t *md = md_create_empty(p);

    md->name = "dual.test";
    APR_ARRAY_PUSH(md->domains, const char *) = "dual.test";
    md->pkey_specs = apr_array_make(p, 2, sizeof(md_pkey_spec_t *));
    APR_ARRAY_PUSH(md->pkey_specs, md_pkey_spec_t *) = spec_make(p, "RSA");
    APR_ARRAY_PUSH(md->pkey_specs, md_pkey_spec_t *) = spec_make(p, "P-256");
    return md;
}

/* A certificate for md valid for valid_for (an EC key stands in for every
 * spec: only the file names depend on the spec), saved in group. Returns
 * its fingerprint. */
static const char *cred_save(md_store_t *store, md_store_group_t group, const md_t *md,
                             const md_pkey_spec_t *spec, apr_interval_time_t valid_for,
                             apr_pool_t *p)
{
    md_pkey_spec_t ec = { MD_PKEY_TYPE_EC, 0, "P-256" };
    apr_array_header_t *chain;
    md_pkey_t *pkey;
    md_cert_t *cert;

    assert_int_equal(md_pkey_gen(&pkey, p, &ec), APR_SUCCESS);
    chain = issued_chain(md->domains, pkey, valid_for, p);
    cert = MD_ARR_IDX(chain, 0, md_cert_t *);
    assert_int_equal(md_store_save_pkey(store, group, md->name, md_reg_pkey_fname(spec, p),
                                        pkey, p), APR_SUCCESS);
    assert_int_equal(md_store_save_certs(store, group, md->name, md_reg_cert_fname(spec, p),
                                         chain, p), APR_SUCCESS);
    return md_cert_sha256_fingerprint(cert, p);
}

static const char *live_fingerprint(md_store_t *store, const md_t *md,
                                    const md_pkey_spec_t *spec, apr_pool_t *p)
{
    apr_array_header_t *chain = NULL;

    if (md_store_load_certs(store, MD_SG_DOMAINS, md->name, md_reg_cert_fname(spec, p), &chain,
                            p) != APR_SUCCESS) {
        return NULL;
    }
    return md_cert_sha256_fingerprint(APR_ARRAY_IDX(chain, 0, md_cert_t *), p);
}

static void test_assess_missing_spec_keeps_the_other(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *store = store_make(p);
    md_t *md = dual_md_make(p);
    md_pkey_spec_t *rsa = APR_ARRAY_IDX(md->pkey_specs, 0, md_pkey_spec_t *);
    md_pkey_spec_t *ec = APR_ARRAY_IDX(md->pkey_specs, 1, md_pkey_spec_t *);
    const apr_array_header_t *renew;
    md_reg_state_t st;
    apr_time_t now = apr_time_now();

    cred_save(store, MD_SG_DOMAINS, md, rsa, 90 * DAY, p);
    md_reg_assess(&st, store, md, now, p);
    assert_true(st.has_cert);
    assert_int_equal(st.state, MD_S_INCOMPLETE);
    assert_string_equal(st.state_descr, "certificate(P-256) is missing");
    assert_int_equal(st.present_specs->nelts, 1);
    assert_ptr_equal(APR_ARRAY_IDX(st.present_specs, 0, md_pkey_spec_t *), rsa);
    assert_int_equal(st.missing_specs->nelts, 1);
    assert_ptr_equal(APR_ARRAY_IDX(st.missing_specs, 0, md_pkey_spec_t *), ec);
    assert_int_equal(st.renew_at, 0);
    assert_true(st.present_renew_at > now);
    /* only the new key type is ordered while the old certificate is fine */
    renew = md_reg_specs_to_renew(&st, now);
    assert_ptr_equal(renew, st.missing_specs);
    /* once the old one is due too, all are renewed */
    assert_null(md_reg_specs_to_renew(&st, st.present_renew_at + 1));

    cred_save(store, MD_SG_DOMAINS, md, ec, 90 * DAY, p);
    md_reg_assess(&st, store, md, now, p);
    assert_int_equal(st.state, MD_S_COMPLETE);
    assert_int_equal(st.present_specs->nelts, 2);
    assert_int_equal(st.missing_specs->nelts, 0);
    assert_true(st.renew_at > now);
    assert_null(md_reg_specs_to_renew(&st, now));
}

static void test_assess_none_or_expired(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *store = store_make(p);
    md_t *md = dual_md_make(p);
    md_reg_state_t st;

    md_reg_assess(&st, store, md, apr_time_now(), p);
    assert_false(st.has_cert);
    assert_int_equal(st.state, MD_S_INCOMPLETE);
    assert_int_equal(st.missing_specs->nelts, 2);
    assert_null(md_reg_specs_to_renew(&st, apr_time_now()));

    cred_save(store, MD_SG_DOMAINS, md, APR_ARRAY_IDX(md->pkey_specs, 0, md_pkey_spec_t *),
              DAY, p);
    cred_save(store, MD_SG_DOMAINS, md, APR_ARRAY_IDX(md->pkey_specs, 1, md_pkey_spec_t *),
              DAY, p);
    md_reg_assess(&st, store, md, apr_time_now() + 2 * DAY, p);
    assert_false(st.has_cert);
    assert_int_equal(st.state, MD_S_EXPIRED);
}

static void test_activate_merges_renewed_specs(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *store = store_make(p);
    md_t *md = dual_md_make(p);
    md_pkey_spec_t *rsa = APR_ARRAY_IDX(md->pkey_specs, 0, md_pkey_spec_t *);
    md_pkey_spec_t *ec = APR_ARRAY_IDX(md->pkey_specs, 1, md_pkey_spec_t *);
    const char *rsa_fp;
    const char *ec_fp;
    md_reg_state_t st;
    int activated = -1;

    rsa_fp = cred_save(store, MD_SG_DOMAINS, md, rsa, 90 * DAY, p);
    ec_fp = cred_save(store, MD_SG_STAGING, md, ec, 90 * DAY, p);

    /* not finished: md.json is written last by the drive */
    assert_int_equal(md_reg_activate_staged(store, md, &activated, p), APR_SUCCESS);
    assert_false(activated);
    assert_null(live_fingerprint(store, md, ec, p));

    assert_int_equal(md_store_save_json(store, MD_SG_STAGING, md->name, MD_FN_MD,
                                        md_to_json(md, p), p), APR_SUCCESS);
    assert_int_equal(md_reg_activate_staged(store, md, &activated, p), APR_SUCCESS);
    assert_true(activated);
    /* the new EC certificate is live, the RSA one carried over */
    assert_string_equal(live_fingerprint(store, md, ec, p), ec_fp);
    assert_string_equal(live_fingerprint(store, md, rsa, p), rsa_fp);
    assert_false(md_store_exists(store, MD_SG_STAGING, md->name, MD_FN_MD, p));
    md_reg_assess(&st, store, md, apr_time_now(), p);
    assert_int_equal(st.state, MD_S_COMPLETE);

    /* renewing both replaces both */
    rsa_fp = cred_save(store, MD_SG_STAGING, md, rsa, 90 * DAY, p);
    ec_fp = cred_save(store, MD_SG_STAGING, md, ec, 90 * DAY, p);
    assert_int_equal(md_store_save_json(store, MD_SG_STAGING, md->name, MD_FN_MD,
                                        md_to_json(md, p), p), APR_SUCCESS);
    assert_int_equal(md_reg_activate_staged(store, md, &activated, p), APR_SUCCESS);
    assert_true(activated);
    assert_string_equal(live_fingerprint(store, md, rsa, p), rsa_fp);
    assert_string_equal(live_fingerprint(store, md, ec, p), ec_fp);
}


/* --- staged sets the server's User could have planted (issue 11, finding 3):
 * md_reg_staged_verify says no, and activation drops them. */

static void stage_chain(fixture_t *f, const md_t *md, const apr_array_header_t *chain,
                        md_pkey_t *key)
{
    assert_int_equal(md_store_save_pkey(f->store, MD_SG_STAGING, md->name, MD_FN_PRIVKEY, key,
                                        f->p), APR_SUCCESS);
    assert_int_equal(md_store_save_certs(f->store, MD_SG_STAGING, md->name, MD_FN_PUBCERT,
                                         chain, f->p), APR_SUCCESS);
    stage_finished(f, md);
}

/* verify says rv, with a reason containing why; activation then drops the
 * set (nothing goes live) unless it verified. */
static void expect_verify(fixture_t *f, const md_t *md, apr_status_t rv, const char *why)
{
    const char *got = NULL;
    int activated = -1;

    assert_int_equal(md_reg_staged_verify(f->store, md, apr_time_now(), &got, f->p), rv);
    if (why) {
        assert_non_null(got);
        if (!strstr(got, why)) {
            fail_msg("reason \"%s\" does not say \"%s\"", got, why);
        }
    }
    if (rv != APR_SUCCESS) {
        const char *live = read_file(f, "domains/a.test/pubcert.pem");
        md_reg_activate_staged(f->store, md, &activated, f->p);
        assert_false(activated);
        if (rv != APR_ENOENT) {
            assert_null(read_file(f, "staging/a.test/pubcert.pem"));
        }
        if (live) {
            assert_string_equal(read_file(f, "domains/a.test/pubcert.pem"), live);
        }
        else {
            assert_null(read_file(f, "domains/a.test/pubcert.pem"));
        }
    }
}

static void test_staged_verify_accepts_what_a_renewal_stages(void **state)
{
    fixture_t *f = *state;
    md_t *md = make_md(f->p, "a.test", "www.a.test");
    const char *why = NULL;
    int activated = -1;

    expect_verify(f, md, APR_ENOENT, "no md.json");
    stage_chain(f, md, issued_chain(md->domains, f->ec_key, apr_time_from_sec(86400), f->p),
                f->ec_key);
    assert_int_equal(md_reg_staged_verify(f->store, md, apr_time_now(), &why, f->p),
                     APR_SUCCESS);
    assert_int_equal(md_reg_activate_staged(f->store, md, &activated, f->p), APR_SUCCESS);
    assert_true(activated);
    /* the same set staged again: live already, nothing to restart for */
    stage_chain(f, md, issued_chain(md->domains, f->ec_key, apr_time_from_sec(86400), f->p),
                f->ec_key);
    assert_int_equal(md_store_save_text(f->store, MD_SG_STAGING, md->name, MD_FN_PUBCERT,
                                        read_file(f, "domains/a.test/pubcert.pem"), f->p),
                     APR_SUCCESS);
    assert_int_equal(md_reg_staged_verify(f->store, md, apr_time_now(), &why, f->p),
                     APR_EEXIST);
}

static void test_staged_verify_refuses_plain_key(void **state)
{
    fixture_t *f = *state;
    md_t *md = make_md(f->p, "a.test", NULL);
    const char *pem = NULL;
    apr_size_t len = 0;

    /* User has no store key: the key it brings is plain */
    stage_chain(f, md, issued_chain(md->domains, f->ec_key, apr_time_from_sec(86400), f->p),
                f->ec_key);
    assert_int_equal(md_pkey_to_pem(&pem, &len, f->ec_key, NULL, 0, f->p), APR_SUCCESS);
    assert_int_equal(md_store_save_text(f->store, MD_SG_STAGING, md->name, MD_FN_PRIVKEY, pem,
                                        f->p), APR_SUCCESS);
    expect_verify(f, md, APR_EINVAL, "private key");
}

static void test_staged_verify_refuses_self_signed(void **state)
{
    fixture_t *f = *state;
    md_t *md = make_md(f->p, "a.test", NULL);
    apr_array_header_t *chain = apr_array_make(f->p, 1, sizeof(md_cert_t *));
    md_cert_t *cert;

    assert_int_equal(md_cert_self_sign(&cert, "a.test", md->domains, f->ec_key,
                                       apr_time_from_sec(86400), f->p), APR_SUCCESS);
    APR_ARRAY_PUSH(chain, md_cert_t *) = cert;
    stage_chain(f, md, chain, f->ec_key);
    expect_verify(f, md, APR_EINVAL, "self-signed");
}

static void test_staged_verify_refuses_broken_chain(void **state)
{
    fixture_t *f = *state;
    md_t *md = make_md(f->p, "a.test", NULL);
    apr_array_header_t *chain = issued_chain(md->domains, f->ec_key, apr_time_from_sec(86400),
                                             f->p);
    apr_array_header_t *other = issued_chain(md->domains, f->ec_key, apr_time_from_sec(86400),
                                             f->p);

    /* the leaf of one CA with another CA's certificate: same name, other key */
    APR_ARRAY_IDX(chain, 1, md_cert_t *) = APR_ARRAY_IDX(other, 1, md_cert_t *);
    stage_chain(f, md, chain, f->ec_key);
    expect_verify(f, md, APR_EINVAL, "chain is broken");
}

static void test_staged_verify_refuses_too_long_chain(void **state)
{
    fixture_t *f = *state;
    md_t *md = make_md(f->p, "a.test", NULL);
    apr_array_header_t *chain = issued_chain(md->domains, f->ec_key, apr_time_from_sec(86400),
                                             f->p);
    int i;

    for (i = 0; i < MD_REG_CHAIN_MAX; ++i) {
        APR_ARRAY_PUSH(chain, md_cert_t *) = APR_ARRAY_IDX(chain, 1, md_cert_t *);
    }
    stage_chain(f, md, chain, f->ec_key);
    expect_verify(f, md, APR_EINVAL, "at most");
}

static void test_staged_verify_refuses_expired_and_older(void **state)
{
    fixture_t *f = *state;
    md_t *md = make_md(f->p, "a.test", NULL);
    fx_ca_t *ca = fx_ca_make("Test CA", f->p);
    apr_time_t now = apr_time_now();
    apr_time_t day = apr_time_from_sec(86400);

    /* expired */
    stage_chain(f, md, fx_chain_issue(ca, md->domains, f->ec_key, now - 10 * day, now - day,
                                      f->p), f->ec_key);
    expect_verify(f, md, APR_EINVAL, "expired");
    /* an older certificate than the live one: a set of long ago, planted again */
    put_cred(f, MD_SG_DOMAINS, "a.test", md->domains, f->ec_key, 30 * day);
    stage_chain(f, md, fx_chain_issue(ca, md->domains, f->ec_key, now - 5 * day, now + 60 * day,
                                      f->p), f->ec_key);
    expect_verify(f, md, APR_EINVAL, "older than the live one");
}

static void test_staged_verify_refuses_uncovered_or_foreign_key(void **state)
{
    fixture_t *f = *state;
    md_t *md = make_md(f->p, "a.test", "www.a.test");
    md_pkey_spec_t spec = { MD_PKEY_TYPE_EC, 0, "P-256" };
    md_pkey_t *other = NULL;

    stage_chain(f, md, issued_chain(make_md(f->p, "a.test", NULL)->domains, f->ec_key,
                                    apr_time_from_sec(86400), f->p), f->ec_key);
    expect_verify(f, md, APR_EINVAL, "does not cover");
    assert_int_equal(md_pkey_gen(&other, f->p, &spec), APR_SUCCESS);
    stage_chain(f, md, issued_chain(md->domains, other, apr_time_from_sec(86400), f->p),
                f->ec_key);
    expect_verify(f, md, APR_EINVAL, "does not match");
}

#define REG_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* --- the store side: activation only of finished sets, archive, names
 * added, renamed and removed MDs, md.json members we do not write --- */

/* A store whose base is *pbase. */
static md_store_t *store_at(const char **pbase, apr_pool_t *p)
{
    md_store_t *store = fx_store_make("test_md_reg", pbase, p);

    *pbase = apr_pstrcat(p, *pbase, "/md", NULL);
    return store;
}

static int path_in(const char *base, const char *rel, apr_pool_t *p)
{
    struct stat st;
    return stat(apr_pstrcat(p, base, "/", rel, NULL), &st) == 0;
}

static md_t *md_names(apr_pool_t *p, const char *first, ...)
{
    md_t *md = md_create_empty(p);
    const char *name;
    va_list ap;

    md->name = first;
    md->domains = apr_array_make(p, 3, sizeof(const char *));
    md->ca_urls = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(md->ca_urls, const char *) = "https://ca.test/dir";
    APR_ARRAY_PUSH(md->domains, const char *) = first;
    va_start(ap, first);
    while ((name = va_arg(ap, const char *)) != NULL) {
        APR_ARRAY_PUSH(md->domains, const char *) = name;
    }
    va_end(ap);
    return md;
}

/* A certificate for names with its key (RSA, the default spec's files),
 * saved into group/item. */
static const md_cert_t *cred_put(md_store_t *store, md_store_group_t group, const char *item,
                                 const apr_array_header_t *names, apr_pool_t *p)
{
    md_pkey_spec_t spec = { MD_PKEY_TYPE_EC, 0, "P-256" };
    apr_array_header_t *chain;
    md_pkey_t *pkey = NULL;
    md_cert_t *cert = NULL;

    assert_int_equal(md_pkey_gen(&pkey, p, &spec), APR_SUCCESS);
    chain = issued_chain(names, pkey, apr_time_from_sec(30 * 86400), p);
    cert = MD_ARR_IDX(chain, 0, md_cert_t *);
    assert_int_equal(md_store_save_pkey(store, group, item, MD_FN_PRIVKEY, pkey, p),
                     APR_SUCCESS);
    assert_int_equal(md_store_save_certs(store, group, item, MD_FN_PUBCERT, chain, p),
                     APR_SUCCESS);
    return cert;
}

static void md_json_save(md_store_t *store, md_store_group_t group, const md_t *md, apr_pool_t *p)
{
    assert_int_equal(md_store_save_json(store, group, md->name, MD_FN_MD,
                                        md_to_json(md, p), p), APR_SUCCESS);
}

static const char *fp_of(const md_cert_t *cert, apr_pool_t *p)
{
    return md_cert_sha256_fingerprint(cert, p);
}

/* A job that says finished counts only with something to activate. */
static void test_staged_complete(void **state)
{
    apr_pool_t *p = *state;
    const char *base;
    md_store_t *store = store_at(&base, p);
    md_t *md = md_names(p, "a.org", "www.a.org", NULL);

    assert_false(md_reg_staged_complete(store, "a.org", p));
    /* certificates but no md.json: still in the works */
    cred_put(store, MD_SG_STAGING, "a.org", md->domains, p);
    assert_false(md_reg_staged_complete(store, "a.org", p));
    md_json_save(store, MD_SG_STAGING, md, p);
    assert_true(md_reg_staged_complete(store, "a.org", p));
    /* an unreadable md.json */
    assert_int_equal(md_store_save_text(store, MD_SG_STAGING, "a.org", MD_FN_MD, "{garbage",
                                        p), APR_SUCCESS);
    assert_false(md_reg_staged_complete(store, "a.org", p));
    /* md.json without any certificate (the stock module stages it early) */
    md_store_purge(store, MD_SG_STAGING, "a.org", p);
    md_json_save(store, MD_SG_STAGING, md, p);
    assert_false(md_reg_staged_complete(store, "a.org", p));
}

static void test_activation_waits_for_staged_md_json(void **state)
{
    apr_pool_t *p = *state;
    const char *base;
    md_store_t *store = store_at(&base, p);
    md_t *md = md_names(p, "a.org", "www.a.org", NULL);
    const md_cert_t *old = cred_put(store, MD_SG_DOMAINS, "a.org", md->domains, p);
    const md_cert_t *new = cred_put(store, MD_SG_STAGING, "a.org", md->domains, p);
    apr_array_header_t *live;
    md_pkey_t *archived = NULL;
    int activated = -1;

    md_json_save(store, MD_SG_DOMAINS, md, p);
    /* certificate and key staged, but md.json not yet: still in the works */
    assert_int_equal(md_reg_activate_staged(store, md, &activated, p), APR_SUCCESS);
    assert_false(activated);
    assert_true(path_in(base, "staging/a.org/pubcert.pem", p));

    md_json_save(store, MD_SG_STAGING, md, p);
    assert_int_equal(md_reg_activate_staged(store, md, &activated, p), APR_SUCCESS);
    assert_true(activated);
    assert_int_equal(md_store_load_certs(store, MD_SG_DOMAINS, "a.org", MD_FN_PUBCERT, &live,
                                         p), APR_SUCCESS);
    assert_string_equal(fp_of(MD_ARR_IDX(live, 0, const md_cert_t *), p), fp_of(new, p));
    assert_false(path_in(base, "staging/a.org", p));
    /* the previous set in the archive, its key encrypted */
    assert_int_equal(md_store_load_certs(store, MD_SG_ARCHIVE, "a.org.1", MD_FN_PUBCERT, &live,
                                         p), APR_SUCCESS);
    assert_string_equal(fp_of(MD_ARR_IDX(live, 0, const md_cert_t *), p), fp_of(old, p));
    assert_int_equal(md_store_load_pkey(store, MD_SG_ARCHIVE, "a.org.1", MD_FN_PRIVKEY,
                                        &archived, p), APR_SUCCESS);
    {
        const char *text = NULL;
        assert_int_equal(md_store_load_text(store, MD_SG_ARCHIVE, "a.org.1", MD_FN_PRIVKEY,
                                            &text, p), APR_SUCCESS);
        assert_non_null(strstr(text, "ENCRYPTED PRIVATE KEY"));
    }
    assert_false(path_in(base, "tmp/a.org", p));
}

static void test_assess_serves_cert_lacking_added_name(void **state)
{
    apr_pool_t *p = *state;
    const char *base;
    md_store_t *store = store_at(&base, p);
    md_t *md = md_names(p, "a.org", "www.a.org", NULL);
    md_t *grown = md_names(p, "a.org", "www.a.org", "new.a.org", NULL);
    md_t *shrunk = md_names(p, "a.org", NULL);
    md_reg_state_t st;

    cred_put(store, MD_SG_DOMAINS, "a.org", md->domains, p);
    md_reg_assess(&st, store, md, apr_time_now(), p);
    assert_int_equal(st.state, MD_S_COMPLETE);
    assert_true(st.has_cert);
    assert_true(st.renew_at > apr_time_now());

    md_reg_assess(&st, store, grown, apr_time_now(), p);
    assert_int_equal(st.state, MD_S_INCOMPLETE);
    assert_true(st.has_cert);              /* still served meanwhile */
    assert_int_equal(st.renew_at, 0);      /* but renewed at once */
    assert_non_null(strstr(st.state_descr, "new.a.org"));

    md_reg_assess(&st, store, shrunk, apr_time_now(), p);
    assert_int_equal(st.state, MD_S_COMPLETE);
}

static void test_sync_renames_md_whose_first_name_changed(void **state)
{
    apr_pool_t *p = *state;
    const char *base;
    md_store_t *store = store_at(&base, p);
    md_t *old = md_names(p, "first.org", "second.org", NULL);
    md_t *renamed = md_names(p, "second.org", "first.org", NULL);
    md_t *other = md_names(p, "other.org", NULL);
    apr_array_header_t *mds = apr_array_make(p, 2, sizeof(md_t *));

    md_json_save(store, MD_SG_DOMAINS, old, p);
    cred_put(store, MD_SG_DOMAINS, "first.org", old->domains, p);
    assert_int_equal(md_store_save_text(store, MD_SG_STAGING, "first.org", MD_FN_JOB, "{}", p),
                     APR_SUCCESS);
    md_json_save(store, MD_SG_DOMAINS, other, p);

    /* while the old name is still configured, nothing moves */
    APR_ARRAY_PUSH(mds, md_t *) = old;
    APR_ARRAY_PUSH(mds, md_t *) = renamed;
    assert_int_equal(md_reg_sync_renames(store, mds, p), APR_SUCCESS);
    assert_true(path_in(base, "domains/first.org", p));
    assert_false(path_in(base, "domains/second.org", p));

    apr_array_clear(mds);
    APR_ARRAY_PUSH(mds, md_t *) = renamed;
    APR_ARRAY_PUSH(mds, md_t *) = md_names(p, "third.org", NULL);   /* shares nothing */
    assert_int_equal(md_reg_sync_renames(store, mds, p), APR_SUCCESS);
    assert_false(path_in(base, "domains/first.org", p));
    assert_true(path_in(base, "domains/second.org/pubcert.pem", p));
    assert_true(path_in(base, "staging/second.org/job.json", p));
    assert_true(path_in(base, "domains/other.org", p));
    assert_false(path_in(base, "domains/third.org", p));
    /* md.json follows at sync; the certificate covers the MD */
    assert_int_equal(md_reg_sync(store, renamed, p), APR_SUCCESS);
    {
        md_reg_state_t st;
        md_reg_assess(&st, store, renamed, apr_time_now(), p);
        assert_int_equal(st.state, MD_S_COMPLETE);
    }
}

static void test_cleanup_stale_staging_and_challenges(void **state)
{
    apr_pool_t *p = *state;
    const char *base;
    md_store_t *store = store_at(&base, p);
    md_t *md = md_names(p, "a.org", "www.a.org", NULL);
    apr_array_header_t *mds = apr_array_make(p, 1, sizeof(md_t *));

    APR_ARRAY_PUSH(mds, md_t *) = md;
    md_store_save_text(store, MD_SG_STAGING, "a.org", MD_FN_JOB, "{}", p);
    md_store_save_text(store, MD_SG_STAGING, "gone.org", MD_FN_JOB, "{}", p);
    md_store_save_text(store, MD_SG_CHALLENGES, "www.a.org", MD_FN_HTTP01, "t", p);
    md_store_save_text(store, MD_SG_CHALLENGES, "gone.org", MD_FN_HTTP01, "t", p);
    md_store_save_text(store, MD_SG_DOMAINS, "gone.org", MD_FN_MD, "{}", p);

    assert_int_equal(md_reg_cleanup_stale(store, mds, p), APR_SUCCESS);
    assert_true(path_in(base, "staging/a.org", p));
    assert_true(path_in(base, "challenges/www.a.org", p));
    assert_false(path_in(base, "staging/gone.org", p));
    assert_false(path_in(base, "challenges/gone.org", p));
    /* the data of a removed MD stays */
    assert_true(path_in(base, "domains/gone.org/md.json", p));
}

static void test_sync_keeps_members_we_do_not_write(void **state)
{
    apr_pool_t *p = *state;
    const char *base;
    md_store_t *store = store_at(&base, p);
    md_t *md = md_names(p, "a.org", NULL);
    json_t *j = md_to_json(md, p);
    json_t *back = NULL;

    json_object_set_new(j, "x-future", json_string("kept"));
    json_object_set_new(json_object_get(j, MD_KEY_CA), "x-ca", json_true());
    md_json_set_str(json_object_get(j, MD_KEY_CA), MD_KEY_URL, "https://old.test/dir");
    assert_int_equal(md_store_save_json(store, MD_SG_DOMAINS, "a.org", MD_FN_MD, j, p),
                     APR_SUCCESS);
    assert_int_equal(md_reg_sync(store, md, p), APR_SUCCESS);
    assert_int_equal(md_store_load_json(store, MD_SG_DOMAINS, "a.org", MD_FN_MD, &back, p),
                     APR_SUCCESS);
    assert_string_equal(md_json_get_str(back, "x-future"), "kept");
    assert_true(json_is_true(json_object_get(json_object_get(back, MD_KEY_CA), "x-ca")));
    /* what we write is the config's: the URL of a CA no longer configured is gone */
    assert_null(md_json_get_str(json_object_get(back, MD_KEY_CA), MD_KEY_URL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        REG_TEST(test_fnames),
        REG_TEST(test_sync_writes_md_json_and_keeps_account),
        UNIT_TEST(test_md_json_keeps_foreign_only),
        REG_TEST(test_assess_missing_then_complete),
        REG_TEST(test_assess_memo),
        REG_TEST(test_activate_moves_staging_into_domains),
        REG_TEST(test_activate_keeps_account_of_staged_certificate),
        REG_TEST(test_activate_incomplete_staging_is_left_alone),
        REG_TEST(test_activate_discards_set_not_covering_names),
        REG_TEST(test_activate_after_crash_post_swap_only_clears_staging),
        REG_TEST(test_staged_verify_accepts_what_a_renewal_stages),
        REG_TEST(test_staged_verify_refuses_plain_key),
        REG_TEST(test_staged_verify_refuses_self_signed),
        REG_TEST(test_staged_verify_refuses_broken_chain),
        REG_TEST(test_staged_verify_refuses_too_long_chain),
        REG_TEST(test_staged_verify_refuses_expired_and_older),
        REG_TEST(test_staged_verify_refuses_uncovered_or_foreign_key),
        REG_TEST(test_fallback_created_once_and_reused),
        REG_TEST(test_fallback_made_is_remembered),
        REG_TEST(test_base_digest_once_per_pass),
        REG_TEST(test_memo_text_skips_bad_records),
        REG_TEST(test_digest_by_version),
        REG_TEST(test_sync_skipped_while_unchanged),
        REG_TEST(test_sync_written_is_remembered),
        UNIT_TEST(test_assess_missing_spec_keeps_the_other),
        UNIT_TEST(test_assess_none_or_expired),
        UNIT_TEST(test_activate_merges_renewed_specs),
        UNIT_TEST(test_activation_waits_for_staged_md_json),
        UNIT_TEST(test_staged_complete),
        UNIT_TEST(test_assess_serves_cert_lacking_added_name),
        UNIT_TEST(test_sync_renames_md_whose_first_name_changed),
        UNIT_TEST(test_cleanup_stale_staging_and_challenges),
        UNIT_TEST(test_sync_keeps_members_we_do_not_write),
    };
    return UNIT_RUN(tests);
}
