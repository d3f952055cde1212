/* ACME authorizations and challenges (RFC 8555 §7.5, §8). Challenge types
 * live in one table: http-01 here, tls-alpn-01 (RFC 8737) and dns-01 in
 * md_acme_chal.c, each with its own setup and teardown. */
#include <string.h>
#include <arpa/inet.h>

#include <apr_strings.h>

#include "md.h"
#include "md_acme.h"
#include "md_acme_int.h"
#include "md_dns.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_util.h"

#define CHALLENGE_HTTP01  MD_CHAL_HTTP01

static const char *const authz_status_names[] = {
    [MD_ACME_AUTHZ_PENDING] = "pending",
    [MD_ACME_AUTHZ_VALID] = "valid",
    [MD_ACME_AUTHZ_INVALID] = "invalid",
    [MD_ACME_AUTHZ_DEACTIVATED] = "deactivated",
    [MD_ACME_AUTHZ_EXPIRED] = "expired",
    [MD_ACME_AUTHZ_REVOKED] = "revoked",
};
#define N_AUTHZ_STATUS (sizeof(authz_status_names) / sizeof(authz_status_names[0]))

const char *md_acme_authz_status_name(md_acme_authz_status_t status)
{
    if ((unsigned)status >= N_AUTHZ_STATUS) {
        return "unknown";
    }
    return authz_status_names[status];
}

apr_status_t md_acme_authz_status_parse(md_acme_authz_status_t *pstatus, const char *s)
{
    unsigned i;

    for (i = 0; s && i < N_AUTHZ_STATUS; ++i) {
        if (!strcmp(s, authz_status_names[i])) {
            *pstatus = (md_acme_authz_status_t)i;
            return APR_SUCCESS;
        }
    }
    return APR_EINVAL;
}

static md_result_t *result_or_scratch(md_result_t *result, apr_pool_t *p)
{
    return result ? result : md_result_make(p, NULL);
}

/* --- challenge types ------------------------------------------------------ */

static apr_status_t http01_setup(const md_acme_chal_env_t *env, md_acme_t *acme,
                                 const char *domain, const char *token, const char *key_authz,
                                 md_result_t *result, apr_pool_t *p)
{
    apr_status_t rv;

    if (!env || !env->store) {
        md_result_printf(result, APR_EINVAL, "http-01 for %s needs a store", domain);
        return APR_EINVAL;
    }
    /* The server answers /.well-known/acme-challenge/<token> from this file
     * when the token is the prefix of what it holds. */
    rv = md_store_save_text(env->store, MD_SG_CHALLENGES, domain, MD_FN_HTTP01, key_authz, p);
    if (rv != APR_SUCCESS) {
        md_result_printf(result, rv, "saving the http-01 response for %s failed", domain);
        return rv;
    }
    return md_acme_chal_check_http01(env, acme, domain, token, key_authz, result, p);
}

static apr_status_t http01_teardown(const md_acme_chal_env_t *env, md_acme_t *acme,
                                    const char *domain, md_result_t *result, apr_pool_t *p)
{
    (void)acme;
    return md_acme_chal_remove(env, domain, MD_FN_HTTP01, result, p);
}

static const md_acme_challenge_type_t challenge_types[] = {
    { CHALLENGE_HTTP01, http01_setup, http01_teardown },
    { MD_CHAL_TLSALPN01, md_acme_chal_tlsalpn01_setup, md_acme_chal_tlsalpn01_teardown },
    { MD_CHAL_DNS01, md_acme_chal_dns01_setup, md_acme_chal_dns01_teardown },
};
#define N_CHALLENGE_TYPES (sizeof(challenge_types) / sizeof(challenge_types[0]))

const md_acme_challenge_type_t *md_acme_challenge_type_get(const char *name)
{
    size_t i;

    for (i = 0; name && i < N_CHALLENGE_TYPES; ++i) {
        if (!strcmp(name, challenge_types[i].name)) {
            return &challenge_types[i];
        }
    }
    return NULL;
}

/* --- parsing -------------------------------------------------------------- */

