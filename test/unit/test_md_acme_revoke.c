/* Unit tests of revocation (md_acme_revoke.c) and of the account operations
 * a2md uses (md_acme_acct.c: validate, agree, deactivate, key change)
 * against a mock CA behind md_http_set_mock. The requests are checked as
 * RFC 8555 §7.6 and §7.3.5 describe them: who signs (kid or jwk), what the
 * payload holds, the inner JWS of a key change. */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "md_acme.h"
#include "md_acme_int.h"
#include "md_acme_revoke.h"
#include "md_crypt.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_store.h"
#include "md_util.h"
#include "fixtures/fx.h"

#define CA        FX_CA_URL
#define ACCT_URL  CA "/acct/1"
#define ACCT_ID   "ACME-ca.test-0000"
#define ERR(t)    "urn:ietf:params:acme:error:" t

/* The JSON in a base64url member of a JWS (protected, payload); NULL for an
 * empty payload (POST-as-GET). */
static json_t *decode_part(const json_t *jws, const char *part, apr_pool_t *p)
{
    unsigned char *data;
    apr_size_t len;
    json_t *j = NULL;
    const char *s = md_json_get_str(jws, part);

    assert_non_null(s);
    if (!*s) {
        return NULL;
    }
    assert_int_equal(md_util_base64url_decode(&data, &len, s, p), APR_SUCCESS);
    assert_int_equal(md_json_parse(&j, (const char *)data, len, part, NULL, p), APR_SUCCESS);
    return j;
}

/* The last request ca saw, which went to path; the raw JWS. */
static json_t *last_req(const fx_mock_ca_t *ca, const char *path)
{
    assert_non_null(ca->last_url);
    assert_string_equal(ca->last_url, apr_pstrcat(ca->p, ca->url, path, NULL));
    assert_non_null(ca->last_jws);
    assert_int_equal(ca->errors, 0);
    return ca->last_jws;
}

/* A session with the mock CA (which takes account updates and has terms of
 * service) and a stored account in use. */
static md_acme_t *session(fx_mock_ca_t *ca, md_store_t *store, apr_pool_t *p)
{
    md_acme_t *acme = fx_mock_ca_session(ca, store, p);
    md_acme_acct_t *acct = apr_pcalloc(p, sizeof(*acct));
    md_pkey_t *key = fx_key_ec(p);

    ca->acct_updates = 1;
    ca->with_tos = 1;
    acct->id = ACCT_ID;
    acct->url = ACCT_URL;
    acct->ca_url = FX_CA_DIR;
    acct->status = "valid";
    acct->contacts = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(acct->contacts, const char *) = "mailto:a@x.test";
    if (store) {
        assert_int_equal(md_store_save_pkey(store, MD_SG_ACCOUNTS, ACCT_ID, MD_FN_ACCT_KEY, key,
                                            p), APR_SUCCESS);
        assert_int_equal(md_store_save_json(store, MD_SG_ACCOUNTS, ACCT_ID, MD_FN_ACCOUNT,
                                            md_json_pool_own(p, md_acme_acct_to_json(acct)), p),
                         APR_SUCCESS);
    }
    acme->acct = acct;
    acme->acct_key = key;
    return acme;
}

static md_cert_t *cert_make(md_pkey_t *key, apr_pool_t *p)
{
    apr_array_header_t *names = apr_array_make(p, 1, sizeof(const char *));
    md_cert_t *cert = NULL;

    APR_ARRAY_PUSH(names, const char *) = "x.test";
    assert_int_equal(md_cert_self_sign(&cert, "x.test", names, key, apr_time_from_sec(3600), p),
                     APR_SUCCESS);
    return cert;
}

/* --- reasons ----------------------------------------------------------------- */

