/* OCSP stapling: mod_ssl's prime and get-response hooks, the watchdog task
 * that renews responses, and stapling in the status outputs (see
 * mod_md_ocsp.h). The work is the core's (md_ocsp_reg.h); this file
 * translates between httpd and it.
 */
#include <string.h>
#include <unistd.h>

#include <apr_atomic.h>
#include <apr_shm.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_ssl.h>
#include <mod_status.h>
#include <mod_watchdog.h>
#include <unixd.h>

#include "md.h"
#include "md_http.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_notify.h"
#include "md_ocsp.h"
#include "md_ocsp_reg.h"
#include "md_sched.h"
#include "md_store.h"
#include "md_time.h"
#include "md_util.h"
#include "mod_md_config.h"
#include "mod_md_ocsp.h"
#include "mod_md_runtime.h"
#include "mod_md_watchdog.h"

APLOG_USE_MODULE(md);

#define OCSP_WATCHDOG_NAME      "_md_ocsp_"
/* The watchdog looks at least this often, and not more often than MIN. */
#define OCSP_WAIT_MAX           apr_time_from_sec(60 * 60)
#define OCSP_WAIT_MIN           apr_time_from_msec(200)
/* How often unused response files are looked for (MDStaplingKeepResponse). */
#define OCSP_CLEANUP_EVERY      apr_time_from_sec(60 * 60)
#define OCSP_CONNECT_TIMEOUT    apr_time_from_sec(10)
#define OCSP_TIMEOUT            apr_time_from_sec(30)
#define OCSP_USER_AGENT         "mod_md-ng"
/* A string from the store or a responder shown in server-status. */
#define SHOW_MAX_LEN            512

/* This config cycle's stapling (rt->ocsp): made in post_config (parent),
 * read-only afterwards but for the watchdog's own fields. */
typedef mod_md_ocsp_t ocsp_rt_t;

struct mod_md_ocsp_t {
    server_rec *s;
    const mod_md_global_t *g;
    md_store_t *store;
    md_ocsp_reg_t *reg;
    md_notify_t *notify;            /* MDMessageCmd for ocsp-renewed/-errored */
    const char *proxy_url;          /* MDHttpProxy (the server config's), or NULL */
    const char *proxy_ca_file;
    /* The watchdog thread's (in the one child that runs it): */
    mod_md_watchdog_t wd;           /* the task (and its thread at exit) */
    apr_pool_t *wp;
    md_http_t *http;
    apr_time_t next_cleanup;
    apr_hash_t *revoked_told;       /* MD name -> apr_uint32_t: "revoked" logged */
    mod_md_runtime_t *owner;        /* the generation's runtime */
};

/* The stapling of the generation s belongs to, NULL when nothing is stapled. */
static ocsp_rt_t *ocsp_of(const server_rec *s)
{
    const mod_md_runtime_t *rt = mod_md_runtime_get(s);

    return rt ? rt->ocsp : NULL;
}

/* --- start-up (parent) ----------------------------------------------------- */

/* Are certificates of s that are not from an MD stapled? As in the stock
 * module, when both MDStapling and MDStapleOthers of s are on: the
 * VirtualHost's own values, else the server config's (mod_md_config.h). */
static int server_staples_others(const server_rec *s)
{
    const md_srv_conf_t *sc = mod_md_config_get(s);

    return sc && sc->stapling && sc->staple_others;
}

/* Is the certificate of s (from md, or not from an MD) stapled? As in the
 * stock module, when md staples or s staples others; but an MD whose own
 * MDStapling is off is stapled only when the VirtualHost itself says
 * MDStapling on, not when it inherits that from the server config (stock
 * staples it then too, while its md-status says stapling is off: see the
 * README's differences). */
static int staple_here(const server_rec *s, const md_t *md)
{
    if (md && md->stapling) {
        return 1;
    }
    return server_staples_others(s) && (!md || mod_md_config_server_sets(s, "MDStapling"));
}

static int anything_to_staple(server_rec *base, const mod_md_global_t *g)
{
    server_rec *s;
    int i;

    for (i = 0; g->mds && i < g->mds->nelts; ++i) {
        if (MD_ARR_IDX(g->mds, i, const md_t *)->stapling) {
            return 1;
        }
    }
    for (s = base; s; s = s->next) {
        if (server_staples_others(s)) {
            return 1;
        }
    }
    return 0;
}

