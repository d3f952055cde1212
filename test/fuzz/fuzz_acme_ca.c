/* A hostile CA: a whole ACME session (directory, nonce, new account, new
 * order, authorizations, finalize, certificate chain, renewal information,
 * revocation)
 * against responses taken one after the other from the input, through the
 * HTTP mock, so the real client code runs from md_acme_post down to the
 * parsers. Input: responses in fuzz_http_response's form separated by
 * FUZZ_SEP; when they run out, the CA "refuses connections". Every request
 * we send must be well-formed whatever the CA said before. */
#include "fuzz.h"

#include <strings.h>

#include "md_acme.h"
#include "md_acme_int.h"
#include "md_acme_revoke.h"
#include "md_ari.h"
#include "md_crypt.h"
#include "md_json.h"
#include "md_util.h"

#define MAX_RESPONSES  24

typedef struct {
    const char *parts[MAX_RESPONSES];
    size_t lens[MAX_RESPONSES];
    int n;
    int next;
} script_t;

static apr_status_t mock(md_http_response_t **presp, void *baton, const char *method,
                         const char *url, const char *content_type, const char *accept,
                         const char *body, apr_size_t body_len, apr_pool_t *p)
{
    script_t *sc = baton;
    json_t *jws = NULL;
    int i;

    (void)content_type;
    (void)accept;
    *presp = NULL;
    /* What we send: only to an https URL (the scheme in any case, RFC 3986
     * §3.1), a POST only as a flattened JWS with the three members (RFC 8555
     * §6.2). */
    if (!url || strncasecmp(url, "https://", 8) || strpbrk(url, " \r\n")) {
        abort();
    }
    if (!strcmp(method, "POST")) {
        if (md_json_parse(&jws, body, body_len, "request", NULL, p) != APR_SUCCESS
            || !md_json_get_str(jws, "protected") || !md_json_get_str(jws, "payload")
            || !md_json_get_str(jws, "signature")) {
            abort();
        }
    }
    if (sc->next >= sc->n) {
        return APR_ECONNREFUSED;
    }
    i = sc->next++;
    *presp = fuzz_http_response(sc->parts[i], sc->lens[i], url, p);
    return APR_SUCCESS;
}

static md_pkey_t *order_key;

static void session(md_acme_t *acme, apr_pool_t *p)
{
    md_result_t *result = md_result_make(p, "a.test");
    apr_array_header_t *names = apr_array_make(p, 2, sizeof(const char *));
    apr_array_header_t *contacts = apr_array_make(p, 1, sizeof(const char *));
    md_acme_order_opts_t opts = { "shortlived", "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE" };
    md_acme_order_t *order = NULL;
    md_acme_authz_t *authz = NULL;
    apr_array_header_t *chain = NULL;
    md_ari_window_t w;
    const char *csr64 = NULL;
    int i;

    APR_ARRAY_PUSH(names, const char *) = "a.test";
    APR_ARRAY_PUSH(names, const char *) = "192.0.2.1";
    APR_ARRAY_PUSH(contacts, const char *) = "mailto:admin@a.test";
    if (md_acme_setup(acme, result) != APR_SUCCESS) {
        return;
    }
    if (md_acme_acct_register(acme, contacts, "accepted", result, p) != APR_SUCCESS) {
        return;
    }
    if (md_acme_order_new_ext(&order, acme, names, &opts, result, p) != APR_SUCCESS) {
        return;
    }
    /* Bounded by the responses left: each authorization costs one. */
    for (i = 0; i < order->authz_urls->nelts && i < 4; ++i) {
        if (md_acme_authz_retrieve(&authz, acme, MD_ARR_IDX(order->authz_urls, i, const char *),
                                   result, p) == APR_SUCCESS) {
            (void)md_acme_authz_respond(authz, acme, NULL, NULL, result, p);
        }
    }
    /* Timeout 0: one look at the order, no sleeping. */
    (void)md_acme_order_await_ready(order, acme, 0, result, p);
    if (md_csr_create(&csr64, order_key, names, 0, p) != APR_SUCCESS
        || md_acme_order_finalize(order, acme, csr64, result, p) != APR_SUCCESS) {
        return;
    }
    (void)md_acme_order_await_valid(order, acme, 0, result, p);
    if (md_acme_order_get_chain(&chain, order, acme, result, p) == APR_SUCCESS) {
        if (chain->nelts < 1) {
            abort();
        }
        (void)md_cert_covers(MD_ARR_IDX(chain, 0, md_cert_t *), names);
    }
    memset(&w, 0, sizeof(w));
    (void)md_ari_fetch(&w, acme, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", result, p);
    if (chain) {
        (void)md_acme_revoke_cert(acme, MD_ARR_IDX(chain, 0, md_cert_t *), NULL, 1, result, p);
    }
    (void)md_result_to_string(result, p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_begin();
    script_t *sc = apr_pcalloc(p, sizeof(*sc));
    md_acme_t *acme = NULL;

    if (!order_key) {
        md_pkey_spec_t spec = { MD_PKEY_TYPE_EC, 0, "P-256" };
        if (md_pkey_gen(&order_key, fuzz_root, &spec) != APR_SUCCESS) {
            abort();
        }
    }
    sc->n = fuzz_split(data, size, MAX_RESPONSES, sc->parts, sc->lens, p);
    if (md_acme_create(&acme, p, "https://ca.test/dir", NULL, NULL) != APR_SUCCESS) {
        abort();
    }
    md_http_set_mock(acme->http, mock, sc);
    session(acme, p);
    fuzz_pool_end(p);
    return 0;
}
