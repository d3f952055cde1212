/* The watchdog task that renews certificates in the background, in one
 * child process with the server's normal user (see mod_md_drive.c). */
#ifndef mod_md_drive_h
#define mod_md_drive_h

#include <httpd.h>
#include "mod_md_runtime.h"

/* In the runtime's post_config of the real start (not the dry run), once
 * every MD is assessed (rt->state_list, rt->store; they live as long as
 * pconf): set up rt->drive and register the renewal task with
 * mod_watchdog. */
apr_status_t mod_md_drive_setup(mod_md_runtime_t *rt);

/* child_init: when the child exits, its drives in progress are finished
 * first (and the renewal lock released), not cut off. */
void mod_md_drive_register_hooks(void);

#endif /* mod_md_drive_h */
