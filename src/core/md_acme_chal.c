/* Challenge answers beyond http-01: tls-alpn-01 (RFC 8737, RFC 8738 §6 for
 * IP addresses) and dns-01 (RFC 8555 §8.4) through an admin's program; and
 * the pre-checks that fetch our own http-01 and tls-alpn-01 answers the way
 * the CA will, so a wrong MDPortMap or a missing Protocols line shows up as
 * a precise local error instead of a failed validation at the CA.
 *
 * Runs in the watchdog of a child. Files go to challenges/<domain>/ of the
 * store, where the serving children find them.
 */
#include <string.h>

#include <apr_strings.h>

#include "md.h"
#include "md_acme.h"
#include "md_acme_int.h"
#include "md_crypt.h"
#include "md_dns.h"
#include "md_exec.h"
#include "md_http.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_time.h"
#include "md_util.h"

/* The validation certificate lives only as long as the challenge. */
#define TLSALPN01_CERT_VALID    apr_time_from_sec(7 * MD_SECS_PER_DAY)
#define CHECK_TIMEOUT_DEF       apr_time_from_sec(10)
#define DNS01_TIMEOUT_DEF       apr_time_from_sec(60)
/* The most TXT values we remember per domain for teardown. */
#define DNS01_MAX_VALUES        16

apr_status_t md_acme_dns01_value(const char **pvalue, const char *key_authz, apr_pool_t *p)
{
    *pvalue = NULL;
    if (!key_authz) {
        return APR_EINVAL;
    }
    return md_crypt_sha256_b64url(pvalue, key_authz, strlen(key_authz), p);
}

apr_status_t md_acme_chal_remove(const md_acme_chal_env_t *env, const char *domain,
                                 const char *aspect, md_result_t *result, apr_pool_t *p)
{
    apr_status_t rv;

    if (!env || !env->store) {
        return APR_SUCCESS;
    }
    rv = md_store_remove(env->store, MD_SG_CHALLENGES, domain, aspect, p);
    if (APR_STATUS_IS_ENOENT(rv)) {
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        md_result_printf(result, rv, "removing %s of %s failed", aspect, domain);
    }
    return rv;
}

static apr_interval_time_t check_timeout(const md_acme_chal_env_t *env)
{
    return env->check_timeout > 0 ? env->check_timeout : CHECK_TIMEOUT_DEF;
}

/* "[::1]" for IPv6 literals in URLs and connect-to strings. */
static const char *url_host(const char *host, apr_pool_t *p)
{
    return strchr(host, ':') ? apr_pstrcat(p, "[", host, "]", NULL) : host;
}

/* --- http-01 pre-check -------------------------------------------------- */

static const char *trimmed(const char *s, apr_size_t len, apr_pool_t *p)
{
    while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ')) {
        --len;
    }
    return apr_pstrmemdup(p, s, len);
}

apr_status_t md_acme_chal_check_http01(const md_acme_chal_env_t *env, md_acme_t *acme,
                                       const char *domain, const char *token,
                                       const char *key_authz, md_result_t *result,
                                       apr_pool_t *p)
{
    md_http_response_t *resp = NULL;
    md_http_t *http;
    const char *url;
    const char *where;
    const char *body;
    char buf[256];
    apr_status_t rv;

    if (!env->check_http_port || !env->check_http_host) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, "MD04100: %s: no local port for "
                      "http-01 known, not checking the answer before validation", domain);
        return APR_SUCCESS;
    }
    /* As the CA asks: port 80 of the name; it arrives at the local port. */
    url = apr_psprintf(p, "http://%s/.well-known/acme-challenge/%s", url_host(domain, p),
                       token);
    where = apr_psprintf(p, "http-01 pre-check for %s: GET %s on local port %d (where port "
                         "80 arrives, see MDPortMap)", domain, url, env->check_http_port);
    if ((rv = md_http_create(&http, p, acme ? acme->user_agent : MD_ACME_USER_AGENT, NULL))
        != APR_SUCCESS) {
        md_result_printf(result, rv, "%s: cannot create an HTTP client", where);
        return rv;
    }
    md_http_set_timeouts(http, check_timeout(env), check_timeout(env));
    md_http_set_connect_to(http, apr_psprintf(p, "%s:80:%s:%d", url_host(domain, p),
                                              url_host(env->check_http_host, p),
                                              env->check_http_port));
    rv = md_http_request(&resp, http, "GET", url, NULL, NULL, NULL, 0, p);
    if (rv != APR_SUCCESS) {
        md_result_printf(result, APR_EAGAIN, "%s failed: %s", where,
                         apr_strerror(rv, buf, sizeof(buf)));
        return APR_EAGAIN;
    }
    if (resp->status != 200) {
        md_result_printf(result, APR_EAGAIN, "%s answered HTTP %d instead of the key "
                         "authorization", where, resp->status);
        return APR_EAGAIN;
    }
    body = trimmed(resp->body, resp->body_len, p);
    if (strcmp(body, key_authz)) {
        md_result_printf(result, APR_EAGAIN, "%s answered HTTP 200 with other content than "
                         "the key authorization: '%s'", where,
                         md_util_str_printable(p, body, 80));
        return APR_EAGAIN;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, "MD04101: %s: http-01 answer checked on "
                  "local port %d", domain, env->check_http_port);
    return APR_SUCCESS;
}

