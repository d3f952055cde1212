/* The watchdog's side of OCSP stapling: asking each certificate's
 * responder when its response is due, saving what it says, keeping each
 * MD's attempts in ocsp/<md>/job.json (the stock module's layout), telling
 * MDMessageCmd, and removing responses no certificate uses (see
 * md_ocsp_reg.h; the table itself is md_ocsp_reg.c's). */
#include <stdatomic.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "md_http.h"
#include "md_job.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_ocsp.h"
#include "md_ocsp_reg.h"
#include "md_ocsp_reg_int.h"
#include "md_result.h"
#include "md_sched.h"
#include "md_store.h"
#include "md_time.h"
#include "md_util.h"

#define CT_OCSP_REQUEST     "application/ocsp-request"
#define CT_OCSP_RESPONSE    "application/ocsp-response"
/* job.json log entry types, as stock writes them. */
#define LOG_PROGRESS        "progress"
#define LOG_ERROR           "ocsp-error"
#define LOG_MESSAGE         "message-"
/* A cluster's servers on one store: the lease of who asks the responders
 * for an MD's certificates ("@ocsp/<md>"), and how soon another server
 * looks again while one is at it. */
#define PEER_LEASE_PREFIX   "@ocsp/"
#define PEER_LEASE_TTL      apr_time_from_sec(60)
#define PEER_WAIT           apr_time_from_sec(10)

/* --- renewing (the watchdog) ---------------------------------------------- */

static md_job_t *job_load(md_ocsp_reg_t *reg, const char *mdname, apr_pool_t *p)
{
    md_job_t *job = md_job_create(p, mdname);
    json_t *j = NULL;

    /* A corrupt job.json (the store logged it) is started afresh. */
    if (md_store_load_json(reg->store, MD_SG_OCSP, mdname, MD_FN_JOB, &j, p) == APR_SUCCESS) {
        md_job_from_json(job, j);
    }
    return job;
}

static void job_save(md_ocsp_reg_t *reg, md_job_t *job, apr_pool_t *p)
{
    json_t *j = md_json_pool_own(p, md_job_to_json(job));
    apr_status_t rv = md_store_save_json(reg->store, MD_SG_OCSP, job->mdname, MD_FN_JOB, j, p);

    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, p, "MD22003: %s: cannot save the "
                      "OCSP renewal state (%s/%s)", job->mdname, job->mdname, MD_FN_JOB);
    }
}

/* When the job's log last says a message for reason was sent, 0 if never. */
static apr_time_t job_last_message(const md_job_t *job, const char *reason, apr_pool_t *p)
{
    const char *type = apr_pstrcat(p, LOG_MESSAGE, reason, NULL);
    size_t i;

    /* Newest first. */
    for (i = 0; i < json_array_size(job->log); ++i) {
        const json_t *e = json_array_get(job->log, i);
        const char *t = md_json_get_str(e, MD_KEY_TYPE);
        const char *when = md_json_get_str(e, MD_KEY_WHEN);

        if (t && !strcmp(t, type)) {
            return when ? md_time_parse_http(when) : 0;
        }
    }
    return 0;
}

static void tell(md_job_t *job, md_ocsp_notify_fn *notify, void *baton, const char *reason,
                 apr_interval_time_t min_interval, md_result_t *result, apr_time_t now,
                 apr_pool_t *p)
{
    apr_time_t last;

    if (!notify) {
        return;
    }
    last = job_last_message(job, reason, p);
    /* A time in the future (clock set back) does not silence us forever. */
    if (last > 0 && last <= now && now - last < min_interval) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, "MD22004: %s: not telling '%s' again "
                      "yet (at most every %s)", job->mdname, reason,
                      md_duration_print(min_interval, p));
        return;
    }
    if (notify(baton, job->mdname, reason, result, p) == APR_SUCCESS) {
        md_job_log_append(job, apr_pstrcat(p, LOG_MESSAGE, reason, NULL), NULL);
    }
}

/* The children read e's response again at their next handshake for it. */
static void entry_announce(md_ocsp_entry_t *e)
{
    md_ocsp_reg_t *reg = e->reg;

    if (reg->gens) {
        unsigned int gen = atomic_fetch_add_explicit(&reg->gens[e->index], 1,
                                                     memory_order_acq_rel) + 1;
        atomic_store_explicit(&e->seen_gen, gen, memory_order_relaxed);
    }
}

