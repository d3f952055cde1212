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

#define MD_JOB_LOG_MAX          50
#define MD_JOB_RETRY_BASE       apr_time_from_sec(5)
#define MD_JOB_RETRY_MAX        apr_time_from_sec(MD_SECS_PER_DAY)

typedef struct md_job_t {
    apr_pool_t *p;              /* owns everything below */
    const char *mdname;
    int finished;               /* a certificate is staged */
    int errors;                 /* failed attempts in a row */
    apr_time_t last_run;
    apr_time_t next_run;        /* 0: as soon as possible */
    apr_time_t valid_from;      /* of the staged certificate */
    md_result_t *last;          /* outcome of the last attempt */
    json_t *log;                /* array of {when, type, detail}, newest first */
    json_t *unknown;            /* members of the loaded job.json we do not use
                                 * (the stock module's), written back as they were */
    int dirty;                  /* changed since loaded/saved */
} md_job_t;

/* A fresh job in its own subpool of p. */
md_job_t *md_job_create(apr_pool_t *p, const char *mdname);

/* Load staging/<mdname>/job.json into job; APR_ENOENT if there is none.
 * A corrupt file is reported (naming the file) and treated as absent. */
apr_status_t md_job_load(md_job_t *job, md_store_t *store, apr_pool_t *ptemp);
apr_status_t md_job_save(md_job_t *job, md_store_t *store, apr_pool_t *ptemp);

/* Add an event to the log (type like "progress", "starting", "errored",
 * "renewed"; detail may be NULL). */
void md_job_log_append(md_job_t *job, const char *type, const char *detail);

/* Record the end of an attempt: on success, errors reset and finished set;
 * on failure, errors grow and next_run is set by md_job_retry_delay, or to
 * the CA's Retry-After when that is later. */
void md_job_end_run(md_job_t *job, const md_result_t *result);

/* Delay before the next attempt after n failed ones: base doubling per
 * error, capped at MD_JOB_RETRY_MAX, never overflowing. */
apr_interval_time_t md_job_retry_delay(int errors, apr_interval_time_t base);

json_t *md_job_to_json(const md_job_t *job);
void md_job_from_json(md_job_t *job, const json_t *j);

#endif /* md_job_h */
