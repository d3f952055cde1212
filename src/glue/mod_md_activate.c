/* Automatic activation: a graceful restart by the parent when certificates
 * are staged (see mod_md_activate.h).
 *
 * A staged set is ready when its job.json says finished, the set verifies
 * (md_reg_staged_verify: staging/ belongs to the server's User, who could
 * write a job.json that says finished to make us restart) and, with
 * MDActivationDelay, the certificate has been valid that long. The parent
 * waits until no MD has become ready for MD_SCHED_ACTIVATE_SETTLE (at most
 * MD_SCHED_ACTIVATE_SETTLE_MAX), restarts at most once per
 * MD_SCHED_ACTIVATE_MIN_GAP (md_sched_restart_due), and restarts only once
 * for a given job.json:
 * if post_config then does not activate it (broken, or still delayed), the
 * same file will not make it restart again.
 *
 * What must survive the restart (the time of the last one, the job.json
 * already restarted for) lives in the process pool: the module itself is
 * unloaded and loaded again on every restart.
 */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <mpm_common.h>

#include "md_job.h"
#include "md_keys.h"
#include "md_reg.h"
#include "md_sched.h"
#include "md_time.h"
#include "md_util.h"
#include "mod_md_activate.h"
#include "mod_md_cluster.h"
#include "mod_md_config.h"
#include "mod_md_runtime.h"

APLOG_USE_MODULE(md);

#define STATE_KEY   "mod_md_activate_state"

/* What the parent knows about one MD's staging/<md>/job.json. */
typedef struct {
    apr_time_t mtime;           /* of the job.json read */
    int finished;
    int verified;               /* the staged set would go live */
    apr_time_t valid_from;
    apr_time_t restarted_for;   /* mtime of the job.json a restart was made for */
    int delay_logged;
} staged_t;

typedef struct {
    apr_pool_t *p;              /* the process pool: parent only, one thread */
    apr_hash_t *staged;         /* md name -> staged_t*, one per name ever seen */
    apr_time_t first_ready;     /* when the current wait began, 0: none */
    apr_time_t last_restart;
} activate_state_t;

static activate_state_t *state_get(server_rec *s)
{
    apr_pool_t *pproc = s->process->pool;
    void *data = NULL;
    activate_state_t *st;

    apr_pool_userdata_get(&data, STATE_KEY, pproc);
    if (data) {
        return data;
    }
    st = apr_pcalloc(pproc, sizeof(*st));
    st->p = pproc;
    st->staged = apr_hash_make(pproc);
    apr_pool_userdata_set(st, STATE_KEY, apr_pool_cleanup_null, pproc);
    return st;
}

/* A finished job: does the set it staged verify? Logged once per job.json
 * when not (a set that is live already needs no restart: quiet). */
static int staged_verifies(md_store_t *store, const md_t *md, server_rec *s, apr_pool_t *ptemp)
{
    const char *why = NULL;
    apr_status_t rv = md_reg_staged_verify(store, md, apr_time_now(), &why, ptemp);

    if (rv != APR_SUCCESS && !APR_STATUS_IS_EEXIST(rv)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     "MD13004: %s: staging/%s/job.json says finished, but the staged set "
                     "does not verify (%s); not restarting for it", md->name, md->name,
                     why ? why : "unreadable");
    }
    return rv == APR_SUCCESS;
}

/* Read job.json again only when it changed: the check runs every 10 s. */
static staged_t *staged_look(activate_state_t *as, md_store_t *store, const md_t *md,
                             server_rec *s, apr_pool_t *ptemp)
{
    const char *name = md->name;
    staged_t *sd = apr_hash_get(as->staged, name, APR_HASH_KEY_STRING);
    apr_time_t mtime = md_store_get_mtime(store, MD_SG_STAGING, name, MD_FN_JOB, ptemp);
    md_job_t *job;

    if (!sd) {
        sd = apr_pcalloc(as->p, sizeof(*sd));
        apr_hash_set(as->staged, apr_pstrdup(as->p, name), APR_HASH_KEY_STRING, sd);
    }
    if (mtime != sd->mtime) {
        sd->mtime = mtime;
        sd->finished = 0;
        sd->verified = 0;
        sd->valid_from = 0;
        sd->delay_logged = 0;
        job = md_job_create(ptemp, name);
        if (mtime && md_job_load(job, store, ptemp) == APR_SUCCESS) {
            /* A job that says finished with nothing staged is no reason
             * to restart (the watchdog renews it again). */
            sd->finished = job->finished && md_reg_staged_complete(store, name, ptemp);
            sd->valid_from = job->valid_from;
            sd->verified = job->finished && staged_verifies(store, md, s, ptemp);
        }
    }
    return sd;
}

int mod_md_activate_delayed(md_store_t *store, const md_t *md, apr_interval_time_t delay,
                            apr_time_t now, apr_pool_t *ptemp)
{
    md_job_t *job;

    if (delay <= 0) {
        return 0;
    }
    job = md_job_create(ptemp, md->name);
    if (md_job_load(job, store, ptemp) != APR_SUCCESS || !job->finished) {
        return 0;
    }
    return !md_sched_activation_ready(job->valid_from, delay, now);
}

#ifdef MD_TESTHOOKS
/* Test build only: the environment variable env, if it holds a duration,
 * instead of def (see mod_md_activate.h). */
static apr_interval_time_t test_timing(const char *env, apr_interval_time_t def)
{
    const char *value = getenv(env);
    apr_interval_time_t dur;

    if (value && *value && md_duration_parse(&dur, value, "s") == APR_SUCCESS) {
        return dur;
    }
    return def;
}
#define ACTIVATE_TIMING(name, def)  test_timing("MD_TEST_ACTIVATE_" name, def)
#else
#define ACTIVATE_TIMING(name, def)  (def)
#endif

