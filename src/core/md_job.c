/* Renewal job state of one MD, persisted as job.json. */
#include <string.h>

#include <apr_date.h>
#include <apr_strings.h>

#include "md_crypt.h"

#include "md_job.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_notify.h"
#include "md_sched.h"
#include "md_time.h"

md_job_t *md_job_create(apr_pool_t *p, const char *mdname)
{
    apr_pool_t *jp;
    md_job_t *job;

    apr_pool_create(&jp, p);
    job = apr_pcalloc(jp, sizeof(*job));
    job->p = jp;
    job->mdname = apr_pstrdup(jp, mdname);
    job->last = md_result_make(jp, job->mdname);
    job->log = md_json_pool_own(jp, json_array());
    return job;
}

static void set_time(json_t *j, const char *key, apr_time_t t, apr_pool_t *p)
{
    if (t > 0) {
        md_json_set_str(j, key, md_time_format_http(t, p));
    }
}

/* Members of job.json this file reads and writes; everything else that
 * a loaded job.json has is kept as it is. */
static const char *const KNOWN[] = {
    MD_KEY_NAME, MD_KEY_FINISHED, MD_KEY_NOTIFIED, MD_KEY_NOTIFIED_RENEWED, MD_KEY_LAST_RUN,
    MD_KEY_NEXT_RUN, MD_KEY_VALID_FROM, MD_KEY_ERRORS, MD_KEY_LAST, MD_KEY_LOG, NULL
};

json_t *md_job_to_json(const md_job_t *job)
{
    json_t *j = job->unknown ? json_deep_copy(job->unknown) : json_object();
    json_t *log = json_object();
    json_t *last = md_result_to_json(job->last);

    md_json_set_str(j, MD_KEY_NAME, job->mdname);
    json_object_set_new(j, MD_KEY_FINISHED, json_boolean(job->finished));
    json_object_set_new(j, MD_KEY_NOTIFIED, json_boolean(job->notified));
    json_object_set_new(j, MD_KEY_NOTIFIED_RENEWED, json_boolean(job->notified_renewed));
    set_time(j, MD_KEY_LAST_RUN, job->last_run, job->p);
    set_time(j, MD_KEY_NEXT_RUN, job->next_run, job->p);
    set_time(j, MD_KEY_VALID_FROM, job->valid_from, job->p);
    json_object_set_new(j, MD_KEY_ERRORS, json_integer(job->errors));
    if (last && job->finished && job->last->status == APR_SUCCESS) {
        /* As the stock module: a success names the new certificate's start. */
        set_time(last, MD_KEY_VALID_FROM, job->valid_from, job->p);
    }
    json_object_set_new(j, MD_KEY_LAST, last);
    json_object_set(log, MD_KEY_ENTRIES, job->log);
    json_object_set_new(j, MD_KEY_LOG, log);
    return j;
}

static apr_time_t get_time(const json_t *j, const char *key)
{
    const char *s = md_json_get_str(j, key);
    return s ? md_time_parse_http(s) : 0;
}

void md_job_from_json(md_job_t *job, const json_t *j)
{
    const json_t *last = md_json_get_obj(j, MD_KEY_LAST);
    const json_t *log = md_json_get_obj(j, MD_KEY_LOG);
    json_t *entries = log ? md_json_get_array(log, MD_KEY_ENTRIES) : NULL;
    long long errors = md_json_get_int(j, MD_KEY_ERRORS, 0);

    job->finished = md_json_get_bool(j, MD_KEY_FINISHED, 0);
    job->notified = md_json_get_bool(j, MD_KEY_NOTIFIED, 0);
    job->notified_renewed = md_json_get_bool(j, MD_KEY_NOTIFIED_RENEWED, 0);
    job->errors = (errors < 0 || errors > 1000000) ? 0 : (int)errors;
    job->last_run = get_time(j, MD_KEY_LAST_RUN);
    job->next_run = get_time(j, MD_KEY_NEXT_RUN);
    job->valid_from = get_time(j, MD_KEY_VALID_FROM);
    if (last) {
        md_result_from_json(job->last, last);
    }
    if (json_is_object(j)) {
        /* A copy without what we use: the rest goes back as it was. */
        json_t *rest = json_deep_copy(j);
        int i;

        for (i = 0; rest && KNOWN[i]; ++i) {
            json_object_del(rest, KNOWN[i]);
        }
        if (job->unknown) {
            json_object_clear(job->unknown);
            json_object_update(job->unknown, rest);
            json_decref(rest);
        }
        else if (rest) {
            job->unknown = md_json_pool_own(job->p, rest);
        }
    }
    if (entries) {
        json_array_clear(job->log);
        json_array_extend(job->log, entries);
        while (json_array_size(job->log) > MD_JOB_LOG_MAX) {
            json_array_remove(job->log, json_array_size(job->log) - 1);
        }
    }
}

