/* The renewal job of one MD: how many attempts failed, when to run next,
 * the last result (with the CA's problem) and a bounded log of recent
 * events. Persisted as staging/<md>/job.json (stock mod_md's format) by
 * the child that drives it, and moved to domains/<md>/ on activation. */
#ifndef md_job_h
#define md_job_h

#include <apr_pools.h>
#include <apr_time.h>
#include <jansson.h>
#include "md_result.h"
#include "md_store.h"
#include "md_time.h"

#define MD_JOB_LOG_MAX          50

typedef struct md_job_t {
    apr_pool_t *p;              /* owns everything below */
    const char *mdname;
    int finished;               /* a certificate is staged */
    int notified;               /* the admin's programs were told about an event
                                 * without failure ("notified", as stock) */
    int notified_renewed;       /* ... about "renewed" in full ("notified-renewed") */
    int errors;                 /* failed attempts in a row */
    apr_time_t last_run;
    apr_time_t next_run;        /* 0: as soon as possible */
    apr_time_t valid_from;      /* of the staged certificate */
    md_result_t *last;          /* outcome of the last attempt */
    json_t *log;                /* array of {when, type, detail}, newest first */
    json_t *unknown;            /* members of the loaded job.json we do not use
                                 * (the stock module's), written back as they were */
    int dirty;                  /* changed since loaded/saved */
    /* Policy, set by the caller (not persisted): */
    apr_interval_time_t retry_base; /* first retry delay (MDRetryDelay); 0:
                                     * MD_SCHED_RETRY_BASE */
} md_job_t;

/* A fresh job in its own subpool of p. */
md_job_t *md_job_create(apr_pool_t *p, const char *mdname);

/* Load staging/<mdname>/job.json into job; APR_ENOENT if there is none.
 * A corrupt file is reported (naming the file) and treated as absent. */
apr_status_t md_job_load(md_job_t *job, md_store_t *store, apr_pool_t *ptemp);
apr_status_t md_job_save(md_job_t *job, md_store_t *store, apr_pool_t *ptemp);

/* Log entry types, as the stock module writes them. */
#define MD_JOB_LOG_STARTING     "starting"
#define MD_JOB_LOG_PROGRESS     "progress"
#define MD_JOB_LOG_FINISHED     "finished"
#define MD_JOB_LOG_ERROR        "renewal-error"   /* status: the CA's problem */
#define MD_JOB_LOG_MESSAGE      "message-"        /* + reason: a program was told */
#define MD_JOB_LOG_MESSAGE_ERR  "message-error"   /* status: the reason */
#define MD_JOB_LOG_NOTIFY_ERR   "notify-error"    /* MDNotifyCmd failed */

/* Add an event to the log (a type above, or "failover"; detail may be NULL). */
void md_job_log_append(md_job_t *job, const char *type, const char *detail);
/* The same with a "status" member (a problem type, a reason; may be NULL). */
void md_job_log_append_status(md_job_t *job, const char *type, const char *status,
                              const char *detail);

/* Record what telling the admin's programs about reason did (what: the
 * MD_NOTIFY_* bits of md_notify_event_ex; result: the failure, if any), as
 * the stock module does: "message-<reason>" when MDMessageCmd ran fine,
 * "message-error" (status: the reason) or "notify-error" with result's
 * detail when a program failed. The flags as the stock module sets them:
 * notified becomes true when an event of the job (not "renewing" or
 * "errored") was told without failure (nothing configured counts as told);
 * notified-renewed says whether "renewed" was told in full (both
 * programs; not while a part is MD_NOTIFY_PENDING). */
void md_job_notified(md_job_t *job, const char *reason, int what, const md_result_t *result);

/* Record the end of an attempt at now: on success, errors reset and
 * finished set; on failure, errors grow and next_run is set by
 * md_sched_retry_at (backoff, the CA's Retry-After). */
void md_job_end_run(md_job_t *job, const md_result_t *result, apr_time_t now);

json_t *md_job_to_json(const md_job_t *job);
void md_job_from_json(md_job_t *job, const json_t *j);

#endif /* md_job_h */
