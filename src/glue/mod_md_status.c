/* Status outputs: md-status JSON, md-metrics (Prometheus), server-status
 * and /.httpd/certificate-status (see mod_md_status.h). Each output is one
 * small render function over the core's status JSON (md_status.h).
 */
#include <string.h>

#include <apr_hash.h>
#include <apr_optional.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_status.h>

#include "md.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_stats.h"
#include "md_status.h"
#include "md_time.h"
#include "md_util.h"
#include "mod_md_cluster.h"
#include "mod_md_config.h"
#include "mod_md_ocsp.h"
#include "mod_md_runtime.h"
#include "mod_md_start.h"
#include "mod_md_status.h"

APLOG_USE_MODULE(md);

/* Longest string from the CA or the store shown in a status page. */
#define SHOW_MAX_LEN        1024
#define STATS_SHM_KEY       "mod_md_stats_shm"
#define CT_JSON             "application/json"
#define CT_PROMETHEUS       "text/plain; version=0.0.4; charset=utf-8"

/* What post_config gathered for this config cycle (rt->status, read-only
 * after). */
typedef mod_md_status_t status_rt_t;

struct mod_md_status_t {
    const mod_md_runtime_t *rt;
    const mod_md_global_t *g;
    md_store_t *store;
    apr_array_header_t *snaps;      /* md_status_snap_t*, config order */
    apr_hash_t *by_name;            /* MD name and every domain -> snap */
    md_stats_t *stats;              /* CA request counters, may be NULL */
};

/* The status of the generation s belongs to (NULL before its post_config). */
static const status_rt_t *status_of(const server_rec *s)
{
    const mod_md_runtime_t *rt = mod_md_runtime_get(s);

    return rt ? rt->status : NULL;
}

/* --- start-up (parent) --------------------------------------------------- */

/* The counters outlive config cycles: one segment per parent process, in
 * its process pool, found again on every restart. */
static md_stats_t *stats_attach(server_rec *s)
{
    apr_pool_t *pp = s->process->pool;
    apr_shm_t *shm = NULL;
    void *data = NULL;
    apr_status_t rv;

    apr_pool_userdata_get(&data, STATS_SHM_KEY, pp);
    shm = data;
    if (!shm) {
        rv = apr_shm_create(&shm, md_stats_size(), NULL, pp);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                         "MD17001: cannot create shared memory for the CA request "
                         "counters; metrics will not count requests");
            return NULL;
        }
        apr_pool_userdata_set(shm, STATS_SHM_KEY, apr_pool_cleanup_null, pp);
    }
    return md_stats_init(apr_shm_baseaddr_get(shm), apr_shm_size_get(shm));
}

static void stats_add_cas(md_stats_t *stats, const md_t *md, server_rec *s)
{
    int i;

    for (i = 0; stats && md->ca_urls && i < md->ca_urls->nelts; ++i) {
        const char *url = MD_ARR_IDX(md->ca_urls, i, const char *);
        apr_status_t rv = md_stats_add_ca(stats, url);

        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_INFO, rv, s,
                         "MD17002: %s: requests to CA %s are counted as \"%s\"", md->name,
                         url, MD_STATS_OTHER);
        }
    }
}

void mod_md_status_setup(mod_md_runtime_t *rt)
{
    apr_pool_t *pconf = rt->pconf;
    server_rec *s = rt->s;
    status_rt_t *x;
    int i;
    int j;

    x = apr_pcalloc(pconf, sizeof(*x));
    x->rt = rt;
    x->g = rt->g;
    x->snaps = apr_array_make(pconf, rt->has_mds ? rt->state_list->nelts : 1,
                              sizeof(md_status_snap_t *));
    x->by_name = apr_hash_make(pconf);
    x->stats = stats_attach(s);
    md_stats_use(x->stats);
    if (rt->has_mds) {
        x->store = rt->store;
        for (i = 0; i < rt->state_list->nelts; ++i) {
            const md_reg_state_t *st = MD_ARR_IDX(rt->state_list, i, const md_reg_state_t *);
            md_status_snap_t *snap = mod_md_start_snap(st);

            APR_ARRAY_PUSH(x->snaps, md_status_snap_t *) = snap;
            apr_hash_set(x->by_name, st->md->name, APR_HASH_KEY_STRING, snap);
            for (j = 0; j < st->md->domains->nelts; ++j) {
                apr_hash_set(x->by_name, MD_ARR_IDX(st->md->domains, j, const char *),
                             APR_HASH_KEY_STRING, snap);
            }
            stats_add_cas(x->stats, st->md, s);
        }
    }
    rt->status = x;
}

