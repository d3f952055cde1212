/* Background renewal: a singleton mod_watchdog callback in a child.
 *
 * It reads only what the parent assessed at start-up and the job state in
 * staging/. It never activates anything: the parent does that on the next
 * (graceful) restart.
 */
#include <apr_optional.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_log.h>
#include <mod_watchdog.h>

#include "md_drive.h"
#include "md_job.h"
#include "md_log.h"
#include "md_result.h"
#include "md_time.h"
#include "md_util.h"
#include "md_watch.h"
#include "mod_md.h"
#include "mod_md_config.h"
#include "mod_md_drive.h"

APLOG_USE_MODULE(md);

#define MD_WATCHDOG_NAME        "_md_renew_"
#define MD_CHECK_INTERVAL_MAX   apr_time_from_sec(MD_SECS_PER_HOUR)
#define MD_CHECK_INTERVAL_MIN   apr_time_from_msec(200)
#define MD_DNS01_TIMEOUT        apr_time_from_sec(120)

typedef struct {
    md_reg_state_t *state;
    md_job_t *job;             /* loaded on first use */
    int staged_notice_done;
} drive_item_t;

typedef struct {
    server_rec *s;
    apr_pool_t *p;
    ap_watchdog_t *watchdog;
    md_drive_env_t env;
    apr_array_header_t *items; /* drive_item_t */
} drive_ctx_t;

static APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *wd_get_instance;
static APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *wd_register_callback;
static APR_OPTIONAL_FN_TYPE(ap_watchdog_set_callback_interval) *wd_set_interval;

/* Does this MD want a new certificate now, and if not, when? */
static int is_due(const drive_ctx_t *ctx, const drive_item_t *item, apr_time_t now,
                  apr_time_t *pwhen)
{
    const md_reg_state_t *st = item->state;
    const md_job_t *job = item->job;
    /* MDRenewWindow, or earlier when the CA's ARI window says so. */
    apr_time_t renew_at = md_watch_renew_at(ctx->env.watch, st);

    *pwhen = 0;
    if (st->md->renew_mode == MD_RENEW_MANUAL) {
        return 0;
    }
    if (job->finished) {
        /* Staged, waiting for the parent to activate it. */
        return 0;
    }
    if (st->has_cert && renew_at > now) {
        *pwhen = renew_at;
        return 0;
    }
    if (job->next_run > now) {
        *pwhen = job->next_run;
        return 0;
    }
    return 1;
}

static void drive_one(drive_ctx_t *ctx, drive_item_t *item, apr_pool_t *ptemp)
{
    const md_t *md = item->state->md;
    md_result_t *result = md_result_make(ptemp, md->name);
    apr_status_t rv;

    ap_log_error(APLOG_MARK, APLOG_INFO, 0, ctx->s,
                 "MD12001: %s: %s, getting a new certificate", md->name,
                 item->state->has_cert ? "renewal is due" : "no certificate yet");
    rv = md_drive_renew(&ctx->env, md, md_reg_specs_to_renew(item->state, apr_time_now()),
                        item->job, result, ptemp);
    if (rv == APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ctx->s,
                     "MD12002: %s: a new certificate has been obtained and staged, it "
                     "will be activated on the next graceful restart", md->name);
        item->staged_notice_done = 1;
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, ctx->s,
                     "MD12003: %s: getting a certificate failed (attempt %d), retrying in %s: %s",
                     md->name, item->job->errors,
                     md_duration_print(item->job->next_run - apr_time_now(), ptemp),
                     md_result_to_string(result, ptemp));
    }
}

