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

/* What one aspect's handler works on: `a2md update NAME ASPECT VALUE...`. */
typedef struct {
    a2md_ctx_t *ctx;
    md_t *md;                       /* the clone being updated */
    const apr_array_header_t *mds;  /* all MDs, for the overlap check */
    const char *aspect;             /* args[1] as typed */
    const char *value;              /* args[2], NULL when absent */
} update_t;

/* A keyword a value may be (any case) and what it sets. */
typedef struct {
    const char *word;
    int value;
} keyword_t;

static const keyword_t RENEW_MODES[] = {
    { "auto", MD_RENEW_AUTO },
    { "always", MD_RENEW_ALWAYS },
    { "manual", MD_RENEW_MANUAL },
    { NULL, 0 },
};

static const keyword_t REQUIRE_HTTPS[] = {
    { "off", MD_REQUIRE_OFF },
    { "temporary", MD_REQUIRE_TEMPORARY },
    { "permanent", MD_REQUIRE_PERMANENT },
    { NULL, 0 },
};

/* u->value as one of words; accepted lists them for the messages. */
static apr_status_t parse_keyword(update_t *u, int *pvalue, const keyword_t *words,
                                  const char *accepted)
{
    if (!u->value) {
        return need_value(u->ctx, u->aspect, accepted);
    }
    for (; words->word; ++words) {
        if (!strcasecmp(u->value, words->word)) {
            *pvalue = words->value;
            return APR_SUCCESS;
        }
    }
    return bad_value(u->ctx, u->aspect, u->value, accepted);
}

static apr_status_t update_domains(update_t *u)
{
    apr_status_t rv;

    if ((rv = a2md_ctx_domains(u->ctx, &u->md->domains, 2)) != APR_SUCCESS) {
        return rv;
    }
    return check_overlap(u->ctx, u->md, u->mds);
}

/* The CA's directory URL, optionally followed by its protocol. */
static apr_status_t update_ca(update_t *u)
{
    md_t *md = u->md;

    if (!u->value) {
        return need_value(u->ctx, u->aspect, "the CA's directory URL");
    }
    if (!url_ok(u->value, u->ctx->p)) {
        return bad_value(u->ctx, u->aspect, u->value, "an http(s) URL");
    }
    md->ca_urls = apr_array_make(u->ctx->p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(md->ca_urls, const char *) = u->value;
    md->ca_effective = u->value;
    if (value_at(u->ctx, 3)) {
        md->ca_proto = value_at(u->ctx, 3);
    }
    return APR_SUCCESS;
}

static apr_status_t update_account(update_t *u)
{
    u->md->ca_account = is_none(u->value) ? NULL : u->value;
    return APR_SUCCESS;
}

static apr_status_t update_contacts(update_t *u)
{
    return a2md_ctx_contacts(u->ctx, &u->md->contacts, 2);
}

static apr_status_t update_agreement(update_t *u)
{
    const char *v = u->value;

    if (v && strcmp(v, "accepted") && !url_ok(v, u->ctx->p)) {
        return bad_value(u->ctx, u->aspect, v, "accepted or the URL of the terms of service");
    }
    u->md->ca_agreement = is_none(v) ? NULL : v;
    return APR_SUCCESS;
}

/* Each key spec is a type with an optional parameter (RSA 3072), so the
 * values are consumed by md_pkey_spec_parse, not one per word. */
static apr_status_t update_pkeys(update_t *u)
{
    a2md_ctx_t *ctx = u->ctx;
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
    u->md->pkey_specs = specs;
    return APR_SUCCESS;
}

static apr_status_t update_challenges(update_t *u)
{
    a2md_ctx_t *ctx = u->ctx;
    apr_array_header_t *types = apr_array_make(ctx->p, 3, sizeof(const char *));
    int i;

    for (i = 2; value_at(ctx, i); ++i) {
        const char *t = value_at(ctx, i);
        if (!md_acme_challenge_type_get(t)) {
            return bad_value(ctx, "challenges", t, "http-01, tls-alpn-01 or dns-01");
        }
        APR_ARRAY_PUSH(types, const char *) = t;
    }
    u->md->ca_challenges = types->nelts ? types : NULL;
    return APR_SUCCESS;
}

static apr_status_t update_window(update_t *u, md_timeslice_t *ts)
{
    const char *err = NULL;

    if (!u->value) {
        return need_value(u->ctx, u->aspect, "a duration or percentage (30d, 33%)");
    }
    if (md_timeslice_parse(ts, u->value, &err, u->ctx->p) != APR_SUCCESS) {
        return bad_value(u->ctx, u->aspect, u->value,
                         err ? err : "a duration or percentage (30d, 33%)");
    }
    return APR_SUCCESS;
}

static apr_status_t update_renew_window(update_t *u)
{
    return update_window(u, &u->md->renew_window);
}

static apr_status_t update_warn_window(update_t *u)
{
    return update_window(u, &u->md->warn_window);
}

static apr_status_t update_must_staple(update_t *u)
{
    return set_flag(u->ctx, &u->md->must_staple, u->aspect, u->value);
}

static apr_status_t update_renew_mode(update_t *u)
{
    int mode;
    apr_status_t rv;

    rv = parse_keyword(u, &mode, RENEW_MODES, "auto, always or manual");
    if (rv == APR_SUCCESS) {
        u->md->renew_mode = (md_renew_mode_t)mode;
    }
    return rv;
}

static apr_status_t update_require_https(update_t *u)
{
    int req;
    apr_status_t rv;

    rv = parse_keyword(u, &req, REQUIRE_HTTPS, "off, temporary or permanent");
    if (rv == APR_SUCCESS) {
        u->md->require_https = (md_require_t)req;
    }
    return rv;
}

static apr_status_t update_profile(update_t *u)
{
    u->md->profile = is_none(u->value) ? NULL : u->value;
    return APR_SUCCESS;
}

/* The aspects `a2md update` knows ('a2md help update' lists them);
 * "key" and "drive-mode" are aliases of "pkey" and "renew-mode". */
static const struct {
    const char *name;
    apr_status_t (*update)(update_t *u);
} UPDATE_ASPECTS[] = {
    { "domains", update_domains },
    { "ca", update_ca },
    { "account", update_account },
    { "contacts", update_contacts },
    { "agreement", update_agreement },
    { "challenges", update_challenges },
    { "pkey", update_pkeys },
    { "key", update_pkeys },
    { "renew-window", update_renew_window },
    { "warn-window", update_warn_window },
    { "must-staple", update_must_staple },
    { "renew-mode", update_renew_mode },
    { "drive-mode", update_renew_mode },
    { "require-https", update_require_https },
    { "profile", update_profile },
};

/* One aspect (args[1]) with its values (args[2..]) into md. */
static apr_status_t update_aspect(a2md_ctx_t *ctx, md_t *md, const apr_array_header_t *mds)
{
    update_t u = { ctx, md, mds, value_at(ctx, 1), value_at(ctx, 2) };
    size_t i;

    for (i = 0; i < sizeof(UPDATE_ASPECTS) / sizeof(UPDATE_ASPECTS[0]); ++i) {
        if (!strcmp(u.aspect, UPDATE_ASPECTS[i].name)) {
            return UPDATE_ASPECTS[i].update(&u);
        }
    }
    return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_ENOTIMPL, "update: unknown aspect '%s' "
                         "('a2md help update' lists them)",
                         md_util_str_printable(ctx->p, u.aspect, 64));
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
