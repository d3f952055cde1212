/* The MDs at start-up, on a thread beside mod_ssl's post_config (see
 * mod_md_start.h).
 *
 * Process model (STYLE §12): the parent reads the config and the store
 * here, activates staged certificates and assesses the MDs as root; it
 * never touches the network and never generates keys per MD.
 */
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <unixd.h>

#include "md.h"
#include "md_credmemo.h"
#include "md_http.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_reg.h"
#include "md_static.h"
#include "md_status.h"
#include "md_store.h"
#include "md_util.h"
#include "mod_md_activate.h"
#include "mod_md_challenges.h"
#include "mod_md_cluster.h"
#include "mod_md_config.h"
#include "mod_md_start.h"

APLOG_USE_MODULE(md);

/* One MD's start: rt->states hands out &started->st. */
typedef struct {
    md_reg_state_t st;              /* first: a state converts back to its started_md_t */
    int wants_fallback;             /* an SSL vhost without certificate files uses it */
    int done;                       /* started (under the start's mutex) */
    apr_array_header_t *cert_files; /* made ahead for mod_ssl, NULL: nothing */
    apr_array_header_t *key_files;
    md_status_snap_t *snap;         /* what md-status shows of it */
} started_md_t;

struct mod_md_start_t {
    mod_md_runtime_t *rt;
    apr_hash_t *used;               /* name -> md_t*: MDs some vhost uses */
    int locked;                     /* the store may be written */
    started_md_t *mds;              /* [rt->g->mds->nelts], in config order */
    int count;
    int *order;                     /* indices into mds, in the order mod_ssl asks */
    apr_pool_t *p;                  /* the work's results: as long as pconf */
    apr_pool_t *ptemp;              /* the work's scratch, gone when it ends */
    md_store_t *store;              /* the store object the work uses */
    apr_thread_t *thread;           /* NULL: worked through inline (or joined) */
    apr_thread_mutex_t *mutex;      /* guards mds[].done */
    apr_thread_cond_t *cond;        /* signalled when an MD is done */
    apr_time_t began;               /* when the work began */
    apr_time_t took;                /* how long it took (set by the work) */
    apr_interval_time_t waited;     /* the main thread waited for it (main thread's) */
};

/* --- the store ------------------------------------------------------------------ */

/* The watchdog child runs as User and writes accounts, challenges and
 * staging: they are its (again after activation, which may add accounts). */
static void hand_to_user(md_store_t *store, apr_pool_t *p)
{
    if (geteuid() == 0) {
        store->ops->set_owner(store, (int)ap_unixd_config.user_id,
                              (int)ap_unixd_config.group_id, p);
    }
}

static apr_status_t open_store(md_store_t **pstore, server_rec *s, mod_md_global_t *g,
                               apr_pool_t *p)
{
    apr_status_t rv = md_store_open(pstore, g->store_backend, g->store_backend_args,
                                    g->store_dir, p);

    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "MD11005: cannot open the certificate store at %s (MDStoreDir%s%s)",
                     g->store_dir, g->store_backend ? ", MDStoreBackend " : "",
                     g->store_backend ? g->store_backend : "");
    }
    return rv;
}

/* MDStoreLocks: servers sharing a store (on a network file system) take
 * turns syncing and activating. Without the lock in time, this start
 * serves what the store holds and changes nothing. Returns whether the
 * store may be written. */
static int lock_store(md_store_t *store, server_rec *s, const mod_md_global_t *g,
                      apr_pool_t *ptemp)
{
    const char *fname = NULL;
    apr_interval_time_t wait = mod_md_cluster_lock_wait(store, g);
    apr_status_t rv;

    if (wait <= 0) {
        return 1;
    }
    rv = md_store_lock(store, wait, ptemp);
    if (rv == APR_SUCCESS) {
        return 1;
    }
    if (mod_md_cluster_lock_failed(store, s, rv, wait, ptemp)) {
        return 0;
    }
    md_store_get_fname(store, MD_SG_NONE, NULL, MD_FN_STORE_LOCK, &fname, ptemp);
    ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                 "MD11012: %s: %s within %s (MDStoreLocks); another server using this "
                 "store is holding it. Starting without syncing the store or activating "
                 "staged certificates: they will be activated at the next restart",
                 fname ? fname : g->store_dir,
                 APR_STATUS_IS_TIMEUP(rv) ? "could not get the store lock"
                                          : "could not lock the store",
                 md_duration_print(wait, ptemp));
    return 0;
}

