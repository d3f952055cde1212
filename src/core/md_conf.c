/* Value forms of the MD* directives as the stock module reads them (see
 * md_conf.h). */
#include <errno.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "md_conf.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_util.h"

#define USECS_PER_SEC   ((apr_int64_t)APR_USEC_PER_SEC)

/* Microseconds of the unit named by the first letters of u; 0 if none. */
static apr_int64_t unit_usecs(const char *u)
{
    switch (apr_tolower(u[0])) {
    case 'd':
        return (apr_int64_t)MD_SECS_PER_DAY * USECS_PER_SEC;
    case 'h':
        return (apr_int64_t)MD_SECS_PER_HOUR * USECS_PER_SEC;
    case 's':
        return USECS_PER_SEC;
    case 'm':
        switch (apr_tolower(u[1])) {
        case 's':
            return 1000;
        case 'i':
            return 60 * USECS_PER_SEC;
        default:
            return 0;
        }
    default:
        return 0;
    }
}

/* n * factor (factor > 0), saturating at the ends of apr_int64_t. */
static apr_int64_t mul_saturating(apr_int64_t n, apr_int64_t factor, int *psaturated)
{
    if (n > APR_INT64_MAX / factor) {
        *psaturated = 1;
        return APR_INT64_MAX;
    }
    if (n < APR_INT64_MIN / factor) {
        *psaturated = 1;
        return APR_INT64_MIN;
    }
    return n * factor;
}

/* The leading [+|-]digits of value; *pend after them. APR_EINVAL without
 * digits or beyond 64 bits. */
static apr_status_t leading_int(apr_int64_t *pn, const char **pend, const char *value)
{
    const char *s = value;
    char *end = NULL;

    if (!value) {
        return APR_EINVAL;
    }
    if (*s == '+' || *s == '-') {
        ++s;
    }
    if (!apr_isdigit(*s)) {
        return APR_EINVAL;
    }
    errno = 0;
    *pn = apr_strtoi64(value, &end, 10);
    if (errno == ERANGE || !end || end == value) {
        return APR_EINVAL;
    }
    *pend = end;
    return APR_SUCCESS;
}