/* Without MDs nobody opened the store yet. The watchdog child (User)
 * writes ocsp/. */
static md_store_t *open_store(server_rec *s, const mod_md_global_t *g, apr_pool_t *pconf)
{
    md_store_t *store = NULL;
    apr_status_t rv = md_store_fs_open(&store, pconf, g->store_dir);

    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "MD22500: cannot open the certificate "
                     "store at %s (MDStoreDir); no OCSP stapling", g->store_dir);
        return NULL;
    }
    if (geteuid() == 0) {
        md_store_set_owner(store, (int)ap_unixd_config.user_id, (int)ap_unixd_config.group_id,
                           pconf);
    }
    return store;
}

void mod_md_ocsp_setup(mod_md_runtime_t *owner)
{
    server_rec *s = owner->s;
    mod_md_global_t *g = owner->g;
    apr_pool_t *pconf = owner->pconf;
    md_store_t *store = owner->store;
    const md_srv_conf_t *sc = mod_md_config_get(s);
    md_ocsp_reg_cfg_t cfg;
    ocsp_rt_t *rt;
    int i;

    if (!anything_to_staple(s, g)) {
        return;
    }
    if (md_http_global_init() != APR_SUCCESS || (!store && !(store = open_store(s, g, pconf)))) {
        return;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.renew_window = *g->stapling_renew_window;
    cfg.keep = g->stapling_keep_response;
    cfg.retry_base = g->retry_delay;
    rt = apr_pcalloc(pconf, sizeof(*rt));
    rt->owner = owner;
    rt->s = s;
    rt->g = g;
    rt->store = store;
    rt->reg = md_ocsp_reg_create(pconf, store, &cfg);
    rt->notify = md_notify_create(pconf, store, NULL, mod_md_config_message_argv(sc));
    if (g->defaults && g->defaults->http_proxy) {  /* "none" is NULL */
        rt->proxy_url = g->defaults->http_proxy;
        rt->proxy_ca_file = g->defaults->http_proxy_ca_file;
    }
    rt->revoked_told = apr_hash_make(pconf);
    for (i = 0; g->mds && i < g->mds->nelts; ++i) {
        const md_t *md = MD_ARR_IDX(g->mds, i, const md_t *);
        apr_hash_set(rt->revoked_told, md->name, APR_HASH_KEY_STRING,
                     apr_pcalloc(pconf, sizeof(apr_uint32_t)));
    }
    owner->ocsp = rt;
}

/* --- mod_ssl's hooks --------------------------------------------------------- */

/* ssl_ocsp_prime_hook: mod_ssl (post_config, parent) offers a certificate
 * of server s with its issuer. OK: we staple for it. */
static int ocsp_prime(server_rec *s, apr_pool_t *p, const char *id, apr_size_t id_len,
                      const char *pem)
{
    ocsp_rt_t *ort = ocsp_of(s);
    const md_t *md;
    const md_reg_state_t *st;
    apr_pool_t *ptemp = NULL;
    const char *why = NULL;
    apr_status_t rv;

    if (!ort) {
        return DECLINED;
    }
    md = mod_md_server_md(ort->owner, s);
    if (!staple_here(s, md)) {
        return DECLINED;
    }

    if (apr_pool_create(&ptemp, p) != APR_SUCCESS) {
        return DECLINED;
    }
    rv = md_ocsp_reg_prime(ort->reg, id, id_len, pem, pem ? strlen(pem) : 0,
                           md ? md->name : NULL, apr_time_now(), &why, ptemp);
    if (rv == APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "MD22501: %s: stapling OCSP responses "
                     "for the certificate of the host at %s:%u", md ? md->name : MD_OCSP_OTHER,
                     s->defn_name ? s->defn_name : "-", s->defn_line_number);
    }
    else {
        /* A CA without OCSP (Let's Encrypt since 2025) is no mistake; a
         * must-staple certificate without a responder is. The fallback
         * served until there is a certificate names none either. */
        int real = md && (st = mod_md_server_state(ort->owner, s)) && st->has_cert;

        ap_log_error(APLOG_MARK, real && md->must_staple ? APLOG_WARNING
                     : (real ? APLOG_INFO : APLOG_DEBUG), 0, s,
                     "MD22502: %s: no OCSP stapling for the certificate of the host at %s:%u: "
                     "%s", md ? md->name : MD_OCSP_OTHER, s->defn_name ? s->defn_name : "-",
                     s->defn_line_number, why ? why : "cannot use it");
    }
    apr_pool_destroy(ptemp);
    return rv == APR_SUCCESS ? OK : DECLINED;
}

