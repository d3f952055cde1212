/* The outcome of an operation, with the CA's problem document if there was one.
 *
 * One result object travels through a renewal: every step records what it is
 * doing (activity) and, on failure, the status, the ACME problem type, the
 * detail and subproblems. The same object is persisted with the job and shown
 * in the error log, md-status, server-status and a2md (STYLE §5).
 */
#ifndef md_result_h
#define md_result_h

#include <apr_pools.h>
#include <apr_time.h>
#include <jansson.h>
#include "md_log.h"

typedef struct md_result_t {
    apr_pool_t *p;            /* owns all strings below */
    const char *md_name;      /* may be NULL */
    apr_status_t status;      /* APR_SUCCESS or the error */
    const char *problem;      /* ACME problem type URN, or NULL */
    const char *detail;       /* human readable, or NULL */
    json_t *subproblems;      /* array from the problem document, or NULL (owned by p) */
    const char *activity;     /* what we were doing, or NULL */
    apr_time_t retry_after;   /* CA asked us to wait until then; 0 if not */
} md_result_t;

md_result_t *md_result_make(apr_pool_t *p, const char *md_name);

/* Forget status, problem and detail (keeps md_name and activity). */
void md_result_reset(md_result_t *r);

void md_result_activity_set(md_result_t *r, const char *activity);
void md_result_activity_printf(md_result_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Set status and detail (copied); problem and subproblems are cleared. */
void md_result_set(md_result_t *r, apr_status_t status, const char *detail);
void md_result_printf(md_result_t *r, apr_status_t status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Replace only the detail (formatted; may use the old r->detail), keeping
 * status, problem and subproblems: for saying more about a failure without
 * losing the CA's problem type. */
void md_result_detail_printf(md_result_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Set from an ACME problem document (RFC 8555 §6.7 / RFC 7807). Strings are
 * copied and made printable; subproblems gets its own reference. */
void md_result_problem_set(md_result_t *r, apr_status_t status, const char *problem,
                           const char *detail, const json_t *subproblems);

/* Copy status/problem/detail/subproblems/retry_after from src. */
void md_result_assign(md_result_t *dst, const md_result_t *src);

/* JSON member of the result for retry_after, an HTTP date. */
#define MD_KEY_RETRY_AFTER "retry-after"

/* {"status": int, "problem": str, "detail": str, "activity": str,
 *  "subproblems": [...], "retry-after": "<HTTP date>"} - members absent when
 * unset. New reference. */
json_t *md_result_to_json(const md_result_t *r);
void md_result_from_json(md_result_t *r, const json_t *j);

/* One line: "<md>: <activity>: <detail> (<problem>)" */
const char *md_result_to_string(const md_result_t *r, apr_pool_t *p);

/* Log the result at level, with its number prefix in the message. */
void md_result_log(const md_result_t *r, const char *file, int line, md_log_level_t level);

#endif /* md_result_h */
