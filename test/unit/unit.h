/* Common includes for the cmocka unit tests of the core. */
#ifndef unit_h
#define unit_h

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

#include <apr_general.h>
#include <apr_pools.h>

/* A pool per test: created in setup, destroyed in teardown. */
static inline int unit_pool_setup(void **state)
{
    apr_pool_t *p = NULL;
    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return -1;
    }
    *state = p;
    return 0;
}

static inline int unit_pool_teardown(void **state)
{
    apr_pool_destroy((apr_pool_t *)*state);
    return 0;
}

static inline int unit_rm_entry(const char *path, const struct stat *sb, int flag,
                                struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Pool cleanup removing the temp directory data with everything in it:
 * register it right after mkdtemp. */
static inline apr_status_t unit_tmpdir_cleanup(void *data)
{
    nftw(data, unit_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return APR_SUCCESS;
}

/* Run a group with APR initialized. */
#define UNIT_RUN(tests) \
    (apr_initialize(), cmocka_run_group_tests(tests, NULL, NULL))

#define UNIT_TEST(fn) cmocka_unit_test_setup_teardown(fn, unit_pool_setup, unit_pool_teardown)

#endif /* unit_h */
