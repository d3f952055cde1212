/* a2md drive and a2md revoke: getting certificates (md_drive_renew, as the
 * server's watchdog does) and revoking them (md_acme_revoke_cert). Both
 * read what they need from domains/ as root first, then do the rest as
 * the server's User (a2md_ctx_become_user), so that everything they write
 * into staging/, challenges/ and accounts/ belongs to the server. */
#include <string.h>

#include <apr_strings.h>

#include "a2md.h"
#include "md_acme.h"
#include "md_acme_revoke.h"
#include "md_drive.h"
#include "md_job.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_reg.h"
#include "md_sched.h"
#include "md_status.h"
#include "md_time.h"
#include "md_util.h"
#include "md_version.h"

#define A2MD_USER_AGENT     "a2md/" MD_VERSION
#define A2MD_ACME_TIMEOUT   apr_time_from_sec(120)
#define A2MD_DNS01_TIMEOUT  apr_time_from_sec(120)

/* The options that change an MD for this run only: -a, -t, -p, -c, -e. */
static apr_status_t apply_overrides(a2md_ctx_t *ctx, md_t *md, const md_conf_eab_t *eab)
{
    const char *types = a2md_args_get(ctx->args, "challenge");

    if (eab) {
        md->ca_eab_kid = eab->kid;
        md->ca_eab_hmac = eab->hmac;
        md->ca_eab_alg = eab->alg;
    }

    if (ctx->args->ca_url) {
        md->ca_urls = apr_array_make(ctx->p, 1, sizeof(const char *));
        APR_ARRAY_PUSH(md->ca_urls, const char *) = ctx->args->ca_url;
        md->ca_effective = ctx->args->ca_url;
    }
    if (ctx->args->terms) {
        md->ca_agreement = ctx->args->terms;
    }
    if (ctx->args->proxy) {
        md->http_proxy = ctx->args->proxy;
    }
    if (types) {
        char *list = apr_pstrdup(ctx->p, types);
        char *last = NULL;
        char *t;

        md->ca_challenges = apr_array_make(ctx->p, 3, sizeof(const char *));
        for (t = apr_strtok(list, ", ", &last); t; t = apr_strtok(NULL, ", ", &last)) {
            if (!md_acme_challenge_type_get(t)) {
                return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_EINVAL, "-c: '%s' is not a "
                                     "challenge type (http-01, tls-alpn-01, dns-01)",
                                     md_util_str_printable(ctx->p, t, 64));
            }
            md_array_str_add_missing(md->ca_challenges, t);
        }
    }
    if (!md->ca_urls || md->ca_urls->nelts == 0) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_EINVAL, "%s: has no CA: give -a <url> "
                             "or set one with 'a2md update %s ca <url>'", md->name, md->name);
    }
    return APR_SUCCESS;
}

/* Where the CA's ports 80 and 443 arrive, as the server recorded it in
 * httpd.json at its last start; 80 and 443 on this host without it. */
static void server_ports(a2md_ctx_t *ctx, md_drive_env_t *env)
{
    json_t *j = NULL;
    const json_t *ports;

    env->http_port = 80;
    env->https_port = 443;
    env->http_host = "127.0.0.1";
    env->https_host = "127.0.0.1";
    if (md_store_load_json(ctx->store, MD_SG_NONE, NULL, MD_FN_HTTPD_JSON, &j, ctx->p)
        != APR_SUCCESS || !(ports = md_json_get_obj(j, MD_KEY_PORTS))) {
        return;
    }
    env->http_port = (int)md_json_get_int(ports, MD_KEY_HTTP, 0);
    env->https_port = (int)md_json_get_int(ports, MD_KEY_HTTPS, 0);
}

