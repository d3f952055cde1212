/* tls-alpn-01 (RFC 8737) in the server: offer the acme-tls/1 protocol in
 * ALPN through httpd's protocol hooks, answer the validation handshake with
 * the certificate the watchdog put into challenges/<name>/ (through the
 * core's ssl_answer_challenge hook, which mod_ssl runs after a protocol
 * switch), and close such a connection right after the handshake.
 *
 * The protocol is only selected where the admin allows it: httpd's
 * ap_select_protocol honours the Protocols directive of the virtual host,
 * so "Protocols h2 http/1.1 acme-tls/1" turns it on.
 *
 * The store holds one validation certificate per key type of the MD (as
 * the stock module makes them); the handshake is answered with the type
 * the validator's signature algorithms prefer, and only with it (mod_ssl's
 * pre_handshake hook gives us the connection's SSL for that).
 *
 * Runs in the serving children, on connection threads; reads only the
 * runtime (read-only after post_config) and the store.
 */
#include <string.h>

#include <apr_buckets.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_connection.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_ssl.h>
#include <util_filter.h>

#include <apr_optional_hooks.h>

#include "md.h"
#include "md_crypt.h"
#include "md_dns.h"
#include "md_keys.h"
#include "md_store.h"
#include "md_util.h"
#include "mod_md_config.h"
#include "mod_md_runtime.h"
#include "mod_md_tls_alpn.h"

APLOG_USE_MODULE(md);

/* What we keep per TLS connection (in its conn_config). */
typedef struct {
    int acme;               /* switched to acme-tls/1 */
    struct ssl_st *ssl;     /* mod_ssl's SSL of the connection, opaque here */
} md_conn_t;

static md_conn_t *conn_get(const conn_rec *c)
{
    return ap_get_module_config(c->conn_config, &md_module);
}

static md_conn_t *conn_make(conn_rec *c)
{
    md_conn_t *mc = conn_get(c);

    if (!mc) {
        mc = apr_pcalloc(c->pool, sizeof(*mc));
        ap_set_module_config(c->conn_config, &md_module, mc);
    }
    return mc;
}

static int is_acme_conn(const conn_rec *c)
{
    const md_conn_t *mc = conn_get(c);

    return mc && mc->acme;
}

/* mod_ssl's optional hook, declared in its mod_ssl_openssl.h (which
 * Debian's apache2-dev does not ship): run for every new TLS connection. */
static int md_ssl_pre_handshake(conn_rec *c, struct ssl_st *ssl, int is_proxy)
{
    const mod_md_runtime_t *rt = mod_md_runtime_get(c->base_server);

    if (!is_proxy && rt && rt->acme_tls_1_any) {
        conn_make(c)->ssl = ssl;
    }
    return DECLINED;
}

/* A TLS connection (no request) whose client offers acme-tls/1: propose it.
 * Whether it is selected is up to Protocols of the virtual host. */
static int md_protocol_propose(conn_rec *c, request_rec *r, server_rec *s,
                               const apr_array_header_t *offers,
                               apr_array_header_t *proposals)
{
    const mod_md_runtime_t *rt = mod_md_runtime_get(c->base_server);

    (void)s;
    if (r || !rt || !rt->acme_tls_1_any || !offers
        || md_array_str_index(offers, MD_PROTO_ACME_TLS_1, 0, 1) < 0) {
        return DECLINED;
    }
    ap_log_cerror(APLOG_MARK, APLOG_TRACE1, 0, c, "MD16500: proposing protocol %s",
                  MD_PROTO_ACME_TLS_1);
    APR_ARRAY_PUSH(proposals, const char *) = MD_PROTO_ACME_TLS_1;
    return OK;
}

static int md_protocol_switch(conn_rec *c, request_rec *r, server_rec *s,
                              const char *protocol)
{
    (void)s;
    if (r || !protocol || strcmp(protocol, MD_PROTO_ACME_TLS_1)) {
        return DECLINED;
    }
    conn_make(c)->acme = 1;
    ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, c, "MD16501: switched the connection to %s",
                  MD_PROTO_ACME_TLS_1);
    return OK;
}

static const char *md_protocol_get(const conn_rec *c)
{
    return is_acme_conn(c) ? MD_PROTO_ACME_TLS_1 : NULL;
}

/* The name a validation is for: the SNI itself, or the IP address its
 * reverse-DNS form stands for (RFC 8738 §6). NULL if it is neither a host
 * name nor an address we could have a challenge for. */
static const char *challenge_name(const char *server_name, apr_pool_t *p)
{
    const char *name = md_util_str_tolower(p, server_name);
    const char *ip = md_dns_ip_from_reverse_name(p, name);

    if (ip) {
        return ip;
    }
    return md_dns_is_name(name, 0, 1, NULL) ? name : NULL;
}

/* The validation certificate (file names) of one key type in the store. */
typedef struct {
    const char *cert;
    const char *key;
} answer_files_t;

/* Which validation certificates the store has for name: RSA and EC (the
 * first EC one, by file name). 0 if none. */