/* --- one MD ------------------------------------------------------------------------ */

/* Activate what is staged, assess the live certificates, bring md.json up
 * to date. Keep going: one bad MD must not stop the others. Activation
 * first, so that sync learns the account of a new certificate; sync keeps
 * what it learns in md, so it gets the results' pool. Sync after the
 * assessment: md.json records the state and why, as the stock module's
 * does. Without the store lock (MDStoreLocks) nothing is written. */
static void start_md(mod_md_start_t *sx, started_md_t *sm, md_t *md, apr_pool_t *ptemp)
{
    mod_md_runtime_t *rt = sx->rt;
    md_reg_state_t *st = &sm->st;
    int activated = 0;

    if (sx->locked
        && !mod_md_activate_delayed(sx->store, md, rt->g->activation_delay, apr_time_now(),
                                    ptemp)) {
        /* MDActivationDelay holds a new certificate back, also from a
         * restart made by hand. */
        md_reg_activate_staged(sx->store, md, &activated, ptemp);
    }
    if (md_static_is(md)) {
        md_static_assess(st, sx->store, md, apr_time_now(), sx->p);
    }
    else {
        md_reg_assess_memo(st, sx->store, md, apr_time_now(), rt->cred_memo, sx->p);
    }
    st->activated = activated;
    /* As the stock module: what no virtual host uses is not renewed,
     * unless the admin says always. */
    st->watched = md->renew_mode == MD_RENEW_ALWAYS
                  || apr_hash_get(sx->used, md->name, APR_HASH_KEY_STRING) != NULL;
    md->state = st->state;
    md->state_descr = st->state_descr;
    if (sx->locked) {
        md_reg_sync_memo(sx->store, md, rt->cred_memo, sx->p);
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, rt->s, "MD11007: %s: %s%s%s", md->name,
                 st->has_cert ? "certificate present" : "no usable certificate",
                 st->state_descr ? ": " : "", st->state_descr ? st->state_descr : "");
}

/* The shared fallback key of a type, loaded (or made) once per config pass
 * into p. */
static md_pkey_t *fallback_key(mod_md_runtime_t *rt, md_store_t *store, md_pkey_type_t type,
                               apr_pool_t *p)
{
    md_pkey_t **pkey = type == MD_PKEY_TYPE_EC ? &rt->fallback_key : &rt->fallback_rsa_key;

    if (!*pkey && md_reg_fallback_key_of(pkey, store, type, p) != APR_SUCCESS) {
        *pkey = NULL;
    }
    return *pkey;
}

/* One fallback per key type the MD is configured for (EC, RSA), as the stock
 * module makes one per key spec: a client that takes only RSA (or only
 * ECDSA) completes its handshake whichever the MD's certificates will be.
 * Paths from p, the key from kp, scratch from ptemp. */
static int make_fallbacks(mod_md_runtime_t *rt, md_store_t *store, const md_t *md,
                          apr_array_header_t *cert_files, apr_array_header_t *key_files,
                          apr_pool_t *p, apr_pool_t *kp, apr_pool_t *ptemp)
{
    const apr_array_header_t *specs = md_pkey_specs(md, ptemp);
    int i, have_ec = 0, have_rsa = 0;

    for (i = 0; i < specs->nelts; ++i) {
        md_pkey_type_t type = MD_ARR_IDX(specs, i, const md_pkey_spec_t *)->type;
        int *have = type == MD_PKEY_TYPE_EC ? &have_ec : &have_rsa;
        const char *keyfile, *certfile;
        md_pkey_t *pkey;

        if (*have || !(pkey = fallback_key(rt, store, type, kp))
            || md_reg_fallback_files(&keyfile, &certfile, store, md, pkey, rt->cred_memo, p)
               != APR_SUCCESS) {
            continue;
        }
        *have = 1;
        APR_ARRAY_PUSH(cert_files, const char *) = certfile;
        APR_ARRAY_PUSH(key_files, const char *) = keyfile;
    }
    return have_ec || have_rsa;
}

int mod_md_start_fallbacks(mod_md_runtime_t *rt, const md_reg_state_t *st,
                           apr_array_header_t *cert_files, apr_array_header_t *key_files,
                           apr_pool_t *p)
{
    apr_pool_t *kp = rt->start ? rt->start->p : p;

    mod_md_start_join(rt);
    return make_fallbacks(rt, rt->store, st->md, cert_files, key_files, p, kp, p);
}

