/* A cluster of servers on one shared store (MDStoreBackend postgresql):
 * what the glue does besides what every store gets.
 *
 *  - Renewals take the MD's lease first and drive through the store's
 *    fenced view, with the lease renewed by a keeper thread of the
 *    renewing child; an MD another server works on, finished, or made
 *    live meanwhile is left alone (mod_md_drive.c asks here).
 *  - Account selection takes the store's "@account" lease, so that the
 *    servers share one ACME account instead of each registering one.
 *  - The parent's activation check (mod_md_activate.c) polls the store
 *    once per MDStorePollInterval: certificates staged by any server and
 *    live sets another server made are reasons for its own graceful
 *    restart, which copies them locally and hands them to mod_ssl.
 *  - Start-up always takes the store lock (MDStoreLocks or, by default,
 *    MOD_MD_CLUSTER_LOCK_WAIT), so one server at a time activates.
 *  - md-status and md-metrics show the store and who holds which lease.
 *
 * With the file-system store all of this does nothing: the functions give
 * the single-server answers.
 */
#ifndef mod_md_cluster_h
#define mod_md_cluster_h

#include <apr_hash.h>
#include <apr_tables.h>
#include <httpd.h>
#include <jansson.h>

#include "md_drive_share.h"
#include "md_reg.h"
#include "md_store.h"
#include "mod_md_config.h"
#include "mod_md_runtime.h"

/* MDStorePollInterval: how often the parent asks the store what changed
 * (httpd runs the check about every 10 s, so that is the shortest). */
#define MOD_MD_CLUSTER_POLL_DEFAULT     apr_time_from_sec(30)
/* MDStoreLeaseTime: how long an MD's renewal lease lasts without renewal
 * (renewed every third of it), i.e. how soon another server takes over
 * the work of one that died. */
#define MOD_MD_CLUSTER_LEASE_DEFAULT    apr_time_from_sec(60)
/* How long start-up waits for the store lock of a shared store when
 * MDStoreLocks does not say. */
#define MOD_MD_CLUSTER_LOCK_WAIT        apr_time_from_sec(60)
/* How long a server waits for another choosing an ACME account. */
#define MOD_MD_CLUSTER_ACCOUNT_WAIT     apr_time_from_sec(60)

void mod_md_cluster_register_hooks(void);

/* From the runtime's post_config, first: this cycle's settings
 * (MDStoreLeaseTime, MDStorePollInterval) into rt->cluster. */
void mod_md_cluster_setup(mod_md_runtime_t *rt);

/* How long start-up waits for the store lock; 0: do not lock. */
apr_interval_time_t mod_md_cluster_lock_wait(const md_store_t *store,
                                             const mod_md_global_t *g);

/* Start-up did not get the lock of a shared store (rv): say why, return 1;
 * 0 for another store (the caller says it). */
int mod_md_cluster_lock_failed(const md_store_t *store, server_rec *s, apr_status_t rv,
                               apr_interval_time_t wait, apr_pool_t *p);

/* --- renewals (in the renewing child) --- */

typedef struct mod_md_cluster_drive_t mod_md_cluster_drive_t;

/* Before a worker drives st->md: on APR_SUCCESS drive with *pstore (the
 * MD's fenced view of rt->store, or rt->store itself when it is not shared)
 * and call mod_md_cluster_drive_end(*pdrive) when done. APR_EAGAIN: not
 * now; *pfinished says a certificate is staged already (by another server),
 * else look again at *pretry_at. Blocks on the store only. */
apr_status_t mod_md_cluster_drive_begin(mod_md_cluster_drive_t **pdrive, md_store_t **pstore,
                                        const mod_md_runtime_t *rt, const md_reg_state_t *st,
                                        int *pfinished, apr_time_t *pretry_at, apr_pool_t *p);
void mod_md_cluster_drive_end(mod_md_cluster_drive_t *drive);

/* md_watch_cfg_t's lease_keep/lease_drop (baton: rt->cluster): the keeper
 * renews a watchdog pass's lease while the pass runs the admin's programs,
 * as it does a drive's. NULL (nothing kept) for a store of one server. */
void *mod_md_cluster_lease_keep(void *baton, md_store_t *store, md_store_lease_t *lease,
                                apr_pool_t *p);
void mod_md_cluster_lease_drop(void *baton, void *kept);

/* Make the account selection of share cluster-wide (no-op for a store of
 * one server). Call where share is created, in the child. */
void mod_md_cluster_share_setup(md_drive_share_t *share, md_store_t *store, server_rec *s);

/* --- the parent's poll (mod_md_activate.c's monitor) --- */

/* Is it time to look at the store (always for a store of one server)? */
int mod_md_cluster_poll_due(md_store_t *store, server_rec *s, apr_time_t now);

/* Add to ready (const char*) the MDs of states (name -> md_reg_state_t*)
 * whose live set another server changed since this one copied it, not yet
 * restarted for; *pnewest becomes the latest change if later. */
void mod_md_cluster_changed(apr_array_header_t *ready, apr_time_t *pnewest, md_store_t *store,
                            apr_hash_t *states, server_rec *s, apr_pool_t *ptemp);

/* The server restarts for the MDs in ready: do not restart again for the
 * changes mod_md_cluster_changed reported for them. */
void mod_md_cluster_restarting(const apr_array_header_t *ready, server_rec *s);

/* --- status --- */

/* Add "lease" to each MD object of an md-status document (all MDs or one)
 * and, to the document of all, "store" (backend, node, reachable). */
void mod_md_cluster_status_json(json_t *doc, md_store_t *store, apr_pool_t *p);

/* The store's Prometheus families: md_store_up, md_store_lease_held,
 * md_store_lease_epoch (per lease with the holder's node). */
void mod_md_cluster_metrics(request_rec *r, md_store_t *store);

#endif /* mod_md_cluster_h */
