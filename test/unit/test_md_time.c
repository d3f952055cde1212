/* Unit tests: durations, timeslices and dates (md_time.c). */
#include <string.h>

#include "unit.h"
#include "md_time.h"

#define SEC(n)  apr_time_from_sec(n)
#define DAY     ((apr_interval_time_t)MD_SECS_PER_DAY * APR_USEC_PER_SEC)

static void test_duration_parse(void **state)
{
    apr_interval_time_t d;
    (void)state;

    assert_int_equal(md_duration_parse(&d, "30d", "s"), APR_SUCCESS);
    assert_int_equal(d, 30 * DAY);
    assert_int_equal(md_duration_parse(&d, "12h", "d"), APR_SUCCESS);
    assert_int_equal(d, SEC(12 * 3600));
    assert_int_equal(md_duration_parse(&d, "5mi", "d"), APR_SUCCESS);
    assert_int_equal(d, SEC(300));
    assert_int_equal(md_duration_parse(&d, "90s", "d"), APR_SUCCESS);
    assert_int_equal(d, SEC(90));
    assert_int_equal(md_duration_parse(&d, "500ms", "d"), APR_SUCCESS);
    assert_int_equal(d, 500000);
    assert_int_equal(md_duration_parse(&d, "7D", "s"), APR_SUCCESS);
    assert_int_equal(d, 7 * DAY);
    assert_int_equal(md_duration_parse(&d, "2MI", "s"), APR_SUCCESS);
    assert_int_equal(d, SEC(120));
    assert_int_equal(md_duration_parse(&d, "0", "d"), APR_SUCCESS);
    assert_int_equal(d, 0);
    /* default unit */
    assert_int_equal(md_duration_parse(&d, "3", "d"), APR_SUCCESS);
    assert_int_equal(d, 3 * DAY);
    assert_int_equal(md_duration_parse(&d, "3", "s"), APR_SUCCESS);
    assert_int_equal(d, SEC(3));
}

static void test_duration_reject(void **state)
{
    static const char *const bad[] = {
        "", " 5d", "5 d", "5d ", "-5d", "+5d", "5x", "5dd", "d", "5m", "5.5d", "0x10",
        "99999999999999999999", "9223372036854775807s", "106751992d", "999999999999999h",
    };
    apr_interval_time_t d;
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        if (md_duration_parse(&d, bad[i], "d") != APR_EINVAL) {
            fail_msg("accepted \"%s\"", bad[i]);
        }
    }
    assert_int_equal(md_duration_parse(&d, NULL, "d"), APR_EINVAL);
    assert_int_equal(md_duration_parse(&d, "5", "weeks"), APR_EINVAL);
    /* the largest whole number of days still fits */
    assert_int_equal(md_duration_parse(&d, "106751991d", "d"), APR_SUCCESS);
}

static void test_duration_format(void **state)
{
    apr_pool_t *p = *state;
    apr_interval_time_t d;

    assert_string_equal(md_duration_format(30 * DAY, p), "30d");
    assert_string_equal(md_duration_format(SEC(12 * 3600), p), "12h");
    assert_string_equal(md_duration_format(SEC(90), p), "90s");
    assert_string_equal(md_duration_format(SEC(120), p), "2mi");
    assert_string_equal(md_duration_format(500000, p), "500ms");
    assert_string_equal(md_duration_format(0, p), "0s");
    assert_int_equal(md_duration_parse(&d, md_duration_format(DAY + SEC(1), p), "d"),
                     APR_SUCCESS);
    assert_int_equal(d, DAY + SEC(1));

    assert_string_equal(md_duration_print(7 * DAY + SEC(3 * 3600), p), "7 days 3 hours");
    assert_string_equal(md_duration_print(SEC(42), p), "42 seconds");
    assert_string_equal(md_duration_print(DAY + SEC(61), p), "1 day 1 minute 1 second");
    assert_string_equal(md_duration_print(0, p), "0 seconds");
}