static void test_reasons(void **state)
{
    int r;

    (void)state;
    assert_int_equal(md_acme_revoke_reason_parse(&r, "keyCompromise"), APR_SUCCESS);
    assert_int_equal(r, 1);
    assert_int_equal(md_acme_revoke_reason_parse(&r, "SUPERSEDED"), APR_SUCCESS);
    assert_int_equal(r, 4);
    assert_int_equal(md_acme_revoke_reason_parse(&r, "5"), APR_SUCCESS);
    assert_int_equal(r, 5);
    assert_int_equal(md_acme_revoke_reason_parse(&r, "0"), APR_SUCCESS);
    assert_int_equal(r, 0);
    /* not a subscriber's reason, not a reason, garbage */
    assert_int_equal(md_acme_revoke_reason_parse(&r, "2"), APR_EINVAL);
    assert_int_equal(md_acme_revoke_reason_parse(&r, "7"), APR_EINVAL);
    assert_int_equal(md_acme_revoke_reason_parse(&r, "cACompromise"), APR_EINVAL);
    assert_int_equal(md_acme_revoke_reason_parse(&r, "1x"), APR_EINVAL);
    assert_int_equal(md_acme_revoke_reason_parse(&r, "100"), APR_EINVAL);
    assert_int_equal(md_acme_revoke_reason_parse(&r, ""), APR_EINVAL);
    assert_int_equal(md_acme_revoke_reason_parse(&r, NULL), APR_EINVAL);
    assert_int_equal(r, MD_REVOKE_REASON_NONE);
    assert_string_equal(md_acme_revoke_reason_name(9), "privilegeWithdrawn");
    assert_string_equal(md_acme_revoke_reason_name(MD_REVOKE_REASON_NONE), "unspecified");
}

/* --- revocation ----------------------------------------------------------------- */

static void test_revoke_by_account(void **state)
{
    apr_pool_t *p = *state;
    fx_mock_ca_t *ca = fx_mock_ca_make(NULL, p);
    md_acme_t *acme = session(ca, NULL, p);
    md_cert_t *cert = cert_make(fx_key_ec(p), p);
    md_result_t *result = md_result_make(p, "x.test");
    const unsigned char *der;
    apr_size_t der_len;
    json_t *prot, *payload;

    assert_int_equal(md_acme_revoke_cert(acme, cert, NULL, 1, result, p), APR_SUCCESS);
    prot = decode_part(last_req(ca, "/revoke"), "protected", p);
    payload = decode_part(last_req(ca, "/revoke"), "payload", p);
    /* RFC 8555 §7.6: by the account: kid, the revokeCert URL, a nonce */
    assert_string_equal(md_json_get_str(prot, "kid"), ACCT_URL);
    assert_null(json_object_get(prot, "jwk"));
    assert_string_equal(md_json_get_str(prot, "url"), CA "/revoke");
    assert_non_null(md_json_get_str(prot, "nonce"));
    assert_int_equal(md_cert_to_der(&der, &der_len, cert, p), APR_SUCCESS);
    assert_string_equal(md_json_get_str(payload, "certificate"),
                        md_util_base64url_encode(der, der_len, p));
    assert_int_equal(md_json_get_int(payload, "reason", -1), 1);
    /* the session still has its account afterwards */
    assert_string_equal(acme->acct->url, ACCT_URL);

    /* no reason: no member */
    assert_int_equal(md_acme_revoke_cert(acme, cert, NULL, MD_REVOKE_REASON_NONE, result, p),
                     APR_SUCCESS);
    payload = decode_part(last_req(ca, "/revoke"), "payload", p);
    assert_null(json_object_get(payload, "reason"));
}

static void test_revoke_by_cert_key(void **state)
{
    apr_pool_t *p = *state;
    fx_mock_ca_t *ca = fx_mock_ca_make(NULL, p);
    md_acme_t *acme = session(ca, NULL, p);
    md_pkey_t *cert_key = fx_key_ec(p);
    md_pkey_t *acct_key = acme->acct_key;
    md_cert_t *cert = cert_make(cert_key, p);
    md_result_t *result = md_result_make(p, "x.test");
    json_t *prot;
    json_t *jwk = md_json_pool_own(p, md_pkey_to_jwk(cert_key));

    assert_int_equal(md_acme_revoke_cert(acme, cert, cert_key, 4, result, p), APR_SUCCESS);
    prot = decode_part(last_req(ca, "/revoke"), "protected", p);
    /* signed with the certificate's key, which the header carries as jwk */
    assert_null(json_object_get(prot, "kid"));
    assert_true(json_equal(json_object_get(prot, "jwk"), jwk));
    assert_ptr_equal(acme->acct_key, acct_key);
    assert_non_null(acme->acct);

    /* without an account, only by key */
    acme->acct = NULL;
    assert_int_equal(md_acme_revoke_cert(acme, cert, NULL, 4, result, p), APR_EINVAL);
    assert_int_equal(ca->revokes, 1);
}

