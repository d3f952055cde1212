/* JSON Web Signature (RFC 7515), flattened JSON serialization, as ACME
 * (RFC 8555 §6.2) requires: protected header with alg, nonce, url and either
 * jwk (new accounts) or kid (everything else). */
#ifndef md_jws_h
#define md_jws_h

#include <apr_pools.h>
#include <jansson.h>
#include "md_crypt.h"

/* Sign payload (payload_len bytes; len 0 gives the empty payload "" that
 * POST-as-GET uses). kid NULL puts the public key as "jwk" in the header.
 * nonce and url are required for requests to the CA; nonce may be NULL
 * only for the inner JWS of a key change (RFC 8555 §7.3.5), which has none.
 * *pjws is {"protected","payload","signature"}, owned by p. APR_EINVAL
 * without url or with strings JSON cannot hold (invalid UTF-8); APR_ENOTIMPL
 * for a key without a JWS algorithm. Does not block or touch the network. */
apr_status_t md_jws_sign(json_t **pjws, const char *payload, apr_size_t payload_len,
                         const char *nonce, const char *url, const char *kid,
                         const md_pkey_t *pkey, apr_pool_t *p);

/* The JWS of ACME external account binding (RFC 8555 §7.3.4): protected
 * {"alg":alg,"kid":kid,"url":url}, signed with the CA-issued MAC key (the
 * raw bytes, after base64url-decoding what the admin configured). alg is
 * "HS256", "HS384" or "HS512" (NULL: HS256), anything else APR_ENOTIMPL.
 * The payload is the account key's JWK. Result as above. The key is never
 * logged. */
apr_status_t md_jws_sign_hmac(json_t **pjws, const char *alg, const char *payload,
                              apr_size_t payload_len, const char *url, const char *kid,
                              const unsigned char *hmac_key, apr_size_t hmac_key_len,
                              apr_pool_t *p);

/* The digest name ("SHA256", ...) of an HMAC JWS algorithm ("HS256", ...),
 * or NULL if alg is not one of HS256, HS384, HS512. */
const char *md_jws_hmac_digest(const char *alg);

#endif /* md_jws_h */
