/* The module's mod_watchdog tasks (the renewal, mod_md_drive.c, and the
 * OCSP stapling, mod_md_ocsp.c): registering one, setting when it runs
 * next, and holding a child's exit until its thread is done.
 *
 * mod_watchdog does not join its threads before a child exits: OpenSSL's
 * exit handler would then race with the end of a watchdog thread that used
 * crypto, both freeing the thread's OpenSSL state (ASan saw the double
 * free). A task's callback calls mod_md_watchdog_ran on every run and
 * mod_md_watchdog_stopped when told AP_WATCHDOG_STATE_STOPPING (on its own
 * thread); mod_md_watchdog_wait, a cleanup on pchild, holds the child's
 * exit (at most 5 s) until the thread that ran has stopped.
 */
#ifndef mod_md_watchdog_h
#define mod_md_watchdog_h

#include <apr_pools.h>
#include <apr_time.h>
#include <httpd.h>
#include <mod_watchdog.h>

typedef struct mod_md_watchdog_t {
    ap_watchdog_t *wd;
    ap_watchdog_callback_fn_t *callback;
    void *baton;
    volatile apr_uint32_t thread;   /* 0 never ran, 1 ran, 2 stopped */
} mod_md_watchdog_t;

/* Register callback(baton) as the singleton watchdog task name (one child
 * of the server runs it), first run after first. In the parent's
 * post_config. APR_ENOTIMPL when mod_watchdog is not loaded. */
apr_status_t mod_md_watchdog_register(mod_md_watchdog_t *w, const char *name,
                                      apr_interval_time_t first,
                                      ap_watchdog_callback_fn_t *callback, void *baton,
                                      apr_pool_t *pconf);

/* From the callback: run again after wait. */
void mod_md_watchdog_next(mod_md_watchdog_t *w, apr_interval_time_t wait);

/* From the callback on every run, and when told to stop (see the top). */
void mod_md_watchdog_ran(mod_md_watchdog_t *w);
void mod_md_watchdog_stopped(mod_md_watchdog_t *w);

/* A pool cleanup (data: the mod_md_watchdog_t) for pchild. */
apr_status_t mod_md_watchdog_wait(void *data);

#endif /* mod_md_watchdog_h */