/* --- tls-alpn-01 -------------------------------------------------------- */

static apr_status_t check_tlsalpn01(const md_acme_chal_env_t *env, const char *domain,
                                    const char *key_authz, md_result_t *result, apr_pool_t *p)
{
    const unsigned char *want;
    const unsigned char *got;
    const char *sni;
    const char *alpn = NULL;
    const char *err = NULL;
    const char *where;
    md_cert_t *cert = NULL;
    int critical = 0;
    apr_status_t rv;

    if (!env->check_https_port || !env->check_https_host) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, "MD04102: %s: no local port for "
                      "tls-alpn-01 known, not checking the answer before validation", domain);
        return APR_SUCCESS;
    }
    /* RFC 8738 §6: an IP address is named by its reverse-DNS name in SNI. */
    sni = md_dns_is_ip(domain) ? md_dns_ip_reverse_name(p, domain) : domain;
    where = apr_psprintf(p, "tls-alpn-01 pre-check for %s: TLS to local port %d (where port "
                         "443 arrives, see MDPortMap) with SNI %s and ALPN %s", domain,
                         env->check_https_port, sni, MD_PROTO_ACME_TLS_1);
    rv = md_crypt_tls_probe(&cert, &alpn, env->check_https_host, env->check_https_port, sni,
                            MD_PROTO_ACME_TLS_1, check_timeout(env), &err, p);
    if (rv != APR_SUCCESS) {
        md_result_printf(result, APR_EAGAIN, "%s failed: %s", where, err ? err : "error");
        return APR_EAGAIN;
    }
    if (!alpn || strcmp(alpn, MD_PROTO_ACME_TLS_1)) {
        md_result_printf(result, APR_EAGAIN, "%s: the server selected %s instead of %s (is "
                         "'%s' in the Protocols of the virtual host?)", where,
                         alpn ? md_util_str_printable(p, alpn, 40) : "no protocol",
                         MD_PROTO_ACME_TLS_1, MD_PROTO_ACME_TLS_1);
        return APR_EAGAIN;
    }
    rv = md_cert_get_acme_identifier(&got, &critical, cert, p);
    if (rv != APR_SUCCESS || !critical) {
        md_result_printf(result, APR_EAGAIN, "%s: the server's certificate (issuer %s) has "
                         "no %s acmeIdentifier extension", where,
                         md_cert_issuer_name(cert, p), rv == APR_SUCCESS ? "critical" : "valid");
        return APR_EAGAIN;
    }
    if ((rv = md_crypt_sha256(&want, key_authz, strlen(key_authz), p)) != APR_SUCCESS) {
        return rv;
    }
    if (memcmp(want, got, 32)) {
        md_result_printf(result, APR_EAGAIN, "%s: the server's certificate is for another "
                         "key authorization", where);
        return APR_EAGAIN;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, "MD04103: %s: tls-alpn-01 answer checked "
                  "on local port %d", domain, env->check_https_port);
    return APR_SUCCESS;
}

