/* Running an external program with a time limit (see md_exec.h).
 *
 * posix_spawn rather than apr_proc_create: APR closes in the program only
 * the descriptors of pools it knows (not those of the workers' own root
 * pools, nor curl's sockets), cannot start a process group, and passes the
 * environment whole. glibc's posix_spawn does all of it between fork and
 * exec without running any of our code there.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE     /* pipe2, posix_spawn_file_actions_addclosefrom_np */
#endif

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_strings.h>

#include "md_exec.h"
#include "md_log.h"
#include "md_time.h"
#include "md_util.h"

#if !defined(__GLIBC__) || __GLIBC__ < 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ < 34)
#error "md_exec.c needs glibc 2.34 or later (posix_spawn_file_actions_addclosefrom_np)"
#endif

#define POLL_STEP_MS    20
/* After the program exited: what a child it left behind may still write
 * to the pipe is read up to this much, then we stop listening. */
#define DRAIN_MAX       (64 * 1024)

/* Variables passed on from the server's environment when set. */
static const char *const ENV_KEEP[] = {
    "LANG", "LC_ALL", "TZ",
    "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
    NULL
};

/* The environment of a program: PATH and the variables of ENV_KEEP that
 * are set. Built before the spawn, in p. */
static char **program_env(apr_pool_t *p)
{
    char **env = apr_pcalloc(p, sizeof(char *) * (sizeof(ENV_KEEP) / sizeof(ENV_KEEP[0]) + 2));
    int n = 0;
    int i;

    env[n++] = apr_pstrdup(p, "PATH=" MD_EXEC_PATH);
    for (i = 0; ENV_KEEP[i]; ++i) {
        const char *v = getenv(ENV_KEEP[i]);
        if (v) {
            env[n++] = apr_pstrcat(p, ENV_KEEP[i], "=", v, NULL);
        }
    }
    env[n] = NULL;
    return env;
}

/* argv as posix_spawn takes it (not const), copied into p. */
static char **argv_copy(const char *const *argv, apr_pool_t *p)
{
    char **copy;
    int n = 0;
    int i;

    while (argv[n]) {
        ++n;
    }
    copy = apr_pcalloc(p, sizeof(char *) * (apr_size_t)(n + 1));
    for (i = 0; i < n; ++i) {
        copy[i] = apr_pstrdup(p, argv[i]);
    }
    return copy;
}

/* Start argv in a process group of its own, stdin /dev/null, stdout and
 * stderr into out_fd, nothing else open, signals at their defaults. */
static apr_status_t spawn(pid_t *ppid, const char *path, const char *const *argv, int out_fd,
                          apr_pool_t *p)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none;
    sigset_t dfl;
    int err;

    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    sigemptyset(&none);
    sigfillset(&dfl);
    sigdelset(&dfl, SIGKILL);
    sigdelset(&dfl, SIGSTOP);
    err = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (!err) {
        err = posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    }
    if (!err) {
        err = posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
    }
    if (!err) {
        /* Every other descriptor of the server: sockets, pipes, files. */
        err = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    }
    if (!err) {
        err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK
                                              | POSIX_SPAWN_SETSIGDEF);
    }
    if (!err) {
        err = posix_spawnattr_setpgroup(&attr, 0);
    }
    if (!err) {
        err = posix_spawnattr_setsigmask(&attr, &none);
    }
    if (!err) {
        err = posix_spawnattr_setsigdefault(&attr, &dfl);
    }
    if (!err) {
        err = posix_spawn(ppid, path, &fa, &attr, argv_copy(argv, p), program_env(p));
    }
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return err ? APR_FROM_OS_ERROR(err) : APR_SUCCESS;
}

