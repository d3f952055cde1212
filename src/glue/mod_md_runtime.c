/* The generation's runtime (see mod_md_runtime.h): built by post_config in
 * the parent before mod_ssl's, which asks for our certificates there.
 *
 * Process model (STYLE §12): the parent reads the config and the store
 * here, activates staged certificates and assesses the MDs as root; it
 * never touches the network and never generates keys per MD. The glue
 * parts get the runtime from here and set up their own state in it.
 */
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <unixd.h>

#include "md.h"
#include "md_credmemo.h"
#include "md_dns.h"
#include "md_http.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_reg.h"
#include "md_static.h"
#include "md_store.h"
#include "md_util.h"
#include "mod_md_activate.h"
#include "mod_md_challenges.h"
#include "mod_md_cluster.h"
#include "mod_md_config.h"
#include "mod_md_drive.h"
#include "mod_md_ocsp.h"
#include "mod_md_runtime.h"
#include "mod_md_status.h"

APLOG_USE_MODULE(md);

/* --- finding it -------------------------------------------------------------- */

mod_md_runtime_t *mod_md_runtime_get(const server_rec *s)
{
    md_srv_conf_t *sc = s ? mod_md_config_get(s) : NULL;

    return sc ? sc->global->runtime : NULL;
}

const md_t *mod_md_server_md(const mod_md_runtime_t *rt, const server_rec *s)
{
    return rt && rt->server_mds ? apr_hash_get(rt->server_mds, &s, sizeof(s)) : NULL;
}

const md_t *mod_md_server_other_md(const mod_md_runtime_t *rt, const server_rec *s)
{
    return rt && rt->server_other_mds ? apr_hash_get(rt->server_other_mds, &s, sizeof(s))
                                      : NULL;
}

md_reg_state_t *mod_md_server_state(const mod_md_runtime_t *rt, const server_rec *s)
{
    const md_t *md = mod_md_server_md(rt, s);

    return md ? apr_hash_get(rt->states, md->name, APR_HASH_KEY_STRING) : NULL;
}

md_reg_state_t *mod_md_host_state(const mod_md_runtime_t *rt, const server_rec *s,
                                  const char *host, apr_pool_t *p)
{
    const md_t *md = rt && rt->names && host ? md_name_index_find(rt->names, host, p) : NULL;

    if (!md || (md != mod_md_server_md(rt, s) && md != mod_md_server_other_md(rt, s))) {
        return NULL;
    }
    return apr_hash_get(rt->states, md->name, APR_HASH_KEY_STRING);
}

int mod_md_runtime_dry_run(void)
{
    return ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG;
}

/* --- core logging into httpd's error log (baton: the base server) ------------- */

static int log_is_level(void *baton, md_log_level_t level)
{
    const server_rec *s = baton;

    return s && APLOG_IS_LEVEL(s, (int)level);
}

static void log_print(const char *file, int line, md_log_level_t level, apr_status_t rv,
                      void *baton, const char *msg)
{
    ap_log_error_(file, line, APLOG_MODULE_INDEX, (int)level, rv, baton, "%s", msg);
}

/* --- virtual hosts and their MDs ---------------------------------------------- */

/* With MDMembers auto, the other names of a vhost with SSL join its MD. */
static apr_status_t add_vhost_names(md_t *md, const server_rec *s,
                                    const md_name_index_t *ix, apr_pool_t *p)
{
    apr_array_header_t *names = apr_array_make(p, 4, sizeof(const char *));
    const char *reason;
    int i;

    if (s->server_hostname) {
        APR_ARRAY_PUSH(names, const char *) = s->server_hostname;
    }
    for (i = 0; s->names && i < s->names->nelts; ++i) {
        APR_ARRAY_PUSH(names, const char *) = MD_ARR_IDX(s->names, i, const char *);
    }
    for (i = 0; i < names->nelts; ++i) {
        const char *name = md_util_str_tolower(p, MD_ARR_IDX(names, i, const char *));

        /* Covered already, by the name or a wildcard, or another MD's name
         * (a vhost without SSL may belong to two MDs). */
        if (md_contains(md, name) || md_name_index_find(ix, name, p)) {
            continue;
        }
        if (!md_dns_is_name(name, 0, 0, &reason)) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "MD11001: %s: not adding name %s of the virtual host at %s:%u: %s",
                         md->name, name, s->defn_name, s->defn_line_number, reason);
            continue;
        }
        APR_ARRAY_PUSH(md->domains, const char *) = name;
    }
    return APR_SUCCESS;
}

/* Without MDContactEmail, a ServerAdmin is the contact (if it is an email
 * address; httpd's default is not). */
static void default_contact(md_t *md, const char *server_admin, apr_pool_t *p)
{
    const char *mailto;

    if (md->contacts && md->contacts->nelts > 0) {
        return;
    }
    mailto = mod_md_config_mailto(p, server_admin);
    if (mailto) {
        md->contacts = apr_array_make(p, 1, sizeof(const char *));
        APR_ARRAY_PUSH(md->contacts, const char *) = mailto;
    }
}