apr_status_t md_conf_duration_parse(apr_interval_time_t *pdur, int *psaturated,
                                    const char *value, const char *def_unit)
{
    const char *end = NULL;
    apr_int64_t n = 0;
    apr_int64_t usecs;
    int saturated = 0;

    *pdur = 0;
    if (psaturated) {
        *psaturated = 0;
    }
    if (leading_int(&n, &end, value) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    usecs = unit_usecs(*end ? end : (def_unit ? def_unit : "s"));
    if (usecs == 0) {
        return APR_EINVAL;
    }
    *pdur = mul_saturating(n, usecs, &saturated);
    if (psaturated) {
        *psaturated = saturated;
    }
    return APR_SUCCESS;
}

apr_status_t md_conf_timeslice_parse(md_timeslice_t *ts, int *psaturated, const char *value,
                                     const char **perr, apr_pool_t *p)
{
    const char *shown = md_util_str_printable(p, value ? value : "", 64);
    const char *end = NULL;
    apr_int64_t n = 0;

    memset(ts, 0, sizeof(*ts));
    *perr = NULL;
    if (psaturated) {
        *psaturated = 0;
    }
    if (md_conf_duration_parse(&ts->duration, psaturated, value, "d") == APR_SUCCESS) {
        return APR_SUCCESS;
    }
    if (leading_int(&n, &end, value) == APR_SUCCESS && *end == '%') {
        if (n < 0 || n > 99) {
            *perr = apr_psprintf(p, "\"%s\" is out of range: a window must be 0%% to 99%% "
                                 "of the certificate's lifetime", shown);
            return APR_EINVAL;
        }
        ts->is_percent = 1;
        ts->percent = (int)n;
        return APR_SUCCESS;
    }
    *perr = apr_psprintf(p, "\"%s\" is not a duration or percentage (e.g. 33%%, 30d, "
                         "12h)", shown);
    return APR_EINVAL;
}

apr_status_t md_conf_int_parse(apr_int64_t *pn, int *ptrailing, int *psaturated,
                               const char *value)
{
    const char *end = NULL;
    const char *s = value;

    *pn = 0;
    *ptrailing = 0;
    *psaturated = 0;
    if (leading_int(pn, &end, value) == APR_SUCCESS) {
        *ptrailing = (*end != '\0');
        return APR_SUCCESS;
    }
    /* Digits beyond 64 bits: a count that large saturates. */
    if (s && (*s == '+' || *s == '-')) {
        ++s;
    }
    if (s && apr_isdigit(*s)) {
        *psaturated = 1;
        *pn = (value[0] == '-') ? APR_INT64_MIN : APR_INT64_MAX;
        while (apr_isdigit(*s)) {
            ++s;
        }
        *ptrailing = (*s != '\0');
        return APR_SUCCESS;
    }
    return APR_EINVAL;
}

static const char *json_str_dup(const json_t *j, const char *key, apr_pool_t *p)
{
    const char *s = md_json_get_str(j, key);

    return s ? apr_pstrdup(p, s) : NULL;
}

/* Whether info is of a regular file of at most max bytes (see
 * md_conf_file_read for the answers). */
static apr_status_t file_fits(const apr_finfo_t *info, apr_size_t max)
{
    if (info->filetype != APR_REG || info->size < 0) {
        return APR_EINVAL;
    }
    return (apr_uint64_t)info->size > max ? APR_ENOSPC : APR_SUCCESS;
}

apr_status_t md_conf_file_read(char **pdata, apr_size_t *plen, const char *path,
                               apr_size_t max, apr_pool_t *p)
{
    apr_file_t *f = NULL;
    apr_finfo_t info;
    apr_size_t len = 0;
    char *data;
    apr_status_t rv;

    *pdata = NULL;
    *plen = 0;
    if ((rv = apr_stat(&info, path, APR_FINFO_SIZE | APR_FINFO_TYPE, p)) != APR_SUCCESS
        || (rv = file_fits(&info, max)) != APR_SUCCESS
        || (rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY,
                               APR_FPROT_OS_DEFAULT, p)) != APR_SUCCESS) {
        return rv;
    }
    /* It may have been replaced since. */
    if ((rv = apr_file_info_get(&info, APR_FINFO_SIZE | APR_FINFO_TYPE, f)) == APR_SUCCESS
        && (rv = file_fits(&info, max)) == APR_SUCCESS) {
        data = apr_palloc(p, (apr_size_t)info.size + 1);
        rv = apr_file_read_full(f, data, (apr_size_t)info.size, &len);
        if (rv == APR_EOF && len == 0 && info.size == 0) {
            rv = APR_SUCCESS;
        }
        data[len] = '\0';
        *pdata = data;
        *plen = len;
    }
    apr_file_close(f);
    return rv;
}

apr_status_t md_conf_eab_file_read(md_conf_eab_t *eab, const char *path, const char **perr,
                                   apr_pool_t *p)
{
    apr_size_t len;
    const char *jerr = NULL;
    char *data;
    json_t *j;
    apr_status_t rv;

    memset(eab, 0, sizeof(*eab));
    *perr = NULL;
    rv = md_conf_file_read(&data, &len, path, MD_CONF_EAB_FILE_MAX, p);
    if (APR_STATUS_IS_ENOENT(rv) || APR_STATUS_IS_ENOTDIR(rv) || rv == APR_EINVAL) {
        return APR_ENOENT;
    }
    if (rv == APR_ENOSPC) {
        *perr = apr_psprintf(p, "file %s is too large", path);
        return APR_EINVAL;
    }
    if (rv != APR_SUCCESS) {
        *perr = apr_psprintf(p, "cannot read %s", path);
        return APR_EINVAL;
    }
    if (md_json_parse(&j, data, len, path, &jerr, p) != APR_SUCCESS || !json_is_object(j)) {
        *perr = apr_psprintf(p, "%s is not a JSON object with \"kid\" and \"hmac\"%s%s", path,
                             jerr ? ": " : "", jerr ? jerr : "");
        return APR_EINVAL;
    }
    eab->kid = json_str_dup(j, MD_KEY_KID, p);
    eab->hmac = json_str_dup(j, MD_KEY_HMAC, p);
    eab->alg = json_str_dup(j, MD_KEY_ALG, p);
    return APR_SUCCESS;
}
