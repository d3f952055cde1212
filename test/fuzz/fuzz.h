/* Shared by the libFuzzer targets (test/fuzz/fuzz_<name>.c, one per parser).
 *
 * A target is one file: include this header and define
 *
 *     int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
 *
 * taking a pool from fuzz_pool_begin() and handing it to fuzz_pool_end()
 * before it returns. Its seeds live in test/fuzz/corpus/<name>/ and an
 * optional dictionary in test/fuzz/dict/<name>.dict; `make fuzz` finds all
 * three by the file name. See test/fuzz/README.md.
 *
 * The core's log is switched on at every level and thrown away, so that
 * the formatting of every message (with the hostile strings in it) runs.
 */
#ifndef fuzz_h
#define fuzz_h

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "md_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline int fuzz_log_level(void *baton, md_log_level_t level)
{
    (void)baton;
    (void)level;
    return 1;
}

static inline void fuzz_log_print(const char *file, int line, md_log_level_t level, apr_status_t rv,
                           void *baton, const char *msg)
{
    /* Touch every byte: a message built from freed or unterminated memory
     * shows up here under ASan. */
    volatile size_t n = strlen(msg) + strlen(file);
    (void)line;
    (void)level;
    (void)rv;
    (void)baton;
    (void)n;
}

static apr_pool_t *fuzz_root;

/* APR and logging set up once per process; a fresh pool per input. */
static inline apr_pool_t *fuzz_pool_begin(void)
{
    apr_pool_t *p = NULL;

    if (!fuzz_root) {
        if (apr_initialize() != APR_SUCCESS || apr_pool_create(&fuzz_root, NULL) != APR_SUCCESS) {
            abort();
        }
        md_log_set(fuzz_log_level, fuzz_log_print, NULL);
    }
    if (apr_pool_create(&p, fuzz_root) != APR_SUCCESS) {
        abort();
    }
    return p;
}

/* Destroying the pool runs every cleanup the code under test registered:
 * a reference it dropped twice or kept too long shows up here. */
static inline void fuzz_pool_end(apr_pool_t *p)
{
    apr_pool_destroy(p);
}

/* A NUL-terminated copy of the input (from p). */
static inline const char *fuzz_str(const uint8_t *data, size_t size, apr_pool_t *p)
{
    return apr_pstrmemdup(p, (const char *)data, size);
}

/* Separator between the parts of an input that feeds several values. */
#define FUZZ_SEP      "\n--8<--\n"
#define FUZZ_SEP_LEN  (sizeof(FUZZ_SEP) - 1)

/* Split the input at FUZZ_SEP into at most n NUL-terminated parts (copied
 * into p, so each may be read to its terminator and no further); missing
 * parts are "" with length 0. The last part takes the rest, separators
 * included. Returns how many parts the input had. */
static inline int fuzz_split(const uint8_t *data, size_t size, int n, const char **parts,
                      size_t *lens, apr_pool_t *p)
{
    const char *s = (const char *)data;
    const char *end = s + size;
    int i;
    int found = 0;

    for (i = 0; i < n; ++i) {
        const char *sep = NULL;
        const char *cp;

        if (s == NULL) {
            parts[i] = "";
            lens[i] = 0;
            continue;
        }
        ++found;
        if (i < n - 1) {
            for (cp = s; cp + FUZZ_SEP_LEN <= end; ++cp) {
                if (!memcmp(cp, FUZZ_SEP, FUZZ_SEP_LEN)) {
                    sep = cp;
                    break;
                }
            }
        }
        lens[i] = (size_t)((sep ? sep : end) - s);
        parts[i] = apr_pstrmemdup(p, s, lens[i]);
        s = sep ? sep + FUZZ_SEP_LEN : NULL;
    }
    return found;
}

/* The first byte of the input as a small number (for choosing a variant),
 * advancing past it; 0 for empty input. */
static inline unsigned fuzz_take_byte(const uint8_t **pdata, size_t *psize)
{
    unsigned b;

    if (*psize == 0) {
        return 0;
    }
    b = **pdata;
    ++*pdata;
    --*psize;
    return b;
}

#endif /* fuzz_h */
