/* ACME v2 client (RFC 8555).
 *
 * md_acme_t is one session with one CA: its directory, the current nonce,
 * the account in use and an HTTP client. One thread at a time. All requests
 * to the CA go through md_acme_get / md_acme_post, the single choke point
 * (STYLE §7): they sign, send, check the content type, cap sizes, retry
 * badNonce with the fresh nonce the error carried (RFC 8555 §6.5; up to
 * MD_ACME_NONCE_RETRIES times, md_acme_int.h), and turn problem documents
 * into md_result_t entries.
 *
 * Error codes from the CA map to apr_status_t so callers can decide:
 *   APR_EINVAL  the CA rejected our input (malformed, badCSR,
 *               rejectedIdentifier, unsupportedIdentifier, ...): retrying the
 *               same thing will not help
 *   APR_EACCES  unauthorized / accountDoesNotExist / userActionRequired
 *   APR_ENOENT  404 for the resource (order or account forgotten)
 *   APR_EAGAIN  rateLimited, 503, serverInternal, a not-yet state when
 *               polling; result->retry_after set from Retry-After if given
 *   other       transport errors from md_http (connection refused, timeout)
 */
#ifndef md_acme_h
#define md_acme_h

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>
#include "md_crypt.h"
#include "md_http.h"
#include "md_result.h"
#include "md_store.h"

#define MD_ACME_PROBLEM_PREFIX  "urn:ietf:params:acme:error:"
#define MD_ACME_USER_AGENT      "mod_md"
/* Our problem types for a binding that cannot be used (the stock module's
 * names, so monitoring keeps working). */
#define MD_PROBLEM_EAB_HMAC_INVALID "apache:eab-hmac-invalid"
#define MD_PROBLEM_EAB_KID_INVALID  "apache:eab-kid-invalid"
#define MD_PROBLEM_EAB_HMAC_FAIL    "apache:eab-hmac-fail"

typedef struct md_acme_acct_t {
    const char *id;             /* store name in accounts/ ("ACME-<host>-<nnnn>"), NULL if unsaved */
    const char *url;            /* account URL (the kid) */
    const char *ca_url;         /* directory URL of the CA it belongs to */
    const char *status;         /* "valid", "deactivated", "revoked" */
    apr_array_header_t *contacts;
    const char *agreement;      /* ToS URL agreed to, or "accepted" */
    const char *orders;         /* orders list URL, may be NULL */
    json_t *registration;       /* the CA's last account object (owned by pool) */
    const char *eab_kid;        /* the external account binding it was made with, or NULL */
} md_acme_acct_t;

/* External account binding for new accounts (RFC 8555 §7.3.4): the key id
 * and the MAC key (raw bytes) the CA handed out, and the JWS algorithm. */
typedef struct md_acme_eab_t {
    const char *kid;
    const unsigned char *hmac;
    apr_size_t hmac_len;
    const char *alg;            /* "HS256", "HS384" or "HS512" */
} md_acme_eab_t;

typedef struct md_acme_t {
    apr_pool_t *p;
    const char *url;            /* directory URL */
    const char *user_agent;
    md_http_t *http;
    md_store_t *store;          /* may be NULL (no account persistence) */

    /* from the directory, after md_acme_setup */
    const char *url_new_nonce;
    const char *url_new_account;
    const char *url_new_order;
    const char *url_revoke;
    const char *url_key_change;
    const char *tos;            /* meta.termsOfService, or NULL */
    int eab_required;
    const char *url_renewal_info; /* renewalInfo (RFC 9773 ARI), or NULL */
    apr_array_header_t *profiles; /* const char*, names in meta.profiles, or NULL */

    const md_acme_eab_t *eab;   /* binding for new accounts, NULL: none (md_acme_set_eab) */

    /* Called by md_acme_authz_respond after a challenge is set up and before
     * the CA is told to validate it; a failure (result filled) ends the
     * attempt. NULL: none. */
    apr_status_t (*on_challenge_setup)(void *baton, const char *type, const char *domain,
                                       md_result_t *result, apr_pool_t *p);
    void *on_challenge_setup_baton;
    const char *dir_json;       /* the directory document md_acme_setup read, or NULL */

    const char *nonce;          /* next nonce to use, or NULL */

    md_acme_acct_t *acct;       /* account in use, or NULL */
    md_pkey_t *acct_key;
} md_acme_t;

