/* Background renewal: a singleton mod_watchdog callback in one child.
 *
 * The callback (the "pass") looks at every MD the parent assessed at
 * start-up, and hands those that are due to a pool of worker threads, at
 * most MDParallelRenewals at once. Each worker drives one MD with its own
 * pool, HTTP client and ACME session (md_drive_renew); the workers share
 * the store, the account selection and the directories (md_drive_share.h).
 * The pass orders nothing itself, so a slow CA holds up nothing but its
 * MDs; its only network use is asking for ARI windows (md_watch_pass),
 * never while it holds the mutex.
 *
 * Nothing here activates a certificate: the parent does that on the next
 * graceful restart, which it makes by itself with MDActivationAuto on
 * (mod_md_activate.c) once the workers' job.json say "finished".
 *
 * Threads: the watchdog thread runs the pass; workers run drive_task. The
 * items' mutable fields and ctx->running are guarded by ctx->mutex. A
 * worker owns its item while item->busy is set: the pass leaves it alone.
 *
 * Generations: a graceful restart starts a new child while the old one
 * may still finish an order (a child that exits waits for its orders in
 * progress). The old child holds an fcntl lock on
 * <DefaultRuntimeDir>/mod_md-renew.lock as long as it drives; the new one
 * starts driving only once it gets that lock, so two children never work
 * on one MD's staging at the same time.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include <httpd.h>
#include <http_config.h>
#include <http_main.h>
#include <http_log.h>
#include <mod_watchdog.h>
#include <unixd.h>
#include <unistd.h>

#include "md_acme_revoke.h"
#include "md_crypt.h"
#include "md_drive.h"
#include "md_job.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_result.h"
#include "md_sched.h"
#include "md_time.h"
#include "md_util.h"
#include "md_watch.h"
#include "md_workers.h"
#include "mod_md_cluster.h"
#include "mod_md_config.h"
#include "mod_md_drive.h"
#include "mod_md_ocsp.h"
#include "mod_md_runtime.h"
#include "mod_md_watchdog.h"

APLOG_USE_MODULE(md);

#define MD_WATCHDOG_NAME        "_md_renew_"
#define MD_LOCK_FILE            "mod_md-renew.lock"
/* How often to try the lock while an older child still drives. */
#define MD_PASS_LOCKED          apr_time_from_sec(1)
#define MD_DNS01_TIMEOUT        apr_time_from_sec(120)
/* Nice levels of the renewal workers below the child's request threads. */
#define MD_RENEW_NICE           10

typedef mod_md_drive_t drive_ctx_t;

typedef struct {
    drive_ctx_t *ctx;
    md_reg_state_t *state;      /* read-only */
    /* guarded by ctx->mutex: */
    int busy;                   /* queued for or driven by a worker */
    int loaded;                 /* job is what the store says */
    md_sched_job_t job;         /* staged, failed attempts, next run */
    md_sched_why_t why;         /* why it was queued (md_sched_decide) */
    int expiring_logged;
    int revoked;                /* a2md revoked the live certificate: renew now */
} drive_item_t;

struct mod_md_drive_t {
    mod_md_runtime_t *rt;       /* the generation's */
    server_rec *s;
    apr_pool_t *p;              /* pconf: items, read-only in the child */
    mod_md_watchdog_t wd;       /* the watchdog task (and its thread at exit) */
    md_drive_env_t env;
    apr_array_header_t *items;  /* drive_item_t */
    int parallel;               /* MDParallelRenewals */
    apr_interval_time_t check_interval;
    apr_interval_time_t initial_delay;
    apr_interval_time_t retry_delay;
    int activation_auto;
    apr_interval_time_t activation_delay;
    apr_time_t next_pass;       /* of the full pass; between passes only the
                                 * revocation markers are looked at */
    int revoke_watch;           /* some MD is renewed by the server (not manual) */
    apr_file_t *lock_file;      /* opened by the parent, locked by the child */
    int have_lock;
    int lock_wait_logged;
    /* created by the first pass in the child: */
    apr_pool_t *wp;             /* own allocator, the watchdog thread's only:
                                 * mutex, share, workers (md_workers.h) */
    apr_thread_mutex_t *mutex;
    md_workers_t *workers;
    int running;                /* drives in progress, guarded by mutex */
    int stopping;               /* no more passes or drives; set under mutex */
    volatile apr_uint32_t stop_state; /* 0 running, 1 stopping, 2 stopped */
};

