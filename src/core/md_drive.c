/* One renewal attempt for an MD: from account to staged certificate.
 *
 * Each spec (key type) gets its own order, as the CA issues one certificate
 * per key. Progress is recorded in the job's log and result, and the job is
 * saved after every step, so the admin sees where an attempt stopped.
 *
 * Resumable (STYLE §6): what an attempt achieved survives a crash in
 * staging/<md>/ and the next attempt continues from there instead of
 * asking the CA again:
 *   order.json              the order in progress, with its key spec,
 *                           account and names
 *   privkey*.pem            written before the order is finalized with it
 *   pubcert*.pem            a finished spec; the set is complete when every
 *                           spec has one and md.json is written last
 * A CA that forgot the order (404, unauthorized, a new account) or an order
 * that went invalid or expired gets a new order; anything else (the CA is
 * down) keeps the saved order for the next attempt.
 */
#include <string.h>

#include <apr_strings.h>

#include "md_acme.h"
#include "md_challenges.h"
#include "md_drive.h"
#include "md_json.h"
#include "md_keygen.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_reg.h"
#include "md_testhook.h"
#include "md_time.h"
#include "md_util.h"
#include "md_watch.h"

#define CRASH_POINT(name)   md_testhook_crash("drive", (name))

static void progress(const md_drive_env_t *env, md_job_t *job, md_result_t *result,
                     const char *activity, apr_pool_t *p)
{
    md_result_activity_set(result, activity);
    md_job_log_append(job, MD_JOB_LOG_PROGRESS, activity);
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, NULL, "MD08010: %s: %s", job->mdname, activity);
    /* A restart shows where the attempt got to. */
    md_job_save(job, env->store, p);
}

static apr_status_t find_or_register(const md_drive_env_t *env, md_acme_t *acme,
                                     const md_t *md, md_job_t *job, md_result_t *result,
                                     apr_pool_t *p)
{
    apr_status_t rv;

    progress(env, job, result, "Selecting account to use", p);
    rv = md_acme_acct_find(acme, md->contacts, result, p);
    if (rv == APR_SUCCESS) {
        return rv;
    }
    if (!APR_STATUS_IS_ENOENT(rv)) {
        return rv;
    }
    md_result_reset(result);
    progress(env, job, result, "Creating new ACME account", p);
    return md_acme_acct_register(acme, md->contacts, md->ca_agreement, result, p);
}

/* Concurrent drives select accounts one at a time, so that N MDs starting
 * together share one new account instead of registering N. */
static apr_status_t use_account(const md_drive_env_t *env, md_acme_t *acme, const md_t *md,
                                md_job_t *job, md_result_t *result, apr_pool_t *p)
{
    apr_status_t rv;

    if (!env->share) {
        return find_or_register(env, acme, md, job, result, p);
    }
    md_drive_share_lock(env->share);
    rv = md_drive_share_acct_get(env->share, acme, md->contacts, p);
    if (rv != APR_SUCCESS) {
        rv = find_or_register(env, acme, md, job, result, p);
        if (rv == APR_SUCCESS) {
            md_drive_share_acct_put(env->share, acme, md->contacts);
        }
    }
    md_drive_share_unlock(env->share);
    return rv;
}

/* Read the CA's directory, or take the one another drive read lately. */
static apr_status_t setup_acme(md_acme_t *acme, const md_drive_env_t *env,
                               md_result_t *result, apr_pool_t *p)
{
    json_t *dir = env->share ? md_drive_share_dir_get(env->share, acme->url, p) : NULL;
    apr_status_t rv;

    if (dir && md_acme_setup_from(acme, dir, result) == APR_SUCCESS) {
        return APR_SUCCESS;
    }
    md_result_reset(result);
    rv = md_acme_setup(acme, result);
    if (rv == APR_SUCCESS && env->share && acme->dir_json) {
        md_drive_share_dir_put(env->share, acme->url, acme->dir_json);
    }
    return rv;
}

const char *md_drive_ca_url(const md_t *md, int errors, int failover)
{
    int n = md->ca_urls ? md->ca_urls->nelts : 0;
    int start = 0;
    int i;

    if (n == 0) {
        return md->ca_effective;
    }
    for (i = 0; md->ca_effective && i < n; ++i) {
        if (!strcmp(MD_ARR_IDX(md->ca_urls, i, const char *), md->ca_effective)) {
            start = i;
            break;
        }
    }
    if (n > 1 && failover > 0 && errors > 0) {
        start = (start + (errors / failover) % n) % n;
    }
    return MD_ARR_IDX(md->ca_urls, start, const char *);
}

/* Remove every challenge response set up for md (all types). */
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