/* ssl_ocsp_get_resp_hook: a handshake asks for the response to staple. For
 * a certificate we prime, cb gets the response or (NULL, 0): never does
 * mod_ssl fetch one itself in the handshake. */
static int ocsp_get_resp(server_rec *s, conn_rec *c, const char *id, apr_size_t id_len,
                         ap_ssl_ocsp_copy_resp *cb, void *userdata)
{
    ocsp_rt_t *ort = ocsp_of(s);

    if (!ort || md_ocsp_reg_get(ort->reg, id, id_len, cb, userdata, apr_time_now())
                != APR_SUCCESS) {
        return DECLINED;
    }
    ap_log_cerror(APLOG_MARK, APLOG_TRACE2, 0, c, "MD22503: OCSP stapling asked for");
    return OK;
}

/* --- the watchdog ------------------------------------------------------------ */

static apr_status_t notify(void *baton, const char *mdname, const char *reason,
                           md_result_t *result, apr_pool_t *p)
{
    ocsp_rt_t *rt = baton;

    if (!md_notify_configured(rt->notify)) {
        return APR_ENOTIMPL;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, rt->s, "MD22504: %s: telling MDMessageCmd "
                 "'%s'", mdname, reason);
    return md_notify_event(rt->notify, mdname, reason, NULL, result, p);
}

/* In the watchdog's child, at its first run: the HTTP client. */
static apr_status_t watchdog_start(ocsp_rt_t *rt)
{
    apr_status_t rv = apr_pool_create_unmanaged_ex(&rt->wp, NULL, NULL);

    if (rv == APR_SUCCESS) {
        rv = md_http_create(&rt->http, rt->wp, OCSP_USER_AGENT, rt->g->ca_file);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, rt->s, "MD22505: cannot start getting OCSP "
                     "responses");
        if (rt->wp) {
            apr_pool_destroy(rt->wp);
            rt->wp = NULL;
        }
        rt->http = NULL;
        return rv;
    }
    md_http_set_timeouts(rt->http, OCSP_CONNECT_TIMEOUT, OCSP_TIMEOUT);
    md_http_set_max_body(rt->http, MD_OCSP_RESP_MAX_LEN);
    if (rt->proxy_url) {
        md_http_set_proxy(rt->http, rt->proxy_url, rt->proxy_ca_file);
    }
    return APR_SUCCESS;
}

static apr_status_t run_watchdog(int state, void *baton, apr_pool_t *ptemp)
{
    ocsp_rt_t *rt = baton;
    apr_interval_time_t wait = OCSP_WAIT_MAX;
    apr_time_t now;
    apr_time_t next;
    int removed;

    if (state == AP_WATCHDOG_STATE_STOPPING) {
        mod_md_watchdog_stopped(&rt->wd);
        return APR_SUCCESS;
    }
    mod_md_watchdog_ran(&rt->wd);
    /* STARTING too: the first RUNNING comes a registered interval later. */
    if (rt->http || watchdog_start(rt) == APR_SUCCESS) {
        now = apr_time_now();
        if (now >= rt->next_cleanup) {
            removed = md_ocsp_reg_cleanup(rt->reg, now, ptemp);
            rt->next_cleanup = now + OCSP_CLEANUP_EVERY;
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, rt->s, "MD22506: removed %d unused "
                         "OCSP responses", removed);
        }
        next = md_ocsp_reg_renew(rt->reg, rt->http, notify, rt, now, ptemp);
        now = apr_time_now();
        if (next > 0 && next - now < wait) {
            wait = next - now;
        }
        if (rt->next_cleanup - now < wait) {
            wait = rt->next_cleanup - now;
        }
        if (wait < OCSP_WAIT_MIN) {
            wait = OCSP_WAIT_MIN;
        }
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, rt->s, "MD22507: OCSP stapling of %d "
                     "certificates, next look in %s", md_ocsp_reg_count(rt->reg),
                     md_duration_print(wait, ptemp));
    }
    mod_md_watchdog_next(&rt->wd, wait);
    return APR_SUCCESS;
}

