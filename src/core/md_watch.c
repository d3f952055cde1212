/* The watchdog's work per MD besides renewing: ARI windows and the admin's
 * programs (see md_watch.h). */
#include <string.h>

#include <apr_atomic.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "md_acme.h"
#include "md_ari.h"
#include "md_credmemo.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_notify.h"
#include "md_reg.h"
#include "md_sched.h"
#include "md_time.h"
#include "md_util.h"
#include "md_watch.h"

/* How often an MD inside its warn window is looked at again; the message
 * itself is limited to once a day by md_notify. */
#define EXPIRING_RECHECK apr_time_from_sec(MD_SECS_PER_HOUR)

/* The ARI state of one live certificate. Fixed size: the watchdog runs for
 * months, updating this must not allocate. */
typedef struct {
    const char *spec_name;
    const char *id;                 /* ARI cert id, from the parent */
    apr_time_t start;               /* window, 0 while unknown */
    apr_time_t end;
    apr_time_t renew_at;            /* picked in the window */
    apr_time_t next_poll;           /* when to ask the CA again, 0: now */
    char explanation[MD_ARI_EXPLANATION_MAX];
} watch_cert_t;

typedef struct {
    const char *name;
    apr_array_header_t *certs;      /* watch_cert_t, live certificates with an id */
    int ari_loaded;                 /* ari.json read by this child */
    int installed_told;
    int notify_checked;             /* pending notifications looked at after start */
    volatile apr_uint32_t notify_failed; /* set by md_watch_event on any thread */
    apr_time_t notify_next;         /* next pending retry, 0: none */
    apr_time_t expiring_next;
    apr_time_t ari_renew_at;        /* earliest renew_at of certs, 0: no window */
    apr_time_t lease_wait;          /* another server holds the MD's lease: not
                                     * before this */
} watch_md_t;

/* What a CA's directory said about ARI, so a pass over many MDs reads each
 * directory once (and again after MD_ARI_POLL_DEF), not once per MD. */
typedef struct {
    const char *renewal_info;       /* NULL: the CA offers no ARI */
    apr_time_t checked;
} watch_ca_t;

struct md_watch_t {
    apr_pool_t *p;
    md_store_t *store;              /* a view's: the fenced view of a lease */
    apr_interval_time_t lease_time;
    md_watch_lease_keep_fn *lease_keep;
    md_watch_lease_drop_fn *lease_drop;
    void *lease_baton;
    const char *ca_file;
    md_notify_t *notify;
    apr_hash_t *mds;                /* name -> watch_md_t */
    apr_hash_t *cas;                /* directory URL -> watch_ca_t (watchdog thread) */
};

typedef struct {
    md_watch_t *w;
    const char *mdname;
    md_job_t *job;                  /* of the drive, or NULL */
} hook_ctx_t;

/* --- start-up (parent) ------------------------------------------------------ */

static void note_certs(md_watch_t *w, watch_md_t *wm, const md_reg_state_t *st, apr_pool_t *p)
{
    const apr_array_header_t *specs = md_pkey_specs(st->md, p);
    apr_array_header_t *chain;
    const char *id;
    int i;

    if (st->live_certs) {
        /* the assessment has them: no second parse */
        for (i = 0; i < st->live_certs->nelts; ++i) {
            const md_live_cert_t *lc = MD_ARR_IDX(st->live_certs, i, const md_live_cert_t *);
            watch_cert_t *wc;

            if (lc->ari_id) {
                wc = apr_array_push(wm->certs);
                memset(wc, 0, sizeof(*wc));
                wc->spec_name = apr_pstrdup(w->p, lc->spec_name);
                wc->id = apr_pstrdup(w->p, lc->ari_id);
            }
        }
        return;
    }
    for (i = 0; i < specs->nelts; ++i) {
        const md_pkey_spec_t *spec = MD_ARR_IDX(specs, i, const md_pkey_spec_t *);
        watch_cert_t *wc;

        if (md_store_load_certs(w->store, MD_SG_DOMAINS, st->md->name,
                                md_reg_cert_fname(spec, p), &chain, p) != APR_SUCCESS
            || chain->nelts < 1
            || md_ari_cert_id(&id, MD_ARR_IDX(chain, 0, const md_cert_t *), p)
               != APR_SUCCESS) {
            continue;
        }
        wc = apr_array_push(wm->certs);
        memset(wc, 0, sizeof(*wc));
        wc->spec_name = apr_pstrdup(w->p, md_pkey_spec_name(spec));
        wc->id = apr_pstrdup(w->p, id);
    }
}