void md_acme_tlsalpn01_fnames(const char **pkeyname, const char **pcertname,
                              const md_pkey_spec_t *spec, apr_pool_t *p)
{
    const char *part = md_pkey_spec_fname_part(spec, p);

    *pkeyname = part ? apr_pstrcat(p, MD_FN_TLSALPN01_PREFIX "privkey.", part, ".pem", NULL)
                     : MD_FN_TLSALPN01_PKEY;
    *pcertname = part ? apr_pstrcat(p, MD_FN_TLSALPN01_PREFIX "pubcert.", part, ".pem", NULL)
                      : MD_FN_TLSALPN01_CERT;
}

/* One validation certificate and its key for spec, saved key first: the
 * server reads the certificate to know an answer exists. */
static apr_status_t tlsalpn01_save(const md_acme_chal_env_t *env, const char *domain,
                                   const char *key_authz, const md_pkey_spec_t *spec,
                                   md_result_t *result, apr_pool_t *p)
{
    apr_array_header_t *chain;
    const char *kname, *cname;
    md_pkey_t *pkey;
    md_cert_t *cert;
    apr_status_t rv;

    rv = md_pkey_gen(&pkey, p, spec);
    if (rv == APR_SUCCESS) {
        rv = md_cert_make_tls_alpn01(&cert, domain, key_authz, pkey, TLSALPN01_CERT_VALID, p);
    }
    if (rv != APR_SUCCESS) {
        md_result_printf(result, rv, "creating the %s tls-alpn-01 certificate for %s failed",
                         md_pkey_spec_name(spec), domain);
        return rv;
    }
    chain = apr_array_make(p, 1, sizeof(md_cert_t *));
    APR_ARRAY_PUSH(chain, md_cert_t *) = cert;
    md_acme_tlsalpn01_fnames(&kname, &cname, spec, p);
    rv = md_store_save_pkey(env->store, MD_SG_CHALLENGES, domain, kname, pkey, p);
    if (rv == APR_SUCCESS) {
        rv = md_store_save_certs(env->store, MD_SG_CHALLENGES, domain, cname, chain, p);
    }
    if (rv != APR_SUCCESS) {
        md_result_printf(result, rv, "saving the tls-alpn-01 certificate for %s failed",
                         domain);
    }
    return rv;
}

apr_status_t md_acme_chal_tlsalpn01_setup(const md_acme_chal_env_t *env, md_acme_t *acme,
                                          const char *domain, const char *token,
                                          const char *key_authz, md_result_t *result,
                                          apr_pool_t *p)
{
    /* Without the MD's key types: a cheap key every validator accepts. */
    md_pkey_spec_t p256 = { MD_PKEY_TYPE_EC, 0, "P-256" };
    apr_array_header_t *types = apr_array_make(p, 2, sizeof(const char *));
    apr_status_t rv = APR_SUCCESS;
    int i;

    (void)acme;
    (void)token;
    if (!env || !env->store) {
        md_result_printf(result, APR_EINVAL, "tls-alpn-01 for %s needs a store", domain);
        return APR_EINVAL;
    }
    if (env->acme_tls_1_domains
        && md_array_str_index(env->acme_tls_1_domains, domain, 0, 0) < 0) {
        /* As the stock module: only where a host offers acme-tls/1. */
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, "MD04108: %s: no virtual host for "
                      "it has acme-tls/1 in its Protocols, tls-alpn-01 does not apply",
                      domain);
        return APR_ENOTIMPL;
    }
    /* One per key type of the MD, as the stock module makes them: the
     * server answers each validator with the type its handshake wants. */
    for (i = 0; rv == APR_SUCCESS && env->pkey_specs && i < env->pkey_specs->nelts; ++i) {
        const md_pkey_spec_t *spec = MD_ARR_IDX(env->pkey_specs, i, const md_pkey_spec_t *);
        const char *type = spec->type == MD_PKEY_TYPE_EC ? "ec" : "rsa";

        if (md_array_str_index(types, type, 0, 1) >= 0) {
            continue;   /* one per type: the server chooses by type */
        }
        APR_ARRAY_PUSH(types, const char *) = type;
        rv = tlsalpn01_save(env, domain, key_authz, spec, result, p);
    }
    if (rv == APR_SUCCESS && types->nelts == 0) {
        rv = tlsalpn01_save(env, domain, key_authz, &p256, result, p);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return check_tlsalpn01(env, domain, key_authz, result, p);
}

