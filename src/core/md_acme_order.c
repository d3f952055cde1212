/* ACME orders (RFC 8555 §7.4): create, poll, finalize, download. */
#include <string.h>
#include <arpa/inet.h>

#include <apr_strings.h>

#include "md_acme.h"
#include "md_acme_int.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_time.h"
#include "md_util.h"

#define CT_PEM_CHAIN       "application/pem-certificate-chain"
/* A CA that validates at once (pebble does in milliseconds) is seen at
 * once; one that takes seconds costs a handful more polls, doubling. */
#define POLL_DELAY_FIRST   apr_time_from_msec(20)
#define POLL_DELAY_MAX     apr_time_from_sec(5)

static const char *const order_status_names[] = {
    [MD_ACME_ORDER_PENDING] = "pending",
    [MD_ACME_ORDER_READY] = "ready",
    [MD_ACME_ORDER_PROCESSING] = "processing",
    [MD_ACME_ORDER_VALID] = "valid",
    [MD_ACME_ORDER_INVALID] = "invalid",
};
#define N_ORDER_STATUS (sizeof(order_status_names) / sizeof(order_status_names[0]))

const char *md_acme_order_status_name(md_acme_order_status_t status)
{
    if ((unsigned)status >= N_ORDER_STATUS) {
        return "unknown";
    }
    return order_status_names[status];
}

apr_status_t md_acme_order_status_parse(md_acme_order_status_t *pstatus, const char *s)
{
    unsigned i;

    for (i = 0; s && i < N_ORDER_STATUS; ++i) {
        if (!strcmp(s, order_status_names[i])) {
            *pstatus = (md_acme_order_status_t)i;
            return APR_SUCCESS;
        }
    }
    return APR_EINVAL;
}

const char *md_acme_ident_type(const char *name)
{
    unsigned char buf[16];

    if (name && (inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1)) {
        return "ip";
    }
    return "dns";
}

static md_result_t *result_or_scratch(md_result_t *result, apr_pool_t *p)
{
    return result ? result : md_result_make(p, NULL);
}

/* --- parsing -------------------------------------------------------------- */

apr_status_t md_acme_order_parse(md_acme_order_t *order, md_acme_t *acme, const json_t *j,
                                 const char *url, md_result_t *result, apr_pool_t *p)
{
    md_acme_order_t o;
    const json_t *authzs;
    const json_t *v;
    const char *s;
    size_t i;
    apr_status_t rv;

    memset(&o, 0, sizeof(o));
    o.url = url;
    if (!json_is_object(j)) {
        md_result_printf(result, APR_EINVAL, "order %s: the CA sent no order object", url);
        return APR_EINVAL;
    }
    s = md_json_get_str(j, MD_KEY_STATUS);
    if (md_acme_order_status_parse(&o.status, s) != APR_SUCCESS) {
        md_result_printf(result, APR_EINVAL, "order %s has an unknown status '%s'", url,
                         s ? md_util_str_printable(p, s, 64) : "(missing)");
        return APR_EINVAL;
    }
    authzs = md_json_get_array(j, MD_KEY_AUTHORIZATIONS);
    if (!authzs || json_array_size(authzs) > MD_ACME_MAX_AUTHZ) {
        md_result_printf(result, APR_EINVAL, "order %s: '%s' is missing or too long", url,
                         MD_KEY_AUTHORIZATIONS);
        return APR_EINVAL;
    }
    o.authz_urls = apr_array_make(p, (int)json_array_size(authzs) + 1, sizeof(const char *));
    json_array_foreach(authzs, i, v) {
        if (!json_is_string(v)) {
            md_result_printf(result, APR_EINVAL, "order %s: an authorization is not a string",
                             url);
            return APR_EINVAL;
        }
        s = json_string_value(v);
        if ((rv = md_acme_url_check(acme, s, MD_KEY_AUTHORIZATIONS, result)) != APR_SUCCESS) {
            return rv;
        }
        APR_ARRAY_PUSH(o.authz_urls, const char *) = apr_pstrdup(p, s);
    }
    s = md_json_get_str(j, MD_KEY_FINALIZE);
    if (!s) {
        md_result_printf(result, APR_EINVAL, "order %s has no '%s'", url, MD_KEY_FINALIZE);
        return APR_EINVAL;
    }
    if ((rv = md_acme_url_check(acme, s, MD_KEY_FINALIZE, result)) != APR_SUCCESS) {
        return rv;
    }
    o.finalize = apr_pstrdup(p, s);
    s = md_json_get_str(j, MD_KEY_CERTIFICATE);
    if (s) {
        if ((rv = md_acme_url_check(acme, s, MD_KEY_CERTIFICATE, result)) != APR_SUCCESS) {
            return rv;
        }
        o.certificate = apr_pstrdup(p, s);
    }
    s = md_json_get_str(j, MD_KEY_EXPIRES);
    o.expires = s ? md_time_parse_rfc3339(s) : 0;
    o.retry_after = order->retry_after;
    *order = o;
    return APR_SUCCESS;
}

