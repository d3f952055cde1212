/* The test-only crash hook (md_testhook.h). */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "md_log.h"
#include "md_testhook.h"

/* Longest point name compared; longer ones never match. */
#define POINT_MAX   256

static int hits;

int md_testhook_armed(void)
{
    const char *want = getenv(MD_TESTHOOK_ENV);
    return want && *want;
}

void md_testhook_crash(const char *prefix, const char *name)
{
    const char *want = getenv(MD_TESTHOOK_ENV);
    const char *hash;
    char point[POINT_MAX];
    size_t want_len;
    long nth = 1;

    if (!want || !*want || !prefix) {
        return;
    }
    hash = strchr(want, '#');
    want_len = hash ? (size_t)(hash - want) : strlen(want);
    if (hash) {
        char *end = NULL;
        nth = strtol(hash + 1, &end, 10);
        if (!end || *end || nth < 1) {
            return;
        }
    }
    if (snprintf(point, sizeof(point), "%s%s%s", prefix, name ? ":" : "", name ? name : "")
        >= (int)sizeof(point)) {
        return;
    }
    if (strlen(point) != want_len || strncmp(point, want, want_len) || ++hits != nth) {
        return;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_CRIT, 0, NULL,
                  "MD09900: test hook: stopped at %s (%s=%s)", point, MD_TESTHOOK_ENV, want);
    /* Freeze every thread of this process right here. The test either
     * SIGKILLs the server's processes (a crash at this instant: the
     * unprivileged child cannot signal its root parent itself) or SIGCONTs
     * this one to go on (something changed meanwhile, e.g. the CA). */
    raise(SIGSTOP);
}
