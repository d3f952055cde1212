/* Unit tests: directive value forms as the stock module reads them
 * (md_conf.c). The accepted and refused examples are the ones Debian's
 * stock mod_md 2.6 accepts and refuses with `apache2 -t`. */
#include <string.h>
#include <sys/stat.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include "unit.h"
#include "fixtures/fx.h"
#include "md_conf.h"

#define SEC(n)  apr_time_from_sec(n)
#define DAY     ((apr_interval_time_t)MD_SECS_PER_DAY * APR_USEC_PER_SEC)

static void test_duration_units_by_leading_letters(void **state)
{
    static const struct {
        const char *value;
        const char *def_unit;
        apr_interval_time_t expected;
    } ok[] = {
        { "30d", "s", 30 * DAY },
        { "30days", "s", 30 * DAY },
        { "2D", "s", 2 * DAY },
        { "12h", "d", SEC(12 * 3600) },
        { "12hours", "d", SEC(12 * 3600) },
        { "5mi", "d", SEC(300) },
        { "5mins", "d", SEC(300) },
        { "5minutes", "d", SEC(300) },
        { "90s", "d", SEC(90) },
        { "90secs", "d", SEC(90) },
        { "500ms", "d", 500000 },
        { "500msec", "d", 500000 },
        { "7", "d", 7 * DAY },
        { "7", "s", SEC(7) },
        { "7", NULL, SEC(7) },
        { "0", "d", 0 },
        { "+3s", "d", SEC(3) },
        { "-5s", "d", -SEC(5) },
        { "-2", "d", -2 * DAY },
    };
    apr_interval_time_t d;
    int sat;
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); ++i) {
        if (md_conf_duration_parse(&d, &sat, ok[i].value, ok[i].def_unit) != APR_SUCCESS) {
            fail_msg("refused \"%s\"", ok[i].value);
        }
        if (d != ok[i].expected || sat) {
            fail_msg("\"%s\": %" APR_INT64_T_FMT " (saturated %d)", ok[i].value, d, sat);
        }
    }
}

static void test_duration_refused_as_stock_refuses(void **state)
{
    static const char *const bad[] = {
        "", "d", "soon", "5m", "1w", "5xyz", "5 d", "-", "+", "99999999999999999999",
        "5%",
    };
    apr_interval_time_t d;
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        if (md_conf_duration_parse(&d, NULL, bad[i], "s") != APR_EINVAL) {
            fail_msg("accepted \"%s\"", bad[i]);
        }
    }
    assert_int_equal(md_conf_duration_parse(&d, NULL, NULL, "s"), APR_EINVAL);
}

static void test_duration_saturates(void **state)
{
    apr_interval_time_t d;
    int sat = 0;
    (void)state;

    /* The stock module takes these and overflows; we saturate. */
    assert_int_equal(md_conf_duration_parse(&d, &sat, "9223372036854775807", "d"),
                     APR_SUCCESS);
    assert_true(sat);
    assert_true(d == APR_INT64_MAX);
    assert_int_equal(md_conf_duration_parse(&d, &sat, "99999999999999d", "s"), APR_SUCCESS);
    assert_true(sat);
    assert_true(d == APR_INT64_MAX);
    assert_int_equal(md_conf_duration_parse(&d, &sat, "-99999999999999d", "s"), APR_SUCCESS);
    assert_true(sat);
    assert_true(d == APR_INT64_MIN);
    assert_int_equal(md_conf_duration_parse(&d, &sat, "106751991d", "s"), APR_SUCCESS);
    assert_false(sat);
}

