/* A cluster of servers on one shared store (see mod_md_cluster.h).
 *
 * Process model: the parent polls the store in the monitor hook (between
 * its other work, no threads) and closes its database connections before
 * it forks children. In the renewing child, a keeper thread renews the
 * leases of the drives in progress (the drives are busy talking to the
 * CA); the list of those is guarded by keeper.mutex.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>

#include "md_crypt.h"
#include "md_job.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_static.h"
#include "md_time.h"
#include "md_util.h"
#include "mod_md_cluster.h"
#include "mod_md_runtime.h"
#include "mod_md_config.h"

APLOG_USE_MODULE(md);

#define ACCOUNT_LEASE       "@account"
#define ACCOUNT_LEASE_TTL   apr_time_from_sec(30)
#define LEASE_POLL          apr_time_from_msec(100)
#define STORE_RETRY         apr_time_from_sec(5)
#define POLL_STATE_KEY      "mod_md_cluster_poll"

struct mod_md_cluster_drive_t {
    mod_md_cluster_drive_t *next;
    mod_md_cluster_t *cluster;
    md_store_t *store;          /* the unfenced store */
    md_store_lease_t *lease;    /* the keeper writes only lease->expires */
    int lost;
};

/* This config cycle's (rt->cluster): the settings, set by the parent's
 * post_config and inherited by the children, and the lease keeper of the
 * renewing child (set up at its child_init). */
struct mod_md_cluster_t {
    apr_interval_time_t lease_ttl;
    apr_interval_time_t poll_interval;
    struct {
        apr_pool_t *p;          /* the keeper's own (unmanaged) */
        apr_thread_mutex_t *mutex;
        mod_md_cluster_drive_t *drives;
        apr_thread_t *thread;
        server_rec *s;
    } keeper;
};

static mod_md_cluster_t *cluster_of(const server_rec *s)
{
    const mod_md_runtime_t *rt = mod_md_runtime_get(s);

    return rt ? rt->cluster : NULL;
}

void mod_md_cluster_setup(mod_md_runtime_t *rt)
{
    mod_md_cluster_t *c = apr_pcalloc(rt->pconf, sizeof(*c));

    c->lease_ttl = rt->g->store_lease_time > 0 ? rt->g->store_lease_time
                                                : MOD_MD_CLUSTER_LEASE_DEFAULT;
    c->poll_interval = rt->g->store_poll_interval > 0 ? rt->g->store_poll_interval
                                                       : MOD_MD_CLUSTER_POLL_DEFAULT;
    rt->cluster = c;
}

apr_interval_time_t mod_md_cluster_lock_wait(const md_store_t *store,
                                             const mod_md_global_t *g)
{
    if (g->store_locks > 0) {
        return g->store_locks;
    }
    /* A shared store is always locked: two servers activating the same
     * staged set at once would archive it twice. */
    return (store && store->shared) ? MOD_MD_CLUSTER_LOCK_WAIT : 0;
}

int mod_md_cluster_lock_failed(const md_store_t *store, server_rec *s, apr_status_t rv,
                               apr_interval_time_t wait, apr_pool_t *p)
{
    if (!store || !store->shared) {
        return 0;
    }
    if (APR_STATUS_IS_TIMEUP(rv)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, "MD24910: another server held the "
                     "store lock for %s; starting with what the store holds, activating "
                     "nothing now (the next restart does)", md_duration_print(wait, p));
    }
    else {
        /* The store logged that its database is away (once per outage). */
        ap_log_error(APLOG_MARK, APLOG_INFO, rv, s, "MD24911: the shared store is not "
                     "reachable: serving the local copies, activating nothing now");
    }
    return 1;
}

/* --- the lease keeper (renewing child) ----------------------------------------- */