/* The old string when equal, else a copy: polling for minutes must not
 * grow the caller's pool with the same URLs. */
static const char *keep_str(const char *old, const char *s, apr_pool_t *p)
{
    if (!s) {
        return NULL;
    }
    if (old && !strcmp(old, s)) {
        return old;
    }
    return apr_pstrdup(p, s);
}

static void order_assign(md_acme_order_t *dst, const md_acme_order_t *src, apr_pool_t *p)
{
    dst->url = keep_str(dst->url, src->url, p);
    dst->status = src->status;
    if (!dst->authz_urls || !md_array_str_eq(dst->authz_urls, src->authz_urls, 1)) {
        dst->authz_urls = md_array_str_clone(p, src->authz_urls);
    }
    dst->finalize = keep_str(dst->finalize, src->finalize, p);
    dst->certificate = keep_str(dst->certificate, src->certificate, p);
    dst->expires = src->expires;
    dst->retry_after = src->retry_after;
}

/* Take an order object from a response into order (keeping its URL). */
static apr_status_t order_take(md_acme_order_t *order, md_acme_t *acme,
                               const md_acme_resp_t *resp, md_result_t *result,
                               apr_pool_t *p, apr_pool_t *ptemp)
{
    md_acme_order_t tmp;
    apr_status_t rv;

    memset(&tmp, 0, sizeof(tmp));
    tmp.retry_after = result->retry_after;
    rv = md_acme_order_parse(&tmp, acme, resp->json, order->url, result, ptemp);
    if (rv == APR_SUCCESS) {
        order_assign(order, &tmp, p);
    }
    return rv;
}

/* --- requests ------------------------------------------------------------- */

apr_status_t md_acme_order_new(md_acme_order_t **porder, md_acme_t *acme,
                               const apr_array_header_t *domains, md_result_t *result,
                               apr_pool_t *p)
{
    return md_acme_order_new_ext(porder, acme, domains, NULL, result, p);
}

