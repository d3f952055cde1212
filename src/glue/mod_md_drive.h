/* The watchdog task that renews certificates in the background, in one
 * child process with the server's normal user. */
#ifndef mod_md_drive_h
#define mod_md_drive_h

#include <httpd.h>
#include "md_reg.h"
#include "md_store.h"
#include "mod_md_config.h"

/* Register the renewal task with mod_watchdog (call in post_config of the
 * real start, not the dry run). states: md_reg_state_t* of every MD, as
 * assessed by the parent; they, the store and g (finalized: timing and
 * parallelism directives) must live as long as pconf. */
apr_status_t mod_md_drive_register(server_rec *s, apr_pool_t *pconf, md_store_t *store,
                                   apr_array_header_t *states, const mod_md_global_t *g);

/* child_init hook: when the child exits, its drives in progress are
 * finished first (and the renewal lock released), not cut off. */
void mod_md_drive_child_init(apr_pool_t *pchild, server_rec *s);

#endif /* mod_md_drive_h */