/* A response from the CA, after problem documents were handled. */
typedef struct md_acme_resp_t {
    int status;
    apr_table_t *headers;
    const char *location;       /* Location header or NULL */
    json_t *json;               /* parsed body if JSON, else NULL (owned by p) */
    const char *body;           /* raw body */
    apr_size_t body_len;
} md_acme_resp_t;

/* Create a client for the CA at directory url. ca_file is the PEM file to
 * verify the CA's TLS with (MDCACertificateFile), or NULL for the system's.
 * No network yet. */
apr_status_t md_acme_create(md_acme_t **pacme, apr_pool_t *p, const char *url,
                            const char *ca_file, md_store_t *store);

/* Send all requests through an HTTP(S) proxy (curl syntax: http://host:port,
 * https://host:port). proxy_ca_file verifies an https proxy's own TLS
 * (NULL: the system's CAs). proxy_url NULL: direct. No network. */
void md_acme_set_proxy(md_acme_t *acme, const char *proxy_url, const char *proxy_ca_file);

/* The external account binding to register new accounts with and to match
 * stored accounts against: kid and the base64url (or base64) MAC key as the
 * CA gave them, alg NULL for HS256. kid NULL clears it. APR_EINVAL (result
 * says which part, never the key) when the key does not decode or alg is
 * not HS256/384/512. No network. */
apr_status_t md_acme_set_eab(md_acme_t *acme, const char *kid, const char *hmac64,
                             const char *alg, md_result_t *result);

/* Does the CA's directory offer this profile (meta.profiles)? */
int md_acme_profile_offered(const md_acme_t *acme, const char *profile);

/* GET the directory and read its URLs (required: newNonce, newAccount,
 * newOrder), meta (termsOfService, externalAccountRequired, profiles) and
 * renewalInfo. Network. */
apr_status_t md_acme_setup(md_acme_t *acme, md_result_t *result);

/* What md_acme_setup does with the directory it read, for a directory
 * document the caller already has (e.g. another session's dir_json, read
 * a moment ago). No network. */
apr_status_t md_acme_setup_from(md_acme_t *acme, const json_t *dir, md_result_t *result);

/* Plain GET (the directory only; RFC 8555 wants POST-as-GET otherwise). */
apr_status_t md_acme_get(md_acme_resp_t **presp, md_acme_t *acme, const char *url,
                         md_result_t *result, apr_pool_t *p);

/* Signed POST. payload NULL means POST-as-GET (empty payload). Uses kid of
 * acme->acct when set, else the jwk of acme->acct_key. accept may be NULL
 * ("application/json" then). On an error response, result is filled from
 * the problem document and the mapped status returned; *presp is still set
 * when a response arrived. Network. */
apr_status_t md_acme_post(md_acme_resp_t **presp, md_acme_t *acme, const char *url,
                          const json_t *payload, const char *accept,
                          md_result_t *result, apr_pool_t *p);

/* --- accounts (md_acme_acct.c) --- */

/* Use an existing account from the store: the first one in accounts/ for
 * this CA url whose status is valid, whose contacts match and whose
 * external account binding kid is the one set with md_acme_set_eab (or
 * neither has one); verified with the CA (POST-as-GET on its URL).
 * APR_ENOENT if none is usable.
 * On success acme->acct and acme->acct_key are set. */
apr_status_t md_acme_acct_find(md_acme_t *acme, const apr_array_header_t *contacts,
                               md_result_t *result, apr_pool_t *p);

/* Register a new account with a new EC P-256 key (cheap to make, accepted
 * by every CA; existing RSA account keys of a taken-over store still work),
 * agreeing to the ToS when
 * agreement is set, and save it to the store (account.json, account.pem
 * encrypted). APR_EINVAL with a clear message when the CA has ToS and
 * agreement is NULL, or requires external account binding and none is set.
 * With a binding set (md_acme_set_eab) the request carries it as
 * "externalAccountBinding" and account.json records its kid. */
