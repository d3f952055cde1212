/* a2md add|list|update|status: managed domains through the registry's
 * view: names are checked against the other MDs, states are assessed from
 * the certificates in the store (md_reg_assess), status is the server's
 * md-status object (md_status.h) with its schedule (md_sched.h: when the
 * next attempt starts, and why). */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include "a2md.h"
#include "md_acme.h"
#include "md_acme_revoke.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_reg.h"
#include "md_sched.h"
#include "md_status.h"
#include "md_time.h"
#include "md_util.h"

#define A2MD_KEY_RENEW "renew"

/* Assess md's live certificates now; md->state follows. */
static md_reg_state_t *assess(a2md_ctx_t *ctx, md_t *md)
{
    md_reg_state_t *st = apr_pcalloc(ctx->p, sizeof(*st));

    md_reg_assess(st, ctx->store, md, apr_time_now(), ctx->p);
    md->state = st->state;
    md->state_descr = st->state_descr;
    st->watched = 1;    /* no virtual hosts here: a2md renews what it is asked to */
    return st;
}

/* md.json with the assessed state and "renew", as the stock a2md lists. */
static void print_assessed(a2md_ctx_t *ctx, md_t *md)
{
    md_reg_state_t *st = assess(ctx, md);
    json_t *extra = md_json_pool_own(ctx->p, json_object());
    int renew = md_sched_renew_at(st, 0, 0, NULL) <= apr_time_now();

    json_object_set_new(extra, A2MD_KEY_RENEW, json_boolean(renew));
    a2md_ctx_print_md(ctx, md, extra);
}

/* The MD that owns name: by its name, else by one of its domains. */
static md_t *find_md(const apr_array_header_t *mds, const char *name)
{
    int i;

    for (i = 0; i < mds->nelts; ++i) {
        md_t *md = MD_ARR_IDX(mds, i, md_t *);
        if (!strcmp(md->name, name)) {
            return md;
        }
    }
    for (i = 0; i < mds->nelts; ++i) {
        md_t *md = MD_ARR_IDX(mds, i, md_t *);
        if (md_array_str_index(md->domains, name, 0, 0) >= 0) {
            return md;
        }
    }
    return NULL;
}

/* No name of md may be in another MD (the registry's rule). */
static apr_status_t check_overlap(a2md_ctx_t *ctx, const md_t *md, const apr_array_header_t *mds)
{
    int i;

    for (i = 0; i < mds->nelts; ++i) {
        const md_t *other = MD_ARR_IDX(mds, i, const md_t *);
        const char *common;

        if (!strcmp(other->name, md->name)) {
            continue;
        }
        if ((common = md_common_name(md, other))
            || (md_array_str_index(md->domains, other->name, 0, 0) >= 0
                && (common = other->name))) {
            return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_EINVAL, "%s: %s is in managed "
                                 "domain %s already", md->name, common, other->name);
        }
    }
    return APR_SUCCESS;
}

/* Write md.json as md says, keeping what another module stored there. */
static apr_status_t save_md(a2md_ctx_t *ctx, md_t *md)
{
    json_t *stored = NULL;
    json_t *now;
    apr_status_t rv;

    md_store_load_json(ctx->store, MD_SG_DOMAINS, md->name, MD_FN_MD, &stored, ctx->p);
    if (!(now = md_reg_md_json(md, stored, ctx->p))) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_LOCAL, APR_ENOMEM, "%s: no memory", md->name);
    }
    rv = md_store_save_json(ctx->store, MD_SG_DOMAINS, md->name, MD_FN_MD, now, ctx->p);

    if (rv != APR_SUCCESS) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_LOCAL, rv, "%s: cannot save its md.json", md->name);
    }
    return APR_SUCCESS;
}

