/* Choosing the challenge types for an MD, and reading http-01 requests
 * (see md_challenges.h). */
#include <string.h>

#include <apr_strings.h>

#include "md.h"
#include "md_challenges.h"
#include "md_dns.h"
#include "md_util.h"

int md_challenges_has_wildcard(const md_t *md)
{
    int i;

    for (i = 0; md->domains && i < md->domains->nelts; ++i) {
        if (md_dns_is_wildcard(MD_ARR_IDX(md->domains, i, const char *))) {
            return 1;
        }
    }
    return 0;
}

static int has_dns01(const md_t *md)
{
    return md->dns01_cmd && md->dns01_cmd->nelts > 0;
}

static int has_acme_tls_1(const md_t *md)
{
    return md->acme_tls_1_domains && md->acme_tls_1_domains->nelts > 0;
}

/* Why each type cannot work, for the message when none can (http-01 is
 * out only when port 80 is not served). */
static const char *why_none(int https_served, apr_pool_t *p)
{
    return apr_psprintf(p, "http-01 needs the port the CA reaches as 80 to be served "
                        "(Listen, MDPortMap); %s; dns-01 needs an MDChallengeDns01 program",
                        https_served ? "tls-alpn-01 needs 'acme-tls/1' in the Protocols of "
                                       "a virtual host of the MD"
                                     : "tls-alpn-01 needs the port the CA reaches as 443 to "
                                       "be served (Listen, MDPortMap)");
}

apr_status_t md_challenges_select(apr_array_header_t **ptypes, const md_t *md,
                                  int http_served, int https_served, const char **pwhy,
                                  apr_pool_t *p)
{
    apr_array_header_t *types = apr_array_make(p, 3, sizeof(const char *));
    int wildcard = md_challenges_has_wildcard(md);
    int i;

    *ptypes = NULL;
    *pwhy = NULL;
    if (wildcard && !has_dns01(md)) {
        *pwhy = apr_psprintf(p, "MDomain %s has a wildcard name, which only the dns-01 "
                             "challenge can validate, but no MDChallengeDns01 program is "
                             "configured", md->name);
        return APR_EINVAL;
    }
    if (md->ca_challenges && md->ca_challenges->nelts > 0) {
        /* The admin's choice and order, without what cannot work here, as
         * the stock module skips them: dns-01 without a program, tls-alpn-01
         * where no host of the MD offers acme-tls/1 (or 443 is not served). */
        for (i = 0; i < md->ca_challenges->nelts; ++i) {
            const char *t = MD_ARR_IDX(md->ca_challenges, i, const char *);
            if (!strcmp(t, MD_CHAL_DNS01) && !has_dns01(md)) {
                continue;
            }
            if (!strcmp(t, MD_CHAL_TLSALPN01) && !(https_served && has_acme_tls_1(md))) {
                continue;
            }
            md_array_str_add_missing(types, t);
        }
        if (types->nelts == 0) {
            *pwhy = apr_psprintf(p, "MDomain %s: none of the types in MDCAChallenges (%s) "
                                 "can work here: %s", md->name,
                                 md_array_str_join(md->ca_challenges, " ", p),
                                 why_none(https_served, p));
            return APR_EINVAL;
        }
        if (wildcard && md_array_str_index(types, MD_CHAL_DNS01, 0, 1) < 0) {
            *pwhy = apr_psprintf(p, "MDomain %s has a wildcard name, which only the dns-01 "
                                 "challenge can validate, but MDCAChallenges does not allow "
                                 "dns-01 (%s)", md->name, md_array_str_join(types, " ", p));
            return APR_EINVAL;
        }
        *ptypes = types;
        return APR_SUCCESS;
    }
    if (http_served) {
        APR_ARRAY_PUSH(types, const char *) = MD_CHAL_HTTP01;
    }
    if (https_served && has_acme_tls_1(md)) {
        APR_ARRAY_PUSH(types, const char *) = MD_CHAL_TLSALPN01;
    }
    if (has_dns01(md)) {
        APR_ARRAY_PUSH(types, const char *) = MD_CHAL_DNS01;
    }
    if (types->nelts == 0) {
        *pwhy = apr_psprintf(p, "MDomain %s: no ACME challenge type can work: %s", md->name,
                             why_none(https_served, p));
        return APR_EINVAL;
    }
    *ptypes = types;
    return APR_SUCCESS;
}

apr_array_header_t *md_challenges_authz_names(const md_t *md, apr_pool_t *p)
{
    apr_array_header_t *names = apr_array_make(p, md->domains->nelts, sizeof(const char *));
    int i;

    for (i = 0; i < md->domains->nelts; ++i) {
        const char *name = MD_ARR_IDX(md->domains, i, const char *);

        if (md_dns_is_wildcard(name)) {
            name += 2;
        }
        md_array_str_add_missing(names, name);
    }
    return names;
}

/* --- http-01 requests ----------------------------------------------------- */

apr_status_t md_challenges_http01_request(const char **pdomain, const char **ptoken,
                                          const char *host, const char *path, apr_pool_t *p)
{
    const char *token;
    size_t len;

    *pdomain = NULL;
    *ptoken = NULL;
    if (!path || strncmp(path, MD_HTTP01_PATH_PREFIX, sizeof(MD_HTTP01_PATH_PREFIX) - 1)) {
        return APR_ENOENT;
    }
    token = path + sizeof(MD_HTTP01_PATH_PREFIX) - 1;
    if (!host || !md_util_is_base64url(token, MD_HTTP01_TOKEN_MAX_LEN)) {
        return APR_EINVAL;
    }
    len = strlen(host);
    if (len > 2 && host[0] == '[' && host[len - 1] == ']') {
        /* Only an IPv6 address may come in brackets. */
        host = apr_pstrmemdup(p, host + 1, len - 2);
        if (!strchr(host, ':') || !md_dns_is_ip(host)) {
            return APR_EINVAL;
        }
    }
    else if (!md_dns_is_name(host, 0, 1, NULL) && !md_dns_is_ip(host)) {
        return APR_EINVAL;
    }
    *pdomain = md_util_str_tolower(p, host);
    *ptoken = apr_pstrdup(p, token);
    return APR_SUCCESS;
}

int md_challenges_http01_answers(const char *key_authz, const char *token)
{
    size_t tlen;

    if (!key_authz || !token || !*token) {
        return 0;
    }
    tlen = strlen(token);
    return !strncmp(key_authz, token, tlen) && key_authz[tlen] == '.';
}