/* --- the workers ---------------------------------------------------------- */

static const char *staged_advice(const drive_ctx_t *ctx, apr_pool_t *p)
{
    if (!ctx->activation_auto) {
        return "; restart the server gracefully (apachectl graceful) to use it "
               "(MDActivationAuto off)";
    }
    if (ctx->activation_delay > 0) {
        return apr_psprintf(p, ", which the server does by itself once the certificate "
                            "has been valid for %s (MDActivationDelay)",
                            md_duration_print(ctx->activation_delay, p));
    }
    return ", which the server does by itself shortly (MDActivationAuto)";
}

static void log_outcome(drive_ctx_t *ctx, const md_t *md, const md_job_t *job,
                        const md_result_t *result, apr_status_t rv, apr_pool_t *p)
{
    if (rv == APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ctx->s,
                     "MD12002: %s: a new certificate has been obtained and staged, it "
                     "will be activated on the next graceful restart%s", md->name,
                     staged_advice(ctx, p));
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, ctx->s,
                     "MD12003: %s: getting a certificate failed (attempt %d), retrying in "
                     "%s: %s", md->name, job->errors,
                     md_duration_print(job->next_run - apr_time_now(), p),
                     md_result_to_string(result, p));
    }
}

static void drive_task(void *data)
{
    drive_item_t *item = data;
    drive_ctx_t *ctx = item->ctx;
    const md_t *md = item->state->md;
    md_drive_env_t env = ctx->env;      /* with the MD's own store view */
    mod_md_cluster_drive_t *cd = NULL;
    apr_time_t retry_at = 0;
    int finished_elsewhere = 0;
    md_result_t *result;
    md_job_t *job;
    apr_pool_t *p;
    apr_status_t rv;
    int running;
    int revoked;

    apr_thread_mutex_lock(ctx->mutex);
    /* A root pool: the workers must not share an allocator. */
    if (ctx->stopping || apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS) {
        item->busy = 0;
        apr_thread_mutex_unlock(ctx->mutex);
        return;
    }
    running = ++ctx->running;
    revoked = item->revoked;
    apr_thread_mutex_unlock(ctx->mutex);

    /* A store shared by a cluster: only the holder of the MD's lease drives
     * it, through a view whose writes fail once the lease is taken over. */
    if (mod_md_cluster_drive_begin(&cd, &env.store, ctx->rt, item->state,
                                   &finished_elsewhere, &retry_at, p) != APR_SUCCESS) {
        apr_thread_mutex_lock(ctx->mutex);
        item->loaded = 1;
        item->job.finished = finished_elsewhere;
        item->job.next_run = retry_at;
        item->busy = 0;
        --ctx->running;
        apr_thread_mutex_unlock(ctx->mutex);
        apr_pool_destroy(p);
        return;
    }
    /* The admin's programs' state, too, is written under the lease. */
    env.watch = md_watch_for_store(ctx->env.watch, env.store, p);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, ctx->s,
                 "MD12001: %s: %s, getting a new certificate (%d of at most %d renewals "
                 "running)", md->name, item->state->has_cert
                 ? apr_psprintf(p, "renewal is due (%s)", md_sched_why_name(item->why))
                 : "no certificate yet", running, ctx->parallel);
    job = md_job_create(p, md->name);
    md_job_load(job, env.store, p);
    job->retry_base = ctx->retry_delay;
    result = md_result_make(p, md->name);
    /* A revoked certificate is replaced for every key type. */
    rv = md_drive_renew(&env, md, revoked ? NULL
                        : md_reg_specs_to_renew(item->state, apr_time_now()), job, result, p);
    log_outcome(ctx, md, job, result, rv, p);
    mod_md_cluster_drive_end(cd);

    apr_thread_mutex_lock(ctx->mutex);
    item->loaded = 1;
    item->job.finished = job->finished;
    item->job.errors = job->errors;
    item->job.next_run = job->next_run;
    item->busy = 0;
    --ctx->running;
    apr_thread_mutex_unlock(ctx->mutex);
    apr_pool_destroy(p);
}

