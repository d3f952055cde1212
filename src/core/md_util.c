/* String arrays, base64url and small string helpers (see md_util.h). */
#include <string.h>

#include <apr_cstr.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "md_util.h"

/* --- string arrays ------------------------------------------------------ */

apr_array_header_t *md_array_str_clone(apr_pool_t *p, const apr_array_header_t *a)
{
    apr_array_header_t *copy;
    int i;

    if (!a) {
        return NULL;
    }
    copy = apr_array_make(p, a->nelts > 0 ? a->nelts : 1, sizeof(const char *));
    for (i = 0; i < a->nelts; ++i) {
        const char *s = MD_ARR_IDX(a, i, const char *);
        APR_ARRAY_PUSH(copy, const char *) = s ? apr_pstrdup(p, s) : NULL;
    }
    return copy;
}

static int str_same(const char *a, const char *b, int case_sensitive)
{
    if (!a || !b) {
        return a == b;
    }
    return case_sensitive ? !strcmp(a, b) : !apr_cstr_casecmp(a, b);
}

int md_array_str_index(const apr_array_header_t *a, const char *s, int start,
                       int case_sensitive)
{
    int i;

    if (!a || start < 0) {
        return -1;
    }
    for (i = start; i < a->nelts; ++i) {
        if (str_same(MD_ARR_IDX(a, i, const char *), s, case_sensitive)) {
            return i;
        }
    }
    return -1;
}

int md_array_str_eq(const apr_array_header_t *a, const apr_array_header_t *b,
                    int case_sensitive)
{
    int i;

    if (a == b) {
        return 1;
    }
    if (!a || !b || a->nelts != b->nelts) {
        return 0;
    }
    for (i = 0; i < a->nelts; ++i) {
        if (!str_same(MD_ARR_IDX(a, i, const char *), MD_ARR_IDX(b, i, const char *),
                      case_sensitive)) {
            return 0;
        }
    }
    return 1;
}

int md_array_str_contains_all(const apr_array_header_t *a, const apr_array_header_t *sub)
{
    int i;

    if (!sub) {
        return 1;
    }
    for (i = 0; i < sub->nelts; ++i) {
        if (md_array_str_index(a, MD_ARR_IDX(sub, i, const char *), 0, 0) < 0) {
            return 0;
        }
    }
    return 1;
}

void md_array_str_add_missing(apr_array_header_t *a, const char *s)
{
    if (md_array_str_index(a, s, 0, 0) < 0) {
        APR_ARRAY_PUSH(a, const char *) = s;
    }
}

const char *md_array_str_join(const apr_array_header_t *a, const char *sep, apr_pool_t *p)
{
    apr_size_t seplen;
    apr_size_t len = 0;
    char *buf;
    char *cp;
    int i;

    if (!a || a->nelts == 0) {
        return "";
    }
    seplen = sep ? strlen(sep) : 0;
    for (i = 0; i < a->nelts; ++i) {
        const char *s = MD_ARR_IDX(a, i, const char *);
        len += (s ? strlen(s) : 0) + (i ? seplen : 0);
    }
    cp = buf = apr_palloc(p, len + 1);
    for (i = 0; i < a->nelts; ++i) {
        const char *s = MD_ARR_IDX(a, i, const char *);
        apr_size_t n = s ? strlen(s) : 0;
        if (i && seplen) {
            memcpy(cp, sep, seplen);
            cp += seplen;
        }
        if (n) {
            memcpy(cp, s, n);
            cp += n;
        }
    }
    *cp = '\0';
    return buf;
}

/* --- base64url (RFC 4648 §5) -------------------------------------------- */

static const char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value of a base64url character, or -1 for anything else ('+', '/', '='
 * and all non-alphabet bytes included). */
static int b64url_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '-') {
        return 62;
    }
    if (c == '_') {
        return 63;
    }
    return -1;
}

