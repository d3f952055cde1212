/* Unit tests: result objects, their JSON and text forms, and logging
 * through the injected callbacks (md_result.c, md_log.c). */
#include <string.h>

#include "unit.h"
#include <apr_strings.h>
#include "md_json.h"
#include "md_log.h"
#include "md_result.h"

static char last_msg[16384];
static md_log_level_t last_level;
static apr_status_t last_rv;
static int log_calls;
static md_log_level_t max_level = MD_LOG_DEBUG;

static int level_cb(void *baton, md_log_level_t level)
{
    (void)baton;
    return level <= max_level;
}

static void print_cb(const char *file, int line, md_log_level_t level, apr_status_t rv,
                     void *baton, const char *msg)
{
    (void)file;
    (void)line;
    (void)baton;
    ++log_calls;
    last_level = level;
    last_rv = rv;
    apr_cpystrn(last_msg, msg, sizeof(last_msg));
}

static int log_setup(void **state)
{
    md_log_set(level_cb, print_cb, NULL);
    log_calls = 0;
    last_msg[0] = '\0';
    max_level = MD_LOG_DEBUG;
    return unit_pool_setup(state);
}

#define LOG_TEST(fn) cmocka_unit_test_setup_teardown(fn, log_setup, unit_pool_teardown)

static void test_log(void **state)
{
    apr_pool_t *p = *state;
    char big[10000];

    md_log_perror(MD_LOG_MARK, MD_LOG_INFO, APR_ENOENT, p, "MD01999: %s %d", "x", 5);
    assert_int_equal(log_calls, 1);
    assert_string_equal(last_msg, "MD01999: x 5");
    assert_int_equal(last_rv, APR_ENOENT);
    assert_int_equal(last_level, MD_LOG_INFO);

    /* disabled level: not formatted, not printed */
    md_log_perror(MD_LOG_MARK, MD_LOG_TRACE1, 0, p, "MD01999: %s", "y");
    assert_int_equal(log_calls, 1);
    assert_false(md_log_is_level(MD_LOG_TRACE2));
    assert_true(md_log_is_level(MD_LOG_ERR));

    /* without a pool, long messages are cut but do not overflow */
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    md_log_perror(MD_LOG_MARK, MD_LOG_ERR, 0, NULL, "%s", big);
    assert_int_equal(strlen(last_msg), 8 * 1024 - 1);
    md_log_perror(MD_LOG_MARK, MD_LOG_ERR, 0, p, "%s", big);
    assert_int_equal(strlen(last_msg), sizeof(big) - 1);

    assert_string_equal(md_log_level_name(MD_LOG_ERR), "error");
    assert_string_equal(md_log_level_name(MD_LOG_TRACE8), "trace8");
    assert_string_equal(md_log_level_name((md_log_level_t)99), "unknown");

    md_log_set(NULL, NULL, NULL);
    assert_false(md_log_is_level(MD_LOG_EMERG));
    md_log_perror(MD_LOG_MARK, MD_LOG_EMERG, 0, p, "nothing");
    assert_int_equal(log_calls, 3);
}

static void test_set_reset(void **state)
{
    apr_pool_t *p = *state;
    md_result_t *r = md_result_make(p, "a.test");

    assert_int_equal(r->status, APR_SUCCESS);
    assert_string_equal(r->md_name, "a.test");
    assert_string_equal(md_result_to_string(r, p), "a.test: ok");

    md_result_activity_printf(r, "contacting %s", "ca");
    md_result_printf(r, APR_EINVAL, "bad %d", 7);
    assert_int_equal(r->status, APR_EINVAL);
    assert_string_equal(md_result_to_string(r, p), "a.test: contacting ca: bad 7");

    md_result_problem_set(r, APR_EACCES, "urn:ietf:params:acme:error:unauthorized",
                          "no\nway", NULL);
    assert_string_equal(r->detail, "no?way");
    assert_string_equal(md_result_to_string(r, p), "a.test: contacting ca: no?way"
                        " (urn:ietf:params:acme:error:unauthorized)");
    md_result_set(r, APR_ENOENT, NULL);
    assert_null(r->problem);
    assert_non_null(strstr(md_result_to_string(r, p), "a.test: contacting ca: "));

    r->retry_after = apr_time_from_sec(1795947631);
    md_result_reset(r);
    assert_int_equal(r->status, APR_SUCCESS);
    assert_null(r->detail);
    assert_int_equal(r->retry_after, 0);
    assert_string_equal(r->activity, "contacting ca");
    md_result_activity_set(r, NULL);
    assert_null(r->activity);

    /* long problem details are capped */
    {
        char big[3000];
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        md_result_problem_set(r, APR_EINVAL, "urn:x", big, NULL);
        assert_int_equal(strlen(r->detail), 1024 + 3);
    }
}