apr_status_t a2md_cmd_add(a2md_ctx_t *ctx)
{
    apr_array_header_t *domains;
    apr_array_header_t *mds;
    md_t *md;
    apr_status_t rv;

    if ((rv = a2md_ctx_domains(ctx, &domains, 0)) != APR_SUCCESS
        || (rv = a2md_ctx_store(ctx)) != APR_SUCCESS || (rv = a2md_ctx_lock(ctx)) != APR_SUCCESS
        || (rv = a2md_ctx_load_mds(ctx, &mds)) != APR_SUCCESS) {
        return rv;
    }
    md = md_create_empty(ctx->p);
    md->name = MD_ARR_IDX(domains, 0, const char *);
    md->domains = domains;
    if (ctx->args->ca_url) {
        APR_ARRAY_PUSH(md->ca_urls, const char *) = ctx->args->ca_url;
        md->ca_effective = ctx->args->ca_url;
    }
    md->ca_agreement = ctx->args->terms;
    if (md_store_exists(ctx->store, MD_SG_DOMAINS, md->name, MD_FN_MD, ctx->p)) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_EEXIST, "%s: is a managed domain "
                             "already", md->name);
    }
    if ((rv = check_overlap(ctx, md, mds)) != APR_SUCCESS || (rv = save_md(ctx, md)) != APR_SUCCESS
        || (rv = a2md_ctx_load_md(ctx, &md, md->name)) != APR_SUCCESS) {
        return rv;
    }
    print_assessed(ctx, md);
    return APR_SUCCESS;
}

apr_status_t a2md_cmd_list(a2md_ctx_t *ctx)
{
    const apr_array_header_t *args = ctx->args->args;
    apr_array_header_t *mds;
    apr_status_t rv;
    int i;

    if ((rv = a2md_ctx_store(ctx)) != APR_SUCCESS
        || (rv = a2md_ctx_load_mds(ctx, &mds)) != APR_SUCCESS) {
        return rv;
    }
    if (args->nelts == 0) {
        for (i = 0; i < mds->nelts; ++i) {
            print_assessed(ctx, MD_ARR_IDX(mds, i, md_t *));
        }
        return APR_SUCCESS;
    }
    for (i = 0; i < args->nelts; ++i) {
        const char *name = MD_ARR_IDX(args, i, const char *);
        md_t *md = find_md(mds, md_util_str_tolower(ctx->p, name));

        if (!md) {
            return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_ENOENT, "%s: no such managed domain "
                                 "in %s", md_util_str_printable(ctx->p, name, 256),
                                 ctx->args->dir);
        }
        print_assessed(ctx, md);
    }
    return APR_SUCCESS;
}

/* --- update ------------------------------------------------------------------ */

/* An http(s) URL with a host, a valid port and no spaces or controls. */
static int url_ok(const char *url, apr_pool_t *p)
{
    apr_uri_t uri;
    const char *c;

    for (c = url; *c; ++c) {
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f) {
            return 0;
        }
    }
    if (apr_uri_parse(p, url, &uri) != APR_SUCCESS || !uri.scheme || !uri.hostname
        || !*uri.hostname || (strcasecmp(uri.scheme, "http") && strcasecmp(uri.scheme, "https"))) {
        return 0;
    }
    if (uri.port_str) {
        apr_int64_t port;
        char *end;

        if (!*uri.port_str || !apr_isdigit(*uri.port_str)) {
            return 0;
        }
        port = apr_strtoi64(uri.port_str, &end, 10);
        if (*end || port < 1 || port > 65535) {
            return 0;
        }
    }
    return 1;
}

/* The value words of an aspect: args from index 2 on. */
static const char *value_at(a2md_ctx_t *ctx, int i)
{
    const apr_array_header_t *args = ctx->args->args;
    return i < args->nelts ? MD_ARR_IDX(args, i, const char *) : NULL;
}

static apr_status_t need_value(a2md_ctx_t *ctx, const char *aspect, const char *what)
{
    return a2md_ctx_fail(ctx, A2MD_EXIT_USAGE, APR_EINVAL, "update %s: needs %s", aspect, what);
}

static apr_status_t bad_value(a2md_ctx_t *ctx, const char *aspect, const char *value,
                              const char *accepted)
{
    return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_EINVAL, "update %s: '%s' is not %s", aspect,
                         md_util_str_printable(ctx->p, value, 256), accepted);
}

static int is_none(const char *v)
{
    return !v || !strcasecmp(v, "none");
}

/* on|off */
static apr_status_t set_flag(a2md_ctx_t *ctx, int *pflag, const char *aspect, const char *v)
{
    if (!v) {
        return need_value(ctx, aspect, "on or off");
    }
    if (!strcasecmp(v, "on") || !strcasecmp(v, "true")) {
        *pflag = 1;
    }
    else if (!strcasecmp(v, "off") || !strcasecmp(v, "false")) {
        *pflag = 0;
    }
    else {
        return bad_value(ctx, aspect, v, "on or off");
    }
    return APR_SUCCESS;
}

