/* Durations, renew/warn windows and date formats (see md_time.h). */
#include <errno.h>
#include <string.h>

#include <apr_date.h>
#include <apr_lib.h>
#include <apr_cstr.h>
#include <apr_strings.h>

#include "md_time.h"
#include "md_util.h"

#define MAX_INTERVAL   ((apr_interval_time_t)APR_INT64_MAX)

/* --- durations ---------------------------------------------------------- */

typedef struct {
    const char *name;
    apr_interval_time_t usecs;
    const char *singular;
    const char *plural;
} time_unit_t;

/* Largest first: md_duration_format picks the first one that divides. */
static const time_unit_t units[] = {
    { "d",  (apr_interval_time_t)MD_SECS_PER_DAY * APR_USEC_PER_SEC,  "day",    "days" },
    { "h",  (apr_interval_time_t)MD_SECS_PER_HOUR * APR_USEC_PER_SEC, "hour",   "hours" },
    { "mi", (apr_interval_time_t)60 * APR_USEC_PER_SEC,               "minute", "minutes" },
    { "s",  APR_USEC_PER_SEC,                                         "second", "seconds" },
    { "ms", 1000,                                                     "millisecond",
                                                                      "milliseconds" },
};
#define N_UNITS (sizeof(units) / sizeof(units[0]))

static const time_unit_t *unit_find(const char *name)
{
    size_t i;

    for (i = 0; i < N_UNITS; ++i) {
        if (!apr_cstr_casecmp(units[i].name, name)) {
            return &units[i];
        }
    }
    return NULL;
}

apr_status_t md_duration_parse(apr_interval_time_t *pdur, const char *value,
                               const char *def_unit)
{
    const time_unit_t *unit;
    char *end = NULL;
    apr_int64_t n;

    *pdur = 0;
    /* apr_strtoi64 would skip blanks and take a sign: refuse both here. */
    if (!value || !apr_isdigit(value[0])) {
        return APR_EINVAL;
    }
    errno = 0;
    n = apr_strtoi64(value, &end, 10);
    if (errno == ERANGE || n < 0 || !end || end == value) {
        return APR_EINVAL;
    }
    unit = unit_find(*end ? end : (def_unit ? def_unit : "s"));
    if (!unit) {
        return APR_EINVAL;
    }
    if (n > MAX_INTERVAL / unit->usecs) {
        return APR_EINVAL;
    }
    *pdur = n * unit->usecs;
    return APR_SUCCESS;
}

const char *md_duration_format(apr_interval_time_t dur, apr_pool_t *p)
{
    const char *sign = "";
    size_t i;

    if (dur < 0) {
        sign = "-";
        dur = (dur == APR_INT64_MIN) ? MAX_INTERVAL : -dur;
    }
    if (dur == 0) {
        return "0s";
    }
    for (i = 0; i < N_UNITS; ++i) {
        if (dur % units[i].usecs == 0) {
            break;
        }
    }
    /* Microseconds have no unit of their own: they are cut off. */
    if (i == N_UNITS) {
        i = N_UNITS - 1;
    }
    return apr_psprintf(p, "%s%" APR_INT64_T_FMT "%s", sign, dur / units[i].usecs,
                        units[i].name);
}

const char *md_duration_print(apr_interval_time_t dur, apr_pool_t *p)
{
    const char *s = "";
    const char *sep = "";
    size_t i;

    if (dur < 0) {
        return apr_pstrcat(p, "-", md_duration_print(dur == APR_INT64_MIN ? MAX_INTERVAL
                                                      : -dur, p), NULL);
    }
    for (i = 0; i < N_UNITS; ++i) {
        apr_int64_t n = dur / units[i].usecs;
        if (n > 0) {
            s = apr_psprintf(p, "%s%s%" APR_INT64_T_FMT " %s", s, sep, n,
                             n == 1 ? units[i].singular : units[i].plural);
            sep = " ";
            dur -= n * units[i].usecs;
        }
    }
    return *s ? s : "0 seconds";
}

/* --- timeslices --------------------------------------------------------- */

/* Is s (up to end) an optional '-' followed by digits only? */
static int is_int_text(const char *s, const char *end)
{
    if (s < end && *s == '-') {
        ++s;
    }
    if (s == end) {
        return 0;
    }
    for (; s < end; ++s) {
        if (!apr_isdigit(*s)) {
            return 0;
        }
    }
    return 1;
}

apr_status_t md_timeslice_parse(md_timeslice_t *ts, const char *value,
                                const char **perr, apr_pool_t *p)
{
    size_t len;
    const char *shown;

    memset(ts, 0, sizeof(*ts));
    if (perr) {
        *perr = NULL;
    }
    len = value ? strlen(value) : 0;
    shown = md_util_str_printable(p, value ? value : "", 64);
    if (len > 0 && value[len - 1] == '%') {
        const char *end = value + len - 1;
        apr_int64_t n;
        char *numend = NULL;

        if (!is_int_text(value, end)) {
            goto not_valid;
        }
        errno = 0;
        n = apr_strtoi64(value, &numend, 10);
        if (numend != end || errno == ERANGE || n < 0 || n > 99) {
            if (perr) {
                *perr = apr_psprintf(p, "\"%s\" is out of range: a window must be 0%% to"
                                     " 99%% of the certificate's lifetime", shown);
            }
            return APR_EINVAL;
        }
        ts->is_percent = 1;
        ts->percent = (int)n;
        return APR_SUCCESS;
    }
    if (md_duration_parse(&ts->duration, value, "d") == APR_SUCCESS) {
        return APR_SUCCESS;
    }
not_valid:
    memset(ts, 0, sizeof(*ts));
    if (perr) {
        *perr = apr_psprintf(p, "\"%s\" is not a duration or percentage (e.g. 33%%, 30d)",
                             shown);
    }
    return APR_EINVAL;
}