apr_status_t md_acme_acct_register(md_acme_t *acme, const apr_array_header_t *contacts,
                                   const char *agreement, md_result_t *result, apr_pool_t *p);

/* Load account id from the store into acme (no network). */
apr_status_t md_acme_acct_load(md_acme_t *acme, const char *id, apr_pool_t *p);

/* The account as account.json has it (stock mod_md's format). New
 * reference. */
json_t *md_acme_acct_to_json(const md_acme_acct_t *acct);

/* The CA (directory URL) a stored account belongs to, without loading its
 * key. APR_ENOENT when there is no such account, APR_EINVAL when its
 * account.json has no "ca-url". No network. */
apr_status_t md_acme_acct_peek(const char **pca_url, md_store_t *store, const char *id,
                               apr_pool_t *p);

/* The account in use (md_acme_acct_load) as the CA sees it: POST-as-GET on
 * its URL; APR_EACCES (or APR_ENOENT) when the CA does not know it or it is
 * not valid there. Network. */
apr_status_t md_acme_acct_validate(md_acme_t *acme, md_result_t *result, apr_pool_t *p);

/* Agree to the CA's terms of service for the account in use
 * ({"termsOfServiceAgreed": true}, RFC 8555 §7.3.3); account.json then
 * records the CA's terms URL (or agreement, "accepted" if NULL). Network. */
apr_status_t md_acme_acct_agree(md_acme_t *acme, const char *agreement, md_result_t *result,
                                apr_pool_t *p);

/* Deactivate the account in use (RFC 8555 §7.3.6) and remove it from the
 * store. An account the CA does not know (any more) is removed all the
 * same. Network. */
apr_status_t md_acme_acct_deactivate(md_acme_t *acme, md_result_t *result, apr_pool_t *p);

/* Account key rollover (RFC 8555 §7.3.5) for the account in use: a new EC
 * P-256 key, saved as accounts/<id>/account.new.pem before the CA is asked,
 * then, once the CA agreed, written over account.pem in one atomic write.
 * An interrupted change (the pending key is there) is completed: when the
 * CA knows the account by the pending key only the store is updated, else
 * the pending key is used for the change. acme->acct_key is the new key on
 * success. 409 from the CA (the key is another account's) is APR_EEXIST.
 * Network. */
apr_status_t md_acme_acct_keychange(md_acme_t *acme, md_result_t *result, apr_pool_t *p);

/* --- orders, authorizations, challenges (md_acme_order.c, md_acme_authz.c) --- */

/* ACME identifier type for a name: "ip" for IPv4/IPv6 literals (RFC 8738),
 * else "dns". */
const char *md_acme_ident_type(const char *name);

typedef enum {
    MD_ACME_ORDER_PENDING,
    MD_ACME_ORDER_READY,
    MD_ACME_ORDER_PROCESSING,
    MD_ACME_ORDER_VALID,
    MD_ACME_ORDER_INVALID,
} md_acme_order_status_t;

/* The RFC 8555 string of a status ("pending", ...), and back: an unknown or
 * NULL string is APR_EINVAL (STYLE §6: never a default). */
const char *md_acme_order_status_name(md_acme_order_status_t status);
apr_status_t md_acme_order_status_parse(md_acme_order_status_t *pstatus, const char *s);

typedef struct md_acme_order_t {
    const char *url;
    md_acme_order_status_t status;
    apr_array_header_t *authz_urls;   /* const char* */
    const char *finalize;
    const char *certificate;          /* once valid */
    apr_time_t expires;
    apr_time_t retry_after;           /* from the last response, 0 if none */
} md_acme_order_t;

/* newOrder for the names (dns identifiers). Network. */
apr_status_t md_acme_order_new(md_acme_order_t **porder, md_acme_t *acme,
                               const apr_array_header_t *domains, md_result_t *result,
                               apr_pool_t *p);

/* What else a newOrder may carry. */
typedef struct md_acme_order_opts_t {
    const char *profile;        /* "profile" (ACME profiles draft), or NULL */
    const char *replaces;       /* "replaces": ARI cert id (RFC 9773 §5), or NULL */
} md_acme_order_opts_t;

