/* Value forms of the MD* directives, read as the stock mod_md 2.6 reads
 * them, so that every value the stock module starts with means the same
 * here. Pure functions without logging: the caller (the config glue)
 * decides what is refused, clamped or warned about.
 *
 * The stock forms are looser than md_duration_parse/md_timeslice_parse,
 * which read our own files: a sign is allowed, a unit is recognised by its
 * leading letters ("30days", "12hours", "5mins", "100msec"), and numbers
 * too large for the unit are accepted. Here such numbers saturate at the
 * ends of apr_interval_time_t instead of wrapping around, so a caller can
 * clamp them to a sane range.
 */
#ifndef md_conf_h
#define md_conf_h

#include <apr_pools.h>
#include <apr_time.h>

#include "md_time.h"

/* A duration: [+|-]digits[unit]. The unit is taken from its first letters
 * as the stock module does: d... days, h... hours, s... seconds, ms...
 * milliseconds, mi... minutes (a lone "m" is no unit). Without a unit,
 * def_unit ("d", "s", ...) applies. The value saturates at APR_INT64_MIN
 * and APR_INT64_MAX; *psaturated (if not NULL) says whether it did.
 * APR_EINVAL when value has no digits, an unknown unit, or digits beyond
 * the 64-bit range (the stock module refuses those too). */
apr_status_t md_conf_duration_parse(apr_interval_time_t *pdur, int *psaturated,
                                    const char *value, const char *def_unit);

/* A window as MDRenewWindow, MDWarnWindow and MDStaplingRenewWindow take
 * it: "[+]N%" with N in 0..99, or a duration as md_conf_duration_parse
 * reads it with days as default unit (it may be negative or saturated: the
 * caller clamps ts->duration). APR_EINVAL with *perr (from p, naming the
 * value) otherwise; a percentage of 100 or more, or a negative one, is
 * refused as by the stock module. */
apr_status_t md_conf_timeslice_parse(md_timeslice_t *ts, int *psaturated, const char *value,
                                     const char **perr, apr_pool_t *p);

/* A whole number as the stock module reads counts ("3", "+3", and "3x" as
 * 3, like atoi): *ptrailing says whether something followed the digits.
 * Saturates at the ends of apr_int64_t (*psaturated). APR_EINVAL when
 * value does not start with [+|-] and a digit. */
apr_status_t md_conf_int_parse(apr_int64_t *pn, int *ptrailing, int *psaturated,
                               const char *value);

/* A file the admin names in the configuration (MDCertificateFile,
 * MDExternalAccountBinding's file), whole and NUL-terminated in p. Looked
 * at before it is opened, so that a FIFO there does not block the start,
 * and again through the open file. The error of stat or open as it is
 * (APR_ENOENT when it is not there), APR_EINVAL when it is not a regular
 * file, APR_ENOSPC when it is larger than max. */
apr_status_t md_conf_file_read(char **pdata, apr_size_t *plen, const char *path,
                               apr_size_t max, apr_pool_t *p);

/* MDExternalAccountBinding's file form, {"kid": "...", "hmac": "...",
 * "alg": "HS256"} with alg optional, which keeps the MAC key out of the
 * (often world-readable) config and off command lines. The strings are
 * copied into p as they are, NULL when missing: the config glue and
 * md_acme_set_eab check them. APR_ENOENT when path is not a regular file;
 * APR_EINVAL with *perr (from p, naming path) when it is larger than
 * MD_CONF_EAB_FILE_MAX, cannot be read, or is not a JSON object. */
#define MD_CONF_EAB_FILE_MAX    (64 * 1024)

typedef struct md_conf_eab_t {
    const char *kid;
    const char *hmac;           /* the MAC key, base64 or base64url */
    const char *alg;            /* HS256, HS384, HS512 or NULL */
} md_conf_eab_t;

apr_status_t md_conf_eab_file_read(md_conf_eab_t *eab, const char *path, const char **perr,
                                   apr_pool_t *p);

#endif /* md_conf_h */