/* --- helpers -------------------------------------------------------------- */

static const md_status_snap_t *snap_of_md(const status_rt_t *srt, const md_t *md)
{
    return md ? apr_hash_get(srt->by_name, md->name, APR_HASH_KEY_STRING) : NULL;
}

/* A string from the CA or the store, safe inside HTML. */
static const char *html(apr_pool_t *p, const char *s)
{
    return s ? ap_escape_html2(p, md_util_str_printable(p, s, SHOW_MAX_LEN), 1) : "";
}

/* A string safe as one "Key: value" line of ?auto. */
static const char *line(apr_pool_t *p, const char *s)
{
    return s ? md_util_str_printable(p, s, SHOW_MAX_LEN) : "";
}

static const char *state_text(const json_t *mdj, apr_pool_t *p)
{
    const char *descr = md_json_get_str(mdj, MD_KEY_STATE_DESCR);
    const char *what;

    switch (md_json_get_int(mdj, MD_KEY_STATE, MD_S_UNKNOWN)) {
    case MD_S_COMPLETE:
        return "good";
    case MD_S_INCOMPLETE:
        what = "incomplete";
        break;
    case MD_S_EXPIRED:
        what = "expired";
        break;
    case MD_S_ERROR:
        what = "error";
        break;
    case MD_S_MISSING_INFORMATION:
        what = "missing information";
        break;
    default:
        what = "unknown";
        break;
    }
    return descr ? apr_pstrcat(p, what, ": ", descr, NULL) : what;
}

static const char *ca_url(const json_t *mdj)
{
    const json_t *ca = md_json_get_obj(mdj, MD_KEY_CA);
    const char *url = ca ? md_json_get_str(ca, MD_KEY_URL) : NULL;
    json_t *urls = ca ? md_json_get_array(ca, MD_KEY_URLS) : NULL;

    if (!url && urls && json_array_size(urls) > 0) {
        url = json_string_value(json_array_get(urls, 0));
    }
    return url;
}

static const char *ca_name(const char *url, apr_pool_t *p)
{
    apr_uri_t uri;

    if (url && apr_uri_parse(p, url, &uri) == APR_SUCCESS && uri.hostname) {
        return uri.hostname;
    }
    return url;
}

/* "in 3 days 2 hours" / "5 minutes ago" */
static const char *relative(apr_time_t t, apr_time_t now, apr_pool_t *p)
{
    if (t >= now) {
        return apr_pstrcat(p, "in ", md_duration_print(t - now, p), NULL);
    }
    return apr_pstrcat(p, md_duration_print(now - t, p), " ago", NULL);
}

/* The status JSON of all MDs now, per-MD objects in config order. */
static json_t *all_mds(const status_rt_t *srt, apr_pool_t *p)
{
    return md_json_get_array(md_status_all_json(srt->store, srt->snaps, apr_time_now(), p),
                             MD_KEY_MANAGED_DOMAINS);
}

static void send_json(request_rec *r, const json_t *j)
{
    const char *text = apr_pstrcat(r->pool, md_json_dump(j, 1, r->pool), "\n", NULL);

    ap_set_content_type(r, CT_JSON);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_length(r, (apr_off_t)strlen(text));
    if (!r->header_only) {
        ap_rputs(text, r);
    }
}

/* GET (and HEAD, which httpd maps to GET) only. */
static int only_get(request_rec *r)
{
    ap_allow_standard_methods(r, REPLACE_ALLOW, M_GET, -1);
    return r->method_number == M_GET ? OK : HTTP_METHOD_NOT_ALLOWED;
}