static int answers_find(answer_files_t *rsa, answer_files_t *ec, md_store_t *store,
                        const char *name, apr_pool_t *p)
{
    static const char cert_prefix[] = MD_FN_TLSALPN01_PREFIX "pubcert";
    apr_array_header_t *names;
    int i;

    memset(rsa, 0, sizeof(*rsa));
    memset(ec, 0, sizeof(*ec));
    if (md_store_list_aspects(store, MD_SG_CHALLENGES, name, &names, p) != APR_SUCCESS) {
        return 0;
    }
    for (i = 0; i < names->nelts; ++i) {
        const char *cert = MD_ARR_IDX(names, i, const char *);
        const char *rest;
        answer_files_t *slot;

        if (strncmp(cert, cert_prefix, sizeof(cert_prefix) - 1)) {
            continue;
        }
        rest = cert + sizeof(cert_prefix) - 1;     /* ".pem" or ".<curve>.pem" */
        slot = !strcmp(rest, ".pem") ? rsa : ec;
        if (!slot->cert || strcmp(cert, slot->cert) < 0) {
            slot->cert = cert;
            slot->key = apr_pstrcat(p, MD_FN_TLSALPN01_PREFIX "privkey", rest, NULL);
        }
    }
    return rsa->cert || ec->cert;
}

static int md_answer_challenge(conn_rec *c, const char *server_name, const char **pcert_pem,
                               const char **pkey_pem)
{
    const mod_md_runtime_t *rt = mod_md_runtime_get(c->base_server);
    const md_conn_t *mc = conn_get(c);
    answer_files_t rsa, ec;
    const answer_files_t *use;
    const char *name;
    const char *cert = NULL;
    const char *key = NULL;

    if (!rt || !rt->store || !is_acme_conn(c) || !server_name) {
        return DECLINED;
    }
    if (!(name = challenge_name(server_name, c->pool))) {
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, c, "MD16502: %s: no name to answer a "
                      "tls-alpn-01 challenge for", md_util_str_printable(c->pool,
                                                                        server_name, 80));
        return DECLINED;
    }
    if (!answers_find(&rsa, &ec, rt->store, name, c->pool)) {
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, c, "MD16503: %s: no tls-alpn-01 challenge "
                      "pending", name);
        return DECLINED;
    }
    /* The key type the validator's handshake prefers among those we have. */
    use = md_tls_peer_key_type(mc ? mc->ssl : NULL, rsa.cert != NULL, ec.cert != NULL)
          == MD_PKEY_TYPE_RSA ? &rsa : &ec;
    if (md_store_load_text(rt->store, MD_SG_CHALLENGES, name, use->cert, &cert, c->pool)
        != APR_SUCCESS
        || md_store_load_text(rt->store, MD_SG_CHALLENGES, name, use->key, &key, c->pool)
           != APR_SUCCESS) {
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, c, "MD16506: %s: the tls-alpn-01 challenge "
                      "went away while answering", name);
        return DECLINED;
    }
    if (mc && mc->ssl) {
        /* Only the validation certificate: no host certificate of another
         * key type may be chosen instead. */
        md_tls_certs_clear(mc->ssl);
    }
    ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, c, "MD16504: %s: answering the tls-alpn-01 "
                  "challenge with %s (of %s%s%s; the client's preference %s)", name, use->cert,
                  rsa.cert ? "RSA" : "", rsa.cert && ec.cert ? ", " : "", ec.cert ? "EC" : "",
                  mc && mc->ssl ? "known" : "unknown");
    *pcert_pem = cert;
    *pkey_pem = key;
    return OK;
}

/* RFC 8737 §3: after the handshake nothing more is exchanged. The handshake
 * happens on the first read; do it here (as mod_http2 does) to learn the
 * protocol, and close a validation connection at once. */
static int md_process_connection(conn_rec *c)
{
    const mod_md_runtime_t *rt = mod_md_runtime_get(c->base_server);
    apr_bucket_brigade *bb;
    apr_status_t rv;

    if (!rt || !rt->acme_tls_1_any || !ap_ssl_conn_is_ssl(c)) {
        return DECLINED;
    }
    if (!is_acme_conn(c)) {
        bb = apr_brigade_create(c->pool, c->bucket_alloc);
        rv = ap_get_brigade(c->input_filters, bb, AP_MODE_INIT, APR_BLOCK_READ, 0);
        apr_brigade_destroy(bb);
        if (rv != APR_SUCCESS || !is_acme_conn(c)) {
            return DECLINED;
        }
    }
    ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, c, "MD16505: %s handshake done, closing the "
                  "connection", MD_PROTO_ACME_TLS_1);
    c->keepalive = AP_CONN_CLOSE;
    if (c->cs) {
        c->cs->state = CONN_STATE_LINGER;
    }
    return DONE;
}

void mod_md_tls_alpn_register_hooks(void)
{
    ap_hook_protocol_propose(md_protocol_propose, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_protocol_switch(md_protocol_switch, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_protocol_get(md_protocol_get, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_ssl_answer_challenge(md_answer_challenge, NULL, NULL, APR_HOOK_MIDDLE);
    apr_optional_hook_add("pre_handshake", (void (*)(void))md_ssl_pre_handshake, NULL, NULL,
                          APR_HOOK_MIDDLE);
    ap_hook_process_connection(md_process_connection, NULL, NULL, APR_HOOK_MIDDLE);
}
