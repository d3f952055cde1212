/* ACME session and the one choke point for the wire (STYLE §7): every
 * request to the CA goes through md_acme_get or md_acme_post here. */
#include <string.h>

#include <apr_strings.h>

#include "md_acme.h"
#include "md_acme_int.h"
#include "md_json.h"
#include "md_jws.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_stats.h"
#include "md_time.h"
#include "md_util.h"

#define CT_JSON        "application/json"
#define CT_JOSE_JSON   "application/jose+json"
#define CT_PROBLEM     "application/problem+json"
/* ACME v1 CAs used this prefix; a type in it still means the same. */
#define PROBLEM_PREFIX_V1  "urn:acme:error:"

static md_result_t *result_or_scratch(md_result_t *result, apr_pool_t *p)
{
    return result ? result : md_result_make(p, NULL);
}

/* --- URLs ----------------------------------------------------------------- */

static int has_scheme(const char *url, const char *scheme)
{
    size_t n = strlen(scheme);
    return !strncasecmp(url, scheme, n) && url[n] == ':';
}

static int url_chars_ok(const char *url)
{
    const unsigned char *s;

    for (s = (const unsigned char *)url; *s; ++s) {
        if (*s <= ' ' || *s >= 0x7f) {
            return 0;
        }
    }
    return 1;
}

/* Does the URL after "scheme:" have "//host" with a non-empty host and no
 * user info? Parsed by hand: this runs for every request and must not
 * allocate from the long-lived session pool. */
static int url_has_host(const char *url)
{
    const char *s = strchr(url, ':');
    size_t n;

    if (!s || strncmp(s, "://", 3)) {
        return 0;
    }
    s += 3;
    n = strcspn(s, "/?#");
    if (memchr(s, '@', n)) {
        return 0;
    }
    return n > 0 && s[0] != ':';
}

apr_status_t md_acme_url_check(const md_acme_t *acme, const char *url, const char *what,
                               md_result_t *result)
{
    const char *why = NULL;

    if (!url || !*url) {
        why = "it is empty";
    }
    else if (strlen(url) > 8192 || !url_chars_ok(url)) {
        why = "it is too long or has spaces or control characters";
    }
    else if (!has_scheme(url, "https")
             && !(has_scheme(url, "http") && has_scheme(acme->url, "http"))) {
        why = "it is not https";
    }
    else if (!url_has_host(url)) {
        why = "it has no host or has user info";
    }
    if (why) {
        md_result_printf(result, APR_EINVAL, "the CA at %s gave an unusable URL for %s (%s): %s",
                         acme->url, what, why,
                         url ? md_util_str_printable(result->p, url, 256) : "(none)");
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, APR_EINVAL, NULL, "MD04001: %s",
                      result->detail);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* --- session -------------------------------------------------------------- */

apr_status_t md_acme_create(md_acme_t **pacme, apr_pool_t *p, const char *url,
                            const char *ca_file, md_store_t *store)
{
    md_acme_t *acme;
    apr_status_t rv;

    *pacme = NULL;
    if (!url || !url_chars_ok(url) || !(has_scheme(url, "https") || has_scheme(url, "http"))
        || !url_has_host(url)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                      "MD04002: the ACME directory URL '%s' is not an http(s) URL with a host",
                      url ? md_util_str_printable(p, url, 256) : "(null)");
        return APR_EINVAL;
    }
    acme = apr_pcalloc(p, sizeof(*acme));
    acme->p = p;
    acme->url = apr_pstrdup(p, url);
    acme->user_agent = MD_ACME_USER_AGENT;
    acme->store = store;
    rv = md_http_create(&acme->http, p, acme->user_agent, ca_file);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *pacme = acme;
    return APR_SUCCESS;
}

void md_acme_set_proxy(md_acme_t *acme, const char *proxy_url, const char *proxy_ca_file)
{
    md_http_set_proxy(acme->http, proxy_url, proxy_ca_file);
}