/* --- md-status ------------------------------------------------------------ */

static int md_status_handler(request_rec *r)
{
    const status_rt_t *srt = status_of(r->server);
    const md_status_snap_t *snap;
    json_t *doc;
    const char *name;
    int rc;

    if (!r->handler || strcmp(r->handler, MOD_MD_STATUS_HANDLER)) {
        return DECLINED;
    }
    if ((rc = only_get(r)) != OK) {
        return rc;
    }
    if (!srt) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    name = r->path_info;
    while (name && *name == '/') {
        ++name;
    }
    if (!name || !*name) {
        doc = md_status_all_json(srt->store, srt->snaps, apr_time_now(), r->pool);
        mod_md_ocsp_status_md(srt->rt, doc, 0, r->pool);
    }
    else {
        name = md_util_str_tolower(r->pool, name);
        snap = apr_hash_get(srt->by_name, name, APR_HASH_KEY_STRING);
        if (!snap) {
            return HTTP_NOT_FOUND;
        }
        doc = md_status_md_load(srt->store, snap, 1, apr_time_now(), r->pool);
        mod_md_ocsp_status_md(srt->rt, doc, 1, r->pool);
    }
    /* A shared store: who holds which renewal. */
    mod_md_cluster_status_json(doc, srt->store, r->pool);
    send_json(r, doc);
    return OK;
}

/* --- /.httpd/certificate-status ------------------------------------------- */

/* Answered before anything else looks at the request: a host still on its
 * fallback certificate answers 503 for everything else. */
static int cert_status_read_request(request_rec *r)
{
    const status_rt_t *srt = status_of(r->server);
    const md_status_snap_t *snap;
    json_t *mdj;
    json_t *cs;
    int rc;

    if (!srt || !srt->g->certificate_status || !r->parsed_uri.path
        || strcmp(r->parsed_uri.path, MOD_MD_CERT_STATUS_PATH)) {
        return DECLINED;
    }
    snap = snap_of_md(srt, mod_md_server_md(srt->rt, r->server));
    if (!snap) {
        return DECLINED;
    }
    if ((rc = only_get(r)) != OK) {
        return rc;
    }
    mdj = md_status_md_load(srt->store, snap, 0, apr_time_now(), r->pool);
    cs = md_status_cert_status_json(mdj, r->pool);
    mod_md_ocsp_status_cert(srt->rt, cs, r->pool);
    r->status = HTTP_OK;
    send_json(r, cs);
    return DONE;
}

/* --- server-status -------------------------------------------------------- */

static const char *activity_html(const json_t *mdj, apr_time_t now, apr_pool_t *p)
{
    const json_t *renewal = md_json_get_obj(mdj, MD_KEY_RENEWAL);
    const json_t *last = renewal ? md_json_get_obj(renewal, MD_KEY_LAST) : NULL;
    const char *next = renewal ? md_json_get_str(renewal, MD_KEY_NEXT_RUN) : NULL;
    long long errors = renewal ? md_json_get_int(renewal, MD_KEY_ERRORS, 0) : 0;

    if (!renewal) {
        if (!md_json_get_bool(mdj, MD_KEY_RENEW, 0)) {
            return "";
        }
        return md_json_get_int(mdj, MD_KEY_RENEW_MODE, MD_RENEW_AUTO) == MD_RENEW_MANUAL
               ? "needs a certificate; renew mode is manual" : "renewal pending";
    }
    if (md_json_get_bool(renewal, MD_KEY_FINISHED, 0)) {
        return "new certificate staged, it goes live at the next (graceful) restart";
    }
    if (errors > 0 && last) {
        return apr_psprintf(p, "<span class=\"md-error\">failed %" APR_INT64_T_FMT
                            " time%s: %s%s%s%s</span>"
                            "%s%s%s",
                            (apr_int64_t)errors, errors == 1 ? "" : "s",
                            html(p, md_json_get_str(last, MD_KEY_DETAIL)),
                            md_json_get_str(last, MD_KEY_PROBLEM) ? " (" : "",
                            html(p, md_json_get_str(last, MD_KEY_PROBLEM)),
                            md_json_get_str(last, MD_KEY_PROBLEM) ? ")" : "",
                            md_json_get_str(last, MD_KEY_ACTIVITY) ? "<br>while: " : "",
                            html(p, md_json_get_str(last, MD_KEY_ACTIVITY)),
                            next ? apr_pstrcat(p, "<br>next attempt ",
                                               html(p, relative(md_time_parse_http(next), now,
                                                                p)), NULL) : "");
    }
    return apr_pstrcat(p, "renewing",
                       last && md_json_get_str(last, MD_KEY_ACTIVITY) ? ": " : "",
                       html(p, last ? md_json_get_str(last, MD_KEY_ACTIVITY) : NULL), NULL);
}

