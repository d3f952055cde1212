/* Opening a store by backend name (md_store.h): the one place that knows
 * which implementations there are. */
#include <string.h>

#include <apr_strings.h>

#include "md_log.h"
#include "md_store.h"
#include "md_store_pg.h"

static int is_file(const char *backend)
{
    return !backend || !*backend || !strcmp(backend, MD_STORE_BACKEND_FILE);
}

const char *md_store_check_backend(const char *backend, const char *args, apr_pool_t *p)
{
    if (is_file(backend)) {
        return (args && *args) ? apr_psprintf(p, "the %s backend takes no arguments",
                                              MD_STORE_BACKEND_FILE) : NULL;
    }
    if (!strcmp(backend, MD_STORE_BACKEND_POSTGRESQL)) {
        return md_store_pg_check(args, p);
    }
    return apr_psprintf(p, "unknown store backend \"%s\" (known: %s, %s)", backend,
                        MD_STORE_BACKEND_FILE, MD_STORE_BACKEND_POSTGRESQL);
}

apr_status_t md_store_open(md_store_t **pstore, const char *backend, const char *args,
                           const char *local_dir, apr_pool_t *p)
{
    const char *err = md_store_check_backend(backend, args, p);
    apr_status_t rv;

    *pstore = NULL;
    if (err) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p, "MD24060: %s", err);
        return APR_EINVAL;
    }
    if (is_file(backend)) {
        rv = md_store_fs_open(pstore, p, local_dir);
        if (rv == APR_SUCCESS) {
            (*pstore)->backend = MD_STORE_BACKEND_FILE;
        }
        return rv;
    }
    return md_store_pg_open(pstore, p, args, local_dir);
}
