/* Unit tests of md_exec.c: exit codes, output, no shell, time limits. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* --- what the program gets and what it leaves behind (issue 11, finding 6) */

/* Lists its own open descriptors but the one of the listing itself. */
static const char *const LIST_FDS[] = {
    "/usr/bin/python3", "-c",
    "import os\n"
    "fds = []\n"
    "for f in os.listdir('/proc/self/fd'):\n"
    "    try:\n"
    "        target = os.readlink('/proc/self/fd/' + f)\n"
    "    except OSError:\n"
    "        continue\n"
    "    if not target.startswith('/proc/'):\n"
    "        fds.append(int(f))\n"
    "print(' '.join(str(f) for f in sorted(fds)))\n",
    NULL
};

static void test_no_descriptor_is_inherited(void **state)
{
    apr_pool_t *unmanaged = NULL;
    md_exec_result_t *res = NULL;
    int fds[2];
    int fd;

    /* what a server child has open: sockets, files and pipes without
     * close-on-exec, some of them in pools APR's exec cleanup never sees */
    (void)state;
    fd = open("/dev/null", O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(apr_pool_create_unmanaged_ex(&unmanaged, NULL, NULL), APR_SUCCESS);
    assert_int_equal(md_exec_run(&res, LIST_FDS, apr_time_from_sec(10), unmanaged),
                     APR_SUCCESS);
    close(fd);
    close(fds[0]);
    close(fds[1]);
    assert_int_equal(res->exit_code, 0);
    assert_string_equal(res->output, "0 1 2");
    apr_pool_destroy(unmanaged);
}

static void test_environment_is_minimal(void **state)
{
    apr_pool_t *p = *state;
    md_exec_result_t *res = NULL;
    const char *const env[] = { "/usr/bin/env", NULL };

    setenv("MD_TEST_SECRET", "do-not-pass", 1);
    setenv("TZ", "UTC", 1);
    assert_int_equal(md_exec_run(&res, env, apr_time_from_sec(10), p), APR_SUCCESS);
    unsetenv("MD_TEST_SECRET");
    assert_int_equal(res->exit_code, 0);
    assert_null(strstr(res->output, "MD_TEST_SECRET"));
    assert_non_null(strstr(res->output, "PATH=" MD_EXEC_PATH));
    /* what is documented to pass through, does */
    assert_non_null(strstr(res->output, "TZ=UTC"));
}

/* The pid a program printed, or 0. */
static pid_t pid_in(const md_exec_result_t *res)
{
    const char *digits = res && res->output ? strpbrk(res->output, "0123456789") : NULL;
    return digits ? (pid_t)atol(digits) : 0;
}

/* Is pid gone (or a zombie nobody reaped yet)? */
static int gone(pid_t pid, apr_pool_t *p)
{
    char buf[512];
    const char *close_paren;
    FILE *f;
    size_t n;

    if (kill(pid, 0) != 0 && errno == ESRCH) {
        return 1;
    }
    if (!(f = fopen(apr_psprintf(p, "/proc/%ld/stat", (long)pid), "r"))) {
        return 1;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    close_paren = strrchr(buf, ')');
    return close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z';
}

static int wait_gone(pid_t pid, apr_pool_t *p)
{
    apr_time_t end = apr_time_now() + apr_time_from_sec(20);

    while (!gone(pid, p)) {
        if (apr_time_now() > end) {
            return 0;
        }
        apr_sleep(apr_time_from_msec(20));
    }
    return 1;
}

static void test_timeout_kills_the_whole_group(void **state)
{
    apr_pool_t *p = *state;
    md_exec_result_t *res = NULL;
    const char *const forks[] = { "/bin/sh", "-c", "sleep 300 & echo $!; wait", NULL };
    pid_t child;
    int dead;

    assert_int_equal(md_exec_run(&res, forks, apr_time_from_msec(500), p), APR_TIMEUP);
    child = pid_in(res);
    assert_true(child > 0);
    dead = wait_gone(child, p);
    if (!dead) {
        kill(child, SIGKILL);
    }
    assert_true(dead);
}

static void test_background_child_holding_stdout_is_success(void **state)
{
    apr_pool_t *p = *state;
    md_exec_result_t *res = NULL;
    /* a hook that starts a helper and exits: the helper keeps stdout open */
    const char *const bg[] = { "/bin/sh", "-c", "sleep 60 & echo started $!; exit 0", NULL };
    apr_status_t rv;
    pid_t child;

    rv = md_exec_run(&res, bg, apr_time_from_sec(10), p);
    child = pid_in(res);
    if (child > 0) {
        kill(child, SIGKILL);
    }
    assert_int_equal(rv, APR_SUCCESS);
    assert_true(res->exited);
    assert_false(res->timed_out);
    assert_int_equal(res->exit_code, 0);
    assert_non_null(strstr(res->output, "started"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_exit_codes_and_output),
        UNIT_TEST(test_output_is_capped),
        UNIT_TEST(test_timeout_kills),
        UNIT_TEST(test_cannot_run),
        UNIT_TEST(test_no_descriptor_is_inherited),
        UNIT_TEST(test_environment_is_minimal),
        UNIT_TEST(test_timeout_kills_the_whole_group),
        UNIT_TEST(test_background_child_holding_stdout_is_success),
    };
    return UNIT_RUN(tests);
}
