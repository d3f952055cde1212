/* The module's mod_watchdog tasks (see mod_md_watchdog.h). */
#include <apr_atomic.h>
#include <apr_optional.h>

#include "md_crypt.h"
#include "mod_md_watchdog.h"

apr_status_t mod_md_watchdog_register(mod_md_watchdog_t *w, const char *name,
                                      apr_interval_time_t first,
                                      ap_watchdog_callback_fn_t *callback, void *baton,
                                      apr_pool_t *pconf)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *get_instance;
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *register_callback;
    apr_status_t rv;

    get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    register_callback = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!get_instance || !register_callback
        || !APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_set_callback_interval)) {
        return APR_ENOTIMPL;
    }
    w->callback = callback;
    w->baton = baton;
    rv = get_instance(&w->wd, name, 0, 1, pconf);
    if (rv == APR_SUCCESS) {
        rv = register_callback(w->wd, first, baton, callback);
    }
    return rv;
}

void mod_md_watchdog_next(mod_md_watchdog_t *w, apr_interval_time_t wait)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_set_callback_interval) *set_interval;

    /* Registered: it is there (mod_md_watchdog_register). */
    set_interval = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_set_callback_interval);
    set_interval(w->wd, wait, w->baton, w->callback);
}

void mod_md_watchdog_ran(mod_md_watchdog_t *w)
{
    apr_atomic_cas32(&w->thread, 1, 0);
}

void mod_md_watchdog_stopped(mod_md_watchdog_t *w)
{
    md_crypt_thread_done();
    apr_atomic_set32(&w->thread, 2);
}

apr_status_t mod_md_watchdog_wait(void *data)
{
    mod_md_watchdog_t *w = data;
    int i;

    for (i = 0; i < 500 && apr_atomic_read32(&w->thread) == 1; ++i) {
        apr_sleep(apr_time_from_msec(10));
    }
    return APR_SUCCESS;
}
