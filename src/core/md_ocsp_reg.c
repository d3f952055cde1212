/* The registry of stapled certificates and their responses (see
 * md_ocsp_reg.h for who calls what from where). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_thread_mutex.h>

#include "md_crypt.h"
#include "md_http.h"
#include "md_job.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_ocsp.h"
#include "md_ocsp_reg.h"
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

typedef struct {
    md_ocsp_reg_t *reg;
    int index;                  /* slot in reg->gens */
    const char *mdname;         /* store name: the MD's, or MD_OCSP_OTHER */
    const char *fname;          /* ocsp-<id>.json */
    md_ocsp_cert_t *ocert;
    /* The response, guarded by mutex: */
    apr_thread_mutex_t *mutex;
    unsigned char *der;         /* malloc'd (threads replace it), NULL: none */
    apr_size_t der_len;
    md_ocsp_stat_t stat;
    apr_time_t valid_from;
    apr_time_t valid_until;
    apr_time_t renew_at;
    apr_time_t mtime;           /* of the file it was read from or saved to */
    /* Any thread: */
    atomic_uint seen_gen;       /* generation of the response held */
    atomic_int reloading;       /* a thread is reading the store for it */
    atomic_llong last_poll;     /* without shared generations: last look */
    /* The watchdog thread only: */
    int errors;                 /* failed attempts in a row */
    apr_time_t retry_at;
} entry_t;

/* What a caller may look at without holding the mutex. */
typedef struct {
    int has;
    md_ocsp_stat_t stat;
    apr_time_t valid_from;
    apr_time_t valid_until;
    apr_time_t renew_at;
    apr_time_t mtime;
} snap_t;

struct md_ocsp_reg_t {
    apr_pool_t *p;
    md_store_t *store;
    md_ocsp_reg_cfg_t cfg;
    apr_array_header_t *entries;    /* entry_t*; sorted by MD and id once sealed */
    apr_hash_t *by_key;             /* caller's key -> entry_t* */
    apr_hash_t *by_id;              /* SHA-1 of the certificate -> entry_t* */
    apr_hash_t *by_sha256;          /* fingerprint (hex) -> entry_t* */
    atomic_uint *gens;              /* shared memory, one per entry; NULL: none */
    int sealed;
};

#define ENTRY(reg, i) MD_ARR_IDX((reg)->entries, (i), entry_t *)

static apr_status_t reg_cleanup(void *data)
{
    md_ocsp_reg_t *reg = data;
    int i;

    for (i = 0; i < reg->entries->nelts; ++i) {
        free(ENTRY(reg, i)->der);
        ENTRY(reg, i)->der = NULL;
    }
    return APR_SUCCESS;
}

md_ocsp_reg_t *md_ocsp_reg_create(apr_pool_t *p, md_store_t *store,
                                  const md_ocsp_reg_cfg_t *cfg)
{
    md_ocsp_reg_t *reg = apr_pcalloc(p, sizeof(*reg));

    reg->p = p;
    reg->store = store;
    reg->cfg = *cfg;
    reg->entries = apr_array_make(p, 10, sizeof(entry_t *));
    reg->by_key = apr_hash_make(p);
    reg->by_id = apr_hash_make(p);
    reg->by_sha256 = apr_hash_make(p);
    apr_pool_cleanup_register(p, reg, reg_cleanup, apr_pool_cleanup_null);
    return reg;
}

int md_ocsp_reg_count(const md_ocsp_reg_t *reg)
{
    return reg ? reg->entries->nelts : 0;
}

/* --- one certificate's response ------------------------------------------- */

static void entry_snap(entry_t *e, snap_t *s)
{
    apr_thread_mutex_lock(e->mutex);
    s->has = e->der != NULL;
    s->stat = e->stat;
    s->valid_from = e->valid_from;
    s->valid_until = e->valid_until;
    s->renew_at = e->renew_at;
    s->mtime = e->mtime;
    apr_thread_mutex_unlock(e->mutex);
}

/* Hold resp from now on (unless only_newer and it is not newer than the one
 * held: a file an older process wrote). Returns whether it was taken. */