static int is_ip_literal(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* The identifier becomes a store name: check it against its grammar first. */
static apr_status_t parse_identifier(const char **pdomain, const json_t *j, const char *url,
                                     md_result_t *result, apr_pool_t *p)
{
    const json_t *ident = md_json_get_obj(j, MD_KEY_IDENTIFIER);
    const char *type = ident ? md_json_get_str(ident, MD_KEY_TYPE) : NULL;
    const char *value = ident ? md_json_get_str(ident, MD_KEY_VALUE) : NULL;
    const char *why = NULL;

    *pdomain = NULL;
    if (!type || !value) {
        why = "no identifier type and value";
    }
    else if (!strcmp(type, "dns")) {
        if (!md_dns_is_name(value, 0, 1, &why)) {
            why = why ? why : "not a DNS name";
        }
    }
    else if (!strcmp(type, "ip")) {
        if (!is_ip_literal(value)) {
            why = "not an IP address";
        }
    }
    else {
        why = "unsupported identifier type";
    }
    if (why) {
        md_result_printf(result, APR_EINVAL, "authorization %s: %s (%s '%s')", url, why,
                         type ? md_util_str_printable(p, type, 32) : "",
                         value ? md_util_str_printable(p, value, 256) : "");
        return APR_EINVAL;
    }
    *pdomain = md_util_str_tolower(p, value);
    return APR_SUCCESS;
}

apr_status_t md_acme_authz_parse(md_acme_authz_t **pauthz, md_acme_t *acme, const json_t *j,
                                 const char *url, md_result_t *result, apr_pool_t *p)
{
    md_acme_authz_t *authz;
    const json_t *chs;
    json_t *ch;
    const char *s;
    size_t i;
    apr_status_t rv;

    (void)acme;
    *pauthz = NULL;
    if (!json_is_object(j)) {
        md_result_printf(result, APR_EINVAL, "authorization %s: the CA sent no object", url);
        return APR_EINVAL;
    }
    authz = apr_pcalloc(p, sizeof(*authz));
    authz->url = apr_pstrdup(p, url);
    if ((rv = parse_identifier(&authz->domain, j, url, result, p)) != APR_SUCCESS) {
        return rv;
    }
    s = md_json_get_str(j, MD_KEY_STATUS);
    if (md_acme_authz_status_parse(&authz->status, s) != APR_SUCCESS) {
        md_result_printf(result, APR_EINVAL, "authorization %s for %s has an unknown status "
                         "'%s'", url, authz->domain,
                         s ? md_util_str_printable(p, s, 64) : "(missing)");
        return APR_EINVAL;
    }
    authz->wildcard = md_json_get_bool(j, MD_KEY_WILDCARD, 0);
    chs = md_json_get_array(j, MD_KEY_CHALLENGES);
    if (!chs || json_array_size(chs) > MD_ACME_MAX_CHALLENGES) {
        md_result_printf(result, APR_EINVAL, "authorization %s for %s: '%s' is missing or too "
                         "long", url, authz->domain, MD_KEY_CHALLENGES);
        return APR_EINVAL;
    }
    authz->challenges = md_json_pool_own(p, json_deep_copy(chs));
    if (!authz->challenges) {
        return APR_ENOMEM;
    }
    json_array_foreach(authz->challenges, i, ch) {
        if (!json_is_object(ch) || !md_json_get_str(ch, MD_KEY_TYPE)) {
            md_result_printf(result, APR_EINVAL, "authorization %s for %s: a challenge has "
                             "no type", url, authz->domain);
            return APR_EINVAL;
        }
        if (!authz->error) {
            authz->error = md_json_get_obj(ch, MD_KEY_ERROR);
        }
    }
    *pauthz = authz;
    return APR_SUCCESS;
}

apr_status_t md_acme_authz_retrieve(md_acme_authz_t **pauthz, md_acme_t *acme,
                                    const char *url, md_result_t *result, apr_pool_t *p)
{
    md_acme_resp_t *resp;
    apr_status_t rv;

    *pauthz = NULL;
    result = result_or_scratch(result, p);
    rv = md_acme_post(&resp, acme, url, NULL, NULL, result, p);
    if (rv == APR_SUCCESS) {
        rv = md_acme_authz_parse(pauthz, acme, resp->json, url, result, p);
    }
    return rv;
}

/* --- responding ----------------------------------------------------------- */

apr_status_t md_acme_key_authz(const char **pkey_authz, md_acme_t *acme, const char *token,
                               apr_pool_t *p)
{
    const char *thumb;
    apr_status_t rv;

    *pkey_authz = NULL;
    /* RFC 8555 §8.3: the token is base64url; anything else never reaches a
     * file name or a response. */
    if (!token || !md_util_is_base64url(token, MD_ACME_TOKEN_MAX_LEN)) {
        return APR_EINVAL;
    }
    if (!acme->acct_key) {
        return APR_EINVAL;
    }
    rv = md_pkey_jwk_thumbprint(&thumb, acme->acct_key, p);
    if (rv == APR_SUCCESS) {
        *pkey_authz = apr_pstrcat(p, token, ".", thumb, NULL);
    }
    return rv;
}

/* Put the CA's error for a challenge or authorization into result. */
static void set_error(md_result_t *result, const md_acme_authz_t *authz, const json_t *err,
                      const char *what, apr_pool_t *p)
{
    const char *detail = err ? md_json_get_str(err, MD_KEY_DETAIL) : NULL;

    md_result_problem_set(result, APR_EINVAL, err ? md_json_get_str(err, "type") : NULL,
                          apr_psprintf(p, "%s: %s%s%s", authz->domain, what,
                                       detail ? ": " : "", detail ? detail : ""),
                          err ? md_json_get_array(err, MD_KEY_SUBPROBLEMS) : NULL);
}

static const char *offered_types(const md_acme_authz_t *authz, apr_pool_t *p)
{
    const char *s = NULL;
    const json_t *ch;
    size_t i;

    json_array_foreach(authz->challenges, i, ch) {
        const char *t = md_json_get_str(ch, MD_KEY_TYPE);
        s = s ? apr_pstrcat(p, s, ", ", t, NULL) : t;
    }
    return s ? md_util_str_printable(p, s, 256) : "none";
}

/* The CA's challenge of type name in authz, NULL if not offered. */
static const json_t *offered(const md_acme_authz_t *authz, const char *name)
{
    const json_t *ch;
    size_t i;

    json_array_foreach(authz->challenges, i, ch) {
        const char *t = md_json_get_str(ch, MD_KEY_TYPE);
        if (t && !strcmp(t, name)) {
            return ch;
        }
    }
    return NULL;
}

/* The preferred type names: types, or the table's order. */
static const char *type_name_at(const apr_array_header_t *types, int k)
{
    if (types && types->nelts > 0) {
        return k < types->nelts ? MD_ARR_IDX(types, k, const char *) : NULL;
    }
    return k < (int)N_CHALLENGE_TYPES ? challenge_types[k].name : NULL;
}

/* What one challenge type did: APR_SUCCESS (set up, or already validated /
 * being validated), APR_ENOTIMPL (not for this name), another code with
 * result filled (failed: the caller tries the next type). *pask tells
 * whether the CA still has to be asked to validate. */
static apr_status_t try_challenge(int *pask, const md_acme_challenge_type_t *ct,
                                  const json_t *ch, md_acme_authz_t *authz, md_acme_t *acme,
                                  const md_acme_chal_env_t *env, md_result_t *result,
                                  apr_pool_t *p)
{
    const char *token = md_json_get_str(ch, MD_KEY_TOKEN);
    const char *url = md_json_get_str(ch, MD_KEY_URL);
    const char *st = md_json_get_str(ch, MD_KEY_STATUS);
    const char *key_authz;

    *pask = 0;
    if (!url || !st) {
        md_result_printf(result, APR_EINVAL, "%s: the %s challenge has no url or status",
                         authz->domain, ct->name);
        return APR_EINVAL;
    }
    if (!strcmp(st, "valid")) {
        return APR_SUCCESS;
    }
    if (!strcmp(st, "invalid")) {
        set_error(result, authz, md_json_get_obj(ch, MD_KEY_ERROR),
                  apr_psprintf(p, "the %s challenge failed", ct->name), p);
        return APR_EINVAL;
    }
    if (strcmp(st, "pending") && strcmp(st, "processing")) {
        md_result_printf(result, APR_EINVAL, "%s: the %s challenge has an unknown status '%s'",
                         authz->domain, ct->name, md_util_str_printable(p, st, 64));
        return APR_EINVAL;
    }
    if (md_acme_key_authz(&key_authz, acme, token, p) != APR_SUCCESS) {
        md_result_printf(result, APR_EINVAL, "%s: the %s challenge has an invalid token '%s'",
                         authz->domain, ct->name,
                         token ? md_util_str_printable(p, token, 64) : "(none)");
        return APR_EINVAL;
    }
    /* Set up even when processing: after a restart the file may be gone. */
    *pask = !strcmp(st, "pending");
    return ct->setup(env, acme, authz->domain, token, key_authz, result, p);
}

/* The answer to challenge ch of type ct is in place: let the admin's
 * program see it, then tell the CA to validate. */
static apr_status_t answer_challenge(md_acme_authz_t *authz, md_acme_t *acme,
                                     const md_acme_challenge_type_t *ct, const json_t *ch,
                                     md_result_t *result, apr_pool_t *p)
{
    md_acme_resp_t *resp;
    json_t *empty;
    apr_status_t rv;

    /* The admin's program may distribute the answer, or veto (MDMessageCmd
     * challenge-setup:<type>:<domain>), before the CA looks. */
    if (acme->on_challenge_setup
        && (rv = acme->on_challenge_setup(acme->on_challenge_setup_baton, ct->name,
                                          authz->domain, result, p)) != APR_SUCCESS) {
        return rv;
    }
    /* RFC 8555 §7.5.1: an empty object tells the CA we are ready. */
    empty = md_json_pool_own(p, json_object());
    rv = md_acme_post(&resp, acme, md_json_get_str(ch, MD_KEY_URL), empty, NULL, result, p);
    if (rv == APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, "MD04030: %s: answered the %s "
                      "challenge at %s", authz->domain, ct->name,
                      md_json_get_str(ch, MD_KEY_URL));
    }
    return rv;
}