static apr_status_t update_pkeys(a2md_ctx_t *ctx, md_t *md)
{
    apr_array_header_t *specs = apr_array_make(ctx->p, 2, sizeof(md_pkey_spec_t *));
    int i = 2;

    while (value_at(ctx, i)) {
        md_pkey_spec_t *spec;
        const char *err = NULL;
        int used = 0;

        if (md_pkey_spec_parse(&spec, value_at(ctx, i), value_at(ctx, i + 1), &used, &err,
                               ctx->p) != APR_SUCCESS) {
            return bad_value(ctx, "pkey", value_at(ctx, i),
                             err ? err : "a key type (RSA [bits], P-256, P-384, ...)");
        }
        APR_ARRAY_PUSH(specs, md_pkey_spec_t *) = spec;
        i += 1 + used;
    }
    if (specs->nelts == 0) {
        return need_value(ctx, "pkey", "a key type (RSA [bits], P-256, P-384, ...)");
    }
    md->pkey_specs = specs;
    return APR_SUCCESS;
}

static apr_status_t update_challenges(a2md_ctx_t *ctx, md_t *md)
{
    apr_array_header_t *types = apr_array_make(ctx->p, 3, sizeof(const char *));
    int i;

    for (i = 2; value_at(ctx, i); ++i) {
        const char *t = value_at(ctx, i);
        if (!md_acme_challenge_type_get(t)) {
            return bad_value(ctx, "challenges", t, "http-01, tls-alpn-01 or dns-01");
        }
        md_array_str_add_missing(types, t);
    }
    md->ca_challenges = types->nelts ? types : NULL;
    return APR_SUCCESS;
}

static apr_status_t update_window(a2md_ctx_t *ctx, md_timeslice_t *ts, const char *aspect)
{
    const char *v = value_at(ctx, 2);
    const char *err = NULL;

    if (!v) {
        return need_value(ctx, aspect, "a duration or percentage (30d, 33%)");
    }
    if (md_timeslice_parse(ts, v, &err, ctx->p) != APR_SUCCESS) {
        return bad_value(ctx, aspect, v, err ? err : "a duration or percentage (30d, 33%)");
    }
    return APR_SUCCESS;
}

/* One aspect (args[1]) with its values (args[2..]) into md. */
static apr_status_t update_aspect(a2md_ctx_t *ctx, md_t *md, const apr_array_header_t *mds)
{
    const char *aspect = value_at(ctx, 1);
    const char *v = value_at(ctx, 2);
    apr_status_t rv;

    if (!strcmp(aspect, "domains")) {
        if ((rv = a2md_ctx_domains(ctx, &md->domains, 2)) != APR_SUCCESS) {
            return rv;
        }
        return check_overlap(ctx, md, mds);
    }
    if (!strcmp(aspect, "ca")) {
        if (!v) {
            return need_value(ctx, aspect, "the CA's directory URL");
        }
        if (!url_ok(v, ctx->p)) {
            return bad_value(ctx, aspect, v, "an http(s) URL");
        }
        md->ca_urls = apr_array_make(ctx->p, 1, sizeof(const char *));
        APR_ARRAY_PUSH(md->ca_urls, const char *) = v;
        md->ca_effective = v;
        if (value_at(ctx, 3)) {
            md->ca_proto = value_at(ctx, 3);
        }
        return APR_SUCCESS;
    }
    if (!strcmp(aspect, "account")) {
        md->ca_account = is_none(v) ? NULL : v;
        return APR_SUCCESS;
    }
    if (!strcmp(aspect, "contacts")) {
        return a2md_ctx_contacts(ctx, &md->contacts, 2);
    }
    if (!strcmp(aspect, "agreement")) {
        if (v && strcmp(v, "accepted") && !url_ok(v, ctx->p)) {
            return bad_value(ctx, aspect, v, "accepted or the URL of the terms of service");
        }
        md->ca_agreement = is_none(v) ? NULL : v;
        return APR_SUCCESS;
    }
    if (!strcmp(aspect, "challenges")) {
        return update_challenges(ctx, md);
    }
    if (!strcmp(aspect, "pkey") || !strcmp(aspect, "key")) {
        return update_pkeys(ctx, md);
    }
    if (!strcmp(aspect, "renew-window")) {
        return update_window(ctx, &md->renew_window, aspect);
    }
    if (!strcmp(aspect, "warn-window")) {
        return update_window(ctx, &md->warn_window, aspect);
    }
    if (!strcmp(aspect, "must-staple")) {
        return set_flag(ctx, &md->must_staple, aspect, v);
    }
    if (!strcmp(aspect, "renew-mode") || !strcmp(aspect, "drive-mode")) {
        if (!v) {
            return need_value(ctx, aspect, "auto, always or manual");
        }
        if (!strcasecmp(v, "auto")) {
            md->renew_mode = MD_RENEW_AUTO;
        }
        else if (!strcasecmp(v, "always")) {
            md->renew_mode = MD_RENEW_ALWAYS;
        }
        else if (!strcasecmp(v, "manual")) {
            md->renew_mode = MD_RENEW_MANUAL;
        }
        else {
            return bad_value(ctx, aspect, v, "auto, always or manual");
        }
        return APR_SUCCESS;
    }
    if (!strcmp(aspect, "require-https")) {
        if (!v) {
            return need_value(ctx, aspect, "off, temporary or permanent");
        }
        if (!strcasecmp(v, "off")) {
            md->require_https = MD_REQUIRE_OFF;
        }
        else if (!strcasecmp(v, "temporary")) {
            md->require_https = MD_REQUIRE_TEMPORARY;
        }
        else if (!strcasecmp(v, "permanent")) {
            md->require_https = MD_REQUIRE_PERMANENT;
        }
        else {
            return bad_value(ctx, aspect, v, "off, temporary or permanent");
        }
        return APR_SUCCESS;
    }
    if (!strcmp(aspect, "profile")) {
        md->profile = is_none(v) ? NULL : v;
        return APR_SUCCESS;
    }
    return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_ENOTIMPL, "update: unknown aspect '%s' "
                         "('a2md help update' lists them)",
                         md_util_str_printable(ctx->p, aspect, 64));
}