static int entry_set(entry_t *e, const md_ocsp_resp_t *resp, apr_time_t renew_at,
                     apr_time_t mtime, int only_newer)
{
    unsigned char *der = malloc(resp->der_len);
    unsigned char *old = NULL;
    int taken = 0;

    if (!der) {
        return 0;
    }
    memcpy(der, resp->der, resp->der_len);
    apr_thread_mutex_lock(e->mutex);
    if (!only_newer || !e->der || resp->valid_from > e->valid_from
        || (resp->valid_from == e->valid_from && resp->valid_until > e->valid_until)) {
        old = e->der;
        e->der = der;
        e->der_len = resp->der_len;
        e->stat = resp->stat;
        e->valid_from = resp->valid_from;
        e->valid_until = resp->valid_until;
        e->renew_at = renew_at;
        e->mtime = mtime;
        der = NULL;
        taken = 1;
    }
    else {
        e->mtime = mtime;
    }
    apr_thread_mutex_unlock(e->mutex);
    free(der);
    free(old);
    return taken;
}

/* Read the response file of e, if it changed since e's response came from
 * it, and take it when it checks out at now. ptemp NULL: a pool of its own
 * (any thread). */
static void entry_load(entry_t *e, apr_time_t now, apr_pool_t *ptemp)
{
    md_ocsp_reg_t *reg = e->reg;
    md_ocsp_resp_t *resp = NULL;
    const unsigned char *der = NULL;
    const char *why = NULL;
    apr_size_t len = 0;
    apr_pool_t *p = ptemp;
    json_t *j = NULL;
    apr_time_t mtime;
    snap_t s;
    apr_status_t rv;

    if (!p && apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS) {
        return;
    }
    entry_snap(e, &s);
    mtime = md_store_get_mtime(reg->store, MD_SG_OCSP, e->mdname, e->fname, p);
    if (mtime <= 0 || mtime == s.mtime) {
        goto leave;
    }
    rv = md_store_load_json(reg->store, MD_SG_OCSP, e->mdname, e->fname, &j, p);
    if (rv == APR_SUCCESS && (rv = md_ocsp_file_der(&der, &len, j, p)) != APR_SUCCESS) {
        why = "no \"" MD_KEY_RESPONSE "\" of base64url DER in it";
    }
    if (rv == APR_SUCCESS) {
        rv = md_ocsp_resp_check(&resp, e->ocert, NULL, der, len, now, &why, p);
    }
    if (rv == APR_SUCCESS) {
        entry_set(e, resp, md_sched_ocsp_renew_at(&reg->cfg.renew_window, resp->valid_from,
                                                  resp->valid_until), mtime, 1);
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, "MD22001: %s: read the OCSP response "
                      "for the certificate with serial %s from the store: %s until %s",
                      e->mdname, md_ocsp_cert_serial(e->ocert), md_ocsp_stat_name(resp->stat),
                      md_time_format_http(resp->valid_until, p));
    }
    else {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p, "MD22002: %s: not using the stored "
                      "OCSP response %s/%s: %s", e->mdname, e->mdname, e->fname,
                      why ? why : "cannot read it");
    }
leave:
    if (p != ptemp) {
        apr_pool_destroy(p);
    }
}

/* Pick up a response another process saved since (any thread). One thread
 * reads the file; the others go on with the response they have. */
static void entry_sync(entry_t *e, apr_time_t now)
{
    md_ocsp_reg_t *reg = e->reg;
    unsigned int gen = 0;
    int idle = 0;

    if (reg->gens) {
        gen = atomic_load_explicit(&reg->gens[e->index], memory_order_acquire);
        if (gen == atomic_load_explicit(&e->seen_gen, memory_order_relaxed)) {
            return;
        }
    }
    else {
        long long last = atomic_load_explicit(&e->last_poll, memory_order_relaxed);
        if (now - last < MD_OCSP_RECHECK && last - now < MD_OCSP_RECHECK) {
            return;
        }
        atomic_store_explicit(&e->last_poll, now, memory_order_relaxed);
    }
    if (!atomic_compare_exchange_strong(&e->reloading, &idle, 1)) {
        return;
    }
    entry_load(e, now, NULL);
    if (reg->gens) {
        atomic_store_explicit(&e->seen_gen, gen, memory_order_relaxed);
    }
    atomic_store(&e->reloading, 0);
}

/* --- priming (parent) ----------------------------------------------------- */

