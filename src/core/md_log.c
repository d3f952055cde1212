/* Logging through injected callbacks (see md_log.h). */
#include <stdio.h>
#include <stdarg.h>

#include <apr_strings.h>

#include "md_log.h"

/* Messages formatted without a pool are cut at this size. */
#define LOG_BUF_LEN  (8 * 1024)

/* Installed once, before threads start; read-only afterwards. */
static md_log_level_cb *log_level_cb;
static md_log_print_cb *log_print_cb;
static void *log_baton;

static const char *const level_names[] = {
    "emergency", "alert", "crit", "error", "warning", "notice", "info", "debug",
    "trace1", "trace2", "trace3", "trace4", "trace5", "trace6", "trace7", "trace8",
};

void md_log_set(md_log_level_cb *level_cb, md_log_print_cb *print_cb, void *baton)
{
    log_level_cb = level_cb;
    log_print_cb = print_cb;
    log_baton = baton;
}

int md_log_is_level(md_log_level_t level)
{
    if (!log_level_cb || !log_print_cb) {
        return 0;
    }
    return log_level_cb(log_baton, level);
}

void md_log_perror(const char *file, int line, md_log_level_t level, apr_status_t rv,
                   apr_pool_t *p, const char *fmt, ...)
{
    va_list ap;
    const char *msg;
    char buf[LOG_BUF_LEN];

    if (!md_log_is_level(level)) {
        return;
    }
    va_start(ap, fmt);
    if (p) {
        msg = apr_pvsprintf(p, fmt, ap);
    }
    else {
        apr_vsnprintf(buf, sizeof(buf), fmt, ap);
        msg = buf;
    }
    va_end(ap);
    log_print_cb(file, line, level, rv, log_baton, msg);
}

const char *md_log_level_name(md_log_level_t level)
{
    if ((int)level < 0 || (size_t)level >= sizeof(level_names) / sizeof(level_names[0])) {
        return "unknown";
    }
    return level_names[level];
}