/* Has pid ended? (status in res; reaped) */
static int reaped(md_exec_result_t *res, pid_t pid)
{
    int status = 0;
    pid_t r;

    do {
        r = waitpid(pid, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r != pid) {
        return 0;
    }
    if (WIFEXITED(status)) {
        res->exited = 1;
        res->exit_code = WEXITSTATUS(status);
    }
    else {
        res->exited = 0;
        res->exit_code = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    }
    return 1;
}

static void keep(char *out, apr_size_t *pout_len, const char *buf, apr_size_t len)
{
    if (*pout_len < MD_EXEC_OUTPUT_MAX) {
        apr_size_t room = MD_EXEC_OUTPUT_MAX - *pout_len;
        apr_size_t n = len < room ? len : room;
        memcpy(out + *pout_len, buf, n);
        *pout_len += n;
    }
}

/* Read the program's output until it has exited (and its output is read)
 * or the deadline passes; 1 if it exited. A child it left running with
 * our pipe as its stdout does not hold us: once the program is gone, only
 * what is readable at once is read. */
static int run_until(md_exec_result_t *res, pid_t pid, int rd, char *out,
                     apr_size_t *pout_len, apr_time_t deadline)
{
    apr_size_t drained = 0;
    int exited = 0;
    char buf[1024];

    for (;;) {
        struct pollfd pfd;
        apr_interval_time_t left;
        int ms;
        int n;

        if (!exited) {
            exited = reaped(res, pid);
        }
        left = deadline - apr_time_now();
        if (rd < 0 || left <= 0 || (exited && drained >= DRAIN_MAX)) {
            return exited;
        }
        ms = exited ? 0 : (int)(left / 1000 < POLL_STEP_MS ? left / 1000 + 1 : POLL_STEP_MS);
        pfd.fd = rd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        n = poll(&pfd, 1, ms);
        if (n < 0 && errno != EINTR) {
            return exited;
        }
        if (n <= 0) {
            if (exited) {
                return 1;   /* nothing more right now: done */
            }
            continue;
        }
        n = (int)read(rd, buf, sizeof(buf));
        if (n > 0) {
            keep(out, pout_len, buf, (apr_size_t)n);
            if (exited) {
                drained += (apr_size_t)n;
            }
        }
        else if (n == 0 || errno != EINTR) {
            /* EOF: nobody holds the pipe any more; wait for the exit only */
            rd = -1;
            while (!exited && apr_time_now() < deadline) {
                apr_sleep(apr_time_from_msec(POLL_STEP_MS));
                exited = reaped(res, pid);
            }
            return exited;
        }
    }
}

/* Has pid ended, without reaping it (its pid stays its group's)? */
static int ended(pid_t pid)
{
    siginfo_t si;

    memset(&si, 0, sizeof(si));
    return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
}

/* Stop the program's whole group: SIGTERM, SIGKILL after the grace (to
 * what it started too), then reap it. The program is reaped last, so its
 * pid, the group's id, cannot have been given to anyone else meanwhile. */
static void kill_group(pid_t pid)
{
    apr_time_t end = apr_time_now() + MD_EXEC_KILL_GRACE;

    kill(-pid, SIGTERM);
    while (!ended(pid) && apr_time_now() < end) {
        apr_sleep(apr_time_from_msec(POLL_STEP_MS));
    }
    kill(-pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
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
    apr_time_t deadline = apr_time_now() + timeout;
    apr_size_t out_len = 0;
    apr_status_t rv;
    pid_t pid = 0;
    int fds[2];
    char *out;

    *pres = NULL;
    if (!argv || !argv[0] || !path || path[0] != '/') {
        return APR_EINVAL;
    }
    /* Close-on-exec: programs other threads start never get our pipe. */
    if (pipe2(fds, O_CLOEXEC) != 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    rv = spawn(&pid, path, argv, fds[1], p);
    close(fds[1]);
    if (rv != APR_SUCCESS) {
        close(fds[0]);
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p, "MD16001: cannot run %s", path);
        return rv;
    }
    out = apr_palloc(p, MD_EXEC_OUTPUT_MAX);
    res = apr_pcalloc(p, sizeof(*res));
    if (!run_until(res, pid, fds[0], out, &out_len, deadline)) {
        kill_group(pid);
        res->exited = 0;
        res->timed_out = 1;
        res->exit_code = SIGKILL;
        rv = APR_TIMEUP;
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p, "MD16002: %s ran longer than %s, "
                      "killed (with its process group)", path, md_duration_print(timeout, p));
    }
    close(fds[0]);
    res->output = output_text(out, out_len, p);
    *pres = res;
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