md_watch_t *md_watch_create(apr_pool_t *p, md_store_t *store, const apr_array_header_t *states,
                            const md_watch_cfg_t *cfg)
{
    md_watch_t *w = apr_pcalloc(p, sizeof(*w));
    apr_pool_t *ptemp;
    int i;

    w->p = p;
    w->store = store;
    w->lease_time = cfg && cfg->lease_time > 0 ? cfg->lease_time : MD_WATCH_LEASE_DEF;
    if (cfg && cfg->lease_keep && cfg->lease_drop) {
        w->lease_keep = cfg->lease_keep;
        w->lease_drop = cfg->lease_drop;
        w->lease_baton = cfg->lease_baton;
    }
    w->ca_file = cfg && cfg->ca_file ? apr_pstrdup(p, cfg->ca_file) : NULL;
    w->notify = md_notify_create(p, store, cfg ? cfg->notify_argv : NULL,
                                 cfg ? cfg->message_argv : NULL);
    if (cfg && cfg->notify_timeout > 0) {
        md_notify_set_timeout(w->notify, cfg->notify_timeout);
    }
    if (cfg && cfg->program_root) {
        md_notify_set_root(w->notify, apr_pstrdup(p, cfg->program_root));
    }
    w->mds = apr_hash_make(p);
    w->cas = apr_hash_make(p);
    if (apr_pool_create(&ptemp, p) != APR_SUCCESS) {
        return w;
    }
    for (i = 0; states && i < states->nelts; ++i) {
        const md_reg_state_t *st = MD_ARR_IDX(states, i, const md_reg_state_t *);
        watch_md_t *wm = apr_pcalloc(p, sizeof(*wm));

        wm->name = apr_pstrdup(p, st->md->name);
        wm->certs = apr_array_make(p, 1, sizeof(watch_cert_t));
        if (st->has_cert && st->md->ari_renewals) {
            note_certs(w, wm, st, ptemp);
            apr_pool_clear(ptemp);
        }
        apr_hash_set(w->mds, wm->name, APR_HASH_KEY_STRING, wm);
    }
    apr_pool_destroy(ptemp);
    return w;
}

static watch_md_t *watch_md(const md_watch_t *w, const char *name)
{
    return w && name ? apr_hash_get(w->mds, name, APR_HASH_KEY_STRING) : NULL;
}

md_watch_t *md_watch_for_store(md_watch_t *w, md_store_t *store, apr_pool_t *p)
{
    md_watch_t *v;

    if (!w || store == w->store) {
        return w;
    }
    v = apr_pmemdup(p, w, sizeof(*w));
    v->store = store;
    v->notify = md_notify_for_store(w->notify, store, p);
    return v;
}

/* --- notifications ------------------------------------------------------------ */

int md_watch_notifies(const md_watch_t *w)
{
    return w && md_notify_configured(w->notify);
}

apr_status_t md_watch_event(md_watch_t *w, const char *mdname, const char *reason,
                            const char *key, md_result_t *result, apr_pool_t *p)
{
    return md_watch_event_ex(w, mdname, reason, key, NULL, result, p);
}

apr_status_t md_watch_event_ex(md_watch_t *w, const char *mdname, const char *reason,
                               const char *key, int *pwhat, md_result_t *result, apr_pool_t *p)
{
    watch_md_t *wm;
    apr_status_t rv;

    if (pwhat) {
        *pwhat = 0;
    }
    if (!w) {
        return APR_SUCCESS;
    }
    rv = md_notify_event_ex(w->notify, mdname, reason, key, pwhat, result, p);
    if (rv != APR_SUCCESS && (wm = watch_md(w, mdname))) {
        /* The pass looks at the pending state on its thread. */
        apr_atomic_set32(&wm->notify_failed, 1);
    }
    return rv;
}