const char *md_timeslice_format(const md_timeslice_t *ts, apr_pool_t *p)
{
    if (ts->is_percent) {
        return apr_psprintf(p, "%d%%", ts->percent);
    }
    return md_duration_format(ts->duration, p);
}

apr_time_t md_timeslice_start(const md_timeslice_t *ts, apr_time_t from, apr_time_t until)
{
    apr_interval_time_t lifetime;

    /* A certificate that ends before it starts is renewed right away. */
    if (until <= from) {
        return until;
    }
    lifetime = until - from;
    if (ts->is_percent) {
        int pct = ts->percent < 0 ? 0 : (ts->percent > 100 ? 100 : ts->percent);
        /* Split so that lifetime * pct cannot overflow. */
        apr_interval_time_t back = (lifetime / 100) * pct + ((lifetime % 100) * pct) / 100;
        return until - back;
    }
    if (ts->duration <= 0) {
        return until;
    }
    if (ts->duration >= lifetime) {
        return from;
    }
    return until - ts->duration;
}

/* --- dates -------------------------------------------------------------- */

const char *md_time_format_http(apr_time_t t, apr_pool_t *p)
{
    char *buf = apr_palloc(p, APR_RFC822_DATE_LEN);

    if (apr_rfc822_date(buf, t) != APR_SUCCESS) {
        return NULL;
    }
    return buf;
}

apr_time_t md_time_parse_http(const char *s)
{
    if (!s || !*s) {
        return 0;
    }
    return apr_date_parse_rfc(s);
}

/* Read exactly n digits at *ps into *pval, advancing *ps. */
static int read_digits(const char **ps, int n, int *pval)
{
    int v = 0;
    int i;

    for (i = 0; i < n; ++i) {
        if (!apr_isdigit((*ps)[i])) {
            return 0;
        }
        v = v * 10 + ((*ps)[i] - '0');
    }
    *ps += n;
    *pval = v;
    return 1;
}

static int days_in_month(int year, int mon)
{
    static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    if (mon == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)) {
        return 29;
    }
    return days[mon - 1];
}

/* RFC 3339 §5.6 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM). */
apr_time_t md_time_parse_rfc3339(const char *s)
{
    apr_time_exp_t tm;
    apr_time_t t;
    int year, mon, mday, hour, min, sec;
    int usec = 0;
    int off = 0;

    if (!s) {
        return 0;
    }
    if (!read_digits(&s, 4, &year) || *s++ != '-'
        || !read_digits(&s, 2, &mon) || *s++ != '-'
        || !read_digits(&s, 2, &mday) || (*s != 'T' && *s != 't')) {
        return 0;
    }
    ++s;
    if (!read_digits(&s, 2, &hour) || *s++ != ':'
        || !read_digits(&s, 2, &min) || *s++ != ':'
        || !read_digits(&s, 2, &sec)) {
        return 0;
    }
    if (*s == '.') {
        int scale = 100000;
        ++s;
        if (!apr_isdigit(*s)) {
            return 0;
        }
        /* Digits beyond microseconds are allowed and ignored. */
        for (; apr_isdigit(*s); ++s) {
            usec += (*s - '0') * scale;
            scale /= 10;
        }
    }
    if (*s == 'Z' || *s == 'z') {
        ++s;
    }
    else if (*s == '+' || *s == '-') {
        int sign = (*s == '-') ? -1 : 1;
        int oh, om;
        ++s;
        if (!read_digits(&s, 2, &oh) || *s++ != ':' || !read_digits(&s, 2, &om)
            || oh > 23 || om > 59) {
            return 0;
        }
        off = sign * (oh * 3600 + om * 60);
    }
    else {
        return 0;
    }
    if (*s) {
        return 0;
    }
    if (year < 1970 || mon < 1 || mon > 12 || mday < 1 || mday > days_in_month(year, mon)
        || hour > 23 || min > 59 || sec > 60) {
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = mday;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    tm.tm_usec = usec;
    if (apr_time_exp_gmt_get(&t, &tm) != APR_SUCCESS) {
        return 0;
    }
    /* Local time = UTC + offset, so UTC = local time - offset. */
    return t - apr_time_from_sec(off);
}

apr_time_t md_time_from_retry_after(const char *value, apr_time_t now)
{
    const char *s;
    const char *end;
    char date[64];

    if (!value) {
        return 0;
    }
    for (s = value; *s == ' ' || *s == '\t'; ++s) {
    }
    for (end = s + strlen(s); end > s && (end[-1] == ' ' || end[-1] == '\t'); --end) {
    }
    if (end == s) {
        return 0;
    }
    if (apr_isdigit(*s)) {
        apr_int64_t secs = 0;
        const char *cp;
        for (cp = s; cp < end; ++cp) {
            if (!apr_isdigit(*cp)) {
                break;
            }
            /* Anything beyond a century is nonsense; refuse it, not wrap. */
            secs = secs * 10 + (*cp - '0');
            if (secs > (apr_int64_t)100 * 365 * MD_SECS_PER_DAY) {
                return 0;
            }
        }
        if (cp == end) {
            return now + apr_time_from_sec(secs);
        }
    }
    /* An HTTP date is about 30 characters; no pool here, so copy the
     * trimmed text into a small buffer. */
    if ((size_t)(end - s) >= sizeof(date)) {
        return 0;
    }
    memcpy(date, s, (size_t)(end - s));
    date[end - s] = '\0';
    return md_time_parse_http(date);
}
