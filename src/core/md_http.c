/* HTTP client over libcurl (see md_http.h). The only file that includes
 * curl.h. One easy handle per md_http_t: curl keeps the connection to the
 * CA open between requests of one session. */
#include <string.h>

#include <apr_strings.h>
#include <curl/curl.h>

#include "md_http.h"
#include "md_log.h"

/* More response headers than this are dropped: no ACME response comes
 * near it, and a hostile server must not grow our pool without bound. */
#define MAX_HEADERS        200
/* Header lines of all responses to one request, interim 1xx ones
 * included, and the number of those: more aborts the request (issue 11:
 * the count above starts again with every response). */
#define MAX_HEADER_LINES   1000
#define MAX_INTERIM        16
#define BODY_INITIAL_SIZE  (16 * 1024)

struct md_http_t {
    apr_pool_t *p;
    CURL *curl;
    const char *user_agent;
    const char *ca_file;
    const char *proxy_url;
    const char *proxy_ca_file;
    apr_interval_time_t connect_timeout;
    apr_interval_time_t timeout;
    md_http_mock_fn *mock;
    void *mock_baton;
    const char *connect_to;     /* CURLOPT_CONNECT_TO entry, or NULL */
    apr_size_t max_body;        /* response body limit */
};

/* What the curl callbacks collect during one request. */
typedef struct {
    apr_pool_t *p;
    apr_table_t *headers;
    int nheaders;               /* of the response being read */
    int nlines;                 /* of all responses */
    int nresponses;
    int too_many_headers;
    char *body;
    apr_size_t len;
    apr_size_t cap;
    apr_size_t max;             /* body limit */
    int too_large;
} req_ctx_t;

/* Set before threads start, read-only afterwards. */
static int global_done;

apr_status_t md_http_global_init(void)
{
    CURLcode rc;

    if (global_done) {
        return APR_SUCCESS;
    }
    rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EGENERAL, NULL,
                      "MD03001: initializing libcurl failed: %s", curl_easy_strerror(rc));
        return APR_EGENERAL;
    }
    global_done = 1;
    return APR_SUCCESS;
}

static apr_status_t http_cleanup(void *data)
{
    md_http_t *http = data;

    if (http->curl) {
        curl_easy_cleanup(http->curl);
        http->curl = NULL;
    }
    return APR_SUCCESS;
}

apr_status_t md_http_create(md_http_t **phttp, apr_pool_t *p, const char *user_agent,
                            const char *ca_file)
{
    md_http_t *http;

    *phttp = NULL;
    http = apr_pcalloc(p, sizeof(*http));
    http->p = p;
    http->user_agent = user_agent ? apr_pstrdup(p, user_agent) : NULL;
    http->ca_file = ca_file ? apr_pstrdup(p, ca_file) : NULL;
    http->connect_timeout = MD_HTTP_CONNECT_TIMEOUT;
    http->timeout = MD_HTTP_TIMEOUT;
    http->max_body = MD_HTTP_MAX_BODY;
    http->curl = curl_easy_init();
    if (!http->curl) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_ENOMEM, p,
                      "MD03002: creating a curl handle failed");
        return APR_ENOMEM;
    }
    apr_pool_cleanup_register(p, http, http_cleanup, apr_pool_cleanup_null);
    *phttp = http;
    return APR_SUCCESS;
}

void md_http_set_max_body(md_http_t *http, apr_size_t max_body)
{
    http->max_body = (max_body > 0 && max_body < MD_HTTP_MAX_BODY) ? max_body
                                                                  : MD_HTTP_MAX_BODY;
}

void md_http_set_timeouts(md_http_t *http, apr_interval_time_t connect_timeout,
                          apr_interval_time_t timeout)
{
    http->connect_timeout = connect_timeout;
    http->timeout = timeout;
}

void md_http_set_proxy(md_http_t *http, const char *proxy_url, const char *proxy_ca_file)
{
    http->proxy_url = proxy_url ? apr_pstrdup(http->p, proxy_url) : NULL;
    http->proxy_ca_file = proxy_ca_file ? apr_pstrdup(http->p, proxy_ca_file) : NULL;
}

void md_http_set_user_agent(md_http_t *http, const char *user_agent)
{
    http->user_agent = user_agent;
}

void md_http_set_connect_to(md_http_t *http, const char *connect_to)
{
    http->connect_to = connect_to ? apr_pstrdup(http->p, connect_to) : NULL;
}

void md_http_set_mock(md_http_t *http, md_http_mock_fn *fn, void *baton)
{
    http->mock = fn;
    http->mock_baton = baton;
}

static char *trim(char *s, char *end)
{
    while (s < end && (*s == ' ' || *s == '\t')) {
        ++s;
    }
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'
                       || end[-1] == '\n')) {
        --end;
    }
    *end = '\0';
    return s;
}