static void test_timeslice(void **state)
{
    apr_pool_t *p = *state;
    md_timeslice_t ts;
    const char *err;
    int sat;

    assert_int_equal(md_conf_timeslice_parse(&ts, &sat, "33%", &err, p), APR_SUCCESS);
    assert_true(ts.is_percent);
    assert_int_equal(ts.percent, 33);
    assert_int_equal(md_conf_timeslice_parse(&ts, &sat, "+33%", &err, p), APR_SUCCESS);
    assert_int_equal(ts.percent, 33);
    assert_int_equal(md_conf_timeslice_parse(&ts, &sat, "0%", &err, p), APR_SUCCESS);
    assert_int_equal(md_conf_timeslice_parse(&ts, &sat, "99%", &err, p), APR_SUCCESS);
    assert_int_equal(md_conf_timeslice_parse(&ts, &sat, "30days", &err, p), APR_SUCCESS);
    assert_false(ts.is_percent);
    assert_true(ts.duration == 30 * DAY);
    assert_int_equal(md_conf_timeslice_parse(&ts, &sat, "5", &err, p), APR_SUCCESS);
    assert_true(ts.duration == 5 * DAY);
    assert_int_equal(md_conf_timeslice_parse(&ts, &sat, "-30d", &err, p), APR_SUCCESS);
    assert_true(ts.duration == -30 * DAY);
    assert_int_equal(md_conf_timeslice_parse(&ts, &sat, "9223372036854775807", &err, p),
                     APR_SUCCESS);
    assert_true(sat);

    assert_int_equal(md_conf_timeslice_parse(&ts, &sat, "100%", &err, p), APR_EINVAL);
    assert_non_null(strstr(err, "\"100%\" is out of range"));
    assert_int_equal(md_conf_timeslice_parse(&ts, &sat, "-5%", &err, p), APR_EINVAL);
    assert_non_null(strstr(err, "out of range"));
    assert_int_equal(md_conf_timeslice_parse(&ts, &sat, "33.5%", &err, p), APR_EINVAL);
    assert_non_null(strstr(err, "is not a duration or percentage"));
    assert_int_equal(md_conf_timeslice_parse(&ts, &sat, "33x", &err, p), APR_EINVAL);
    assert_int_equal(md_conf_timeslice_parse(&ts, &sat, "99999999999999999999d", &err, p),
                     APR_EINVAL);
}

static void test_int(void **state)
{
    apr_int64_t n;
    int trailing;
    int sat;
    (void)state;

    assert_int_equal(md_conf_int_parse(&n, &trailing, &sat, "13"), APR_SUCCESS);
    assert_true(n == 13 && !trailing && !sat);
    assert_int_equal(md_conf_int_parse(&n, &trailing, &sat, "+3"), APR_SUCCESS);
    assert_true(n == 3 && !trailing);
    assert_int_equal(md_conf_int_parse(&n, &trailing, &sat, "3x"), APR_SUCCESS);
    assert_true(n == 3 && trailing);
    assert_int_equal(md_conf_int_parse(&n, &trailing, &sat, "1e3"), APR_SUCCESS);
    assert_true(n == 1 && trailing);
    assert_int_equal(md_conf_int_parse(&n, &trailing, &sat, "-1"), APR_SUCCESS);
    assert_true(n == -1);
    assert_int_equal(md_conf_int_parse(&n, &trailing, &sat, "99999999999999999999"),
                     APR_SUCCESS);
    assert_true(sat && n == APR_INT64_MAX && !trailing);
    assert_int_equal(md_conf_int_parse(&n, &trailing, &sat, "many"), APR_EINVAL);
    assert_int_equal(md_conf_int_parse(&n, &trailing, &sat, ""), APR_EINVAL);
    assert_int_equal(md_conf_int_parse(&n, &trailing, &sat, "-"), APR_EINVAL);
    assert_int_equal(md_conf_int_parse(&n, &trailing, &sat, NULL), APR_EINVAL);
}

static const char *write_file(const char *dir, const char *name, const char *text,
                              apr_pool_t *p)
{
    const char *path = apr_pstrcat(p, dir, "/", name, NULL);
    apr_file_t *f;

    assert_int_equal(apr_file_open(&f, path, APR_FOPEN_WRITE | APR_FOPEN_CREATE
                                   | APR_FOPEN_TRUNCATE, APR_FPROT_OS_DEFAULT, p), APR_SUCCESS);
    assert_int_equal(apr_file_write_full(f, text, strlen(text), NULL), APR_SUCCESS);
    apr_file_close(f);
    return path;
}

