/* Private key generation on a thread of its own (see md_keygen.h). */
#include <apr_thread_proc.h>

#include "md_crypt.h"
#include "md_keygen.h"
#include "md_log.h"

struct md_keygen_t {
    apr_pool_t *kp;             /* own allocator: the thread uses it alone */
    apr_thread_t *thread;
    const md_pkey_spec_t *spec;
    md_pkey_t *pkey;            /* from kp, set by the thread */
    apr_status_t rv;            /* of the thread */
    int joined;
};

static void *APR_THREAD_FUNC keygen_run(apr_thread_t *thread, void *data)
{
    md_keygen_t *kg = data;

    (void)thread;
    kg->rv = md_pkey_gen(&kg->pkey, kg->kp, kg->spec);
    /* OpenSSL's per-thread state goes with the thread (md_crypt.h). Return
     * rather than apr_thread_exit(): its pthread_exit unwinding upsets ASan,
     * and kg->rv already carries the result to the joiner. */
    md_crypt_thread_done();
    return NULL;
}

static void keygen_join(md_keygen_t *kg)
{
    apr_status_t trv;

    if (kg->thread && !kg->joined) {
        apr_thread_join(&trv, kg->thread);
        kg->joined = 1;
    }
}

static apr_status_t keygen_cleanup(void *data)
{
    md_keygen_t *kg = data;

    /* The thread writes into kp: it must be done before kp goes. */
    keygen_join(kg);
    apr_pool_destroy(kg->kp);
    return APR_SUCCESS;
}

apr_status_t md_keygen_start(md_keygen_t **pkg, const md_pkey_spec_t *spec, apr_pool_t *p)
{
    md_keygen_t *kg;
    apr_status_t rv;

    *pkg = NULL;
    kg = apr_pcalloc(p, sizeof(*kg));
    kg->spec = spec;
    /* An allocator of its own: the caller keeps using p meanwhile, and
     * pools sharing an allocator must not be used from two threads. */
    rv = apr_pool_create_unmanaged_ex(&kg->kp, NULL, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_pool_cleanup_register(p, kg, keygen_cleanup, apr_pool_cleanup_null);
    rv = apr_thread_create(&kg->thread, NULL, keygen_run, kg, kg->kp);
    if (rv != APR_SUCCESS) {
        /* No thread: generate in the caller's thread at finish. */
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p,
                      "MD08600: no thread for key generation, generating inline");
        kg->thread = NULL;
    }
    *pkg = kg;
    return APR_SUCCESS;
}

apr_status_t md_keygen_finish(md_pkey_t **ppkey, md_keygen_t *kg)
{
    *ppkey = NULL;
    if (!kg->thread) {
        kg->rv = md_pkey_gen(&kg->pkey, kg->kp, kg->spec);
    }
    keygen_join(kg);
    if (kg->rv == APR_SUCCESS) {
        *ppkey = kg->pkey;
    }
    return kg->rv;
}