/* What mod_ssl will ask for the MD, made now: the live files of each key
 * type with a usable certificate, or the fallbacks when an SSL vhost
 * without certificate files of its own uses the MD. */
static void prepare_files(mod_md_start_t *sx, started_md_t *sm, apr_pool_t *ptemp)
{
    const md_reg_state_t *st = &sm->st;
    apr_array_header_t *certs, *keys;
    int i;

    if (md_static_is(st->md) || (!st->has_cert && !sm->wants_fallback)) {
        return;     /* the admin's files (mod_md_certs.c), or nothing to make */
    }
    certs = apr_array_make(sx->p, 2, sizeof(const char *));
    keys = apr_array_make(sx->p, 2, sizeof(const char *));
    if (!st->has_cert) {
        if (!make_fallbacks(sx->rt, sx->store, st->md, certs, keys, sx->p, sx->p, ptemp)) {
            return;
        }
    }
    for (i = 0; st->has_cert && i < st->present_specs->nelts; ++i) {
        const char *keyfile, *certfile;

        if (md_reg_cred_files(&keyfile, &certfile, sx->store, st->md,
                              MD_ARR_IDX(st->present_specs, i, const md_pkey_spec_t *),
                              sx->p) != APR_SUCCESS) {
            return;
        }
        APR_ARRAY_PUSH(certs, const char *) = certfile;
        APR_ARRAY_PUSH(keys, const char *) = keyfile;
    }
    sm->cert_files = certs;
    sm->key_files = keys;
}

/* --- all of them ------------------------------------------------------------------- */

static void md_done(mod_md_start_t *sx, started_md_t *sm)
{
    if (!sx->mutex) {
        sm->done = 1;
        return;
    }
    apr_thread_mutex_lock(sx->mutex);
    sm->done = 1;
    apr_thread_cond_broadcast(sx->cond);
    apr_thread_mutex_unlock(sx->mutex);
}

/* The work, on the thread or inline. Its scratch pool goes at the end: with
 * it the batch's directories, which no child may inherit. */
static void start_all(mod_md_start_t *sx)
{
    mod_md_runtime_t *rt = sx->rt;
    mod_md_global_t *g = rt->g;
    apr_pool_t *pmd;
    int i, activated = 0;

    md_store_batch_begin(sx->store, sx->ptemp);
    hand_to_user(sx->store, sx->ptemp);
    if (sx->locked) {
        md_reg_sync_renames(sx->store, g->mds, sx->ptemp);
        /* A shared store: other servers may work on MDs this one does not
         * have (a configuration being rolled out), leave those alone. */
        if (!sx->store->shared) {
            md_reg_cleanup_stale(sx->store, g->mds, sx->ptemp);
        }
    }
    apr_pool_create(&pmd, sx->ptemp);
    for (i = 0; i < sx->count; ++i) {
        started_md_t *sm = &sx->mds[sx->order[i]];

        start_md(sx, sm, MD_ARR_IDX(g->mds, sx->order[i], md_t *), pmd);
        prepare_files(sx, sm, pmd);
        /* Here, where the batch holds the MD's directory open: made later,
         * each snapshot would walk the store from its base again. */
        sm->snap = md_status_snap_make(sx->store, &sm->st, sx->p);
        apr_pool_clear(pmd);
        activated |= sm->st.activated;
        md_done(sx, sm);
    }
    if (sx->locked) {
        /* An activation may have added an account (as root); nothing
         * else of this pass writes into the User's directories (renames
         * keep owners), so without one the walk above stands. */
        if (activated) {
            hand_to_user(sx->store, sx->ptemp);
        }
        /* The lock is rt->store's, which only this thread locks or unlocks
         * while it runs. */
        if (mod_md_cluster_lock_wait(rt->store, g) > 0) {
            md_store_unlock(rt->store, sx->ptemp);
        }
    }
    apr_pool_destroy(sx->ptemp);
    sx->ptemp = NULL;
    sx->took = apr_time_now() - sx->began;
}