apr_status_t md_acme_set_eab(md_acme_t *acme, const char *kid, const char *hmac64,
                             const char *alg, md_result_t *result)
{
    md_acme_eab_t *eab;
    unsigned char *key;
    apr_size_t len;

    acme->eab = NULL;
    if (!kid) {
        return APR_SUCCESS;
    }
    result = result_or_scratch(result, acme->p);
    if (!*kid || !url_chars_ok(kid)) {
        md_result_problem_set(result, APR_EINVAL, MD_PROBLEM_EAB_KID_INVALID,
                              "the external account binding key id is empty or has spaces "
                              "or control characters", NULL);
        return APR_EINVAL;
    }
    if (!alg) {
        alg = "HS256";
    }
    if (!md_jws_hmac_digest(alg)) {
        md_result_printf(result, APR_EINVAL, "external account binding: '%s' is not one of "
                         "HS256, HS384, HS512", md_util_str_printable(result->p, alg, 32));
        return APR_EINVAL;
    }
    eab = apr_pcalloc(acme->p, sizeof(*eab));
    eab->kid = apr_pstrdup(acme->p, kid);
    eab->alg = apr_pstrdup(acme->p, alg);
    if (!hmac64) {
        /* An MD read from md.json, which keeps only the key id: an account
         * bound to it can be used, a new one cannot be registered. */
        acme->eab = eab;
        return APR_SUCCESS;
    }
    /* Never echo the key: say only that it is unusable. */
    if (md_util_base64any_decode(&key, &len, hmac64, acme->p) != APR_SUCCESS || len == 0) {
        md_result_problem_set(result, APR_EINVAL, MD_PROBLEM_EAB_HMAC_INVALID,
                              apr_psprintf(result->p, "the external account binding MAC key "
                                           "for key id '%s' is not valid base64url",
                                           md_util_str_printable(result->p, kid, 128)),
                              NULL);
        return APR_EINVAL;
    }
    md_crypt_cleanse_on_clear(acme->p, key, len);
    eab->hmac = key;
    eab->hmac_len = len;
    acme->eab = eab;
    return APR_SUCCESS;
}

int md_acme_profile_offered(const md_acme_t *acme, const char *profile)
{
    return profile && acme->profiles && md_array_str_index(acme->profiles, profile, 0, 1) >= 0;
}

/* --- responses ------------------------------------------------------------ */

/* The media type of a Content-Type value without parameters, lower case. */
static const char *media_type(const char *ctype, apr_pool_t *p)
{
    const char *end;

    if (!ctype) {
        return "";
    }
    while (*ctype == ' ' || *ctype == '\t') {
        ++ctype;
    }
    end = ctype + strcspn(ctype, "; \t");
    return md_util_str_tolower(p, apr_pstrmemdup(p, ctype, (apr_size_t)(end - ctype)));
}

static int is_json_type(const char *mtype)
{
    size_t n = strlen(mtype);

    return !strcmp(mtype, CT_JSON) || (n > 5 && !strcmp(mtype + n - 5, "+json"));
}

apr_status_t md_acme_problem_status(const char *type, int http_status)
{
    static const char *const access[] = {
        "unauthorized", "accountDoesNotExist", "userActionRequired",
        "externalAccountRequired", NULL
    };
    static const char *const later[] = {
        "badNonce", "rateLimited", "serverInternal", "orderNotReady", NULL
    };
    const char *name = NULL;
    int i;

    if (type) {
        if (!strncmp(type, MD_ACME_PROBLEM_PREFIX, strlen(MD_ACME_PROBLEM_PREFIX))) {
            name = type + strlen(MD_ACME_PROBLEM_PREFIX);
        }
        else if (!strncmp(type, PROBLEM_PREFIX_V1, strlen(PROBLEM_PREFIX_V1))) {
            name = type + strlen(PROBLEM_PREFIX_V1);
        }
    }
    if (name) {
        for (i = 0; access[i]; ++i) {
            if (!strcmp(name, access[i])) {
                return APR_EACCES;
            }
        }
        for (i = 0; later[i]; ++i) {
            if (!strcmp(name, later[i])) {
                return APR_EAGAIN;
            }
        }
    }
    if (http_status == 404) {
        return APR_ENOENT;
    }
    if (name && *name) {
        /* malformed, badCSR, rejectedIdentifier, caa, dns, connection, ...:
         * the same request will fail the same way. */
        return APR_EINVAL;
    }
    switch (http_status) {
    case 401:
    case 403:
        return APR_EACCES;
    case 408:
    case 429:
        return APR_EAGAIN;
    default:
        return http_status >= 500 ? APR_EAGAIN : APR_EINVAL;
    }
}

static void take_nonce(md_acme_t *acme, const apr_table_t *headers, apr_pool_t *p)
{
    const char *nonce = apr_table_get(headers, "Replay-Nonce");

    if (!nonce) {
        return;
    }
    if (!md_util_is_base64url(nonce, MD_ACME_NONCE_MAX_LEN)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, APR_EINVAL, p,
                      "MD04003: ignoring a Replay-Nonce that is not base64url from %s",
                      acme->url);
        return;
    }
    acme->nonce = apr_pstrdup(acme->p, nonce);
}

