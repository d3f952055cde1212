/* DNS name grammar for the names we manage (see md_dns.h). */
#include <string.h>
#include <arpa/inet.h>

#include <apr_lib.h>
#include <apr_cstr.h>
#include <apr_strings.h>

#include "md_dns.h"

#define DNS_NAME_MAX   253
#define DNS_LABEL_MAX  63

/* Why a printable ASCII character is refused, indexed by c - 0x20. Static
 * strings, since callers keep the reason without a pool. */
static const char *const bad_char_reasons[0x7f - 0x20] = {
    [0x20 - 0x20] = "invalid character ' '",
    [0x21 - 0x20] = "invalid character '!'",
    [0x22 - 0x20] = "invalid character '\"'",
    [0x23 - 0x20] = "invalid character '#'",
    [0x24 - 0x20] = "invalid character '$'",
    [0x25 - 0x20] = "invalid character '%'",
    [0x26 - 0x20] = "invalid character '&'",
    [0x27 - 0x20] = "invalid character '''",
    [0x28 - 0x20] = "invalid character '('",
    [0x29 - 0x20] = "invalid character ')'",
    [0x2a - 0x20] = "invalid character '*'",
    [0x2b - 0x20] = "invalid character '+'",
    [0x2c - 0x20] = "invalid character ','",
    [0x2f - 0x20] = "invalid character '/'",
    [0x3a - 0x20] = "invalid character ':'",
    [0x3b - 0x20] = "invalid character ';'",
    [0x3c - 0x20] = "invalid character '<'",
    [0x3d - 0x20] = "invalid character '='",
    [0x3e - 0x20] = "invalid character '>'",
    [0x3f - 0x20] = "invalid character '?'",
    [0x40 - 0x20] = "invalid character '@'",
    [0x5b - 0x20] = "invalid character '['",
    [0x5c - 0x20] = "invalid character '\\'",
    [0x5d - 0x20] = "invalid character ']'",
    [0x5e - 0x20] = "invalid character '^'",
    [0x5f - 0x20] = "invalid character '_'",
    [0x60 - 0x20] = "invalid character '`'",
    [0x7b - 0x20] = "invalid character '{'",
    [0x7c - 0x20] = "invalid character '|'",
    [0x7d - 0x20] = "invalid character '}'",
    [0x7e - 0x20] = "invalid character '~'",
};

static const char *bad_char_reason(unsigned char c)
{
    if (c >= 0x20 && c < 0x7f && bad_char_reasons[c - 0x20]) {
        return bad_char_reasons[c - 0x20];
    }
    if (c >= 0x80) {
        return "non-ASCII character (use the punycode \"xn--\" form)";
    }
    return "invalid control character";
}

static int fail(const char **preason, const char *why)
{
    if (preason) {
        *preason = why;
    }
    return 0;
}

int md_dns_is_name(const char *name, int allow_wildcard, int allow_single_label,
                   const char **preason)
{
    const char *s;
    size_t label_len = 0;
    int dots = 0;

    if (preason) {
        *preason = NULL;
    }
    if (!name || !*name) {
        return fail(preason, "empty name");
    }
    if (strlen(name) > DNS_NAME_MAX) {
        return fail(preason, "name longer than 253 characters");
    }
    s = name;
    if (s[0] == '*') {
        if (s[1] != '.') {
            return fail(preason, "'*' is only allowed as the whole first label");
        }
        if (!allow_wildcard) {
            return fail(preason, "wildcard names are not allowed here");
        }
        /* The rest is checked as a name of its own: "*.org" has one label
         * after the wildcard and is refused like "org" would be. */
        s += 2;
        if (!*s) {
            return fail(preason, "empty label");
        }
    }
    for (; *s; ++s) {
        unsigned char c = (unsigned char)*s;
        if (c == '.') {
            if (label_len == 0) {
                return fail(preason, "empty label");
            }
            if (s[-1] == '-') {
                return fail(preason, "label ends with a hyphen");
            }
            if (!s[1]) {
                return fail(preason, "trailing dot");
            }
            ++dots;
            label_len = 0;
            continue;
        }
        if (c == '-') {
            if (label_len == 0) {
                return fail(preason, "label starts with a hyphen");
            }
        }
        else if (!apr_isalnum(c) || c >= 0x80) {
            return fail(preason, bad_char_reason(c));
        }
        if (++label_len > DNS_LABEL_MAX) {
            return fail(preason, "label longer than 63 characters");
        }
    }
    if (s[-1] == '-') {
        return fail(preason, "label ends with a hyphen");
    }
    if (!dots && !allow_single_label) {
        return fail(preason, "name has only one label");
    }
    return 1;
}

