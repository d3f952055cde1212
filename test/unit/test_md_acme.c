/* Unit tests of the ACME client (md_acme*.c) without network: the parsing
 * and mapping functions directly, and whole flows against the shared mock
 * CA of the fixtures (fixtures/fx_mock_ca.c) behind md_http_set_mock. The
 * documents the parsing tests feed are written from RFC 8555, including
 * malformed ones. */
#include "unit.h"

#include <string.h>

#include <apr_strings.h>

#include "md_acme.h"
#include "md_acme_int.h"
#include "md_crypt.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_store.h"
#include "md_time.h"
#include "md_util.h"
#include "fixtures/fx.h"

#define CA        FX_CA_URL     /* the shared mock CA's (fixtures/fx.h) */
#define DIR_URL   FX_CA_DIR
#define ERR(t)    MD_ACME_PROBLEM_PREFIX t

/* --- helpers ------------------------------------------------------------- */

static json_t *parse(const char *s, apr_pool_t *p)
{
    json_t *j = NULL;
    assert_int_equal(md_json_parse(&j, s, strlen(s), "test", NULL, p), APR_SUCCESS);
    return j;
}

static md_http_response_t *hresp_make(apr_pool_t *p, int status, const char *ctype,
                                      const char *body)
{
    md_http_response_t *r = apr_pcalloc(p, sizeof(*r));

    r->url = CA "/x";
    r->status = status;
    r->headers = apr_table_make(p, 4);
    if (ctype) {
        apr_table_set(r->headers, "Content-Type", ctype);
    }
    r->body = body ? body : "";
    r->body_len = strlen(r->body);
    return r;
}

static md_acme_t *acme_make(apr_pool_t *p, const char *url, md_store_t *store)
{
    md_acme_t *acme = NULL;
    assert_int_equal(md_acme_create(&acme, p, url, NULL, store), APR_SUCCESS);
    return acme;
}

static int contains(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle) != NULL;
}

/* Challenge environment: the store only, no dns-01 program, no pre-checks. */
static const md_acme_chal_env_t *chal_env(md_store_t *store, apr_pool_t *p)
{
    md_acme_chal_env_t *env = apr_pcalloc(p, sizeof(*env));

    env->store = store;
    return env;
}

/* fx_strs for up to two strings */
static apr_array_header_t *strs(apr_pool_t *p, const char *s1, const char *s2)
{
    return fx_strs(p, s1, s2, NULL, NULL);
}

/* --- problem documents and status mapping ------------------------------- */

static void test_problem_status(void **state)
{
    (void)state;
    assert_int_equal(md_acme_problem_status(ERR("badNonce"), 400), APR_EAGAIN);
    assert_int_equal(md_acme_problem_status(ERR("rateLimited"), 429), APR_EAGAIN);
    assert_int_equal(md_acme_problem_status(ERR("serverInternal"), 500), APR_EAGAIN);
    assert_int_equal(md_acme_problem_status(ERR("unauthorized"), 403), APR_EACCES);
    assert_int_equal(md_acme_problem_status(ERR("accountDoesNotExist"), 400), APR_EACCES);
    assert_int_equal(md_acme_problem_status(ERR("userActionRequired"), 403), APR_EACCES);
    assert_int_equal(md_acme_problem_status(ERR("malformed"), 400), APR_EINVAL);
    assert_int_equal(md_acme_problem_status(ERR("badCSR"), 400), APR_EINVAL);
    assert_int_equal(md_acme_problem_status(ERR("rejectedIdentifier"), 400), APR_EINVAL);
    assert_int_equal(md_acme_problem_status(ERR("malformed"), 404), APR_ENOENT);
    assert_int_equal(md_acme_problem_status("urn:acme:error:unauthorized", 403), APR_EACCES);
    /* No or foreign type: the HTTP status decides. */
    assert_int_equal(md_acme_problem_status(NULL, 404), APR_ENOENT);
    assert_int_equal(md_acme_problem_status(NULL, 403), APR_EACCES);
    assert_int_equal(md_acme_problem_status(NULL, 429), APR_EAGAIN);
    assert_int_equal(md_acme_problem_status(NULL, 503), APR_EAGAIN);
    assert_int_equal(md_acme_problem_status("about:blank", 400), APR_EINVAL);
}

static void test_problem_document(void **state)
{
    apr_pool_t *p = *state;
    md_acme_t *acme = acme_make(p, DIR_URL, NULL);
    md_result_t *result = md_result_make(p, "x.test");
    md_acme_resp_t *resp = NULL;
    md_http_response_t *h;

    h = hresp_make(p, 403, "application/problem+json; charset=utf-8",
                   "{\"type\": \"urn:ietf:params:acme:error:rejectedIdentifier\","
                   " \"detail\": \"Some identifiers were rejected\","
                   " \"subproblems\": [{\"type\": \"urn:ietf:params:acme:error:malformed\","
                   "   \"detail\": \"Invalid underscore in DNS name \\\"_example.org\\\"\","
                   "   \"identifier\": {\"type\": \"dns\", \"value\": \"_example.org\"}}]}");
    apr_table_set(h->headers, "Replay-Nonce", "abc-DEF_123");
    apr_table_set(h->headers, "Retry-After", "120");
    assert_int_equal(md_acme_handle_response(&resp, acme, h, "POST", 1, result, p),
                     APR_EINVAL);
    assert_non_null(resp);
    assert_int_equal(resp->status, 403);
    assert_int_equal(result->status, APR_EINVAL);
    assert_string_equal(result->problem, ERR("rejectedIdentifier"));
    assert_string_equal(result->detail, "Some identifiers were rejected");
    assert_non_null(result->subproblems);
    assert_int_equal(json_array_size(result->subproblems), 1);
    assert_true(result->retry_after > apr_time_now() + apr_time_from_sec(100));
    assert_string_equal(acme->nonce, "abc-DEF_123");

    /* rate limit: "later" */
    h = hresp_make(p, 429, "application/problem+json",
                   "{\"type\": \"urn:ietf:params:acme:error:rateLimited\","
                   " \"detail\": \"too many certificates for example.org\"}");
    assert_int_equal(md_acme_handle_response(&resp, acme, h, "POST", 1, result, p), APR_EAGAIN);
    assert_string_equal(result->problem, ERR("rateLimited"));
    assert_int_equal(result->retry_after, 0);

    /* no problem document: the HTTP status is all we have */
    h = hresp_make(p, 503, "text/html", "<html>down</html>");
    assert_int_equal(md_acme_handle_response(&resp, acme, h, "GET", 1, result, p), APR_EAGAIN);
    assert_null(result->problem);
    assert_true(contains(result->detail, "HTTP 503"));
    assert_true(contains(result->detail, CA "/x"));

    h = hresp_make(p, 404, NULL, NULL);
    assert_int_equal(md_acme_handle_response(&resp, acme, h, "POST", 1, result, p), APR_ENOENT);

    /* a broken problem document is still an error with the status */
    h = hresp_make(p, 400, "application/problem+json", "{\"type\": ");
    assert_int_equal(md_acme_handle_response(&resp, acme, h, "POST", 1, result, p), APR_EINVAL);
}