static const char *check_links_html(const status_rt_t *srt, const json_t *mdj, apr_pool_t *p)
{
    json_t *cert = md_json_get_obj(mdj, MD_KEY_CERT);
    const char *out = "";
    const char *key;
    json_t *v;

    if (!cert || !srt->g->cert_check_name || !srt->g->cert_check_url) {
        return out;
    }
    json_object_foreach(cert, key, v) {
        const char *fp = md_json_get_str(v, MD_KEY_SHA256_FP);

        if (fp) {
            out = apr_pstrcat(p, out, *out ? " " : "", "<a href=\"",
                              html(p, apr_pstrcat(p, srt->g->cert_check_url, fp, NULL)), "\">",
                              html(p, srt->g->cert_check_name), "</a>", NULL);
        }
    }
    return out;
}

static void render_html_row(request_rec *r, const status_rt_t *srt, const json_t *mdj,
                            apr_time_t now)
{
    apr_pool_t *p = r->pool;
    const json_t *valid = md_json_get_obj(md_json_get_obj(mdj, MD_KEY_CERT), MD_KEY_VALID);
    const char *until = valid ? md_json_get_str(valid, MD_KEY_UNTIL) : NULL;
    const char *renew_at = md_json_get_str(mdj, MD_KEY_RENEW_AT);
    const char *url = ca_url(mdj);
    json_t *domains = md_json_get_array(mdj, MD_KEY_DOMAINS);
    const char *names = "";
    size_t i;

    for (i = 0; domains && i < json_array_size(domains); ++i) {
        names = apr_pstrcat(p, names, i ? " " : "",
                            html(p, json_string_value(json_array_get(domains, i))), NULL);
    }
    ap_rprintf(r, "<tr><td>%s</td><td>%s</td><td>%s</td>",
               html(p, md_json_get_str(mdj, MD_KEY_NAME)), names,
               html(p, state_text(mdj, p)));
    ap_rprintf(r, "<td>%s</td>",
               until ? apr_pstrcat(p, "until ", html(p, until), NULL) : "-");
    ap_rprintf(r, "<td>%s</td>", url ? apr_pstrcat(p, "<a href=\"", html(p, url), "\">",
                                                  html(p, ca_name(url, p)), "</a>", NULL)
                                     : "-");
    ap_rprintf(r, "<td>%s</td>", check_links_html(srt, mdj, p));
    ap_rprintf(r, "<td>%s</td>", valid && renew_at && !md_json_get_bool(mdj, MD_KEY_RENEW, 0)
               ? apr_pstrcat(p, "renew ", html(p, relative(md_time_parse_http(renew_at), now,
                                                           p)), NULL) : "-");
    ap_rprintf(r, "<td>%s</td></tr>\n", activity_html(mdj, now, p));
}

