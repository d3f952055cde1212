/* The generation's runtime (see mod_md_runtime.h): built by post_config in
 * the parent before mod_ssl's, which asks for our certificates there; the
 * MDs are started beside mod_ssl's (mod_md_start.c). The glue parts get
 * the runtime from here and set up their own state in it.
 */
#include <string.h>

#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>

#include "md.h"
#include "md_dns.h"
#include "md_util.h"
#include "mod_md_cluster.h"
#include "mod_md_config.h"
#include "mod_md_drive.h"
#include "mod_md_ocsp.h"
#include "mod_md_runtime.h"
#include "mod_md_start.h"
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
    md_reg_state_t *st = md ? apr_hash_get(rt->states, md->name, APR_HASH_KEY_STRING) : NULL;

    mod_md_start_wait(rt, st);
    return st;
}

md_reg_state_t *mod_md_host_state(const mod_md_runtime_t *rt, const server_rec *s,
                                  const char *host, apr_pool_t *p)
{
    const md_t *md = rt && rt->names && host ? md_name_index_find(rt->names, host, p) : NULL;
    md_reg_state_t *st;

    if (!md || (md != mod_md_server_md(rt, s) && md != mod_md_server_other_md(rt, s))) {
        return NULL;
    }
    st = apr_hash_get(rt->states, md->name, APR_HASH_KEY_STRING);
    mod_md_start_wait(rt, st);
    return st;
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
            || mod_md_start_begin(rt, used, ptemp) != APR_SUCCESS) {
            return !OK;
        }
    }
    /* MDStapleOthers needs no MD. */
    mod_md_ocsp_setup(rt);
    return OK;
}

/* After mod_ssl's: the MDs are started (mod_md_start.h), the parts that
 * read every state set up. */
static int runtime_after_ssl(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                             server_rec *s)
{
    mod_md_runtime_t *rt = mod_md_runtime_get(s);

    (void)pconf;
    (void)plog;
    if (!rt) {
        return OK;
    }
    mod_md_start_end(rt, ptemp);
    mod_md_status_setup(rt);
    if (rt->has_mds && !mod_md_runtime_dry_run()
        && mod_md_drive_setup(rt) != APR_SUCCESS) {
        return !OK;
    }
    return OK;
}

void mod_md_runtime_register_hooks(void)
{
    static const char *const ssl[] = { "mod_ssl.c", NULL };

    /* Before mod_ssl's post_config: it asks for our certificates there. */
    ap_hook_post_config(runtime_post_config, NULL, ssl, APR_HOOK_MIDDLE);
    ap_hook_post_config(runtime_after_ssl, ssl, NULL, APR_HOOK_MIDDLE);
}