static void *APR_THREAD_FUNC keeper_main(apr_thread_t *thread, void *data)
{
    mod_md_cluster_t *c = data;
    apr_pool_t *ptemp;
    mod_md_cluster_drive_t *d;
    apr_time_t next = apr_time_now();

    (void)thread;
    apr_pool_create_unmanaged_ex(&ptemp, NULL, NULL);
    for (;;) {
        /* A third of the lease: two renewals may fail before it runs out. */
        next += c->lease_ttl / 3;
        while (apr_time_now() < next) {
            apr_sleep(LEASE_POLL);
        }
        apr_thread_mutex_lock(c->keeper.mutex);
        for (d = c->keeper.drives; d; d = d->next) {
            apr_status_t rv = md_store_lease_renew(d->store, d->lease, c->lease_ttl, ptemp);

            if (APR_STATUS_IS_EACCES(rv) && !d->lost) {
                d->lost = 1;
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, c->keeper.s,
                             "MD24901: %s: another server took the renewal over (this "
                             "one held the lease too long without renewing it); what "
                             "this server still writes for it is refused", d->lease->name);
            }
            else if (rv != APR_SUCCESS && !APR_STATUS_IS_EACCES(rv)) {
                ap_log_error(APLOG_MARK, APLOG_DEBUG, rv, c->keeper.s,
                             "MD24902: %s: renewing the lease failed, trying again",
                             d->lease->name);
            }
        }
        apr_thread_mutex_unlock(c->keeper.mutex);
        apr_pool_clear(ptemp);
    }
    return NULL;
}

static void cluster_child_init(apr_pool_t *pchild, server_rec *s)
{
    mod_md_cluster_t *c = cluster_of(s);

    (void)pchild;
    if (!c) {
        return;
    }
    memset(&c->keeper, 0, sizeof(c->keeper));
    c->keeper.s = s;
    /* Its own pool: workers of other pools run beside it. */
    if (apr_pool_create_unmanaged_ex(&c->keeper.p, NULL, NULL) != APR_SUCCESS
        || apr_thread_mutex_create(&c->keeper.mutex, APR_THREAD_MUTEX_DEFAULT, c->keeper.p)
           != APR_SUCCESS) {
        c->keeper.mutex = NULL;
    }
}

/* Have the keeper renew lease (held on store) until keeper_remove(*pd);
 * the record is made from p. */
static apr_status_t keeper_add(mod_md_cluster_drive_t **pd, mod_md_cluster_t *c,
                               md_store_t *store, md_store_lease_t *lease, apr_pool_t *p)
{
    mod_md_cluster_drive_t *d;
    apr_threadattr_t *attr;
    apr_status_t rv = APR_SUCCESS;

    *pd = NULL;
    if (!c->keeper.mutex) {
        return APR_EGENERAL;
    }
    d = apr_pcalloc(p, sizeof(*d));
    d->cluster = c;
    d->store = store;
    d->lease = lease;
    apr_thread_mutex_lock(c->keeper.mutex);
    if (!c->keeper.thread) {
        rv = apr_threadattr_create(&attr, c->keeper.p);
        if (rv == APR_SUCCESS) {
            /* Never joined: it sleeps until the process ends. */
            apr_threadattr_detach_set(attr, 1);
            rv = apr_thread_create(&c->keeper.thread, attr, keeper_main, c, c->keeper.p);
        }
    }
    if (rv == APR_SUCCESS) {
        d->next = c->keeper.drives;
        c->keeper.drives = d;
        *pd = d;
    }
    apr_thread_mutex_unlock(c->keeper.mutex);
    return rv;
}

static void keeper_remove(mod_md_cluster_t *c, mod_md_cluster_drive_t *d)
{
    mod_md_cluster_drive_t **pd;

    apr_thread_mutex_lock(c->keeper.mutex);
    for (pd = &c->keeper.drives; *pd; pd = &(*pd)->next) {
        if (*pd == d) {
            *pd = d->next;
            break;
        }
    }
    apr_thread_mutex_unlock(c->keeper.mutex);
}

/* --- renewals -------------------------------------------------------------------- */