/* --- the pass --------------------------------------------------------------- */

/* With ctx->mutex held: read what job.json says about an MD the first
 * time its certificate makes it a candidate. */
static void item_load(drive_item_t *item, md_store_t *store, apr_pool_t *ptemp)
{
    md_job_t *job = md_job_create(ptemp, item->state->md->name);

    if (md_job_load(job, store, ptemp) == APR_SUCCESS) {
        item->job.finished = job->finished;
        item->job.errors = job->errors;
        item->job.next_run = job->next_run;
        if (item->job.finished && !md_reg_staged_complete(store, job->mdname, ptemp)) {
            /* Nothing there to activate: never wait for it. */
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, item->ctx->s,
                         "MD12016: %s: the job says a certificate is staged, but staging "
                         "holds none (or an unreadable md.json): renewing again",
                         job->mdname);
            item->job.finished = 0;
            item->job.next_run = 0;
        }
    }
    item->loaded = 1;
}

/* With ctx->mutex held: does this MD want a new certificate now, and if
 * not, when (*pwhen, 0 for never)? The schedule says (md_sched_decide);
 * job.json is read only when the certificate makes the MD a candidate. */
static int is_due(const drive_ctx_t *ctx, drive_item_t *item, apr_time_t now,
                  apr_time_t *pwhen, apr_pool_t *ptemp)
{
    md_sched_in_t in;
    md_sched_t sched;

    *pwhen = 0;
    if (item->busy) {
        return 0;
    }
    memset(&in, 0, sizeof(in));
    in.st = item->state;
    in.ari_at = md_watch_ari_at(ctx->env.watch, item->state);
    in.revoked = item->revoked;
    in.job = item->loaded ? &item->job : NULL;
    md_sched_decide(&sched, &in, now);
    if (sched.need_job) {
        item_load(item, ctx->env.store, ptemp);
        in.job = &item->job;
        md_sched_decide(&sched, &in, now);
    }
    *pwhen = sched.next;
    item->why = sched.why;
    return sched.due;
}

/* MDWarnWindow: say once per start that a certificate nears its end. */
static void check_expiring(drive_item_t *item, apr_time_t now, apr_time_t *pwhen,
                           server_rec *s, apr_pool_t *ptemp)
{
    const md_reg_state_t *st = item->state;

    if (item->expiring_logged || !md_sched_warn_due(st, now, pwhen)) {
        if (item->expiring_logged) {
            *pwhen = 0;
        }
        return;
    }
    item->expiring_logged = 1;
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                 "MD12011: %s: the certificate is expiring: valid until %s, in %s (inside "
                 "MDWarnWindow %s)%s", st->md->name, md_time_format_http(st->valid_until, ptemp),
                 md_duration_print(st->valid_until - now, ptemp),
                 md_timeslice_format(&st->md->warn_window, ptemp),
                 st->md->renew_mode == MD_RENEW_MANUAL ? "; MDRenewMode manual: it is not "
                 "renewed automatically" : "");
}

/* Create the workers in the child, at the first pass. */
static apr_status_t workers_start(drive_ctx_t *ctx)
{
    apr_status_t rv;

    rv = apr_pool_create_unmanaged_ex(&ctx->wp, NULL, NULL);
    if (rv == APR_SUCCESS) {
        rv = apr_thread_mutex_create(&ctx->mutex, APR_THREAD_MUTEX_DEFAULT, ctx->wp);
    }
    if (rv == APR_SUCCESS) {
        rv = md_drive_share_create(&ctx->env.share, ctx->wp);
    }
    if (rv == APR_SUCCESS) {
        mod_md_cluster_share_setup(ctx->env.share, ctx->env.store, ctx->s);
    }
    if (rv == APR_SUCCESS) {
        rv = md_workers_create(&ctx->workers, ctx->parallel, ctx->wp);
    }
    if (rv == APR_SUCCESS) {
        /* Renewals wait for nothing urgent: requests served by this child
         * (and a server coming up beside a first pass over many new MDs)
         * get the CPU first. */
        md_workers_set_nice(ctx->workers, MD_RENEW_NICE);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, ctx->s,
                     "MD12006: cannot start the renewal workers");
        if (ctx->wp) {
            apr_pool_destroy(ctx->wp);
            ctx->wp = NULL;
        }
        ctx->mutex = NULL;
        ctx->env.share = NULL;
        ctx->workers = NULL;
    }
    return rv;
}

