/* Driving one MD to a new certificate: account, order, challenges,
 * finalize, download, and staging of the result. Runs in the watchdog of
 * an unprivileged child; it writes only accounts/, challenges/ and staging/.
 */
#ifndef md_drive_h
#define md_drive_h

#include <apr_pools.h>
#include "md.h"
#include "md_job.h"
#include "md_result.h"
#include "md_store.h"

typedef struct md_drive_env_t {
    md_store_t *store;
    const char *ca_file;          /* to verify the CA's TLS, or NULL */
    const char *user_agent;
    apr_interval_time_t authz_timeout;  /* waiting for the CA to validate */
    apr_interval_time_t order_timeout;  /* waiting for issuance */
} md_drive_env_t;

/* One attempt at a new certificate for every key spec of md. On success the
 * certificate(s) and key(s) are in staging/<md->name>/ with md.json, and
 * the job is finished. On failure result says what went wrong (with the CA's
 * problem) and the job's error count grows. Blocks on the network. */
apr_status_t md_drive_renew(const md_drive_env_t *env, const md_t *md, md_job_t *job,
                            md_result_t *result, apr_pool_t *p);

#endif /* md_drive_h */