apr_status_t a2md_cmd_update(a2md_ctx_t *ctx)
{
    const char *name = value_at(ctx, 0);
    apr_array_header_t *mds;
    const md_t *found;
    md_t *md;
    apr_status_t rv;

    if ((rv = a2md_ctx_store(ctx)) != APR_SUCCESS || (rv = a2md_ctx_lock(ctx)) != APR_SUCCESS
        || (rv = a2md_ctx_load_mds(ctx, &mds)) != APR_SUCCESS) {
        return rv;
    }
    if (!(found = find_md(mds, md_util_str_tolower(ctx->p, name)))) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_ENOENT, "%s: no such managed domain in %s",
                             md_util_str_printable(ctx->p, name, 256), ctx->args->dir);
    }
    md = md_clone(ctx->p, found);
    if (ctx->args->ca_url && !url_ok(ctx->args->ca_url, ctx->p)) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_EINVAL, "-a: '%s' is not an http(s) URL",
                             md_util_str_printable(ctx->p, ctx->args->ca_url, 256));
    }
    if (ctx->args->ca_url && (!md->ca_effective || strcmp(md->ca_effective, ctx->args->ca_url))) {
        md->ca_urls = apr_array_make(ctx->p, 1, sizeof(const char *));
        APR_ARRAY_PUSH(md->ca_urls, const char *) = ctx->args->ca_url;
        md->ca_effective = ctx->args->ca_url;
    }
    if (ctx->args->args->nelts > 1 && (rv = update_aspect(ctx, md, mds)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = save_md(ctx, md)) != APR_SUCCESS
        || (rv = a2md_ctx_load_md(ctx, &md, md->name)) != APR_SUCCESS) {
        return rv;
    }
    print_assessed(ctx, md);
    return APR_SUCCESS;
}

/* --- status ------------------------------------------------------------------- */

static const char *state_name(long long state)
{
    static const char *const names[] = {
        "unknown", "incomplete", "complete", "expired", "error", "missing-info"
    };
    return state >= 0 && state < 6 ? names[state] : "?";
}

/* "2026-12-24 10:00" from an HTTP date, "-" without one. */
static const char *short_date(const char *http_date, apr_pool_t *p)
{
    apr_time_exp_t tm;
    apr_time_t t = http_date ? md_time_parse_http(http_date) : 0;
    char buf[32];
    apr_size_t n;

    if (!t || apr_time_exp_gmt(&tm, t) != APR_SUCCESS
        || apr_strftime(buf, &n, sizeof(buf), "%Y-%m-%d %H:%M", &tm) != APR_SUCCESS) {
        return "-";
    }
    return apr_pstrdup(p, buf);
}

/* When the next attempt starts, from the schedule in the md-status object
 * (md_sched.h, as the server decides it): "now", a date, "manual", "staged". */
