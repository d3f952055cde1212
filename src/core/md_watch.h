/* What the renewal watchdog does for each MD besides getting certificates:
 * ACME Renewal Information (RFC 9773) windows, and the admin's programs
 * (MDNotifyCmd/MDMessageCmd, md_notify.h) for installed, expiring, and
 * for what md_drive_renew reports (renewing, renewed, errored,
 * challenge-setup). Also the newOrder options that depend on the CA:
 * "profile" and "replaces".
 *
 * Created in the parent at start-up (it reads the live certificates in
 * domains/, which the unprivileged child cannot), used in the watchdog
 * child. Threads: md_watch_pass, md_watch_ari_at and md_watch_next_run
 * are for the watchdog thread only; md_watch_event, md_watch_attach and
 * md_watch_order_opts may run on any thread that drives a renewal (they
 * read what md_watch_create set, and flag retries atomically).
 * A NULL md_watch_t is valid everywhere and does nothing.
 */
#ifndef md_watch_h
#define md_watch_h

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include "md.h"
#include "md_acme.h"
#include "md_job.h"
#include "md_notify.h"
#include "md_reg.h"
#include "md_result.h"
#include "md_store.h"

typedef struct md_watch_t md_watch_t;

/* A pass's lease kept alive while the pass runs (an admin's program may
 * take longer than the lease): lease_keep starts renewing it from another
 * thread (mod_md_cluster.c's keeper) and returns what lease_drop needs to
 * stop, NULL when it cannot (the pass then runs as before). Called only
 * for a lease held on the watch's store, on the watchdog thread; p lives
 * until lease_drop. */
typedef void *md_watch_lease_keep_fn(void *baton, md_store_t *store, md_store_lease_t *lease,
                                     apr_pool_t *p);
typedef void md_watch_lease_drop_fn(void *baton, void *kept);

typedef struct md_watch_cfg_t {
    const char *ca_file;                    /* MDCACertificateFile, or NULL */
    const apr_array_header_t *notify_argv;  /* MDNotifyCmd, or NULL */
    const apr_array_header_t *message_argv; /* MDMessageCmd, or NULL */
    apr_interval_time_t notify_timeout;     /* 0: MD_NOTIFY_TIMEOUT_DEF */
    const char *program_root;               /* relative program names are under it */
    apr_interval_time_t lease_time;         /* a shared store's MD lease held by a pass
                                             * (MDStoreLeaseTime); 0: MD_WATCH_LEASE_DEF */
    md_watch_lease_keep_fn *lease_keep;     /* optional: keeps a pass's lease alive */
    md_watch_lease_drop_fn *lease_drop;
    void *lease_baton;
} md_watch_cfg_t;

/* How long a pass holds an MD's lease of a shared store by default, and
 * how long it leaves an MD alone whose lease another server holds. */
#define MD_WATCH_LEASE_DEF      apr_time_from_sec(60)

/* For the MDs of states (md_reg_state_t*, as assessed at start-up): note
 * the ARI ids of their live certificates. Allocates from p (lives as long
 * as the config cycle), the arrays of cfg are kept. Parent only, no
 * network. */
md_watch_t *md_watch_create(apr_pool_t *p, md_store_t *store, const apr_array_header_t *states,
                            const md_watch_cfg_t *cfg);

/* Once per watchdog pass and MD: tell "installed" after an activation,
 * "expiring" inside MDWarnWindow, retry failed notifications that are due,
 * and ask the CA for renewal windows whose time has come (network; bounded
 * by the CA's Retry-After). Never fails: problems are logged and retried
 * later. Watchdog thread only.
 * When there is something to do, the pass holds the MD's lease of the
 * store (md_store_lease_acquire, as a renewal does) and writes notify.json,
 * job.json and ari.json through its fenced view: in a cluster one server
 * at a time does it, and one that lost the lease meanwhile writes nothing.
 * An MD whose lease another server holds is looked at again
 * MD_WATCH_LEASE_DEF (or cfg's lease_time) later. */
void md_watch_pass(md_watch_t *w, const md_reg_state_t *st, apr_pool_t *ptemp);

/* The time picked inside the CA's ARI window for st's certificates (the
 * earliest of them), 0 while there is none or ARI does not apply
 * (md_sched_ari_applies). Whether it counts is md_sched_renew_at's to say.
 * Watchdog thread only. */
apr_time_t md_watch_ari_at(const md_watch_t *w, const md_reg_state_t *st);

/* Earliest time md_watch_pass wants to run again for some MD (an ARI
 * window to ask for, a notification to retry), 0 if none. Watchdog thread
 * only. */
apr_time_t md_watch_next_run(const md_watch_t *w);

/* A view of w for a renewal that holds the MD's lease: what its events
 * write (notify.json, job.json) goes through store, the lease's fenced
 * view (md_store_fence). Shares all else with w. From p; w NULL: NULL. */
md_watch_t *md_watch_for_store(md_watch_t *w, md_store_t *store, apr_pool_t *p);

/* Tell the programs about reason for mdname (md_notify_event). A failed
 * once-only notification is retried by later passes. Blocks while a
 * program runs. */
apr_status_t md_watch_event(md_watch_t *w, const char *mdname, const char *reason,
                            const char *key, md_result_t *result, apr_pool_t *p);

/* Is any program (MDNotifyCmd, MDMessageCmd) configured to be told? */
int md_watch_notifies(const md_watch_t *w);

/* The same; *pwhat (may be NULL) gets the MD_NOTIFY_* bits of what was done. */
apr_status_t md_watch_event_ex(md_watch_t *w, const char *mdname, const char *reason,
                               const char *key, int *pwhat, md_result_t *result,
                               apr_pool_t *p);

/* Have acme ask MDMessageCmd "challenge-setup:<type>:<domain>" for mdname
 * before each challenge is validated; a failure vetoes the attempt. What
 * was told goes into job's log (job may be NULL). The hook data is
 * allocated from p, which must outlive acme's use. */
void md_watch_attach(md_watch_t *w, md_acme_t *acme, const char *mdname, md_job_t *job,
                     apr_pool_t *p);

/* The newOrder options for md's spec at the CA of acme (set up):
 * "profile" when md->profile is offered by the CA (not offered: APR_EINVAL
 * with a clear result when MDProfileMandatory is on, otherwise logged and
 * left out), "replaces" with the ARI id of the live certificate of spec when
 * ARI is in use (MDRenewViaARI on and the CA has renewalInfo). w may be
 * NULL (no replaces). */
apr_status_t md_watch_order_opts(md_acme_order_opts_t *opts, const md_watch_t *w,
                                 const md_acme_t *acme, const md_t *md,
                                 const md_pkey_spec_t *spec, md_result_t *result,
                                 apr_pool_t *p);

#endif /* md_watch_h */
