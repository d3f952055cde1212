/* Telling the admin's programs about events of an MD: MDNotifyCmd and
 * MDMessageCmd (the stock mod_md's directives and semantics).
 *
 *   MDMessageCmd prog [args]  runs  prog args... <reason> <mdname>  for the
 *       reasons renewing, renewed, installed, expiring, errored and
 *       challenge-setup:<type>:<domain>;
 *   MDNotifyCmd prog [args]   runs  prog args... <mdname>  when a
 *       certificate was renewed.
 *
 * Programs run without a shell (md_exec.h: argv as configured, the program
 * an absolute path), with stdin from /dev/null, their output kept for the
 * message, and are killed after a timeout. A non-zero exit (or a
 * timeout) is a failure: for "renewing" and "challenge-setup" the caller
 * vetoes the renewal attempt; "renewed" and "installed" are kept pending
 * and retried with a doubling delay until they succeed.
 *
 * Rate limits per MD and reason (as the stock module documents them):
 * renewed and installed once per certificate (the key the caller gives),
 * errored at most once an hour, expiring at most once a day, renewing and
 * challenge-setup every time. What was sent when is kept in
 * staging/<md>/notify.json, so a restarted child does not repeat itself.
 *
 * Runs in the watchdog child only (never in the parent, never on a request
 * thread): it blocks while a program runs. One thread at a time.
 */
#ifndef md_notify_h
#define md_notify_h

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <jansson.h>
#include "md_result.h"
#include "md_store.h"

#define MD_NOTIFY_RENEWING      "renewing"
#define MD_NOTIFY_RENEWED       "renewed"
#define MD_NOTIFY_INSTALLED     "installed"
#define MD_NOTIFY_EXPIRING      "expiring"
#define MD_NOTIFY_ERRORED       "errored"
#define MD_NOTIFY_CHALLENGE_SETUP "challenge-setup"   /* + ":<type>:<domain>" */

#define MD_NOTIFY_TIMEOUT_DEF   apr_time_from_sec(60)
#define MD_NOTIFY_RETRY_MIN     apr_time_from_sec(5)
#define MD_NOTIFY_RETRY_MAX     apr_time_from_sec(MD_SECS_PER_HOUR)

typedef struct md_notify_t md_notify_t;

/* The programs (const char* argv: program then configured arguments; NULL
 * or empty: not configured) and the store for the rate-limit state. From
 * p; the arrays are not copied and must live as long. No blocking. */
md_notify_t *md_notify_create(apr_pool_t *p, md_store_t *store,
                              const apr_array_header_t *notify_argv,
                              const apr_array_header_t *message_argv);

/* A copy of n that keeps its state (notify.json) in store instead: the
 * fenced view of a lease (md_store_fence) whose holder tells, so that a
 * server that lost the lease writes nothing. From p; n itself unchanged.
 * n NULL: NULL. */
md_notify_t *md_notify_for_store(const md_notify_t *n, md_store_t *store, apr_pool_t *p);

/* How long one program may run (default MD_NOTIFY_TIMEOUT_DEF). */
void md_notify_set_timeout(md_notify_t *n, apr_interval_time_t timeout);

/* Relative program names (argv[0] as configured) are run from under root
 * (ServerRoot); they get argv[0] as written. */
void md_notify_set_root(md_notify_t *n, const char *root);

/* Is anything configured at all? */
int md_notify_configured(const md_notify_t *n);

/* Tell the programs that reason happened to mdname. key names what a
 * once-only reason (renewed, installed) is about, e.g. the certificate's
 * validity start; NULL for the others. Returns APR_SUCCESS when every
 * program that had to run exited 0, or when none had to (not configured,
 * rate limited, already told about key). Otherwise the failure (APR_EGENERAL
 * for a non-zero exit, APR_TIMEUP, or why the program could not start),
 * with result saying which directive, reason and exit code. Blocks while a
 * program runs. n NULL: nothing to do. */
apr_status_t md_notify_event(md_notify_t *n, const char *mdname, const char *reason,
                             const char *key, md_result_t *result, apr_pool_t *p);

/* What md_notify_event_ex (or a retry) did, as bits. */
#define MD_NOTIFY_RAN           0x01    /* a program was run */
#define MD_NOTIFY_FAILED_MSG    0x02    /* MDMessageCmd failed */
#define MD_NOTIFY_FAILED_NOTIFY 0x04    /* MDNotifyCmd failed */
#define MD_NOTIFY_SKIP_MSG      0x08    /* MDMessageCmd was not part of it (a retry
                                         * of the MDNotifyCmd part alone) */
#define MD_NOTIFY_SKIP_NOTIFY   0x10    /* MDNotifyCmd was not part of it */
#define MD_NOTIFY_PENDING       0x20    /* the other part of it still waits for a
                                         * retry: the reason is not told in full */

/* The same; *pwhat (may be NULL) gets the MD_NOTIFY_* bits. */
apr_status_t md_notify_event_ex(md_notify_t *n, const char *mdname, const char *reason,
                                const char *key, int *pwhat, md_result_t *result,
                                apr_pool_t *p);

/* What md_notify_retry did about one pending notification: reason
 * ("renewed" for both its parts, or "installed"), the key it is about
 * (NULL if none), the MD_NOTIFY_* bits (with MD_NOTIFY_SKIP_* for the
 * part that was not retried, MD_NOTIFY_PENDING while that part still
 * waits for its retry) and, when a program failed, result. The
 * caller records it (job.json's notified flags and log). */
typedef void md_notify_retried_fn(void *baton, const char *mdname, const char *reason,
                                  const char *key, int what, const md_result_t *result,
                                  apr_pool_t *p);

/* Run pending (failed) once-only notifications of mdname whose retry time
 * has come; retried (may be NULL) hears about each run. *pnext is set to
 * the earliest retry time still pending, 0 if none. Blocks while a
 * program runs. */
void md_notify_retry(md_notify_t *n, const char *mdname, apr_time_t *pnext,
                     md_notify_retried_fn *retried, void *baton, apr_pool_t *p);

/* When md_notify_retry has something to run for mdname: the earliest retry
 * time of a pending notification (maybe past), 0 if none. Reads the state
 * only: no program, no write. */
apr_time_t md_notify_pending_next(md_notify_t *n, const char *mdname, apr_pool_t *p);

/* --- the parts, for tests ------------------------------------------------ */

/* Run argv[0] (absolute, or relative to root) with argv[0..] as given and
 * then extra[0..nextra) through md_exec_run_prog, waiting at most timeout
 * (then it is killed:
 * APR_TIMEUP). APR_SUCCESS when it ran to its end; *pexit is its exit code
 * (128 + signal if a signal ended it), *poutput (may be NULL) what it
 * printed (capped, printable). Another code when it could not be started.
 * Blocks. */
apr_status_t md_notify_exec(int *pexit, const char **poutput, const char *root,
                            const apr_array_header_t *argv, const char *const *extra,
                            int nextra, apr_interval_time_t timeout, apr_pool_t *p);

/* Shortest time between two runs for reason (0: every time), and whether
 * it is told once per key. */
apr_interval_time_t md_notify_min_interval(const char *reason, int *ponce_per_key);

/* Given the state of one reason ({"when", "key"} of the last success),
 * should it run now for key? */
int md_notify_is_due(const json_t *state, const char *reason, const char *key,
                     apr_time_t now);

#endif /* md_notify_h */