static apr_status_t problem_from_response(md_acme_resp_t *resp, const char *method,
                                          const char *url, const char *mtype,
                                          md_result_t *result, apr_pool_t *p)
{
    json_t *j = NULL;
    const char *type = NULL;
    const char *detail = NULL;
    const json_t *subs = NULL;
    apr_status_t rv;

    if (is_json_type(mtype) && resp->body_len > 0
        && md_json_parse(&j, resp->body, resp->body_len, url, NULL, p) == APR_SUCCESS
        && json_is_object(j)) {
        resp->json = j;
        type = md_json_get_str(j, "type");
        detail = md_json_get_str(j, MD_KEY_DETAIL);
        subs = md_json_get_array(j, MD_KEY_SUBPROBLEMS);
    }
    rv = md_acme_problem_status(type, resp->status);
    if (type || detail) {
        md_result_problem_set(result, rv, type,
                              detail ? detail : apr_psprintf(p, "%s %s: HTTP %d", method, url,
                                                             resp->status),
                              subs);
    }
    else {
        md_result_printf(result, rv, "%s %s: HTTP %d without a problem document", method,
                         url, resp->status);
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p, "MD04004: %s %s: HTTP %d %s: %s",
                  method, url, resp->status, result->problem ? result->problem : "",
                  result->detail ? result->detail : "");
    return rv;
}

