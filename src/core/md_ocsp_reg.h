/* The certificates OCSP responses are stapled for, and their responses.
 *
 * Life of a registry (one per config cycle):
 *   parent, post_config:  md_ocsp_reg_create; mod_ssl's prime hook calls
 *                         md_ocsp_reg_prime per certificate (which also
 *                         reads the response the store holds for it); then
 *                         md_ocsp_reg_seal with shared memory for the
 *                         generation counters, before the children fork.
 *   any child, any thread: md_ocsp_reg_get in the TLS handshake (no network,
 *                         no blocking but a rare read of one store file),
 *                         the status functions, md_ocsp_reg_md_revoked.
 *   the watchdog thread:  md_ocsp_reg_renew (the network), md_ocsp_reg_cleanup.
 *
 * Children share what the watchdog child fetches through the store: it
 * writes the response file, then counts up the certificate's generation in
 * shared memory; another child sees the count change at its next handshake
 * for that certificate and reads the file once. Without shared memory
 * (seal with NULL) a child looks at the file's time at most once a minute.
 *
 * Files: md_ocsp_reg.c keeps the table (prime, seal, get, status),
 * md_ocsp_renew.c does the watchdog's work (renew, cleanup).
 *
 * Threads: the table of certificates is read-only after seal. Each
 * certificate's response is guarded by its own mutex, held only to copy
 * a pointer or to hand the bytes to the caller's callback; the watchdog's
 * bookkeeping (errors, retry time) is the watchdog thread's alone.
 */
#ifndef md_ocsp_reg_h
#define md_ocsp_reg_h

#include <apr_pools.h>
#include <apr_time.h>
#include <jansson.h>
#include "md_http.h"
#include "md_ocsp.h"
#include "md_result.h"
#include "md_store.h"
#include "md_time.h"

/* Without shared memory, how often a child looks for a newer response file. */
#define MD_OCSP_RECHECK         apr_time_from_sec(60)
/* Reasons sent to MDMessageCmd, and how often at most per MD (as stock). */
#define MD_OCSP_EV_RENEWED      "ocsp-renewed"
#define MD_OCSP_EV_ERRORED      "ocsp-errored"
#define MD_OCSP_EV_RENEWED_MIN  apr_time_from_sec(24 * 60 * 60)
#define MD_OCSP_EV_ERRORED_MIN  apr_time_from_sec(60 * 60)

typedef struct md_ocsp_reg_t md_ocsp_reg_t;

typedef struct md_ocsp_reg_cfg_t {
    md_timeslice_t renew_window;        /* MDStaplingRenewWindow */
    apr_interval_time_t keep;           /* MDStaplingKeepResponse */
    apr_interval_time_t retry_base;     /* first retry after a failure (MDRetryDelay) */
} md_ocsp_reg_cfg_t;

/* A registry in p (the config cycle's pool); the store must live as long. */
md_ocsp_reg_t *md_ocsp_reg_create(apr_pool_t *p, md_store_t *store,
                                  const md_ocsp_reg_cfg_t *cfg);

/* Parent only, before md_ocsp_reg_seal. Staple for the certificate in pem
 * (PEM: the certificate, then its issuer, maybe more), known to callers by
 * key (mod_ssl: the SHA-1 of the certificate), of MD mdname (NULL: not in
 * an MD, MD_OCSP_OTHER). The response the store holds for it is read and
 * used if it checks out at now. A certificate primed again (another
 * vhost) keeps its first MD. Returns APR_SUCCESS, or with *pwhy (from
 * ptemp) saying why not: APR_ENOENT the certificate names no OCSP responder,
 * APR_EINVAL pem is not a certificate and its issuer. */
apr_status_t md_ocsp_reg_prime(md_ocsp_reg_t *reg, const void *key, apr_size_t key_len,
                               const char *pem, apr_size_t pem_len, const char *mdname,
                               apr_time_t now, const char **pwhy, apr_pool_t *ptemp);

/* Number of certificates primed. */
int md_ocsp_reg_count(const md_ocsp_reg_t *reg);