static void test_response_checks(void **state)
{
    apr_pool_t *p = *state;
    md_acme_t *acme = acme_make(p, DIR_URL, NULL);
    md_result_t *result = md_result_make(p, NULL);
    md_acme_resp_t *resp = NULL;
    md_http_response_t *h;

    h = hresp_make(p, 200, "application/json", "{\"status\": \"valid\"}");
    assert_int_equal(md_acme_handle_response(&resp, acme, h, "POST", 1, result, p),
                     APR_SUCCESS);
    assert_non_null(resp->json);

    /* JSON wanted, HTML came */
    h = hresp_make(p, 200, "text/html", "<html></html>");
    assert_int_equal(md_acme_handle_response(&resp, acme, h, "POST", 1, result, p), APR_EINVAL);
    assert_true(contains(result->detail, "text/html"));
    /* not wanted: fine */
    assert_int_equal(md_acme_handle_response(&resp, acme, h, "POST", 0, result, p),
                     APR_SUCCESS);

    /* JSON that does not parse */
    h = hresp_make(p, 200, "application/json", "{\"a\": ");
    assert_int_equal(md_acme_handle_response(&resp, acme, h, "POST", 1, result, p), APR_EINVAL);

    /* a Location that is not https */
    h = hresp_make(p, 201, "application/json", "{}");
    apr_table_set(h->headers, "Location", "http://ca.test/acct/1");
    assert_int_equal(md_acme_handle_response(&resp, acme, h, "POST", 1, result, p), APR_EINVAL);
    assert_true(contains(result->detail, "http://ca.test/acct/1"));

    /* a nonce that is not base64url is not taken */
    acme->nonce = NULL;
    h = hresp_make(p, 204, NULL, NULL);
    apr_table_set(h->headers, "Replay-Nonce", "a\"b");
    assert_int_equal(md_acme_handle_response(&resp, acme, h, "HEAD", 0, result, p),
                     APR_SUCCESS);
    assert_null(acme->nonce);

    /* redirects are not followed and not accepted */
    h = hresp_make(p, 302, NULL, NULL);
    assert_int_equal(md_acme_handle_response(&resp, acme, h, "GET", 1, result, p), APR_EINVAL);
}

static void test_url_check(void **state)
{
    apr_pool_t *p = *state;
    md_acme_t *acme = acme_make(p, DIR_URL, NULL);
    md_acme_t *plain = acme_make(p, "http://localhost:4000/dir", NULL);
    md_result_t *result = md_result_make(p, NULL);
    md_acme_t *dummy = NULL;

    assert_int_equal(md_acme_url_check(acme, CA "/a", "x", result), APR_SUCCESS);
    assert_int_equal(md_acme_url_check(acme, "HTTPS://ca.test:8443/a?b#c", "x", result),
                     APR_SUCCESS);
    assert_int_equal(md_acme_url_check(acme, "http://ca.test/a", "x", result), APR_EINVAL);
    assert_int_equal(md_acme_url_check(acme, "file:///etc/passwd", "x", result), APR_EINVAL);
    assert_int_equal(md_acme_url_check(acme, "https:///a", "x", result), APR_EINVAL);
    assert_int_equal(md_acme_url_check(acme, "https://u@ca.test/a", "x", result), APR_EINVAL);
    assert_int_equal(md_acme_url_check(acme, "https://ca.test/a b", "x", result), APR_EINVAL);
    assert_int_equal(md_acme_url_check(acme, "https://ca.test/a\r\nX: y", "x", result),
                     APR_EINVAL);
    assert_int_equal(md_acme_url_check(acme, "", "x", result), APR_EINVAL);
    assert_int_equal(md_acme_url_check(acme, NULL, "finalize", result), APR_EINVAL);
    assert_true(contains(result->detail, "finalize"));
    /* an http directory may hand out http URLs */
    assert_int_equal(md_acme_url_check(plain, "http://localhost:4000/x", "x", result),
                     APR_SUCCESS);

    assert_int_equal(md_acme_create(&dummy, p, "ftp://ca.test/dir", NULL, NULL), APR_EINVAL);
    assert_int_equal(md_acme_create(&dummy, p, "ca.test/dir", NULL, NULL), APR_EINVAL);
}

/* --- status parsing, order JSON, identifiers ----------------------------- */

static void test_status_parse(void **state)
{
    md_acme_order_status_t os;
    md_acme_authz_status_t as;
    const char *const onames[] = { "pending", "ready", "processing", "valid", "invalid" };
    const char *const anames[] = { "pending", "valid", "invalid", "deactivated", "expired",
                                   "revoked" };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(onames) / sizeof(onames[0]); ++i) {
        assert_int_equal(md_acme_order_status_parse(&os, onames[i]), APR_SUCCESS);
        assert_string_equal(md_acme_order_status_name(os), onames[i]);
    }
    for (i = 0; i < sizeof(anames) / sizeof(anames[0]); ++i) {
        assert_int_equal(md_acme_authz_status_parse(&as, anames[i]), APR_SUCCESS);
        assert_string_equal(md_acme_authz_status_name(as), anames[i]);
    }
    assert_int_equal(md_acme_order_status_parse(&os, "Pending"), APR_EINVAL);
    assert_int_equal(md_acme_order_status_parse(&os, "deactivated"), APR_EINVAL);
    assert_int_equal(md_acme_order_status_parse(&os, ""), APR_EINVAL);
    assert_int_equal(md_acme_order_status_parse(&os, NULL), APR_EINVAL);
    assert_int_equal(md_acme_authz_status_parse(&as, "ready"), APR_EINVAL);
    assert_int_equal(md_acme_authz_status_parse(&as, NULL), APR_EINVAL);
}

#define ORDER_JSON(status, extra) \
    "{\"status\": \"" status "\", \"expires\": \"2030-01-01T00:00:00Z\"," \
    " \"identifiers\": [{\"type\": \"dns\", \"value\": \"x.test\"}]," \
    " \"authorizations\": [\"" CA "/authz/1\", \"" CA "/authz/2\"]," \
    " \"finalize\": \"" CA "/finalize/1\"" extra "}"

static void test_order_parse(void **state)
{
    apr_pool_t *p = *state;
    md_acme_t *acme = acme_make(p, DIR_URL, NULL);
    md_result_t *result = md_result_make(p, NULL);
    md_acme_order_t order;

    memset(&order, 0, sizeof(order));
    assert_int_equal(md_acme_order_parse(&order, acme, parse(ORDER_JSON("pending", ""), p),
                                         CA "/order/1", result, p), APR_SUCCESS);
    assert_int_equal(order.status, MD_ACME_ORDER_PENDING);
    assert_int_equal(order.authz_urls->nelts, 2);
    assert_string_equal(MD_ARR_IDX(order.authz_urls, 1, const char *), CA "/authz/2");
    assert_string_equal(order.finalize, CA "/finalize/1");
    assert_null(order.certificate);
    assert_true(order.expires > 0);

    assert_int_equal(md_acme_order_parse(&order, acme,
                                         parse(ORDER_JSON("valid", ", \"certificate\": \""
                                                          CA "/cert/1\""), p),
                                         CA "/order/1", result, p), APR_SUCCESS);
    assert_int_equal(order.status, MD_ACME_ORDER_VALID);
    assert_string_equal(order.certificate, CA "/cert/1");

    /* unknown status: an error naming it, and the order is unchanged */
    assert_int_equal(md_acme_order_parse(&order, acme, parse(ORDER_JSON("almost", ""), p),
                                         CA "/order/1", result, p), APR_EINVAL);
    assert_true(contains(result->detail, "'almost'"));
    assert_int_equal(order.status, MD_ACME_ORDER_VALID);
    assert_int_equal(md_acme_order_parse(&order, acme,
                                         parse("{\"authorizations\": [], \"finalize\": \""
                                               CA "/f\"}", p), CA "/order/1", result, p),
                     APR_EINVAL);
    assert_true(contains(result->detail, "(missing)"));

    /* missing finalize, wrong types, bad URLs */
    assert_int_equal(md_acme_order_parse(&order, acme,
                                         parse("{\"status\": \"ready\", \"authorizations\": []}",
                                               p), CA "/order/1", result, p), APR_EINVAL);
    assert_true(contains(result->detail, "finalize"));
    assert_int_equal(md_acme_order_parse(&order, acme,
                                         parse("{\"status\": \"ready\", \"authorizations\": [1],"
                                               " \"finalize\": \"" CA "/f\"}", p),
                                         CA "/order/1", result, p), APR_EINVAL);
    assert_int_equal(md_acme_order_parse(&order, acme,
                                         parse("{\"status\": \"ready\", \"authorizations\": "
                                               "[\"http://evil/a\"], \"finalize\": \"" CA
                                               "/f\"}", p), CA "/order/1", result, p),
                     APR_EINVAL);
    assert_int_equal(md_acme_order_parse(&order, acme, parse("[]", p), CA "/order/1", result,
                                         p), APR_EINVAL);
}