static size_t header_cb(char *buffer, size_t size, size_t nitems, void *userdata)
{
    req_ctx_t *ctx = userdata;
    size_t n = size * nitems;
    char *line;
    char *colon;
    char *name;
    char *value;

    if (++ctx->nlines > MAX_HEADER_LINES) {
        ctx->too_many_headers = 1;
        return 0;   /* curl aborts with CURLE_WRITE_ERROR */
    }
    if (n >= 5 && !strncmp(buffer, "HTTP/", 5)) {
        /* A new response starts (after a 1xx): only the final one counts. */
        if (++ctx->nresponses > MAX_INTERIM + 1) {
            ctx->too_many_headers = 1;
            return 0;
        }
        apr_table_clear(ctx->headers);
        ctx->nheaders = 0;
        return n;
    }
    if (ctx->nheaders >= MAX_HEADERS) {
        return n;
    }
    line = apr_pstrmemdup(ctx->p, buffer, n);
    colon = strchr(line, ':');
    if (!colon || colon == line) {
        /* The empty line ending the headers, or junk we need not keep. */
        return n;
    }
    name = trim(line, colon);
    value = trim(colon + 1, line + n);
    if (*name) {
        apr_table_addn(ctx->headers, name, value);
        ++ctx->nheaders;
    }
    return n;
}

static size_t body_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
    req_ctx_t *ctx = userdata;
    size_t n = size * nmemb;
    apr_size_t ncap;
    char *nbody;

    if (n > ctx->max || ctx->len + n > ctx->max) {
        ctx->too_large = 1;
        return 0;   /* curl aborts with CURLE_WRITE_ERROR */
    }
    if (ctx->len + n + 1 > ctx->cap) {
        ncap = ctx->cap ? ctx->cap : BODY_INITIAL_SIZE;
        while (ncap < ctx->len + n + 1) {
            ncap *= 2;
        }
        nbody = apr_palloc(ctx->p, ncap);
        if (ctx->len) {
            memcpy(nbody, ctx->body, ctx->len);
        }
        ctx->body = nbody;
        ctx->cap = ncap;
    }
    memcpy(ctx->body + ctx->len, data, n);
    ctx->len += n;
    ctx->body[ctx->len] = '\0';
    return n;
}

/* Append "<name><value>" to a non-empty list; on failure the list is freed
 * and NULL returned. */
static struct curl_slist *add_header(struct curl_slist *hdrs, const char *name,
                                     const char *value, apr_pool_t *p)
{
    struct curl_slist *n;

    n = curl_slist_append(hdrs, apr_pstrcat(p, name, value, NULL));
    if (!n) {
        curl_slist_free_all(hdrs);
    }
    return n;
}

static long to_ms(apr_interval_time_t t)
{
    long ms = (long)(t / 1000);
    return ms > 0 ? ms : 1;
}

static apr_status_t map_curl_error(CURLcode rc, const req_ctx_t *ctx)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        return APR_ECONNREFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        return APR_TIMEUP;
    case CURLE_WRITE_ERROR:
        return (ctx->too_large || ctx->too_many_headers) ? APR_ENOSPC : APR_EGENERAL;
    case CURLE_FILESIZE_EXCEEDED:
        return APR_ENOSPC;
    default:
        return APR_EGENERAL;
    }
}

/* Set every option of the request; the handle was reset before, so nothing
 * from an earlier request leaks into this one. */
static CURLcode set_options(md_http_t *http, req_ctx_t *ctx, const char *method,
                            const char *url, struct curl_slist *hdrs,
                            struct curl_slist *connect_to, const char *body,
                            apr_size_t body_len, char *errbuf)
{
    CURL *c = http->curl;
    CURLcode rc = CURLE_OK;

#define OPT(o, v) do { if (rc == CURLE_OK) rc = curl_easy_setopt(c, o, v); } while (0)
    OPT(CURLOPT_URL, url);
    OPT(CURLOPT_PROTOCOLS_STR, "http,https");
    OPT(CURLOPT_FOLLOWLOCATION, 0L);
    /* Signals are no way to time out in a threaded server. */
    OPT(CURLOPT_NOSIGNAL, 1L);
    OPT(CURLOPT_CONNECTTIMEOUT_MS, to_ms(http->connect_timeout));
    OPT(CURLOPT_TIMEOUT_MS, to_ms(http->timeout));
    OPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)http->max_body);
    OPT(CURLOPT_ERRORBUFFER, errbuf);
    OPT(CURLOPT_HEADERFUNCTION, header_cb);
    OPT(CURLOPT_HEADERDATA, ctx);
    OPT(CURLOPT_WRITEFUNCTION, body_cb);
    OPT(CURLOPT_WRITEDATA, ctx);
    OPT(CURLOPT_HTTPHEADER, hdrs);
    if (connect_to) {
        OPT(CURLOPT_CONNECT_TO, connect_to);
    }
    if (http->user_agent) {
        OPT(CURLOPT_USERAGENT, http->user_agent);
    }
    if (http->ca_file) {
        OPT(CURLOPT_CAINFO, http->ca_file);
    }
    if (http->proxy_url) {
        OPT(CURLOPT_PROXY, http->proxy_url);
        /* The configured proxy takes everything: a NO_PROXY in the
         * environment must not route some CA traffic around it. */
        OPT(CURLOPT_NOPROXY, "");
        if (http->proxy_ca_file) {
            OPT(CURLOPT_PROXY_CAINFO, http->proxy_ca_file);
        }
    }
    if (!strcmp(method, "GET")) {
        OPT(CURLOPT_HTTPGET, 1L);
    }
    else if (!strcmp(method, "HEAD")) {
        OPT(CURLOPT_NOBODY, 1L);
    }
    else {
        if (!strcmp(method, "POST")) {
            OPT(CURLOPT_POST, 1L);
        }
        else {
            OPT(CURLOPT_CUSTOMREQUEST, method);
        }
        OPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
        OPT(CURLOPT_POSTFIELDS, body ? body : "");
    }
