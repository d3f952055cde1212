/* Durations, renew/warn windows ("timeslices") and HTTP dates. */
#ifndef md_time_h
#define md_time_h

#include <apr_pools.h>
#include <apr_time.h>

#define MD_SECS_PER_HOUR   (60 * 60)
#define MD_SECS_PER_DAY    (24 * MD_SECS_PER_HOUR)

/* Parse a duration: a non-negative integer followed by an optional unit:
 * "d" days, "h" hours, "mi" minutes, "s" seconds, "ms" milliseconds.
 * Without a unit, def_unit is used ("d", "s", ...). Rejects empty input,
 * signs, garbage after the unit, and values that overflow; returns
 * APR_EINVAL then. */
apr_status_t md_duration_parse(apr_interval_time_t *pdur, const char *value,
                               const char *def_unit);

/* Short form for config/JSON: "30d", "12h", "90s", "500ms" (largest unit that
 * divides the value exactly). */
const char *md_duration_format(apr_interval_time_t dur, apr_pool_t *p);

/* Human form for messages: "7 days 3 hours", "42 seconds". */
const char *md_duration_print(apr_interval_time_t dur, apr_pool_t *p);

/* A window before a certificate's end: either a percentage of its lifetime
 * or a fixed duration (mod_md's "renew-window" / "warn-window"). */
typedef struct md_timeslice_t {
    int percent;                  /* 0..99 if is_percent */
    int is_percent;
    apr_interval_time_t duration; /* if !is_percent */
} md_timeslice_t;

/* Parse "33%" or a duration (default unit days). Percentages must be in
 * 0..99 (integer), durations non-negative. On error returns APR_EINVAL and
 * sets *perr to a message saying what is accepted (allocated from p). */
apr_status_t md_timeslice_parse(md_timeslice_t *ts, const char *value,
                                const char **perr, apr_pool_t *p);

/* "33%" or "30d" - the form stored in md.json. */
const char *md_timeslice_format(const md_timeslice_t *ts, apr_pool_t *p);

/* The time the window starts for a certificate valid from..until. For a
 * percentage, percent of the lifetime before until; for a duration, until
 * minus duration (not before from). */
apr_time_t md_timeslice_start(const md_timeslice_t *ts, apr_time_t from, apr_time_t until);

/* RFC 1123 date ("Sun, 29 Nov 2026 10:20:31 GMT") as used in job.json/status. */
const char *md_time_format_http(apr_time_t t, apr_pool_t *p);
/* Parse an HTTP date; 0 if it cannot be parsed. */
apr_time_t md_time_parse_http(const char *s);
/* Parse an RFC 3339 timestamp (ACME "expires"); 0 if it cannot be parsed. */
apr_time_t md_time_parse_rfc3339(const char *s);

/* Retry-After header (RFC 9110 §10.2.3): delay-seconds or HTTP date.
 * Returns the absolute time, or 0 when absent/unparseable. */
apr_time_t md_time_from_retry_after(const char *value, apr_time_t now);

#endif /* md_time_h */
