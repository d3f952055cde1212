/* ACME Renewal Information (RFC 9773): certificate ids, the CA's suggested
 * windows and when to ask again (see md_ari.h). */
#include <string.h>

#include <apr_strings.h>

#include "md_acme.h"
#include "md_acme_int.h"
#include "md_ari.h"
#include "md_crypt.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_time.h"
#include "md_util.h"

apr_status_t md_ari_cert_id(const char **pid, const md_cert_t *cert, apr_pool_t *p)
{
    const unsigned char *aki;
    const unsigned char *serial;
    apr_size_t aki_len;
    apr_size_t serial_len;
    apr_status_t rv;

    *pid = NULL;
    if ((rv = md_cert_aki(&aki, &aki_len, cert, p)) != APR_SUCCESS
        || (rv = md_cert_serial_der(&serial, &serial_len, cert, p)) != APR_SUCCESS) {
        return rv;
    }
    /* RFC 9773 §4.1: keyIdentifier "." serial (DER content octets), each
     * base64url without padding. */
    *pid = apr_pstrcat(p, md_util_base64url_encode(aki, aki_len, p), ".",
                       md_util_base64url_encode(serial, serial_len, p), NULL);
    return APR_SUCCESS;
}

apr_status_t md_ari_window_parse(md_ari_window_t *w, const json_t *j, const char *url,
                                 md_result_t *result, apr_pool_t *p)
{
    const json_t *win = json_is_object(j) ? md_json_get_obj(j, MD_KEY_SUGGESTED_WINDOW)
                                          : NULL;
    const char *start = md_json_get_str(win, MD_KEY_START);
    const char *end = md_json_get_str(win, MD_KEY_END);
    const char *expl;
    apr_time_t ts;
    apr_time_t te;

    if (!win || !start || !end) {
        md_result_printf(result, APR_EINVAL, "renewal info from %s has no suggestedWindow "
                         "with start and end", url);
        return APR_EINVAL;
    }
    ts = md_time_parse_rfc3339(start);
    te = md_time_parse_rfc3339(end);
    if (ts <= 0 || te <= 0) {
        md_result_printf(result, APR_EINVAL, "renewal info from %s: start or end of the "
                         "suggestedWindow is not an RFC 3339 time", url);
        return APR_EINVAL;
    }
    /* RFC 9773 §4.2: a window whose end is not after its start is invalid. */
    if (te <= ts) {
        md_result_printf(result, APR_EINVAL, "renewal info from %s: the suggestedWindow "
                         "ends before it starts", url);
        return APR_EINVAL;
    }
    w->start = ts;
    w->end = te;
    w->explanation = NULL;
    expl = md_json_get_str(j, MD_KEY_EXPLANATION_URL);
    if (expl && strlen(expl) < MD_ARI_EXPLANATION_MAX
        && !strcmp(md_util_str_printable(p, expl, 0), expl) && !strchr(expl, ' ')
        && (!strncmp(expl, "https://", 8) || !strncmp(expl, "http://", 7))) {
        w->explanation = apr_pstrdup(p, expl);
    }
    return APR_SUCCESS;
}

apr_time_t md_ari_next_poll(apr_time_t retry_after, apr_time_t now)
{
    if (retry_after <= 0) {
        return now + MD_ARI_POLL_DEF;
    }
    if (retry_after < now + MD_ARI_POLL_MIN) {
        return now + MD_ARI_POLL_MIN;
    }
    if (retry_after > now + MD_ARI_POLL_MAX) {
        return now + MD_ARI_POLL_MAX;
    }
    return retry_after;
}

apr_time_t md_ari_pick_time(apr_time_t start, apr_time_t end)
{
    apr_uint64_t r = 0;
    apr_uint64_t span;

    if (end <= start) {
        return start;
    }
    span = (apr_uint64_t)(end - start);
    if (md_crypt_random((unsigned char *)&r, sizeof(r)) != APR_SUCCESS) {
        /* No randomness: the middle of the window is still inside it. */
        return start + (apr_time_t)(span / 2);
    }
    return start + (apr_time_t)(r % span);
}

const char *md_ari_url(const md_acme_t *acme, const char *id, apr_pool_t *p)
{
    const char *base = acme->url_renewal_info;
    apr_size_t n;

    if (!base || !id) {
        return NULL;
    }
    n = strlen(base);
    return apr_pstrcat(p, base, (n > 0 && base[n - 1] == '/') ? "" : "/", id, NULL);
}

apr_status_t md_ari_fetch(md_ari_window_t *w, md_acme_t *acme, const char *id,
                          md_result_t *result, apr_pool_t *p)
{
    md_acme_resp_t *resp = NULL;
    const char *url;
    apr_time_t now;
    apr_status_t rv;

    if (!(url = md_ari_url(acme, id, p))) {
        md_result_printf(result, APR_ENOTIMPL, "the CA at %s offers no renewal information",
                         acme->url);
        return APR_ENOTIMPL;
    }
    rv = md_acme_get(&resp, acme, url, result, p);
    now = apr_time_now();
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = md_ari_window_parse(w, resp->json, url, result, p);
    if (rv == APR_SUCCESS) {
        w->next_poll = md_ari_next_poll(result->retry_after, now);
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, "MD19001: renewal window for %s: "
                      "%s to %s, next look at %s", id, md_time_format_http(w->start, p),
                      md_time_format_http(w->end, p), md_time_format_http(w->next_poll, p));
    }
    return rv;
}

apr_time_t md_ari_stored_renew_at(md_store_t *store, const char *mdname,
                                  const apr_array_header_t *ids, apr_pool_t *p)
{
    json_t *j = NULL;
    const json_t *certs;
    const json_t *e;
    apr_time_t at = 0;
    size_t k;

    if (!ids || ids->nelts == 0
        || md_store_load_json(store, MD_SG_STAGING, mdname, MD_FN_ARI, &j, p) != APR_SUCCESS
        || !(certs = md_json_get_array(j, MD_ARI_KEY_CERTS))) {
        return 0;
    }
    json_array_foreach(certs, k, e) {
        const char *id = md_json_get_str(e, MD_ARI_KEY_ID);
        const char *s;
        apr_time_t start, end, t;

        if (!id || md_array_str_index(ids, id, 0, 1) < 0) {
            continue;
        }
        start = (s = md_json_get_str(e, MD_KEY_START)) ? md_time_parse_http(s) : 0;
        end = (s = md_json_get_str(e, MD_KEY_END)) ? md_time_parse_http(s) : 0;
        t = (s = md_json_get_str(e, MD_ARI_KEY_RENEW_AT)) ? md_time_parse_http(s) : 0;
        if (end > start && t > 0 && (!at || t < at)) {
            at = t;
        }
    }
    return at;
}