const char *md_util_base64url_encode(const void *data, apr_size_t len, apr_pool_t *p)
{
    const unsigned char *in = data;
    char *out;
    char *cp;
    apr_size_t i;

    cp = out = apr_palloc(p, (len / 3) * 4 + 4 + 1);
    for (i = 0; i + 2 < len; i += 3) {
        *cp++ = b64url_chars[in[i] >> 2];
        *cp++ = b64url_chars[((in[i] & 0x03) << 4) | (in[i + 1] >> 4)];
        *cp++ = b64url_chars[((in[i + 1] & 0x0f) << 2) | (in[i + 2] >> 6)];
        *cp++ = b64url_chars[in[i + 2] & 0x3f];
    }
    if (len - i == 1) {
        *cp++ = b64url_chars[in[i] >> 2];
        *cp++ = b64url_chars[(in[i] & 0x03) << 4];
    }
    else if (len - i == 2) {
        *cp++ = b64url_chars[in[i] >> 2];
        *cp++ = b64url_chars[((in[i] & 0x03) << 4) | (in[i + 1] >> 4)];
        *cp++ = b64url_chars[(in[i + 1] & 0x0f) << 2];
    }
    *cp = '\0';
    return out;
}

apr_status_t md_util_base64url_decode(unsigned char **pdata, apr_size_t *plen,
                                      const char *s, apr_pool_t *p)
{
    apr_size_t slen;
    apr_size_t n;
    apr_size_t i;
    apr_size_t olen;
    unsigned char *out;
    unsigned char *cp;
    apr_uint32_t acc = 0;
    int bits = 0;

    *pdata = NULL;
    *plen = 0;
    if (!s) {
        return APR_EINVAL;
    }
    slen = strlen(s);
    /* Padding is optional, but when present it must complete the last
     * quantum and nothing may follow it. */
    n = slen;
    while (n > 0 && s[n - 1] == '=') {
        --n;
    }
    if (n < slen) {
        if (slen - n > 2 || slen % 4 != 0) {
            return APR_EINVAL;
        }
    }
    /* A single character left over cannot encode a byte. */
    if (n % 4 == 1) {
        return APR_EINVAL;
    }
    olen = (n / 4) * 3 + (n % 4 ? n % 4 - 1 : 0);
    cp = out = apr_palloc(p, olen + 1);
    for (i = 0; i < n; ++i) {
        int v = b64url_val((unsigned char)s[i]);
        if (v < 0) {
            return APR_EINVAL;
        }
        acc = (acc << 6) | (apr_uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            *cp++ = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    /* RFC 4648 §3.5: leftover bits of the last character must be zero,
     * otherwise two different strings would decode to the same bytes. */
    if (bits && (acc & ((1u << bits) - 1))) {
        return APR_EINVAL;
    }
    *cp = '\0';
    *pdata = out;
    *plen = (apr_size_t)(cp - out);
    return APR_SUCCESS;
}

apr_status_t md_util_base64any_decode(unsigned char **pdata, apr_size_t *plen,
                                      const char *s, apr_pool_t *p)
{
    char *copy;
    char *c;

    if (!s) {
        *pdata = NULL;
        *plen = 0;
        return APR_EINVAL;
    }
    copy = apr_pstrdup(p, s);
    for (c = copy; *c; ++c) {
        if (*c == '+') {
            *c = '-';
        }
        else if (*c == '/') {
            *c = '_';
        }
    }
    return md_util_base64url_decode(pdata, plen, copy, p);
}

int md_util_is_base64url(const char *s, apr_size_t max_len)
{
    apr_size_t i;

    if (!s || !*s) {
        return 0;
    }
    for (i = 0; s[i]; ++i) {
        if (i >= max_len || b64url_val((unsigned char)s[i]) < 0) {
            return 0;
        }
    }
    return 1;
}

/* --- strings ------------------------------------------------------------ */

const char *md_util_str_tolower(apr_pool_t *p, const char *s)
{
    char *copy;
    char *cp;

    if (!s) {
        return NULL;
    }
    copy = apr_pstrdup(p, s);
    for (cp = copy; *cp; ++cp) {
        *cp = (char)apr_tolower(*cp);
    }
    return copy;
}

const char *md_util_str_printable(apr_pool_t *p, const char *s, apr_size_t max_len)
{
    apr_size_t len;
    apr_size_t i;
    int truncated = 0;
    char *out;

    if (!s) {
        return NULL;
    }
    len = strlen(s);
    if (max_len > 0 && len > max_len) {
        len = max_len;
        truncated = 1;
    }
    out = apr_palloc(p, len + (truncated ? 3 : 0) + 1);
    for (i = 0; i < len; ++i) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
    }
    if (truncated) {
        memcpy(out + len, "...", 3);
        len += 3;
    }
    out[len] = '\0';
    return out;
}
