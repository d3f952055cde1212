/* mod_md: the Apache module. Thin glue between httpd and the core:
 * start-up (store, registry, activation, fallback certificates), mod_ssl's
 * certificate hooks, the http-01 challenge answers, and the renewal
 * watchdog (mod_md_drive.c). Directives live in mod_md_config.c.
 *
 * Process model (STYLE §12): the parent reads the config and the store in
 * post_config, activates staged certificates and hands files to mod_ssl;
 * it never touches the network. One child runs the watchdog that talks to
 * the CA and writes staging/. Everything here is read-only after
 * post_config.
 */
#include <string.h>
#include <unistd.h>

#include <apr_atomic.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <http_ssl.h>
#include <http_vhost.h>
#include <ap_mpm.h>
#include <unixd.h>

#include "md.h"
#include "md_challenges.h"
#include "md_credmemo.h"
#include "md_crypt.h"
#include "md_dns.h"
#include "md_http.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_reg.h"
#include "md_static.h"
#include "md_store.h"
#include "md_util.h"
#include "mod_md.h"
#include "mod_md_activate.h"
#include "mod_md_challenges.h"
#include "mod_md_cluster.h"
#include "mod_md_config.h"
#include "mod_md_drive.h"
#include "mod_md_https.h"
#include "mod_md_ocsp.h"
#include "mod_md_status.h"
#include "mod_md_tls_alpn.h"

static mod_md_runtime_t *runtime;
/* This config pass's credential memo (md_credmemo.h), read from the store:
 * httpd unloads and reloads the module between passes, so nothing of ours
 * (not even libjansson's hash seed) survives in memory from one to the next. */
static md_credmemo_t *cred_memo;
static int cred_memo_save;      /* this pass may write the store */

mod_md_runtime_t *mod_md_runtime(void)
{
    return runtime;
}

/* --- watchdog threads at a child's exit (see mod_md.h) ----------------------- */

void mod_md_wd_thread_ran(mod_md_wd_thread_t *wt)
{
    apr_atomic_cas32(&wt->state, 1, 0);
}

void mod_md_wd_thread_stop(mod_md_wd_thread_t *wt)
{
    md_crypt_thread_done();
    apr_atomic_set32(&wt->state, 2);
}

apr_status_t mod_md_wd_thread_wait(void *data)
{
    mod_md_wd_thread_t *wt = data;
    int i;

    for (i = 0; i < 500 && apr_atomic_read32(&wt->state) == 1; ++i) {
        apr_sleep(apr_time_from_msec(10));
    }
    return APR_SUCCESS;
}

/* --- core logging into httpd's error log ---------------------------------- */

static server_rec *log_server;

static int log_is_level(void *baton, md_log_level_t level)
{
    (void)baton;
    return log_server && APLOG_IS_LEVEL(log_server, (int)level);
}

static void log_print(const char *file, int line, md_log_level_t level, apr_status_t rv,
                      void *baton, const char *msg)
{
    (void)baton;
    ap_log_error_(file, line, APLOG_MODULE_INDEX, (int)level, rv, log_server, "%s", msg);
}

/* --- start-up ------------------------------------------------------------- */

static int is_dry_run(void)
{
    return ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG;
}

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

/* Match every virtual host with its MD (MDMatchNames, wildcards as the
 * stock module: src/core/md_md.c), complete each MD from its hosts. The
 * result goes into rt->server_mds: a vhost's config struct cannot hold it.
 * A vhost with names in two MDs is fine without SSL (it answers http-01
 * and redirects for both); with SSL it can serve one certificate only,
 * which md_add_cert_files refuses as the stock module does. The MDs some
 * vhost uses go into used (name -> md_t*). */
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
        server_rec **key;
        md_t *md, *other;

        if (s == base && !g->manage_base_server) {
            continue;
        }
        md = md_name_index_match_host(rt->names, s->server_hostname, s->names, s->wild_names,
                                      g->match_names, &other, p);
        if (!md) {
            continue;
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
    /* Names added from the vhosts may now collide between MDs. */
    err = mod_md_config_check_overlaps(p, g->mds);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, base, "MD11003: %s", err);
        return APR_EINVAL;
    }
    for (i = 0; i < g->mds->nelts; ++i) {
        md_t *md = MD_ARR_IDX(g->mds, i, md_t *);

        if (!apr_hash_get(used, md->name, APR_HASH_KEY_STRING)) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, base,
                         "MD11004: MDomain %s (%s:%u) is not used by any virtual host: no "
                         "%s matches its names; %s", md->name, md->defn_name,
                         md->defn_line_number, g->match_names == MD_MATCH_SERVERNAMES
                         ? "ServerName (MDMatchNames servernames)" : "ServerName or ServerAlias",
                         md->renew_mode == MD_RENEW_ALWAYS
                         ? "renewed anyway (MDRenewMode always)"
                         : "its certificate is not renewed (MDRenewMode always would)");
        }
        default_contact(md, base->server_admin, p);
    }
    return APR_SUCCESS;
}

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

