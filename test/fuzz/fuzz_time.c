/* Times and durations from outside: Retry-After (RFC 9110 §10.2.3) from the
 * CA, HTTP dates and RFC 3339 times from the CA and the store, durations and
 * renew windows from md.json and the config. Formatting what was parsed
 * must parse back to the same value. */
#include "fuzz.h"

#include <apr_time.h>

#include "md_sched.h"
#include "md_time.h"

/* A fixed "now" keeps runs reproducible. */
#define NOW  ((apr_time_t)1795000000 * APR_USEC_PER_SEC)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_begin();
    const char *s = fuzz_str(data, size, p);
    static const char *const units[] = { "d", "h", "mi", "s", "ms", NULL, "x" };
    apr_interval_time_t dur;
    apr_interval_time_t dur2;
    md_timeslice_t ts;
    md_timeslice_t ts2;
    const char *err = NULL;
    apr_time_t t;
    size_t i;

    t = md_time_from_retry_after(s, NOW);
    if (t != 0 && t < 0) {
        abort();
    }
    t = md_time_parse_http(s);
    if (t > 0) {
        const char *f = md_time_format_http(t, p);
        /* The formatted date has whole seconds. */
        if (f && md_time_parse_http(f) != apr_time_from_sec(apr_time_sec(t))) {
            abort();
        }
    }
    t = md_time_parse_rfc3339(s);
    if (t != 0) {
        (void)md_time_format_http(t, p);
    }
    for (i = 0; i < sizeof(units) / sizeof(units[0]); ++i) {
        if (md_duration_parse(&dur, s, units[i]) == APR_SUCCESS) {
            if (dur < 0) {
                abort();
            }
            (void)md_duration_print(dur, p);
            if (md_duration_parse(&dur2, md_duration_format(dur, p), "s") != APR_SUCCESS
                || dur2 != dur) {
                abort();
            }
        }
    }
    if (md_timeslice_parse(&ts, s, &err, p) == APR_SUCCESS) {
        if (ts.is_percent ? (ts.percent < 0 || ts.percent > 99) : ts.duration < 0) {
            abort();
        }
        if (md_timeslice_parse(&ts2, md_timeslice_format(&ts, p), NULL, p) != APR_SUCCESS
            || ts2.is_percent != ts.is_percent || ts2.percent != ts.percent
            || ts2.duration != ts.duration) {
            abort();
        }
        /* The window must land inside the lifetime, for any lifetime. */
        t = md_timeslice_start(&ts, NOW, NOW + apr_time_from_sec(90 * 86400));
        if (t < NOW || t > NOW + apr_time_from_sec(90 * 86400)) {
            abort();
        }
        (void)md_sched_cert_renew_at(&ts, 0, NOW, NOW + apr_time_from_sec(6 * 86400), NULL);
    }
    else if (!err) {
        abort();
    }
    fuzz_pool_end(p);
    return 0;
}