/* In a cluster, one server at a time asks for mdname's responses and the
 * others take what it saved in the shared store (peer_fetched). APR_EAGAIN:
 * another server is at it now. A store of one server, or one that cannot
 * be asked (a database that is down), lets us ask: stapling must not
 * depend on the database. *please: the lease to release, or NULL. */
static apr_status_t peer_lease(md_store_lease_t **please, md_ocsp_reg_t *reg,
                               const char *mdname, apr_pool_t *p)
{
    apr_status_t rv;

    *please = NULL;
    if (!reg->store->shared) {
        return APR_SUCCESS;
    }
    rv = md_store_lease_acquire(reg->store, apr_pstrcat(p, PEER_LEASE_PREFIX, mdname, NULL),
                                PEER_LEASE_TTL, please, p);
    if (rv == APR_EAGAIN) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, "MD22010: %s: %s asks the OCSP "
                      "responders now; taking its responses from the store", mdname,
                      *please && (*please)->node ? (*please)->node : "another server");
        *please = NULL;
        return APR_EAGAIN;
    }
    if (rv != APR_SUCCESS) {
        *please = NULL;
    }
    return APR_SUCCESS;
}

/* Due by what e holds (s): has a process of this server or another saved a
 * newer response that is not due yet? Then e has it now, s shows it, and
 * this server's children are told. Sync leaves the file to a handshake
 * already reading it, so the watchdog looks for itself before it asks the
 * responder. */
static int store_fetched(md_ocsp_entry_t *e, md_ocsp_snap_t *s, apr_time_t now,
                         apr_pool_t *p)
{
    md_ocsp_snap_t before = *s;

    md_ocsp_entry_load(e, now, p);
    md_ocsp_entry_snap(e, s);
    if (!s->has || s->renew_at <= now || (before.has && s->valid_from == before.valid_from
                                          && s->valid_until == before.valid_until)) {
        return 0;
    }
    e->errors = 0;
    entry_announce(e);
    return 1;
}

/* Holding the lease: has another server of the cluster saved a response
 * for e since ours that is not due yet? Then e has it now. */
static int peer_fetched(md_ocsp_entry_t *e, apr_time_t now, apr_pool_t *p)
{
    md_ocsp_snap_t s;

    if (!e->reg->store->shared) {
        return 0;
    }
    md_ocsp_entry_snap(e, &s);
    return store_fetched(e, &s, now, p);
}

/* Ask e's responder for a response to req. failed: responder URL ->
 * md_result_t* of a responder that could not be reached in this pass. */
static apr_status_t entry_fetch(md_http_response_t **presp, md_ocsp_entry_t *e,
                                const md_ocsp_request_t *req, md_http_t *http,
                                apr_hash_t *failed, md_result_t *result, apr_pool_t *p)
{
    const char *url = md_ocsp_cert_responder(e->ocert);
    md_http_response_t *resp = NULL;
    const unsigned char *der;
    md_result_t *keep;
    apr_size_t len;
    char buf[128];
    apr_status_t rv;

    md_ocsp_request_der(req, &der, &len);
    rv = md_http_request(&resp, http, "POST", url, CT_OCSP_REQUEST, CT_OCSP_RESPONSE,
                         (const char *)der, len, p);
    if (rv != APR_SUCCESS || resp->status >= 500) {
        if (rv != APR_SUCCESS) {
            md_result_printf(result, rv, "the OCSP responder %s did not answer: %s", url,
                             rv == APR_ENOSPC ? "its answer is too long"
                                              : apr_strerror(rv, buf, sizeof(buf)));
        }
        else {
            rv = APR_EGENERAL;
            md_result_printf(result, rv, "the OCSP responder %s answered HTTP %d", url,
                             resp->status);
        }
        /* The other certificates it serves wait for the next pass. */
        keep = md_result_make(apr_hash_pool_get(failed), NULL);
        md_result_assign(keep, result);
        apr_hash_set(failed, url, APR_HASH_KEY_STRING, keep);
        return rv;
    }
    if (resp->status != 200) {
        md_result_printf(result, APR_EGENERAL, "the OCSP responder %s answered HTTP %d",
                         url, resp->status);
        return APR_EGENERAL;
    }
    *presp = resp;
    return APR_SUCCESS;
}

/* Keep the checked response r for e: in the store for the other processes,
 * in e for this one. */