apr_status_t md_acme_handle_response(md_acme_resp_t **presp, md_acme_t *acme,
                                     const md_http_response_t *hresp, const char *method,
                                     int want_json, md_result_t *result, apr_pool_t *p)
{
    md_acme_resp_t *resp;
    const char *ra;
    const char *mtype;
    const char *err = NULL;
    apr_status_t rv;

    resp = apr_pcalloc(p, sizeof(*resp));
    resp->status = hresp->status;
    resp->headers = hresp->headers ? hresp->headers : apr_table_make(p, 1);
    resp->body = hresp->body ? hresp->body : "";
    resp->body_len = hresp->body ? hresp->body_len : 0;
    *presp = resp;

    take_nonce(acme, resp->headers, p);
    ra = apr_table_get(resp->headers, "Retry-After");
    result->retry_after = ra ? md_time_from_retry_after(ra, apr_time_now()) : 0;
    mtype = media_type(apr_table_get(resp->headers, "Content-Type"), p);

    if (resp->status >= 400) {
        return problem_from_response(resp, method, hresp->url, mtype, result, p);
    }
    if (resp->status < 200 || resp->status >= 300) {
        md_result_printf(result, APR_EINVAL, "%s %s: unexpected HTTP status %d", method,
                         hresp->url, resp->status);
        return APR_EINVAL;
    }
    resp->location = apr_table_get(resp->headers, "Location");
    if (resp->location) {
        rv = md_acme_url_check(acme, resp->location, "Location", result);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    if (resp->body_len > 0 && is_json_type(mtype)) {
        rv = md_json_parse(&resp->json, resp->body, resp->body_len, hresp->url, &err, p);
        if (rv != APR_SUCCESS) {
            md_result_printf(result, rv, "%s %s: the response is not valid JSON: %s", method,
                             hresp->url, err ? err : "parse error");
            return rv;
        }
    }
    else if (want_json && resp->body_len > 0) {
        md_result_printf(result, APR_EINVAL, "%s %s: expected JSON, got content type '%s'",
                         method, hresp->url, md_util_str_printable(p, mtype, 100));
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* Send one request and handle its response; a transport failure goes into
 * result with the URL (md_http only logs it at debug). */
static apr_status_t send_req(md_acme_resp_t **presp, md_acme_t *acme, const char *method,
                             const char *url, const char *ctype, const char *accept,
                             const char *body, apr_size_t body_len, md_result_t *result,
                             apr_pool_t *p)
{
    md_http_response_t *hresp = NULL;
    char buf[256];
    apr_status_t rv;
    int want_json = !accept || is_json_type(media_type(accept, p));

    *presp = NULL;
    md_http_set_user_agent(acme->http, acme->user_agent);
    rv = md_http_request(&hresp, acme->http, method, url, ctype,
                         accept ? accept : CT_JSON, body, body_len, p);
    if (rv != APR_SUCCESS) {
        md_stats_count(md_stats_current(), acme->url, 1);
        md_result_printf(result, rv, "%s %s: %s", method, url, apr_strerror(rv, buf, sizeof(buf)));
        /* No answer, so no Retry-After: one from an earlier response is stale. */
        result->retry_after = 0;
        return rv;
    }
    rv = md_acme_handle_response(presp, acme, hresp, method, want_json, result, p);
    md_stats_count(md_stats_current(), acme->url, rv != APR_SUCCESS);
    md_log_perror(MD_LOG_MARK, MD_LOG_TRACE1, rv, p, "MD04005: %s %s -> %d", method, url,
                  hresp->status);
    return rv;
}

apr_status_t md_acme_get(md_acme_resp_t **presp, md_acme_t *acme, const char *url,
                         md_result_t *result, apr_pool_t *p)
{
    apr_status_t rv;

    *presp = NULL;
    result = result_or_scratch(result, p);
    rv = md_acme_url_check(acme, url, "GET", result);
    if (rv == APR_SUCCESS) {
        rv = send_req(presp, acme, "GET", url, NULL, NULL, NULL, 0, result, p);
    }
    return rv;
}

/* --- directory ------------------------------------------------------------ */

static apr_status_t dir_url(const char **purl, md_acme_t *acme, const json_t *dir,
                            const char *key, int required, md_result_t *result)
{
    const char *s = md_json_get_str(dir, key);
    apr_status_t rv;

    *purl = NULL;
    if (!s) {
        if (!required) {
            return APR_SUCCESS;
        }
        md_result_printf(result, APR_EINVAL,
                         "the ACME directory at %s has no '%s' (is this an ACME v2 CA?)",
                         acme->url, key);
        return APR_EINVAL;
    }
    rv = md_acme_url_check(acme, s, key, result);
    if (rv == APR_SUCCESS) {
        *purl = apr_pstrdup(acme->p, s);
    }
    return rv;
}

/* meta.profiles (draft-aaron-acme-profiles): an object of profile name ->
 * description. Names are kept (bounded); descriptions are for humans. */
static apr_array_header_t *read_profiles(md_acme_t *acme, json_t *profiles)
{
    apr_array_header_t *names;
    const char *name;
    json_t *v;

    if (!json_is_object(profiles)) {
        return NULL;
    }
    names = apr_array_make(acme->p, 5, sizeof(const char *));
    json_object_foreach(profiles, name, v) {
        (void)v;
        if (names->nelts >= MD_ACME_MAX_PROFILES) {
            break;
        }
        if (*name && strlen(name) <= MD_ACME_PROFILE_MAX_LEN && url_chars_ok(name)) {
            APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(acme->p, name);
        }
    }
    return names;
}

apr_status_t md_acme_setup_from(md_acme_t *acme, const json_t *dir, md_result_t *result)
{
    const json_t *meta;
    const char *tos;
    apr_status_t rv;

    if (!json_is_object(dir)) {
        md_result_printf(result, APR_EINVAL, "the ACME directory at %s is not a JSON object",
                         acme->url);
        return APR_EINVAL;
    }
    if ((rv = dir_url(&acme->url_new_nonce, acme, dir, MD_KEY_NEW_NONCE, 1, result))
        || (rv = dir_url(&acme->url_new_account, acme, dir, MD_KEY_NEW_ACCOUNT, 1, result))
        || (rv = dir_url(&acme->url_new_order, acme, dir, MD_KEY_NEW_ORDER, 1, result))
        || (rv = dir_url(&acme->url_revoke, acme, dir, MD_KEY_REVOKE_CERT, 0, result))
        || (rv = dir_url(&acme->url_key_change, acme, dir, MD_KEY_KEY_CHANGE, 0, result))) {
        acme->url_new_nonce = acme->url_new_account = acme->url_new_order = NULL;
        return rv;
    }
    /* RFC 9773 §4: a CA that offers ARI names the renewalInfo base URL. An
     * unusable one means no ARI, not a broken directory. */
    acme->url_renewal_info = NULL;
    if (md_json_get_str(dir, MD_KEY_RENEWAL_INFO)
        && dir_url(&acme->url_renewal_info, acme, dir, MD_KEY_RENEWAL_INFO, 0, result)
           != APR_SUCCESS) {
        md_result_reset(result);
        acme->url_renewal_info = NULL;
    }
    acme->tos = NULL;
    acme->eab_required = 0;
    acme->profiles = NULL;
    meta = md_json_get_obj(dir, MD_KEY_META);
    if (meta) {
        tos = md_json_get_str(meta, MD_KEY_TOS_URL);
        acme->tos = tos ? apr_pstrdup(acme->p, tos) : NULL;
        acme->eab_required = md_json_get_bool(meta, MD_KEY_EAB_REQUIRED, 0);
        acme->profiles = read_profiles(acme, md_json_get_obj(meta, MD_KEY_PROFILES));
    }
    return APR_SUCCESS;
}

apr_status_t md_acme_setup(md_acme_t *acme, md_result_t *result)
{
    md_acme_resp_t *resp;
    apr_pool_t *p;
    apr_status_t rv;

    rv = apr_pool_create(&p, acme->p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    result = result_or_scratch(result, p);
    rv = md_acme_get(&resp, acme, acme->url, result, p);
    if (rv == APR_SUCCESS) {
        rv = md_acme_setup_from(acme, resp->json, result);
    }
    if (rv == APR_SUCCESS) {
        acme->dir_json = apr_pstrmemdup(acme->p, resp->body, resp->body_len);
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, "MD04006: ACME directory %s read%s%s"
                      "%s%s%s", acme->url, acme->tos ? ", terms of service at " : "",
                      acme->tos ? md_util_str_printable(p, acme->tos, 256) : "",
                      acme->url_renewal_info ? ", offers ARI" : "",
                      acme->profiles ? ", profiles: " : "",
                      acme->profiles ? md_array_str_join(acme->profiles, " ", p) : "");
    }
    else {
        acme->url_new_nonce = acme->url_new_account = acme->url_new_order = NULL;
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p, "MD04007: reading the ACME directory "
                      "%s failed: %s", acme->url, result->detail ? result->detail : "");
    }
    apr_pool_destroy(p);
    return rv;
}

/* --- signed requests ------------------------------------------------------ */

static apr_status_t new_nonce(md_acme_t *acme, md_result_t *result, apr_pool_t *p)
{
    md_acme_resp_t *resp;
    apr_status_t rv;

    rv = send_req(&resp, acme, "HEAD", acme->url_new_nonce, NULL, NULL, NULL, 0, result, p);
    if (rv == APR_SUCCESS && !acme->nonce) {
        rv = APR_EINVAL;
        md_result_printf(result, rv, "the CA gave no Replay-Nonce at %s", acme->url_new_nonce);
    }
    return rv;
}

static int is_bad_nonce(const md_result_t *result)
{
    return result->problem
        && (!strcmp(result->problem, MD_ACME_PROBLEM_PREFIX "badNonce")
            || !strcmp(result->problem, PROBLEM_PREFIX_V1 "badNonce"));
}

/* A jansson dump as a pool string. */
static const char *dump_compact(const json_t *j, apr_pool_t *p)
{
    char *s = json_dumps(j, JSON_COMPACT);
    const char *copy;

    if (!s) {
        return NULL;
    }
    copy = apr_pstrdup(p, s);
    free(s);
    return copy;
}

apr_status_t md_acme_post(md_acme_resp_t **presp, md_acme_t *acme, const char *url,
                          const json_t *payload, const char *accept,
                          md_result_t *result, apr_pool_t *p)
{
    const char *payload_s = "";
    const char *nonce;
    const char *body;
    json_t *jws;
    int attempt;
    apr_status_t rv;

    *presp = NULL;
    result = result_or_scratch(result, p);
    if (!acme->acct_key) {
        md_result_printf(result, APR_EINVAL, "POST %s: no account key to sign with", url);
        return APR_EINVAL;
    }
    if (!acme->url_new_nonce && (rv = md_acme_setup(acme, result)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = md_acme_url_check(acme, url, "POST", result)) != APR_SUCCESS) {
        return rv;
    }
    if (payload && !(payload_s = dump_compact(payload, p))) {
        md_result_printf(result, APR_EINVAL, "POST %s: payload cannot be serialized", url);
        return APR_EINVAL;
    }

    for (attempt = 0; ; ++attempt) {
        if (!acme->nonce && (rv = new_nonce(acme, result, p)) != APR_SUCCESS) {
            return rv;
        }
        /* A nonce is good for one request only (RFC 8555 §6.5). */
        nonce = acme->nonce;
        acme->nonce = NULL;
        rv = md_jws_sign(&jws, payload_s, strlen(payload_s), nonce, url,
                         acme->acct ? acme->acct->url : NULL, acme->acct_key, p);
        if (rv != APR_SUCCESS) {
            md_result_printf(result, rv, "POST %s: signing the request failed", url);
            return rv;
        }
        if (!(body = dump_compact(jws, p))) {
            md_result_printf(result, APR_EINVAL, "POST %s: JWS cannot be serialized", url);
            return APR_EINVAL;
        }
        rv = send_req(presp, acme, "POST", url, CT_JOSE_JSON, accept, body, strlen(body),
                      result, p);
        if (rv == APR_EAGAIN && is_bad_nonce(result) && attempt < MD_ACME_NONCE_RETRIES) {
            /* RFC 8555 §6.5: retry with the fresh nonce the error carried. */
            md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p,
                          "MD04008: POST %s: badNonce, retrying (%d)", url, attempt + 1);
            md_result_reset(result);
            continue;
        }
        return rv;
    }
}