/* Did the live certificate change since this generation assessed it (another
 * server made a new one live)? The store's view, not the local copy. */
static int live_changed(md_store_t *store, const md_reg_state_t *st, apr_pool_t *p)
{
    md_reg_state_t now;

    if (md_static_is(st->md)) {
        return 0;
    }
    md_reg_assess(&now, store, st->md, apr_time_now(), p);
    return now.has_cert != st->has_cert || now.valid_from != st->valid_from
           || now.valid_until != st->valid_until;
}

apr_status_t mod_md_cluster_drive_begin(mod_md_cluster_drive_t **pdrive, md_store_t **pstore,
                                        const mod_md_runtime_t *rt, const md_reg_state_t *st,
                                        int *pfinished, apr_time_t *pretry_at, apr_pool_t *p)
{
    mod_md_cluster_t *c = rt->cluster;
    md_store_t *store = rt->store;
    server_rec *s = rt->s;
    const char *name = st->md->name;
    md_store_lease_t *lease = NULL;
    mod_md_cluster_drive_t *d;
    md_store_t *fenced = NULL;
    md_job_t *job;
    unsigned char r = 0;
    apr_status_t rv;

    *pdrive = NULL;
    *pstore = store;
    *pfinished = 0;
    *pretry_at = 0;
    if (!store->shared) {
        return APR_SUCCESS;
    }
    md_crypt_random(&r, 1);
    rv = md_store_lease_acquire(store, name, c->lease_ttl, &lease, p);
    if (rv == APR_EAGAIN) {
        /* Look again when it would expire, a little apart from the others. */
        *pretry_at = apr_time_now() + c->lease_ttl + apr_time_from_msec(r * 4);
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "MD24903: %s: %s is renewing it "
                     "(lease epoch %" APR_INT64_T_FMT ")", name,
                     lease && lease->node ? lease->node : "another server",
                     lease ? lease->epoch : 0);
        return APR_EAGAIN;
    }
    if (rv != APR_SUCCESS) {
        *pretry_at = apr_time_now() + STORE_RETRY;
        ap_log_error(APLOG_MARK, APLOG_DEBUG, rv, s, "MD24904: %s: cannot take the renewal "
                     "lease now (the store is not available)", name);
        return APR_EAGAIN;
    }
    if ((rv = md_store_fence(store, lease, &fenced, p)) != APR_SUCCESS) {
        goto skip;
    }
    job = md_job_create(p, name);
    if (md_job_load(job, fenced, p) == APR_SUCCESS && job->finished) {
        /* Staged by another server while this one waited. */
        *pfinished = 1;
        rv = APR_EAGAIN;
        goto skip;
    }
    if (live_changed(fenced, st, p)) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "MD24905: %s: another server made a new "
                     "certificate live; this one uses it after its next restart", name);
        *pretry_at = apr_time_now() + c->poll_interval + c->lease_ttl;
        rv = APR_EAGAIN;
        goto skip;
    }
    if ((rv = keeper_add(&d, c, store, lease, p)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "MD24906: %s: cannot start renewing the "
                     "lease; not renewing now", name);
        *pretry_at = apr_time_now() + STORE_RETRY;
        goto skip;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "MD24907: %s: this server (%s) renews it, "
                 "lease epoch %" APR_INT64_T_FMT, name, store->node, lease->epoch);
    *pdrive = d;
    *pstore = fenced;
    return APR_SUCCESS;
skip:
    md_store_lease_release(store, lease, p);
    return rv == APR_SUCCESS ? APR_EAGAIN : rv;
}

void mod_md_cluster_drive_end(mod_md_cluster_drive_t *d)
{
    apr_pool_t *ptemp;

    if (!d) {
        return;
    }
    keeper_remove(d->cluster, d);
    if (apr_pool_create_unmanaged_ex(&ptemp, NULL, NULL) == APR_SUCCESS) {
        md_store_lease_release(d->store, d->lease, ptemp);
        apr_pool_destroy(ptemp);
    }
}

