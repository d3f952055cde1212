/* MDRequireHttps: redirects to https and HSTS (see mod_md_https.h). */
#include <string.h>

#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <http_ssl.h>
#include <util_filter.h>

#include "md.h"
#include "md_challenges.h"
#include "md_reg.h"
#include "mod_md_config.h"
#include "mod_md_runtime.h"
#include "mod_md_https.h"

APLOG_USE_MODULE(md);

#define HSTS_FILTER             "MD_HSTS"

/* The MD of the request's host if its MDRequireHttps applies: the MD wants
 * it, has a certificate to serve, and the host is one of its names. */
static const md_t *require_https_md(request_rec *r, md_require_t at_least)
{
    const md_reg_state_t *st = mod_md_host_state(mod_md_runtime_get(r->server), r->server,
                                                 r->hostname, r->pool);

    if (!st || !st->has_cert || st->md->require_https < at_least) {
        return NULL;
    }
    return st->md;
}

static int redirect_read_request(request_rec *r)
{
    const md_t *md;
    const char *url;
    int status;

    if (!r->parsed_uri.path || ap_ssl_conn_is_ssl(r->connection)
        || !(md = require_https_md(r, MD_REQUIRE_TEMPORARY))) {
        return DECLINED;
    }
    /* The CA validates http-01 over plain http; so must it stay. */
    if (!strncmp(r->parsed_uri.path, MD_HTTP01_PATH_PREFIX,
                 sizeof(MD_HTTP01_PATH_PREFIX) - 1)) {
        return DECLINED;
    }
    if (mod_md_config_local_port(mod_md_config_get(r->server), 443) == 0) {
        return DECLINED;
    }
    url = apr_pstrcat(r->pool, "https://", r->hostname, r->parsed_uri.path,
                      r->parsed_uri.query ? "?" : "",
                      r->parsed_uri.query ? r->parsed_uri.query : "", NULL);
    /* RFC 9110 §15.4: 301/302 let clients turn a POST into a GET; 308/307
     * keep the method and body. */
    if (md->require_https == MD_REQUIRE_PERMANENT) {
        status = r->method_number == M_GET ? HTTP_MOVED_PERMANENTLY
                                           : HTTP_PERMANENT_REDIRECT;
    }
    else {
        status = r->method_number == M_GET ? HTTP_MOVED_TEMPORARILY
                                           : HTTP_TEMPORARY_REDIRECT;
    }
    apr_table_setn(r->headers_out, "Location", url);
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                  "MD17101: %s: MDRequireHttps %s, redirecting to %s", md->name,
                  md->require_https == MD_REQUIRE_PERMANENT ? "permanent" : "temporary", url);
    return status;
}

/* Runs just before the response headers go out, after mod_headers and
 * whoever else may have set the header. */
static apr_status_t hsts_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;

    if (!apr_table_get(r->headers_out, MOD_MD_HSTS_HEADER)
        && !apr_table_get(r->err_headers_out, MOD_MD_HSTS_HEADER)) {
        apr_table_setn(r->err_headers_out, MOD_MD_HSTS_HEADER, MOD_MD_HSTS_VALUE);
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

static void hsts_insert(request_rec *r)
{
    if (ap_ssl_conn_is_ssl(r->connection) && require_https_md(r, MD_REQUIRE_PERMANENT)) {
        ap_add_output_filter(HSTS_FILTER, NULL, r, r->connection);
    }
}

void mod_md_https_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_read_request(redirect_read_request, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_filter(hsts_insert, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_error_filter(hsts_insert, NULL, NULL, APR_HOOK_MIDDLE);
    /* After mod_headers' output filters (AP_FTYPE_CONTENT_SET), before the
     * protocol filters send the headers. */
    ap_register_output_filter(HSTS_FILTER, hsts_filter, NULL, AP_FTYPE_CONTENT_SET + 5);
}