static int same_names(const apr_array_header_t *a, const apr_array_header_t *b)
{
    return a && b && md_array_str_contains_all(a, b) && md_array_str_contains_all(b, a);
}

/* --- what staging holds ---------------------------------------------------- */

/* Is a certificate for spec staged that fits md: all names, its key, not
 * expired? Quiet about absence; the store logs corrupt files. */
static int staged_spec_done(md_store_t *store, const md_t *md, const md_pkey_spec_t *spec,
                            apr_pool_t *p)
{
    apr_array_header_t *chain;
    const md_cert_t *leaf;
    md_pkey_t *pkey;
    const char *kname, *cname;

    md_reg_find_fnames(&kname, &cname, store, MD_SG_STAGING, md->name, spec, p);
    if (!md_store_exists(store, MD_SG_STAGING, md->name, cname, p)
        || md_store_load_certs(store, MD_SG_STAGING, md->name, cname, &chain, p) != APR_SUCCESS
        || md_store_load_pkey(store, MD_SG_STAGING, md->name, kname, &pkey, p) != APR_SUCCESS) {
        return 0;
    }
    leaf = MD_ARR_IDX(chain, 0, const md_cert_t *);
    return md_cert_covers(leaf, md->domains) && md_cert_matches_key(leaf, pkey)
        && md_cert_valid_until(leaf) > apr_time_now();
}

/* Remove everything from staging except what outlives an attempt. */
static void reset_staging(const md_drive_env_t *env, const md_t *md, apr_pool_t *p)
{
    apr_array_header_t *names;
    int i;

    if (md_store_list_aspects(env->store, MD_SG_STAGING, md->name, &names, p)
        != APR_SUCCESS) {
        return;
    }
    for (i = 0; i < names->nelts; ++i) {
        const char *aspect = MD_ARR_IDX(names, i, const char *);
        /* The job, what the admin's programs were told, the CA's renewal
         * windows and a revocation (md_acme_revoke.h) outlive an attempt. */
        if (strcmp(aspect, MD_FN_JOB) && strcmp(aspect, MD_FN_NOTIFY)
            && strcmp(aspect, MD_FN_ARI) && strcmp(aspect, MD_FN_REVOKED)) {
            md_store_remove(env->store, MD_SG_STAGING, md->name, aspect, p);
        }
    }
}

/* Keep what an earlier attempt staged for this very MD; drop it when the
 * certificate-relevant config changed since (names, keys, CA). */
static void check_staging(const md_drive_env_t *env, const md_t *md, apr_pool_t *p)
{
    json_t *j = NULL;
    md_t *staged = NULL;
    apr_status_t rv;

    rv = md_store_load_json(env->store, MD_SG_STAGING, md->name, MD_FN_MD, &j, p);
    if (APR_STATUS_IS_ENOENT(rv)) {
        return;     /* unfinished: the order and spec checks decide */
    }
    if (rv != APR_SUCCESS || md_from_json(&staged, j, MD_FN_MD, p) != APR_SUCCESS
        || md_cert_relevant_changed(staged, md)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_INFO, 0, p, "MD08020: %s: the staged set does "
                      "not fit the configuration any more, dropping it", md->name);
        reset_staging(env, md, p);
    }
}

/* --- the order in progress (staging/<md>/order.json) ------------------------ */

static void drop_order(const md_drive_env_t *env, const md_t *md, apr_pool_t *p)
{
    apr_status_t rv = md_store_remove(env->store, MD_SG_STAGING, md->name, MD_FN_ORDER, p);

    if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, p, "MD08021: %s: cannot remove the "
                      "saved order", md->name);
    }
}

static apr_status_t save_order(const md_drive_env_t *env, const md_t *md,
                               const md_pkey_spec_t *spec, md_acme_t *acme,
                               const md_acme_order_t *order, apr_pool_t *p)
{
    json_t *j = md_json_pool_own(p, md_acme_order_to_json(order));

    if (!j) {
        return APR_ENOMEM;
    }
    md_json_set_str(j, MD_KEY_SPEC, md_pkey_spec_name(spec));
    md_json_set_str(j, MD_KEY_ACCOUNT, acme->acct ? acme->acct->url : NULL);
    json_object_set_new(j, MD_KEY_DOMAINS, md_json_from_str_array(md->domains));
    return md_store_save_json(env->store, MD_SG_STAGING, md->name, MD_FN_ORDER, j, p);
}

/* The saved order, if it is for this spec, account and names; any other
 * saved order is dropped. APR_ENOENT when there is none to resume. */