/* --- a watchdog pass's lease (md_watch_cfg_t's lease_keep) ---------------------------- */

void *mod_md_cluster_lease_keep(void *baton, md_store_t *store, md_store_lease_t *lease,
                                apr_pool_t *p)
{
    mod_md_cluster_t *c = baton;
    mod_md_cluster_drive_t *d;

    if (!c || !store->shared || !lease) {
        return NULL;
    }
    if (keeper_add(&d, c, store, lease, p) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, c->keeper.s, "MD24912: %s: cannot keep the "
                     "lease of this pass alive; it runs within the lease time",
                     lease->name);
        return NULL;
    }
    return d;
}

void mod_md_cluster_lease_drop(void *baton, void *kept)
{
    mod_md_cluster_drive_t *d = kept;

    (void)baton;
    if (d) {
        keeper_remove(d->cluster, d);
    }
}

/* --- one ACME account for the cluster ----------------------------------------------- */

typedef struct {
    md_store_t *store;
    server_rec *s;
    apr_pool_t *p;              /* used under the share's mutex only */
    md_store_lease_t *lease;
} account_lock_t;

static apr_status_t account_lock(void *baton, int lock)
{
    account_lock_t *al = baton;
    apr_time_t until = apr_time_now() + MOD_MD_CLUSTER_ACCOUNT_WAIT;
    apr_status_t rv;

    if (!lock) {
        if (al->lease && al->lease->mine) {
            md_store_lease_release(al->store, al->lease, al->p);
        }
        al->lease = NULL;
        apr_pool_clear(al->p);
        return APR_SUCCESS;
    }
    for (;;) {
        rv = md_store_lease_acquire(al->store, ACCOUNT_LEASE, ACCOUNT_LEASE_TTL, &al->lease,
                                    al->p);
        if (rv != APR_EAGAIN || apr_time_now() >= until) {
            break;
        }
        apr_sleep(LEASE_POLL);
    }
    if (rv != APR_SUCCESS) {
        /* Going on alone risks a second account, not a wrong one. */
        ap_log_error(APLOG_MARK, APLOG_INFO, rv, al->s, "MD24908: choosing the ACME account "
                     "without the cluster's account lease (%s)",
                     rv == APR_EAGAIN ? "another server kept it" : "store not available");
        al->lease = NULL;
    }
    return rv;
}

void mod_md_cluster_share_setup(md_drive_share_t *share, md_store_t *store, server_rec *s)
{
    account_lock_t *al;
    apr_pool_t *p;

    if (!share || !store->shared || apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS) {
        return;
    }
    al = apr_pcalloc(p, sizeof(*al));
    al->store = store;
    al->s = s;
    apr_pool_create(&al->p, p);
    md_drive_share_set_outer_lock(share, account_lock, al);
}

/* --- the parent's poll ------------------------------------------------------------- */

typedef struct {
    apr_pool_t *p;              /* the process pool: parent only, one thread */
    apr_time_t last_poll;
    apr_hash_t *reported;       /* name -> apr_int64_t*: version last reported changed */
    apr_hash_t *restarted_for;  /* name -> apr_int64_t*: version a restart was made for */
} poll_state_t;

/* Lives in the process pool: the module is loaded again at every restart. */
static poll_state_t *poll_state(server_rec *s)
{
    apr_pool_t *pproc = s->process->pool;
    void *data = NULL;
    poll_state_t *ps;

    apr_pool_userdata_get(&data, POLL_STATE_KEY, pproc);
    if (data) {
        return data;
    }
    ps = apr_pcalloc(pproc, sizeof(*ps));
    ps->p = pproc;
    ps->reported = apr_hash_make(pproc);
    ps->restarted_for = apr_hash_make(pproc);
    apr_pool_userdata_set(ps, POLL_STATE_KEY, apr_pool_cleanup_null, pproc);
    return ps;
}