/* newOrder with options (NULL opts: as md_acme_order_new). The caller
 * decides whether the CA supports them (md_acme_profile_offered,
 * acme->url_renewal_info). Network. */
apr_status_t md_acme_order_new_ext(md_acme_order_t **porder, md_acme_t *acme,
                                   const apr_array_header_t *domains,
                                   const md_acme_order_opts_t *opts, md_result_t *result,
                                   apr_pool_t *p);
/* Refresh the order from the CA (POST-as-GET). An unknown status string is
 * APR_EINVAL naming it. Network. */
apr_status_t md_acme_order_update(md_acme_order_t *order, md_acme_t *acme,
                                  md_result_t *result, apr_pool_t *p);
/* Poll until the order is ready (or valid), with backoff starting at
 * 20 ms, honouring Retry-After, at most timeout. APR_EINVAL if it became
 * invalid (result has the failed authorization's problem), APR_TIMEUP when
 * time ran out. Network. */
apr_status_t md_acme_order_await_ready(md_acme_order_t *order, md_acme_t *acme,
                                       apr_interval_time_t timeout, md_result_t *result,
                                       apr_pool_t *p);
/* Send the CSR (base64url DER). Network. */
apr_status_t md_acme_order_finalize(md_acme_order_t *order, md_acme_t *acme,
                                    const char *csr64, md_result_t *result, apr_pool_t *p);
/* Poll until valid (certificate URL known). */
apr_status_t md_acme_order_await_valid(md_acme_order_t *order, md_acme_t *acme,
                                       apr_interval_time_t timeout, md_result_t *result,
                                       apr_pool_t *p);
/* Download the chain (POST-as-GET, application/pem-certificate-chain):
 * md_cert_t* array, leaf first. */
apr_status_t md_acme_order_get_chain(apr_array_header_t **pchain, md_acme_order_t *order,
                                     md_acme_t *acme, md_result_t *result, apr_pool_t *p);

/* Persisted form of an order in the job, so a restart resumes it. */
json_t *md_acme_order_to_json(const md_acme_order_t *order);
apr_status_t md_acme_order_from_json(md_acme_order_t **porder, const json_t *j, apr_pool_t *p);

typedef enum {
    MD_ACME_AUTHZ_PENDING,
    MD_ACME_AUTHZ_VALID,
    MD_ACME_AUTHZ_INVALID,
    MD_ACME_AUTHZ_DEACTIVATED,
    MD_ACME_AUTHZ_EXPIRED,
    MD_ACME_AUTHZ_REVOKED,
} md_acme_authz_status_t;

const char *md_acme_authz_status_name(md_acme_authz_status_t status);
apr_status_t md_acme_authz_status_parse(md_acme_authz_status_t *pstatus, const char *s);

typedef struct md_acme_authz_t {
    const char *url;
    const char *domain;               /* identifier value */
    md_acme_authz_status_t status;
    int wildcard;
    json_t *challenges;               /* the CA's challenge objects (owned by pool) */
    json_t *error;                    /* first challenge error, if invalid */
} md_acme_authz_t;

/* POST-as-GET the authorization. Network. */
apr_status_t md_acme_authz_retrieve(md_acme_authz_t **pauthz, md_acme_t *acme,
                                    const char *url, md_result_t *result, apr_pool_t *p);

/* What answering challenges needs beyond the CA session: where to put the
 * responses, the dns-01 program, and where to check our own answer the way
 * the CA will fetch it. One per MD and attempt; read-only. */