static void test_order_json_roundtrip(void **state)
{
    apr_pool_t *p = *state;
    md_acme_order_t order;
    md_acme_order_t *back = NULL;
    json_t *j;

    memset(&order, 0, sizeof(order));
    order.url = CA "/order/7";
    order.status = MD_ACME_ORDER_PROCESSING;
    order.authz_urls = strs(p, CA "/authz/1", CA "/authz/2");
    order.finalize = CA "/finalize/7";
    order.certificate = CA "/cert/7";

    j = md_json_pool_own(p, md_acme_order_to_json(&order));
    assert_non_null(j);
    assert_string_equal(md_json_get_str(j, "status"), "processing");
    assert_string_equal(md_json_get_str(j, "url"), CA "/order/7");
    assert_int_equal(md_acme_order_from_json(&back, j, p), APR_SUCCESS);
    assert_string_equal(back->url, order.url);
    assert_int_equal(back->status, order.status);
    assert_true(md_array_str_eq(back->authz_urls, order.authz_urls, 1));
    assert_string_equal(back->finalize, order.finalize);
    assert_string_equal(back->certificate, order.certificate);

    /* without certificate */
    order.certificate = NULL;
    order.status = MD_ACME_ORDER_READY;
    j = md_json_pool_own(p, md_acme_order_to_json(&order));
    assert_null(json_object_get(j, "certificate"));
    assert_int_equal(md_acme_order_from_json(&back, j, p), APR_SUCCESS);
    assert_null(back->certificate);
    assert_int_equal(back->status, MD_ACME_ORDER_READY);

    /* a corrupt saved order is an error, not a default */
    assert_int_equal(md_acme_order_from_json(&back, parse("{\"url\": \"" CA "/o\", \"status\": "
                                                          "\"weird\", \"authorizations\": []}",
                                                          p), p), APR_EINVAL);
    assert_int_equal(md_acme_order_from_json(&back, parse("{\"status\": \"ready\"}", p), p),
                     APR_EINVAL);
}

static void test_ident_type(void **state)
{
    (void)state;
    assert_string_equal(md_acme_ident_type("127.0.0.1"), "ip");
    assert_string_equal(md_acme_ident_type("192.0.2.10"), "ip");
    assert_string_equal(md_acme_ident_type("::1"), "ip");
    assert_string_equal(md_acme_ident_type("2001:db8::8a2e:370:7334"), "ip");
    assert_string_equal(md_acme_ident_type("example.org"), "dns");
    assert_string_equal(md_acme_ident_type("*.example.org"), "dns");
    assert_string_equal(md_acme_ident_type("1.2.3"), "dns");
    assert_string_equal(md_acme_ident_type("[::1]"), "dns");
    assert_string_equal(md_acme_ident_type("256.1.1.1"), "dns");
}

/* --- authorizations, key authorization ----------------------------------- */

#define AUTHZ_JSON(ident, status, token) \
    "{\"identifier\": {\"type\": \"dns\", \"value\": \"" ident "\"}," \
    " \"status\": \"" status "\", \"expires\": \"2030-01-01T00:00:00Z\"," \
    " \"challenges\": [" \
    "  {\"type\": \"dns-01\", \"url\": \"" CA "/chall/d\", \"status\": \"pending\"," \
    "   \"token\": \"DGyRejmCefe7v4NfDGDKfA\"}," \
    "  {\"type\": \"http-01\", \"url\": \"" CA "/chall/h\", \"status\": \"pending\"," \
    "   \"token\": \"" token "\"}]}"

static void test_authz_parse(void **state)
{
    apr_pool_t *p = *state;
    md_acme_t *acme = acme_make(p, DIR_URL, NULL);
    md_result_t *result = md_result_make(p, NULL);
    md_acme_authz_t *authz = NULL;

    assert_int_equal(md_acme_authz_parse(&authz, acme,
                                         parse(AUTHZ_JSON("X.Test", "pending", "tok"), p),
                                         CA "/authz/1", result, p), APR_SUCCESS);
    assert_string_equal(authz->domain, "x.test");
    assert_int_equal(authz->status, MD_ACME_AUTHZ_PENDING);
    assert_false(authz->wildcard);
    assert_int_equal(json_array_size(authz->challenges), 2);
    assert_null(authz->error);

    /* an identifier that would be a path is refused before any use */
    assert_int_equal(md_acme_authz_parse(&authz, acme,
                                         parse(AUTHZ_JSON("../../etc", "pending", "tok"), p),
                                         CA "/authz/1", result, p), APR_EINVAL);
    assert_null(authz);
    assert_int_equal(md_acme_authz_parse(&authz, acme,
                                         parse(AUTHZ_JSON("x.test", "hmm", "tok"), p),
                                         CA "/authz/1", result, p), APR_EINVAL);
    assert_true(contains(result->detail, "'hmm'"));
    assert_int_equal(md_acme_authz_parse(&authz, acme,
                                         parse("{\"identifier\": {\"type\": \"email\", "
                                               "\"value\": \"a@b\"}, \"status\": \"pending\","
                                               " \"challenges\": []}", p),
                                         CA "/authz/1", result, p), APR_EINVAL);
    assert_int_equal(md_acme_authz_parse(&authz, acme,
                                         parse("{\"identifier\": {\"type\": \"ip\", "
                                               "\"value\": \"192.0.2.1\"}, \"status\": "
                                               "\"valid\", \"challenges\": []}", p),
                                         CA "/authz/1", result, p), APR_SUCCESS);
    assert_string_equal(authz->domain, "192.0.2.1");
    assert_int_equal(authz->status, MD_ACME_AUTHZ_VALID);

    /* a failed challenge's error is kept */
    assert_int_equal(md_acme_authz_parse(&authz, acme,
                                         parse("{\"identifier\": {\"type\": \"dns\", "
                                               "\"value\": \"x.test\"}, \"status\": "
                                               "\"invalid\", \"challenges\": [{\"type\": "
                                               "\"http-01\", \"status\": \"invalid\", "
                                               "\"url\": \"" CA "/c\", \"token\": \"t\", "
                                               "\"error\": {\"type\": \"" ERR("connection")
                                               "\", \"detail\": \"refused\"}}]}", p),
                                         CA "/authz/1", result, p), APR_SUCCESS);
    assert_non_null(authz->error);
    assert_string_equal(md_json_get_str(authz->error, "detail"), "refused");
}

