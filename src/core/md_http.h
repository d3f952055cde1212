/* HTTP client over libcurl. The only file that includes curl.h.
 *
 * An md_http_t wraps one curl easy handle (so connections are reused) and
 * must be used by one thread at a time. Every request has connect and total
 * timeouts and a cap on the response body size.
 */
#ifndef md_http_h
#define md_http_h

#include <apr_pools.h>
#include <apr_tables.h>

#define MD_HTTP_MAX_BODY       (1024 * 1024)
#define MD_HTTP_CONNECT_TIMEOUT apr_time_from_sec(10)
#define MD_HTTP_TIMEOUT         apr_time_from_sec(60)

typedef struct md_http_t md_http_t;

typedef struct md_http_response_t {
    const char *url;          /* the request URL */
    int status;               /* HTTP status code */
    apr_table_t *headers;     /* response headers (case-insensitive lookup) */
    const char *body;         /* NUL-terminated for convenience, may contain NULs */
    apr_size_t body_len;
} md_http_response_t;

/* Process-wide init/cleanup of libcurl; call once before threads start. */
apr_status_t md_http_global_init(void);

/* ca_file: PEM bundle to verify the server with instead of the system's,
 * or NULL. The client lives as long as p (cleanup closes the handle). */
apr_status_t md_http_create(md_http_t **phttp, apr_pool_t *p, const char *user_agent,
                            const char *ca_file);

void md_http_set_timeouts(md_http_t *http, apr_interval_time_t connect_timeout,
                          apr_interval_time_t timeout);

/* A smaller response body limit than MD_HTTP_MAX_BODY for later requests
 * (OCSP responses are a few KB); 0 or more than MD_HTTP_MAX_BODY restores it.
 * A larger body fails the request with APR_ENOSPC. */
void md_http_set_max_body(md_http_t *http, apr_size_t max_body);

/* Perform one request. body may be NULL (no body). content_type may be NULL.
 * Returns APR_SUCCESS when a response arrived, whatever its status code;
 * APR_ECONNREFUSED / APR_TIMEUP / APR_EGENERAL etc. when none did, after
 * logging curl's message with the URL. A body larger than MD_HTTP_MAX_BODY
 * fails with APR_ENOSPC. The response is allocated from p. Blocks. */
apr_status_t md_http_request(md_http_response_t **presp, md_http_t *http,
                             const char *method, const char *url,
                             const char *content_type, const char *accept,
                             const char *body, apr_size_t body_len, apr_pool_t *p);

/* Send later requests through a proxy (curl's syntax: "http://host:port"
 * or "https://host:port"; https:// requests tunnel with CONNECT), ignoring
 * the *_proxy/NO_PROXY environment. proxy_ca_file (PEM) verifies an https
 * proxy's own certificate, NULL the system's CAs. proxy_url NULL: direct
 * (curl's environment defaults apply). Strings are copied. */
void md_http_set_proxy(md_http_t *http, const char *proxy_url, const char *proxy_ca_file);

/* Change the User-Agent of later requests (the string must outlive them). */
void md_http_set_user_agent(md_http_t *http, const char *user_agent);

/* Connect somewhere else than the URL's host and port, keeping the URL (and
 * so the Host header and TLS server name): "HOST:PORT:CONNECT_HOST:CONNECT_PORT"
 * as curl's CURLOPT_CONNECT_TO takes it (IPv6 addresses in brackets). NULL
 * turns it off. Copied into the client's pool. */
void md_http_set_connect_to(md_http_t *http, const char *connect_to);

/* For tests: route every request of this client to fn instead of the
 * network. fn fills *presp (allocated from p) or returns an error, exactly
 * like md_http_request. fn NULL restores the network. */
typedef apr_status_t md_http_mock_fn(md_http_response_t **presp, void *baton,
                                     const char *method, const char *url,
                                     const char *content_type, const char *accept,
                                     const char *body, apr_size_t body_len, apr_pool_t *p);
void md_http_set_mock(md_http_t *http, md_http_mock_fn *fn, void *baton);

#endif /* md_http_h */