static apr_status_t watchdog_register(ocsp_rt_t *rt, apr_pool_t *pconf)
{
    apr_status_t rv;

    rv = mod_md_watchdog_register(&rt->wd, OCSP_WATCHDOG_NAME, OCSP_WAIT_MIN, run_watchdog, rt,
                                  pconf);
    if (rv == APR_ENOTIMPL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, rt->s, "MD22508: mod_watchdog is required "
                     "for OCSP stapling but is not available");
    }
    else if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, rt->s, "MD22509: cannot register the OCSP "
                     "stapling with mod_watchdog");
    }
    return rv;
}

/* After mod_ssl's post_config: every certificate is primed. The counters
 * that tell children about new responses go into shared memory before
 * they fork. */
static int ocsp_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                            server_rec *s)
{
    ocsp_rt_t *ort = ocsp_of(s);
    apr_shm_t *shm = NULL;
    apr_size_t size;
    apr_status_t rv;

    (void)plog;
    (void)ptemp;
    if (!ort) {
        return OK;
    }
    size = md_ocsp_reg_shared_size(ort->reg);
    rv = apr_shm_create(&shm, size, NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, "MD22510: no shared memory for OCSP "
                     "stapling: children look for new responses once a minute");
        md_ocsp_reg_seal(ort->reg, NULL, 0);
    }
    else {
        md_ocsp_reg_seal(ort->reg, apr_shm_baseaddr_get(shm), apr_shm_size_get(shm));
    }
    if (md_ocsp_reg_count(ort->reg) == 0) {
        return OK;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "MD22511: stapling OCSP responses for %d "
                 "certificates", md_ocsp_reg_count(ort->reg));
    if (!mod_md_runtime_dry_run()) {
        /* Without the task, keep serving: stored responses are stapled
         * until they expire. */
        watchdog_register(ort, pconf);
    }
    return OK;
}

/* --- for the renewal watchdog ------------------------------------------------- */

int mod_md_ocsp_md_revoked(const mod_md_runtime_t *rt, const md_t *md)
{
    const ocsp_rt_t *ort = rt ? rt->ocsp : NULL;
    apr_uint32_t *told;
    int revoked;

    if (!ort || !md || !md->stapling) {
        return 0;
    }
    revoked = md_ocsp_reg_md_revoked(ort->reg, md->name, apr_time_now());
    told = apr_hash_get(ort->revoked_told, md->name, APR_HASH_KEY_STRING);
    if (revoked && told && apr_atomic_cas32(told, 1, 0) == 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ort->s, "MD22512: %s: the OCSP responder "
                     "says its certificate is revoked; getting a new one", md->name);
    }
    return revoked;
}

apr_time_t mod_md_ocsp_next_check(const mod_md_runtime_t *rt, apr_time_t now)
{
    const ocsp_rt_t *ort = rt ? rt->ocsp : NULL;

    if (!ort || md_ocsp_reg_count(ort->reg) == 0) {
        return 0;
    }
    return md_sched_ocsp_check_at(md_ocsp_reg_next_renewal(ort->reg, now), now);
}

/* --- status ------------------------------------------------------------------ */

static void status_md_certs(const ocsp_rt_t *ort, json_t *mdj, int with_log, apr_time_t now,
                            apr_pool_t *p)
{
    json_t *certs = md_json_get_obj(mdj, MD_KEY_CERT);
    const char *key;
    json_t *c;

    json_object_foreach(certs, key, c) {
        const char *fp = json_is_object(c) ? md_json_get_str(c, MD_KEY_SHA256_FP) : NULL;
        json_t *o = fp ? md_ocsp_reg_cert_json(ort->reg, fp, with_log, now, p) : NULL;

        if (o) {
            json_object_set(c, MD_KEY_OCSP, o);
        }
    }
}