static void test_key_authz(void **state)
{
    apr_pool_t *p = *state;
    md_acme_t *acme = acme_make(p, DIR_URL, NULL);
    md_pkey_spec_t spec = { MD_PKEY_TYPE_EC, 0, "P-256" };
    const char *ka = NULL;
    const char *thumb = NULL;
    char longtok[300];

    assert_int_equal(md_acme_key_authz(&ka, acme, "tok", p), APR_EINVAL);  /* no key */
    assert_int_equal(md_pkey_gen(&acme->acct_key, p, &spec), APR_SUCCESS);
    assert_int_equal(md_pkey_jwk_thumbprint(&thumb, acme->acct_key, p), APR_SUCCESS);

    assert_int_equal(md_acme_key_authz(&ka, acme, "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA",
                                       p), APR_SUCCESS);
    assert_string_equal(ka, apr_pstrcat(p, "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.",
                                        thumb, NULL));
    /* thumbprint: base64url of a SHA-256, 43 characters */
    assert_int_equal(strlen(thumb), 43);
    assert_true(md_util_is_base64url(thumb, 43));

    assert_int_equal(md_acme_key_authz(&ka, acme, "../x", p), APR_EINVAL);
    assert_null(ka);
    assert_int_equal(md_acme_key_authz(&ka, acme, "", p), APR_EINVAL);
    assert_int_equal(md_acme_key_authz(&ka, acme, "a/b", p), APR_EINVAL);
    assert_int_equal(md_acme_key_authz(&ka, acme, "a.b", p), APR_EINVAL);
    assert_int_equal(md_acme_key_authz(&ka, acme, NULL, p), APR_EINVAL);
    memset(longtok, 'a', sizeof(longtok) - 1);
    longtok[sizeof(longtok) - 1] = '\0';
    assert_int_equal(md_acme_key_authz(&ka, acme, longtok, p), APR_EINVAL);
}

static void test_challenge_types(void **state)
{
    const md_acme_challenge_type_t *ct;

    (void)state;
    ct = md_acme_challenge_type_get("http-01");
    assert_non_null(ct);
    assert_string_equal(ct->name, "http-01");
    assert_non_null(ct->setup);
    assert_non_null(ct->teardown);
    assert_string_equal(md_acme_challenge_type_get("tls-alpn-01")->name, "tls-alpn-01");
    assert_string_equal(md_acme_challenge_type_get("dns-01")->name, "dns-01");
    assert_null(md_acme_challenge_type_get("http-02"));
    assert_null(md_acme_challenge_type_get(NULL));
}

static void test_acct_json(void **state)
{
    apr_pool_t *p = *state;
    md_acme_acct_t acct;
    md_acme_acct_t *back = NULL;
    json_t *j;

    memset(&acct, 0, sizeof(acct));
    acct.url = CA "/acct/1";
    acct.ca_url = DIR_URL;
    acct.status = "valid";
    acct.contacts = strs(p, "mailto:a@x.test", "mailto:b@x.test");
    acct.agreement = "https://ca.test/tos";
    acct.registration = md_json_pool_own(p, json_pack("{s:s}", "status", "valid"));

    j = md_json_pool_own(p, md_acme_acct_to_json(&acct));
    assert_string_equal(md_json_get_str(j, "status"), "valid");
    assert_string_equal(md_json_get_str(j, "url"), CA "/acct/1");
    assert_string_equal(md_json_get_str(j, "ca-url"), DIR_URL);
    assert_string_equal(md_json_get_str(j, "agreement"), "https://ca.test/tos");
    assert_int_equal(json_array_size(md_json_get_array(j, "contact")), 2);
    assert_non_null(md_json_get_obj(j, "registration"));
    assert_null(json_object_get(j, "orders"));

    assert_int_equal(md_acme_acct_from_json(&back, j, "test", p), APR_SUCCESS);
    assert_string_equal(back->url, acct.url);
    assert_string_equal(back->ca_url, acct.ca_url);
    assert_true(md_array_str_eq(back->contacts, acct.contacts, 1));
    assert_int_equal(md_acme_acct_from_json(&back, parse("{\"url\": \"u\"}", p), "test", p),
                     APR_EINVAL);
    assert_int_equal(md_acme_acct_from_json(&back, parse("{\"url\": \"u\", \"ca-url\": \"c\", "
                                                         "\"contact\": [1]}", p), "test", p),
                     APR_EINVAL);
}

/* --- the shared mock CA (test/unit/fixtures/fx_mock_ca.c) ----------------- */

/* A new session with ca, after ca forgot what happened (counters, orders,
 * nonces) and its switches: each step below sets up the CA it needs. */
static md_acme_t *mock_acme(fx_mock_ca_t *ca, md_store_t *store, apr_pool_t *p)
{
    fx_mock_ca_reset(ca);
    return fx_mock_ca_session(ca, store, p);
}

/* --- flows against the mock ----------------------------------------------- */

static void test_setup(void **state)
{
    apr_pool_t *p = *state;
    fx_mock_ca_t *ca = fx_mock_ca_make(NULL, p);
    md_acme_t *acme = mock_acme(ca, NULL, p);
    md_result_t *result = md_result_make(p, NULL);

    ca->with_tos = 1;
    assert_int_equal(md_acme_setup(acme, result), APR_SUCCESS);
    assert_string_equal(acme->url_new_nonce, CA "/nonce");
    assert_string_equal(acme->url_new_account, CA "/new-acct");
    assert_string_equal(acme->url_new_order, CA "/new-order");
    assert_string_equal(acme->url_revoke, CA "/revoke");
    assert_string_equal(acme->tos, CA "/tos.pdf");
    assert_false(acme->eab_required);

    ca->no_new_order = 1;
    assert_int_equal(md_acme_setup(acme, result), APR_EINVAL);
    assert_true(contains(result->detail, "newOrder"));
    assert_true(contains(result->detail, DIR_URL));

    /* nobody there */
    acme = mock_acme(ca, NULL, p);
    acme->url = "https://elsewhere.test/dir";
    assert_int_equal(md_acme_setup(acme, result), APR_ECONNREFUSED);
    assert_true(contains(result->detail, "https://elsewhere.test/dir"));
}

static void test_tos_required(void **state)
{
    apr_pool_t *p = *state;
    fx_mock_ca_t *ca = fx_mock_ca_make(NULL, p);
    md_acme_t *acme = mock_acme(ca, fx_store_make("test_md_acme", NULL, p), p);
    md_result_t *result = md_result_make(p, NULL);

    ca->with_tos = 1;
    assert_int_equal(md_acme_acct_register(acme, strs(p, "mailto:a@x.test", NULL), NULL,
                                           result, p), APR_EINVAL);
    assert_true(contains(result->detail, CA "/tos.pdf"));
    assert_true(contains(result->detail, "MDCertificateAgreement accepted"));
    assert_null(acme->acct);
    assert_int_equal(ca->acct_ctr, 0);
}