apr_status_t md_ocsp_reg_prime(md_ocsp_reg_t *reg, const void *key, apr_size_t key_len,
                               const char *pem, apr_size_t pem_len, const char *mdname,
                               apr_time_t now, const char **pwhy, apr_pool_t *ptemp)
{
    apr_array_header_t *chain = NULL;
    md_ocsp_cert_t *ocert = NULL;
    const md_cert_t *cert;
    const md_cert_t *issuer;
    entry_t *e;

    *pwhy = NULL;
    if (reg->sealed) {
        *pwhy = "certificates can be added only at start-up";
        return APR_EINVAL;
    }
    if (key && key_len > 0 && apr_hash_get(reg->by_key, key, (apr_ssize_t)key_len)) {
        return APR_SUCCESS;
    }
    if (!pem || md_certs_from_pem(&chain, pem, pem_len, ptemp) != APR_SUCCESS
        || chain->nelts < 2) {
        *pwhy = "not a certificate followed by its issuer's (PEM)";
        return APR_EINVAL;
    }
    cert = MD_ARR_IDX(chain, 0, const md_cert_t *);
    issuer = MD_ARR_IDX(chain, 1, const md_cert_t *);
    if (md_ocsp_cert_make(&ocert, cert, issuer, ptemp) != APR_SUCCESS) {
        *pwhy = "the second certificate did not issue the first";
        return APR_EINVAL;
    }
    e = apr_hash_get(reg->by_id, md_ocsp_cert_id(ocert), MD_OCSP_ID_LEN);
    if (!e) {
        if (!md_ocsp_cert_responder(ocert)) {
            *pwhy = apr_psprintf(ptemp, "the certificate with serial %s names no OCSP "
                                 "responder", md_ocsp_cert_serial(ocert));
            return APR_ENOENT;
        }
        /* Again in the registry's pool, which lives as long as it. */
        if (md_ocsp_cert_make(&ocert, cert, issuer, reg->p) != APR_SUCCESS
            || !(e = apr_pcalloc(reg->p, sizeof(*e)))
            || apr_thread_mutex_create(&e->mutex, APR_THREAD_MUTEX_DEFAULT, reg->p)
               != APR_SUCCESS) {
            *pwhy = "out of memory";
            return APR_ENOMEM;
        }
        e->reg = reg;
        e->mdname = apr_pstrdup(reg->p, mdname ? mdname : MD_OCSP_OTHER);
        e->ocert = ocert;
        e->fname = md_ocsp_file_name(md_ocsp_cert_hexid(ocert), reg->p);
        atomic_init(&e->seen_gen, 0);
        atomic_init(&e->reloading, 0);
        atomic_init(&e->last_poll, now);
        APR_ARRAY_PUSH(reg->entries, entry_t *) = e;
        apr_hash_set(reg->by_id, md_ocsp_cert_id(ocert), MD_OCSP_ID_LEN, e);
        if (md_ocsp_cert_sha256(ocert)) {
            apr_hash_set(reg->by_sha256, md_ocsp_cert_sha256(ocert), APR_HASH_KEY_STRING, e);
        }
        entry_load(e, now, ptemp);
    }
    if (key && key_len > 0) {
        apr_hash_set(reg->by_key, apr_pmemdup(reg->p, key, key_len), (apr_ssize_t)key_len, e);
    }
    return APR_SUCCESS;
}

apr_size_t md_ocsp_reg_shared_size(const md_ocsp_reg_t *reg)
{
    int n = reg->entries->nelts;
    return (apr_size_t)(n > 0 ? n : 1) * sizeof(atomic_uint);
}

static int entry_cmp(const void *a, const void *b)
{
    const entry_t *e1 = *(entry_t *const *)a;
    const entry_t *e2 = *(entry_t *const *)b;
    int n = strcmp(e1->mdname, e2->mdname);

    return n ? n : strcmp(md_ocsp_cert_hexid(e1->ocert), md_ocsp_cert_hexid(e2->ocert));
}

void md_ocsp_reg_seal(md_ocsp_reg_t *reg, void *mem, apr_size_t size)
{
    int i;

    /* One MD's certificates next to each other: the watchdog renews them
     * together with one job.json. */
    qsort(reg->entries->elts, (size_t)reg->entries->nelts, sizeof(entry_t *), entry_cmp);
    reg->gens = NULL;
    if (mem && size >= md_ocsp_reg_shared_size(reg)) {
        reg->gens = mem;
    }
    for (i = 0; i < reg->entries->nelts; ++i) {
        ENTRY(reg, i)->index = i;
        if (reg->gens) {
            atomic_init(&reg->gens[i], 0);
        }
    }
    reg->sealed = 1;
}

/* --- the handshake -------------------------------------------------------- */