static void test_revoke_answers(void **state)
{
    apr_pool_t *p = *state;
    fx_mock_ca_t *ca = fx_mock_ca_make(NULL, p);
    md_acme_t *acme = session(ca, NULL, p);
    md_cert_t *cert = cert_make(fx_key_ec(p), p);
    md_result_t *result = md_result_make(p, "x.test");

    /* revoked already: done */
    ca->revoke_problem = ERR("alreadyRevoked");
    ca->revoke_problem_status = 400;
    assert_int_equal(md_acme_revoke_cert(acme, cert, NULL, 1, result, p), APR_SUCCESS);
    assert_null(result->problem);
    /* not this account's certificate */
    ca->revoke_problem = ERR("unauthorized");
    ca->revoke_problem_status = 403;
    assert_int_equal(md_acme_revoke_cert(acme, cert, NULL, 1, result, p), APR_EACCES);
    assert_string_equal(result->problem, ERR("unauthorized"));
    /* a reason the CA does not take */
    ca->revoke_problem = ERR("badRevocationReason");
    ca->revoke_problem_status = 400;
    assert_int_equal(md_acme_revoke_cert(acme, cert, NULL, 6, result, p), APR_EINVAL);
    assert_string_equal(result->problem, ERR("badRevocationReason"));
    assert_int_equal(ca->revokes, 3);
    assert_int_equal(ca->errors, 0);
}

static void test_revoke_marker(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *store = fx_store_make("test_md_acme_revoke", NULL, p);
    apr_array_header_t *serials = apr_array_make(p, 2, sizeof(const char *));
    json_t *j = NULL;
    json_t *list;
    int i;

    assert_false(md_acme_revoke_pending(store, "x.test", p));
    APR_ARRAY_PUSH(serials, const char *) = "0A1B";
    APR_ARRAY_PUSH(serials, const char *) = "0C2D";
    assert_int_equal(md_acme_revoke_mark(store, "x.test", serials, 1, p), APR_SUCCESS);
    assert_true(md_acme_revoke_pending(store, "x.test", p));
    assert_false(md_acme_revoke_pending(store, "y.test", p));
    assert_int_equal(md_store_load_json(store, MD_SG_STAGING, "x.test", MD_FN_REVOKED, &j, p),
                     APR_SUCCESS);
    list = json_object_get(j, "revoked");
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(md_json_get_str(json_array_get(list, 1), "serial"), "0C2D");
    assert_string_equal(md_json_get_str(json_array_get(list, 0), "reason"), "keyCompromise");
    assert_non_null(md_json_get_str(json_array_get(list, 0), "when"));
    /* marks add up, bounded */
    for (i = 0; i < 40; ++i) {
        assert_int_equal(md_acme_revoke_mark(store, "x.test", serials, 4, p), APR_SUCCESS);
    }
    assert_int_equal(md_store_load_json(store, MD_SG_STAGING, "x.test", MD_FN_REVOKED, &j, p),
                     APR_SUCCESS);
    assert_int_equal(json_array_size(json_object_get(j, "revoked")), 32);
    /* a corrupt marker is replaced, and still counts */
    assert_int_equal(md_store_save_text(store, MD_SG_STAGING, "x.test", MD_FN_REVOKED, "{x", p),
                     APR_SUCCESS);
    assert_true(md_acme_revoke_pending(store, "x.test", p));
    assert_int_equal(md_acme_revoke_mark(store, "x.test", serials, 4, p), APR_SUCCESS);
    assert_int_equal(md_store_load_json(store, MD_SG_STAGING, "x.test", MD_FN_REVOKED, &j, p),
                     APR_SUCCESS);
    assert_int_equal(json_array_size(json_object_get(j, "revoked")), 2);
}

/* --- accounts ---------------------------------------------------------------------- */