void mod_md_ocsp_status_md(const mod_md_runtime_t *rt, json_t *mdj, int with_log,
                           apr_pool_t *p)
{
    const ocsp_rt_t *ort = rt ? rt->ocsp : NULL;
    json_t *mds = md_json_get_array(mdj, MD_KEY_MANAGED_DOMAINS);
    apr_time_t now = apr_time_now();
    size_t i;

    if (!ort || md_ocsp_reg_count(ort->reg) == 0) {
        return;
    }
    if (!mds) {
        status_md_certs(ort, mdj, with_log, now, p);
        return;
    }
    for (i = 0; i < json_array_size(mds); ++i) {
        status_md_certs(ort, json_array_get(mds, i), with_log, now, p);
    }
}

void mod_md_ocsp_status_cert(const mod_md_runtime_t *rt, json_t *cert_status, apr_pool_t *p)
{
    const ocsp_rt_t *ort = rt ? rt->ocsp : NULL;
    apr_time_t now = apr_time_now();
    const char *key;
    json_t *c;

    if (!ort || md_ocsp_reg_count(ort->reg) == 0) {
        return;
    }
    json_object_foreach(cert_status, key, c) {
        const char *fp = json_is_object(c) ? md_json_get_str(c, MD_KEY_SHA256_FP) : NULL;
        json_t *o = fp ? md_ocsp_reg_cert_json(ort->reg, fp, 0, now, p) : NULL;

        if (o) {
            json_object_del(o, MD_KEY_RENEWAL);
            json_object_set(c, MD_KEY_OCSP, o);
        }
    }
}

static const char *esc(apr_pool_t *p, const char *s)
{
    return s ? ap_escape_html2(p, md_util_str_printable(p, s, SHOW_MAX_LEN), 1) : "";
}

static const char *line(apr_pool_t *p, const char *s)
{
    return s ? md_util_str_printable(p, s, SHOW_MAX_LEN) : "";
}

/* The last renewal attempt, if it failed: "failed N times: detail". */
static const char *failure_text(const json_t *o, apr_pool_t *p)
{
    const json_t *renewal = md_json_get_obj(o, MD_KEY_RENEWAL);
    const json_t *last = renewal ? md_json_get_obj(renewal, MD_KEY_LAST) : NULL;
    long long errors = renewal ? md_json_get_int(renewal, MD_KEY_ERRORS, 0) : 0;

    if (errors <= 0 || !last) {
        return NULL;
    }
    /* APR's formatter knows no %lld. */
    return apr_psprintf(p, "failed %" APR_INT64_T_FMT " time%s: %s", (apr_int64_t)errors,
                        errors == 1 ? "" : "s",
                        md_json_get_str(last, MD_KEY_DETAIL) ? md_json_get_str(last,
                                                                             MD_KEY_DETAIL)
                                                             : "?");
}

static void render_html(request_rec *r, const json_t *list)
{
    apr_pool_t *p = r->pool;
    size_t i;

    ap_rputs("<hr>\n<h2>Managed Staplings</h2>\n<table class=\"md_ocsp_status\"><thead><tr>"
             "<th>Domain</th><th>Certificate ID</th><th>OCSP Status</th>"
             "<th>Stapling Valid</th><th>Responder</th><th>Activity</th></tr></thead>"
             "<tbody>\n", r);
    for (i = 0; i < json_array_size(list); ++i) {
        const json_t *o = json_array_get(list, i);
        const json_t *valid = md_json_get_obj(o, MD_KEY_VALID);
        const char *until = valid ? md_json_get_str(valid, MD_KEY_UNTIL) : NULL;
        const char *renew = md_json_get_str(o, MD_KEY_RENEW_AT);
        const char *failed = failure_text(o, p);

        ap_rprintf(r, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                   "<td>%s</td></tr>\n", esc(p, md_json_get_str(o, MD_KEY_DOMAIN)),
                   esc(p, md_json_get_str(o, MD_KEY_ID)),
                   esc(p, md_json_get_str(o, MD_KEY_STATUS)),
                   until ? apr_pstrcat(p, "until ", esc(p, until), NULL) : "-",
                   esc(p, md_json_get_str(o, MD_KEY_URL)),
                   failed ? apr_pstrcat(p, "<span class=\"md-error\">", esc(p, failed),
                                        "</span>", NULL)
                          : (renew ? apr_pstrcat(p, "renew at ", esc(p, renew), NULL) : ""));
    }
    ap_rputs("</tbody></table>\n", r);
}

