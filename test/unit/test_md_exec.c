/* Unit tests of md_exec.c: exit codes, output, no shell, time limits. */
#include "unit.h"

#include <string.h>

#include <apr_strings.h>

#include "md_exec.h"

static void test_exit_codes_and_output(void **state)
{
    apr_pool_t *p = *state;
    md_exec_result_t *res = NULL;
    const char *const ok[] = { "/bin/echo", "hello", "a;b $(x)", NULL };
    const char *const bad[] = { "/bin/sh", "-c", "echo oops >&2; exit 7", NULL };

    assert_int_equal(md_exec_run(&res, ok, apr_time_from_sec(10), p), APR_SUCCESS);
    assert_non_null(res);
    assert_true(res->exited);
    assert_int_equal(res->exit_code, 0);
    /* arguments reach the program verbatim: no shell in between */
    assert_string_equal(res->output, "hello a;b $(x)");
    assert_string_equal(md_exec_describe(res, p), "exit code 0: hello a;b $(x)");

    assert_int_equal(md_exec_run(&res, bad, apr_time_from_sec(10), p), APR_SUCCESS);
    assert_true(res->exited);
    assert_int_equal(res->exit_code, 7);
    assert_string_equal(res->output, "oops");
    assert_string_equal(md_exec_describe(res, p), "exit code 7: oops");
}

static void test_output_is_capped(void **state)
{
    apr_pool_t *p = *state;
    md_exec_result_t *res = NULL;
    const char *const big[] = { "/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x",
                                NULL };

    assert_int_equal(md_exec_run(&res, big, apr_time_from_sec(10), p), APR_SUCCESS);
    assert_int_equal(res->exit_code, 0);
    assert_int_equal(strlen(res->output), MD_EXEC_OUTPUT_MAX);
}

static void test_timeout_kills(void **state)
{
    apr_pool_t *p = *state;
    md_exec_result_t *res = NULL;
    const char *const slow[] = { "/bin/sleep", "30", NULL };

    assert_int_equal(md_exec_run(&res, slow, apr_time_from_msec(300), p), APR_TIMEUP);
    assert_non_null(res);
    assert_true(res->timed_out);
    assert_false(res->exited);
    assert_non_null(strstr(md_exec_describe(res, p), "ran too long"));
}

static void test_cannot_run(void **state)
{
    apr_pool_t *p = *state;
    md_exec_result_t *res = NULL;
    const char *const missing[] = { "/nonexistent/prog", NULL };
    const char *const relative[] = { "echo", "x", NULL };

    assert_int_not_equal(md_exec_run(&res, missing, apr_time_from_sec(5), p), APR_SUCCESS);
    assert_null(res);
    assert_int_equal(md_exec_run(&res, relative, apr_time_from_sec(5), p), APR_EINVAL);
    assert_int_equal(md_exec_run(&res, NULL, apr_time_from_sec(5), p), APR_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_exit_codes_and_output),
        UNIT_TEST(test_output_is_capped),
        UNIT_TEST(test_timeout_kills),
        UNIT_TEST(test_cannot_run),
    };
    return UNIT_RUN(tests);
}