/* Stop taking work and wait for the drives in progress: called when the
 * watchdog stops and when the child exits (whichever comes first; the other
 * waits for it), so an order in progress is finished, not cut off, and the
 * renewal lock is held until it is. The pool of the workers stays: the
 * process is about to end, and the watchdog thread may still look at it. */
static void workers_stop(drive_ctx_t *ctx)
{
    md_workers_t *workers;

    if (apr_atomic_cas32(&ctx->stop_state, 1, 0) != 0) {
        while (apr_atomic_read32(&ctx->stop_state) != 2) {
            apr_sleep(apr_time_from_msec(10));
        }
        return;
    }
    workers = NULL;
    if (ctx->mutex) {
        apr_thread_mutex_lock(ctx->mutex);
        ctx->stopping = 1;
        workers = ctx->workers;
        ctx->workers = NULL;
        apr_thread_mutex_unlock(ctx->mutex);
    }
    if (workers) {
        /* Waits for the drives in progress; queued ones never start. */
        md_workers_stop(workers);
    }
    if (ctx->have_lock) {
        apr_file_unlock(ctx->lock_file);
        ctx->have_lock = 0;
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ctx->s,
                     "MD12014: renewals stopped in this child (released the renewal lock)");
    }
    apr_atomic_set32(&ctx->stop_state, 2);
}

/* In the main thread of an exiting child, before exit() runs OpenSSL's
 * exit handler (see mod_md_watchdog.h). */
static apr_status_t child_exit(void *data)
{
    drive_ctx_t *ctx = data;

    workers_stop(ctx);
    return mod_md_watchdog_wait(&ctx->wd);
}

static void drive_child_init(apr_pool_t *pchild, server_rec *s)
{
    mod_md_runtime_t *rt = mod_md_runtime_get(s);

    if (rt && rt->drive) {
        apr_pool_cleanup_register(pchild, rt->drive, child_exit, apr_pool_cleanup_null);
    }
}

void mod_md_drive_register_hooks(void)
{
    ap_hook_child_init(drive_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}

/* Only one child of all generations drives at a time (see the top). */
static int take_lock(drive_ctx_t *ctx)
{
    apr_status_t rv;

    if (ctx->have_lock || !ctx->lock_file) {
        return 1;
    }
    rv = apr_file_lock(ctx->lock_file, APR_FLOCK_EXCLUSIVE | APR_FLOCK_NONBLOCK);
    if (rv == APR_SUCCESS) {
        ctx->have_lock = 1;
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ctx->s,
                     "MD12013: this child renews now (took the renewal lock)");
        return 1;
    }
    if (!ctx->lock_wait_logged) {
        ctx->lock_wait_logged = 1;
        ap_log_error(APLOG_MARK, APLOG_DEBUG, rv, ctx->s,
                     "MD12007: a child of the previous generation is still renewing, "
                     "waiting for it to finish");
    }
    return 0;
}