static void test_bad_nonce_exhausted(void **state)
{
    apr_pool_t *p = *state;
    fx_mock_ca_t *ca = fx_mock_ca_make(NULL, p);
    md_acme_t *acme = mock_acme(ca, NULL, p);
    md_result_t *result = md_result_make(p, NULL);

    ca->bad_nonces = 100;
    assert_int_equal(md_acme_acct_register(acme, NULL, NULL, result, p), APR_EAGAIN);
    assert_int_equal(ca->bad_nonces_sent, MD_ACME_NONCE_RETRIES + 1);
    assert_string_equal(result->problem, ERR("badNonce"));
    assert_int_equal(ca->errors, 0);
}

static void test_full_flow(void **state)
{
    apr_pool_t *p = *state;
    fx_mock_ca_t *ca = fx_mock_ca_make(NULL, p);
    md_store_t *store = fx_store_make("test_md_acme", NULL, p);
    md_acme_t *acme = mock_acme(ca, store, p);
    md_result_t *result = md_result_make(p, "x.test");
    apr_array_header_t *contacts = strs(p, "mailto:admin@x.test", NULL);
    md_acme_order_t *order = NULL;
    md_acme_authz_t *authz = NULL;
    apr_array_header_t *chain = NULL;
    json_t *j = NULL;
    const char *text = NULL;
    const char *ka = NULL;
    const json_t *ident;

    ca->with_tos = 1;
    ca->cert_pem = fx_self_signed_pem(strs(p, "x.test", NULL), p);
    /* RFC 8555 §6.5: badNonce is retried with the fresh nonce */
    ca->bad_nonces = 2;
    assert_int_equal(md_acme_acct_register(acme, contacts, "accepted", result, p),
                     APR_SUCCESS);
    assert_int_equal(ca->bad_nonces_sent, 2);
    assert_int_equal(result->status, APR_SUCCESS);
    assert_true(ca->last_had_jwk);
    assert_true(json_is_true(json_object_get(ca->last_payload, "termsOfServiceAgreed")));
    assert_string_equal(json_string_value(json_array_get(
        json_object_get(ca->last_payload, "contact"), 0)), "mailto:admin@x.test");
    assert_non_null(acme->acct);
    assert_string_equal(acme->acct->id, "ACME-ca.test-0000");
    assert_string_equal(acme->acct->url, CA "/acct/1");
    assert_int_equal(md_pkey_type(acme->acct_key), MD_PKEY_TYPE_EC);

    /* account.json as the stock module writes it */
    assert_int_equal(md_store_load_json(store, MD_SG_ACCOUNTS, "ACME-ca.test-0000",
                                        MD_FN_ACCOUNT, &j, p), APR_SUCCESS);
    assert_string_equal(md_json_get_str(j, "status"), "valid");
    assert_string_equal(md_json_get_str(j, "url"), CA "/acct/1");
    assert_string_equal(md_json_get_str(j, "ca-url"), DIR_URL);
    assert_string_equal(md_json_get_str(j, "agreement"), CA "/tos.pdf");
    assert_string_equal(md_json_get_str(j, "orders"), CA "/orders/1");
    assert_non_null(md_json_get_obj(j, "registration"));
    assert_true(md_store_exists(store, MD_SG_ACCOUNTS, "ACME-ca.test-0000", MD_FN_ACCT_KEY, p));

    /* order: kid from now on; an IP literal becomes an "ip" identifier */
    assert_int_equal(md_acme_order_new(&order, acme, strs(p, "x.test", "192.0.2.1"), result,
                                       p), APR_SUCCESS);
    assert_string_equal(ca->last_kid, CA "/acct/1");
    assert_false(ca->last_had_jwk);
    ident = json_array_get(json_object_get(ca->last_payload, "identifiers"), 0);
    assert_string_equal(md_json_get_str(ident, "type"), "dns");
    assert_string_equal(md_json_get_str(ident, "value"), "x.test");
    ident = json_array_get(json_object_get(ca->last_payload, "identifiers"), 1);
    assert_string_equal(md_json_get_str(ident, "type"), "ip");
    assert_string_equal(order->url, CA "/order/1");
    assert_int_equal(order->status, MD_ACME_ORDER_PENDING);

    /* authorization and http-01, one per name */
    assert_int_equal(order->authz_urls->nelts, 2);
    assert_int_equal(md_acme_authz_retrieve(&authz, acme,
                                            MD_ARR_IDX(order->authz_urls, 0, const char *),
                                            result, p), APR_SUCCESS);
    assert_null(ca->last_payload);   /* POST-as-GET */
    assert_int_equal(md_acme_authz_respond(authz, acme, chal_env(store, p), NULL, result, p), APR_SUCCESS);
    assert_int_equal(ca->challenges_posted, 1);
    assert_string_equal(ca->last_url, CA "/chall/1-0");
    assert_true(json_is_object(ca->last_payload) && json_object_size(ca->last_payload) == 0);
    assert_int_equal(md_store_load_text(store, MD_SG_CHALLENGES, "x.test", MD_FN_HTTP01,
                                        &text, p), APR_SUCCESS);
    assert_int_equal(md_acme_key_authz(&ka, acme, "tok-1-0", p), APR_SUCCESS);
    assert_string_equal(text, ka);
    /* the order is ready only once the IP address answered too */
    assert_int_equal(md_acme_order_await_ready(order, acme, apr_time_from_msec(250), result, p),
                     APR_TIMEUP);
    assert_int_equal(md_acme_authz_retrieve(&authz, acme,
                                            MD_ARR_IDX(order->authz_urls, 1, const char *),
                                            result, p), APR_SUCCESS);
    assert_string_equal(authz->domain, "192.0.2.1");
    assert_int_equal(md_acme_authz_respond(authz, acme, chal_env(store, p), NULL, result, p),
                     APR_SUCCESS);
    assert_int_equal(ca->challenges_posted, 2);
    assert_string_equal(ca->last_url, CA "/chall/1-1");

    assert_int_equal(md_acme_order_await_ready(order, acme, apr_time_from_sec(10), result, p),
                     APR_SUCCESS);
    assert_int_equal(order->status, MD_ACME_ORDER_READY);

    assert_int_equal(md_acme_order_finalize(order, acme, "Q1NSCg", result, p), APR_SUCCESS);
    assert_string_equal(md_json_get_str(ca->last_payload, "csr"), "Q1NSCg");
    assert_int_equal(order->status, MD_ACME_ORDER_PROCESSING);
    assert_int_equal(md_acme_order_await_valid(order, acme, apr_time_from_sec(10), result, p),
                     APR_SUCCESS);
    assert_string_equal(order->certificate, CA "/cert/1");

    assert_int_equal(md_acme_order_get_chain(&chain, order, acme, result, p), APR_SUCCESS);
    assert_int_equal(chain->nelts, 1);

    assert_int_equal(ca->cert_downloads, 1);

    assert_int_equal(md_acme_authz_teardown(acme, chal_env(store, p), "x.test", result, p), APR_SUCCESS);
    assert_false(md_store_exists(store, MD_SG_CHALLENGES, "x.test", MD_FN_HTTP01, p));
    assert_int_equal(ca->errors, 0);
}