static void entry_keep(md_ocsp_entry_t *e, const md_ocsp_resp_t *r, md_result_t *result,
                       apr_time_t now, apr_pool_t *p)
{
    md_ocsp_reg_t *reg = e->reg;
    const char *serial = md_ocsp_cert_serial(e->ocert);
    apr_time_t mtime = 0;
    md_ocsp_snap_t s;

    md_ocsp_entry_snap(e, &s);
    if (md_store_save_json(reg->store, MD_SG_OCSP, e->mdname, e->fname,
                           md_json_pool_own(p, md_ocsp_file_json(r, p)), p) == APR_SUCCESS) {
        mtime = md_store_get_mtime(reg->store, MD_SG_OCSP, e->mdname, e->fname, p);
    }
    else {
        /* Stapled by this process anyway; the others keep theirs. */
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, 0, p, "MD22005: %s: cannot save the OCSP "
                      "response for the certificate with serial %s (%s/%s)", e->mdname,
                      serial, e->mdname, e->fname);
    }
    md_ocsp_entry_set(e, r, md_sched_ocsp_next_fetch(&reg->cfg.renew_window, r->valid_from,
                                               r->valid_until, now), mtime, 0);
    entry_announce(e);
    if (r->stat == MD_OCSP_STAT_REVOKED && (!s.has || s.stat != MD_OCSP_STAT_REVOKED)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, 0, p, "MD22006: %s: the OCSP responder "
                      "says the certificate with serial %s is revoked%s%s", e->mdname, serial,
                      r->revoked_at ? " since " : "",
                      r->revoked_at ? md_time_format_http(r->revoked_at, p) : "");
    }
    md_result_printf(result, APR_SUCCESS, "certificate status is %s, the response is valid "
                     "from %s until %s", md_ocsp_stat_name(r->stat),
                     md_time_format_http(r->valid_from, p),
                     md_time_format_http(r->valid_until, p));
}

/* Ask e's responder and keep a response that checks out. failed: see
 * entry_fetch. */
static apr_status_t entry_renew(md_ocsp_entry_t *e, md_http_t *http, apr_hash_t *failed,
                                md_result_t *result, apr_time_t now, apr_pool_t *p)
{
    const char *url = md_ocsp_cert_responder(e->ocert);
    md_http_response_t *resp = NULL;
    md_ocsp_request_t *req = NULL;
    md_ocsp_resp_t *r = NULL;
    const md_result_t *prior;
    const char *why = NULL;
    apr_status_t rv;

    md_result_activity_printf(result, "getting the OCSP response for the certificate with "
                              "serial %s from %s", md_ocsp_cert_serial(e->ocert), url);
    if ((prior = apr_hash_get(failed, url, APR_HASH_KEY_STRING))) {
        md_result_set(result, prior->status, prior->detail);
        return prior->status;
    }
    if ((rv = md_ocsp_request_make(&req, e->ocert, 1, p)) != APR_SUCCESS) {
        md_result_set(result, rv, "cannot make the OCSP request");
        return rv;
    }
    if ((rv = entry_fetch(&resp, e, req, http, failed, result, p)) != APR_SUCCESS) {
        return rv;
    }
    rv = md_ocsp_resp_check(&r, e->ocert, req, resp->body, resp->body_len, now, &why, p);
    if (rv != APR_SUCCESS) {
        md_result_printf(result, rv, "the OCSP responder %s: %s", url, why);
        return rv;
    }
    entry_keep(e, r, result, now, p);
    return APR_SUCCESS;
}

/* When e wants the watchdog next (e synced). */
static apr_time_t entry_due(const md_ocsp_entry_t *e, const md_ocsp_snap_t *s)
{
    if (e->errors > 0) {
        return e->retry_at;
    }
    return s->has ? s->renew_at : 0;
}

/* How the renewals of one MD's entries went in this pass. */
typedef struct {
    md_result_t *last_ok;
    md_result_t *last_err;
    apr_time_t retry;           /* the earliest retry of a failed entry */
    int errors;                 /* the most consecutive errors of an entry */
} renew_tally_t;

/* Renew e now (s: e as it was before) and record how it went in job, the
 * log and tally. */