/* Everything in staging/<name> but the revocation marker. */
static void reset_staging(a2md_ctx_t *ctx, const md_t *md)
{
    apr_array_header_t *aspects;
    int i;

    if (md_store_list_aspects(ctx->store, MD_SG_STAGING, md->name, &aspects, ctx->p)
        != APR_SUCCESS) {
        return;
    }
    for (i = 0; i < aspects->nelts; ++i) {
        const char *aspect = MD_ARR_IDX(aspects, i, const char *);
        if (strcmp(aspect, MD_FN_REVOKED)) {
            md_store_remove(ctx->store, MD_SG_STAGING, md->name, aspect, ctx->p);
        }
    }
}

/* What drive_one needs of an MD, gathered as root (domains/ is root's). */
typedef struct {
    md_t *md;
    md_reg_state_t *st;
    apr_time_t ari_at;          /* time picked in the CA's ARI window, 0: none */
} drive_md_t;

static apr_status_t drive_one(a2md_ctx_t *ctx, const md_drive_env_t *env, const drive_md_t *d)
{
    md_t *md = d->md;
    const md_reg_state_t *st = d->st;
    int force = a2md_args_has(ctx->args, "force");
    int revoked = md_acme_revoke_pending(ctx->store, md->name, ctx->p);
    apr_time_t now = apr_time_now();
    const apr_array_header_t *specs;
    md_result_t *result = md_result_make(ctx->p, md->name);
    md_sched_why_t why;
    apr_time_t renew_at;
    md_job_t *job;
    json_t *j = NULL;
    md_t *staged = NULL;
    apr_status_t rv;

    /* When the server would renew it (the renew mode aside: the admin
     * asks), by the same rules (md_sched.h): window, ARI, revocation. */
    renew_at = md_sched_renew_at(st, d->ari_at, revoked, &why);
    if (!force && renew_at > now) {
        a2md_ctx_note(ctx, "%s: up-to-date, renewal due %s (%s)", md->name,
                      md_time_format_http(renew_at, ctx->p), md_sched_why_name(why));
        a2md_ctx_print_md(ctx, md, NULL);
        return APR_SUCCESS;
    }
    if (force || a2md_args_has(ctx->args, "reset")) {
        reset_staging(ctx, md);
    }
    specs = (force || revoked) ? NULL : md_reg_specs_to_renew(st, now);
    job = md_job_create(ctx->p, md->name);
    md_job_load(job, ctx->store, ctx->p);
    a2md_ctx_note(ctx, "%s: %s", md->name, force ? "forcing renewal"
                  : revoked ? "certificate revoked, renewing"
                  : st->has_cert ? "renewal is due" : "getting a certificate");
    rv = md_drive_renew(env, md, specs, job, result, ctx->p);
    if (rv != APR_SUCCESS) {
        return a2md_ctx_fail_result(ctx, result, rv, md->name);
    }
    a2md_ctx_note(ctx, "%s: the new certificate is staged; the server puts it live by itself "
                  "(MDActivationAuto) or at its next graceful restart", md->name);
    if (md_store_load_json(ctx->store, MD_SG_STAGING, md->name, MD_FN_MD, &j, ctx->p)
        == APR_SUCCESS && md_from_json(&staged, j, MD_FN_MD, ctx->p) == APR_SUCCESS) {
        a2md_ctx_print_md(ctx, staged, NULL);
    }
    return APR_SUCCESS;
}