apr_status_t md_ocsp_reg_get(md_ocsp_reg_t *reg, const void *key, apr_size_t key_len,
                             md_ocsp_copy_fn *cb, void *baton, apr_time_t now)
{
    entry_t *e = key_len > 0 ? apr_hash_get(reg->by_key, key, (apr_ssize_t)key_len) : NULL;

    if (!e) {
        return APR_ENOENT;
    }
    entry_sync(e, now);
    apr_thread_mutex_lock(e->mutex);
    if (e->der && md_ocsp_is_current(e->valid_from, e->valid_until, now)) {
        cb(e->der, e->der_len, baton);
    }
    else {
        cb(NULL, 0, baton);
    }
    apr_thread_mutex_unlock(e->mutex);
    return APR_SUCCESS;
}

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

/* Ask e's responder. failed: responder URL -> md_result_t* of a responder
 * that could not be reached in this pass. */
static apr_status_t entry_renew(entry_t *e, md_http_t *http, apr_hash_t *failed,
                                md_result_t *result, apr_time_t now, apr_pool_t *p)
{
    md_ocsp_reg_t *reg = e->reg;
    const char *url = md_ocsp_cert_responder(e->ocert);
    const char *serial = md_ocsp_cert_serial(e->ocert);
    md_http_response_t *resp = NULL;
    md_ocsp_request_t *req = NULL;
    md_ocsp_resp_t *r = NULL;
    const md_result_t *prior;
    md_result_t *keep;
    const unsigned char *der;
    const char *why = NULL;
    apr_size_t len;
    apr_time_t mtime = 0;
    char buf[128];
    snap_t s;
    apr_status_t rv;

    md_result_activity_printf(result, "getting the OCSP response for the certificate with "
                              "serial %s from %s", serial, url);
    if ((prior = apr_hash_get(failed, url, APR_HASH_KEY_STRING))) {
        md_result_set(result, prior->status, prior->detail);
        return prior->status;
    }
    if ((rv = md_ocsp_request_make(&req, e->ocert, 1, p)) != APR_SUCCESS) {
        md_result_set(result, rv, "cannot make the OCSP request");
        return rv;
    }
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
    rv = md_ocsp_resp_check(&r, e->ocert, req, resp->body, resp->body_len, now, &why, p);
    if (rv != APR_SUCCESS) {
        md_result_printf(result, rv, "the OCSP responder %s: %s", url, why);
        return rv;
    }
    entry_snap(e, &s);
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
    entry_set(e, r, md_sched_ocsp_next_fetch(&reg->cfg.renew_window, r->valid_from,
                                             r->valid_until, now), mtime, 0);
    if (reg->gens) {
        unsigned int gen = atomic_fetch_add_explicit(&reg->gens[e->index], 1,
                                                     memory_order_acq_rel) + 1;
        atomic_store_explicit(&e->seen_gen, gen, memory_order_relaxed);
    }
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
    return APR_SUCCESS;
}

/* When e wants the watchdog next (e synced). */
static apr_time_t entry_due(const entry_t *e, const snap_t *s)
{
    if (e->errors > 0) {
        return e->retry_at;
    }
    return s->has ? s->renew_at : 0;
}

static apr_time_t earliest(apr_time_t a, apr_time_t b)
{
    return (!a || (b && b < a)) ? b : a;
}