static void *APR_THREAD_FUNC start_thread(apr_thread_t *thread, void *data)
{
    start_all(data);
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

static apr_status_t destroy_pool(void *data)
{
    apr_pool_destroy(data);
    return APR_SUCCESS;
}

static apr_status_t join_on_cleanup(void *data)
{
    mod_md_start_join(data);
    return APR_SUCCESS;
}

/* The order of the work is the order in which mod_ssl will ask: its
 * servers' (httpd lists vhosts in the reverse of the config's order), then
 * the MDs no server has. And which MDs mod_ssl will want a fallback for, as
 * far as the config tells: wrong guesses cost an unused fallback file, or
 * one made on demand. */
static void plan_work(mod_md_start_t *sx)
{
    mod_md_runtime_t *rt = sx->rt;
    apr_hash_t *pos = apr_hash_make(sx->ptemp);
    char *placed = apr_pcalloc(sx->ptemp, (apr_size_t)sx->count + 1);
    server_rec *s;
    int i, n = 0;

    sx->order = apr_pcalloc(sx->p, ((apr_size_t)sx->count + 1) * sizeof(int));
    for (i = 0; i < sx->count; ++i) {
        apr_hash_set(pos, sx->mds[i].st.md->name, APR_HASH_KEY_STRING, &sx->mds[i]);
    }
    for (s = rt->s; s; s = s->next) {
        const md_t *md = mod_md_server_md(rt, s);
        started_md_t *sm = md ? apr_hash_get(pos, md->name, APR_HASH_KEY_STRING) : NULL;

        if (!sm) {
            continue;
        }
        if (!placed[sm - sx->mds]) {
            placed[sm - sx->mds] = 1;
            sx->order[n++] = (int)(sm - sx->mds);
        }
        if (!mod_md_server_other_md(rt, s) && mod_md_config_server_has_ssl(s)
            && !mod_md_config_server_has_cert_file(s)) {
            sm->wants_fallback = 1;
        }
    }
    for (i = 0; i < sx->count; ++i) {
        if (!placed[i]) {
            sx->order[n++] = i;
        }
    }
}

/* The results' pool lives as long as pconf, the scratch pool until the work
 * ends; both have allocators of their own, so the thread never allocates
 * from a pool the main thread uses. */
static apr_status_t make_pools(mod_md_start_t *sx, apr_pool_t *pconf)
{
    apr_status_t rv = apr_pool_create_unmanaged_ex(&sx->p, NULL, NULL);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_pool_cleanup_register(pconf, sx->p, destroy_pool, apr_pool_cleanup_null);
    rv = apr_pool_create_unmanaged_ex(&sx->ptemp, NULL, NULL);
    if (rv == APR_SUCCESS) {
        apr_pool_tag(sx->p, "md_start");
        apr_pool_tag(sx->ptemp, "md_start_temp");
    }
    return rv;
}

/* A thread with a store object of its own; 0: work inline. The thread pays
 * when the pass parses or makes files: on a store it has not seen, or with
 * new MDs (fewer memo entries than MDs). On a known store the work is about
 * 0.1 ms per MD, and a second thread in OpenSSL's shared locks slows
 * mod_ssl by more than that (measured: bench/README.md, session 5). */
static int start_thread_for(mod_md_start_t *sx, apr_pool_t *ptemp)
{
    mod_md_runtime_t *rt = sx->rt;
    mod_md_global_t *g = rt->g;
    apr_threadattr_t *attr;
    md_store_t *own;

    if (rt->store->shared || sx->count < 2
        || md_credmemo_count(rt->cred_memo) >= (unsigned int)sx->count
        || apr_thread_mutex_create(&sx->mutex, APR_THREAD_MUTEX_DEFAULT, sx->p) != APR_SUCCESS
        || apr_thread_cond_create(&sx->cond, sx->p) != APR_SUCCESS
        || md_store_open(&own, g->store_backend, g->store_backend_args, g->store_dir,
                         sx->p) != APR_SUCCESS) {
        sx->mutex = NULL;
        return 0;
    }
    sx->store = own;
    apr_pool_pre_cleanup_register(ptemp, rt, join_on_cleanup);
    if (apr_threadattr_create(&attr, sx->p) != APR_SUCCESS
        || apr_thread_create(&sx->thread, attr, start_thread, sx, sx->p) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, rt->s,
                     "MD11013: starting the MDs without a thread of their own");
        sx->thread = NULL;
        sx->mutex = NULL;
        sx->store = rt->store;
        return 0;
    }
    return 1;
}