static apr_status_t load_order(md_acme_order_t **porder, const md_drive_env_t *env,
                               const md_t *md, const md_pkey_spec_t *spec, md_acme_t *acme,
                               apr_pool_t *p)
{
    const char *acct;
    const char *sname;
    apr_array_header_t *names;
    json_t *j = NULL;
    apr_status_t rv;

    *porder = NULL;
    rv = md_store_load_json(env->store, MD_SG_STAGING, md->name, MD_FN_ORDER, &j, p);
    if (APR_STATUS_IS_ENOENT(rv)) {
        return APR_ENOENT;
    }
    if (rv == APR_SUCCESS) {
        sname = md_json_get_str(j, MD_KEY_SPEC);
        acct = md_json_get_str(j, MD_KEY_ACCOUNT);
        names = md_json_get_str_array(j, MD_KEY_DOMAINS, p);
        if (sname && !strcmp(sname, md_pkey_spec_name(spec)) && acct && acme->acct
            && !strcmp(acct, acme->acct->url) && same_names(names, md->domains)
            && md_acme_order_from_json(porder, j, p) == APR_SUCCESS) {
            return APR_SUCCESS;
        }
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, "MD08022: %s: the saved order is not "
                  "for this key, account or names, not resuming it", md->name);
    drop_order(env, md, p);
    return APR_ENOENT;
}

/* Is the CA saying it does not know the order (any more) or that it is not
 * ours? Anything else (unreachable, rate limited) may pass. */
static int order_forgotten(apr_status_t rv)
{
    return APR_STATUS_IS_ENOENT(rv) || APR_STATUS_IS_EACCES(rv) || rv == APR_EINVAL;
}

/* Bring a saved order up to date; *porder NULL when it is of no use. */
static apr_status_t resume_order(md_acme_order_t **porder, const md_drive_env_t *env,
                                 md_acme_t *acme, const md_t *md, md_job_t *job,
                                 md_result_t *result, apr_pool_t *p)
{
    md_acme_order_t *order = *porder;
    apr_status_t rv;

    progress(env, job, result, apr_psprintf(p, "Resuming order %s", order->url), p);
    rv = md_acme_order_update(order, acme, result, p);
    if (rv != APR_SUCCESS && !order_forgotten(rv)) {
        return rv;
    }
    if (rv != APR_SUCCESS || order->status == MD_ACME_ORDER_INVALID
        || (order->expires && order->expires <= apr_time_now())) {
        md_log_perror(MD_LOG_MARK, MD_LOG_INFO, rv, p, "MD08023: %s: the saved order %s is "
                      "%s, placing a new one", md->name, order->url,
                      rv != APR_SUCCESS ? "unknown to the CA now"
                      : md_acme_order_status_name(order->status));
        md_result_reset(result);
        drop_order(env, md, p);
        *porder = NULL;
    }
    return APR_SUCCESS;
}

/* --- one key spec ------------------------------------------------------------ */

/* The key to finalize with: the staged one when resuming an order (it may
 * have been sent in a CSR already), else a new one, saved before use. */
static apr_status_t get_key(md_pkey_t **ppkey, const md_drive_env_t *env, const md_t *md,
                            const md_pkey_spec_t *spec, int resumed, md_keygen_t *keygen,
                            md_job_t *job, md_result_t *result, apr_pool_t *p)
{
    const char *fname = md_reg_pkey_fname(spec, p);
    const char *kname = md_pkey_spec_name(spec);
    apr_status_t rv;

    if (resumed && md_store_exists(env->store, MD_SG_STAGING, md->name, fname, p)
        && md_store_load_pkey(env->store, MD_SG_STAGING, md->name, fname, ppkey, p)
        == APR_SUCCESS) {
        return APR_SUCCESS;
    }
    progress(env, job, result, apr_psprintf(p, "Creating %s key", kname), p);
    /* Started with the order, so usually done by now. */
    rv = keygen ? md_keygen_finish(ppkey, keygen) : md_pkey_gen(ppkey, p, spec);
    if (rv == APR_SUCCESS) {
        rv = md_store_save_pkey(env->store, MD_SG_STAGING, md->name, fname, *ppkey, p);
    }
    if (rv != APR_SUCCESS) {
        md_result_printf(result, rv, "creating and saving the %s key failed", kname);
        return rv;
    }
    CRASH_POINT("key-saved");
    return APR_SUCCESS;
}