/* Renew what is due of one MD's entries [from, to), with one job.json. */
static apr_time_t renew_md(md_ocsp_reg_t *reg, int from, int to, md_http_t *http,
                           md_ocsp_notify_fn *notify, void *baton, apr_hash_t *failed,
                           apr_time_t now, apr_pool_t *p)
{
    const char *mdname = ENTRY(reg, from)->mdname;
    md_result_t *last_ok = NULL;
    md_result_t *last_err = NULL;
    md_job_t *job = NULL;
    apr_time_t next = 0;
    apr_time_t retry = 0;
    int errors = 0;
    int i;

    for (i = from; i < to; ++i) {
        entry_t *e = ENTRY(reg, i);
        md_result_t *result;
        snap_t s;

        entry_sync(e, now);
        entry_snap(e, &s);
        if (entry_due(e, &s) > now) {
            next = earliest(next, entry_due(e, &s));
            errors = e->errors > errors ? e->errors : errors;
            continue;
        }
        if (!job) {
            job = job_load(reg, mdname, p);
        }
        result = md_result_make(p, mdname);
        if (entry_renew(e, http, failed, result, now, p) == APR_SUCCESS) {
            e->errors = 0;
            last_ok = result;
            md_job_log_append(job, LOG_PROGRESS, apr_pstrcat(p, result->activity, ": ",
                                                             result->detail, NULL));
            md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, "MD22007: %s: OCSP response for "
                          "the certificate with serial %s: %s", mdname,
                          md_ocsp_cert_serial(e->ocert), result->detail);
        }
        else {
            ++e->errors;
            e->retry_at = now + md_sched_ocsp_retry_delay(e->errors, reg->cfg.retry_base,
                                                          s.has ? s.valid_from : 0,
                                                          s.has ? s.valid_until : 0, now);
            last_err = result;
            retry = earliest(retry, e->retry_at);
            md_job_log_append(job, LOG_ERROR, result->detail);
            md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, result->status, p,
                          "MD22008: %s: %s: %s (attempt %d, next in %s)%s", mdname,
                          result->activity, result->detail, e->errors,
                          md_duration_print(e->retry_at - now, p),
                          s.has && md_ocsp_is_current(s.valid_from, s.valid_until, now)
                          ? apr_psprintf(p, "; the response stapled now is valid until %s",
                                         md_time_format_http(s.valid_until, p))
                          : "; no OCSP response to staple");
        }
        entry_snap(e, &s);
        next = earliest(next, entry_due(e, &s));
        errors = e->errors > errors ? e->errors : errors;
    }
    if (job) {
        job->finished = 1;
        job->last_run = now;
        job->errors = errors;
        job->next_run = last_err ? retry : 0;
        md_result_assign(job->last, last_err ? last_err : last_ok);
        md_result_activity_set(job->last, (last_err ? last_err : last_ok)->activity);
        if (last_ok) {
            tell(job, notify, baton, MD_OCSP_EV_RENEWED, MD_OCSP_EV_RENEWED_MIN, last_ok,
                 now, p);
        }
        if (last_err) {
            tell(job, notify, baton, MD_OCSP_EV_ERRORED, MD_OCSP_EV_ERRORED_MIN, last_err,
                 now, p);
        }
        job_save(reg, job, p);
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
        const char *mdname = ENTRY(reg, i)->mdname;

        for (j = i + 1; j < reg->entries->nelts && !strcmp(ENTRY(reg, j)->mdname, mdname);
             ++j) {
        }
        next = earliest(next, renew_md(reg, i, j, http, notify, baton, failed, now, p));
        /* Keep going: one MD's trouble must not stop the others. */
        apr_pool_clear(p);
        i = j;
    }
    apr_pool_destroy(p);
    return next;
}

/* --- cleanup (the watchdog) ----------------------------------------------- */

int md_ocsp_reg_cleanup(md_ocsp_reg_t *reg, apr_time_t now, apr_pool_t *ptemp)
{
    apr_hash_t *used = apr_hash_make(ptemp);
    apr_array_header_t *names = NULL;
    int removed = 0;
    int i;
    int k;

    for (i = 0; i < reg->entries->nelts; ++i) {
        entry_t *e = ENTRY(reg, i);
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
            if (md_ocsp_is_stale(mtime, reg->cfg.keep, now)
                && md_store_remove(reg->store, MD_SG_OCSP, name, aspect, ptemp)
                   == APR_SUCCESS) {
                ++removed;
                md_log_perror(MD_LOG_MARK, MD_LOG_INFO, 0, ptemp, "MD22009: removed the "
                              "OCSP response %s/%s: no certificate uses it and it was last "
                              "written more than %s ago (MDStaplingKeepResponse)", name,
                              aspect, md_duration_print(reg->cfg.keep, ptemp));
            }
        }
    }
    return removed;
}

/* --- status --------------------------------------------------------------- */

static json_t *valid_json(const snap_t *s, apr_pool_t *p)
{
    json_t *v = json_object();

    md_json_set_str(v, MD_KEY_FROM, md_time_format_http(s->valid_from, p));
    md_json_set_str(v, MD_KEY_UNTIL, md_time_format_http(s->valid_until, p));
    return v;
}

static const char *current_stat(const snap_t *s, apr_time_t now)
{
    return md_ocsp_stat_name(s->has && md_ocsp_is_current(s->valid_from, s->valid_until, now)
                             ? s->stat : MD_OCSP_STAT_UNKNOWN);
}

/* ocsp/<md>/job.json as status shows it, NULL if there is none. */
static json_t *renewal_json(md_ocsp_reg_t *reg, const char *mdname, int with_log,
                            apr_pool_t *p)
{
    json_t *j = NULL;

    if (md_store_load_json(reg->store, MD_SG_OCSP, mdname, MD_FN_JOB, &j, p) != APR_SUCCESS
        || !json_is_object(j)) {
        return NULL;
    }
    if (!with_log) {
        json_object_del(j, MD_KEY_LOG);
    }
    return j;
}