/* Bytes of shared memory md_ocsp_reg_seal wants. */
apr_size_t md_ocsp_reg_shared_size(const md_ocsp_reg_t *reg);

/* Parent only, after the last prime and before forking: no more primes;
 * mem (md_ocsp_reg_shared_size bytes, shared by all children, zeroed
 * here) holds the generation counters. mem NULL: none, children poll. */
void md_ocsp_reg_seal(md_ocsp_reg_t *reg, void *mem, apr_size_t size);

/* The handshake's question (any thread): hand the response to staple for
 * key to cb, or (NULL, 0) when there is no current one. APR_ENOENT (cb not
 * called) when key was never primed. Reads the store only when another
 * process wrote a newer response. */
typedef void md_ocsp_copy_fn(const unsigned char *der, apr_size_t len, void *baton);
apr_status_t md_ocsp_reg_get(md_ocsp_reg_t *reg, const void *key, apr_size_t key_len,
                             md_ocsp_copy_fn *cb, void *baton, apr_time_t now);

/* Tell the admin's program about reason ("ocsp-renewed", "ocsp-errored")
 * for mdname; APR_SUCCESS when it was told. */
typedef apr_status_t md_ocsp_notify_fn(void *baton, const char *mdname, const char *reason,
                                       md_result_t *result, apr_pool_t *p);

/* The watchdog thread: get new responses for the certificates that are due
 * at now (inside MDStaplingRenewWindow, or a failed attempt's retry time),
 * through http (POST to the certificate's responder, at most
 * MD_OCSP_RESP_MAX_LEN bytes back), save them, and record each MD's attempts
 * in ocsp/<md>/job.json. A responder that cannot be reached is asked once
 * per call, the other certificates it serves wait with the same error.
 * notify (may be NULL) is called for ocsp-renewed and ocsp-errored, at most
 * as often as MD_OCSP_EV_*_MIN per MD. Returns when the next certificate is
 * due (0: none primed). Blocks on the network. */
apr_time_t md_ocsp_reg_renew(md_ocsp_reg_t *reg, md_http_t *http, md_ocsp_notify_fn *notify,
                             void *baton, apr_time_t now, apr_pool_t *ptemp);

/* The watchdog thread: remove response files (ocsp/<*>/ocsp*.json) no primed
 * certificate uses that were last written MDStaplingKeepResponse ago or
 * earlier. Returns how many were removed. */
int md_ocsp_reg_cleanup(md_ocsp_reg_t *reg, apr_time_t now, apr_pool_t *ptemp);

/* --- status (any thread) -------------------------------------------------- */

/* md-status' "ocsp" of the certificate with this SHA-256 fingerprint (lower
 * case hex): {"status": good|revoked|unknown (no current response),
 * "valid": {"from", "until"} (of the last response, if any), "renewal":
 * ocsp/<md>/job.json (its "log" only if with_log)}; NULL if no such
 * certificate is primed. */
json_t *md_ocsp_reg_cert_json(md_ocsp_reg_t *reg, const char *sha256, int with_log,
                              apr_time_t now, apr_pool_t *p);

/* All certificates, for server-status: {"ocsps": [{"domain" (MD name),
 * "id" (hex), "status", "cert": {"sha256-fingerprint"}, "url" (responder),
 * "valid", "renew-at", "renewal" (while there is no current response or it
 * is due)}]} sorted by domain and id. */
json_t *md_ocsp_reg_status_json(md_ocsp_reg_t *reg, apr_time_t now, apr_pool_t *p);

/* Does a current response say that a certificate of mdname is revoked? */
int md_ocsp_reg_md_revoked(md_ocsp_reg_t *reg, const char *mdname, apr_time_t now);

/* The earliest time a certificate's response is due for renewal (when what
 * md_ocsp_reg_md_revoked says may change), 0 if none is known. Any thread. */
apr_time_t md_ocsp_reg_next_renewal(md_ocsp_reg_t *reg, apr_time_t now);

#endif /* md_ocsp_reg_h */
