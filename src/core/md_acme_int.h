/* Internals shared by md_acme*.c and their unit tests. Not for other
 * callers: the contract is md_acme.h. */
#ifndef md_acme_int_h
#define md_acme_int_h

#include "md_acme.h"

/* RFC 8555 §6.5 asks for one retry on badNonce; some CAs (pebble rejects
 * 5% of nonces on purpose) make a few more worthwhile. */
#define MD_ACME_NONCE_RETRIES   3
/* Nonces are base64url (RFC 8555 §6.5.1); longer ones are not accepted. */
#define MD_ACME_NONCE_MAX_LEN   256
/* Challenge tokens: base64url, at most this long, before any use. */
#define MD_ACME_TOKEN_MAX_LEN   256
/* Bounds on arrays from the CA. */
#define MD_ACME_MAX_AUTHZ       1000
#define MD_ACME_MAX_CHALLENGES  32
#define MD_ACME_MAX_PROFILES    32
#define MD_ACME_PROFILE_MAX_LEN 64

/* Map an ACME problem type (full URN or NULL) and the HTTP status to our
 * error codes, as md_acme.h describes. */
apr_status_t md_acme_problem_status(const char *type, int http_status);

/* Turn an HTTP response into an ACME response: take the nonce, read
 * Retry-After into result, check Location, and for an error status fill
 * result from the problem document and return the mapped code. When want_json
 * is set a non-empty success body must have a JSON content type and parse.
 * *presp is set whenever hresp is. */
apr_status_t md_acme_handle_response(md_acme_resp_t **presp, md_acme_t *acme,
                                     const md_http_response_t *hresp, const char *method,
                                     int want_json, md_result_t *result, apr_pool_t *p);

/* Is url acceptable for talking to this CA: https, or http when the
 * directory itself is http; a host; no spaces or control characters?
 * APR_EINVAL with result naming what (e.g. "finalize") and the URL. */
apr_status_t md_acme_url_check(const md_acme_t *acme, const char *url, const char *what,
                               md_result_t *result);

/* Parse the CA's order object into order (url kept as given). */
apr_status_t md_acme_order_parse(md_acme_order_t *order, md_acme_t *acme, const json_t *j,
                                 const char *url, md_result_t *result, apr_pool_t *p);

/* Parse the CA's authorization object. */
apr_status_t md_acme_authz_parse(md_acme_authz_t **pauthz, md_acme_t *acme, const json_t *j,
                                 const char *url, md_result_t *result, apr_pool_t *p);

/* Account <-> account.json (stock mod_md format). */
json_t *md_acme_acct_to_json(const md_acme_acct_t *acct);
apr_status_t md_acme_acct_from_json(md_acme_acct_t **pacct, const json_t *j,
                                    const char *source, apr_pool_t *p);

/* --- challenge types (md_acme_chal.c) --- */

/* Remove one aspect of challenges/<domain>/; a missing one is fine. */
apr_status_t md_acme_chal_remove(const md_acme_chal_env_t *env, const char *domain,
                                 const char *aspect, md_result_t *result, apr_pool_t *p);

/* Before the CA is asked to validate: fetch our own http-01 answer as the
 * CA will (http://<domain>/.well-known/acme-challenge/<token> arriving at
 * env->check_http_host:port). APR_SUCCESS when it matches key_authz or no
 * check is configured; else APR_EAGAIN with result naming the port and
 * what came back. Network (local). */
apr_status_t md_acme_chal_check_http01(const md_acme_chal_env_t *env, md_acme_t *acme,
                                       const char *domain, const char *token,
                                       const char *key_authz, md_result_t *result,
                                       apr_pool_t *p);

apr_status_t md_acme_chal_tlsalpn01_setup(const md_acme_chal_env_t *env, md_acme_t *acme,
                                          const char *domain, const char *token,
                                          const char *key_authz, md_result_t *result,
                                          apr_pool_t *p);
apr_status_t md_acme_chal_tlsalpn01_teardown(const md_acme_chal_env_t *env, md_acme_t *acme,
                                             const char *domain, md_result_t *result,
                                             apr_pool_t *p);
apr_status_t md_acme_chal_dns01_setup(const md_acme_chal_env_t *env, md_acme_t *acme,
                                      const char *domain, const char *token,
                                      const char *key_authz, md_result_t *result,
                                      apr_pool_t *p);
apr_status_t md_acme_chal_dns01_teardown(const md_acme_chal_env_t *env, md_acme_t *acme,
                                         const char *domain, md_result_t *result,
                                         apr_pool_t *p);

#endif /* md_acme_int_h */