static void entry_attempt(md_ocsp_entry_t *e, const md_ocsp_snap_t *s, md_job_t *job,
                          md_http_t *http, apr_hash_t *failed, renew_tally_t *tally,
                          apr_time_t now, apr_pool_t *p)
{
    md_ocsp_reg_t *reg = e->reg;
    md_result_t *result = md_result_make(p, e->mdname);

    if (entry_renew(e, http, failed, result, now, p) == APR_SUCCESS) {
        e->errors = 0;
        tally->last_ok = result;
        md_job_log_append(job, LOG_PROGRESS, apr_pstrcat(p, result->activity, ": ",
                                                         result->detail, NULL));
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, "MD22007: %s: OCSP response for "
                      "the certificate with serial %s: %s", e->mdname,
                      md_ocsp_cert_serial(e->ocert), result->detail);
        return;
    }
    ++e->errors;
    e->retry_at = now + md_sched_ocsp_retry_delay(e->errors, reg->cfg.retry_base,
                                                  s->has ? s->valid_from : 0,
                                                  s->has ? s->valid_until : 0, now);
    tally->last_err = result;
    tally->retry = md_ocsp_earliest(tally->retry, e->retry_at);
    md_job_log_append(job, LOG_ERROR, result->detail);
    md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, result->status, p,
                  "MD22008: %s: %s: %s (attempt %d, next in %s)%s", e->mdname,
                  result->activity, result->detail, e->errors,
                  md_duration_print(e->retry_at - now, p),
                  s->has && md_ocsp_is_current(s->valid_from, s->valid_until, now)
                  ? apr_psprintf(p, "; the response stapled now is valid until %s",
                                 md_time_format_http(s->valid_until, p))
                  : "; no OCSP response to staple");
}

/* The MD's job.json after a pass that renewed (or tried) some entries. */
static void job_finish(md_ocsp_reg_t *reg, md_job_t *job, const renew_tally_t *tally,
                       md_ocsp_notify_fn *notify, void *baton, apr_time_t now,
                       apr_pool_t *p)
{
    md_result_t *last = tally->last_err ? tally->last_err : tally->last_ok;

    job->finished = 1;
    job->last_run = now;
    job->errors = tally->errors;
    job->next_run = tally->last_err ? tally->retry : 0;
    md_result_assign(job->last, last);
    md_result_activity_set(job->last, last->activity);
    if (tally->last_ok) {
        tell(job, notify, baton, MD_OCSP_EV_RENEWED, MD_OCSP_EV_RENEWED_MIN, tally->last_ok,
             now, p);
    }
    if (tally->last_err) {
        tell(job, notify, baton, MD_OCSP_EV_ERRORED, MD_OCSP_EV_ERRORED_MIN, tally->last_err,
             now, p);
    }
    job_save(reg, job, p);
}

/* Renew what is due of one MD's entries [from, to), with one job.json. */
static apr_time_t renew_md(md_ocsp_reg_t *reg, int from, int to, md_http_t *http,
                           md_ocsp_notify_fn *notify, void *baton, apr_hash_t *failed,
                           apr_time_t now, apr_pool_t *p)
{
    const char *mdname = MD_OCSP_ENTRY(reg, from)->mdname;
    renew_tally_t tally = { NULL, NULL, 0, 0 };
    md_job_t *job = NULL;
    md_store_lease_t *lease = NULL;
    apr_time_t next = 0;
    int leased = 0;
    int i;

    for (i = from; i < to; ++i) {
        md_ocsp_entry_t *e = MD_OCSP_ENTRY(reg, i);
        md_ocsp_snap_t s;

        md_ocsp_entry_sync(e, now);
        md_ocsp_entry_snap(e, &s);
        if (entry_due(e, &s) <= now) {
            store_fetched(e, &s, now, p);
        }
        if (entry_due(e, &s) > now) {
            next = md_ocsp_earliest(next, entry_due(e, &s));
            tally.errors = e->errors > tally.errors ? e->errors : tally.errors;
            continue;
        }
        if (!leased) {
            leased = 1;
            if (peer_lease(&lease, reg, mdname, p) == APR_EAGAIN) {
                /* Its responses are in the store when it is done. */
                return md_ocsp_earliest(next, now + PEER_WAIT);
            }
        }
        if (peer_fetched(e, now, p)) {
            md_ocsp_entry_snap(e, &s);
            next = md_ocsp_earliest(next, entry_due(e, &s));
            continue;
        }
        if (!job) {
            job = job_load(reg, mdname, p);
        }
        entry_attempt(e, &s, job, http, failed, &tally, now, p);
        md_ocsp_entry_snap(e, &s);
        next = md_ocsp_earliest(next, entry_due(e, &s));
        tally.errors = e->errors > tally.errors ? e->errors : tally.errors;
    }
    if (job) {
        job_finish(reg, job, &tally, notify, baton, now, p);
    }
    if (lease) {
        md_store_lease_release(reg->store, lease, p);
    }
    return next;
}