static void test_timeslice_parse(void **state)
{
    apr_pool_t *p = *state;
    md_timeslice_t ts;
    const char *err;

    assert_int_equal(md_timeslice_parse(&ts, "33%", &err, p), APR_SUCCESS);
    assert_true(ts.is_percent);
    assert_int_equal(ts.percent, 33);
    assert_null(err);
    assert_string_equal(md_timeslice_format(&ts, p), "33%");

    assert_int_equal(md_timeslice_parse(&ts, "0%", &err, p), APR_SUCCESS);
    assert_int_equal(ts.percent, 0);
    assert_int_equal(md_timeslice_parse(&ts, "99%", &err, p), APR_SUCCESS);
    assert_int_equal(ts.percent, 99);

    assert_int_equal(md_timeslice_parse(&ts, "30d", &err, p), APR_SUCCESS);
    assert_false(ts.is_percent);
    assert_int_equal(ts.duration, 30 * DAY);
    assert_string_equal(md_timeslice_format(&ts, p), "30d");

    /* default unit is days */
    assert_int_equal(md_timeslice_parse(&ts, "14", &err, p), APR_SUCCESS);
    assert_int_equal(ts.duration, 14 * DAY);
    assert_int_equal(md_timeslice_parse(&ts, "12h", &err, p), APR_SUCCESS);
    assert_int_equal(ts.duration, SEC(12 * 3600));
}

static void test_timeslice_reject(void **state)
{
    apr_pool_t *p = *state;
    md_timeslice_t ts;
    const char *err;

    assert_int_equal(md_timeslice_parse(&ts, "100%", &err, p), APR_EINVAL);
    assert_string_equal(err, "\"100%\" is out of range: a window must be 0% to 99% of the"
                             " certificate's lifetime");
    assert_int_equal(md_timeslice_parse(&ts, "-5%", &err, p), APR_EINVAL);
    assert_non_null(strstr(err, "out of range"));
    assert_int_equal(md_timeslice_parse(&ts, "250%", &err, p), APR_EINVAL);
    assert_non_null(strstr(err, "out of range"));
    assert_int_equal(md_timeslice_parse(&ts, "33x", &err, p), APR_EINVAL);
    assert_string_equal(err, "\"33x\" is not a duration or percentage (e.g. 33%, 30d)");

    static const char *const bad[] = {
        "", "5 d", "%", "3.5%", "x%", " 5%", "5 %", "5%%", "-5d", "99999999999999999999d",
    };
    size_t i;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        err = NULL;
        if (md_timeslice_parse(&ts, bad[i], &err, p) != APR_EINVAL) {
            fail_msg("accepted \"%s\"", bad[i]);
        }
        assert_non_null(err);
        assert_non_null(strstr(err, "is not a duration or percentage"));
    }
    assert_int_equal(md_timeslice_parse(&ts, NULL, NULL, p), APR_EINVAL);
}

static void test_timeslice_start(void **state)
{
    md_timeslice_t ts;
    apr_time_t from = SEC(1700000000);
    apr_time_t until = from + 90 * DAY;
    (void)state;

    memset(&ts, 0, sizeof(ts));
    ts.is_percent = 1;
    ts.percent = 33;
    /* 33% of 90 days = 29.7 days before the end */
    assert_int_equal(md_timeslice_start(&ts, from, until), until - (90 * DAY / 100) * 33);
    ts.percent = 0;
    assert_int_equal(md_timeslice_start(&ts, from, until), until);
    ts.percent = 50;
    assert_int_equal(md_timeslice_start(&ts, from, until), from + 45 * DAY);
    /* huge lifetimes do not overflow */
    assert_int_equal(md_timeslice_start(&ts, 0, APR_INT64_MAX - 1), (APR_INT64_MAX - 1) / 2);

    ts.is_percent = 0;
    ts.duration = 30 * DAY;
    assert_int_equal(md_timeslice_start(&ts, from, until), until - 30 * DAY);
    /* not before the start of the validity */
    ts.duration = 100 * DAY;
    assert_int_equal(md_timeslice_start(&ts, from, until), from);
    ts.duration = 0;
    assert_int_equal(md_timeslice_start(&ts, from, until), until);
    /* a broken validity period: the window is already open */
    assert_int_equal(md_timeslice_start(&ts, until, from), from);
}

