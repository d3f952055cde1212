/* The CA's documents (RFC 8555 §7.1): the directory, account, order and
 * authorization objects, and the renewal information of RFC 9773. One JSON
 * document goes to every parser; what a parser accepts is then used the way
 * the client uses it (URLs checked, order saved and read back, challenges
 * picked and their tokens checked). */
#include "fuzz.h"

#include "md_acme.h"
#include "md_acme_int.h"
#include "md_ari.h"
#include "md_crypt.h"
#include "md_dns.h"
#include "md_json.h"
#include "md_util.h"

#define URL "https://ca.test/acme/x"

/* The account key for key authorizations: made once (EC, cheap). */
static md_pkey_t *acct_key;

static void directory(md_acme_t *acme, const json_t *j, apr_pool_t *p)
{
    md_result_t *result = md_result_make(p, NULL);
    md_result_t *scratch = md_result_make(p, NULL);
    int i;

    if (md_acme_setup_from(acme, j, result) != APR_SUCCESS) {
        if (!result->detail || acme->url_new_nonce) {
            abort();
        }
        return;
    }
    if (md_acme_url_check(acme, acme->url_new_nonce, "x", scratch)
        || md_acme_url_check(acme, acme->url_new_account, "x", scratch)
        || md_acme_url_check(acme, acme->url_new_order, "x", scratch)
        || (acme->url_renewal_info
            && md_acme_url_check(acme, acme->url_renewal_info, "x", scratch))) {
        abort();
    }
    for (i = 0; acme->profiles && i < acme->profiles->nelts; ++i) {
        if (!md_acme_profile_offered(acme, MD_ARR_IDX(acme->profiles, i, const char *))) {
            abort();
        }
    }
    if (acme->url_renewal_info) {
        (void)md_ari_url(acme, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", p);
    }
}

static void order(md_acme_t *acme, const json_t *j, apr_pool_t *p)
{
    md_result_t *result = md_result_make(p, NULL);
    md_acme_order_t o;
    md_acme_order_t *back = NULL;
    json_t *saved;

    memset(&o, 0, sizeof(o));
    if (md_acme_order_parse(&o, acme, j, URL, result, p) != APR_SUCCESS) {
        if (!result->detail) {
            abort();
        }
        return;
    }
    /* The job saves the order and a restart reads it back. */
    o.url = URL;
    saved = md_json_pool_own(p, md_acme_order_to_json(&o));
    if (md_acme_order_from_json(&back, saved, p) != APR_SUCCESS || back->status != o.status
        || !md_array_str_eq(back->authz_urls, o.authz_urls, 1)) {
        abort();
    }
}

static void authz(md_acme_t *acme, const json_t *j, apr_pool_t *p)
{
    static const char *const mine[] = { "dns-01", "tls-alpn-01", "http-01" };
    md_result_t *result = md_result_make(p, NULL);
    md_acme_authz_t *a = NULL;
    apr_array_header_t *types;
    size_t i;

    if (md_acme_authz_parse(&a, acme, j, URL, result, p) != APR_SUCCESS) {
        if (!result->detail || a) {
            abort();
        }
        return;
    }
    /* The identifier names directories in the store. */
    if (!a->domain || !(md_dns_is_name(a->domain, 0, 1, NULL) || md_dns_is_ip(a->domain))) {
        abort();
    }
    /* No store: a challenge gets as far as its token and key authorization
     * and stops before writing anything. */
    acme->acct_key = acct_key;
    (void)md_acme_authz_respond(a, acme, NULL, NULL, result, p);
    types = apr_array_make(p, 3, sizeof(const char *));
    for (i = 0; i < sizeof(mine) / sizeof(mine[0]); ++i) {
        APR_ARRAY_PUSH(types, const char *) = mine[i];
    }
    (void)md_acme_authz_respond(a, acme, NULL, types, result, p);
    (void)md_result_to_string(result, p);
}

static void account(const json_t *j, apr_pool_t *p)
{
    md_acme_acct_t *acct = NULL;
    md_acme_acct_t *back = NULL;
    json_t *saved;

    if (md_acme_acct_from_json(&acct, j, "account.json", p) != APR_SUCCESS) {
        return;
    }
    saved = md_json_pool_own(p, md_acme_acct_to_json(acct));
    if (md_acme_acct_from_json(&back, saved, "again", p) != APR_SUCCESS
        || strcmp(back->url, acct->url) || strcmp(back->ca_url, acct->ca_url)) {
        abort();
    }
}

static void renewal_info(const json_t *j, apr_pool_t *p)
{
    md_result_t *result = md_result_make(p, NULL);
    md_ari_window_t w;

    memset(&w, 0, sizeof(w));
    if (md_ari_window_parse(&w, j, URL, result, p) == APR_SUCCESS) {
        if (w.end <= w.start || w.start <= 0) {
            abort();
        }
        (void)md_ari_pick_time(w.start, w.end);
    }
    else if (!result->detail) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_begin();
    md_acme_t *acme = NULL;
    json_t *j = NULL;

    if (!acct_key) {
        md_pkey_spec_t spec = { MD_PKEY_TYPE_EC, 0, "P-256" };
        if (md_pkey_gen(&acct_key, fuzz_root, &spec) != APR_SUCCESS) {
            abort();
        }
    }
    if (md_acme_create(&acme, p, "https://ca.test/dir", NULL, NULL) != APR_SUCCESS) {
        abort();
    }
    if (md_json_parse(&j, (const char *)data, size, URL, NULL, p) == APR_SUCCESS) {
        directory(acme, j, p);
        order(acme, j, p);
        authz(acme, j, p);
        account(j, p);
        renewal_info(j, p);
    }
    fuzz_pool_end(p);
    return 0;
}