/* MDExternalAccountBinding's file form, shared by the directive and a2md. */
static void test_eab_file(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = fx_tmpdir("test_md_conf", p);
    char *big = apr_palloc(p, MD_CONF_EAB_FILE_MAX + 2);
    md_conf_eab_t eab;
    const char *err;

    assert_int_equal(md_conf_eab_file_read(&eab, write_file(dir, "ok.json",
                     "{\"kid\": \"kid-1\", \"hmac\": \"c2VjcmV0\", \"alg\": \"HS384\"}", p),
                     &err, p), APR_SUCCESS);
    assert_string_equal(eab.kid, "kid-1");
    assert_string_equal(eab.hmac, "c2VjcmV0");
    assert_string_equal(eab.alg, "HS384");
    /* members missing: NULL, for the caller to refuse */
    assert_int_equal(md_conf_eab_file_read(&eab, write_file(dir, "kid.json",
                     "{\"kid\": \"kid-1\"}", p), &err, p), APR_SUCCESS);
    assert_null(eab.hmac);
    assert_null(eab.alg);
    /* not a file: ENOENT, the caller words it */
    assert_int_equal(md_conf_eab_file_read(&eab, apr_pstrcat(p, dir, "/none.json", NULL),
                                           &err, p), APR_ENOENT);
    assert_int_equal(md_conf_eab_file_read(&eab, dir, &err, p), APR_ENOENT);
    /* not a JSON object, too large: EINVAL naming the file */
    assert_int_equal(md_conf_eab_file_read(&eab, write_file(dir, "arr.json", "[1]", p), &err,
                                           p), APR_EINVAL);
    assert_non_null(strstr(err, "arr.json"));
    memset(big, ' ', MD_CONF_EAB_FILE_MAX + 1);
    big[MD_CONF_EAB_FILE_MAX + 1] = 0;
    assert_int_equal(md_conf_eab_file_read(&eab, write_file(dir, "big.json", big, p), &err, p),
                     APR_EINVAL);
    assert_non_null(strstr(err, "too large"));
}

/* The admin's files: whole, bounded, and never waited for. */
static void test_file_read(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = fx_tmpdir("test_md_conf", p);
    const char *fifo = apr_pstrcat(p, dir, "/fifo", NULL);
    char *data = NULL;
    apr_size_t len = 1;

    assert_int_equal(md_conf_file_read(&data, &len, write_file(dir, "f", "abc", p), 3, p),
                     APR_SUCCESS);
    assert_int_equal(len, 3);
    assert_string_equal(data, "abc");
    assert_int_equal(md_conf_file_read(&data, &len, write_file(dir, "e", "", p), 3, p),
                     APR_SUCCESS);
    assert_int_equal(len, 0);
    assert_string_equal(data, "");
    assert_int_equal(md_conf_file_read(&data, &len, write_file(dir, "g", "abcd", p), 3, p),
                     APR_ENOSPC);
    assert_true(APR_STATUS_IS_ENOENT(md_conf_file_read(&data, &len,
                                     apr_pstrcat(p, dir, "/none", NULL), 3, p)));
    assert_int_equal(md_conf_file_read(&data, &len, dir, 3, p), APR_EINVAL);
    /* A FIFO would block whoever opens it for reading. */
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(md_conf_file_read(&data, &len, fifo, 3, p), APR_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_duration_units_by_leading_letters),
        UNIT_TEST(test_duration_refused_as_stock_refuses),
        UNIT_TEST(test_duration_saturates),
        UNIT_TEST(test_timeslice),
        UNIT_TEST(test_int),
        UNIT_TEST(test_eab_file),
        UNIT_TEST(test_file_read),
    };
    return UNIT_RUN(tests);
}