json_t *md_ocsp_reg_cert_json(md_ocsp_reg_t *reg, const char *sha256, int with_log,
                              apr_time_t now, apr_pool_t *p)
{
    entry_t *e = (reg && sha256) ? apr_hash_get(reg->by_sha256, sha256, APR_HASH_KEY_STRING)
                                 : NULL;
    json_t *j;
    json_t *renewal;
    snap_t s;

    if (!e) {
        return NULL;
    }
    entry_sync(e, now);
    entry_snap(e, &s);
    j = md_json_pool_own(p, json_object());
    md_json_set_str(j, MD_KEY_STATUS, current_stat(&s, now));
    if (s.has) {
        json_object_set_new(j, MD_KEY_VALID, valid_json(&s, p));
    }
    if ((renewal = renewal_json(reg, e->mdname, with_log, p))) {
        json_object_set(j, MD_KEY_RENEWAL, renewal);
    }
    return j;
}

json_t *md_ocsp_reg_status_json(md_ocsp_reg_t *reg, apr_time_t now, apr_pool_t *p)
{
    json_t *j = md_json_pool_own(p, json_object());
    json_t *list = json_array();
    int i;

    json_object_set_new(j, MD_KEY_OCSPS, list);
    for (i = 0; reg && i < reg->entries->nelts; ++i) {
        entry_t *e = ENTRY(reg, i);
        json_t *o = json_object();
        json_t *cert = json_object();
        json_t *renewal;
        snap_t s;

        entry_sync(e, now);
        entry_snap(e, &s);
        md_json_set_str(o, MD_KEY_DOMAIN, e->mdname);
        md_json_set_str(o, MD_KEY_ID, md_ocsp_cert_hexid(e->ocert));
        md_json_set_str(o, MD_KEY_STATUS, current_stat(&s, now));
        md_json_set_str(cert, MD_KEY_SHA256_FP, md_ocsp_cert_sha256(e->ocert));
        json_object_set_new(o, MD_KEY_CERT, cert);
        md_json_set_str(o, MD_KEY_URL, md_ocsp_cert_responder(e->ocert));
        if (s.has) {
            json_object_set_new(o, MD_KEY_VALID, valid_json(&s, p));
            md_json_set_str(o, MD_KEY_RENEW_AT, md_time_format_http(s.renew_at, p));
        }
        if ((!s.has || s.renew_at <= now || !md_ocsp_is_current(s.valid_from, s.valid_until,
                                                                 now))
            && (renewal = renewal_json(reg, e->mdname, 0, p))) {
            json_object_set(o, MD_KEY_RENEWAL, renewal);
        }
        json_array_append_new(list, o);
    }
    return j;
}

/* The first entry of mdname in the sealed (sorted) table, or nelts. */
static int first_of(const md_ocsp_reg_t *reg, const char *mdname)
{
    int lo = 0;
    int hi = reg->entries->nelts;

    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (strcmp(ENTRY(reg, mid)->mdname, mdname) < 0) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    return lo;
}

int md_ocsp_reg_md_revoked(md_ocsp_reg_t *reg, const char *mdname, apr_time_t now)
{
    int i;

    if (!reg || !mdname || !reg->sealed) {
        return 0;
    }
    /* Asked for every MD by every renewal pass: no scan of all entries. */
    for (i = first_of(reg, mdname);
         i < reg->entries->nelts && !strcmp(ENTRY(reg, i)->mdname, mdname); ++i) {
        entry_t *e = ENTRY(reg, i);
        snap_t s;

        entry_sync(e, now);
        entry_snap(e, &s);
        if (s.has && s.stat == MD_OCSP_STAT_REVOKED
            && md_ocsp_is_current(s.valid_from, s.valid_until, now)) {
            return 1;
        }
    }
    return 0;
}

apr_time_t md_ocsp_reg_next_renewal(md_ocsp_reg_t *reg, apr_time_t now)
{
    apr_time_t next = 0;
    int i;

    for (i = 0; reg && i < reg->entries->nelts; ++i) {
        entry_t *e = ENTRY(reg, i);
        snap_t s;

        entry_sync(e, now);
        entry_snap(e, &s);
        if (s.has) {
            next = earliest(next, s.renew_at);
        }
    }
    return next;
}