static apr_status_t validate(md_acme_order_t *order, md_acme_t *acme,
                             const md_drive_env_t *env, const md_acme_chal_env_t *cenv,
                             const apr_array_header_t *types, const md_t *md, md_job_t *job,
                             md_result_t *result, apr_pool_t *p)
{
    apr_status_t rv;
    int i;

    for (i = 0; order->status == MD_ACME_ORDER_PENDING && i < order->authz_urls->nelts; ++i) {
        md_acme_authz_t *authz;

        rv = md_acme_authz_retrieve(&authz, acme, MD_ARR_IDX(order->authz_urls, i, const char *),
                                    result, p);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        progress(env, job, result, apr_psprintf(p, "Setting up challenge for %s",
                                                authz->domain), p);
        rv = md_acme_authz_respond(authz, acme, cenv, types, result, p);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    CRASH_POINT("challenges-answered");
    progress(env, job, result, "Waiting for the CA to validate the domains", p);
    rv = md_acme_order_await_ready(order, acme, env->authz_timeout, result, p);
    /* Validated (or failed): the responses are no longer needed, and the
     * next spec's order must not find old dns-01 records piling up. */
    teardown_all(acme, cenv, md, p);
    if (rv == APR_SUCCESS) {
        CRASH_POINT("order-ready");
    }
    return rv;
}

/* One key spec's renewal: what the steps of renew_spec share. */
typedef struct {
    const md_drive_env_t *env;
    md_acme_t *acme;
    const md_t *md;
    const md_acme_chal_env_t *cenv;
    const apr_array_header_t *types;    /* challenge types to try */
    const md_pkey_spec_t *spec;
    const char *kname;                  /* the spec's name */
    md_job_t *job;
    md_result_t *result;
    apr_pool_t *p;
    md_acme_order_t *order;             /* NULL until there is one */
    int resumed;                        /* the order is an earlier attempt's */
    md_keygen_t *keygen;                /* a new key in the making, or NULL */
    md_pkey_t *pkey;                    /* the key the order is finalized with */
} spec_run_t;

static int staged_key_exists(const spec_run_t *r)
{
    return md_store_exists(r->env->store, MD_SG_STAGING, r->md->name,
                           md_reg_pkey_fname(r->spec, r->p), r->p);
}

/* The order an earlier attempt saved, brought up to date, if it is of use:
 * not once it was finalized with a key we no longer have. */
static apr_status_t spec_resume(spec_run_t *r)
{
    apr_status_t rv;

    if (load_order(&r->order, r->env, r->md, r->spec, r->acme, r->p) != APR_SUCCESS) {
        return APR_SUCCESS;
    }
    rv = resume_order(&r->order, r->env, r->acme, r->md, r->job, r->result, r->p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    r->resumed = (r->order != NULL);
    if (r->order && (r->order->status == MD_ACME_ORDER_PROCESSING
                     || r->order->status == MD_ACME_ORDER_VALID) && !staged_key_exists(r)) {
        /* Finalized with a key we no longer have: its certificate is useless. */
        md_log_perror(MD_LOG_MARK, MD_LOG_INFO, 0, r->p, "MD08024: %s: the key of order %s is "
                      "gone, placing a new order", r->md->name, r->order->url);
        drop_order(r->env, r->md, r->p);
        r->order = NULL;
        r->resumed = 0;
    }
    return APR_SUCCESS;
}

/* A new key will be needed: make it while the CA validates. The thread is
 * joined when p is cleared, also on the error paths. */
static apr_status_t spec_keygen(spec_run_t *r)
{
    apr_status_t rv;

    if (r->resumed && staged_key_exists(r)) {
        return APR_SUCCESS;
    }
    rv = md_keygen_start(&r->keygen, r->spec, r->p);
    if (rv != APR_SUCCESS) {
        md_result_printf(r->result, rv, "starting the %s key generation failed", r->kname);
    }
    return rv;
}

/* newOrder, saved to staging before anything else happens with it. */
static apr_status_t spec_new_order(spec_run_t *r)
{
    md_acme_order_opts_t opts;
    apr_status_t rv;

    progress(r->env, r->job, r->result, apr_psprintf(r->p, "Creating new order for %s "
                                                     "certificate", r->kname), r->p);
    rv = md_watch_order_opts(&opts, r->env->watch, r->acme, r->md, r->spec, r->result, r->p);
    if (rv == APR_SUCCESS) {
        rv = md_acme_order_new_ext(&r->order, r->acme, r->md->domains, &opts, r->result, r->p);
        if (rv == APR_EINVAL && opts.replaces) {
            /* A CA that will not have this certificate replaced (another
             * account issued it, it was replaced already) still orders. */
            md_log_perror(MD_LOG_MARK, MD_LOG_INFO, rv, r->p, "MD08590: %s: the CA refused "
                          "the order replacing %s (%s), ordering without", r->md->name,
                          opts.replaces, r->result->detail ? r->result->detail : "");
            md_result_reset(r->result);
            opts.replaces = NULL;
            rv = md_acme_order_new_ext(&r->order, r->acme, r->md->domains, &opts, r->result,
                                       r->p);
        }
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    CRASH_POINT("order-created");
    if ((rv = save_order(r->env, r->md, r->spec, r->acme, r->order, r->p)) != APR_SUCCESS) {
        md_result_printf(r->result, rv, "saving the new order to staging failed");
        return rv;
    }
    CRASH_POINT("order-saved");
    return APR_SUCCESS;
}

/* A ready order: the key (saved first), the CSR, finalize. */
static apr_status_t spec_send_csr(spec_run_t *r)
{
    const char *csr64;
    apr_status_t rv;

    if ((rv = get_key(&r->pkey, r->env, r->md, r->spec, r->resumed, r->keygen, r->job,
                      r->result, r->p)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = md_csr_create(&csr64, r->pkey, r->md->domains, r->md->must_staple, r->p))
        != APR_SUCCESS) {
        md_result_printf(r->result, rv, "creating the %s CSR failed", r->kname);
        return rv;
    }
    /* Public data; lets an admin (and the tests) see what was asked for. */
    md_log_perror(MD_LOG_MARK, MD_LOG_TRACE1, 0, r->p, "MD08012: %s: %s CSR%s: %s",
                  r->md->name, r->kname, r->md->must_staple ? " (must-staple)" : "", csr64);
    progress(r->env, r->job, r->result, "Finalizing the order", r->p);
    if ((rv = md_acme_order_finalize(r->order, r->acme, csr64, r->result, r->p))
        != APR_SUCCESS) {
        return rv;
    }
    save_order(r->env, r->md, r->spec, r->acme, r->order, r->p);
    CRASH_POINT("finalized");
    return APR_SUCCESS;
}

/* From wherever the order is to valid: validate, finalize, wait. */
static apr_status_t spec_finalize(spec_run_t *r)
{
    md_acme_order_t *order = r->order;
    apr_status_t rv;

    if (order->status == MD_ACME_ORDER_PENDING || order->status == MD_ACME_ORDER_READY) {
        if ((rv = validate(order, r->acme, r->env, r->cenv, r->types, r->md, r->job,
                           r->result, r->p)) != APR_SUCCESS) {
            return rv;
        }
    }
    if (order->status == MD_ACME_ORDER_READY) {
        rv = spec_send_csr(r);
    }
    else {
        rv = get_key(&r->pkey, r->env, r->md, r->spec, 1, r->keygen, r->job, r->result, r->p);
    }
    if (rv != APR_SUCCESS || order->status == MD_ACME_ORDER_VALID) {
        return rv;
    }
    progress(r->env, r->job, r->result, "Waiting for the CA to issue the certificate", r->p);
    rv = md_acme_order_await_valid(order, r->acme, r->env->order_timeout, r->result, r->p);
    if (rv == APR_SUCCESS) {
        save_order(r->env, r->md, r->spec, r->acme, order, r->p);
        CRASH_POINT("order-valid");
    }
    return rv;
}

/* Download the certificate and stage it, when it fits. */
static apr_status_t spec_stage(spec_run_t *r)
{
    apr_array_header_t *chain;
    const md_cert_t *leaf;
    apr_status_t rv;

    progress(r->env, r->job, r->result, apr_psprintf(r->p, "Retrieving %s certificate chain",
                                                     r->kname), r->p);
    rv = md_acme_order_get_chain(&chain, r->order, r->acme, r->result, r->p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    CRASH_POINT("chain-retrieved");
    leaf = MD_ARR_IDX(chain, 0, const md_cert_t *);
    if (!md_cert_covers(leaf, r->md->domains) || !md_cert_matches_key(leaf, r->pkey)) {
        /* Issued for another key (ours was lost) or other names: this order
         * can never give us a usable certificate. */
        drop_order(r->env, r->md, r->p);
        md_result_printf(r->result, APR_EINVAL, "the %s certificate of order %s does not "
                         "match the names or the staged key; placing a new order next time",
                         r->kname, r->order->url);
        return APR_EINVAL;
    }
    rv = md_store_save_certs(r->env->store, MD_SG_STAGING, r->md->name,
                             md_reg_cert_fname(r->spec, r->p), chain, r->p);
    if (rv != APR_SUCCESS) {
        md_result_printf(r->result, rv, "saving the %s certificate to staging failed",
                         r->kname);
        return rv;
    }
    CRASH_POINT("cert-saved");
    drop_order(r->env, r->md, r->p);
    if (!r->job->valid_from || md_cert_valid_from(leaf) < r->job->valid_from) {
        r->job->valid_from = md_cert_valid_from(leaf);
    }
    return APR_SUCCESS;
}

/* Order (or resume), validate, finalize and download the certificate for
 * one key spec (r->spec), and stage it. */
static apr_status_t renew_spec(spec_run_t *r)
{
    apr_status_t rv;

    if ((rv = spec_resume(r)) != APR_SUCCESS || (rv = spec_keygen(r)) != APR_SUCCESS) {
        return rv;
    }
    if (!r->order && (rv = spec_new_order(r)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = spec_finalize(r)) != APR_SUCCESS) {
        return rv;
    }
    return spec_stage(r);
}

/* --- the attempt ------------------------------------------------------------- */

static apr_status_t stage_md(const md_drive_env_t *env, const md_t *md, const char *ca_url,
                             const char *account, md_result_t *result, apr_pool_t *p)
{
    md_t *staged = md_clone(p, md);
    apr_status_t rv;

    staged->ca_effective = ca_url;
    if (account) {
        staged->ca_account = account;
    }
    rv = md_store_save_json(env->store, MD_SG_STAGING, md->name, MD_FN_MD,
                            md_to_json(staged, p), p);
    if (rv != APR_SUCCESS) {
        md_result_printf(result, rv, "saving md.json to staging failed");
    }
    return rv;
}

/* When the staged certificates of specs start: the earliest, 0 if none. */
static apr_time_t staged_valid_from(md_store_t *store, const md_t *md,
                                    const apr_array_header_t *specs, apr_pool_t *p)
{
    apr_time_t from = 0;
    int i;

    for (i = 0; i < specs->nelts; ++i) {
        const char *kname, *cname;
        apr_array_header_t *chain;
        apr_time_t t;

        md_reg_find_fnames(&kname, &cname, store, MD_SG_STAGING, md->name,
                           MD_ARR_IDX(specs, i, const md_pkey_spec_t *), p);
        if (md_store_load_certs(store, MD_SG_STAGING, md->name, cname, &chain, p)
            == APR_SUCCESS && chain->nelts > 0) {
            t = md_cert_valid_from(MD_ARR_IDX(chain, 0, const md_cert_t *));
            from = (!from || t < from) ? t : from;
        }
    }
    return from;
}

/* The set is complete: the job says when it starts (MDActivationDelay, the
 * "renewed" message), from the certificates staged, not from a set that
 * was dropped since; then md.json. */
static apr_status_t stage_set(const md_drive_env_t *env, const md_t *md,
                              const apr_array_header_t *specs, const char *ca_url,
                              const char *account, md_job_t *job, md_result_t *result,
                              apr_pool_t *p)
{
    job->valid_from = staged_valid_from(env->store, md, specs, p);
    return stage_md(env, md, ca_url, account, result, p);
}

/* A complete set found staged (job.json lost, a crash before md.json):
 * staged again with the CA and account its md.json names, if it is there
 * (check_staging kept it: it fits), else this attempt's and the config's. */
static apr_status_t restage_set(const md_drive_env_t *env, const md_t *md,
                                const apr_array_header_t *specs, const char *ca_url,
                                md_job_t *job, md_result_t *result, apr_pool_t *p)
{
    const char *account = md->ca_account;
    md_t *staged = NULL;
    json_t *j = NULL;

    if (md_store_load_json(env->store, MD_SG_STAGING, md->name, MD_FN_MD, &j, p)
        == APR_SUCCESS && md_from_json(&staged, j, MD_FN_MD, p) == APR_SUCCESS) {
        ca_url = staged->ca_effective ? staged->ca_effective : ca_url;
        account = staged->ca_account ? staged->ca_account : account;
    }
    return stage_set(env, md, specs, ca_url, account, job, result, p);
}

/* MDMessageCmd renewed (and MDNotifyCmd) or errored, recorded in the job
 * as the stock module does: a failed "renewed" becomes the job's last
 * result (the certificate stays staged). Failures are retried by the
 * watchdog (md_watch), not by a renewal. */
static void tell_outcome(const md_drive_env_t *env, const md_t *md, md_job_t *job,
                         apr_status_t outcome, apr_pool_t *p)
{
    const char *reason = outcome == APR_SUCCESS ? MD_NOTIFY_RENEWED : MD_NOTIFY_ERRORED;
    md_result_t *told = md_result_make(p, md->name);
    apr_status_t rv;
    int what = 0;

    if (!md_watch_notifies(env->watch)) {
        return;     /* nobody to tell: the job says told already */
    }
    rv = md_watch_event_ex(env->watch, md->name, reason,
                           outcome == APR_SUCCESS ? md_time_format_http(job->valid_from, p)
                                                  : NULL, &what, told, p);
    md_job_notified(job, reason, what, told);
    if (rv != APR_SUCCESS && outcome == APR_SUCCESS) {
        md_result_assign(job->last, told);
        md_result_activity_set(job->last, "Telling the admin's programs about the new "
                               "certificate");
    }
    md_job_save(job, env->store, p);
}

/* The start of an attempt, recorded in the job (a restart shows it began),
 * and whether it fails over to the next CA. */
static void attempt_begin(const md_drive_env_t *env, const md_t *md, const char *ca_url,
                          md_job_t *job, md_result_t *result, apr_pool_t *p)
{
    md_result_reset(result);
    md_job_log_append(job, MD_JOB_LOG_STARTING, NULL);
    job->finished = 0;
    md_job_save(job, env->store, p);
    CRASH_POINT("started");
    if (job->errors > 0 && ca_url && strcmp(ca_url, md_drive_ca_url(md, job->errors - 1,
                                                                     env->retry_failover))) {
        /* MDRetryFailover: the saved order belongs to the other CA's account
         * and is dropped when this attempt does not find it fitting. */
        md_log_perror(MD_LOG_MARK, MD_LOG_NOTICE, 0, p, "MD08602: %s: %d attempts failed, "
                      "trying the next CA, %s", md->name, job->errors, ca_url);
        md_job_log_append(job, "failover", ca_url);
    }
}

/* Before anything is asked of the CA: *porder says whether to order. Not
 * for an MD whose configuration cannot work, nor without the store key; a
 * complete staged set (a crash or a lost job.json) is never ordered again,
 * only its md.json written. */
static apr_status_t attempt_check(int *porder, const md_drive_env_t *env, const md_t *md,
                                  const apr_array_header_t *specs, const char *ca_url,
                                  md_job_t *job, md_result_t *result, apr_pool_t *p)
{
    int i, todo = 0;

    *porder = 0;
    if (md->config_problem) {
        /* Found at start-up (a name the CA will refuse, ...): nothing to ask
         * the CA, only to say why, in md-status as with a CA's refusal. */
        md_result_problem_set(result, APR_EINVAL, md->config_problem_type, md->config_problem,
                              NULL);
        md_result_activity_set(result, "Checking the configuration");
        return APR_EINVAL;
    }
    check_staging(env, md, p);
    for (i = 0; i < specs->nelts; ++i) {
        todo += !staged_spec_done(env->store, md, MD_ARR_IDX(specs, i, const md_pkey_spec_t *),
                                  p);
    }
    if (todo == 0) {
        progress(env, job, result, "A certificate is already staged, not ordering again", p);
        return restage_set(env, md, specs, ca_url, job, result, p);
    }
    if (!env->store->key) {
        /* Account and staged keys are encrypted with it: nothing to do
         * until md_store.json is restored. */
        md_result_printf(result, APR_EACCES, "cannot renew without the store key: %s",
                         env->store->key_problem);
        return APR_EACCES;
    }
    *porder = 1;
    return APR_SUCCESS;
}

static void chal_env_init(md_acme_chal_env_t *cenv, const md_drive_env_t *env, const md_t *md,
                          apr_pool_t *p)
{
    memset(cenv, 0, sizeof(*cenv));
    cenv->store = env->store;
    cenv->dns01_cmd = md->dns01_cmd;
    cenv->dns01_version = md->dns01_version;
    cenv->dns01_timeout = env->dns01_timeout;
    cenv->program_root = env->program_root;
    cenv->pkey_specs = md_pkey_specs(md, p);
    cenv->acme_tls_1_domains = md->acme_tls_1_domains;
    cenv->check_http_host = env->http_host;
    cenv->check_http_port = env->http_port;
    cenv->check_https_host = env->https_host;
    cenv->check_https_port = env->https_port;
}

/* The session with the CA: the admin's program may say no to this
 * attempt ("renewing"), then the directory and the account. *pacme is set
 * once it exists, also when a later step fails. */
static apr_status_t open_session(md_acme_t **pacme, const md_drive_env_t *env, const md_t *md,
                                 const char *ca_url, md_job_t *job, md_result_t *result,
                                 apr_pool_t *p)
{
    md_acme_t *acme = NULL;
    int told = 0;
    apr_status_t rv;

    *pacme = NULL;
    rv = md_watch_event_ex(env->watch, md->name, MD_NOTIFY_RENEWING, NULL, &told, result, p);
    md_job_notified(job, MD_NOTIFY_RENEWING, told, result);
    if (rv != APR_SUCCESS) {
        md_result_detail_printf(result, "renewal vetoed: %s", result->detail);
        return rv;
    }
    progress(env, job, result, apr_psprintf(p, "Contacting ACME server at %s", ca_url), p);
    rv = md_acme_create(&acme, p, ca_url, md->ca_certs ? md->ca_certs : env->ca_file,
                        env->store);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *pacme = acme;
    md_acme_set_proxy(acme, md->http_proxy, md->http_proxy_ca_file);
    if (env->http_mock) {
        md_http_set_mock(acme->http, env->http_mock, env->http_mock_baton);
    }
    md_watch_attach(env->watch, acme, md->name, job, p);
    rv = md_acme_set_eab(acme, md->ca_eab_kid, md->ca_eab_hmac, md->ca_eab_alg, result);
    if (rv == APR_SUCCESS) {
        rv = setup_acme(acme, env, result, p);
    }
    if (rv == APR_SUCCESS) {
        rv = use_account(env, acme, md, job, result, p);
    }
    if (rv == APR_SUCCESS) {
        CRASH_POINT("account");
    }
    return rv;
}

/* Ask the CA: one order per spec not staged yet, then md.json. */
static apr_status_t attempt_order(const md_drive_env_t *env, const md_t *md,
                                  const apr_array_header_t *specs, const char *ca_url,
                                  md_job_t *job, md_result_t *result, apr_pool_t *p)
{
    md_acme_chal_env_t cenv;
    apr_array_header_t *types = NULL;
    const char *why = NULL;
    md_acme_t *acme = NULL;
    apr_status_t rv;
    int i;

    chal_env_init(&cenv, env, md, p);
    /* Before any order: an MD whose names cannot be validated at all. */
    rv = md_challenges_select(&types, md, env->http_port > 0, env->https_port > 0, &why, p);
    if (rv != APR_SUCCESS) {
        md_result_problem_set(result, rv, MD_PROBLEM_CHALLENGE_MISMATCH, why, NULL);
        return rv;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, "MD08011: %s: challenge types %s",
                  md->name, md_array_str_join(types, ", ", p));
    rv = open_session(&acme, env, md, ca_url, job, result, p);
    for (i = 0; rv == APR_SUCCESS && i < specs->nelts; ++i) {
        const md_pkey_spec_t *spec = MD_ARR_IDX(specs, i, const md_pkey_spec_t *);
        spec_run_t r = { .env = env, .acme = acme, .md = md, .cenv = &cenv, .types = types,
                         .spec = spec, .kname = md_pkey_spec_name(spec), .job = job,
                         .result = result, .p = p };

        if (!staged_spec_done(env->store, md, r.spec, p)) {
            rv = renew_spec(&r);
        }
    }
    /* Also after a failure: no response may stay behind. */
    teardown_all(acme, &cenv, md, p);
    if (rv != APR_SUCCESS && env->share && (APR_STATUS_IS_EACCES(rv) || APR_STATUS_IS_ENOENT(rv))) {
        /* The CA may have refused the account: let the next drive ask it. */
        md_drive_share_acct_forget(env->share, ca_url);
    }
    if (rv == APR_SUCCESS) {
        rv = stage_set(env, md, specs, ca_url, acme->acct ? acme->acct->id : NULL, job, result,
                       p);
    }
    return rv;
}

/* The end of an attempt: its result in the job, saved, and told. */
static void attempt_end(const md_drive_env_t *env, const md_t *md, md_job_t *job,
                        md_result_t *result, apr_status_t rv, apr_pool_t *p)
{
    if (rv == APR_SUCCESS) {
        CRASH_POINT("md-staged");
        md_result_set(result, APR_SUCCESS,
                      "The certificate has been renewed and will be activated on the next "
                      "graceful restart.");
    }
    else if (result->status == APR_SUCCESS) {
        /* A step failed without saying why: never report an error as success. */
        md_result_set(result, rv, "renewal failed");
    }
    md_job_end_run(job, result, apr_time_now());
    if (rv == APR_SUCCESS) {
        /* Told once the programs ran (tell_outcome); without any, told.
         * Else notified is what challenge-setup left (md_job_notified). */
        job->notified_renewed = !md_watch_notifies(env->watch);
        job->notified = job->notified || job->notified_renewed;
    }
    md_job_save(job, env->store, p);
    if (rv == APR_SUCCESS) {
        CRASH_POINT("job-finished");
    }
    tell_outcome(env, md, job, rv, p);
}

apr_status_t md_drive_renew(const md_drive_env_t *env, const md_t *md,
                            const apr_array_header_t *specs, md_job_t *job,
                            md_result_t *result, apr_pool_t *p)
{
    const char *ca_url = md_drive_ca_url(md, job->errors, env->retry_failover);
    int order = 0;
    apr_status_t rv;

    attempt_begin(env, md, ca_url, job, result, p);
    if (!specs || specs->nelts == 0) {
        specs = md_pkey_specs(md, p);
    }
    rv = attempt_check(&order, env, md, specs, ca_url, job, result, p);
    if (rv == APR_SUCCESS && order) {
        rv = attempt_order(env, md, specs, ca_url, job, result, p);
    }
    attempt_end(env, md, job, result, rv, p);
    return rv;
}