static void render_auto(request_rec *r, const json_t *list)
{
    apr_pool_t *p = r->pool;
    int good = 0;
    int revoked = 0;
    size_t i;

    for (i = 0; i < json_array_size(list); ++i) {
        const char *st = md_json_get_str(json_array_get(list, i), MD_KEY_STATUS);
        good += st && !strcmp(st, "good");
        revoked += st && !strcmp(st, "revoked");
    }
    /* The stock module's lines: Renew counts revoked, Errored unknown. */
    ap_rprintf(r, "ManagedStaplingsTotal: %d\n", (int)json_array_size(list));
    ap_rprintf(r, "ManagedStaplingsOK: %d\n", good);
    ap_rprintf(r, "ManagedStaplingsRenew: %d\n", revoked);
    ap_rprintf(r, "ManagedStaplingsErrored: %d\n", (int)json_array_size(list) - good - revoked);
    for (i = 0; i < json_array_size(list); ++i) {
        const json_t *o = json_array_get(list, i);
        const json_t *valid = md_json_get_obj(o, MD_KEY_VALID);
        const char *failed = failure_text(o, p);

        ap_rprintf(r, "ManagedStapling[%" APR_SIZE_T_FMT "]Domain: %s\n", i,
                   line(p, md_json_get_str(o, MD_KEY_DOMAIN)));
        ap_rprintf(r, "ManagedStapling[%" APR_SIZE_T_FMT "]CertificateID: %s\n", i,
                   line(p, md_json_get_str(o, MD_KEY_ID)));
        ap_rprintf(r, "ManagedStapling[%" APR_SIZE_T_FMT "]OCSPStatus: %s\n", i,
                   line(p, md_json_get_str(o, MD_KEY_STATUS)));
        if (valid) {
            ap_rprintf(r, "ManagedStapling[%" APR_SIZE_T_FMT "]StaplingValidUntil: %s\n", i,
                       line(p, md_json_get_str(valid, MD_KEY_UNTIL)));
        }
        ap_rprintf(r, "ManagedStapling[%" APR_SIZE_T_FMT "]Responder: %s\n", i,
                   line(p, md_json_get_str(o, MD_KEY_URL)));
        if (failed) {
            ap_rprintf(r, "ManagedStapling[%" APR_SIZE_T_FMT "]Activity: %s\n", i,
                       line(p, failed));
        }
    }
}

static int ocsp_status_hook(request_rec *r, int flags)
{
    const ocsp_rt_t *ort = ocsp_of(r->server);
    json_t *list;

    if (!ort || !ort->g->server_status || md_ocsp_reg_count(ort->reg) == 0) {
        return DECLINED;
    }
    list = md_json_get_array(md_ocsp_reg_status_json(ort->reg, apr_time_now(), r->pool),
                             MD_KEY_OCSPS);
    if (flags & AP_STATUS_SHORT) {
        render_auto(r, list);
    }
    else {
        render_html(r, list);
    }
    return OK;
}

/* --- registration ------------------------------------------------------------ */

/* A child's exit waits for the OCSP watchdog thread (mod_md_watchdog_wait). */
static void ocsp_child_init(apr_pool_t *pchild, server_rec *s)
{
    ocsp_rt_t *ort = ocsp_of(s);

    if (ort) {
        apr_pool_cleanup_register(pchild, &ort->wd, mod_md_watchdog_wait,
                                  apr_pool_cleanup_null);
    }
}

void mod_md_ocsp_register_hooks(void)
{
    static const char *const after_ssl[] = { "mod_ssl.c", NULL };

    ap_hook_child_init(ocsp_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_ssl_ocsp_prime_hook(ocsp_prime, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_ssl_ocsp_get_resp_hook(ocsp_get_resp, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(ocsp_post_config, after_ssl, NULL, APR_HOOK_MIDDLE);
    /* After the "Managed Certificates" of mod_md_status.c. */
    APR_OPTIONAL_HOOK(ap, status_hook, ocsp_status_hook, NULL, NULL, APR_HOOK_LAST);
}