/* CPU time of the calling thread, in microseconds (0 if unknown). */
static apr_int64_t thread_cpu_usec(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) {
        return 0;
    }
    return (apr_int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Between full passes: has a2md revoked a certificate the server renews
 * (a marker not seen yet)? One existence check per MD (MD_SCHED_REVOKE_POLL). */
static int revocation_seen(drive_ctx_t *ctx, apr_pool_t *ptemp)
{
    int i;
    int seen = 0;

    for (i = 0; i < ctx->items->nelts && !seen; ++i) {
        drive_item_t *item = &APR_ARRAY_IDX(ctx->items, i, drive_item_t);
        const md_t *md = item->state->md;
        int known;

        if (md->renew_mode == MD_RENEW_MANUAL) {
            continue;
        }
        apr_thread_mutex_lock(ctx->mutex);
        known = item->revoked || item->busy;
        apr_thread_mutex_unlock(ctx->mutex);
        seen = !known && md_acme_revoke_pending(ctx->env.store, md->name, ptemp);
    }
    return seen;
}

/* Has the live certificate been revoked? */
#define REVOKED_NOT     0
#define REVOKED_MARKER  1       /* a2md left staging/<md>/revoked.json */
#define REVOKED_OCSP    2       /* a current OCSP response says so (MDStapling) */

/* The part of a pass that may block (the admin's programs, the CA's ARI
 * windows, the store), outside the mutex; not while a worker drives the
 * MD: only this thread sets busy, so an MD not busy now stays so until it
 * is queued. Returns REVOKED_*. */
static int pass_look(drive_ctx_t *ctx, drive_item_t *item, apr_hash_t *in_staging,
                     apr_pool_t *p)
{
    const md_t *md = item->state->md;

    md_watch_pass(ctx->env.watch, item->state, p);
    if (md->renew_mode == MD_RENEW_MANUAL) {
        return REVOKED_NOT;
    }
    if ((!in_staging || apr_hash_get(in_staging, md->name, APR_HASH_KEY_STRING))
        && md_acme_revoke_pending(ctx->env.store, md->name, p)) {
        return REVOKED_MARKER;
    }
    /* ...or a current OCSP response says so, as stock. */
    return mod_md_ocsp_md_revoked(ctx->rt, md) ? REVOKED_OCSP : REVOKED_NOT;
}

/* With ctx->mutex held: note what pass_look found and queue the MD when it
 * is due. Returns when the MD wants the next pass (0: no time of its own). */
static apr_time_t pass_queue(drive_ctx_t *ctx, drive_item_t *item, int busy, int revoked,
                             apr_time_t now, int *pqueued, apr_pool_t *p)
{
    const md_t *md = item->state->md;
    apr_time_t when = 0;

    if (revoked == REVOKED_MARKER && !item->revoked) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ctx->s, "MD12015: %s: the certificate "
                     "was revoked (staging/%s/%s), renewing it now", md->name, md->name,
                     MD_FN_REVOKED);
    }
    if (!busy) {
        item->revoked = revoked != REVOKED_NOT;
    }
    if (!ctx->stopping && is_due(ctx, item, now, &when, p)) {
        item->busy = 1;
        if (md_workers_push(ctx->workers, drive_task, item) != APR_SUCCESS) {
            /* Keep going: one MD not queued must not stop the others. */
            item->busy = 0;
            when = now + MD_SCHED_PASS_BUSY;
        }
        else {
            ++*pqueued;
        }
    }
    return when;
}

/* The MDs with anything in staging/, where a revoked.json would be: one
 * listing per pass instead of a probe of the store per MD, which was 86% of
 * an idle pass over 3000 MDs (issue 13). NULL when staging/ cannot be listed:
 * then every MD is probed. */
static apr_hash_t *names_in_staging(drive_ctx_t *ctx, apr_pool_t *p)
{
    apr_array_header_t *names;
    apr_hash_t *in = apr_hash_make(p);
    int i;

    if (md_store_list(ctx->env.store, MD_SG_STAGING, &names, p) != APR_SUCCESS) {
        return NULL;
    }
    for (i = 0; i < names->nelts; ++i) {
        apr_hash_set(in, MD_ARR_IDX(names, i, const char *), APR_HASH_KEY_STRING, "");
    }
    return in;
}

