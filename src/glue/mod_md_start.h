/* The MDs at start-up: each config pass opens the store, then activates,
 * assesses and syncs every MD and makes the files mod_ssl asks for.
 *
 * When a pass has files to make or parse (new MDs, a store never seen),
 * that work runs on a thread of its own beside mod_ssl's post_config:
 * mod_ssl loads the certificates of the first hosts while the thread
 * prepares the next ones, in the order mod_ssl asks. mod_ssl's hooks
 * (mod_md_certs.c) wait for their MD only. On a known store the work is
 * done inline (see start_thread_for).
 *
 * Threads (STYLE §12): the thread is started in our post_config and
 * joined in the post_config after mod_ssl's (mod_md_start_end), before
 * httpd forks or unloads the module; ptemp's pre-cleanup joins it too
 * when a start fails in between. While it runs it owns a store object of
 * its own (a batch is one thread's), the credential memo, the states it
 * fills and the MDs it syncs; the main thread reads a state (and its MD)
 * after mod_md_start_wait says it is done. The mutex in mod_md_start_t
 * guards the count of MDs done. A shared store (a cluster's) is worked
 * through inline: its lease and poll settings belong to the one object.
 */
#ifndef mod_md_start_h
#define mod_md_start_h

#include <apr_hash.h>
#include <apr_tables.h>

#include "md_reg.h"
#include "md_status.h"
#include "mod_md_runtime.h"

typedef struct mod_md_start_t mod_md_start_t;

/* Open the store, lock it (MDStoreLocks) and start the MDs of rt->g (used:
 * name -> md_t* of the MDs some vhost uses). rt->states and
 * rt->state_list exist on return; their contents once mod_md_start_wait
 * says so. Fails only when the store cannot be opened. */
apr_status_t mod_md_start_begin(mod_md_runtime_t *rt, apr_hash_t *used, apr_pool_t *ptemp);

/* Until st (from rt->states) is done. Returns at once after the start. */
void mod_md_start_wait(const mod_md_runtime_t *rt, const md_reg_state_t *st);

/* The files made ahead for mod_ssl for the MD of st (done): its live
 * certificates, or its fallbacks if it has none. Pushes them and returns 1,
 * else returns 0 (nothing made ahead: ask the store). */
int mod_md_start_files(const mod_md_runtime_t *rt, const md_reg_state_t *st,
                       apr_array_header_t *cert_files, apr_array_header_t *key_files);

/* What md-status shows of the MD of st (from rt->states), as the start
 * made it for every MD (after mod_md_start_join; it lives as long as the
 * config). */
md_status_snap_t *mod_md_start_snap(const md_reg_state_t *st);

/* Until every MD is done and the thread is gone: then the main thread may
 * use the memo and make what was not made ahead. */
void mod_md_start_join(mod_md_runtime_t *rt);

/* The fallbacks for the MD of st, made when mod_ssl asks (they were not
 * made ahead): after the join, with rt->store. Pushes them and returns 1;
 * 0: none could be made (logged). Paths from p. */
int mod_md_start_fallbacks(mod_md_runtime_t *rt, const md_reg_state_t *st,
                           apr_array_header_t *cert_files, apr_array_header_t *key_files,
                           apr_pool_t *p);

/* After mod_ssl's post_config: join and save the credential memo. The work
 * has handed the User's directories over and released the store lock. */
void mod_md_start_end(mod_md_runtime_t *rt, apr_pool_t *ptemp);

#endif /* mod_md_start_h */
