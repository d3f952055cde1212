/* DNS names and IP literals as they arrive from the CA (authorization
 * identifiers), the config and request Host headers: the grammar check
 * (every accepted name is safe as a store directory name), wildcard
 * matching, and the reverse names of tls-alpn-01 for IP identifiers. */
#include "fuzz.h"

#include <arpa/inet.h>

#include "md_acme.h"
#include "md_dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_begin();
    const char *parts[2];
    size_t lens[2];
    const char *s;
    const char *why;
    const char *rev;
    const char *ip;
    int flags;

    fuzz_split(data, size, 2, parts, lens, p);
    s = parts[0];
    for (flags = 0; flags < 4; ++flags) {
        why = NULL;
        if (md_dns_is_name(s, flags & 1, flags & 2, &why)) {
            /* An accepted name becomes a directory under challenges/ and
             * staging/: never a path, never hidden, never too long. */
            if (!*s || s[0] == '.' || strchr(s, '/') || strchr(s, '\\') || strlen(s) > 253
                || strstr(s, "..")) {
                abort();
            }
        }
        else if (!why) {
            abort();   /* a refusal always says why */
        }
    }
    (void)md_dns_is_wildcard(s);
    (void)md_dns_matches(s, parts[1]);
    (void)md_dns_matches(parts[1], s);
    if (md_dns_is_ip(s)) {
        if (strcmp(md_acme_ident_type(s), "ip")) {
            abort();
        }
        /* address -> reverse name -> the same address */
        rev = md_dns_ip_reverse_name(p, s);
        ip = rev ? md_dns_ip_from_reverse_name(p, rev) : NULL;
        if (!ip || !md_dns_is_ip(ip) || strcmp(md_dns_ip_reverse_name(p, ip), rev)) {
            abort();
        }
    }
    else if (md_dns_ip_reverse_name(p, s)) {
        abort();
    }
    ip = md_dns_ip_from_reverse_name(p, s);
    if (ip && !md_dns_is_ip(ip)) {
        abort();
    }
    fuzz_pool_end(p);
    return 0;
}