static void test_acct_validate_agree_deactivate(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *store = fx_store_make("test_md_acme_revoke", NULL, p);
    fx_mock_ca_t *ca = fx_mock_ca_make(NULL, p);
    md_acme_t *acme = session(ca, store, p);
    md_result_t *result = md_result_make(p, NULL);
    const char *url = NULL;
    json_t *payload;
    json_t *j = NULL;

    assert_int_equal(md_acme_acct_peek(&url, store, ACCT_ID, p), APR_SUCCESS);
    assert_string_equal(url, FX_CA_DIR);
    assert_int_equal(md_acme_acct_peek(&url, store, "ACME-nope-0000", p), APR_ENOENT);

    assert_int_equal(md_acme_acct_validate(acme, result, p), APR_SUCCESS);
    /* POST-as-GET */
    assert_string_equal(md_json_get_str(last_req(ca, "/acct/1"), "payload"), "");
    ca->acct_status = "deactivated";
    assert_int_equal(md_acme_acct_validate(acme, result, p), APR_EACCES);
    ca->acct_status = "valid";

    assert_int_equal(md_acme_acct_agree(acme, NULL, result, p), APR_SUCCESS);
    payload = decode_part(last_req(ca, "/acct/1"), "payload", p);
    assert_true(md_json_get_bool(payload, "termsOfServiceAgreed", 0));
    assert_non_null(json_object_get(payload, "contact"));
    assert_int_equal(md_store_load_json(store, MD_SG_ACCOUNTS, ACCT_ID, MD_FN_ACCOUNT, &j, p),
                     APR_SUCCESS);
    assert_string_equal(md_json_get_str(j, "agreement"), CA "/tos.pdf");

    assert_int_equal(md_acme_acct_deactivate(acme, result, p), APR_SUCCESS);
    payload = decode_part(last_req(ca, "/acct/1"), "payload", p);
    assert_string_equal(md_json_get_str(payload, "status"), "deactivated");
    assert_string_equal(ca->acct_status, "deactivated");
    assert_int_equal(ca->acct_posts, 4);
    assert_false(md_store_exists(store, MD_SG_ACCOUNTS, ACCT_ID, MD_FN_ACCOUNT, p));
}

static void test_acct_deactivate_unknown(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *store = fx_store_make("test_md_acme_revoke", NULL, p);
    fx_mock_ca_t *ca = fx_mock_ca_make(NULL, p);
    md_acme_t *acme = session(ca, store, p);
    md_result_t *result = md_result_make(p, NULL);

    /* gone at the CA already: removed here too */
    ca->acct_problem = ERR("accountDoesNotExist");
    ca->acct_problem_status = 400;
    assert_int_equal(md_acme_acct_deactivate(acme, result, p), APR_SUCCESS);
    assert_false(md_store_exists(store, MD_SG_ACCOUNTS, ACCT_ID, MD_FN_ACCOUNT, p));

    /* the CA not answering: the account stays */
    acme = session(ca, store, p);
    ca->acct_problem = ERR("serverInternal");
    ca->acct_problem_status = 500;
    assert_int_equal(md_acme_acct_deactivate(acme, result, p), APR_EAGAIN);
    assert_true(md_store_exists(store, MD_SG_ACCOUNTS, ACCT_ID, MD_FN_ACCOUNT, p));
}