apr_status_t a2md_cmd_drive(a2md_ctx_t *ctx)
{
    const apr_array_header_t *names = ctx->args->args;
    const md_conf_eab_t *eab;
    apr_array_header_t *mds;
    drive_md_t *todo;
    md_drive_env_t env;
    apr_status_t rv, first = APR_SUCCESS;
    int i;

    if ((rv = a2md_ctx_eab(ctx, &eab)) != APR_SUCCESS || (rv = a2md_ctx_store(ctx)) != APR_SUCCESS
        || (rv = a2md_ctx_lock(ctx)) != APR_SUCCESS) {
        return rv;
    }
    /* Root's part: the MDs and their live certificates (domains/). */
    if (names->nelts == 0) {
        if ((rv = a2md_ctx_load_mds(ctx, &mds)) != APR_SUCCESS) {
            return rv;
        }
    }
    else {
        mds = apr_array_make(ctx->p, names->nelts, sizeof(md_t *));
        for (i = 0; i < names->nelts; ++i) {
            md_t *md;
            if ((rv = a2md_ctx_load_md(ctx, &md, MD_ARR_IDX(names, i, const char *)))
                != APR_SUCCESS) {
                return rv;
            }
            APR_ARRAY_PUSH(mds, md_t *) = md;
        }
    }
    todo = apr_pcalloc(ctx->p, sizeof(*todo) * (apr_size_t)(mds->nelts + 1));
    for (i = 0; i < mds->nelts; ++i) {
        drive_md_t *d = &todo[i];
        md_sched_in_t in;
        md_sched_job_t job;

        d->md = MD_ARR_IDX(mds, i, md_t *);
        d->st = apr_pcalloc(ctx->p, sizeof(*d->st));
        if ((rv = apply_overrides(ctx, d->md, eab)) != APR_SUCCESS) {
            return rv;
        }
        md_reg_assess(d->st, ctx->store, d->md, apr_time_now(), ctx->p);
        /* The CA's window for the live certificates, as the server has it. */
        md_status_sched_in(&in, &job, ctx->store, md_status_snap_make(ctx->store, d->st, ctx->p),
                           NULL, ctx->p);
        d->ari_at = in.ari_at;
    }
    if ((rv = a2md_ctx_become_user(ctx)) != APR_SUCCESS) {
        return rv;
    }

    memset(&env, 0, sizeof(env));
    env.store = ctx->store;
    env.ca_file = ctx->args->ca_file;
    env.user_agent = A2MD_USER_AGENT;
    env.authz_timeout = A2MD_ACME_TIMEOUT;
    env.order_timeout = A2MD_ACME_TIMEOUT;
    env.dns01_timeout = A2MD_DNS01_TIMEOUT;
    server_ports(ctx, &env);
    for (i = 0; i < mds->nelts; ++i) {
        /* Keep going: one MD failing must not stop the others. */
        rv = drive_one(ctx, &env, &todo[i]);
        if (rv != APR_SUCCESS && first == APR_SUCCESS) {
            first = rv;
        }
    }
    return first;
}

/* --- revoke -------------------------------------------------------------------- */

typedef struct {
    const md_pkey_spec_t *spec;
    md_cert_t *cert;
    md_pkey_t *key;
} live_cert_t;

/* The live certificates (and keys) of md, one per key spec that has one. */
static apr_status_t load_live(a2md_ctx_t *ctx, const md_t *md, apr_array_header_t **plive)
{
    const apr_array_header_t *specs = md_pkey_specs(md, ctx->p);
    int i;

    *plive = apr_array_make(ctx->p, specs->nelts, sizeof(live_cert_t));
    for (i = 0; i < specs->nelts; ++i) {
        const md_pkey_spec_t *spec = MD_ARR_IDX(specs, i, const md_pkey_spec_t *);
        apr_array_header_t *chain = NULL;
        live_cert_t *lc;
        apr_status_t rv;

        rv = md_store_load_certs(ctx->store, MD_SG_DOMAINS, md->name,
                                 md_reg_cert_fname(spec, ctx->p), &chain, ctx->p);
        if (APR_STATUS_IS_ENOENT(rv)) {
            continue;
        }
        if (rv != APR_SUCCESS || chain->nelts == 0) {
            return a2md_ctx_fail(ctx, a2md_exit_of_store(rv), rv, "%s: the %s certificate in "
                                 "the store is unreadable", md->name, md_pkey_spec_name(spec));
        }
        lc = apr_array_push(*plive);
        lc->spec = spec;
        lc->cert = MD_ARR_IDX(chain, 0, md_cert_t *);
        lc->key = NULL;
        /* For revoking by key; without it only the account can. */
        md_store_load_pkey(ctx->store, MD_SG_DOMAINS, md->name, md_reg_pkey_fname(spec, ctx->p),
                           &lc->key, ctx->p);
    }
    if ((*plive)->nelts == 0) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_ENOENT, "%s: has no live certificate "
                             "to revoke", md->name);
    }
    return APR_SUCCESS;
}