static apr_status_t challenge_setup(void *baton, const char *type, const char *domain,
                                    md_result_t *result, apr_pool_t *p)
{
    hook_ctx_t *ctx = baton;
    const char *reason = apr_psprintf(p, "%s:%s:%s", MD_NOTIFY_CHALLENGE_SETUP, type, domain);
    md_result_t *r = md_result_make(p, ctx->mdname);
    apr_status_t rv;
    int what = 0;

    rv = md_watch_event_ex(ctx->w, ctx->mdname, reason, NULL, &what, r, p);
    if (ctx->job) {
        md_job_notified(ctx->job, reason, what, r);
    }
    if (rv != APR_SUCCESS) {
        md_result_problem_set(result, rv, r->problem,
                              apr_psprintf(p, "%s: the challenge was not handed to the CA: %s",
                                           domain, r->detail ? r->detail : "MDMessageCmd failed"),
                              NULL);
    }
    return rv;
}

void md_watch_attach(md_watch_t *w, md_acme_t *acme, const char *mdname, md_job_t *job,
                     apr_pool_t *p)
{
    hook_ctx_t *ctx;

    if (!w || !md_notify_configured(w->notify)) {
        return;
    }
    ctx = apr_pcalloc(p, sizeof(*ctx));
    ctx->w = w;
    ctx->mdname = apr_pstrdup(p, mdname);
    ctx->job = job;
    acme->on_challenge_setup = challenge_setup;
    acme->on_challenge_setup_baton = ctx;
}

/* An event of the pass (installed, expiring) told to the admin's programs,
 * recorded in the MD's job log as the stock module records it. Returns
 * what telling did. */
static apr_status_t tell(md_watch_t *w, watch_md_t *wm, const char *reason, const char *key,
                         apr_pool_t *p)
{
    md_result_t *result = md_result_make(p, wm->name);
    md_job_t *job;
    apr_status_t rv;
    int what = 0;

    rv = md_watch_event_ex(w, wm->name, reason, key, &what, result, p);
    if (what) {
        job = md_job_create(p, wm->name);
        md_job_load(job, w->store, p);
        md_job_notified(job, reason, what, result);
        md_job_save(job, w->store, p);
    }
    return rv;
}

/* A retried notification (md_notify_retry) recorded in the MD's job, as
 * the first attempt was: a "renewed" that works now sets job.json's
 * notified flags back to true. Only the job of the certificate it was
 * about: after activation (no staged job) or a newer renewal, nothing. */
static void job_retried(void *baton, const char *mdname, const char *reason, const char *key,
                        int what, const md_result_t *result, apr_pool_t *p)
{
    md_watch_t *w = baton;
    md_job_t *job = md_job_create(p, mdname);

    if (md_job_load(job, w->store, p) != APR_SUCCESS) {
        return;
    }
    if (!strcmp(reason, MD_NOTIFY_RENEWED)
        && (!key || !job->valid_from || strcmp(key, md_time_format_http(job->valid_from, p)))) {
        return;
    }
    md_job_notified(job, reason, what, (what & (MD_NOTIFY_FAILED_MSG | MD_NOTIFY_FAILED_NOTIFY))
                                       ? result : NULL);
    if (md_job_save(job, w->store, p) != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, 0, p, "MD20006: %s: recording the "
                      "retried '%s' notification in job.json failed", mdname, reason);
    }
}

static void notify_pass(md_watch_t *w, watch_md_t *wm, const md_reg_state_t *st,
                        apr_time_t now, apr_pool_t *p)
{
    apr_time_t warn_at;

    if (!md_notify_configured(w->notify)) {
        return;
    }
    if (apr_atomic_xchg32(&wm->notify_failed, 0)
        || (wm->notify_next && wm->notify_next <= now)) {
        md_notify_retry(w->notify, wm->name, &wm->notify_next, job_retried, w, p);
    }
    if (st->activated && st->has_cert && !wm->installed_told) {
        /* The parent made it live at this start; it must not block on a
         * program, so the child tells. Once per certificate, also across
         * restarts of this child. */
        wm->installed_told = 1;
        if (tell(w, wm, MD_NOTIFY_INSTALLED, md_time_format_http(st->valid_from, p), p)
            != APR_SUCCESS) {
            md_notify_retry(w->notify, wm->name, &wm->notify_next, job_retried, w, p);
        }
    }
    /* Also for MDs not renewed here (manual, static files): their admin
     * needs to know all the more, as the stock module tells. */
    if (st->has_cert && now >= wm->expiring_next) {
        if (md_sched_warn_due(st, now, &warn_at)) {
            wm->expiring_next = now + EXPIRING_RECHECK;
            tell(w, wm, MD_NOTIFY_EXPIRING, NULL, p);
        }
        else {
            wm->expiring_next = warn_at;
        }
    }
}