/* No type was answered: either some fit but could not be set up
 * (failures lists why, failed_rv is the last code), or none fit. */
static apr_status_t no_type_answered(md_acme_authz_t *authz, const apr_array_header_t *types,
                                     const char *failures, apr_status_t failed_rv,
                                     md_result_t *result, apr_pool_t *p)
{
    if (failures) {
        /* As the stock module reports it: a type fit, but none could be set up. */
        md_result_problem_set(result, failed_rv, MD_PROBLEM_CHALLENGE_SETUP,
                              apr_psprintf(p, "%s: none of the challenge types could be set "
                                           "up: %s", authz->domain, failures), NULL);
        return failed_rv;
    }
    md_result_problem_set(result, APR_EINVAL, MD_PROBLEM_CHALLENGE_MISMATCH,
                          apr_psprintf(p, "%s: the CA offers challenge types %s, none of "
                                       "them can be used here (%s)", authz->domain,
                                       offered_types(authz, p),
                                       (types && types->nelts)
                                       ? md_array_str_join(types, ", ", p) : CHALLENGE_HTTP01),
                          NULL);
    return APR_EINVAL;
}

apr_status_t md_acme_authz_respond(md_acme_authz_t *authz, md_acme_t *acme,
                                   const md_acme_chal_env_t *env,
                                   const apr_array_header_t *types, md_result_t *result,
                                   apr_pool_t *p)
{
    const md_acme_challenge_type_t *ct;
    const json_t *ch;
    md_result_t *tried;
    const char *failures = NULL;
    const char *name;
    apr_status_t rv, failed_rv = APR_SUCCESS;
    int k, ask;

    result = result_or_scratch(result, p);
    if (authz->status == MD_ACME_AUTHZ_VALID) {
        return APR_SUCCESS;
    }
    if (authz->status != MD_ACME_AUTHZ_PENDING) {
        set_error(result, authz, authz->error, apr_psprintf(p, "the authorization is %s",
                  md_acme_authz_status_name(authz->status)), p);
        return APR_EINVAL;
    }
    /* In the admin's order: the first type the CA offers that can be set up
     * here; when one fails (a dns-01 program missing or failing, an answer
     * not reachable locally), the next. */
    for (k = 0; (name = type_name_at(types, k)) != NULL; ++k) {
        if (!(ct = md_acme_challenge_type_get(name)) || !(ch = offered(authz, name))) {
            continue;
        }
        tried = md_result_make(p, result->md_name);
        rv = try_challenge(&ask, ct, ch, authz, acme, env, tried, p);
        if (rv == APR_ENOTIMPL) {
            continue;
        }
        if (rv != APR_SUCCESS) {
            if (failed_rv == APR_SUCCESS && tried->problem) {
                /* The CA's own verdict (an invalid challenge): nothing to try. */
                md_result_assign(result, tried);
                return rv;
            }
            md_log_perror(MD_LOG_MARK, MD_LOG_INFO, rv, p, "MD04031: %s: setting up %s failed, "
                          "trying the next type if there is one: %s", authz->domain, ct->name,
                          tried->detail ? tried->detail : "");
            ct->teardown(env, acme, authz->domain, tried, p);
            failures = apr_psprintf(p, "%s%s%s: %s", failures ? failures : "",
                                    failures ? "; " : "", ct->name,
                                    tried->detail ? tried->detail : "failed");
            failed_rv = rv;
            continue;
        }
        if (!ask) {
            return APR_SUCCESS;
        }
        return answer_challenge(authz, acme, ct, ch, result, p);
    }
    return no_type_answered(authz, types, failures, failed_rv, result, p);
}

apr_status_t md_acme_authz_teardown(md_acme_t *acme, const md_acme_chal_env_t *env,
                                    const char *domain, md_result_t *result, apr_pool_t *p)
{
    apr_status_t rv = APR_SUCCESS;
    apr_status_t rv2;
    size_t i;

    result = result_or_scratch(result, p);
    if (!env || !env->store) {
        return APR_SUCCESS;
    }
    /* Each type removes its own files (dns-01 first needs its record of
     * the values to run the teardown program), then the directory goes. */
    for (i = 0; i < N_CHALLENGE_TYPES; ++i) {
        rv2 = challenge_types[i].teardown(env, acme, domain, result, p);
        if (rv == APR_SUCCESS) {
            rv = rv2;
        }
    }
    rv2 = md_store_purge(env->store, MD_SG_CHALLENGES, domain, p);
    if (rv == APR_SUCCESS && rv2 != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv2)) {
        md_result_printf(result, rv2, "removing the challenge responses for %s failed", domain);
        rv = rv2;
    }
    return rv;
}