apr_status_t mod_md_start_begin(mod_md_runtime_t *rt, apr_hash_t *used, apr_pool_t *ptemp)
{
    mod_md_global_t *g = rt->g;
    mod_md_start_t *sx;
    int i;

    if (md_http_global_init() != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, rt->s, "MD11006: cannot initialize libcurl");
        return APR_EGENERAL;
    }
    sx = apr_pcalloc(rt->pconf, sizeof(*sx));
    sx->rt = rt;
    sx->used = used;
    sx->count = g->mds->nelts;
    if (open_store(&rt->store, rt->s, g, rt->pconf) != APR_SUCCESS
        || make_pools(sx, rt->pconf) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    sx->store = rt->store;
    rt->start = sx;
    /* Per pass: httpd unloads and reloads the module between passes, so
     * nothing of ours (not even libjansson's hash seed) survives in memory
     * from one to the next. */
    rt->cred_memo = md_credmemo_create(sx->p);
    rt->states = apr_hash_make(rt->pconf);
    rt->state_list = apr_array_make(rt->pconf, sx->count, sizeof(md_reg_state_t *));
    sx->mds = apr_pcalloc(sx->p, (apr_size_t)(sx->count ? sx->count : 1) * sizeof(*sx->mds));
    for (i = 0; i < sx->count; ++i) {
        started_md_t *sm = &sx->mds[i];

        sm->st.md = MD_ARR_IDX(g->mds, i, md_t *);
        apr_hash_set(rt->states, sm->st.md->name, APR_HASH_KEY_STRING, &sm->st);
        APR_ARRAY_PUSH(rt->state_list, md_reg_state_t *) = &sm->st;
    }
    plan_work(sx);
    mod_md_challenges_setup(rt, ptemp);
    sx->locked = lock_store(rt->store, rt->s, g, ptemp);
    rt->cred_memo_save = sx->locked;
    /* Servers sharing a store on a network file system (MDStoreLocks) see
     * cached file attributes: there, every file is read. */
    md_credmemo_begin(rt->cred_memo, rt->store,
                      !rt->store->shared && mod_md_cluster_lock_wait(rt->store, g) <= 0, ptemp);
    sx->began = apr_time_now();
    if (!start_thread_for(sx, ptemp)) {
        start_all(sx);
    }
    return APR_SUCCESS;
}

void mod_md_start_wait(const mod_md_runtime_t *rt, const md_reg_state_t *st)
{
    mod_md_start_t *sx = rt ? rt->start : NULL;
    const started_md_t *sm = (const started_md_t *)st;

    if (!sx || !sx->thread || !st) {
        return;
    }
    apr_thread_mutex_lock(sx->mutex);
    if (!sm->done) {
        apr_time_t t0 = apr_time_now();

        while (!sm->done) {
            apr_thread_cond_wait(sx->cond, sx->mutex);
        }
        sx->waited += apr_time_now() - t0;
    }
    apr_thread_mutex_unlock(sx->mutex);
}

int mod_md_start_files(const mod_md_runtime_t *rt, const md_reg_state_t *st,
                       apr_array_header_t *cert_files, apr_array_header_t *key_files)
{
    const started_md_t *sm = (const started_md_t *)st;

    mod_md_start_wait(rt, st);
    if (!sm->cert_files || sm->cert_files->nelts == 0) {
        return 0;
    }
    apr_array_cat(cert_files, sm->cert_files);
    apr_array_cat(key_files, sm->key_files);
    return 1;
}

md_status_snap_t *mod_md_start_snap(const md_reg_state_t *st)
{
    return st ? ((const started_md_t *)st)->snap : NULL;
}

void mod_md_start_join(mod_md_runtime_t *rt)
{
    mod_md_start_t *sx = rt ? rt->start : NULL;
    apr_status_t rv;

    if (sx && sx->thread) {
        apr_thread_join(&rv, sx->thread);
        sx->thread = NULL;
    }
}

void mod_md_start_end(mod_md_runtime_t *rt, apr_pool_t *ptemp)
{
    mod_md_start_t *sx = rt ? rt->start : NULL;

    if (!sx) {
        return;
    }
    mod_md_start_join(rt);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, rt->s,
                 "MD11014: %d MDs started in %" APR_TIME_T_FMT " ms%s, mod_ssl waited %"
                 APR_TIME_T_FMT " ms for them", sx->count, apr_time_as_msec(sx->took),
                 sx->mutex ? " beside mod_ssl" : "", apr_time_as_msec(sx->waited));
    /* mod_ssl has asked for all certificates and fallbacks of this pass */
    md_credmemo_end(rt->cred_memo, rt->store, rt->cred_memo_save, ptemp);
#ifdef __GLIBC__
    /* The work's scratch (the thread's malloc arena, the memo's text and
     * the pass's maps) is free now but kept by malloc: give it back before
     * the children inherit it. */
    malloc_trim(0);
#endif
    rt->start = NULL;
}
