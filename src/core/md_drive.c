/* One renewal attempt for an MD: from account to staged certificate.
 *
 * Each spec (key type) gets its own order, as the CA issues one certificate
 * per key. Progress is recorded in the job's log and result, so the admin
 * sees where an attempt stopped.
 */
#include <string.h>

#include <apr_strings.h>

#include "md_acme.h"
#include "md_challenges.h"
#include "md_drive.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_reg.h"
#include "md_time.h"
#include "md_util.h"
#include "md_watch.h"

static void progress(md_job_t *job, md_result_t *result, const char *activity)
{
    md_result_activity_set(result, activity);
    md_job_log_append(job, "progress", activity);
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, NULL, "MD08010: %s: %s", job->mdname, activity);
}

static apr_status_t use_account(md_acme_t *acme, const md_t *md, md_job_t *job,
                                md_result_t *result, apr_pool_t *p)
{
    apr_status_t rv;

    progress(job, result, "Selecting account to use");
    rv = md_acme_acct_find(acme, md->contacts, result, p);
    if (rv == APR_SUCCESS) {
        return rv;
    }
    if (!APR_STATUS_IS_ENOENT(rv)) {
        return rv;
    }
    md_result_reset(result);
    progress(job, result, "Creating new ACME account");
    return md_acme_acct_register(acme, md->contacts, md->ca_agreement, result, p);
}

static void teardown_all(md_acme_t *acme, const md_acme_chal_env_t *cenv, const md_t *md,
                         apr_pool_t *p)
{
    const apr_array_header_t *names = md_challenges_authz_names(md, p);
    md_result_t *ignored = md_result_make(p, md->name);
    int i;

    for (i = 0; i < names->nelts; ++i) {
        md_acme_authz_teardown(acme, cenv, MD_ARR_IDX(names, i, const char *), ignored, p);
    }
}

/* Order, validate, finalize and download the certificate for one key spec,
 * and stage it. */