static int md_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *s)
{
    md_srv_conf_t *sc = mod_md_config_get(s);
    mod_md_global_t *g = sc->global;
    mod_md_runtime_t *rt;
    apr_hash_t *used;
    apr_status_t rv;
    int i, locked;

    (void)plog;
    log_server = s;
    md_log_set(log_is_level, log_print, NULL);
    runtime = NULL;
    cred_memo = NULL;
    if (!g->mds || g->mds->nelts == 0) {
        /* MDStapleOthers needs no MD. */
        mod_md_ocsp_setup(s, g, NULL, pconf);
        return OK;
    }
    rt = apr_pcalloc(pconf, sizeof(*rt));
    rt->server_mds = apr_hash_make(pconf);
    rt->server_other_mds = apr_hash_make(pconf);
    rt->fallback_servers = apr_hash_make(pconf);
    used = apr_hash_make(pconf);   /* ptemp is cleared per MD below */
    if (assign_servers(rt, used, s, g, pconf) != APR_SUCCESS) {
        return !OK;
    }
    if (md_http_global_init() != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "MD11006: cannot initialize libcurl");
        return !OK;
    }
    rt->states = apr_hash_make(pconf);
    rt->state_list = apr_array_make(pconf, g->mds->nelts, sizeof(md_reg_state_t *));
    if (open_store(&rt->store, s, g, pconf) != APR_SUCCESS) {
        return !OK;
    }
    mod_md_challenges_setup(rt, s, g, pconf, ptemp);
    locked = lock_store(rt->store, s, g, ptemp);
    cred_memo = md_credmemo_create(pconf);
    md_credmemo_begin(cred_memo, rt->store, ptemp);
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
        md_reg_state_t *st = apr_pcalloc(pconf, sizeof(*st));
        int activated = 0;

        /* Keep going: one bad MD must not stop the others. Activation
         * first, so that sync learns the account of a new certificate;
         * sync keeps what it learns in md, so it gets md's pool. Sync
         * after the assessment: md.json records the state and why, as the
         * stock module's does. Without the store lock (MDStoreLocks)
         * nothing is written. */
        if (locked
            && !mod_md_activate_delayed(rt->store, md, g->activation_delay, apr_time_now(),
                                        ptemp)) {
            /* MDActivationDelay holds a new certificate back, also from a
             * restart made by hand. */
            md_reg_activate_staged(rt->store, md, &activated, ptemp);
        }
        if (md_static_is(md)) {
            md_static_assess(st, rt->store, md, apr_time_now(), pconf);
        }
        else {
            md_reg_assess_memo(st, rt->store, md, apr_time_now(), cred_memo, pconf);
        }
        st->activated = activated;
        /* As the stock module: what no virtual host uses is not renewed,
         * unless the admin says always. */
        st->watched = md->renew_mode == MD_RENEW_ALWAYS
                      || apr_hash_get(used, md->name, APR_HASH_KEY_STRING) != NULL;
        md->state = st->state;
        md->state_descr = st->state_descr;
        if (locked) {
            md_reg_sync(rt->store, md, pconf);
        }
        apr_hash_set(rt->states, md->name, APR_HASH_KEY_STRING, st);
        APR_ARRAY_PUSH(rt->state_list, md_reg_state_t *) = st;
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "MD11007: %s: %s%s%s", md->name,
                     st->has_cert ? "certificate present" : "no usable certificate",
                     st->state_descr ? ": " : "", st->state_descr ? st->state_descr : "");
        apr_pool_clear(ptemp);
    }
    cred_memo_save = locked;
    if (locked) {
        hand_to_user(rt->store, ptemp);
    }
    if (locked && mod_md_cluster_lock_wait(rt->store, g) > 0) {
        md_store_unlock(rt->store, ptemp);
    }
    runtime = rt;
    mod_md_ocsp_setup(s, g, rt->store, pconf);

    if (!is_dry_run()) {
        rv = mod_md_drive_register(s, pconf, rt->store, rt->state_list, g);
        if (rv != APR_SUCCESS) {
            return !OK;
        }
    }
    return OK;
}

/* --- mod_ssl's certificate hooks ------------------------------------------ */

const md_t *mod_md_server_md(const server_rec *s)
{
    return runtime ? apr_hash_get(runtime->server_mds, &s, sizeof(s)) : NULL;
}

md_reg_state_t *mod_md_server_state(const server_rec *s)
{
    const md_t *md = mod_md_server_md(s);

    return md ? apr_hash_get(runtime->states, md->name, APR_HASH_KEY_STRING) : NULL;
}