static void test_acct_find(void **state)
{
    apr_pool_t *p = *state;
    fx_mock_ca_t *ca = fx_mock_ca_make(NULL, p);
    md_store_t *store = fx_store_make("test_md_acme", NULL, p);
    md_acme_t *acme = mock_acme(ca, store, p);
    md_result_t *result = md_result_make(p, NULL);
    apr_array_header_t *contacts = strs(p, "mailto:a@x.test", "mailto:b@x.test");

    /* empty store */
    assert_int_equal(md_acme_acct_find(acme, contacts, result, p), APR_ENOENT);
    assert_int_equal(md_acme_acct_register(acme, contacts, NULL, result, p), APR_SUCCESS);
    assert_string_equal(acme->acct->id, "ACME-ca.test-0000");
    assert_null(acme->acct->agreement);

    /* a new session finds it (contacts in another order and case) */
    acme = mock_acme(ca, store, p);
    assert_int_equal(md_acme_acct_find(acme, strs(p, "mailto:B@x.test", "mailto:a@x.test"),
                                       result, p), APR_SUCCESS);
    assert_string_equal(acme->acct->id, "ACME-ca.test-0000");
    assert_string_equal(ca->last_kid, CA "/acct/1");
    assert_non_null(acme->acct_key);

    /* other contacts: none */
    acme = mock_acme(ca, store, p);
    assert_int_equal(md_acme_acct_find(acme, strs(p, "mailto:a@x.test", NULL), result, p),
                     APR_ENOENT);
    assert_null(acme->acct);

    /* a request the CA calls malformed ends the search: no new account */
    acme = mock_acme(ca, store, p);
    ca->acct_malformed = 1;
    assert_int_equal(md_acme_acct_find(acme, contacts, result, p), APR_EINVAL);
    assert_null(acme->acct);

    /* the CA forgot it: skipped, the file stays */
    acme = mock_acme(ca, store, p);
    ca->acct_reject = 1;
    assert_int_equal(md_acme_acct_find(acme, contacts, result, p), APR_ENOENT);
    assert_null(acme->acct);
    assert_null(acme->acct_key);
    assert_true(md_store_exists(store, MD_SG_ACCOUNTS, "ACME-ca.test-0000", MD_FN_ACCOUNT, p));

    /* registering again takes the next number */
    assert_int_equal(md_acme_acct_register(acme, contacts, NULL, result, p), APR_SUCCESS);
    assert_string_equal(acme->acct->id, "ACME-ca.test-0001");

    /* load by id, no network */
    acme = mock_acme(ca, store, p);
    assert_int_equal(md_acme_acct_load(acme, "ACME-ca.test-0001", p), APR_SUCCESS);
    assert_string_equal(acme->acct->url, CA "/acct/1");
    assert_int_equal(ca->nonce_ctr, 0);
    assert_int_equal(md_acme_acct_load(acme, "ACME-ca.test-0009", p), APR_ENOENT);
    /* an account of another CA is not used for this one */
    acme = acme_make(p, "https://other.test/dir", store);
    assert_int_equal(md_acme_acct_load(acme, "ACME-ca.test-0001", p), APR_EINVAL);
}

/* Check the externalAccountBinding the mock saw: a JWS with alg, kid and the
 * newAccount URL, over the account key's JWK, MAC'd with key. */
static void check_eab_binding(fx_mock_ca_t *ca, md_acme_t *acme, const char *alg,
                              const char *digest, const unsigned char *key, apr_size_t key_len,
                              apr_pool_t *p)
{
    const json_t *eab = json_object_get(ca->last_payload, "externalAccountBinding");
    const char *prot64 = md_json_get_str(eab, "protected");
    const char *pay64 = md_json_get_str(eab, "payload");
    const unsigned char *mac;
    unsigned char *data;
    unsigned char *sig;
    apr_size_t len;
    apr_size_t mac_len;
    json_t *prot;
    json_t *jwk;
    const char *input;

    assert_non_null(prot64);
    assert_non_null(pay64);
    assert_int_equal(md_util_base64url_decode(&data, &len, prot64, p), APR_SUCCESS);
    assert_int_equal(md_json_parse(&prot, (const char *)data, len, "eab", NULL, p),
                     APR_SUCCESS);
    assert_string_equal(md_json_get_str(prot, "alg"), alg);
    assert_string_equal(md_json_get_str(prot, "kid"), "kid-1");
    assert_string_equal(md_json_get_str(prot, "url"), CA "/new-acct");
    assert_null(json_object_get(prot, "nonce"));
    assert_null(json_object_get(prot, "jwk"));
    assert_int_equal(md_util_base64url_decode(&data, &len, pay64, p), APR_SUCCESS);
    assert_int_equal(md_json_parse(&jwk, (const char *)data, len, "eab payload", NULL, p),
                     APR_SUCCESS);
    assert_true(json_equal(jwk, md_json_pool_own(p, md_pkey_to_jwk(acme->acct_key))));
    input = apr_pstrcat(p, prot64, ".", pay64, NULL);
    assert_int_equal(md_crypt_hmac(&mac, &mac_len, digest, key, key_len, input,
                                   strlen(input), p), APR_SUCCESS);
    assert_int_equal(md_util_base64url_decode(&sig, &len, md_json_get_str(eab, "signature"),
                                              p), APR_SUCCESS);
    assert_int_equal(len, mac_len);
    assert_memory_equal(sig, mac, len);
}

