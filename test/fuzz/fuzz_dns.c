/* DNS names and IP literals as they arrive from the CA (authorization
 * identifiers), the config and request Host headers: the grammar check
 * (every accepted name is safe as a store directory name), wildcard
 * matching, the reverse names of tls-alpn-01 for IP identifiers, and the
 * index that matches virtual host names to MDs (md.h). Input: names,
 * FUZZ_SEP, more names (separated by spaces: two MDs for the index). */
#include "fuzz.h"

#include <arpa/inet.h>

#include "md.h"
#include "md_acme.h"
#include "md_dns.h"
#include "md_util.h"

/* An MD named after its first name, with the space-separated names. */
static md_t *md_of(const char *names, apr_pool_t *p)
{
    md_t *md = md_create_empty(p);
    char *copy = apr_pstrdup(p, names);
    char *last = NULL;
    char *name;
    int n = 0;

    for (name = apr_strtok(copy, " ", &last); name && n < 16;
         name = apr_strtok(NULL, " ", &last), ++n) {
        APR_ARRAY_PUSH(md->domains, const char *) = md_util_str_tolower(p, name);
    }
    md->name = md->domains->nelts ? MD_ARR_IDX(md->domains, 0, const char *) : "none";
    return md;
}

static void name_index(const char *names1, const char *names2, apr_pool_t *p)
{
    md_name_index_t *ix = md_name_index_make(p);
    md_t *a = md_of(names1, p);
    md_t *b = md_of(names2, p);
    apr_array_header_t *aliases = md_array_str_clone(p, b->domains);
    const char *clash = NULL;
    md_t *other = NULL;
    int i;

    if (md_name_index_add(ix, a, &clash) == NULL && md_name_index_add(ix, b, &clash) == NULL) {
        /* Every name of an MD (that the config would take), asked for,
         * finds an MD. */
        for (i = 0; i < a->domains->nelts; ++i) {
            const char *name = MD_ARR_IDX(a->domains, i, const char *);

            if ((md_dns_is_name(name, 1, 1, NULL) || md_dns_is_ip(name))
                && !md_name_index_find(ix, name, p)) {
                abort();
            }
        }
    }
    (void)md_name_index_match_host(ix, names1, aliases, aliases, MD_MATCH_ALL, &other, p);
    (void)md_name_index_match_host(ix, names2, NULL, NULL, MD_MATCH_SERVERNAMES, &other, p);
}

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
    name_index(parts[0], parts[1], p);
    fuzz_pool_end(p);
    return 0;
}
