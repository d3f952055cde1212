/* Small helpers without a better home: string arrays and base64url.
 * Nothing here touches files, the network or OpenSSL. */
#ifndef md_util_h
#define md_util_h

#include <apr_pools.h>
#include <apr_tables.h>

/* Shorthand for the array element of type T at index i. */
#define MD_ARR_IDX(a, i, T) (((T *)(a)->elts)[i])

/* --- string arrays (apr_array_header_t of const char *) --- */

/* Deep copy of a string array into p (strings copied too). NULL stays NULL. */
apr_array_header_t *md_array_str_clone(apr_pool_t *p, const apr_array_header_t *a);

/* Index of s in a, searching from start, or -1. */
int md_array_str_index(const apr_array_header_t *a, const char *s, int start,
                       int case_sensitive);

/* Same strings in the same order? Two NULLs are equal. */
int md_array_str_eq(const apr_array_header_t *a, const apr_array_header_t *b,
                    int case_sensitive);

/* Every string of sub is in a (case-insensitive)? */
int md_array_str_contains_all(const apr_array_header_t *a, const apr_array_header_t *sub);

/* Append s (not copied) if not already present (case-insensitive). */
void md_array_str_add_missing(apr_array_header_t *a, const char *s);

/* Join with a separator, for messages. */
const char *md_array_str_join(const apr_array_header_t *a, const char *sep, apr_pool_t *p);

/* --- base64url (RFC 4648 §5, no padding), as JWS/ACME use it --- */

/* Encode len bytes. Never fails; the result is allocated from p. */
const char *md_util_base64url_encode(const void *data, apr_size_t len, apr_pool_t *p);

/* Decode; accepts input with or without '=' padding, rejects any character
 * outside the base64url alphabet with APR_EINVAL. *pdata is NUL-terminated
 * for convenience (not counted in *plen). */
apr_status_t md_util_base64url_decode(unsigned char **pdata, apr_size_t *plen,
                                      const char *s, apr_pool_t *p);

/* Like md_util_base64url_decode, but also accepts the standard base64
 * alphabet ('+', '/'): keys handed out by CAs come in either form. */
apr_status_t md_util_base64any_decode(unsigned char **pdata, apr_size_t *plen,
                                      const char *s, apr_pool_t *p);

/* Is s a non-empty string of base64url characters only, at most max_len long?
 * Used to validate ACME challenge tokens before they become paths or headers. */
int md_util_is_base64url(const char *s, apr_size_t max_len);

/* Lower-case copy. */
const char *md_util_str_tolower(apr_pool_t *p, const char *s);

/* Copy of s with non-printable characters (bytes < 0x20 or >= 0x7f) replaced
 * by '?', for strings from the network before they go into a log line or
 * HTML. If s is longer than max_len (and max_len > 0), only its first max_len
 * characters are kept and "..." is appended. NULL stays NULL. */
const char *md_util_str_printable(apr_pool_t *p, const char *s, apr_size_t max_len);

#endif /* md_util_h */