/* The account to sign with: the MD's, else one matching its contacts.
 * *pfound 0 when there is none (the certificate's key signs then). */
static apr_status_t use_account(a2md_ctx_t *ctx, md_acme_t *acme, const md_t *md, int *pfound,
                                md_result_t *result)
{
    apr_status_t rv;

    *pfound = 0;
    if (md->ca_account && md_acme_acct_load(acme, md->ca_account, ctx->p) == APR_SUCCESS) {
        *pfound = 1;
        return APR_SUCCESS;
    }
    rv = md_acme_acct_find(acme, md->contacts, result, ctx->p);
    if (rv == APR_SUCCESS) {
        *pfound = 1;
    }
    else if (APR_STATUS_IS_ENOENT(rv)) {
        md_result_reset(result);
        rv = APR_SUCCESS;
    }
    return rv;
}

static apr_status_t revoke_one(a2md_ctx_t *ctx, md_acme_t *acme, live_cert_t *lc, int by_key,
                               int reason, md_result_t *result)
{
    apr_status_t rv;

    if (!by_key) {
        rv = md_acme_revoke_cert(acme, lc->cert, NULL, reason, result, ctx->p);
        if (!APR_STATUS_IS_EACCES(rv) || !lc->key) {
            return rv;
        }
        /* Not this account's certificate (another one issued it). */
        md_log_perror(MD_LOG_MARK, MD_LOG_INFO, rv, ctx->p, "MD23010: the account may not "
                      "revoke %s (%s), signing with the certificate's key",
                      md_cert_serial_hex(lc->cert, ctx->p), result->detail);
        md_result_reset(result);
    }
    if (!lc->key) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_ENOENT, "the key of certificate %s is "
                             "not in the store and no account can revoke it",
                             md_cert_serial_hex(lc->cert, ctx->p));
    }
    return md_acme_revoke_cert(acme, lc->cert, lc->key, reason, result, ctx->p);
}

/* The MD's CA (or -a's), set up; unless by_key, with the account to sign
 * with (*phave_acct 0 when none was found: the certificates' keys sign). */
static apr_status_t revoke_ca(a2md_ctx_t *ctx, const md_t *md, int by_key, md_acme_t **pacme,
                              int *phave_acct, md_result_t *result)
{
    const char *ca_url;
    apr_status_t rv;

    *phave_acct = 0;
    ca_url = ctx->args->ca_url ? ctx->args->ca_url : md_drive_ca_url(md, 0, 0);
    if (!ca_url) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_EINVAL, "%s: has no CA: give -a <url>",
                             md->name);
    }
    if ((rv = md_acme_create(pacme, ctx->p, ca_url, ctx->args->ca_file, ctx->store))
        != APR_SUCCESS) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, rv, "'%s' is not a usable CA URL", ca_url);
    }
    md_acme_set_proxy(*pacme, ctx->args->proxy ? ctx->args->proxy : md->http_proxy, NULL);
    if ((rv = md_acme_setup(*pacme, result)) != APR_SUCCESS
        || (!by_key && (rv = use_account(ctx, *pacme, md, phave_acct, result)) != APR_SUCCESS)) {
        return a2md_ctx_fail_result(ctx, result, rv, md->name);
    }
    return APR_SUCCESS;
}

/* One revoked certificate into the output: the JSON list, and a line
 * unless -j. */
static void print_revoked(a2md_ctx_t *ctx, const md_t *md, const live_cert_t *lc,
                          const char *serial, json_t *list)
{
    json_t *e = json_object();

    md_json_set_str(e, MD_KEY_SERIAL, serial);
    md_json_set_str(e, MD_KEY_TYPE, md_pkey_spec_name(lc->spec));
    json_array_append_new(list, e);
    if (!ctx->args->json) {
        printf("revoked: %s %s (%s)\n", md->name, serial, md_pkey_spec_name(lc->spec));
    }
}