int md_dns_is_wildcard(const char *name)
{
    return name && name[0] == '*' && name[1] == '.';
}

int md_dns_matches(const char *pattern, const char *name)
{
    const char *dot;

    if (!pattern || !name) {
        return 0;
    }
    if (!apr_cstr_casecmp(pattern, name)) {
        return 1;
    }
    if (!md_dns_is_wildcard(pattern) || md_dns_is_wildcard(name)) {
        return 0;
    }
    /* "*.example.org" covers exactly one more label: "www.example.org",
     * not "example.org" and not "a.b.example.org". */
    dot = strchr(name, '.');
    if (!dot || dot == name) {
        return 0;
    }
    return !apr_cstr_casecmp(pattern + 2, dot + 1);
}

/* --- IP addresses (RFC 8738) ----------------------------------------------- */

int md_dns_is_ip(const char *s)
{
    unsigned char buf[16];

    return s && (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1);
}

const char *md_dns_ip_reverse_name(apr_pool_t *p, const char *ip)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char a[16];
    char *s;
    char *d;
    int i;

    if (!ip) {
        return NULL;
    }
    if (inet_pton(AF_INET, ip, a) == 1) {
        return apr_psprintf(p, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
    }
    if (inet_pton(AF_INET6, ip, a) != 1) {
        return NULL;
    }
    /* 32 nibbles, least significant first, each followed by a dot. */
    s = d = apr_palloc(p, 32 * 2 + sizeof("ip6.arpa"));
    for (i = 15; i >= 0; --i) {
        *d++ = hex[a[i] & 0x0f];
        *d++ = '.';
        *d++ = hex[a[i] >> 4];
        *d++ = '.';
    }
    memcpy(d, "ip6.arpa", sizeof("ip6.arpa"));
    return s;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = (char)apr_tolower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

const char *md_dns_ip_from_reverse_name(apr_pool_t *p, const char *name)
{
    static const char v4_suffix[] = ".in-addr.arpa";
    static const char v6_suffix[] = ".ip6.arpa";
    char buf[INET6_ADDRSTRLEN];
    unsigned char a[16];
    size_t len;
    int i;

    if (!name) {
        return NULL;
    }
    len = strlen(name);
    if (len > sizeof(v4_suffix) - 1
        && !apr_cstr_casecmp(name + len - (sizeof(v4_suffix) - 1), v4_suffix)) {
        const char *c = name;
        for (i = 3; i >= 0; --i) {
            unsigned v = 0;
            int digits = 0;
            while (*c >= '0' && *c <= '9' && digits < 3) {
                v = v * 10 + (unsigned)(*c++ - '0');
                ++digits;
            }
            if (!digits || v > 255 || *c != '.') {
                return NULL;
            }
            a[i] = (unsigned char)v;
            ++c;
        }
        if (c != name + len - (sizeof(v4_suffix) - 2)) {
            return NULL;
        }
        return inet_ntop(AF_INET, a, buf, sizeof(buf)) ? apr_pstrdup(p, buf) : NULL;
    }
    if (len == 64 + sizeof(v6_suffix) - 2
        && !apr_cstr_casecmp(name + 63, v6_suffix)) {
        for (i = 0; i < 32; ++i) {
            int v = hex_value(name[2 * i]);
            if (v < 0 || (i < 31 && name[2 * i + 1] != '.')) {
                return NULL;
            }
            /* Nibble i counts from the least significant end. */
            if (i % 2 == 0) {
                a[15 - i / 2] = (unsigned char)v;
            }
            else {
                a[15 - i / 2] = (unsigned char)(a[15 - i / 2] | (v << 4));
            }
        }
        return inet_ntop(AF_INET6, a, buf, sizeof(buf)) ? apr_pstrdup(p, buf) : NULL;
    }
    return NULL;
}