/* --- ARI ---------------------------------------------------------------------- */

static int ari_active(const watch_md_t *wm, const md_reg_state_t *st)
{
    return wm && md_sched_ari_applies(st) && wm->certs->nelts > 0;
}

static void ari_recompute(watch_md_t *wm)
{
    int i;

    wm->ari_renew_at = 0;
    for (i = 0; i < wm->certs->nelts; ++i) {
        const watch_cert_t *wc = &APR_ARRAY_IDX(wm->certs, i, watch_cert_t);
        if (wc->end > 0 && (!wm->ari_renew_at || wc->renew_at < wm->ari_renew_at)) {
            wm->ari_renew_at = wc->renew_at;
        }
    }
}

static apr_time_t json_time(const json_t *j, const char *key)
{
    const char *s = md_json_get_str(j, key);
    return s ? md_time_parse_http(s) : 0;
}

static void json_time_set(json_t *j, const char *key, apr_time_t t, apr_pool_t *p)
{
    if (t > 0) {
        md_json_set_str(j, key, md_time_format_http(t, p));
    }
}

/* What an earlier child learnt, so a restart does not ask again before the
 * CA's Retry-After. Entries for other certificates are ignored. */
static void ari_load(md_watch_t *w, watch_md_t *wm, apr_pool_t *p)
{
    json_t *j = NULL;
    const json_t *certs;
    const json_t *e;
    const char *s;
    size_t k;
    int i;

    wm->ari_loaded = 1;
    if (md_store_load_json(w->store, MD_SG_STAGING, wm->name, MD_FN_ARI, &j, p) != APR_SUCCESS
        || !(certs = md_json_get_array(j, MD_ARI_KEY_CERTS))) {
        return;
    }
    json_array_foreach(certs, k, e) {
        const char *id = md_json_get_str(e, MD_ARI_KEY_ID);
        for (i = 0; id && i < wm->certs->nelts; ++i) {
            watch_cert_t *wc = &APR_ARRAY_IDX(wm->certs, i, watch_cert_t);
            if (strcmp(wc->id, id)) {
                continue;
            }
            wc->start = json_time(e, MD_KEY_START);
            wc->end = json_time(e, MD_KEY_END);
            wc->renew_at = json_time(e, MD_ARI_KEY_RENEW_AT);
            wc->next_poll = json_time(e, MD_ARI_KEY_NEXT_POLL);
            s = md_json_get_str(e, MD_KEY_EXPLANATION_URL);
            apr_cpystrn(wc->explanation, s ? s : "", sizeof(wc->explanation));
            if (wc->end <= wc->start) {
                wc->start = wc->end = wc->renew_at = 0;
            }
        }
    }
    ari_recompute(wm);
}

static void ari_save(md_watch_t *w, watch_md_t *wm, apr_pool_t *p)
{
    json_t *j = md_json_pool_own(p, json_object());
    json_t *certs = json_array();
    int i;

    json_object_set_new(j, MD_ARI_KEY_CERTS, certs);
    for (i = 0; i < wm->certs->nelts; ++i) {
        const watch_cert_t *wc = &APR_ARRAY_IDX(wm->certs, i, watch_cert_t);
        json_t *e = json_object();

        md_json_set_str(e, MD_ARI_KEY_ID, wc->id);
        json_time_set(e, MD_KEY_START, wc->start, p);
        json_time_set(e, MD_KEY_END, wc->end, p);
        json_time_set(e, MD_ARI_KEY_RENEW_AT, wc->renew_at, p);
        json_time_set(e, MD_ARI_KEY_NEXT_POLL, wc->next_poll, p);
        if (wc->explanation[0]) {
            md_json_set_str(e, MD_KEY_EXPLANATION_URL, wc->explanation);
        }
        json_array_append_new(certs, e);
    }
    if (md_store_save_json(w->store, MD_SG_STAGING, wm->name, MD_FN_ARI, j, p)
        != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, 0, p,
                      "MD20001: %s: saving the renewal windows to staging failed", wm->name);
    }
}