static void test_acct_keychange(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *store = fx_store_make("test_md_acme_revoke", NULL, p);
    fx_mock_ca_t *ca = fx_mock_ca_make(NULL, p);
    md_acme_t *acme = session(ca, store, p);
    md_result_t *result = md_result_make(p, NULL);
    md_pkey_t *old_key = acme->acct_key;
    json_t *old_jwk = md_json_pool_own(p, md_pkey_to_jwk(old_key));
    json_t *outer, *inner, *inner_prot, *inner_payload, *stored_jwk;
    md_pkey_t *stored = NULL;

    assert_int_equal(md_acme_acct_keychange(acme, result, p), APR_SUCCESS);
    /* outer: an ordinary request of the account, signed by the old key */
    outer = decode_part(last_req(ca, "/key-change"), "protected", p);
    assert_string_equal(md_json_get_str(outer, "kid"), ACCT_URL);
    assert_string_equal(md_json_get_str(outer, "url"), CA "/key-change");
    assert_non_null(md_json_get_str(outer, "nonce"));
    /* inner (RFC 8555 §7.3.5): the new key as jwk, same url, no nonce;
     * payload: the account and its old key */
    inner = decode_part(last_req(ca, "/key-change"), "payload", p);
    inner_prot = decode_part(inner, "protected", p);
    assert_non_null(json_object_get(inner_prot, "jwk"));
    assert_null(json_object_get(inner_prot, "kid"));
    assert_null(json_object_get(inner_prot, "nonce"));
    assert_string_equal(md_json_get_str(inner_prot, "url"), CA "/key-change");
    inner_payload = decode_part(inner, "payload", p);
    assert_string_equal(md_json_get_str(inner_payload, "account"), ACCT_URL);
    assert_true(json_equal(json_object_get(inner_payload, "oldKey"), old_jwk));
    assert_false(json_equal(json_object_get(inner_prot, "jwk"), old_jwk));
    /* the store has the new key; the pending copy is gone */
    assert_int_equal(md_store_load_pkey(store, MD_SG_ACCOUNTS, ACCT_ID, MD_FN_ACCT_KEY, &stored,
                                        p), APR_SUCCESS);
    stored_jwk = md_json_pool_own(p, md_pkey_to_jwk(stored));
    assert_true(json_equal(stored_jwk, json_object_get(inner_prot, "jwk")));
    /* and so has the CA */
    assert_non_null(ca->acct_jwk);
    assert_true(json_equal(stored_jwk, ca->acct_jwk));
    assert_false(md_store_exists(store, MD_SG_ACCOUNTS, ACCT_ID, MD_FN_ACCT_KEY_NEW, p));
    assert_ptr_not_equal(acme->acct_key, old_key);
}

static void test_acct_keychange_conflict(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *store = fx_store_make("test_md_acme_revoke", NULL, p);
    fx_mock_ca_t *ca = fx_mock_ca_make(NULL, p);
    md_acme_t *acme = session(ca, store, p);
    md_result_t *result = md_result_make(p, NULL);
    md_pkey_t *old_key = acme->acct_key;
    md_pkey_t *stored = NULL;
    json_t *a, *b;

    ca->key_change_conflict = 1;
    assert_int_equal(md_acme_acct_keychange(acme, result, p), APR_EEXIST);
    assert_int_equal(ca->key_changes, 1);
    assert_int_equal(ca->errors, 0);
    assert_null(ca->acct_jwk);
    assert_ptr_equal(acme->acct_key, old_key);
    /* the account key in the store is unchanged */
    assert_int_equal(md_store_load_pkey(store, MD_SG_ACCOUNTS, ACCT_ID, MD_FN_ACCT_KEY, &stored,
                                        p), APR_SUCCESS);
    a = md_json_pool_own(p, md_pkey_to_jwk(stored));
    b = md_json_pool_own(p, md_pkey_to_jwk(old_key));
    assert_true(json_equal(a, b));
}

static void test_acct_keychange_needs_account(void **state)
{
    apr_pool_t *p = *state;
    fx_mock_ca_t *ca = fx_mock_ca_make(NULL, p);
    md_acme_t *acme = session(ca, NULL, p);
    md_result_t *result = md_result_make(p, NULL);

    /* no store: nowhere to keep the new key */
    assert_int_equal(md_acme_acct_keychange(acme, result, p), APR_EINVAL);
    assert_int_equal(ca->key_changes, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_reasons),
        UNIT_TEST(test_revoke_by_account),
        UNIT_TEST(test_revoke_by_cert_key),
        UNIT_TEST(test_revoke_answers),
        UNIT_TEST(test_revoke_marker),
        UNIT_TEST(test_acct_validate_agree_deactivate),
        UNIT_TEST(test_acct_deactivate_unknown),
        UNIT_TEST(test_acct_keychange),
        UNIT_TEST(test_acct_keychange_conflict),
        UNIT_TEST(test_acct_keychange_needs_account),
    };
    return UNIT_RUN(tests);
}