/* An MD no virtual host uses: say so, and whether it is renewed anyway. */
static void warn_unused(const md_t *md, const mod_md_global_t *g, server_rec *base)
{
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, base,
                 "MD11004: MDomain %s (%s:%u) is not used by any virtual host: no "
                 "%s matches its names; %s", md->name, md->defn_name,
                 md->defn_line_number, g->match_names == MD_MATCH_SERVERNAMES
                 ? "ServerName (MDMatchNames servernames)" : "ServerName or ServerAlias",
                 md->renew_mode == MD_RENEW_ALWAYS
                 ? "renewed anyway (MDRenewMode always)"
                 : "its certificate is not renewed (MDRenewMode always would)");
}

/* One virtual host: the MD(s) its names are in (MDMatchNames, wildcards as
 * the stock module: src/core/md_md.c) into rt->server_mds (a vhost's
 * config struct cannot hold it) and used (name -> md_t*); with SSL its
 * names join its MD. */
static void assign_server(mod_md_runtime_t *rt, apr_hash_t *used, server_rec *s,
                          server_rec *base, const mod_md_global_t *g, apr_pool_t *p)
{
    server_rec **key;
    md_t *md, *other;

    md = md_name_index_match_host(rt->names, s->server_hostname, s->names, s->wild_names,
                                  g->match_names, &other, p);
    if (!md) {
        return;
    }
    key = apr_palloc(p, sizeof(*key));
    *key = s;
    apr_hash_set(rt->server_mds, key, sizeof(*key), md);
    if (other) {
        apr_hash_set(rt->server_other_mds, key, sizeof(*key), other);
        apr_hash_set(used, other->name, APR_HASH_KEY_STRING, other);
    }
    apr_hash_set(used, md->name, APR_HASH_KEY_STRING, md);
    /* As the stock module: the names of a vhost that serves the
     * certificate (with SSL) join its MD. */
    if (md->transitive && mod_md_config_server_has_ssl(s)) {
        add_vhost_names(md, s, rt->names, p);
        md_name_index_add(rt->names, md, NULL);
    }
    /* As the stock module: the main server's ServerAdmin, else the
     * first vhost's. */
    default_contact(md, base->server_admin, p);
    default_contact(md, s->server_admin, p);
}

/* Match every virtual host with its MD, complete each MD from its hosts.
 * A vhost with names in two MDs is fine without SSL (it answers http-01
 * and redirects for both); with SSL it can serve one certificate only,
 * which mod_ssl's certificate hook refuses as the stock module does
 * (mod_md_certs.c). The MDs some vhost uses go into used. */
static apr_status_t assign_servers(mod_md_runtime_t *rt, apr_hash_t *used, server_rec *base,
                                   mod_md_global_t *g, apr_pool_t *p)
{
    server_rec *s;
    const char *err;
    int i;

    rt->names = md_name_index_make(p);
    for (i = 0; i < g->mds->nelts; ++i) {
        md_name_index_add(rt->names, MD_ARR_IDX(g->mds, i, md_t *), NULL);
    }
    for (s = base; s; s = s->next) {
        if (s != base || g->manage_base_server) {
            assign_server(rt, used, s, base, g, p);
        }
    }
    /* Names added from the vhosts may now collide between MDs. */
    err = mod_md_config_check_overlaps(p, g->mds);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, base, "MD11003: %s", err);
        return APR_EINVAL;
    }
    for (i = 0; i < g->mds->nelts; ++i) {
        md_t *md = MD_ARR_IDX(g->mds, i, md_t *);

        if (!apr_hash_get(used, md->name, APR_HASH_KEY_STRING)) {
            warn_unused(md, g, base);
        }
        default_contact(md, base->server_admin, p);
    }
    return APR_SUCCESS;
}

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
        return rv;
    }
    hand_to_user(*pstore, p);
    return APR_SUCCESS;
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

/* --- the MDs at start-up ------------------------------------------------------------ */

/* One MD: activate what is staged, assess the live certificates, bring
 * md.json up to date. Keep going: one bad MD must not stop the others.
 * Activation first, so that sync learns the account of a new certificate;
 * sync keeps what it learns in md, so it gets md's pool. Sync after the
 * assessment: md.json records the state and why, as the stock module's
 * does. Without the store lock (MDStoreLocks, locked 0) nothing is
 * written. */