static void ari_update(watch_md_t *wm, watch_cert_t *wc, const md_ari_window_t *win,
                       apr_time_t now, apr_pool_t *p)
{
    wc->next_poll = win->next_poll;
    if (win->start == wc->start && win->end == wc->end) {
        return;   /* the same window: keep the time picked in it */
    }
    wc->start = win->start;
    wc->end = win->end;
    apr_cpystrn(wc->explanation, win->explanation ? win->explanation : "",
                sizeof(wc->explanation));
    /* RFC 9773 §4.2: a random time inside the window; one in the past
     * means now. */
    wc->renew_at = win->end <= now ? now : md_ari_pick_time(win->start, win->end);
    md_log_perror(MD_LOG_MARK, wc->renew_at <= now ? MD_LOG_NOTICE : MD_LOG_INFO, 0, p,
                  "MD20002: %s: the CA suggests renewing the %s certificate between %s and "
                  "%s%s%s; renewal %s %s", wm->name, wc->spec_name,
                  md_time_format_http(win->start, p), md_time_format_http(win->end, p),
                  wc->explanation[0] ? ", see " : "",
                  md_util_str_printable(p, wc->explanation, 0),
                  wc->renew_at <= now ? "is due now," : "is planned for",
                  wc->renew_at <= now ? "" : md_time_format_http(wc->renew_at, p));
}

/* Set acme->url_renewal_info from the CA's directory, read at most once per
 * MD_ARI_POLL_DEF for all MDs of that CA. */
static apr_status_t ca_renewal_info(md_watch_t *w, md_acme_t *acme, apr_time_t now,
                                    md_result_t *result)
{
    watch_ca_t *ca = apr_hash_get(w->cas, acme->url, APR_HASH_KEY_STRING);
    apr_status_t rv;

    if (!ca) {
        ca = apr_pcalloc(w->p, sizeof(*ca));
        apr_hash_set(w->cas, apr_pstrdup(w->p, acme->url), APR_HASH_KEY_STRING, ca);
    }
    if (ca->checked && now - ca->checked < MD_ARI_POLL_DEF) {
        acme->url_renewal_info = ca->renewal_info;
        return APR_SUCCESS;
    }
    if ((rv = md_acme_setup(acme, result)) != APR_SUCCESS) {
        return rv;
    }
    ca->checked = now;
    if (!acme->url_renewal_info) {
        ca->renewal_info = NULL;
    }
    else if (!ca->renewal_info || strcmp(ca->renewal_info, acme->url_renewal_info)) {
        /* Grows only when a CA changes its URL: bounded for all practical use. */
        ca->renewal_info = apr_pstrdup(w->p, acme->url_renewal_info);
    }
    return APR_SUCCESS;
}