apr_status_t md_acme_order_new_ext(md_acme_order_t **porder, md_acme_t *acme,
                                   const apr_array_header_t *domains,
                                   const md_acme_order_opts_t *opts, md_result_t *result,
                                   apr_pool_t *p)
{
    md_acme_order_t *order;
    md_acme_resp_t *resp;
    json_t *payload;
    json_t *idents;
    json_t *ident;
    const char *name;
    apr_status_t rv;
    int i;

    *porder = NULL;
    result = result_or_scratch(result, p);
    if (!domains || domains->nelts == 0 || domains->nelts > MD_ACME_MAX_AUTHZ) {
        md_result_printf(result, APR_EINVAL, "an order needs 1 to %d names",
                         MD_ACME_MAX_AUTHZ);
        return APR_EINVAL;
    }
    if (!acme->url_new_order && (rv = md_acme_setup(acme, result)) != APR_SUCCESS) {
        return rv;
    }
    payload = md_json_pool_own(p, json_object());
    idents = json_array();
    if (!payload || !idents) {
        json_decref(idents);
        return APR_ENOMEM;
    }
    json_object_set_new(payload, MD_KEY_IDENTIFIERS, idents);
    for (i = 0; i < domains->nelts; ++i) {
        name = MD_ARR_IDX(domains, i, const char *);
        ident = json_object();
        if (!ident) {
            return APR_ENOMEM;
        }
        md_json_set_str(ident, MD_KEY_TYPE, md_acme_ident_type(name));
        md_json_set_str(ident, MD_KEY_VALUE, name);
        json_array_append_new(idents, ident);
    }
    if (opts && opts->profile
        && json_object_set_new(payload, MD_KEY_PROFILE, json_string(opts->profile))) {
        md_result_printf(result, APR_EINVAL, "the profile name cannot be sent");
        return APR_EINVAL;
    }
    if (opts && opts->replaces
        && json_object_set_new(payload, MD_KEY_REPLACES, json_string(opts->replaces))) {
        md_result_printf(result, APR_EINVAL, "the replaced certificate id cannot be sent");
        return APR_EINVAL;
    }

    rv = md_acme_post(&resp, acme, acme->url_new_order, payload, NULL, result, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if ((resp->status != 201 && resp->status != 200) || !resp->location) {
        md_result_printf(result, APR_EINVAL, "newOrder at %s answered HTTP %d%s", acme->url,
                         resp->status, resp->location ? "" : " without a Location");
        return APR_EINVAL;
    }
    order = apr_pcalloc(p, sizeof(*order));
    order->url = apr_pstrdup(p, resp->location);
    rv = order_take(order, acme, resp, result, p, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, "MD04020: new order %s for %s (%s)",
                  order->url, md_array_str_join(domains, ", ", p),
                  md_acme_order_status_name(order->status));
    *porder = order;
    return APR_SUCCESS;
}

/* POST-as-GET the order into order (strings kept in p); *perror gets the
 * order's own "error" member, if any (allocated in ptemp). */
static apr_status_t order_refresh(md_acme_order_t *order, md_acme_t *acme, json_t **perror,
                                  md_result_t *result, apr_pool_t *p, apr_pool_t *ptemp)
{
    md_acme_resp_t *resp;
    apr_status_t rv;

    if (perror) {
        *perror = NULL;
    }
    rv = md_acme_post(&resp, acme, order->url, NULL, NULL, result, ptemp);
    if (rv == APR_SUCCESS) {
        rv = order_take(order, acme, resp, result, p, ptemp);
    }
    if (rv == APR_SUCCESS && perror) {
        *perror = md_json_get_obj(resp->json, MD_KEY_ERROR);
    }
    return rv;
}

apr_status_t md_acme_order_update(md_acme_order_t *order, md_acme_t *acme,
                                  md_result_t *result, apr_pool_t *p)
{
    apr_pool_t *ptemp;
    apr_status_t rv;

    result = result_or_scratch(result, p);
    if ((rv = apr_pool_create(&ptemp, p)) != APR_SUCCESS) {
        return rv;
    }
    rv = order_refresh(order, acme, NULL, result, p, ptemp);
    apr_pool_destroy(ptemp);
    return rv;
}

/* The order is invalid: find out why. The failed authorization's challenge
 * error says most ("connection refused fetching http://x/..."); the order's
 * own error comes second. */
static void order_invalid_problem(md_acme_order_t *order, md_acme_t *acme,
                                  const json_t *order_error, md_result_t *result,
                                  apr_pool_t *p)
{
    md_acme_authz_t *authz;
    md_result_t *scratch = md_result_make(p, NULL);
    const json_t *err = NULL;
    const char *domain = NULL;
    int i;

    for (i = 0; order->authz_urls && i < order->authz_urls->nelts; ++i) {
        if (md_acme_authz_retrieve(&authz, acme, MD_ARR_IDX(order->authz_urls, i, const char *),
                                   scratch, p) != APR_SUCCESS) {
            continue;
        }
        if (authz->status == MD_ACME_AUTHZ_INVALID || authz->error) {
            err = authz->error;
            domain = authz->domain;
            if (err) {
                break;
            }
        }
    }
    if (!err) {
        err = order_error;
    }
    if (err) {
        const char *detail = md_json_get_str(err, MD_KEY_DETAIL);
        md_result_problem_set(result, APR_EINVAL, md_json_get_str(err, "type"),
                              apr_psprintf(p, "%s%s%s", domain ? domain : "",
                                           domain ? ": " : "",
                                           detail ? detail : "validation failed"),
                              md_json_get_array(err, MD_KEY_SUBPROBLEMS));
    }
    else {
        md_result_printf(result, APR_EINVAL, "order %s became invalid%s%s", order->url,
                         domain ? " for " : "", domain ? domain : "");
    }
}

typedef int order_done_fn(md_acme_order_status_t status);

static int is_ready(md_acme_order_status_t status)
{
    /* processing and valid are past ready: the caller looks at the status. */
    return status == MD_ACME_ORDER_READY || status == MD_ACME_ORDER_PROCESSING
        || status == MD_ACME_ORDER_VALID;
}

static int is_valid(md_acme_order_status_t status)
{
    return status == MD_ACME_ORDER_VALID;
}

/* The delay plus up to ~20%, so that many servers polling one CA drift
 * apart instead of polling in step. */
static apr_interval_time_t jitter(apr_interval_time_t delay)
{
    unsigned char b = 0;

    if (md_crypt_random(&b, 1) != APR_SUCCESS) {
        return delay;
    }
    return delay + (delay / 5) * b / 255;
}

static apr_status_t order_await(md_acme_order_t *order, md_acme_t *acme,
                                apr_interval_time_t timeout, order_done_fn *done,
                                const char *waiting_for, md_result_t *result, apr_pool_t *p)
{
    apr_pool_t *ptemp;
    apr_time_t deadline = apr_time_now() + timeout;
    apr_time_t now;
    apr_interval_time_t delay = POLL_DELAY_FIRST;
    apr_interval_time_t wait;
    json_t *order_error;
    apr_status_t rv;

    result = result_or_scratch(result, p);
    if ((rv = apr_pool_create(&ptemp, p)) != APR_SUCCESS) {
        return rv;
    }
    for (;;) {
        apr_pool_clear(ptemp);
        rv = order_refresh(order, acme, &order_error, result, p, ptemp);
        if (rv != APR_SUCCESS) {
            break;
        }
        if (order->status == MD_ACME_ORDER_INVALID) {
            order_invalid_problem(order, acme, order_error, result, ptemp);
            rv = APR_EINVAL;
            break;
        }
        if (done(order->status)) {
            break;
        }
        now = apr_time_now();
        if (now >= deadline) {
            rv = APR_TIMEUP;
            md_result_printf(result, rv, "order %s is still %s after %s, waiting for it to "
                             "become %s", order->url, md_acme_order_status_name(order->status),
                             md_duration_print(timeout, ptemp), waiting_for);
            break;
        }
        wait = jitter(delay);
        if (order->retry_after > now) {
            wait = order->retry_after - now;
        }
        if (wait > deadline - now) {
            wait = deadline - now;
        }
        md_log_perror(MD_LOG_MARK, MD_LOG_TRACE1, 0, ptemp, "MD04021: order %s is %s, "
                      "polling again in %ld ms", order->url,
                      md_acme_order_status_name(order->status), (long)(wait / 1000));
        apr_sleep(wait);
        delay = (delay * 2 > POLL_DELAY_MAX) ? POLL_DELAY_MAX : delay * 2;
    }
    apr_pool_destroy(ptemp);
    return rv;
}

apr_status_t md_acme_order_await_ready(md_acme_order_t *order, md_acme_t *acme,
                                       apr_interval_time_t timeout, md_result_t *result,
                                       apr_pool_t *p)
{
    return order_await(order, acme, timeout, is_ready, "ready", result, p);
}

apr_status_t md_acme_order_await_valid(md_acme_order_t *order, md_acme_t *acme,
                                       apr_interval_time_t timeout, md_result_t *result,
                                       apr_pool_t *p)
{
    apr_status_t rv = order_await(order, acme, timeout, is_valid, "valid", result, p);

    if (rv == APR_SUCCESS && !order->certificate) {
        rv = APR_EINVAL;
        md_result_printf(result_or_scratch(result, p), rv,
                         "order %s is valid but has no certificate URL", order->url);
    }
    return rv;
}

apr_status_t md_acme_order_finalize(md_acme_order_t *order, md_acme_t *acme,
                                    const char *csr64, md_result_t *result, apr_pool_t *p)
{
    md_acme_resp_t *resp;
    json_t *payload;
    apr_status_t rv;

    result = result_or_scratch(result, p);
    if (!order->finalize) {
        md_result_printf(result, APR_EINVAL, "order %s has no finalize URL", order->url);
        return APR_EINVAL;
    }
    payload = md_json_pool_own(p, json_object());
    if (!payload) {
        return APR_ENOMEM;
    }
    md_json_set_str(payload, MD_KEY_CSR, csr64);
    rv = md_acme_post(&resp, acme, order->finalize, payload, NULL, result, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* RFC 8555 §7.4: the answer is the updated order. */
    if (json_is_object(resp->json)) {
        return order_take(order, acme, resp, result, p, p);
    }
    return md_acme_order_update(order, acme, result, p);
}

apr_status_t md_acme_order_get_chain(apr_array_header_t **pchain, md_acme_order_t *order,
                                     md_acme_t *acme, md_result_t *result, apr_pool_t *p)
{
    md_acme_resp_t *resp;
    apr_array_header_t *certs = NULL;
    const char *ctype;
    apr_status_t rv;

    *pchain = NULL;
    result = result_or_scratch(result, p);
    if (!order->certificate) {
        md_result_printf(result, APR_EINVAL, "order %s has no certificate URL yet", order->url);
        return APR_EINVAL;
    }
    rv = md_acme_post(&resp, acme, order->certificate, NULL, CT_PEM_CHAIN, result, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    ctype = apr_table_get(resp->headers, "Content-Type");
    if (!ctype || strncasecmp(ctype, CT_PEM_CHAIN, strlen(CT_PEM_CHAIN))) {
        md_result_printf(result, APR_EINVAL, "certificate %s: expected %s, got '%s'",
                         order->certificate, CT_PEM_CHAIN,
                         ctype ? md_util_str_printable(p, ctype, 100) : "(none)");
        return APR_EINVAL;
    }
    rv = md_certs_from_pem(&certs, resp->body, resp->body_len, p);
    if (rv != APR_SUCCESS || !certs || certs->nelts < 1) {
        md_result_printf(result, APR_EINVAL, "certificate %s: no certificate in the PEM chain",
                         order->certificate);
        return APR_EINVAL;
    }
    *pchain = certs;
    return APR_SUCCESS;
}

/* --- persisted form ------------------------------------------------------- */

json_t *md_acme_order_to_json(const md_acme_order_t *order)
{
    json_t *j = json_object();

    if (!j) {
        return NULL;
    }
    md_json_set_str(j, MD_KEY_URL, order->url);
    md_json_set_str(j, MD_KEY_STATUS, md_acme_order_status_name(order->status));
    json_object_set_new(j, MD_KEY_AUTHORIZATIONS, md_json_from_str_array(order->authz_urls));
    md_json_set_str(j, MD_KEY_FINALIZE, order->finalize);
    md_json_set_str(j, MD_KEY_CERTIFICATE, order->certificate);
    return j;
}

apr_status_t md_acme_order_from_json(md_acme_order_t **porder, const json_t *j, apr_pool_t *p)
{
    md_acme_order_t *order;
    const char *s;

    *porder = NULL;
    if (!json_is_object(j)) {
        return APR_EINVAL;
    }
    order = apr_pcalloc(p, sizeof(*order));
    s = md_json_get_str(j, MD_KEY_URL);
    if (!s) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, APR_EINVAL, p,
                      "MD04022: a saved order has no '%s'", MD_KEY_URL);
        return APR_EINVAL;
    }
    order->url = apr_pstrdup(p, s);
    s = md_json_get_str(j, MD_KEY_STATUS);
    if (md_acme_order_status_parse(&order->status, s) != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, APR_EINVAL, p,
                      "MD04023: saved order %s has an unknown status '%s'", order->url,
                      s ? md_util_str_printable(p, s, 64) : "(missing)");
        return APR_EINVAL;
    }
    order->authz_urls = md_json_get_str_array(j, MD_KEY_AUTHORIZATIONS, p);
    if (!order->authz_urls) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, APR_EINVAL, p,
                      "MD04024: saved order %s has no valid '%s'", order->url,
                      MD_KEY_AUTHORIZATIONS);
        return APR_EINVAL;
    }
    s = md_json_get_str(j, MD_KEY_FINALIZE);
    order->finalize = s ? apr_pstrdup(p, s) : NULL;
    s = md_json_get_str(j, MD_KEY_CERTIFICATE);
    order->certificate = s ? apr_pstrdup(p, s) : NULL;
    *porder = order;
    return APR_SUCCESS;
}