static void render_html(request_rec *r, const status_rt_t *srt, const json_t *mds)
{
    apr_time_t now = apr_time_now();
    size_t i;

    ap_rputs("<hr>\n<h2>Managed Certificates</h2>\n<table class=\"md_status\"><thead><tr>"
             "<th>Name</th><th>Names</th><th>Status</th><th>Valid</th><th>CA</th>"
             "<th>Check</th><th>Next check</th><th>Activity</th></tr></thead><tbody>\n", r);
    for (i = 0; i < json_array_size(mds); ++i) {
        render_html_row(r, srt, json_array_get(mds, i), now);
    }
    ap_rputs("</tbody></table>\n", r);
}

static void render_auto_md(request_rec *r, size_t n, const json_t *mdj, apr_time_t now)
{
    apr_pool_t *p = r->pool;
    const json_t *valid = md_json_get_obj(md_json_get_obj(mdj, MD_KEY_CERT), MD_KEY_VALID);
    const json_t *renewal = md_json_get_obj(mdj, MD_KEY_RENEWAL);
    const json_t *last = renewal ? md_json_get_obj(renewal, MD_KEY_LAST) : NULL;
    json_t *domains = md_json_get_array(mdj, MD_KEY_DOMAINS);
    const char *url = ca_url(mdj);
    const char *s;
    size_t i;

    ap_rprintf(r, "ManagedDomain[%" APR_SIZE_T_FMT "]Domain: %s\n", n,
               line(p, md_json_get_str(mdj, MD_KEY_NAME)));
    for (i = 0; domains && i < json_array_size(domains); ++i) {
        ap_rprintf(r, "ManagedDomain[%" APR_SIZE_T_FMT "]Names[%" APR_SIZE_T_FMT "]: %s\n", n,
                   i, line(p, json_string_value(json_array_get(domains, i))));
    }
    ap_rprintf(r, "ManagedDomain[%" APR_SIZE_T_FMT "]Status: %s\n", n,
               line(p, state_text(mdj, p)));
    if (valid && (s = md_json_get_str(valid, MD_KEY_UNTIL))) {
        ap_rprintf(r, "ManagedDomain[%" APR_SIZE_T_FMT "]ValidUntil: %s\n", n, line(p, s));
    }
    if (url) {
        ap_rprintf(r, "ManagedDomain[%" APR_SIZE_T_FMT "]CAName: %s\n", n,
                   line(p, ca_name(url, p)));
        ap_rprintf(r, "ManagedDomain[%" APR_SIZE_T_FMT "]CAURL: %s\n", n, line(p, url));
    }
    if (!renewal) {
        if ((s = md_json_get_str(mdj, MD_KEY_RENEW_AT)) && valid) {
            ap_rprintf(r, "ManagedDomain[%" APR_SIZE_T_FMT "]ActivityRenew: %" APR_TIME_T_FMT
                       "\n", n, apr_time_sec(md_time_parse_http(s) - now));
        }
        return;
    }
    ap_rprintf(r, "ManagedDomain[%" APR_SIZE_T_FMT "]ActivityFinished: %s\n", n,
               md_json_get_bool(renewal, MD_KEY_FINISHED, 0) ? "yes" : "no");
    ap_rprintf(r, "ManagedDomain[%" APR_SIZE_T_FMT "]ActivityErrors: %" APR_INT64_T_FMT "\n",
               n, (apr_int64_t)md_json_get_int(renewal, MD_KEY_ERRORS, 0));
    if (last && (s = md_json_get_str(last, MD_KEY_STATUS_DESCR))) {
        ap_rprintf(r, "ManagedDomain[%" APR_SIZE_T_FMT "]ActivityLastStatus: %s\n", n,
                   line(p, s));
    }
    if (last && (s = md_json_get_str(last, MD_KEY_PROBLEM))) {
        ap_rprintf(r, "ManagedDomain[%" APR_SIZE_T_FMT "]ActivityLastProblem: %s\n", n,
                   line(p, s));
    }
    if (last && (s = md_json_get_str(last, MD_KEY_DETAIL))) {
        ap_rprintf(r, "ManagedDomain[%" APR_SIZE_T_FMT "]ActivityLastDetail: %s\n", n,
                   line(p, s));
    }
    if ((s = md_json_get_str(renewal, MD_KEY_NEXT_RUN))) {
        ap_rprintf(r, "ManagedDomain[%" APR_SIZE_T_FMT "]ActivityNextRun: %" APR_TIME_T_FMT
                   "\n", n, apr_time_sec(md_time_parse_http(s) - now));
    }
}