static void ari_pass(md_watch_t *w, watch_md_t *wm, const md_reg_state_t *st, apr_time_t now,
                     apr_pool_t *p)
{
    const md_t *md = st->md;
    const char *ca_url = md->ca_effective ? md->ca_effective
                                          : MD_ARR_IDX(md->ca_urls, 0, const char *);
    md_result_t *result;
    md_acme_t *acme = NULL;
    md_ari_window_t win;
    int i;
    int due = 0;
    apr_status_t rv;

    if (!wm->ari_loaded || w->store->shared) {
        /* In a cluster, another server may have asked meanwhile. */
        ari_load(w, wm, p);
    }
    for (i = 0; i < wm->certs->nelts; ++i) {
        due += APR_ARRAY_IDX(wm->certs, i, watch_cert_t).next_poll <= now;
    }
    if (!due) {
        return;
    }
    result = md_result_make(p, md->name);
    rv = md_acme_create(&acme, p, ca_url, w->ca_file, NULL);
    if (rv == APR_SUCCESS) {
        md_acme_set_proxy(acme, md->http_proxy, md->http_proxy_ca_file);
        rv = ca_renewal_info(w, acme, now, result);
    }
    for (i = 0; i < wm->certs->nelts; ++i) {
        watch_cert_t *wc = &APR_ARRAY_IDX(wm->certs, i, watch_cert_t);

        if (wc->next_poll > now) {
            continue;
        }
        if (rv == APR_SUCCESS && !acme->url_renewal_info) {
            /* The CA has no ARI (yet): look at its directory again later. */
            md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, "MD20003: %s: the CA at %s offers "
                          "no renewal information", md->name, ca_url);
            wc->next_poll = now + MD_ARI_POLL_DEF;
            continue;
        }
        if (rv == APR_SUCCESS) {
            md_result_reset(result);
            memset(&win, 0, sizeof(win));
            if (md_ari_fetch(&win, acme, wc->id, result, p) == APR_SUCCESS) {
                ari_update(wm, wc, &win, now, p);
                continue;
            }
        }
        /* Keep what we knew; the CA may say when to come back. */
        md_log_perror(MD_LOG_MARK, MD_LOG_INFO, result->status, p, "MD20004: %s: asking the CA "
                      "for the renewal window of the %s certificate failed: %s", md->name,
                      wc->spec_name, result->detail ? result->detail : "");
        wc->next_poll = result->retry_after > now + MD_ARI_POLL_ERR
                        ? md_ari_next_poll(result->retry_after, now) : now + MD_ARI_POLL_ERR;
    }
    ari_recompute(wm);
    ari_save(w, wm, p);
}

/* --- the pass ------------------------------------------------------------------ */

/* Has notify_pass something to run or write? Reading what it needs to
 * know (pending retries, the warn window) needs no lease, so a server that
 * starts takes none for MDs with nothing to tell. */
static int notify_due(md_watch_t *w, watch_md_t *wm, const md_reg_state_t *st,
                      apr_time_t now, apr_pool_t *p)
{
    apr_time_t warn_at;

    if (!md_notify_configured(w->notify)) {
        return 0;
    }
    if (!wm->notify_checked) {
        wm->notify_checked = 1;
        wm->notify_next = md_notify_pending_next(w->notify, wm->name, p);
    }
    if (st->has_cert && now >= wm->expiring_next && !md_sched_warn_due(st, now, &warn_at)) {
        wm->expiring_next = warn_at;
    }
    return apr_atomic_read32(&wm->notify_failed)
           || (wm->notify_next && wm->notify_next <= now)
           || (st->activated && st->has_cert && !wm->installed_told)
           || (st->has_cert && now >= wm->expiring_next);
}

/* The same for ARI; the windows an earlier child learnt are read first. */
static int ari_due(md_watch_t *w, watch_md_t *wm, apr_time_t now, apr_pool_t *p)
{
    int i;

    if (!wm->ari_loaded) {
        ari_load(w, wm, p);
    }
    for (i = 0; i < wm->certs->nelts; ++i) {
        if (APR_ARRAY_IDX(wm->certs, i, watch_cert_t).next_poll <= now) {
            return 1;
        }
    }
    return 0;
}