apr_time_t md_ocsp_reg_renew(md_ocsp_reg_t *reg, md_http_t *http, md_ocsp_notify_fn *notify,
                             void *baton, apr_time_t now, apr_pool_t *ptemp)
{
    apr_hash_t *failed = apr_hash_make(ptemp);
    apr_pool_t *p = NULL;
    apr_time_t next = 0;
    int i = 0;
    int j;

    if (!reg->sealed || apr_pool_create(&p, ptemp) != APR_SUCCESS) {
        return 0;
    }
    while (i < reg->entries->nelts) {
        const char *mdname = MD_OCSP_ENTRY(reg, i)->mdname;

        for (j = i + 1; j < reg->entries->nelts && !strcmp(MD_OCSP_ENTRY(reg, j)->mdname, mdname);
             ++j) {
        }
        next = md_ocsp_earliest(next, renew_md(reg, i, j, http, notify, baton, failed, now, p));
        /* Keep going: one MD's trouble must not stop the others. */
        apr_pool_clear(p);
        i = j;
    }
    apr_pool_destroy(p);
    return next;
}

/* --- cleanup (the watchdog) ----------------------------------------------- */

/* Remove name/aspect, which no certificate uses, once it has rested for
 * MDStaplingKeepResponse since mtime. Returns 1 if it is gone. */
static int cleanup_unused(md_ocsp_reg_t *reg, const char *name, const char *aspect,
                          apr_time_t mtime, apr_time_t now, apr_pool_t *p)
{
    apr_status_t rv;

    if (!md_ocsp_is_stale(mtime, reg->cfg.keep, now)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_TRACE1, 0, p, "MD22011: keeping the unused OCSP "
                      "response %s/%s, written %s ago (MDStaplingKeepResponse %s)", name,
                      aspect, md_duration_print(now - mtime, p),
                      md_duration_print(reg->cfg.keep, p));
        return 0;
    }
    rv = md_store_remove(reg->store, MD_SG_OCSP, name, aspect, p);
    if (APR_STATUS_IS_ENOENT(rv)) {
        return 0;   /* removed meanwhile */
    }
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, p, "MD22012: cannot remove the "
                      "unused OCSP response %s/%s", name, aspect);
        return 0;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_INFO, 0, p, "MD22009: removed the OCSP response %s/%s: "
                  "no certificate uses it and it was last written more than %s ago "
                  "(MDStaplingKeepResponse)", name, aspect, md_duration_print(reg->cfg.keep, p));
    return 1;
}

int md_ocsp_reg_cleanup(md_ocsp_reg_t *reg, apr_time_t now, apr_pool_t *ptemp)
{
    apr_hash_t *used = apr_hash_make(ptemp);
    apr_array_header_t *names = NULL;
    int removed = 0;
    int i;
    int k;

    for (i = 0; i < reg->entries->nelts; ++i) {
        md_ocsp_entry_t *e = MD_OCSP_ENTRY(reg, i);
        apr_hash_set(used, apr_pstrcat(ptemp, e->mdname, "/", e->fname, NULL),
                     APR_HASH_KEY_STRING, e);
    }
    if (md_store_list(reg->store, MD_SG_OCSP, &names, ptemp) != APR_SUCCESS) {
        return 0;
    }
    for (i = 0; i < names->nelts; ++i) {
        const char *name = MD_ARR_IDX(names, i, const char *);
        apr_array_header_t *aspects = NULL;

        if (md_store_list_aspects(reg->store, MD_SG_OCSP, name, &aspects, ptemp)
            != APR_SUCCESS) {
            continue;
        }
        for (k = 0; k < aspects->nelts; ++k) {
            const char *aspect = MD_ARR_IDX(aspects, k, const char *);
            apr_time_t mtime;

            if (!md_ocsp_is_file_name(aspect)
                || apr_hash_get(used, apr_pstrcat(ptemp, name, "/", aspect, NULL),
                                APR_HASH_KEY_STRING)) {
                continue;
            }
            mtime = md_store_get_mtime(reg->store, MD_SG_OCSP, name, aspect, ptemp);
            removed += cleanup_unused(reg, name, aspect, mtime, now, ptemp);
        }
    }
    return removed;
}
