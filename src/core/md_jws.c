/* JWS in the flattened JSON serialization (RFC 7515 §7.2.2), the only form
 * ACME accepts (RFC 8555 §6.2). The header is built with jansson, never by
 * formatting strings (STYLE §7); the signature itself comes from
 * md_crypt.c, which holds all OpenSSL use. */
#include <string.h>

#include <apr_strings.h>

#include "md_crypt.h"
#include "md_json.h"
#include "md_jws.h"
#include "md_log.h"
#include "md_util.h"

#define JWS_PROTECTED   "protected"
#define JWS_PAYLOAD     "payload"
#define JWS_SIGNATURE   "signature"
#define JWS_ALG         "alg"
#define JWS_NONCE       "nonce"
#define JWS_URL         "url"
#define JWS_KID         "kid"
#define JWS_JWK         "jwk"

/* Signs "protected.payload" (RFC 7515 §5.1 step 5) into *psig. */
typedef apr_status_t sign_fn(const unsigned char **psig, apr_size_t *plen, const void *baton,
                             const char *input, apr_size_t input_len, apr_pool_t *p);

/* obj[key] = s; fails when jansson refuses s (not UTF-8). */
static int set_str(json_t *obj, const char *key, const char *s)
{
    return json_object_set_new(obj, key, json_string(s)) == 0;
}

/* Encode header and payload, sign, and assemble the flattened JWS. */
static apr_status_t jws_finish(json_t **pjws, const json_t *header, const char *payload,
                               apr_size_t payload_len, sign_fn *sign, const void *baton,
                               apr_pool_t *p)
{
    const unsigned char *sig;
    apr_size_t sig_len;
    const char *prot64;
    const char *pay64;
    const char *input;
    json_t *jws;
    char *hdr;
    size_t n;
    apr_status_t rv;

    /* Compact, with keys sorted so equal headers encode equally. */
    n = json_dumpb(header, NULL, 0, JSON_COMPACT | JSON_SORT_KEYS);
    if (n == 0) {
        return APR_EINVAL;
    }
    hdr = apr_palloc(p, n);
    if (json_dumpb(header, hdr, n, JSON_COMPACT | JSON_SORT_KEYS) != n) {
        return APR_EINVAL;
    }
    prot64 = md_util_base64url_encode(hdr, n, p);
    pay64 = payload_len > 0 ? md_util_base64url_encode(payload, payload_len, p) : "";
    input = apr_pstrcat(p, prot64, ".", pay64, NULL);
    if ((rv = sign(&sig, &sig_len, baton, input, strlen(input), p)) != APR_SUCCESS) {
        return rv;
    }
    jws = json_pack("{s:s, s:s, s:s}", JWS_PROTECTED, prot64, JWS_PAYLOAD, pay64,
                    JWS_SIGNATURE, md_util_base64url_encode(sig, sig_len, p));
    if (!jws) {
        return APR_ENOMEM;
    }
    *pjws = md_json_pool_own(p, jws);
    return APR_SUCCESS;
}

static apr_status_t sign_pkey(const unsigned char **psig, apr_size_t *plen, const void *baton,
                              const char *input, apr_size_t input_len, apr_pool_t *p)
{
    return md_pkey_sign_jws(psig, plen, baton, input, input_len, p);
}

apr_status_t md_jws_sign(json_t **pjws, const char *payload, apr_size_t payload_len,
                         const char *nonce, const char *url, const char *kid,
                         const md_pkey_t *pkey, apr_pool_t *p)
{
    const char *alg;
    json_t *header = NULL;
    json_t *jwk;
    apr_status_t rv = APR_EINVAL;

    *pjws = NULL;
    if (!url || !pkey || (payload_len > 0 && !payload)) {
        return APR_EINVAL;
    }
    if (!(alg = md_pkey_jws_alg(pkey))) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_ENOTIMPL, p,
                      "MD02100: the key has no JWS algorithm, cannot sign for %s", url);
        return APR_ENOTIMPL;
    }
    if (!(header = json_object())) {
        return APR_ENOMEM;
    }
    if (!set_str(header, JWS_ALG, alg) || !set_str(header, JWS_URL, url)
        || (nonce && !set_str(header, JWS_NONCE, nonce))) {
        goto leave;
    }
    /* RFC 8555 §6.2: "jwk" only for newAccount (and revocation by
     * certificate key), "kid" with the account URL for everything else. */
    if (kid) {
        if (!set_str(header, JWS_KID, kid)) {
            goto leave;
        }
    }
    else if (!(jwk = md_pkey_to_jwk(pkey)) || json_object_set_new(header, JWS_JWK, jwk)) {
        rv = APR_EGENERAL;
        goto leave;
    }
    rv = jws_finish(pjws, header, payload, payload_len, sign_pkey, pkey, p);
leave:
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD02101: building the JWS for %s failed",
                      md_util_str_printable(p, url, 256));
    }
    json_decref(header);
    return rv;
}

typedef struct {
    const char *digest;
    const unsigned char *key;
    apr_size_t len;
} hmac_key_t;

static apr_status_t sign_hmac(const unsigned char **psig, apr_size_t *plen, const void *baton,
                              const char *input, apr_size_t input_len, apr_pool_t *p)
{
    const hmac_key_t *k = baton;

    return md_crypt_hmac(psig, plen, k->digest, k->key, k->len, input, input_len, p);
}

const char *md_jws_hmac_digest(const char *alg)
{
    if (!alg) {
        return NULL;
    }
    if (!strcmp(alg, "HS256")) {
        return "SHA256";
    }
    if (!strcmp(alg, "HS384")) {
        return "SHA384";
    }
    if (!strcmp(alg, "HS512")) {
        return "SHA512";
    }
    return NULL;
}

apr_status_t md_jws_sign_hmac(json_t **pjws, const char *alg, const char *payload,
                              apr_size_t payload_len, const char *url, const char *kid,
                              const unsigned char *hmac_key, apr_size_t hmac_key_len,
                              apr_pool_t *p)
{
    hmac_key_t k;
    json_t *header;
    apr_status_t rv = APR_EINVAL;

    *pjws = NULL;
    if (!alg) {
        alg = "HS256";
    }
    if (!url || !kid || !hmac_key || hmac_key_len == 0 || (payload_len > 0 && !payload)) {
        return APR_EINVAL;
    }
    if (!(k.digest = md_jws_hmac_digest(alg))) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_ENOTIMPL, p,
                      "MD02103: '%s' is not an HMAC algorithm for external account binding "
                      "(HS256, HS384, HS512)", md_util_str_printable(p, alg, 32));
        return APR_ENOTIMPL;
    }
    if (!(header = json_object())) {
        return APR_ENOMEM;
    }
    /* RFC 8555 §7.3.4: no nonce in the inner, external account binding JWS. */
    if (set_str(header, JWS_ALG, alg) && set_str(header, JWS_KID, kid)
        && set_str(header, JWS_URL, url)) {
        k.key = hmac_key;
        k.len = hmac_key_len;
        rv = jws_finish(pjws, header, payload, payload_len, sign_hmac, &k, p);
    }
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                      "MD02102: building the external account binding JWS for %s failed",
                      md_util_str_printable(p, url, 256));
    }
    json_decref(header);
    return rv;
}