/* Record the revoked serials in the store, so the MD gets new certificates. */
static apr_status_t mark_revoked(a2md_ctx_t *ctx, const md_t *md,
                                 const apr_array_header_t *serials, int reason)
{
    apr_status_t rv = md_acme_revoke_mark(ctx->store, md->name, serials, reason, ctx->p);

    if (rv != APR_SUCCESS) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_LOCAL, rv, "%s: revoked, but the store could "
                             "not record it: run 'a2md drive -f %s'", md->name, md->name);
    }
    a2md_ctx_note(ctx, "%s: %s", md->name, md->renew_mode == MD_RENEW_MANUAL
                  ? "MDRenewMode manual: get a new certificate with 'a2md drive'"
                  : "a running server renews it now");
    return APR_SUCCESS;
}

apr_status_t a2md_cmd_revoke(a2md_ctx_t *ctx)
{
    const char *name = MD_ARR_IDX(ctx->args->args, 0, const char *);
    const char *rname = ctx->args->args->nelts > 1
                      ? MD_ARR_IDX(ctx->args->args, 1, const char *) : NULL;
    int by_key = a2md_args_has(ctx->args, "by-key");
    int reason = MD_REVOKE_REASON_NONE;
    md_result_t *result = md_result_make(ctx->p, name);
    apr_array_header_t *live;
    apr_array_header_t *serials;
    md_acme_t *acme;
    json_t *out;
    json_t *list;
    md_t *md;
    int i, have_acct = 0;
    apr_status_t rv;

    if (rname && md_acme_revoke_reason_parse(&reason, rname) != APR_SUCCESS) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_EINVAL, "revoke: '%s' is not a reason "
                             "(keyCompromise, superseded, cessationOfOperation, ...)",
                             md_util_str_printable(ctx->p, rname, 64));
    }
    if ((rv = a2md_ctx_store(ctx)) != APR_SUCCESS
        || (rv = a2md_ctx_load_md(ctx, &md, name)) != APR_SUCCESS
        || (rv = load_live(ctx, md, &live)) != APR_SUCCESS
        || (rv = a2md_ctx_become_user(ctx)) != APR_SUCCESS
        || (rv = revoke_ca(ctx, md, by_key, &acme, &have_acct, result)) != APR_SUCCESS) {
        return rv;
    }

    serials = apr_array_make(ctx->p, live->nelts, sizeof(const char *));
    out = md_json_pool_own(ctx->p, json_object());
    list = json_array();
    md_json_set_str(out, MD_KEY_NAME, md->name);
    md_json_set_str(out, MD_KEY_REASON, md_acme_revoke_reason_name(reason));
    json_object_set_new(out, MD_KEY_REVOKED, list);
    for (i = 0; i < live->nelts; ++i) {
        live_cert_t *lc = &APR_ARRAY_IDX(live, i, live_cert_t);
        const char *serial = md_cert_serial_hex(lc->cert, ctx->p);

        rv = revoke_one(ctx, acme, lc, by_key || !have_acct, reason, result);
        if (rv != APR_SUCCESS) {
            break;
        }
        APR_ARRAY_PUSH(serials, const char *) = serial;
        print_revoked(ctx, md, lc, serial, list);
    }
    /* Whatever was revoked must be replaced, also after a later failure. */
    if (serials->nelts > 0) {
        apr_status_t rv2 = mark_revoked(ctx, md, serials, reason);
        if (rv2 != APR_SUCCESS) {
            return rv2;
        }
    }
    if (rv != APR_SUCCESS) {
        return ctx->error ? rv : a2md_ctx_fail_result(ctx, result, rv, md->name);
    }
    a2md_ctx_out(ctx, out);
    return APR_SUCCESS;
}
