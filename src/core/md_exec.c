/* Running an external program with a time limit (see md_exec.h). */
#include <signal.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "md_exec.h"
#include "md_log.h"
#include "md_time.h"
#include "md_util.h"

#define POLL_STEP   apr_time_from_msec(20)

/* Read the child's output until EOF or the deadline; keep at most
 * MD_EXEC_OUTPUT_MAX bytes. APR_TIMEUP when the deadline passed first. */
static apr_status_t read_output(char *out, apr_size_t *pout_len, apr_file_t *rd,
                                apr_time_t deadline)
{
    char buf[1024];
    apr_size_t len;
    apr_interval_time_t left;
    apr_status_t rv;

    for (;;) {
        left = deadline - apr_time_now();
        if (left <= 0) {
            return APR_TIMEUP;
        }
        apr_file_pipe_timeout_set(rd, left);
        len = sizeof(buf);
        rv = apr_file_read(rd, buf, &len);
        if (APR_STATUS_IS_EOF(rv)) {
            return APR_SUCCESS;
        }
        if (APR_STATUS_IS_TIMEUP(rv)) {
            return APR_TIMEUP;
        }
        if (rv != APR_SUCCESS) {
            /* Nothing more to read; the exit status still counts. */
            return APR_SUCCESS;
        }
        if (*pout_len < MD_EXEC_OUTPUT_MAX) {
            apr_size_t room = MD_EXEC_OUTPUT_MAX - *pout_len;
            apr_size_t n = len < room ? len : room;
            memcpy(out + *pout_len, buf, n);
            *pout_len += n;
        }
    }
}

/* Wait for the child until deadline; 1 if it ended (status in res). */
static int wait_until(md_exec_result_t *res, apr_proc_t *proc, apr_time_t deadline)
{
    apr_exit_why_e why;
    int code;

    for (;;) {
        apr_status_t rv = apr_proc_wait(proc, &code, &why, APR_NOWAIT);
        if (rv == APR_CHILD_DONE) {
            res->exited = APR_PROC_CHECK_EXIT(why) ? 1 : 0;
            res->exit_code = code;
            return 1;
        }
        if (rv != APR_CHILD_NOTDONE || apr_time_now() >= deadline) {
            return 0;
        }
        apr_sleep(POLL_STEP);
    }
}

/* Printable copy of the output, trailing white space removed. */
static const char *output_text(const char *out, apr_size_t len, apr_pool_t *p)
{
    char *s;
    apr_size_t i;

    while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r' || out[len - 1] == ' '
                       || out[len - 1] == '\t')) {
        --len;
    }
    s = apr_pstrmemdup(p, out, len);
    for (i = 0; i < len; ++i) {
        if (s[i] == '\n' || s[i] == '\r' || s[i] == '\t') {
            s[i] = ' ';
        }
    }
    return md_util_str_printable(p, s, 0);
}

apr_status_t md_exec_run(md_exec_result_t **pres, const char *const *argv,
                         apr_interval_time_t timeout, apr_pool_t *p)
{
    return md_exec_run_prog(pres, argv ? argv[0] : NULL, argv, timeout, p);
}

const char *md_exec_program_path(const char *root, const char *prog, apr_pool_t *p)
{
    if (!prog || prog[0] == '/' || !root || !*root) {
        return prog;
    }
    return apr_pstrcat(p, root, root[strlen(root) - 1] == '/' ? "" : "/", prog, NULL);
}

apr_status_t md_exec_run_prog(md_exec_result_t **pres, const char *path,
                              const char *const *argv, apr_interval_time_t timeout,
                              apr_pool_t *p)
{
    md_exec_result_t *res;
    apr_procattr_t *attr = NULL;
    apr_file_t *rd = NULL;
    apr_file_t *wr = NULL;
    apr_file_t *devnull = NULL;
    apr_proc_t proc;
    apr_time_t deadline = apr_time_now() + timeout;
    apr_size_t out_len = 0;
    char *out;
    apr_status_t rv;

    *pres = NULL;
    if (!argv || !argv[0] || !path || path[0] != '/') {
        return APR_EINVAL;
    }
    out = apr_palloc(p, MD_EXEC_OUTPUT_MAX);
    if ((rv = apr_file_pipe_create_ex(&rd, &wr, APR_FULL_BLOCK, p)) != APR_SUCCESS
        || (rv = apr_file_open(&devnull, "/dev/null", APR_FOPEN_READ, 0, p)) != APR_SUCCESS
        || (rv = apr_procattr_create(&attr, p)) != APR_SUCCESS
        || (rv = apr_procattr_cmdtype_set(attr, APR_PROGRAM_ENV)) != APR_SUCCESS
        || (rv = apr_procattr_child_in_set(attr, devnull, NULL)) != APR_SUCCESS
        || (rv = apr_procattr_child_out_set(attr, wr, NULL)) != APR_SUCCESS
        || (rv = apr_procattr_child_err_set(attr, wr, NULL)) != APR_SUCCESS
        || (rv = apr_procattr_error_check_set(attr, 1)) != APR_SUCCESS) {
        goto leave;
    }
    memset(&proc, 0, sizeof(proc));
    rv = apr_proc_create(&proc, path, argv, NULL, attr, p);
    /* Our copies of the child's ends: closed, so EOF comes when it exits. */
    apr_file_close(wr);
    wr = NULL;
    apr_file_close(devnull);
    devnull = NULL;
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p, "MD16001: cannot run %s", path);
        goto leave;
    }

    res = apr_pcalloc(p, sizeof(*res));
    if (read_output(out, &out_len, rd, deadline) != APR_SUCCESS
        || !wait_until(res, &proc, deadline)) {
        /* Too long: ask it to stop, then make it. */
        apr_proc_kill(&proc, SIGTERM);
        if (!wait_until(res, &proc, apr_time_now() + MD_EXEC_KILL_GRACE)) {
            apr_proc_kill(&proc, SIGKILL);
            wait_until(res, &proc, apr_time_now() + MD_EXEC_KILL_GRACE);
        }
        res->exited = 0;
        res->timed_out = 1;
        res->exit_code = SIGKILL;
        rv = APR_TIMEUP;
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p, "MD16002: %s ran longer than %s, "
                      "killed", path, md_duration_print(timeout, p));
    }
    res->output = output_text(out, out_len, p);
    *pres = res;
leave:
    if (wr) {
        apr_file_close(wr);
    }
    if (devnull) {
        apr_file_close(devnull);
    }
    if (rd) {
        apr_file_close(rd);
    }
    return rv;
}

const char *md_exec_describe(const md_exec_result_t *res, apr_pool_t *p)
{
    const char *what;

    if (!res) {
        return "did not run";
    }
    if (res->timed_out) {
        what = "was killed (it ran too long)";
    }
    else if (!res->exited) {
        what = apr_psprintf(p, "was killed by signal %d", res->exit_code);
    }
    else {
        what = apr_psprintf(p, "exit code %d", res->exit_code);
    }
    if (res->output && *res->output) {
        return apr_psprintf(p, "%s: %s", what, md_util_str_printable(p, res->output, 300));
    }
    return what;
}