static apr_status_t renew_spec(md_acme_t *acme, const md_drive_env_t *env, const md_t *md,
                               const md_acme_chal_env_t *cenv,
                               const apr_array_header_t *types, const md_pkey_spec_t *spec,
                               md_job_t *job, md_result_t *result, apr_pool_t *p)
{
    const char *kname = md_pkey_spec_name(spec);
    md_acme_order_opts_t opts;
    md_acme_order_t *order;
    md_pkey_t *pkey;
    apr_array_header_t *chain;
    const char *csr64;
    apr_status_t rv;
    int i;

    progress(job, result, apr_psprintf(p, "Creating new order for %s certificate", kname));
    rv = md_watch_order_opts(&opts, env->watch, acme, md, spec, result, p);
    if (rv == APR_SUCCESS) {
        rv = md_acme_order_new_ext(&order, acme, md->domains, &opts, result, p);
        if (rv == APR_EINVAL && opts.replaces) {
            /* A CA that will not have this certificate replaced (another
             * account issued it, it was replaced already) still orders. */
            md_log_perror(MD_LOG_MARK, MD_LOG_INFO, rv, p, "MD08590: %s: the CA refused the "
                          "order replacing %s (%s), ordering without", md->name, opts.replaces,
                          result->detail ? result->detail : "");
            md_result_reset(result);
            opts.replaces = NULL;
            rv = md_acme_order_new_ext(&order, acme, md->domains, &opts, result, p);
        }
    }
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    md_store_save_json(env->store, MD_SG_STAGING, md->name, MD_KEY_ORDER ".json",
                       md_json_pool_own(p, md_acme_order_to_json(order)), p);

    for (i = 0; i < order->authz_urls->nelts; ++i) {
        md_acme_authz_t *authz;

        rv = md_acme_authz_retrieve(&authz, acme, MD_ARR_IDX(order->authz_urls, i, const char *),
                                    result, p);
        if (rv != APR_SUCCESS) {
            goto leave;
        }
        progress(job, result, apr_psprintf(p, "Setting up challenge for %s", authz->domain));
        rv = md_acme_authz_respond(authz, acme, cenv, types, result, p);
        if (rv != APR_SUCCESS) {
            goto leave;
        }
    }

    progress(job, result, "Waiting for the CA to validate the domains");
    rv = md_acme_order_await_ready(order, acme, env->authz_timeout, result, p);
    /* Validated (or failed): the responses are no longer needed, and the
     * next spec's order must not find old dns-01 records piling up. */
    teardown_all(acme, cenv, md, p);
    if (rv != APR_SUCCESS) {
        goto leave;
    }

    progress(job, result, apr_psprintf(p, "Creating %s key and CSR", kname));
    rv = md_pkey_gen(&pkey, p, spec);
    if (rv == APR_SUCCESS) {
        rv = md_csr_create(&csr64, pkey, md->domains, md->must_staple, p);
    }
    if (rv != APR_SUCCESS) {
        md_result_printf(result, rv, "creating the %s key or CSR failed", kname);
        goto leave;
    }
    /* Public data; lets an admin (and the tests) see what was asked for. */
    md_log_perror(MD_LOG_MARK, MD_LOG_TRACE1, 0, p, "MD08012: %s: %s CSR%s: %s", md->name,
                  kname, md->must_staple ? " (must-staple)" : "", csr64);

    progress(job, result, "Finalizing the order");
    rv = md_acme_order_finalize(order, acme, csr64, result, p);
    if (rv == APR_SUCCESS) {
        rv = md_acme_order_await_valid(order, acme, env->order_timeout, result, p);
    }
    if (rv != APR_SUCCESS) {
        goto leave;
    }

    progress(job, result, apr_psprintf(p, "Retrieving %s certificate chain", kname));
    rv = md_acme_order_get_chain(&chain, order, acme, result, p);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    if (!md_cert_covers(MD_ARR_IDX(chain, 0, const md_cert_t *), md->domains)
        || !md_cert_matches_key(MD_ARR_IDX(chain, 0, const md_cert_t *), pkey)) {
        rv = APR_EINVAL;
        md_result_printf(result, rv, "the CA issued a %s certificate that does not match "
                         "the order (names or key)", kname);
        goto leave;
    }

    rv = md_store_save_pkey(env->store, MD_SG_STAGING, md->name, md_reg_pkey_fname(spec, p),
                            pkey, p);
    if (rv == APR_SUCCESS) {
        rv = md_store_save_certs(env->store, MD_SG_STAGING, md->name,
                                 md_reg_cert_fname(spec, p), chain, p);
    }
    if (rv != APR_SUCCESS) {
        md_result_printf(result, rv, "saving the %s certificate to staging failed", kname);
        goto leave;
    }
    if (!job->valid_from || md_cert_valid_from(MD_ARR_IDX(chain, 0, const md_cert_t *))
        < job->valid_from) {
        job->valid_from = md_cert_valid_from(MD_ARR_IDX(chain, 0, const md_cert_t *));
    }
leave:
    md_store_remove(env->store, MD_SG_STAGING, md->name, MD_KEY_ORDER ".json", p);
    return rv;
}

/* Drop what an earlier, unfinished attempt left in staging, except the job. */
static void reset_staging(const md_drive_env_t *env, const md_t *md, apr_pool_t *p)
{
    apr_array_header_t *names;
    int i;

    if (env->store->ops->list_aspects(env->store, MD_SG_STAGING, md->name, &names, p)
        != APR_SUCCESS) {
        return;
    }
    for (i = 0; i < names->nelts; ++i) {
        const char *aspect = MD_ARR_IDX(names, i, const char *);
        /* The job, what the admin's programs were told and the CA's renewal
         * windows outlive an attempt. */
        if (strcmp(aspect, MD_FN_JOB) && strcmp(aspect, MD_FN_NOTIFY)
            && strcmp(aspect, MD_FN_ARI)) {
            md_store_remove(env->store, MD_SG_STAGING, md->name, aspect, p);
        }
    }
}

