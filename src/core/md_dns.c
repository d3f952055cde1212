/* DNS name grammar for the names we manage (see md_dns.h). */
#include <string.h>

#include <apr_lib.h>
#include <apr_cstr.h>

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
