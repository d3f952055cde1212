/* Running an external program (MDChallengeDns01, MDNotifyCmd,
 * MDMessageCmd): by argv, never through a shell, with a time limit and a
 * cap on the output kept for messages.
 *
 * What the program gets (issue 11): stdin /dev/null, stdout and stderr a
 * pipe we read, no other descriptor of the server (sockets, the store's
 * files, pipes: all closed), a process group of its own, signals at their
 * defaults and unblocked, and the environment MD_EXEC_PATH as PATH plus,
 * when the server has them, LANG, LC_ALL, TZ and the proxy variables
 * (http_proxy, https_proxy, no_proxy and their upper-case forms); nothing
 * else of the server's environment.
 *
 * Process model: called from a thread of a child; the program is spawned
 * from that child and waited for by pid, so other threads are not affected.
 */
#ifndef md_exec_h
#define md_exec_h

#include <apr_pools.h>
#include <apr_time.h>

/* Output (stdout and stderr together) kept from a run; more is read and
 * dropped so the program never blocks on a full pipe. */
#define MD_EXEC_OUTPUT_MAX      4096
/* PATH of a program. */
#define MD_EXEC_PATH            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* Time a program gets after SIGTERM (on timeout) before SIGKILL. */
#define MD_EXEC_KILL_GRACE      apr_time_from_sec(2)

typedef struct md_exec_result_t {
    int exited;             /* the program ended by itself (not killed) */
    int exit_code;          /* its exit code when exited, else the signal */
    int timed_out;          /* it was killed because it ran too long */
    const char *output;     /* what it printed (printable, capped), "" if nothing */
} md_exec_result_t;

/* Run argv[0] (an absolute path) with the arguments argv[1..] (NULL
 * terminated), as described above, and wait for it at most timeout.
 * APR_SUCCESS when the program exited (whatever its exit code, see
 * (*pres)->exit_code), also when it left a child of its own running that
 * still holds its stdout: what was written until the program exited is
 * kept, the child is left alone. APR_TIMEUP when the program ran longer
 * than timeout: its whole process group got SIGTERM, and SIGKILL after
 * MD_EXEC_KILL_GRACE. Other codes when it could not be started
 * (APR_ENOENT, APR_EACCES, ...). *pres is set whenever the program was
 * started. Allocates from p. Blocks for up to timeout + MD_EXEC_KILL_GRACE. */
apr_status_t md_exec_run(md_exec_result_t **pres, const char *const *argv,
                         apr_interval_time_t timeout, apr_pool_t *p);

/* The same, running the program at path (absolute) with argv as given:
 * argv[0] is the program's name as the admin wrote it (the stock module
 * passes it so), path where it is. */
apr_status_t md_exec_run_prog(md_exec_result_t **pres, const char *path,
                              const char *const *argv, apr_interval_time_t timeout,
                              apr_pool_t *p);

/* Where a configured program is: prog itself when absolute (or root is
 * NULL), else under root (ServerRoot). From p. */
const char *md_exec_program_path(const char *root, const char *prog, apr_pool_t *p);

/* A one-line description of a finished run for messages, e.g.
 * "exit code 3: no such zone" or "killed after 30 s (timeout)". */
const char *md_exec_describe(const md_exec_result_t *res, apr_pool_t *p);

#endif /* md_exec_h */