#undef OPT
    return rc;
}

/* The request's header list and, when http has one, its connect-to list;
 * both NULL and APR_ENOMEM when either could not be made. The caller frees
 * them with curl_slist_free_all. */
static apr_status_t request_lists(struct curl_slist **phdrs, struct curl_slist **pconnect_to,
                                  const md_http_t *http, const char *content_type,
                                  const char *accept, apr_pool_t *p)
{
    struct curl_slist *hdrs;
    struct curl_slist *connect_to = NULL;

    *phdrs = NULL;
    *pconnect_to = NULL;
    /* "Expect:" keeps curl from waiting for a 100-continue on larger bodies. */
    hdrs = curl_slist_append(NULL, "Expect:");
    if (hdrs && content_type) {
        hdrs = add_header(hdrs, "Content-Type: ", content_type, p);
    }
    if (hdrs && accept) {
        hdrs = add_header(hdrs, "Accept: ", accept, p);
    }
    if (hdrs && http->connect_to
        && !(connect_to = curl_slist_append(NULL, http->connect_to))) {
        curl_slist_free_all(hdrs);
        hdrs = NULL;
    }
    if (!hdrs) {
        return APR_ENOMEM;
    }
    *phdrs = hdrs;
    *pconnect_to = connect_to;
    return APR_SUCCESS;
}

apr_status_t md_http_request(md_http_response_t **presp, md_http_t *http,
                             const char *method, const char *url,
                             const char *content_type, const char *accept,
                             const char *body, apr_size_t body_len, apr_pool_t *p)
{
    md_http_response_t *resp = NULL;
    struct curl_slist *hdrs = NULL;
    struct curl_slist *connect_to = NULL;
    req_ctx_t ctx;
    char errbuf[CURL_ERROR_SIZE];
    CURLcode rc;
    long code = 0;
    apr_status_t rv = APR_SUCCESS;

    *presp = NULL;
    if (http->mock) {
        rv = http->mock(presp, http->mock_baton, method, url, content_type, accept,
                        body, body_len, p);
        goto leave;
    }
    if (!http->curl) {
        return APR_EINVAL;
    }

    memset(&ctx, 0, sizeof(ctx));
    ctx.p = p;
    ctx.max = http->max_body;
    ctx.headers = apr_table_make(p, 16);
    errbuf[0] = '\0';

    if ((rv = request_lists(&hdrs, &connect_to, http, content_type, accept, p))
        != APR_SUCCESS) {
        goto leave;
    }

    curl_easy_reset(http->curl);
    rc = set_options(http, &ctx, method, url, hdrs, connect_to, body, body_len, errbuf);
    if (rc == CURLE_OK) {
        rc = curl_easy_perform(http->curl);
    }
    if (rc != CURLE_OK) {
        rv = map_curl_error(rc, &ctx);
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p, "MD03003: %s %s: %s", method, url,
                      ctx.too_large ? "response body too large" :
                      ctx.too_many_headers ? "too many response headers (or 1xx responses)" :
                      (errbuf[0] ? errbuf : curl_easy_strerror(rc)));
        goto leave;
    }
    curl_easy_getinfo(http->curl, CURLINFO_RESPONSE_CODE, &code);

    resp = apr_pcalloc(p, sizeof(*resp));
    resp->url = apr_pstrdup(p, url);
    resp->status = (int)code;
    resp->headers = ctx.headers;
    resp->body = ctx.body ? ctx.body : "";
    resp->body_len = ctx.len;
    *presp = resp;
    md_log_perror(MD_LOG_MARK, MD_LOG_TRACE2, 0, p, "MD03004: %s %s -> %d (%lu bytes)",
                  method, url, resp->status, (unsigned long)resp->body_len);

leave:
    if (hdrs) {
        /* Drop the handle's pointers to our stack and header list. */
        curl_easy_reset(http->curl);
        curl_slist_free_all(hdrs);
        curl_slist_free_all(connect_to);
    }
    return rv;
}