static void render_auto(request_rec *r, const json_t *mds)
{
    md_status_counts_t c;
    apr_time_t now = apr_time_now();
    size_t i;

    memset(&c, 0, sizeof(c));
    for (i = 0; i < json_array_size(mds); ++i) {
        md_status_count(&c, json_array_get(mds, i));
    }
    ap_rprintf(r, "ManagedCertificatesTotal: %d\n", c.total);
    ap_rprintf(r, "ManagedCertificatesOK: %d\n", c.ok);
    ap_rprintf(r, "ManagedCertificatesRenew: %d\n", c.renew);
    ap_rprintf(r, "ManagedCertificatesErrored: %d\n", c.errored);
    ap_rprintf(r, "ManagedCertificatesReady: %d\n", c.ready);
    for (i = 0; i < json_array_size(mds); ++i) {
        render_auto_md(r, i, json_array_get(mds, i), now);
    }
}

static int status_hook(request_rec *r, int flags)
{
    const status_rt_t *srt = status_of(r->server);
    json_t *mds;

    if (!srt || !srt->g->server_status || srt->snaps->nelts == 0) {
        return DECLINED;
    }
    mds = all_mds(srt, r->pool);
    if (flags & AP_STATUS_SHORT) {
        render_auto(r, mds);
    }
    else {
        render_html(r, srt, mds);
    }
    return OK;
}

/* --- md-metrics (Prometheus text format 0.0.4) ---------------------------- */

/* Label values escape backslash, double quote and newline. */
static const char *label(apr_pool_t *p, const char *s)
{
    apr_size_t n = 0;
    const char *c;
    char *out;
    char *o;

    s = md_util_str_printable(p, s ? s : "", SHOW_MAX_LEN);
    for (c = s; *c; ++c) {
        n += (*c == '\\' || *c == '"') ? 2 : 1;
    }
    o = out = apr_palloc(p, n + 1);
    for (c = s; *c; ++c) {
        if (*c == '\\' || *c == '"') {
            *o++ = '\\';
        }
        *o++ = *c;
    }
    *o = '\0';
    return out;
}

