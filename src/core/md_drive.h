/* Driving one MD to a new certificate: account, order, challenges,
 * finalize, download, and staging of the result. Runs in the watchdog of
 * an unprivileged child; it writes only accounts/, challenges/ and staging/.
 */
#ifndef md_drive_h
#define md_drive_h

#include <apr_pools.h>
#include "md.h"
#include "md_drive_share.h"
#include "md_http.h"
#include "md_job.h"
#include "md_result.h"
#include "md_store.h"

typedef struct md_watch_t md_watch_t;

typedef struct md_drive_env_t {
    md_store_t *store;
    const char *ca_file;          /* to verify the CA's TLS, or NULL */
    const char *user_agent;
    apr_interval_time_t authz_timeout;  /* waiting for the CA to validate */
    apr_interval_time_t order_timeout;  /* waiting for issuance */
    /* Where the CA's port 80 / 443 arrive (MDPortMap and Listen): the local
     * port (0: not served) and an address to reach it from this host, for
     * choosing challenge types and checking answers before validation. */
    int http_port;
    const char *http_host;
    int https_port;
    const char *https_host;
    apr_interval_time_t dns01_timeout;  /* per run of the dns-01 program */
    md_watch_t *watch;            /* ARI and the admin's programs (md_watch.h), or NULL */
    md_drive_share_t *share;      /* account and directories shared by concurrent
                                   * drives (md_drive_share.h), or NULL */
    int retry_failover;           /* failed attempts before the next CA; 0: never */
    const char *program_root;     /* relative program names (MDChallengeDns01) are
                                   * under it (ServerRoot), or NULL */
    /* For tests: the drive's CA sessions answer through this instead of the
     * network (md_http_set_mock); NULL: the network. */
    md_http_mock_fn *http_mock;
    void *http_mock_baton;
} md_drive_env_t;

/* The CA (directory URL) for an attempt after `errors` failed ones in a
 * row: md->ca_effective (the one that issued last, if still configured) or
 * the first of md->ca_urls, moving on to the next URL, round the list,
 * after every `failover` failures (MDRetryFailover). */
const char *md_drive_ca_url(const md_t *md, int errors, int failover);

/* One attempt at new certificates for md: one order per key spec in specs
 * (md_pkey_spec_t*; NULL: every spec of md), each with a new key, at the CA
 * md_drive_ca_url(md, job->errors, env->retry_failover) (a staged set or
 * saved order of another CA is dropped). What an
 * earlier attempt left in staging/ is resumed (the saved order.json, the
 * staged key it was finalized with, specs already staged) instead of
 * ordering again; a complete staged set is never ordered again. The
 * challenge types come from md_challenges_select; when none can work the
 * attempt fails before any order. On success the certificate(s) and
 * key(s) are in staging/<md->name>/, then md.json (written last: a staged
 * set is complete when it is there), and the job is finished. On failure
 * result says what went wrong (with the CA's problem) and the job's error
 * count grows; challenge responses are always torn down. Blocks on the
 * network.
 * Several may run at once on different MDs (env->share set); the store and
 * env->share are their only shared state. A new key is generated on a
 * thread of its own while the order's domains are validated (md_keygen.h).
 * With env->watch: MDMessageCmd "renewing" first (a failure vetoes the
 * attempt), "challenge-setup:..." per challenge (same), "renewed" (and
 * MDNotifyCmd) or "errored" at the end; newOrder carries "profile" and
 * "replaces" as md_watch_order_opts says. */
apr_status_t md_drive_renew(const md_drive_env_t *env, const md_t *md,
                            const apr_array_header_t *specs, md_job_t *job,
                            md_result_t *result, apr_pool_t *p);

#endif /* md_drive_h */