static void version_set(poll_state_t *ps, apr_hash_t *h, const char *name, apr_int64_t v)
{
    apr_int64_t *pv = apr_hash_get(h, name, APR_HASH_KEY_STRING);

    if (!pv) {
        pv = apr_palloc(ps->p, sizeof(*pv));
        apr_hash_set(h, apr_pstrdup(ps->p, name), APR_HASH_KEY_STRING, pv);
    }
    *pv = v;
}

int mod_md_cluster_poll_due(md_store_t *store, server_rec *s, apr_time_t now)
{
    const mod_md_cluster_t *c = cluster_of(s);
    poll_state_t *ps;

    if (!store || !store->shared || !c) {
        return 1;
    }
    ps = poll_state(s);
    if (ps->last_poll && now - ps->last_poll < c->poll_interval) {
        return 0;
    }
    ps->last_poll = now;
    return 1;
}

void mod_md_cluster_changed(apr_array_header_t *ready, apr_time_t *pnewest, md_store_t *store,
                            apr_hash_t *states, server_rec *s, apr_pool_t *ptemp)
{
    apr_array_header_t *changes = NULL;
    poll_state_t *ps;
    int i;

    if (!store || !store->shared
        || md_store_changes(store, MD_SG_DOMAINS, &changes, ptemp) != APR_SUCCESS) {
        return;
    }
    ps = poll_state(s);
    for (i = 0; i < changes->nelts; ++i) {
        const md_store_change_t *c = MD_ARR_IDX(changes, i, const md_store_change_t *);
        apr_int64_t *done = apr_hash_get(ps->restarted_for, c->name, APR_HASH_KEY_STRING);

        if (!apr_hash_get(states, c->name, APR_HASH_KEY_STRING)
            || (done && *done == c->version)) {
            continue;   /* not ours, or restarted for it already */
        }
        version_set(ps, ps->reported, c->name, c->version);
        if (md_array_str_index(ready, c->name, 0, 1) < 0) {
            APR_ARRAY_PUSH(ready, const char *) = apr_pstrdup(ptemp, c->name);
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "MD24909: %s: another server made a "
                         "new certificate set live", c->name);
        }
        if (c->mtime > *pnewest) {
            *pnewest = c->mtime;
        }
    }
}

void mod_md_cluster_restarting(const apr_array_header_t *ready, server_rec *s)
{
    poll_state_t *ps = poll_state(s);
    int i;

    for (i = 0; i < ready->nelts; ++i) {
        const char *name = MD_ARR_IDX(ready, i, const char *);
        apr_int64_t *v = apr_hash_get(ps->reported, name, APR_HASH_KEY_STRING);

        if (v) {
            version_set(ps, ps->restarted_for, name, *v);
        }
    }
}

/* --- start-up ---------------------------------------------------------------------- */

/* After everyone (mod_ssl copied its files): no database connection of
 * the parent may live on in the children it forks. */
static int cluster_post_config_last(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                                    server_rec *s)
{
    mod_md_runtime_t *rt = mod_md_runtime_get(s);

    (void)pconf;
    (void)plog;
    (void)ptemp;
    if (rt && rt->store) {
        md_store_idle(rt->store);
    }
    return OK;
}

/* --- status ------------------------------------------------------------------------ */

static json_t *lease_json(const md_store_lease_t *l, apr_pool_t *p)
{
    json_t *j = json_object();

    json_object_set_new(j, "node", l->held && l->node ? json_string(l->node) : json_null());
    json_object_set_new(j, "epoch", json_integer(l->epoch));
    json_object_set_new(j, "held", json_boolean(l->held));
    if (l->held && l->expires > 0) {
        json_object_set_new(j, "expires", json_string(md_time_format_http(l->expires, p)));
    }
    return j;
}

static void add_lease(json_t *mdj, apr_hash_t *by_name, apr_pool_t *p)
{
    const char *name = md_json_get_str(mdj, MD_KEY_NAME);
    const md_store_lease_t *l = name ? apr_hash_get(by_name, name, APR_HASH_KEY_STRING) : NULL;

    if (l) {
        json_object_set_new(mdj, "lease", lease_json(l, p));
    }
}