static int restart_due(activate_state_t *as, apr_time_t now, apr_time_t newest)
{
    md_sched_settle_t t;

    t.settle = ACTIVATE_TIMING("SETTLE", MD_SCHED_ACTIVATE_SETTLE);
    t.settle_max = ACTIVATE_TIMING("SETTLE_MAX", MD_SCHED_ACTIVATE_SETTLE_MAX);
    t.min_gap = ACTIVATE_TIMING("MIN_GAP", MD_SCHED_ACTIVATE_MIN_GAP);
    if (!as->first_ready) {
        as->first_ready = now;
    }
    return md_sched_restart_due(&t, as->first_ready, newest, as->last_restart, now);
}

/* Is the set staged for st ready to go live (finished, verified, not
 * restarted for already, past MDActivationDelay)? *pmtime: its job.json's. */
static int staged_ready(activate_state_t *as, const mod_md_runtime_t *rt,
                        const md_reg_state_t *st, apr_time_t now, apr_time_t *pmtime,
                        apr_pool_t *ptemp)
{
    const mod_md_global_t *g = rt->g;
    staged_t *sd = staged_look(as, rt->store, st->md, rt->s, ptemp);

    if (!sd->finished || !sd->verified || sd->restarted_for == sd->mtime) {
        return 0;
    }
    if (!md_sched_activation_ready(sd->valid_from, g->activation_delay, now)) {
        if (!sd->delay_logged) {
            sd->delay_logged = 1;
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, rt->s,
                         "MD13002: %s: the staged certificate goes live at %s "
                         "(MDActivationDelay %s)", st->md->name,
                         md_time_format_http(md_sched_activation_at(sd->valid_from,
                                                                    g->activation_delay),
                                             ptemp),
                         md_duration_print(g->activation_delay, ptemp));
        }
        return 0;
    }
    *pmtime = sd->mtime;
    return 1;
}

/* The names (const char*) of the MDs whose staged sets are ready, among
 * names (what staging/ lists); *pnewest: when the last became ready. */
static apr_array_header_t *ready_mds(activate_state_t *as, const mod_md_runtime_t *rt,
                                     const apr_array_header_t *names, apr_time_t now,
                                     apr_time_t *pnewest, apr_pool_t *ptemp)
{
    apr_array_header_t *ready = apr_array_make(ptemp, 5, sizeof(const char *));
    apr_time_t mtime = 0;
    int i;

    for (i = 0; i < names->nelts; ++i) {
        const char *name = MD_ARR_IDX(names, i, const char *);
        const md_reg_state_t *st = apr_hash_get(rt->states, name, APR_HASH_KEY_STRING);

        /* Not an MD of this configuration, or not ready. */
        if (st && staged_ready(as, rt, st, now, &mtime, ptemp)) {
            APR_ARRAY_PUSH(ready, const char *) = name;
            if (mtime > *pnewest) {
                *pnewest = mtime;
            }
        }
    }
    return ready;
}

/* Restart gracefully for the MDs in ready. */
static void restart_for(activate_state_t *as, const apr_array_header_t *ready, server_rec *s,
                        apr_time_t now, apr_pool_t *ptemp)
{
    int i;

    for (i = 0; i < ready->nelts; ++i) {
        staged_t *sd = apr_hash_get(as->staged, MD_ARR_IDX(ready, i, const char *),
                                    APR_HASH_KEY_STRING);
        if (sd) {
            sd->restarted_for = sd->mtime;
        }
    }
    mod_md_cluster_restarting(ready, s);
    as->first_ready = 0;
    as->last_restart = now;
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                 "MD13001: restarting the server gracefully to activate the new "
                 "certificate%s of %s (MDActivationAuto)", ready->nelts > 1 ? "s" : "",
                 md_array_str_join(ready, ", ", ptemp));
    /* The same as `apachectl graceful`: the MPM's handler sets its flag and
     * the main loop restarts when this hook has returned. */
    if (kill(getpid(), AP_SIG_GRACEFUL) != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(errno), s,
                     "MD13003: cannot signal the server to restart gracefully");
    }
}

static int md_monitor(apr_pool_t *p, server_rec *s)
{
    mod_md_runtime_t *rt = mod_md_runtime_get(s);
    activate_state_t *as;
    apr_array_header_t *names = NULL;
    apr_array_header_t *ready;
    apr_pool_t *ptemp;
    apr_time_t now = apr_time_now();
    apr_time_t newest = 0;

    if (!rt || !rt->has_mds || !rt->g->activation_auto) {
        return DECLINED;
    }
    as = state_get(s);
    apr_pool_create(&ptemp, p);
    /* A shared store is asked once per MDStorePollInterval. */
    if (mod_md_cluster_poll_due(rt->store, s, now)
        && md_store_list(rt->store, MD_SG_STAGING, &names, ptemp) == APR_SUCCESS) {
        ready = ready_mds(as, rt, names, now, &newest, ptemp);
        /* Sets another server of a cluster made live. */
        mod_md_cluster_changed(ready, &newest, rt->store, rt->states, s, ptemp);
        ap_log_error(APLOG_MARK, APLOG_TRACE1, 0, s, "MD13006: activation check: %d in "
                     "staging/, %d ready", names->nelts, ready->nelts);
        if (ready->nelts == 0) {
            as->first_ready = 0;
        }
        else if (restart_due(as, now, newest)) {
            restart_for(as, ready, s, now, ptemp);
        }
    }
    /* No connection of the parent lives on into the children it forks. */
    md_store_idle(rt->store);
    apr_pool_destroy(ptemp);
    return DECLINED;
}

void mod_md_activate_register_hooks(void)
{
    ap_hook_monitor(md_monitor, NULL, NULL, APR_HOOK_MIDDLE);
}
