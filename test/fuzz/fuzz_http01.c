/* The http-01 request path (any client on the network): the request's Host
 * and path read by md_challenges_http01_request, then matched against what
 * challenges/<domain>/acme-http-01.txt holds (a file the server's User can
 * write). Input: host, FUZZ_SEP, path, FUZZ_SEP, file content. */
#include "fuzz.h"

#include "md_challenges.h"
#include "md_dns.h"
#include "md_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_begin();
    const char *parts[3];
    size_t lens[3];
    const char *domain = NULL;
    const char *token = NULL;
    apr_status_t rv;

    fuzz_split(data, size, 3, parts, lens, p);
    rv = md_challenges_http01_request(&domain, &token, parts[0], parts[1], p);
    if (rv == APR_SUCCESS) {
        /* domain and token name a file in the store: they must not be able
         * to leave challenges/<domain>/ or hide in it. */
        if (!domain || !token || !*domain || domain[0] == '.' || strchr(domain, '/')
            || strchr(domain, '\\') || strlen(domain) > 253
            || !(md_dns_is_name(domain, 0, 1, NULL) || md_dns_is_ip(domain))
            || !md_util_is_base64url(token, MD_HTTP01_TOKEN_MAX_LEN)
            || strcmp(md_util_str_tolower(p, domain), domain)) {
            abort();
        }
        if (md_challenges_http01_answers(parts[2], token)
            && (strncmp(parts[2], token, strlen(token)) || parts[2][strlen(token)] != '.')) {
            abort();
        }
    }
    else if (rv != APR_ENOENT && rv != APR_EINVAL) {
        abort();
    }
    else if (domain || token) {
        abort();
    }
    (void)md_challenges_http01_answers(parts[2], parts[1]);
    fuzz_pool_end(p);
    return 0;
}