static void test_eab(void **state)
{
    apr_pool_t *p = *state;
    static const unsigned char key[] = { 0xfb, 0xff, 0x00, 0x01, 0x7e, 0x3f, 0x80, 0x99,
                                         0x10, 0x20, 0x30, 0x40 };
    const char *key64 = md_util_base64url_encode(key, sizeof(key), p);
    fx_mock_ca_t *ca = fx_mock_ca_make(NULL, p);
    md_store_t *store = fx_store_make("test_md_acme", NULL, p);
    md_acme_t *acme = mock_acme(ca, store, p);
    md_result_t *result = md_result_make(p, NULL);
    json_t *j = NULL;
    int ctr;

    /* required but not configured: refused locally, naming the directive */
    ca->eab_required = 1;
    assert_int_equal(md_acme_acct_register(acme, NULL, NULL, result, p), APR_EINVAL);
    assert_string_equal(result->problem, ERR("externalAccountRequired"));
    assert_true(contains(result->detail, "MDExternalAccountBinding"));
    assert_int_equal(ca->acct_ctr, 0);

    /* keys that do not decode or algorithms we lack: refused, key never quoted */
    assert_int_equal(md_acme_set_eab(acme, "kid-1", "not base64!", NULL, result),
                     APR_EINVAL);
    assert_string_equal(result->problem, MD_PROBLEM_EAB_HMAC_INVALID);
    assert_false(contains(result->detail, "not base64!"));
    assert_true(contains(result->detail, "kid-1"));
    assert_int_equal(md_acme_set_eab(acme, "kid-1", key64, "HS1024", result), APR_EINVAL);
    assert_int_equal(md_acme_set_eab(acme, "", key64, NULL, result), APR_EINVAL);
    assert_null(acme->eab);

    /* standard base64 with padding is the same key */
    assert_int_equal(md_acme_set_eab(acme, "kid-1", "+/8AAX4/gJkQIDBA", "HS384", result),
                     APR_SUCCESS);
    assert_int_equal(acme->eab->hmac_len, sizeof(key));
    assert_memory_equal(acme->eab->hmac, key, sizeof(key));
    assert_int_equal(md_acme_acct_register(acme, NULL, NULL, result, p), APR_SUCCESS);
    check_eab_binding(ca, acme, "HS384", "SHA384", key, sizeof(key), p);
    assert_string_equal(acme->acct->eab_kid, "kid-1");

    /* account.json records the kid, never the key */
    assert_int_equal(md_store_load_json(store, MD_SG_ACCOUNTS, acme->acct->id, MD_FN_ACCOUNT,
                                        &j, p), APR_SUCCESS);
    assert_string_equal(md_json_get_str(md_json_get_obj(j, "eab"), "kid"), "kid-1");
    assert_null(json_object_get(md_json_get_obj(j, "eab"), "hmac"));
    assert_false(contains(md_json_dump(j, 0, p), key64));

    /* reused for the same kid only */
    acme = mock_acme(ca, store, p);
    assert_int_equal(md_acme_acct_find(acme, NULL, result, p), APR_ENOENT);
    assert_int_equal(md_acme_set_eab(acme, "kid-2", key64, NULL, result), APR_SUCCESS);
    assert_int_equal(md_acme_acct_find(acme, NULL, result, p), APR_ENOENT);
    assert_int_equal(md_acme_set_eab(acme, "kid-1", key64, "HS512", result), APR_SUCCESS);
    assert_int_equal(md_acme_acct_find(acme, NULL, result, p), APR_SUCCESS);
    assert_string_equal(acme->acct->eab_kid, "kid-1");

    /* a key id without its MAC key (an MD from md.json, as a2md reads it):
     * the account bound to it is found; registering another is refused
     * before the CA is asked, saying how to give the key */
    acme = mock_acme(ca, store, p);
    assert_int_equal(md_acme_set_eab(acme, "kid-1", NULL, NULL, result), APR_SUCCESS);
    assert_int_equal(md_acme_acct_find(acme, NULL, result, p), APR_SUCCESS);
    assert_string_equal(acme->acct->eab_kid, "kid-1");
    acme = mock_acme(ca, store, p);
    assert_int_equal(md_acme_set_eab(acme, "kid-3", NULL, NULL, result), APR_SUCCESS);
    assert_int_equal(md_acme_acct_find(acme, NULL, result, p), APR_ENOENT);
    ctr = ca->acct_ctr;
    assert_int_equal(md_acme_acct_register(acme, NULL, NULL, result, p), APR_EINVAL);
    assert_string_equal(result->problem, MD_PROBLEM_EAB_HMAC_INVALID);
    assert_true(contains(result->detail, "kid-3"));
    assert_true(contains(result->detail, "--eab"));
    assert_int_equal(ca->acct_ctr, ctr);

    /* HS256 is the default; a CA that does not ask still gets the binding */
    acme = mock_acme(ca, NULL, p);
    assert_int_equal(md_acme_set_eab(acme, "kid-1", key64, NULL, result), APR_SUCCESS);
    assert_int_equal(md_acme_acct_register(acme, NULL, NULL, result, p), APR_SUCCESS);
    check_eab_binding(ca, acme, "HS256", "SHA256", key, sizeof(key), p);
    assert_int_equal(ca->errors, 0);

    /* a binding the CA refuses: the CA's problem type stays with the
     * explanation that names the key id */
    ca->eab_reject = 1;
    acme->acct = NULL;
    assert_int_equal(md_acme_set_eab(acme, "kid-9", key64, NULL, result), APR_SUCCESS);
    assert_int_not_equal(md_acme_acct_register(acme, NULL, NULL, result, p), APR_SUCCESS);
    assert_string_equal(result->problem, ERR("unauthorized"));
    assert_true(contains(result->detail, "kid-9"));
    assert_true(contains(result->detail, "does not verify"));
    ca->eab_reject = 0;
}

/* renewalInfo and meta.profiles from the directory; profile and replaces
 * in newOrder only when asked for. */
static void test_ari_profiles_directory(void **state)
{
    apr_pool_t *p = *state;
    fx_mock_ca_t *ca = fx_mock_ca_make(NULL, p);
    md_acme_t *acme = mock_acme(ca, NULL, p);
    md_result_t *result = md_result_make(p, NULL);
    md_acme_order_opts_t opts = { "shortlived", "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE" };
    md_acme_order_t *order;

    assert_int_equal(md_acme_setup(acme, result), APR_SUCCESS);
    assert_null(acme->url_renewal_info);
    assert_null(acme->profiles);
    assert_false(md_acme_profile_offered(acme, "classic"));

    ca->with_ari_profiles = 1;
    assert_int_equal(md_acme_setup(acme, result), APR_SUCCESS);
    assert_string_equal(acme->url_renewal_info, CA "/ari/");
    assert_true(md_acme_profile_offered(acme, "classic"));
    assert_true(md_acme_profile_offered(acme, "shortlived"));
    assert_false(md_acme_profile_offered(acme, "Classic"));
    assert_false(md_acme_profile_offered(acme, NULL));

    assert_int_equal(md_acme_acct_register(acme, NULL, NULL, result, p), APR_SUCCESS);
    assert_int_equal(md_acme_order_new(&order, acme, strs(p, "x.test", NULL), result, p),
                     APR_SUCCESS);
    assert_null(json_object_get(ca->last_payload, "profile"));
    assert_null(json_object_get(ca->last_payload, "replaces"));
    assert_int_equal(md_acme_order_new_ext(&order, acme, strs(p, "x.test", NULL), &opts,
                                           result, p), APR_SUCCESS);
    assert_string_equal(md_json_get_str(ca->last_payload, "profile"), "shortlived");
    assert_string_equal(md_json_get_str(ca->last_payload, "replaces"), opts.replaces);
    assert_int_equal(ca->errors, 0);
}

static void test_order_invalid(void **state)
{
    apr_pool_t *p = *state;
    fx_mock_ca_t *ca = fx_mock_ca_make(NULL, p);
    md_store_t *store = fx_store_make("test_md_acme", NULL, p);
    md_acme_t *acme = mock_acme(ca, store, p);
    md_result_t *result = md_result_make(p, "x.test");
    md_acme_order_t *order = NULL;
    md_acme_authz_t *authz = NULL;

    ca->fail_challenge = 1;
    assert_int_equal(md_acme_acct_register(acme, NULL, NULL, result, p), APR_SUCCESS);
    assert_int_equal(md_acme_order_new(&order, acme, strs(p, "x.test", NULL), result, p),
                     APR_SUCCESS);
    assert_int_equal(md_acme_authz_retrieve(&authz, acme, CA "/authz/1-0", result, p),
                     APR_SUCCESS);
    assert_int_equal(md_acme_authz_respond(authz, acme, chal_env(store, p), strs(p, "tls-alpn-01",
                                                                     "http-01"), result, p),
                     APR_SUCCESS);
    assert_int_equal(md_acme_order_await_ready(order, acme, apr_time_from_sec(10), result, p),
                     APR_EINVAL);
    assert_int_equal(result->status, APR_EINVAL);
    assert_string_equal(result->problem, ERR("connection"));
    assert_true(contains(result->detail, "x.test"));
    assert_true(contains(result->detail, "Connection refused"));

    /* responding to the now invalid authorization says why */
    assert_int_equal(md_acme_authz_retrieve(&authz, acme, CA "/authz/1-0", result, p),
                     APR_SUCCESS);
    assert_int_equal(md_acme_authz_respond(authz, acme, chal_env(store, p), NULL, result, p), APR_EINVAL);
    assert_string_equal(result->problem, ERR("connection"));
}