apr_status_t md_acme_chal_tlsalpn01_teardown(const md_acme_chal_env_t *env, md_acme_t *acme,
                                             const char *domain, md_result_t *result,
                                             apr_pool_t *p)
{
    apr_array_header_t *names;
    apr_status_t rv = APR_SUCCESS;
    int i, pass;

    (void)acme;
    if (!env || !env->store
        || md_store_list_aspects(env->store, MD_SG_CHALLENGES, domain, &names, p)
           != APR_SUCCESS) {
        return APR_SUCCESS;
    }
    /* Certificates first: without them the server no longer answers. */
    for (pass = 0; pass < 2; ++pass) {
        for (i = 0; i < names->nelts; ++i) {
            const char *name = MD_ARR_IDX(names, i, const char *);
            const char *kind = pass ? "privkey" : "pubcert";

            if (!strncmp(name, MD_FN_TLSALPN01_PREFIX, strlen(MD_FN_TLSALPN01_PREFIX))
                && !strncmp(name + strlen(MD_FN_TLSALPN01_PREFIX), kind, strlen(kind))) {
                apr_status_t rv2 = md_acme_chal_remove(env, domain, name, result, p);
                rv = rv == APR_SUCCESS ? rv2 : rv;
            }
        }
    }
    return rv;
}

/* --- dns-01 ------------------------------------------------------------- */

static apr_interval_time_t dns01_timeout(const md_acme_chal_env_t *env)
{
    return env->dns01_timeout > 0 ? env->dns01_timeout : DNS01_TIMEOUT_DEF;
}

/* argv: the configured program and arguments, then the extra words. */
static const char *const *dns01_argv(const md_acme_chal_env_t *env, const char *action,
                                     const char *domain, const char *value, apr_pool_t *p)
{
    apr_array_header_t *argv = apr_array_make(p, env->dns01_cmd->nelts + 4,
                                              sizeof(const char *));
    int i;

    for (i = 0; i < env->dns01_cmd->nelts; ++i) {
        APR_ARRAY_PUSH(argv, const char *) = MD_ARR_IDX(env->dns01_cmd, i, const char *);
    }
    APR_ARRAY_PUSH(argv, const char *) = action;
    APR_ARRAY_PUSH(argv, const char *) = domain;
    if (value) {
        APR_ARRAY_PUSH(argv, const char *) = value;
    }
    APR_ARRAY_PUSH(argv, const char *) = NULL;
    return (const char *const *)argv->elts;
}

/* Run the program once; APR_SUCCESS only for exit code 0. *pwhat describes
 * a failure: "/x/dns.sh setup a.test: exit code 3: no such zone". */
static apr_status_t dns01_run(const md_acme_chal_env_t *env, const char *action,
                              const char *domain, const char *value, const char **pwhat,
                              apr_pool_t *p)
{
    const char *prog = MD_ARR_IDX(env->dns01_cmd, 0, const char *);
    md_exec_result_t *res = NULL;
    char buf[256];
    apr_status_t rv;

    *pwhat = NULL;
    rv = md_exec_run_prog(&res, md_exec_program_path(env->program_root, prog, p),
                          dns01_argv(env, action, domain, value, p), dns01_timeout(env), p);
    if (rv == APR_SUCCESS && res && res->exited && res->exit_code == 0) {
        return APR_SUCCESS;
    }
    if (res) {
        *pwhat = apr_psprintf(p, "%s %s %s: %s", prog, action, domain,
                              md_exec_describe(res, p));
    }
    else {
        *pwhat = apr_psprintf(p, "%s %s %s: cannot run it: %s", prog, action, domain,
                              apr_strerror(rv, buf, sizeof(buf)));
    }
    return rv == APR_SUCCESS ? APR_EGENERAL : rv;
}

