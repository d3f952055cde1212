/* What the server offers the CA for validation (see mod_md_challenges.h). */
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <http_ssl.h>
#include <ap_listen.h>

#include "md.h"
#include "md_challenges.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_store.h"
#include "md_util.h"
#include "mod_md_challenges.h"
#include "mod_md_config.h"
#include "mod_md_runtime.h"

APLOG_USE_MODULE(md);

/* An address that reaches a listener from this host: its own address, or
 * loopback for a wildcard one. */
static const char *local_address(apr_sockaddr_t *sa, apr_pool_t *p)
{
    char *ip = NULL;

    if (apr_sockaddr_ip_get(&ip, sa) != APR_SUCCESS || !ip) {
        return "127.0.0.1";
    }
    if (!strcmp(ip, "0.0.0.0")) {
        return "127.0.0.1";
    }
    if (!strcmp(ip, "::")) {
        return "::1";
    }
    return apr_pstrdup(p, ip);
}

/* Does the server listen on port? *phost gets an address to reach it. */
static int find_listener(int port, const char **phost, apr_pool_t *p)
{
    const ap_listen_rec *lr;

    *phost = NULL;
    if (port <= 0) {
        return 0;
    }
    for (lr = ap_listeners; lr; lr = lr->next) {
        if (lr->bind_addr && lr->bind_addr->port == port) {
            *phost = local_address(lr->bind_addr, p);
            return 1;
        }
    }
    return 0;
}

/* The names of s that belong to md. */
static void add_server_names(apr_array_header_t *names, const md_t *md, const server_rec *s)
{
    int i;

    if (s->server_hostname && md_contains(md, s->server_hostname)) {
        md_array_str_add_missing(names, s->server_hostname);
    }
    for (i = 0; s->names && i < s->names->nelts; ++i) {
        const char *name = MD_ARR_IDX(s->names, i, const char *);
        if (md_contains(md, name)) {
            md_array_str_add_missing(names, name);
        }
    }
}

/* Each MD's acme_tls_1_domains: names of its vhosts whose Protocols
 * include acme-tls/1. */
static void collect_acme_tls_1(mod_md_runtime_t *rt, server_rec *base, apr_pool_t *pconf)
{
    server_rec *s;

    for (s = base; s; s = s->next) {
        md_t *md = apr_hash_get(rt->server_mds, &s, sizeof(s));

        if (!ap_is_allowed_protocol(NULL, NULL, s, MD_PROTO_ACME_TLS_1)) {
            continue;
        }
        rt->acme_tls_1_any = 1;
        if (!md) {
            continue;
        }
        if (!md->acme_tls_1_domains) {
            md->acme_tls_1_domains = apr_array_make(pconf, 4, sizeof(const char *));
        }
        add_server_names(md->acme_tls_1_domains, md, s);
        if (md->acme_tls_1_domains->nelts == 0 && md->domains->nelts > 0) {
            /* Matched by a name form we do not list: the MD's first name. */
            md_array_str_add_missing(md->acme_tls_1_domains,
                                     MD_ARR_IDX(md->domains, 0, const char *));
        }
    }
}