void md_watch_pass(md_watch_t *w, const md_reg_state_t *st, apr_pool_t *ptemp)
{
    watch_md_t *wm = watch_md(w, st ? st->md->name : NULL);
    apr_time_t now = apr_time_now();
    md_store_lease_t *lease = NULL;
    md_store_t *fenced = NULL;
    md_watch_t *v;
    void *kept;
    int ari;
    apr_status_t rv;

    if (!wm || now < wm->lease_wait) {
        return;
    }
    ari = ari_active(wm, st) && ari_due(w, wm, now, ptemp);
    if (!notify_due(w, wm, st, now, ptemp) && !ari) {
        return;
    }
    /* As a renewal: one server at a time, and its writes fenced. A store
     * of one server grants it at once and is its own fenced view. */
    rv = md_store_lease_acquire(w->store, wm->name, w->lease_time, &lease, ptemp);
    if (rv == APR_SUCCESS) {
        rv = md_store_fence(w->store, lease, &fenced, ptemp);
    }
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, ptemp, "MD20007: %s: %s, looking at "
                      "its notifications and renewal window later", wm->name,
                      rv == APR_EAGAIN ? apr_psprintf(ptemp, "%s works on it",
                                                      lease && lease->node ? lease->node
                                                      : "another server")
                                       : "its lease cannot be taken now");
        wm->lease_wait = now + w->lease_time;
        if (lease && lease->mine) {
            md_store_lease_release(w->store, lease, ptemp);
        }
        return;
    }
    /* A program may run longer than the lease: were it to run out, another
     * server would take over and tell the admin again. */
    kept = w->lease_keep ? w->lease_keep(w->lease_baton, w->store, lease, ptemp) : NULL;
    v = md_watch_for_store(w, fenced, ptemp);
    notify_pass(v, wm, st, now, ptemp);
    if (ari) {
        ari_pass(v, wm, st, now, ptemp);
    }
    if (kept) {
        w->lease_drop(w->lease_baton, kept);
    }
    md_store_lease_release(w->store, lease, ptemp);
}

apr_time_t md_watch_ari_at(const md_watch_t *w, const md_reg_state_t *st)
{
    const watch_md_t *wm = watch_md(w, st->md->name);

    return ari_active(wm, st) ? wm->ari_renew_at : 0;
}

apr_time_t md_watch_next_run(const md_watch_t *w)
{
    apr_hash_index_t *hi;
    apr_time_t next = 0;
    int i;

    if (!w) {
        return 0;
    }
    for (hi = apr_hash_first(NULL, w->mds); hi; hi = apr_hash_next(hi)) {
        const watch_md_t *wm = apr_hash_this_val(hi);
        apr_time_t first = wm->notify_next;

        for (i = 0; wm->ari_loaded && i < wm->certs->nelts; ++i) {
            apr_time_t t = APR_ARRAY_IDX(wm->certs, i, watch_cert_t).next_poll;
            if (t && (!first || t < first)) {
                first = t;
            }
        }
        /* Not before another server's lease on it may have run out. */
        if (first && first < wm->lease_wait) {
            first = wm->lease_wait;
        }
        if (first && (!next || first < next)) {
            next = first;
        }
    }
    return next;
}

/* --- newOrder options --------------------------------------------------------- */

apr_status_t md_watch_order_opts(md_acme_order_opts_t *opts, const md_watch_t *w,
                                 const md_acme_t *acme, const md_t *md,
                                 const md_pkey_spec_t *spec, md_result_t *result,
                                 apr_pool_t *p)
{
    const watch_md_t *wm;
    const char *name;
    int i;

    memset(opts, 0, sizeof(*opts));
    if (md->profile) {
        if (md_acme_profile_offered(acme, md->profile)) {
            opts->profile = md->profile;
        }
        else if (md->profile_mandatory) {
            md_result_printf(result, APR_EINVAL, "the CA at %s does not offer the profile "
                             "'%s' (it offers: %s) and MDProfileMandatory is on", acme->url,
                             md->profile, acme->profiles && acme->profiles->nelts
                             ? md_array_str_join(acme->profiles, ", ", p) : "none");
            return APR_EINVAL;
        }
        else {
            md_log_perror(MD_LOG_MARK, MD_LOG_INFO, 0, p, "MD20005: %s: the CA at %s does not "
                          "offer the profile '%s', ordering without one", md->name, acme->url,
                          md->profile);
        }
    }
    /* RFC 9773 §5: "replaces" only where ARI is in use. */
    if (!md->ari_renewals || !acme->url_renewal_info || !(wm = watch_md(w, md->name))) {
        return APR_SUCCESS;
    }
    name = md_pkey_spec_name(spec);
    for (i = 0; i < wm->certs->nelts; ++i) {
        const watch_cert_t *wc = &APR_ARRAY_IDX(wm->certs, i, watch_cert_t);
        if (!strcmp(wc->spec_name, name)) {
            opts->replaces = wc->id;
            break;
        }
    }
    return APR_SUCCESS;
}
