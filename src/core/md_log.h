/* Logging from the core library.
 *
 * The core never writes to stderr nor calls httpd: it logs through callbacks
 * that the embedding program (the Apache glue, a2md, unit tests) installs.
 * Every message starts with a unique number "MDnnnnn:" so one log line leads
 * to one call site. Number ranges per file: see docs/LOGNUMBERS.md.
 */
#ifndef md_log_h
#define md_log_h

#include <stdarg.h>
#include <apr_pools.h>
#include <apr_errno.h>

typedef enum {
    MD_LOG_EMERG,
    MD_LOG_ALERT,
    MD_LOG_CRIT,
    MD_LOG_ERR,
    MD_LOG_WARNING,
    MD_LOG_NOTICE,
    MD_LOG_INFO,
    MD_LOG_DEBUG,
    MD_LOG_TRACE1,
    MD_LOG_TRACE2,
    MD_LOG_TRACE3,
    MD_LOG_TRACE4,
    MD_LOG_TRACE5,
    MD_LOG_TRACE6,
    MD_LOG_TRACE7,
    MD_LOG_TRACE8,
} md_log_level_t;

#define MD_LOG_MARK __FILE__, __LINE__

/* Is the given level enabled? */
typedef int md_log_level_cb(void *baton, md_log_level_t level);
/* Print one already formatted message. rv is 0 or the error code the message is about. */
typedef void md_log_print_cb(const char *file, int line, md_log_level_t level,
                             apr_status_t rv, void *baton, const char *msg);

/* Install the callbacks (process global, set once before threads start).
 * Without them, nothing is logged. */
void md_log_set(md_log_level_cb *level_cb, md_log_print_cb *print_cb, void *baton);

int md_log_is_level(md_log_level_t level);

/* Log a printf-style message. p is used for formatting scratch; it may be NULL
 * (a fixed-size buffer is used then, long messages are truncated). */
void md_log_perror(const char *file, int line, md_log_level_t level, apr_status_t rv,
                   apr_pool_t *p, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

const char *md_log_level_name(md_log_level_t level);

#endif /* md_log_h */
