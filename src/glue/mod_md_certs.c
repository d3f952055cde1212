/* mod_ssl's certificate hooks and the 503 of fallback hosts (see
 * mod_md_certs.h). */
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <http_ssl.h>

#include "md.h"
#include "md_reg.h"
#include "md_static.h"
#include "md_util.h"
#include "mod_md_certs.h"
#include "mod_md_config.h"
#include "mod_md_runtime.h"
#include "mod_md_start.h"

APLOG_USE_MODULE(md);

/* A vhost with SSL and names in two MDs: mod_ssl can serve only one
 * certificate for it. Refused as by the stock module (a vhost without SSL
 * may have them); md_check_after_ssl stops the start. */
static int has_two_mds(mod_md_runtime_t *rt, server_rec *s)
{
    const md_t *md = mod_md_server_md(rt, s);
    const md_t *other = mod_md_server_other_md(rt, s);

    if (!md || !other) {
        return 0;
    }
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                 "MD11002: the virtual host at %s:%u uses SSL and has names in two MDs, %s "
                 "(%s:%u) and %s (%s:%u); it can serve the certificate of one MD only",
                 s->defn_name, s->defn_line_number, md->name, md->defn_name,
                 md->defn_line_number, other->name, other->defn_name, other->defn_line_number);
    rt->ssl_conflict = 1;
    return 1;
}

/* The admin's files of a static MD (MDCertificateFile). */
static void add_static_files(const md_t *md, apr_array_header_t *cert_files,
                             apr_array_header_t *key_files)
{
    int i;

    for (i = 0; i < md->cert_files->nelts; ++i) {
        APR_ARRAY_PUSH(cert_files, const char *) = MD_ARR_IDX(md->cert_files, i, const char *);
        APR_ARRAY_PUSH(key_files, const char *) = MD_ARR_IDX(md->pkey_files, i, const char *);
    }
}

static int md_add_cert_files(server_rec *s, apr_pool_t *p, apr_array_header_t *cert_files,
                             apr_array_header_t *key_files)
{
    mod_md_runtime_t *rt = mod_md_runtime_get(s);
    md_reg_state_t *st = mod_md_server_state(rt, s);

    (void)p;
    if (!st || has_two_mds(rt, s) || !st->has_cert) {
        return DECLINED;
    }
    if (md_static_is(st->md)) {
        add_static_files(st->md, cert_files, key_files);
        return OK;
    }
    /* Every key type with a usable certificate (mod_ssl picks per client),
     * named by mod_md_start.c. */
    if (!mod_md_start_files(rt, st, cert_files, key_files)) {
        return DECLINED;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                 "MD11010: %s: serving the managed certificate for %s:%u", st->md->name,
                 s->defn_name ? s->defn_name : "-", s->defn_line_number);
    return OK;
}

/* The fallbacks (mod_md_start.c makes them, ahead when it can). */
static int md_add_fallback_cert_files(server_rec *s, apr_pool_t *p,
                                      apr_array_header_t *cert_files,
                                      apr_array_header_t *key_files)
{
    mod_md_runtime_t *rt = mod_md_runtime_get(s);
    md_reg_state_t *st = mod_md_server_state(rt, s);
    server_rec **key;

    if (!st || st->has_cert || mod_md_server_other_md(rt, s)) {
        return DECLINED;
    }
    if (!mod_md_start_files(rt, st, cert_files, key_files)
        && !mod_md_start_fallbacks(rt, st, cert_files, key_files, p)) {
        return DECLINED;
    }
    /* mod_ssl asks only for hosts without certificates of their own: a
     * host with SSLCertificateFile keeps serving normally. */
    key = apr_palloc(s->process->pconf, sizeof(*key));
    *key = s;
    apr_hash_set(rt->fallback_servers, key, sizeof(*key), key);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 "MD11011: %s: no certificate yet, serving a self-signed fallback and "
                 "answering 503 until there is one", st->md->name);
    return OK;
}

/* A host served with the fallback certificate says so instead of showing
 * a site. (A host with its own SSLCertificateFile serves normally.) */
static int fallback_read_request(request_rec *r)
{
    mod_md_runtime_t *rt = mod_md_runtime_get(r->server);
    md_reg_state_t *st;

    if (!rt || !rt->has_mds || !r->parsed_uri.path || !ap_ssl_conn_is_ssl(r->connection)) {
        return DECLINED;
    }
    st = mod_md_server_state(rt, r->server);
    if (st && !st->has_cert
        && apr_hash_get(rt->fallback_servers, &r->server, sizeof(r->server))) {
        apr_table_setn(r->err_headers_out, "Retry-After", "60");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    return DECLINED;
}

/* After mod_ssl's post_config: a vhost with SSL had names in two MDs. */
static int md_check_after_ssl(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                              server_rec *s)
{
    const mod_md_runtime_t *rt = mod_md_runtime_get(s);

    (void)pconf;
    (void)plog;
    (void)ptemp;
    return (rt && rt->ssl_conflict) ? !OK : OK;
}

void mod_md_certs_register_hooks(void)
{
    static const char *const after_ssl[] = { "mod_ssl.c", NULL };

    ap_hook_post_config(md_check_after_ssl, after_ssl, NULL, APR_HOOK_MIDDLE);
    ap_hook_ssl_add_cert_files(md_add_cert_files, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_ssl_add_fallback_cert_files(md_add_fallback_cert_files, NULL, NULL,
                                        APR_HOOK_MIDDLE);
    ap_hook_post_read_request(fallback_read_request, NULL, NULL, APR_HOOK_MIDDLE);
}