apr_status_t md_job_load(md_job_t *job, md_store_t *store, apr_pool_t *ptemp)
{
    json_t *j = NULL;
    apr_status_t rv;

    rv = md_store_load_json(store, MD_SG_STAGING, job->mdname, MD_FN_JOB, &j, ptemp);
    if (rv == APR_EINVAL) {
        /* Corrupt: the store logged it naming the file; start afresh
         * rather than never renewing again. */
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, ptemp,
                      "MD08001: %s: ignoring unreadable job state", job->mdname);
        return APR_ENOENT;
    }
    if (rv == APR_SUCCESS) {
        md_job_from_json(job, j);
        job->dirty = 0;
    }
    return rv;
}

apr_status_t md_job_save(md_job_t *job, md_store_t *store, apr_pool_t *ptemp)
{
    json_t *j = md_json_pool_own(ptemp, md_job_to_json(job));
    apr_status_t rv = md_store_save_json(store, MD_SG_STAGING, job->mdname, MD_FN_JOB, j, ptemp);

    if (rv == APR_SUCCESS) {
        job->dirty = 0;
    }
    return rv;
}

void md_job_log_append(md_job_t *job, const char *type, const char *detail)
{
    md_job_log_append_status(job, type, NULL, detail);
}

void md_job_log_append_status(md_job_t *job, const char *type, const char *status,
                              const char *detail)
{
    json_t *e = json_object();
    char when[APR_RFC822_DATE_LEN];

    /* Formatted on the stack: the job lives for months, its pool must not grow. */
    apr_rfc822_date(when, apr_time_now());
    md_json_set_str(e, MD_KEY_WHEN, when);
    md_json_set_str(e, MD_KEY_TYPE, type);
    if (status) {
        md_json_set_str(e, MD_KEY_STATUS, status);
    }
    if (detail) {
        md_json_set_str(e, MD_KEY_DETAIL, detail);
    }
    json_array_insert_new(job->log, 0, e);
    while (json_array_size(job->log) > MD_JOB_LOG_MAX) {
        json_array_remove(job->log, json_array_size(job->log) - 1);
    }
    job->dirty = 1;
}

void md_job_end_run(md_job_t *job, const md_result_t *result, apr_time_t now)
{
    md_result_assign(job->last, result);
    /* What the attempt was doing when it ended belongs to the result the
     * admin sees (STYLE §5). */
    md_result_activity_set(job->last, result->activity);
    job->last_run = now;
    if (result->status == APR_SUCCESS) {
        job->errors = 0;
        job->finished = 1;
        job->next_run = 0;
        md_job_log_append(job, MD_JOB_LOG_FINISHED, NULL);
    }
    else {
        apr_pool_t *ptemp;
        unsigned char r = 0;

        if (job->errors < 1000000) {
            ++job->errors;
        }
        job->finished = 0;
        md_crypt_random(&r, 1);
        job->next_run = md_sched_retry_at(result, job->errors, job->retry_base, now, r);
        apr_pool_create(&ptemp, job->p);
        md_job_log_append_status(job, MD_JOB_LOG_ERROR, result->problem,
                                 md_result_to_string(result, ptemp));
        apr_pool_destroy(ptemp);
    }
    job->dirty = 1;
}

void md_job_notified(md_job_t *job, const char *reason, int what, const md_result_t *result)
{
    const char *detail = result ? result->detail : NULL;
    char type[128];

    if (what & MD_NOTIFY_FAILED_MSG) {
        md_job_log_append_status(job, MD_JOB_LOG_MESSAGE_ERR, reason, detail);
    }
    else if ((what & MD_NOTIFY_RAN) && !(what & MD_NOTIFY_SKIP_MSG)) {
        apr_snprintf(type, sizeof(type), "%s%s", MD_JOB_LOG_MESSAGE, reason);
        md_job_log_append(job, type, NULL);
    }
    if (what & MD_NOTIFY_FAILED_NOTIFY) {
        md_job_log_append_status(job, MD_JOB_LOG_NOTIFY_ERR, NULL, detail);
    }
    /* As the stock module: an event of the job told without failure sets
     * notified ("renewing" and "errored" are not the job's: a failed
     * order says false), notified-renewed says "renewed" was told in
     * full, both programs. So a job whose challenges were set up says
     * true, also when "renewed" then failed. */
    if (!(what & (MD_NOTIFY_FAILED_MSG | MD_NOTIFY_FAILED_NOTIFY))
        && strcmp(reason, MD_NOTIFY_RENEWING) && strcmp(reason, MD_NOTIFY_ERRORED)) {
        job->notified = 1;
    }
    if (!strcmp(reason, MD_NOTIFY_RENEWED)) {
        job->notified_renewed = !(what & (MD_NOTIFY_FAILED_MSG | MD_NOTIFY_FAILED_NOTIFY
                                          | MD_NOTIFY_PENDING));
    }
    job->dirty = 1;
}