static void save_httpd_json(const mod_md_runtime_t *rt, server_rec *base, apr_pool_t *ptemp)
{
    json_t *j = md_json_pool_own(ptemp, json_object());
    json_t *proto = json_object();
    json_t *ports = json_object();
    json_t *old = NULL;
    apr_status_t rv;

    if (!j || !proto || !ports) {
        json_decref(proto);
        json_decref(ports);
        return;
    }
    json_object_set_new(proto, MD_KEY_HTTP, json_boolean(rt->http_port > 0));
    json_object_set_new(proto, MD_KEY_HTTPS, json_boolean(rt->https_port > 0));
    json_object_set_new(j, MD_KEY_PROTO, proto);
    json_object_set_new(ports, MD_KEY_HTTP, json_integer(rt->http_port));
    json_object_set_new(ports, MD_KEY_HTTPS, json_integer(rt->https_port));
    json_object_set_new(j, MD_KEY_PORTS, ports);
    json_object_set_new(j, MD_PROTO_ACME_TLS_1, json_boolean(rt->acme_tls_1_any));
    /* As the last pass left it (the usual restart): a durable write costs
     * two fsyncs, in each of the two passes of every start. */
    if (md_store_load_json(rt->store, MD_SG_NONE, NULL, MD_FN_HTTPD_JSON, &old, ptemp)
        == APR_SUCCESS && json_equal(old, j)) {
        return;
    }
    rv = md_store_save_json(rt->store, MD_SG_NONE, NULL, MD_FN_HTTPD_JSON, j, ptemp);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, base,
                     "MD16520: cannot record the listening ports in %s", MD_FN_HTTPD_JSON);
    }
}

void mod_md_challenges_setup(mod_md_runtime_t *rt, apr_pool_t *ptemp)
{
    server_rec *base = rt->s;
    const mod_md_global_t *g = rt->g;
    apr_pool_t *pconf = rt->pconf;
    int i;

    if (find_listener(g->local_http_port, &rt->http_host, pconf)) {
        rt->http_port = g->local_http_port;
    }
    if (find_listener(g->local_https_port, &rt->https_host, pconf)) {
        rt->https_port = g->local_https_port;
    }
    collect_acme_tls_1(rt, base, pconf);
    save_httpd_json(rt, base, ptemp);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, base, "MD16521: the CA's port 80 arrives at %s, "
                 "443 at %s%s",
                 rt->http_port ? apr_psprintf(ptemp, "%s:%d", rt->http_host, rt->http_port)
                               : "no served port",
                 rt->https_port ? apr_psprintf(ptemp, "%s:%d", rt->https_host, rt->https_port)
                                : "no served port",
                 rt->acme_tls_1_any ? "; acme-tls/1 is offered" : "");
    for (i = 0; i < g->mds->nelts; ++i) {
        const md_t *md = MD_ARR_IDX(g->mds, i, const md_t *);
        apr_array_header_t *types;
        const char *why;

        if (md->renew_mode == MD_RENEW_MANUAL) {
            continue;
        }
        if (md_challenges_select(&types, md, rt->http_port > 0, rt->https_port > 0, &why,
                                 ptemp) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, base, "MD16522: %s", why);
        }
    }
}

/* --- http-01 (RFC 8555 §8.3) ---------------------------------------------------- */

/* Answer http-01 for host and token (as md_challenges_http01_request read
 * them) from the key authorization in the store. */
static int serve_http01(const mod_md_runtime_t *rt, request_rec *r, const char *host,
                        const char *token)
{
    const char *keyauth;

    if (md_store_load_text(rt->store, MD_SG_CHALLENGES, host, MD_FN_HTTP01, &keyauth,
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

static int http01_read_request(request_rec *r)
{
    const mod_md_runtime_t *rt = mod_md_runtime_get(r->server);
    const char *host;
    const char *token;
    apr_status_t rv;
    int status;

    if (!rt || !rt->has_mds || !r->parsed_uri.path || ap_ssl_conn_is_ssl(r->connection)) {
        return DECLINED;
    }
    rv = md_challenges_http01_request(&host, &token, r->hostname, r->parsed_uri.path, r->pool);
    if (rv == APR_ENOENT) {
        return DECLINED;
    }
    status = rv == APR_SUCCESS ? serve_http01(rt, r, host, token) : HTTP_NOT_FOUND;
    /* Unknown tokens on names we do not manage are the site's business. */
    if (status != HTTP_NOT_FOUND || mod_md_server_state(rt, r->server)) {
        return status;
    }
    return DECLINED;
}

void mod_md_challenges_register_hooks(void)
{
    ap_hook_post_read_request(http01_read_request, NULL, NULL, APR_HOOK_MIDDLE);
}