static void test_http_date(void **state)
{
    apr_pool_t *p = *state;
    apr_time_t t = SEC(1795947631);   /* Sun, 29 Nov 2026 10:20:31 GMT */

    assert_string_equal(md_time_format_http(t, p), "Sun, 29 Nov 2026 10:20:31 GMT");
    assert_int_equal(md_time_parse_http("Sun, 29 Nov 2026 10:20:31 GMT"), t);
    assert_int_equal(md_time_parse_http(md_time_format_http(t, p)), t);
    assert_int_equal(md_time_parse_http("not a date"), 0);
    assert_int_equal(md_time_parse_http(""), 0);
    assert_int_equal(md_time_parse_http(NULL), 0);
}

static void test_rfc3339(void **state)
{
    apr_time_t t = SEC(1795947631);   /* 2026-11-29T10:20:31Z */
    (void)state;

    assert_int_equal(md_time_parse_rfc3339("2026-11-29T10:20:31Z"), t);
    assert_int_equal(md_time_parse_rfc3339("2026-11-29t10:20:31z"), t);
    assert_int_equal(md_time_parse_rfc3339("2026-11-29T10:20:31.5Z"), t + 500000);
    assert_int_equal(md_time_parse_rfc3339("2026-11-29T10:20:31.123456789Z"), t + 123456);
    assert_int_equal(md_time_parse_rfc3339("2026-11-29T11:20:31+01:00"), t);
    assert_int_equal(md_time_parse_rfc3339("2026-11-29T05:50:31-04:30"), t);
    assert_int_equal(md_time_parse_rfc3339("2024-02-29T00:00:00Z"), SEC(1709164800));

    static const char *const bad[] = {
        "", "2026-11-29", "2026-11-29T10:20:31", "2026-11-29 10:20:31Z",
        "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-11-31T00:00:00Z",
        "2026-11-29T24:00:00Z", "2026-11-29T10:20:31.Z", "2026-11-29T10:20:31Zx",
        "2026-11-29T10:20:31+0100", "26-11-29T10:20:31Z", "2026-11-29T10:20:31+24:00",
    };
    size_t i;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        if (md_time_parse_rfc3339(bad[i]) != 0) {
            fail_msg("accepted \"%s\"", bad[i]);
        }
    }
    assert_int_equal(md_time_parse_rfc3339(NULL), 0);
}

static void test_retry_after(void **state)
{
    apr_time_t now = SEC(1795947631);
    (void)state;

    assert_int_equal(md_time_from_retry_after("120", now), now + SEC(120));
    assert_int_equal(md_time_from_retry_after(" 0 ", now), now);
    assert_int_equal(md_time_from_retry_after("Sun, 29 Nov 2026 11:20:31 GMT", now),
                     now + SEC(3600));
    assert_int_equal(md_time_from_retry_after("  Sun, 29 Nov 2026 11:20:31 GMT\t", now),
                     now + SEC(3600));
    assert_int_equal(md_time_from_retry_after(NULL, now), 0);
    assert_int_equal(md_time_from_retry_after("", now), 0);
    assert_int_equal(md_time_from_retry_after("-5", now), 0);
    assert_int_equal(md_time_from_retry_after("12abc", now), 0);
    assert_int_equal(md_time_from_retry_after("99999999999999999999999", now), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_duration_parse),
        UNIT_TEST(test_duration_reject),
        UNIT_TEST(test_duration_format),
        UNIT_TEST(test_timeslice_parse),
        UNIT_TEST(test_timeslice_reject),
        UNIT_TEST(test_timeslice_start),
        UNIT_TEST(test_http_date),
        UNIT_TEST(test_rfc3339),
        UNIT_TEST(test_retry_after),
    };
    return UNIT_RUN(tests);
}