typedef struct md_acme_chal_env_t {
    md_store_t *store;                    /* challenges/<domain>/ lives here */
    const apr_array_header_t *dns01_cmd;  /* const char*: dns-01 program and its
                                           * arguments, or NULL (no dns-01) */
    int dns01_version;                    /* 2: teardown gets the value too */
    apr_interval_time_t dns01_timeout;    /* per run of the program */
    const char *program_root;             /* a relative dns-01 program is under it */
    /* tls-alpn-01: one validation certificate per key type of the MD
     * (md_pkey_spec_t*; NULL: one EC P-256), so that the server answers
     * with the type the validator's handshake negotiates; and the names
     * whose hosts offer acme-tls/1 (NULL: do not check). */
    const apr_array_header_t *pkey_specs;
    const apr_array_header_t *acme_tls_1_domains;
    /* Pre-check (before asking the CA to validate): the local address and
     * port the CA's port 80 / 443 arrive at; port 0 means no check. */
    const char *check_http_host;
    int check_http_port;
    const char *check_https_host;
    int check_https_port;
    apr_interval_time_t check_timeout;
} md_acme_chal_env_t;

/* A challenge type implementation. setup makes the response available for
 * domain (the identifier value: a DNS name without "*.", or an IP address)
 * and, if the type can, checks it the way the CA will (a precise error
 * instead of a failed validation at the CA); teardown removes what setup
 * made for domain. Blocking (files; dns-01 runs a program).
 *   http-01      challenges/<domain>/acme-http-01.txt, served by the module
 *   tls-alpn-01  challenges/<domain>/acme-tls-alpn-01-{pubcert,privkey}.pem,
 *                answered in the TLS handshake for ALPN acme-tls/1
 *   dns-01       `program setup <domain> <value>`; teardown
 *                `program teardown <domain> [<value>]` for every value set */
typedef struct md_acme_challenge_type_t {
    const char *name;   /* "http-01" */
    apr_status_t (*setup)(const md_acme_chal_env_t *env, md_acme_t *acme, const char *domain,
                          const char *token, const char *key_authz, md_result_t *result,
                          apr_pool_t *p);
    apr_status_t (*teardown)(const md_acme_chal_env_t *env, md_acme_t *acme,
                             const char *domain, md_result_t *result, apr_pool_t *p);
} md_acme_challenge_type_t;

/* Known types by name, NULL if unknown. */
const md_acme_challenge_type_t *md_acme_challenge_type_get(const char *name);

/* The store names (in challenges/<domain>/) of the tls-alpn-01 key and
 * certificate for a key spec, as the stock module names them. From p. */
void md_acme_tlsalpn01_fnames(const char **pkeyname, const char **pcertname,
                              const md_pkey_spec_t *spec, apr_pool_t *p);

/* Problem types of challenge failures that are not the CA's, as the stock
 * module reports them in renewal.last.problem. */
#define MD_PROBLEM_CHALLENGE_MISMATCH   "challenge-mismatch"      /* no type can work */
#define MD_PROBLEM_CHALLENGE_SETUP      "challenge-setup-failure" /* types fit, none set up */

/* For a pending authorization: take the preferred types (const char*
 * names; NULL: the table's order) in order, skip those the CA does not
 * offer or that do not apply to the name (setup says APR_ENOTIMPL), set up
 * the first that works (a failed setup is torn down and the next type
 * tried), and tell the CA to validate (POST {} to the challenge URL).
 * Nothing applicable: APR_EINVAL with problem MD_PROBLEM_CHALLENGE_MISMATCH;
 * nothing could be set up: that failure with MD_PROBLEM_CHALLENGE_SETUP and
 * what each type said. Network. */
apr_status_t md_acme_authz_respond(md_acme_authz_t *authz, md_acme_t *acme,
                                   const md_acme_chal_env_t *env,
                                   const apr_array_header_t *types, md_result_t *result,
                                   apr_pool_t *p);
/* Remove what setup created for the domain, for all types. */
apr_status_t md_acme_authz_teardown(md_acme_t *acme, const md_acme_chal_env_t *env,
                                    const char *domain, md_result_t *result, apr_pool_t *p);

/* dns-01 (RFC 8555 §8.4): the TXT record value for a key authorization,
 * base64url(SHA-256(key_authz)), from p. */
apr_status_t md_acme_dns01_value(const char **pvalue, const char *key_authz, apr_pool_t *p);

/* The key authorization for a token: token "." thumbprint(account key). */
apr_status_t md_acme_key_authz(const char **pkey_authz, md_acme_t *acme, const char *token,
                               apr_pool_t *p);

#endif /* md_acme_h */