static const md_t *other_md(const server_rec *s)
{
    return runtime ? apr_hash_get(runtime->server_other_mds, &s, sizeof(s)) : NULL;
}

md_reg_state_t *mod_md_host_state(const server_rec *s, const char *host, apr_pool_t *p)
{
    const md_t *md = runtime && host ? md_name_index_find(runtime->names, host, p) : NULL;

    if (!md || (md != mod_md_server_md(s) && md != other_md(s))) {
        return NULL;
    }
    return apr_hash_get(runtime->states, md->name, APR_HASH_KEY_STRING);
}

/* A vhost with SSL and names in two MDs: mod_ssl can serve only one
 * certificate for it. Refused as by the stock module (a vhost without SSL
 * may have them); md_check_after_ssl stops the start. */
static int has_two_mds(server_rec *s)
{
    const md_t *md = mod_md_server_md(s);
    const md_t *other = other_md(s);

    if (!md || !other) {
        return 0;
    }
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                 "MD11002: the virtual host at %s:%u uses SSL and has names in two MDs, %s "
                 "(%s:%u) and %s (%s:%u); it can serve the certificate of one MD only",
                 s->defn_name, s->defn_line_number, md->name, md->defn_name,
                 md->defn_line_number, other->name, other->defn_name, other->defn_line_number);
    runtime->ssl_conflict = 1;
    return 1;
}

static int md_add_cert_files(server_rec *s, apr_pool_t *p, apr_array_header_t *cert_files,
                             apr_array_header_t *key_files)
{
    md_reg_state_t *st = mod_md_server_state(s);
    const apr_array_header_t *specs;
    int i;

    if (!st || has_two_mds(s) || !st->has_cert) {
        return DECLINED;
    }
    if (md_static_is(st->md)) {
        for (i = 0; i < st->md->cert_files->nelts; ++i) {
            APR_ARRAY_PUSH(cert_files, const char *) = MD_ARR_IDX(st->md->cert_files, i,
                                                                  const char *);
            APR_ARRAY_PUSH(key_files, const char *) = MD_ARR_IDX(st->md->pkey_files, i,
                                                                 const char *);
        }
        return OK;
    }
    /* Every key type with a usable certificate: mod_ssl picks per client. */
    specs = st->present_specs;
    for (i = 0; i < specs->nelts; ++i) {
        const char *keyfile, *certfile;

        if (md_reg_cred_files(&keyfile, &certfile, runtime->store, st->md,
                              MD_ARR_IDX(specs, i, const md_pkey_spec_t *), p)
            != APR_SUCCESS) {
            return DECLINED;
        }
        APR_ARRAY_PUSH(cert_files, const char *) = certfile;
        APR_ARRAY_PUSH(key_files, const char *) = keyfile;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                 "MD11010: %s: serving the managed certificate for %s:%u", st->md->name,
                 s->defn_name ? s->defn_name : "-", s->defn_line_number);
    return OK;
}

/* The shared fallback key of a type, loaded (or made) once per config pass. */
static md_pkey_t *fallback_key(md_pkey_type_t type, server_rec *s)
{
    md_pkey_t **pkey = type == MD_PKEY_TYPE_EC ? &runtime->fallback_key
                                               : &runtime->fallback_rsa_key;

    if (!*pkey
        && md_reg_fallback_key_of(pkey, runtime->store, type, s->process->pconf)
           != APR_SUCCESS) {
        *pkey = NULL;
    }
    return *pkey;
}

/* One fallback per key type the MD is configured for (EC, RSA), as the stock
 * module makes one per key spec: a client that takes only RSA (or only
 * ECDSA) completes its handshake whichever the MD's certificates will be. */
static int md_add_fallback_cert_files(server_rec *s, apr_pool_t *p,
                                      apr_array_header_t *cert_files,
                                      apr_array_header_t *key_files)
{
    md_reg_state_t *st = mod_md_server_state(s);
    const apr_array_header_t *specs;
    int i, have_ec = 0, have_rsa = 0;
    server_rec **key;

    if (!st || st->has_cert || other_md(s)) {
        return DECLINED;
    }
    specs = md_pkey_specs(st->md, p);
    for (i = 0; i < specs->nelts; ++i) {
        md_pkey_type_t type = MD_ARR_IDX(specs, i, const md_pkey_spec_t *)->type;
        int *have = type == MD_PKEY_TYPE_EC ? &have_ec : &have_rsa;
        const char *keyfile, *certfile;
        md_pkey_t *pkey;

        if (*have || !(pkey = fallback_key(type, s))
            || md_reg_fallback_files(&keyfile, &certfile, runtime->store, st->md, pkey,
                                     cred_memo, p) != APR_SUCCESS) {
            continue;
        }
        *have = 1;
        APR_ARRAY_PUSH(cert_files, const char *) = certfile;
        APR_ARRAY_PUSH(key_files, const char *) = keyfile;
    }
    if (!have_ec && !have_rsa) {
        return DECLINED;
    }
    /* mod_ssl asks only for hosts without certificates of their own: a
     * host with SSLCertificateFile keeps serving normally. */
    key = apr_palloc(s->process->pconf, sizeof(*key));
    *key = s;
    apr_hash_set(runtime->fallback_servers, key, sizeof(*key), key);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 "MD11011: %s: no certificate yet, serving a self-signed fallback and "
                 "answering 503 until there is one", st->md->name);
    return OK;
}

