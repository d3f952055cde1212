/* Automatic activation (MDActivationAuto): the parent process notices
 * certificates the renewal child staged and restarts the server
 * gracefully, which makes them live in post_config.
 *
 * Process model (STYLE §12): the check runs in httpd's monitor hook, in the
 * parent's main loop (about every 10 s), single-threaded and as root. It
 * lists staging/ and reads staging/<md>/job.json; when one says finished
 * (and changed since the last look) it verifies the staged set before it
 * restarts for it (md_reg_staged_verify: reads and decrypts the staged
 * keys, bounded in cost). No network. The restart is the one `apachectl graceful` makes
 * (AP_SIG_GRACEFUL to the parent itself), so requests in flight complete.
 */
#ifndef mod_md_activate_h
#define mod_md_activate_h

#include <apr_pools.h>
#include <httpd.h>

#include "md.h"
#include "md_store.h"

/* When a staged set is ready and when the server restarts for it is
 * md_sched.h's to say (md_sched_activation_ready, md_sched_restart_due:
 * MD_SCHED_ACTIVATE_SETTLE, _SETTLE_MAX, _MIN_GAP). The test build (make
 * testhooks, MD_TESTHOOKS) reads these three from the environment when set,
 * as durations ("0", "1s", "500ms"), so that the e2e tests need not sit
 * through them: MD_TEST_ACTIVATE_SETTLE, MD_TEST_ACTIVATE_SETTLE_MAX,
 * MD_TEST_ACTIVATE_MIN_GAP. The production module has only the constants
 * (and not these names). */

/* Register the monitor hook (from the module's register_hooks). */
void mod_md_activate_register_hooks(void);

/* MDActivationDelay: must the staged set of md wait, because its
 * certificate has been valid for less than delay at now? Reads
 * staging/<md>/job.json ("valid-from"). No network. */
int mod_md_activate_delayed(md_store_t *store, const md_t *md, apr_interval_time_t delay,
                            apr_time_t now, apr_pool_t *ptemp);

#endif /* mod_md_activate_h */