static void family(request_rec *r, const char *name, const char *type, const char *help)
{
    ap_rprintf(r, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Per-MD gauges: one family each, a sample per MD that has the field. */
static const struct {
    const char *name;
    const char *field;
    const char *help;
} md_gauges[] = {
    { "md_state", MD_KEY_STATE,
      "State of the MD: 0 unknown, 1 incomplete, 2 complete, 3 expired, 4 error, "
      "5 missing information." },
    { "md_renewal_due_timestamp_seconds", MD_KEY_RENEW_AT,
      "When renewal of the MD's certificate is due (Unix time)." },
    { "md_renewal_needed", MD_KEY_RENEW,
      "1 if the MD needs a new certificate now." },
    { "md_renewal_errors", MD_KEY_ERRORS,
      "Failed attempts in a row of the MD's current renewal." },
    { "md_renewal_staged", MD_KEY_READY,
      "1 if a new certificate is staged, going live at the next (graceful) restart." },
    { "md_renewal_last_success_timestamp_seconds", MD_KEY_LAST_SUCCESS,
      "When the MD's last renewal succeeded (Unix time), if known." },
};

static void render_cert_family(request_rec *r, const json_t *metrics, const char *name,
                               const char *field, const char *help)
{
    size_t i;
    size_t k;

    family(r, name, "gauge", help);
    for (i = 0; i < json_array_size(metrics); ++i) {
        const json_t *m = json_array_get(metrics, i);
        json_t *certs = md_json_get_array(m, MD_KEY_CERTS);

        for (k = 0; certs && k < json_array_size(certs); ++k) {
            const json_t *c = json_array_get(certs, k);

            ap_rprintf(r, "%s{md=\"%s\",key=\"%s\"} %" APR_INT64_T_FMT "\n", name,
                       label(r->pool, md_json_get_str(m, MD_KEY_NAME)),
                       label(r->pool, md_json_get_str(c, MD_KEY_KEY)),
                       (apr_int64_t)md_json_get_int(c, field, 0));
        }
    }
}

static void render_ca_family(request_rec *r, const json_t *cas, const char *name,
                             const char *field, const char *help)
{
    size_t i;

    family(r, name, "counter", help);
    for (i = 0; i < json_array_size(cas); ++i) {
        const json_t *ca = json_array_get(cas, i);

        ap_rprintf(r, "%s{ca=\"%s\"} %" APR_INT64_T_FMT "\n", name,
                   label(r->pool, md_json_get_str(ca, MD_KEY_URL)),
                   (apr_int64_t)md_json_get_int(ca, field, 0));
    }
}

static void render_metrics(request_rec *r, const json_t *metrics, const json_t *cas)
{
    size_t g;
    size_t i;

    family(r, "md_managed_domains", "gauge", "Number of managed domains (MDs).");
    ap_rprintf(r, "md_managed_domains %" APR_SIZE_T_FMT "\n", json_array_size(metrics));
    render_cert_family(r, metrics, "md_certificate_not_before_timestamp_seconds",
                       MD_KEY_NOT_BEFORE, "Start of the live certificate's validity (Unix time).");
    render_cert_family(r, metrics, "md_certificate_not_after_timestamp_seconds",
                       MD_KEY_NOT_AFTER, "End of the live certificate's validity (Unix time).");
    for (g = 0; g < sizeof(md_gauges) / sizeof(md_gauges[0]); ++g) {
        family(r, md_gauges[g].name, "gauge", md_gauges[g].help);
        for (i = 0; i < json_array_size(metrics); ++i) {
            const json_t *m = json_array_get(metrics, i);

            if (json_object_get(m, md_gauges[g].field)) {
                ap_rprintf(r, "%s{md=\"%s\"} %" APR_INT64_T_FMT "\n", md_gauges[g].name,
                           label(r->pool, md_json_get_str(m, MD_KEY_NAME)),
                           (apr_int64_t)md_json_get_int(m, md_gauges[g].field, 0));
            }
        }
    }
    render_ca_family(r, cas, "md_ca_requests_total", MD_KEY_REQUESTS,
                     "Requests sent to the CA (ACME directory URL) since the server started.");
    render_ca_family(r, cas, "md_ca_request_failures_total", MD_KEY_FAILURES,
                     "Requests to the CA that got no answer or an error answer.");
}

static int md_metrics_handler(request_rec *r)
{
    const status_rt_t *srt = status_of(r->server);
    json_t *metrics;
    json_t *mds;
    apr_time_t now = apr_time_now();
    int rc;
    int i;

    if (!r->handler || strcmp(r->handler, MOD_MD_METRICS_HANDLER)) {
        return DECLINED;
    }
    if ((rc = only_get(r)) != OK) {
        return rc;
    }
    if (!srt) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    metrics = md_json_pool_own(r->pool, json_array());
    for (i = 0; i < srt->snaps->nelts; ++i) {
        const md_status_snap_t *snap = MD_ARR_IDX(srt->snaps, i, const md_status_snap_t *);

        mds = md_status_md_load(srt->store, snap, 0, now, r->pool);
        json_array_append(metrics, md_status_metrics_json(snap, mds, r->pool));
    }
    ap_set_content_type(r, CT_PROMETHEUS);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (!r->header_only) {
        render_metrics(r, metrics, md_json_pool_own(r->pool, md_stats_to_json(srt->stats)));
        mod_md_cluster_metrics(r, srt->store);
    }
    return OK;
}

/* --- registration --------------------------------------------------------- */

void mod_md_status_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_read_request(cert_status_read_request, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(md_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(md_metrics_handler, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, status_hook, NULL, NULL, APR_HOOK_MIDDLE);
}