/* One look at all MDs: queue the due ones, return when to look again. */
static apr_interval_time_t run_pass(drive_ctx_t *ctx, apr_pool_t *ptemp)
{
    apr_time_t now = apr_time_now();
    apr_int64_t cpu = thread_cpu_usec();
    md_sched_wake_t wake;
    apr_interval_time_t wait;
    apr_time_t when;
    apr_pool_t *iter;
    apr_hash_t *in_staging;
    unsigned char r = 0;
    int queued = 0;
    int any_busy = 0;
    int i;

    md_crypt_random(&r, 1);
    md_sched_wake_init(&wake, now, ctx->check_interval, r);
    in_staging = names_in_staging(ctx, ptemp);
    apr_pool_create(&iter, ptemp);
    for (i = 0; i < ctx->items->nelts; ++i) {
        drive_item_t *item = &APR_ARRAY_IDX(ctx->items, i, drive_item_t);
        int busy, stop, revoked;

        apr_thread_mutex_lock(ctx->mutex);
        stop = ctx->stopping;
        busy = item->busy;
        check_expiring(item, now, &when, ctx->s, iter);
        apr_thread_mutex_unlock(ctx->mutex);
        if (stop) {
            break;
        }
        md_sched_wake_at(&wake, when);
        revoked = busy ? REVOKED_NOT : pass_look(ctx, item, in_staging, iter);
        apr_thread_mutex_lock(ctx->mutex);
        when = pass_queue(ctx, item, busy, revoked, now, &queued, iter);
        any_busy |= item->busy;
        if (!item->busy) {
            md_sched_wake_at(&wake, when);
        }
        apr_thread_mutex_unlock(ctx->mutex);
        apr_pool_clear(iter);
    }
    apr_pool_destroy(iter);
    /* ARI windows to ask for, notifications to retry; a renewed OCSP
     * response may say a certificate is revoked. */
    md_sched_wake_at(&wake, md_watch_next_run(ctx->env.watch));
    md_sched_wake_at(&wake, mod_md_ocsp_next_check(ctx->rt, now));
    wait = md_sched_wake_wait(&wake, any_busy, 0);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ctx->s,
                 "MD12012: checked %d MDs in %" APR_INT64_T_FMT " us (cpu %" APR_INT64_T_FMT
                 " us), %d queued, next check in %s", ctx->items->nelts,
                 (apr_int64_t)(apr_time_now() - now), thread_cpu_usec() - cpu, queued,
                 md_duration_print(wait, ptemp));
    return wait;
}

static apr_status_t run_watchdog(int state, void *baton, apr_pool_t *ptemp)
{
    drive_ctx_t *ctx = baton;
    apr_interval_time_t wait;

    switch (state) {
    case AP_WATCHDOG_STATE_STARTING:
        if (ctx->initial_delay > 0) {
            return APR_SUCCESS;
        }
        /* The first pass at once: the first RUNNING call would come a
         * registered interval later, and new MDs wait for it. */
        break;
    case AP_WATCHDOG_STATE_STOPPING:
        workers_stop(ctx);
        mod_md_watchdog_stopped(&ctx->wd);
        return APR_SUCCESS;
    default:
        break;
    }
    mod_md_watchdog_ran(&ctx->wd);
    if (apr_atomic_read32(&ctx->stop_state) != 0) {
        return APR_SUCCESS;
    }
    if (!take_lock(ctx)) {
        wait = MD_PASS_LOCKED;
    }
    else if (!ctx->workers && workers_start(ctx) != APR_SUCCESS) {
        wait = ctx->check_interval;
    }
    else if (apr_time_now() >= ctx->next_pass || revocation_seen(ctx, ptemp)) {
        wait = run_pass(ctx, ptemp);
        ctx->next_pass = apr_time_now() + wait;
    }
    else {
        wait = ctx->next_pass - apr_time_now();
    }
    /* At the latest MD_SCHED_REVOKE_POLL while markers are watched: a
     * revoked certificate is renewed at once, not at the next pass. */
    wait = md_sched_clamp_wait(wait, 0, ctx->revoke_watch);
    mod_md_watchdog_next(&ctx->wd, wait);
    return APR_SUCCESS;
}

/* --- registration (parent) ------------------------------------------------ */

static apr_status_t lock_fd_close(void *data)
{
    close(*(int *)data);
    return APR_SUCCESS;
}

/* The lock file is created by the parent (root) and handed to the user the
 * children run as; they inherit the open file. The runtime directory may
 * be writable by others: never through a link, and what is handed over is
 * the file opened, not whatever the name points to (issue 11). */
static apr_file_t *lock_file_open(server_rec *s, apr_pool_t *pconf)
{
    const char *path = ap_runtime_dir_relative(pconf, MD_LOCK_FILE);
    apr_file_t *f = NULL;
    struct stat st;
    apr_status_t rv;
    int *pfd;
    int fd;

    if (!path) {
        return NULL;
    }
    fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0600);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
        rv = fd < 0 ? APR_FROM_OS_ERROR(errno) : APR_EINVAL;
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     "MD12008: cannot open %s%s; a new generation of children may renew "
                     "while an old one still does", path,
                     (fd < 0 && errno == ELOOP) ? " (a symbolic link: not followed)"
                     : fd >= 0 ? " (not a regular file of its own)" : "");
        if (fd >= 0) {
            close(fd);
        }
        return NULL;
    }
    pfd = apr_palloc(pconf, sizeof(*pfd));
    *pfd = fd;
    apr_pool_cleanup_register(pconf, pfd, lock_fd_close, apr_pool_cleanup_null);
    if (geteuid() == 0 && (st.st_uid != ap_unixd_config.user_id
                           || st.st_gid != ap_unixd_config.group_id)
        && fchown(fd, ap_unixd_config.user_id, ap_unixd_config.group_id) != 0) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, APR_FROM_OS_ERROR(errno), s,
                     "MD12009: cannot hand %s to the server's User", path);
    }
    if ((rv = apr_os_file_put(&f, &fd, APR_FOPEN_READ | APR_FOPEN_WRITE, pconf))
        != APR_SUCCESS) {
        return NULL;
    }
    return f;
}