apr_status_t md_drive_renew(const md_drive_env_t *env, const md_t *md,
                            const apr_array_header_t *specs, md_job_t *job,
                            md_result_t *result, apr_pool_t *p)
{
    const char *ca_url = md->ca_effective ? md->ca_effective
                                          : MD_ARR_IDX(md->ca_urls, 0, const char *);
    md_acme_chal_env_t cenv;
    apr_array_header_t *types = NULL;
    const char *why = NULL;
    md_acme_t *acme = NULL;
    apr_status_t rv;
    int i;

    md_result_reset(result);
    md_job_log_append(job, "starting", NULL);
    job->finished = 0;
    reset_staging(env, md, p);
    if (!specs || specs->nelts == 0) {
        specs = md_pkey_specs(md, p);
    }

    memset(&cenv, 0, sizeof(cenv));
    cenv.store = env->store;
    cenv.dns01_cmd = md->dns01_cmd;
    cenv.dns01_version = md->dns01_version;
    cenv.dns01_timeout = env->dns01_timeout;
    cenv.check_http_host = env->http_host;
    cenv.check_http_port = env->http_port;
    cenv.check_https_host = env->https_host;
    cenv.check_https_port = env->https_port;

    /* Before any order: an MD whose names cannot be validated at all. */
    rv = md_challenges_select(&types, md, env->http_port > 0, env->https_port > 0, &why, p);
    if (rv != APR_SUCCESS) {
        md_result_set(result, rv, why);
        goto leave;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, "MD08011: %s: challenge types %s",
                  md->name, md_array_str_join(types, ", ", p));

    /* The admin's program may say no to this attempt. */
    rv = md_watch_event(env->watch, md->name, MD_NOTIFY_RENEWING, NULL, result, p);
    if (rv != APR_SUCCESS) {
        md_result_printf(result, rv, "renewal vetoed: %s", result->detail);
    }
    if (rv == APR_SUCCESS) {
        progress(job, result, apr_psprintf(p, "Contacting ACME server at %s", ca_url));
        rv = md_acme_create(&acme, p, ca_url, env->ca_file, env->store);
    }
    if (rv == APR_SUCCESS) {
        md_acme_set_proxy(acme, md->http_proxy, md->http_proxy_ca_file);
        md_watch_attach(env->watch, acme, md->name, p);
        rv = md_acme_set_eab(acme, md->ca_eab_kid, md->ca_eab_hmac, md->ca_eab_alg, result);
    }
    if (rv == APR_SUCCESS) {
        rv = md_acme_setup(acme, result);
    }
    if (rv == APR_SUCCESS) {
        rv = use_account(acme, md, job, result, p);
    }
    for (i = 0; rv == APR_SUCCESS && i < specs->nelts; ++i) {
        rv = renew_spec(acme, env, md, &cenv, types, MD_ARR_IDX(specs, i, const md_pkey_spec_t *),
                        job, result, p);
    }
    /* Also after a failure: no response may stay behind. */
    teardown_all(acme, &cenv, md, p);
    if (rv == APR_SUCCESS) {
        md_t *staged = md_clone(p, md);

        staged->ca_effective = ca_url;
        staged->ca_account = acme->acct ? acme->acct->id : NULL;
        rv = md_store_save_json(env->store, MD_SG_STAGING, md->name, MD_FN_MD,
                                md_json_pool_own(p, md_to_json(staged)), p);
        if (rv != APR_SUCCESS) {
            md_result_printf(result, rv, "saving md.json to staging failed");
        }
    }
leave:
    if (rv == APR_SUCCESS) {
        md_result_set(result, APR_SUCCESS,
                      "The certificate has been renewed and will be activated on the next "
                      "graceful restart.");
    }
    else if (result->status == APR_SUCCESS) {
        /* A step failed without saying why: never report an error as success. */
        md_result_set(result, rv, "renewal failed");
    }
    md_job_end_run(job, result);
    md_job_save(job, env->store, p);
    /* Failures here are retried by the watchdog (md_watch), not by a renewal. */
    md_watch_event(env->watch, md->name, rv == APR_SUCCESS ? MD_NOTIFY_RENEWED
                                                           : MD_NOTIFY_ERRORED,
                   rv == APR_SUCCESS ? md_time_format_http(job->valid_from, p) : NULL,
                   md_result_make(p, md->name), p);
    return rv;
}