static apr_status_t run_watchdog(int state, void *baton, apr_pool_t *ptemp)
{
    drive_ctx_t *ctx = baton;
    apr_time_t now, next, when;
    apr_pool_t *iter;
    int i;

    if (state != AP_WATCHDOG_STATE_RUNNING) {
        return APR_SUCCESS;
    }
    apr_pool_create(&iter, ptemp);
    for (i = 0; i < ctx->items->nelts; ++i) {
        drive_item_t *item = &APR_ARRAY_IDX(ctx->items, i, drive_item_t);

        if (!item->job) {
            item->job = md_job_create(ctx->p, item->state->md->name);
            md_job_load(item->job, ctx->env.store, iter);
            apr_pool_clear(iter);
        }
        md_watch_pass(ctx->env.watch, item->state, iter);
        apr_pool_clear(iter);
        /* Keep going: one bad MD must not stop the others. */
        if (is_due(ctx, item, apr_time_now(), &when)) {
            drive_one(ctx, item, iter);
            apr_pool_clear(iter);
        }
    }

    now = apr_time_now();
    next = now + MD_CHECK_INTERVAL_MAX;
    for (i = 0; i < ctx->items->nelts; ++i) {
        drive_item_t *item = &APR_ARRAY_IDX(ctx->items, i, drive_item_t);

        if (is_due(ctx, item, now, &when)) {
            next = now;
        }
        else if (when > 0 && when < next) {
            next = when;
        }
    }
    when = md_watch_next_run(ctx->env.watch);
    if (when > 0 && when < next) {
        next = when > now ? when : now;
    }
    apr_pool_destroy(iter);
    wd_set_interval(ctx->watchdog,
                    next - now < MD_CHECK_INTERVAL_MIN ? MD_CHECK_INTERVAL_MIN : next - now,
                    ctx, run_watchdog);
    return APR_SUCCESS;
}

apr_status_t mod_md_drive_register(server_rec *s, apr_pool_t *pconf, md_store_t *store,
                                   apr_array_header_t *states, const char *ca_file)
{
    drive_ctx_t *ctx;
    apr_status_t rv;
    int i;

    wd_get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    wd_register_callback = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    wd_set_interval = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_set_callback_interval);
    if (!wd_get_instance || !wd_register_callback || !wd_set_interval) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     "MD12004: mod_watchdog is required to renew certificates but is not "
                     "available");
        return APR_EGENERAL;
    }

    ctx = apr_pcalloc(pconf, sizeof(*ctx));
    ctx->s = s;
    ctx->p = pconf;
    ctx->env.store = store;
    ctx->env.ca_file = ca_file;
    ctx->env.user_agent = "mod_md-ng";
    ctx->env.authz_timeout = apr_time_from_sec(120);
    ctx->env.order_timeout = apr_time_from_sec(120);
    ctx->env.dns01_timeout = MD_DNS01_TIMEOUT;
    if (mod_md_runtime()) {
        const mod_md_runtime_t *rt = mod_md_runtime();

        ctx->env.http_port = rt->http_port;
        ctx->env.http_host = rt->http_host;
        ctx->env.https_port = rt->https_port;
        ctx->env.https_host = rt->https_host;
    }
    {
        const md_srv_conf_t *sc = mod_md_config_get(s);
        md_watch_cfg_t wcfg = { ca_file, mod_md_config_notify_argv(sc),
                                mod_md_config_message_argv(sc), 0 };

        /* Here in the parent: it reads the live certificates (ARI ids). */
        ctx->env.watch = md_watch_create(pconf, store, states, &wcfg);
    }
    ctx->items = apr_array_make(pconf, states->nelts, sizeof(drive_item_t));
    for (i = 0; i < states->nelts; ++i) {
        drive_item_t *item = apr_array_push(ctx->items);

        memset(item, 0, sizeof(*item));
        item->state = APR_ARRAY_IDX(states, i, md_reg_state_t *);
    }

    rv = wd_get_instance(&ctx->watchdog, MD_WATCHDOG_NAME, 0, 1, pconf);
    if (rv == APR_SUCCESS) {
        rv = wd_register_callback(ctx->watchdog, MD_CHECK_INTERVAL_MIN, ctx, run_watchdog);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "MD12005: cannot register the certificate renewal with mod_watchdog");
    }
    return rv;
}