static md_reg_state_t *start_md(mod_md_runtime_t *rt, md_t *md, apr_hash_t *used, int locked,
                                apr_pool_t *ptemp)
{
    md_reg_state_t *st = apr_pcalloc(rt->pconf, sizeof(*st));
    int activated = 0;

    if (locked
        && !mod_md_activate_delayed(rt->store, md, rt->g->activation_delay, apr_time_now(),
                                    ptemp)) {
        /* MDActivationDelay holds a new certificate back, also from a
         * restart made by hand. */
        md_reg_activate_staged(rt->store, md, &activated, ptemp);
    }
    if (md_static_is(md)) {
        md_static_assess(st, rt->store, md, apr_time_now(), rt->pconf);
    }
    else {
        md_reg_assess_memo(st, rt->store, md, apr_time_now(), rt->cred_memo, rt->pconf);
    }
    st->activated = activated;
    /* As the stock module: what no virtual host uses is not renewed,
     * unless the admin says always. */
    st->watched = md->renew_mode == MD_RENEW_ALWAYS
                  || apr_hash_get(used, md->name, APR_HASH_KEY_STRING) != NULL;
    md->state = st->state;
    md->state_descr = st->state_descr;
    if (locked) {
        md_reg_sync(rt->store, md, rt->pconf);
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, rt->s, "MD11007: %s: %s%s%s", md->name,
                 st->has_cert ? "certificate present" : "no usable certificate",
                 st->state_descr ? ": " : "", st->state_descr ? st->state_descr : "");
    return st;
}

/* The store and every MD's state (rt->states, rt->state_list). */
static apr_status_t start_mds(mod_md_runtime_t *rt, apr_hash_t *used, apr_pool_t *ptemp)
{
    mod_md_global_t *g = rt->g;
    apr_pool_t *pmd;
    int i, locked;

    if (md_http_global_init() != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, rt->s, "MD11006: cannot initialize libcurl");
        return APR_EGENERAL;
    }
    rt->states = apr_hash_make(rt->pconf);
    rt->state_list = apr_array_make(rt->pconf, g->mds->nelts, sizeof(md_reg_state_t *));
    if (open_store(&rt->store, rt->s, g, rt->pconf) != APR_SUCCESS
        || apr_pool_create(&pmd, ptemp) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    /* The whole config pass, mod_ssl asking for our files included, is one
     * thread's; httpd destroys ptemp before it forks children. */
    md_store_batch_begin(rt->store, ptemp);
    mod_md_challenges_setup(rt, ptemp);
    locked = lock_store(rt->store, rt->s, g, ptemp);
    /* Per pass: httpd unloads and reloads the module between passes, so
     * nothing of ours (not even libjansson's hash seed) survives in memory
     * from one to the next. */
    rt->cred_memo = md_credmemo_create(rt->pconf);
    rt->cred_memo_save = locked;
    md_credmemo_begin(rt->cred_memo, rt->store, ptemp);
    if (locked) {
        md_reg_sync_renames(rt->store, g->mds, ptemp);
        /* A shared store: other servers may work on MDs this one does not
         * have (a configuration being rolled out), leave those alone. */
        if (!rt->store->shared) {
            md_reg_cleanup_stale(rt->store, g->mds, ptemp);
        }
    }
    for (i = 0; i < g->mds->nelts; ++i) {
        md_t *md = MD_ARR_IDX(g->mds, i, md_t *);
        md_reg_state_t *st = start_md(rt, md, used, locked, pmd);

        apr_hash_set(rt->states, md->name, APR_HASH_KEY_STRING, st);
        APR_ARRAY_PUSH(rt->state_list, md_reg_state_t *) = st;
        apr_pool_clear(pmd);
    }
    if (locked) {
        hand_to_user(rt->store, ptemp);
    }
    if (locked && mod_md_cluster_lock_wait(rt->store, g) > 0) {
        md_store_unlock(rt->store, ptemp);
    }
    return APR_SUCCESS;
}

/* --- the generation -------------------------------------------------------------- */

static int runtime_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                               server_rec *s)
{
    mod_md_global_t *g = mod_md_config_get(s)->global;
    mod_md_runtime_t *rt;
    apr_hash_t *used;

    (void)plog;
    md_log_set(log_is_level, log_print, s);
    rt = apr_pcalloc(pconf, sizeof(*rt));
    rt->s = s;
    rt->pconf = pconf;
    rt->g = g;
    rt->has_mds = g->mds && g->mds->nelts > 0;
    g->runtime = rt;
    mod_md_cluster_setup(rt);
    if (rt->has_mds) {
        rt->server_mds = apr_hash_make(pconf);
        rt->server_other_mds = apr_hash_make(pconf);
        rt->fallback_servers = apr_hash_make(pconf);
        used = apr_hash_make(pconf);
        if (assign_servers(rt, used, s, g, pconf) != APR_SUCCESS
            || start_mds(rt, used, ptemp) != APR_SUCCESS) {
            return !OK;
        }
    }
    /* MDStapleOthers needs no MD. */
    mod_md_ocsp_setup(rt);
    mod_md_status_setup(rt);
    if (rt->has_mds && !mod_md_runtime_dry_run()
        && mod_md_drive_setup(rt) != APR_SUCCESS) {
        return !OK;
    }
    return OK;
}

void mod_md_runtime_register_hooks(void)
{
    static const char *const before_ssl[] = { "mod_ssl.c", NULL };

    /* Before mod_ssl's post_config: it asks for our certificates there. */
    ap_hook_post_config(runtime_post_config, NULL, before_ssl, APR_HOOK_MIDDLE);
}