/* The TXT values set for domain so far (json array of strings). */
static json_t *dns01_values_load(const md_acme_chal_env_t *env, const char *domain,
                                 apr_pool_t *p)
{
    json_t *j = NULL;

    if (md_store_load_json(env->store, MD_SG_CHALLENGES, domain, MD_FN_DNS01, &j, p)
        != APR_SUCCESS || !json_is_array(j)) {
        return NULL;
    }
    return j;
}

apr_status_t md_acme_chal_dns01_setup(const md_acme_chal_env_t *env, md_acme_t *acme,
                                      const char *domain, const char *token,
                                      const char *key_authz, md_result_t *result,
                                      apr_pool_t *p)
{
    const char *value;
    const char *what;
    json_t *values;
    apr_status_t rv;

    (void)acme;
    (void)token;
    if (!env || !env->store) {
        md_result_printf(result, APR_EINVAL, "dns-01 for %s needs a store", domain);
        return APR_EINVAL;
    }
    if (!env->dns01_cmd || env->dns01_cmd->nelts == 0) {
        md_result_printf(result, APR_EINVAL, "dns-01 for %s: no program is configured "
                         "(MDChallengeDns01)", domain);
        return APR_EINVAL;
    }
    if ((rv = md_acme_dns01_value(&value, key_authz, p)) != APR_SUCCESS) {
        return rv;
    }
    /* Remember the value before the program runs: teardown must clean up
     * even when setup fails halfway. */
    values = dns01_values_load(env, domain, p);
    if (!values) {
        values = md_json_pool_own(p, json_array());
    }
    if (!values) {
        return APR_ENOMEM;
    }
    if (json_array_size(values) < DNS01_MAX_VALUES) {
        json_array_append_new(values, json_string(value));
    }
    rv = md_store_save_json(env->store, MD_SG_CHALLENGES, domain, MD_FN_DNS01, values, p);
    if (rv != APR_SUCCESS) {
        md_result_printf(result, rv, "dns-01 for %s: saving the TXT value failed", domain);
        return rv;
    }
    rv = dns01_run(env, "setup", domain, value, &what, p);
    if (rv != APR_SUCCESS) {
        md_result_printf(result, rv, "dns-01 setup for %s failed: %s", domain, what);
        return rv;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_INFO, 0, p, "MD04104: %s: dns-01 program set up the "
                  "TXT record", domain);
    return APR_SUCCESS;
}

apr_status_t md_acme_chal_dns01_teardown(const md_acme_chal_env_t *env, md_acme_t *acme,
                                         const char *domain, md_result_t *result,
                                         apr_pool_t *p)
{
    const char *what;
    const json_t *v;
    json_t *values;
    apr_status_t rv = APR_SUCCESS;
    apr_status_t rv2;
    size_t i;

    (void)acme;
    if (!env || !env->store || !(values = dns01_values_load(env, domain, p))) {
        return APR_SUCCESS;
    }
    if (!env->dns01_cmd || env->dns01_cmd->nelts == 0) {
        /* The program was removed from the config: nobody to ask. */
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, 0, p, "MD04105: %s: dns-01 TXT records "
                      "were set up, but no MDChallengeDns01 program is configured to remove "
                      "them", domain);
    }
    else if (env->dns01_version >= 2) {
        /* Version 2: each value is removed by name. */
        json_array_foreach(values, i, v) {
            if (!json_is_string(v)) {
                continue;
            }
            rv2 = dns01_run(env, "teardown", domain, json_string_value(v), &what, p);
            if (rv2 != APR_SUCCESS) {
                md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv2, p, "MD04106: %s: dns-01 "
                              "teardown failed: %s", domain, what);
                rv = rv == APR_SUCCESS ? rv2 : rv;
            }
        }
    }
    else {
        rv = dns01_run(env, "teardown", domain, NULL, &what, p);
        if (rv != APR_SUCCESS) {
            md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, p, "MD04107: %s: dns-01 teardown "
                          "failed: %s", domain, what);
        }
    }
    if (rv != APR_SUCCESS) {
        md_result_printf(result, rv, "dns-01 teardown for %s failed", domain);
    }
    /* Forget the values either way: a failing teardown must not repeat forever. */
    md_acme_chal_remove(env, domain, MD_FN_DNS01, result, p);
    return rv;
}