void mod_md_cluster_status_json(json_t *doc, md_store_t *store, apr_pool_t *p)
{
    apr_array_header_t *leases = NULL;
    apr_hash_t *by_name = apr_hash_make(p);
    json_t *mds, *sj;
    apr_status_t rv;
    size_t i;

    if (!doc || !store || !store->shared) {
        return;
    }
    rv = md_store_lease_list(store, &leases, p);
    for (i = 0; rv == APR_SUCCESS && i < (size_t)leases->nelts; ++i) {
        const md_store_lease_t *l = MD_ARR_IDX(leases, i, const md_store_lease_t *);
        apr_hash_set(by_name, l->name, APR_HASH_KEY_STRING, l);
    }
    mds = json_object_get(doc, MD_KEY_MANAGED_DOMAINS);
    if (!json_is_array(mds)) {
        add_lease(doc, by_name, p);
        return;
    }
    for (i = 0; i < json_array_size(mds); ++i) {
        add_lease(json_array_get(mds, i), by_name, p);
    }
    sj = json_object();
    json_object_set_new(sj, "backend", json_string(store->backend ? store->backend : ""));
    json_object_set_new(sj, "node", json_string(store->node ? store->node : ""));
    json_object_set_new(sj, "reachable", json_boolean(rv == APR_SUCCESS));
    json_object_set_new(doc, "store", sj);
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static const char *label(const char *s, apr_pool_t *p)
{
    char *out, *o;

    s = md_util_str_printable(p, s ? s : "", 256);
    o = out = apr_palloc(p, strlen(s) * 2 + 1);
    for (; *s; ++s) {
        if (*s == '\\' || *s == '"') {
            *o++ = '\\';
        }
        *o++ = *s;
    }
    *o = '\0';
    return out;
}

void mod_md_cluster_metrics(request_rec *r, md_store_t *store)
{
    apr_array_header_t *leases = NULL;
    apr_status_t rv;
    int i;

    if (!store || !store->shared) {
        return;
    }
    rv = md_store_lease_list(store, &leases, r->pool);
    ap_rputs("# HELP md_store_up 1 if the shared store answered this request.\n"
             "# TYPE md_store_up gauge\n", r);
    ap_rprintf(r, "md_store_up{backend=\"%s\",node=\"%s\"} %d\n",
               label(store->backend, r->pool), label(store->node, r->pool),
               rv == APR_SUCCESS);
    if (rv != APR_SUCCESS) {
        return;
    }
    ap_rputs("# HELP md_store_lease_held 1 while the node holds the lease (an MD's renewal, "
             "or @store/@account).\n# TYPE md_store_lease_held gauge\n", r);
    for (i = 0; i < leases->nelts; ++i) {
        const md_store_lease_t *l = MD_ARR_IDX(leases, i, const md_store_lease_t *);
        ap_rprintf(r, "md_store_lease_held{name=\"%s\",node=\"%s\"} %d\n",
                   label(l->name, r->pool), label(l->held ? l->node : "", r->pool), l->held);
    }
    ap_rputs("# HELP md_store_lease_epoch Epoch (fencing token) of the lease: how often it "
             "was taken.\n# TYPE md_store_lease_epoch gauge\n", r);
    for (i = 0; i < leases->nelts; ++i) {
        const md_store_lease_t *l = MD_ARR_IDX(leases, i, const md_store_lease_t *);
        ap_rprintf(r, "md_store_lease_epoch{name=\"%s\"} %" APR_INT64_T_FMT "\n",
                   label(l->name, r->pool), l->epoch);
    }
}

void mod_md_cluster_register_hooks(void)
{
    ap_hook_post_config(cluster_post_config_last, NULL, NULL, APR_HOOK_REALLY_LAST);
    ap_hook_child_init(cluster_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}
