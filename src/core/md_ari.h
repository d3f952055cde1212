/* ACME Renewal Information (ARI, RFC 9773): the CA suggests a window in
 * which to renew each certificate.
 *
 *   id = md_ari_cert_id(cert)               "<b64url AKI keyId>.<b64url serial>"
 *   md_ari_fetch(&w, acme, id, ...)         GET <renewalInfo>/<id>
 *   renew at md_ari_pick_time(w.start, w.end), ask again at w.next_poll
 *
 * Only the watchdog child asks (never a request thread, never the parent),
 * and never more often than the CA's Retry-After allows.
 */
#ifndef md_ari_h
#define md_ari_h

#include <apr_pools.h>
#include <apr_time.h>
#include <jansson.h>
#include "md_acme.h"
#include "md_crypt.h"
#include "md_result.h"
#include "md_time.h"

/* Without Retry-After, ask again after this long (RFC 9773 §4.3 leaves the
 * default to the client; hours, as the CAs suggest). */
#define MD_ARI_POLL_DEF     apr_time_from_sec(6 * MD_SECS_PER_HOUR)
/* Bounds on what a Retry-After may ask for. */
#define MD_ARI_POLL_MIN     apr_time_from_sec(10)
#define MD_ARI_POLL_MAX     apr_time_from_sec(7 * MD_SECS_PER_DAY)
/* After a failed request, ask again no sooner than this. */
#define MD_ARI_POLL_ERR     apr_time_from_sec(MD_SECS_PER_HOUR)
#define MD_ARI_EXPLANATION_MAX 512

typedef struct md_ari_window_t {
    apr_time_t start;            /* suggestedWindow.start */
    apr_time_t end;              /* suggestedWindow.end, > start */
    const char *explanation;     /* explanationURL, or NULL */
    apr_time_t next_poll;        /* when to ask again (from Retry-After) */
} md_ari_window_t;

/* The certificate's ARI id (RFC 9773 §4.1), from p. APR_ENOENT when it
 * has no Authority Key Identifier (then ARI cannot name it). */
apr_status_t md_ari_cert_id(const char **pid, const md_cert_t *cert, apr_pool_t *p);

/* Read a renewalInfo response: suggestedWindow with RFC 3339 start and end,
 * end after start; explanationURL optional (an unusable one is dropped).
 * APR_EINVAL naming what is wrong otherwise. next_poll is not touched. */
apr_status_t md_ari_window_parse(md_ari_window_t *w, const json_t *j, const char *url,
                                 md_result_t *result, apr_pool_t *p);

/* When to ask again: the CA's Retry-After time (0: none given) within
 * [now + MD_ARI_POLL_MIN, now + MD_ARI_POLL_MAX], else now + MD_ARI_POLL_DEF. */
apr_time_t md_ari_next_poll(apr_time_t retry_after, apr_time_t now);

/* A uniformly random time in [start, end) (RFC 9773 §4.2); start when
 * end <= start. */
apr_time_t md_ari_pick_time(apr_time_t start, apr_time_t end);

/* The renewalInfo URL for id: acme->url_renewal_info "/" id. NULL when the
 * CA offers no ARI. */
const char *md_ari_url(const md_acme_t *acme, const char *id, apr_pool_t *p);

/* Ask the CA (acme set up, so url_renewal_info is known) for the window of
 * the certificate with id: GET, not signed (RFC 9773 §4.1). On success w is
 * filled, next_poll from Retry-After. APR_ENOTIMPL when the CA has no
 * renewalInfo; the CA's errors as md_acme_get maps them (result->retry_after
 * set when the CA said when to come back). Network. */
apr_status_t md_ari_fetch(md_ari_window_t *w, md_acme_t *acme, const char *id,
                          md_result_t *result, apr_pool_t *p);

/* staging/<md>/ari.json, what the watchdog learnt (md_watch.c writes it,
 * so that a new child does not ask again before the CA's Retry-After):
 * {"certs": [{"id", "start", "end", "renew-at", "next-poll",
 * "explanationURL"}]}, times as HTTP dates. */
#define MD_ARI_KEY_CERTS        "certs"
#define MD_ARI_KEY_ID           "id"
#define MD_ARI_KEY_RENEW_AT     "renew-at"
#define MD_ARI_KEY_NEXT_POLL    "next-poll"

/* The earliest time picked in a CA window that ari.json of mdname holds
 * for one of ids (const char*, ARI ids of the live certificates), 0 when
 * none. Entries of other certificates, without a window or unreadable are
 * ignored. Reads the store (staging/, bounded), no network. */
apr_time_t md_ari_stored_renew_at(md_store_t *store, const char *mdname,
                                  const apr_array_header_t *ids, apr_pool_t *p);

#endif /* md_ari_h */
