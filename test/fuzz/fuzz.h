/* Shared by the libFuzzer targets (test/fuzz/fuzz_<name>.c, one per parser).
 *
 * A target is one file: include this header and define
 *
 *     int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
 *
 * taking a pool from fuzz_pool_begin() and handing it to fuzz_pool_end()
 * before it returns. Its seeds live in test/fuzz/corpus/<name>/, an
 * optional dictionary in test/fuzz/fuzz_<name>.dict and optional libFuzzer
 * options in test/fuzz/fuzz_<name>.options; `make fuzz` finds them all by
 * the file name. See test/fuzz/README.md.
 *
 * The core's log is switched on at every level and thrown away, so that
 * the formatting of every message (with the hostile strings in it) runs.
 */
#ifndef fuzz_h
#define fuzz_h

#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "md_http.h"
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

/* Runs before LeakSanitizer's check at exit, so that what a target keeps
 * for all inputs (fuzz_root's objects) does not count as leaked. */
static inline void fuzz_root_destroy(void)
{
    apr_pool_destroy(fuzz_root);
    fuzz_root = NULL;
    apr_terminate();
}

/* APR and logging set up once per process; a fresh pool per input.
 * Objects made once for all inputs belong in fuzz_root. */
static inline apr_pool_t *fuzz_pool_begin(void)
{
    apr_pool_t *p = NULL;

    if (!fuzz_root) {
        if (apr_initialize() != APR_SUCCESS || apr_pool_create(&fuzz_root, NULL) != APR_SUCCESS) {
            abort();
        }
        atexit(fuzz_root_destroy);
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

static inline int fuzz_rm_entry(const char *path, const struct stat *sb, int flag,
                                struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Pool cleanup removing the directory data with everything in it (for a
 * temp dir a target makes once, in fuzz_root, right after mkdtemp). */
static inline apr_status_t fuzz_rm_tree(void *data)
{
    nftw(data, fuzz_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return APR_SUCCESS;
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

/* An HTTP response from text (len bytes, NUL-terminated):
 *
 *     <status>\n<Name>: <value>\n...\n\n<body>
 *
 * A status that is not a number is 0; lines without ':' are skipped; the
 * body may hold anything, NULs included. From p. */
static inline md_http_response_t *fuzz_http_response(const char *text, size_t len,
                                                     const char *url, apr_pool_t *p)
{
    md_http_response_t *r = apr_pcalloc(p, sizeof(*r));
    const char *end = text + len;
    const char *s = text;
    const char *eol;
    int status = 0;

    r->url = url;
    r->headers = apr_table_make(p, 5);
    while (s < end && *s >= '0' && *s <= '9' && status < 1000) {
        status = status * 10 + (*s++ - '0');
    }
    r->status = status;
    s = memchr(s, '\n', (size_t)(end - s));
    s = s ? s + 1 : end;
    while (s < end && *s != '\n') {
        const char *colon;

        eol = memchr(s, '\n', (size_t)(end - s));
        eol = eol ? eol : end;
        colon = memchr(s, ':', (size_t)(eol - s));
        if (colon) {
            const char *v = colon + 1;
            while (v < eol && *v == ' ') {
                ++v;
            }
            apr_table_add(r->headers, apr_pstrmemdup(p, s, (size_t)(colon - s)),
                          apr_pstrmemdup(p, v, (size_t)(eol - v)));
        }
        s = eol < end ? eol + 1 : end;
    }
    if (s < end) {
        ++s;   /* the empty line */
    }
    r->body_len = (apr_size_t)(end - s);
    r->body = apr_pstrmemdup(p, s, r->body_len);
    return r;
}

#endif /* fuzz_h */