/* The drive's environment (md_drive.h): the CA's ports as the server
 * listens, the admin's programs and the ARI ids (md_watch, read here in
 * the parent: domains/ is root's). */
static void env_setup(drive_ctx_t *ctx, const mod_md_runtime_t *rt)
{
    const mod_md_global_t *g = rt->g;
    const md_srv_conf_t *sc = mod_md_config_get(rt->s);
    md_watch_cfg_t wcfg = { g->ca_file, mod_md_config_notify_argv(sc),
                            mod_md_config_message_argv(sc), 0, ap_server_root,
                            g->store_lease_time, mod_md_cluster_lease_keep,
                            mod_md_cluster_lease_drop, rt->cluster };

    ctx->env.store = rt->store;
    ctx->env.ca_file = g->ca_file;
    ctx->env.program_root = ap_server_root;
    ctx->env.user_agent = "mod_md-ng";
    ctx->env.authz_timeout = apr_time_from_sec(120);
    ctx->env.order_timeout = apr_time_from_sec(120);
    ctx->env.retry_failover = g->retry_failover;
    ctx->env.dns01_timeout = MD_DNS01_TIMEOUT;
    ctx->env.http_port = rt->http_port;
    ctx->env.http_host = rt->http_host;
    ctx->env.https_port = rt->https_port;
    ctx->env.https_host = rt->https_host;
    ctx->env.watch = md_watch_create(rt->pconf, rt->store, rt->state_list, &wcfg);
}

apr_status_t mod_md_drive_setup(mod_md_runtime_t *rt)
{
    const mod_md_global_t *g = rt->g;
    drive_ctx_t *ctx;
    apr_status_t rv;
    int i;

    ctx = apr_pcalloc(rt->pconf, sizeof(*ctx));
    ctx->rt = rt;
    ctx->s = rt->s;
    ctx->p = rt->pconf;
    env_setup(ctx, rt);
    ctx->parallel = g->parallel_renewals > 0 ? g->parallel_renewals : 1;
    ctx->check_interval = g->check_interval;
    ctx->initial_delay = g->initial_delay;
    ctx->retry_delay = g->retry_delay;
    ctx->activation_auto = g->activation_auto;
    ctx->activation_delay = g->activation_delay;
    ctx->lock_file = lock_file_open(rt->s, rt->pconf);
    ctx->items = apr_array_make(rt->pconf, rt->state_list->nelts, sizeof(drive_item_t));
    for (i = 0; i < rt->state_list->nelts; ++i) {
        drive_item_t *item = apr_array_push(ctx->items);

        memset(item, 0, sizeof(*item));
        item->ctx = ctx;
        item->state = APR_ARRAY_IDX(rt->state_list, i, md_reg_state_t *);
        if (item->state->md->renew_mode != MD_RENEW_MANUAL) {
            ctx->revoke_watch = 1;
        }
    }
    rt->drive = ctx;
    rv = mod_md_watchdog_register(&ctx->wd, MD_WATCHDOG_NAME,
                                  ctx->initial_delay > MD_SCHED_PASS_MIN ? ctx->initial_delay
                                                                         : MD_SCHED_PASS_MIN,
                                  run_watchdog, ctx, rt->pconf);
    if (rv == APR_ENOTIMPL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, rt->s,
                     "MD12004: mod_watchdog is required to renew certificates but is not "
                     "available");
    }
    else if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, rt->s,
                     "MD12005: cannot register the certificate renewal with mod_watchdog");
    }
    return rv;
}