static const char *subs_json =
    "[{\"type\": \"urn:ietf:params:acme:error:rejectedIdentifier\","
    "  \"detail\": \"not allowed\", \"identifier\": {\"type\": \"dns\", \"value\": \"b.test\"}},"
    " {\"type\": \"urn:ietf:params:acme:error:caa\", \"detail\": \"CAA forbids\","
    "  \"identifier\": {\"type\": \"dns\", \"value\": \"c.test\"}}]";

static void test_json_round_trip(void **state)
{
    apr_pool_t *p = *state;
    md_result_t *r = md_result_make(p, "a.test");
    md_result_t *back = md_result_make(p, "a.test");
    json_t *subs;
    json_t *j;
    const char *s;

    assert_int_equal(md_json_parse(&subs, subs_json, strlen(subs_json), "t", NULL, p),
                     APR_SUCCESS);
    md_result_activity_set(r, "finalizing order");
    md_result_problem_set(r, APR_EINVAL, "urn:ietf:params:acme:error:compound",
                          "some names failed", subs);
    r->retry_after = apr_time_from_sec(1795947631);

    s = md_result_to_string(r, p);
    assert_string_equal(s, "a.test: finalizing order: some names failed"
                        " (urn:ietf:params:acme:error:compound)"
                        "; b.test: not allowed (urn:ietf:params:acme:error:rejectedIdentifier)"
                        "; c.test: CAA forbids (urn:ietf:params:acme:error:caa)"
                        "; retry after Sun, 29 Nov 2026 10:20:31 GMT");

    j = md_json_pool_own(p, md_result_to_json(r));
    assert_int_equal(md_json_get_int(j, "status", -1), APR_EINVAL);
    assert_string_equal(md_json_get_str(j, "problem"), "urn:ietf:params:acme:error:compound");
    assert_string_equal(md_json_get_str(j, "detail"), "some names failed");
    assert_string_equal(md_json_get_str(j, "activity"), "finalizing order");
    assert_string_equal(md_json_get_str(j, "retry-after"), "Sun, 29 Nov 2026 10:20:31 GMT");
    assert_true(json_equal(md_json_get_array(j, "subproblems"), subs));

    md_result_from_json(back, j);
    assert_int_equal(back->status, APR_EINVAL);
    assert_string_equal(back->problem, r->problem);
    assert_string_equal(back->detail, r->detail);
    assert_string_equal(back->activity, r->activity);
    assert_int_equal(back->retry_after, r->retry_after);
    assert_true(json_equal(back->subproblems, subs));
    assert_true(json_equal(md_json_pool_own(p, md_result_to_json(back)), j));

    /* a fresh result has only the status */
    j = md_json_pool_own(p, md_result_to_json(md_result_make(p, NULL)));
    assert_string_equal(md_json_dump(j, 0, p), "{\"status\":0}");

    /* assign copies everything but the name and activity */
    back = md_result_make(p, "b.test");
    md_result_assign(back, r);
    assert_int_equal(back->status, APR_EINVAL);
    assert_string_equal(back->md_name, "b.test");
    assert_null(back->activity);
    assert_true(json_equal(back->subproblems, subs));
    assert_int_equal(back->retry_after, r->retry_after);
}

static void test_result_log(void **state)
{
    apr_pool_t *p = *state;
    md_result_t *r = md_result_make(p, "a.test");

    md_result_printf(r, APR_EINVAL, "it broke");
    md_result_log(r, MD_LOG_MARK, MD_LOG_ERR);
    assert_int_equal(log_calls, 1);
    assert_string_equal(last_msg, "MD01020: a.test: it broke");
    assert_int_equal(last_rv, APR_EINVAL);
    max_level = MD_LOG_WARNING;
    md_result_log(r, MD_LOG_MARK, MD_LOG_INFO);
    assert_int_equal(log_calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        LOG_TEST(test_log),
        LOG_TEST(test_set_reset),
        LOG_TEST(test_json_round_trip),
        LOG_TEST(test_result_log),
    };
    return UNIT_RUN(tests);
}