static void test_order_timeout(void **state)
{
    apr_pool_t *p = *state;
    fx_mock_ca_t *ca = fx_mock_ca_make(NULL, p);
    md_acme_t *acme = mock_acme(ca, fx_store_make("test_md_acme", NULL, p), p);
    md_result_t *result = md_result_make(p, NULL);
    md_acme_order_t *order = NULL;

    ca->never_ready = 1;
    assert_int_equal(md_acme_acct_register(acme, NULL, NULL, result, p), APR_SUCCESS);
    assert_int_equal(md_acme_order_new(&order, acme, strs(p, "x.test", NULL), result, p),
                     APR_SUCCESS);
    assert_int_equal(md_acme_order_await_ready(order, acme, apr_time_from_msec(250), result, p),
                     APR_TIMEUP);
    assert_true(contains(result->detail, "pending"));
}

static void test_respond_checks(void **state)
{
    apr_pool_t *p = *state;
    fx_mock_ca_t *ca = fx_mock_ca_make(NULL, p);
    md_store_t *store = fx_store_make("test_md_acme", NULL, p);
    md_acme_t *acme = mock_acme(ca, store, p);
    md_result_t *result = md_result_make(p, NULL);
    md_acme_authz_t *authz = NULL;

    assert_int_equal(md_acme_acct_register(acme, NULL, NULL, result, p), APR_SUCCESS);

    /* a token that would be a path never becomes a file */
    assert_int_equal(md_acme_authz_parse(&authz, acme,
                                         parse(AUTHZ_JSON("x.test", "pending", "../x"), p),
                                         CA "/authz/1", result, p), APR_SUCCESS);
    assert_int_equal(md_acme_authz_respond(authz, acme, chal_env(store, p), NULL, result, p), APR_EINVAL);
    assert_true(contains(result->detail, "token"));
    assert_false(md_store_exists(store, MD_SG_CHALLENGES, "x.test", MD_FN_HTTP01, p));

    /* none of our types offered */
    assert_int_equal(md_acme_authz_respond(authz, acme, chal_env(store, p), strs(p, "tls-alpn-01", NULL),
                                           result, p), APR_EINVAL);
    assert_true(contains(result->detail, "dns-01, http-01"));

    /* valid: nothing to do, nothing sent */
    assert_int_equal(md_acme_authz_parse(&authz, acme,
                                         parse(AUTHZ_JSON("x.test", "valid", "../x"), p),
                                         CA "/authz/1", result, p), APR_SUCCESS);
    ca->last_url = NULL;
    assert_int_equal(md_acme_authz_respond(authz, acme, chal_env(store, p), NULL, result, p), APR_SUCCESS);
    assert_null(ca->last_url);
}

#define AUTHZ_DNS_HTTP_JSON \
    "{\"identifier\": {\"type\": \"dns\", \"value\": \"x.test\"}," \
    " \"status\": \"pending\", \"challenges\": [" \
    "  {\"type\": \"dns-01\", \"url\": \"" CA "/chall/d\", \"status\": \"pending\"," \
    "   \"token\": \"DGyRejmCefe7v4NfDGDKfA\"}," \
    "  {\"type\": \"http-01\", \"url\": \"" CA "/chall/1\", \"status\": \"pending\"," \
    "   \"token\": \"tok-1\"}]}"

/* A type that cannot be set up gives way to the next offered one; the
 * problem types say why nothing worked, as the stock module's do. */
static void test_respond_falls_through(void **state)
{
    apr_pool_t *p = *state;
    fx_mock_ca_t *ca = fx_mock_ca_make(NULL, p);
    md_store_t *store = fx_store_make("test_md_acme", NULL, p);
    md_acme_t *acme = mock_acme(ca, store, p);
    md_result_t *result = md_result_make(p, "x.test");
    md_acme_chal_env_t *env = apr_pcalloc(p, sizeof(*env));
    md_acme_authz_t *authz = NULL;

    env->store = store;
    env->dns01_cmd = strs(p, "/bin/false", NULL);
    assert_int_equal(md_acme_acct_register(acme, NULL, NULL, result, p), APR_SUCCESS);
    assert_int_equal(md_acme_authz_parse(&authz, acme, parse(AUTHZ_DNS_HTTP_JSON, p),
                                         CA "/authz/1", result, p), APR_SUCCESS);

    /* dns-01 first: its program fails, so http-01 answers */
    ca->last_url = NULL;
    assert_int_equal(md_acme_authz_respond(authz, acme, env, strs(p, "dns-01", "http-01"),
                                           result, p), APR_SUCCESS);
    assert_string_equal(ca->last_url, CA "/chall/1");
    assert_true(md_store_exists(store, MD_SG_CHALLENGES, "x.test", MD_FN_HTTP01, p));
    /* the failed type was cleaned up */
    assert_false(md_store_exists(store, MD_SG_CHALLENGES, "x.test", MD_FN_DNS01, p));

    /* only types that fail: challenge-setup-failure, naming what failed */
    ca->last_url = NULL;
    assert_int_not_equal(md_acme_authz_respond(authz, acme, env, strs(p, "dns-01", NULL),
                                               result, p), APR_SUCCESS);
    assert_string_equal(result->problem, MD_PROBLEM_CHALLENGE_SETUP);
    assert_true(contains(result->detail, "dns-01"));
    assert_null(ca->last_url);

    /* a missing program is a failure like any other, not a crash */
    env->dns01_cmd = strs(p, "/nonexistent/dns-hook", NULL);
    assert_int_not_equal(md_acme_authz_respond(authz, acme, env, strs(p, "dns-01", NULL),
                                               result, p), APR_SUCCESS);
    assert_string_equal(result->problem, MD_PROBLEM_CHALLENGE_SETUP);

    /* nothing offered that we may use: challenge-mismatch */
    assert_int_equal(md_acme_authz_respond(authz, acme, env, strs(p, "tls-alpn-01", NULL),
                                           result, p), APR_EINVAL);
    assert_string_equal(result->problem, MD_PROBLEM_CHALLENGE_MISMATCH);
    assert_null(ca->last_url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_problem_status),
        UNIT_TEST(test_problem_document),
        UNIT_TEST(test_response_checks),
        UNIT_TEST(test_url_check),
        UNIT_TEST(test_status_parse),
        UNIT_TEST(test_order_parse),
        UNIT_TEST(test_order_json_roundtrip),
        UNIT_TEST(test_ident_type),
        UNIT_TEST(test_authz_parse),
        UNIT_TEST(test_key_authz),
        UNIT_TEST(test_challenge_types),
        UNIT_TEST(test_acct_json),
        UNIT_TEST(test_setup),
        UNIT_TEST(test_tos_required),
        UNIT_TEST(test_bad_nonce_exhausted),
        UNIT_TEST(test_full_flow),
        UNIT_TEST(test_acct_find),
        UNIT_TEST(test_eab),
        UNIT_TEST(test_ari_profiles_directory),
        UNIT_TEST(test_order_invalid),
        UNIT_TEST(test_order_timeout),
        UNIT_TEST(test_respond_checks),
        UNIT_TEST(test_respond_falls_through),
    };
    return UNIT_RUN(tests);
}