static const char *renew_text(const md_t *md, const json_t *j, apr_time_t now, apr_pool_t *p)
{
    const json_t *sched = md_json_get_obj(j, MD_KEY_RENEW_SCHEDULE);
    const char *at = sched ? md_json_get_str(sched, MD_KEY_AT) : NULL;
    const json_t *renewal = md_json_get_obj(j, MD_KEY_RENEWAL);

    if (renewal && md_json_get_bool(renewal, MD_KEY_FINISHED, 0)) {
        return "staged";
    }
    if (md->renew_mode == MD_RENEW_MANUAL) {
        return "manual";
    }
    if (!at) {
        return "-";
    }
    return md_time_parse_http(at) <= now ? "now" : short_date(at, p);
}

/* One table row from the md-status object. */
static void print_row(const md_t *md, const json_t *j, int revoked, apr_time_t now,
                      apr_pool_t *p)
{
    const json_t *cert = md_json_get_obj(j, MD_KEY_CERT);
    const json_t *valid = cert ? md_json_get_obj(cert, MD_KEY_VALID) : NULL;
    const json_t *renewal = md_json_get_obj(j, MD_KEY_RENEWAL);
    const json_t *last = renewal ? md_json_get_obj(renewal, MD_KEY_LAST) : NULL;
    const json_t *sched = md_json_get_obj(j, MD_KEY_RENEW_SCHEDULE);
    const char *why = sched ? md_json_get_str(sched, MD_KEY_REASON) : NULL;
    const apr_array_header_t *specs = md_pkey_specs(md, p);
    apr_array_header_t *keys = apr_array_make(p, 2, sizeof(const char *));
    const char *error = "-";
    const char *state = state_name(md_json_get_int(j, MD_KEY_STATE, 0));
    int i;

    for (i = 0; i < specs->nelts; ++i) {
        APR_ARRAY_PUSH(keys, const char *) =
            md_pkey_spec_name(MD_ARR_IDX(specs, i, const md_pkey_spec_t *));
    }
    if (last && md_json_get_int(last, MD_KEY_STATUS, 0) != 0) {
        const char *d = md_json_get_str(last, MD_KEY_DETAIL);
        error = d ? md_util_str_printable(p, d, 60) : "failed";
    }
    if (revoked) {
        state = "revoked";
    }
    printf("%-30s %-12s %-18s %-17s %-17s %-18s %s\n", md->name, state,
           md_array_str_join(keys, ",", p),
           short_date(valid ? md_json_get_str(valid, MD_KEY_UNTIL) : NULL, p),
           renew_text(md, j, now, p), why ? why : "-", error);
}

apr_status_t a2md_cmd_status(a2md_ctx_t *ctx)
{
    const char *name = value_at(ctx, 0);
    apr_array_header_t *mds;
    apr_time_t now = apr_time_now();
    apr_status_t rv;
    int i, shown = 0;

    if ((rv = a2md_ctx_store(ctx)) != APR_SUCCESS
        || (rv = a2md_ctx_load_mds(ctx, &mds)) != APR_SUCCESS) {
        return rv;
    }
    if (name) {
        const md_t *md = find_md(mds, md_util_str_tolower(ctx->p, name));
        if (!md) {
            return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_ENOENT, "%s: no such managed domain "
                                 "in %s", md_util_str_printable(ctx->p, name, 256),
                                 ctx->args->dir);
        }
        mds = apr_array_make(ctx->p, 1, sizeof(md_t *));
        APR_ARRAY_PUSH(mds, const md_t *) = md;
    }
    if (!ctx->args->json) {
        printf("%-30s %-12s %-18s %-17s %-17s %-18s %s\n", "NAME", "STATE", "KEYS",
               "VALID UNTIL", "RENEW", "WHY", "LAST ERROR");
    }
    for (i = 0; i < mds->nelts; ++i) {
        md_t *md = MD_ARR_IDX(mds, i, md_t *);
        md_reg_state_t *st = assess(ctx, md);
        md_status_snap_t *snap = md_status_snap_make(ctx->store, st, ctx->p);
        json_t *j = md_status_md_load(ctx->store, snap, name != NULL, now, ctx->p);

        if (ctx->args->json) {
            a2md_ctx_out(ctx, j);
        }
        else {
            print_row(md, j, md_acme_revoke_pending(ctx->store, md->name, ctx->p), now, ctx->p);
        }
        ++shown;
    }
    return APR_SUCCESS;
}