/* --- requests ------------------------------------------------------------- */

/* Answer http-01 (RFC 8555 §8.3) for host and token (as
 * md_challenges_http01_request read them) from the key authorization in
 * the store. */
static int serve_http01(request_rec *r, const char *host, const char *token)
{
    const char *keyauth;

    if (md_store_load_text(runtime->store, MD_SG_CHALLENGES, host, MD_FN_HTTP01, &keyauth,
                           r->pool) != APR_SUCCESS
        || !md_challenges_http01_answers(keyauth, token)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "MD11020: no http-01 challenge for %s with token %s", host, token);
        return HTTP_NOT_FOUND;
    }
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "MD11021: answering http-01 challenge for %s", host);
    ap_set_content_type(r, "text/plain");
    ap_set_content_length(r, (apr_off_t)strlen(keyauth));
    r->status = HTTP_OK;
    if (!r->header_only) {
        ap_rputs(keyauth, r);
    }
    return DONE;
}

static int md_post_read_request(request_rec *r)
{
    md_reg_state_t *st;
    const char *host;
    const char *token;
    apr_status_t rv;

    if (!runtime || !r->parsed_uri.path) {
        return DECLINED;
    }
    if (!ap_ssl_conn_is_ssl(r->connection)
        && (rv = md_challenges_http01_request(&host, &token, r->hostname, r->parsed_uri.path,
                                              r->pool)) != APR_ENOENT) {
        int status = rv == APR_SUCCESS ? serve_http01(r, host, token) : HTTP_NOT_FOUND;
        /* Unknown tokens on names we do not manage are the site's business. */
        if (status != HTTP_NOT_FOUND || mod_md_server_state(r->server)) {
            return status;
        }
        return DECLINED;
    }
    st = mod_md_server_state(r->server);
    if (st && !st->has_cert && ap_ssl_conn_is_ssl(r->connection)
        && apr_hash_get(runtime->fallback_servers, &r->server, sizeof(r->server))) {
        /* Served with the fallback certificate: say so instead of a site.
         * (A host with its own SSLCertificateFile serves normally.) */
        apr_table_setn(r->err_headers_out, "Retry-After", "60");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    return DECLINED;
}

/* After mod_ssl's post_config: a vhost with SSL had names in two MDs. */
static int md_check_after_ssl(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                              server_rec *s)
{
    (void)pconf;
    (void)plog;
    (void)s;
    /* mod_ssl has asked for all certificates and fallbacks of this pass */
    if (runtime && cred_memo) {
        md_credmemo_end(cred_memo, runtime->store, cred_memo_save, ptemp);
    }
    return (runtime && runtime->ssl_conflict) ? !OK : OK;
}

/* --- registration --------------------------------------------------------- */

static void md_register_hooks(apr_pool_t *p)
{
    static const char *const before_ssl[] = { "mod_ssl.c", NULL };

    ap_hook_check_config(mod_md_config_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(mod_md_config_post_config, NULL, NULL, APR_HOOK_FIRST);
    /* Before mod_ssl's post_config: it asks for our certificates there. */
    ap_hook_post_config(md_post_config, NULL, before_ssl, APR_HOOK_MIDDLE);
    ap_hook_post_config(md_check_after_ssl, before_ssl, NULL, APR_HOOK_MIDDLE);
    ap_hook_ssl_add_cert_files(md_add_cert_files, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_ssl_add_fallback_cert_files(md_add_fallback_cert_files, NULL, NULL,
                                        APR_HOOK_MIDDLE);
    ap_hook_post_read_request(md_post_read_request, NULL, NULL, APR_HOOK_MIDDLE);
    mod_md_tls_alpn_register_hooks();
    mod_md_status_register_hooks(p);
    mod_md_https_register_hooks(p);
    mod_md_activate_register_hooks();
    mod_md_cluster_register_hooks();
    mod_md_ocsp_register_hooks();
    ap_hook_child_init(mod_md_drive_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(md) = {
    STANDARD20_MODULE_STUFF,
    NULL,                       /* per-directory config */
    NULL,                       /* merge per-directory */
    mod_md_config_create_svr,   /* per-server config */
    NULL,                       /* merge per-server: a vhost has nothing of its own */
    mod_md_cmds,                /* directives */
    md_register_hooks,
    AP_MODULE_FLAG_NONE,
};
