/* Unit tests of the HTTP client (md_http.c) against a tiny HTTP/1.1 server
 * in a thread on a loopback port: headers, bodies, methods, no redirects,
 * the body cap, timeouts, refused connections and refused protocols. */
#include "unit.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_network_io.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "md_http.h"

/* --- the server ---------------------------------------------------------- */

typedef struct {
    apr_pool_t *p;
    apr_socket_t *listener;
    apr_port_t port;
    apr_thread_t *thread;
    int stop;
} server_t;

static server_t server;

static void send_all(apr_socket_t *s, const char *data, apr_size_t len)
{
    apr_size_t n;

    while (len > 0) {
        n = len;
        if (apr_socket_send(s, data, &n) != APR_SUCCESS || n == 0) {
            return;   /* the client gave up: fine for the limit tests */
        }
        data += n;
        len -= n;
    }
}

static void send_str(apr_socket_t *s, const char *str)
{
    send_all(s, str, strlen(str));
}

/* Read the request head and its Content-Length body into buf. */
static apr_size_t read_request(apr_socket_t *s, char *buf, apr_size_t cap, char **pbody,
                               apr_size_t *pbody_len)
{
    apr_size_t len = 0;
    apr_size_t n;
    apr_size_t want = 0;
    char *end = NULL;
    char *cl;

    *pbody = NULL;
    *pbody_len = 0;
    while (len < cap - 1) {
        n = cap - 1 - len;
        if (apr_socket_recv(s, buf + len, &n) != APR_SUCCESS || n == 0) {
            break;
        }
        len += n;
        buf[len] = '\0';
        if (!end && (end = strstr(buf, "\r\n\r\n"))) {
            cl = strcasestr(buf, "\r\ncontent-length:");
            want = (cl && cl < end) ? (apr_size_t)strtoul(cl + 17, NULL, 10) : 0;
        }
        if (end && len >= (apr_size_t)(end + 4 - buf) + want) {
            *pbody = end + 4;
            *pbody_len = want;
            break;
        }
    }
    buf[len] = '\0';
    return len;
}

static const char *req_header(apr_pool_t *p, const char *req, const char *name)
{
    const char *s = strcasestr(req, apr_pstrcat(p, "\r\n", name, ":", NULL));
    const char *e;

    if (!s) {
        return "";
    }
    s += strlen(name) + 3;
    while (*s == ' ') {
        ++s;
    }
    e = strstr(s, "\r\n");
    return apr_pstrmemdup(p, s, e ? (apr_size_t)(e - s) : strlen(s));
}

static void handle(apr_socket_t *c, apr_pool_t *p)
{
    static char buf[64 * 1024];
    static char chunk[16 * 1024];
    char method[16] = "";
    char path[256] = "";
    char *body;
    apr_size_t body_len;
    apr_size_t i;

    read_request(c, buf, sizeof(buf), &body, &body_len);
    sscanf(buf, "%15s %255s", method, path);

    if (!strcmp(path, "/hello")) {
        send_str(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    "Replay-Nonce: n-1\r\nLink: <a>;rel=\"up\"\r\nLink: <b>;rel=\"up\"\r\n"
                    "Content-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}");
    }
    else if (!strcmp(path, "/echo")) {
        send_str(c, apr_psprintf(p, "HTTP/1.1 201 Created\r\nX-Method: %s\r\n"
                                    "X-Content-Type: %s\r\nX-Accept: %s\r\nX-UA: %s\r\n"
                                    "X-Expect: %s\r\nContent-Length: %lu\r\n"
                                    "Connection: close\r\n\r\n",
                                 method, req_header(p, buf, "Content-Type"),
                                 req_header(p, buf, "Accept"), req_header(p, buf, "User-Agent"),
                                 req_header(p, buf, "Expect"), (unsigned long)body_len));
        if (strcmp(method, "HEAD") && body) {
            send_all(c, body, body_len);
        }
    }
    else if (!strcmp(path, "/redirect")) {
        send_str(c, "HTTP/1.1 302 Found\r\nLocation: /hello\r\nContent-Length: 0\r\n"
                    "Connection: close\r\n\r\n");
    }
    else if (!strcmp(path, "/big") || !strcmp(path, "/big-unsized")) {
        memset(chunk, 'x', sizeof(chunk));
        send_str(c, !strcmp(path, "/big")
                 ? apr_psprintf(p, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                                   "Connection: close\r\n\r\n", MD_HTTP_MAX_BODY + 1)
                 : "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
        for (i = 0; i <= MD_HTTP_MAX_BODY / sizeof(chunk); ++i) {
            send_all(c, chunk, sizeof(chunk));
        }
    }
    else if (!strcmp(path, "/slow")) {
        apr_sleep(apr_time_from_sec(1));
        send_str(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
    else {
        if (!strcmp(path, "/quit")) {
            server.stop = 1;
        }
        send_str(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
}

static void *APR_THREAD_FUNC serve(apr_thread_t *thread, void *data)
{
    apr_pool_t *cp;
    apr_socket_t *c;

    (void)thread;
    (void)data;
    apr_pool_create(&cp, NULL);
    while (!server.stop) {
        apr_pool_clear(cp);
        if (apr_socket_accept(&c, server.listener, cp) != APR_SUCCESS) {
            continue;
        }
        handle(c, cp);
        apr_socket_shutdown(c, APR_SHUTDOWN_WRITE);
        apr_socket_close(c);
    }
    apr_pool_destroy(cp);
    /* Returning (not apr_thread_exit, which unwinds via pthread_exit and
     * upsets ASan); join does not need the exit value. */
    return NULL;
}

static int server_start(void **state)
{
    apr_sockaddr_t *sa;

    (void)state;
    signal(SIGPIPE, SIG_IGN);
    memset(&server, 0, sizeof(server));
    if (apr_pool_create(&server.p, NULL) != APR_SUCCESS
        || apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, 0, 0, server.p) != APR_SUCCESS
        || apr_socket_create(&server.listener, APR_INET, SOCK_STREAM, APR_PROTO_TCP,
                             server.p) != APR_SUCCESS
        || apr_socket_opt_set(server.listener, APR_SO_REUSEADDR, 1) != APR_SUCCESS
        || apr_socket_bind(server.listener, sa) != APR_SUCCESS
        || apr_socket_listen(server.listener, 8) != APR_SUCCESS
        || apr_socket_addr_get(&sa, APR_LOCAL, server.listener) != APR_SUCCESS) {
        return -1;
    }
    server.port = sa->port;
    return apr_thread_create(&server.thread, NULL, serve, NULL, server.p) == APR_SUCCESS
        ? 0 : -1;
}

static int server_stop(void **state)
{
    apr_pool_t *p;
    md_http_t *http;
    md_http_response_t *resp;
    apr_status_t trv;

    (void)state;
    apr_pool_create(&p, NULL);
    md_http_create(&http, p, "test", NULL);
    md_http_request(&resp, http, "GET", apr_psprintf(p, "http://127.0.0.1:%d/quit",
                                                     server.port), NULL, NULL, NULL, 0, p);
    apr_thread_join(&trv, server.thread);
    apr_pool_destroy(p);
    apr_pool_destroy(server.p);
    return 0;
}

static const char *url(apr_pool_t *p, const char *path)
{
    return apr_psprintf(p, "http://127.0.0.1:%d%s", server.port, path);
}

static md_http_t *client(apr_pool_t *p)
{
    md_http_t *http = NULL;
    assert_int_equal(md_http_create(&http, p, "md-test/1.0", NULL), APR_SUCCESS);
    return http;
}

/* --- tests ---------------------------------------------------------------- */

static int count_cb(void *baton, const char *key, const char *value)
{
    (void)key;
    (void)value;
    ++*(int *)baton;
    return 1;
}

static void test_get_headers(void **state)
{
    apr_pool_t *p = *state;
    md_http_t *http = client(p);
    md_http_response_t *resp = NULL;
    int links = 0;

    assert_int_equal(md_http_request(&resp, http, "GET", url(p, "/hello"), NULL, NULL, NULL,
                                     0, p), APR_SUCCESS);
    assert_int_equal(resp->status, 200);
    assert_string_equal(resp->url, url(p, "/hello"));
    assert_int_equal(resp->body_len, 11);
    assert_string_equal(resp->body, "{\"ok\":true}");
    /* names as sent, looked up case-insensitively */
    assert_string_equal(apr_table_get(resp->headers, "replay-nonce"), "n-1");
    assert_string_equal(apr_table_get(resp->headers, "Content-Type"), "application/json");
    apr_table_do(count_cb, &links, resp->headers, "Link", NULL);
    assert_int_equal(links, 2);

    /* the same handle again */
    assert_int_equal(md_http_request(&resp, http, "GET", url(p, "/nothing"), NULL, NULL, NULL,
                                     0, p), APR_SUCCESS);
    assert_int_equal(resp->status, 404);
    assert_int_equal(resp->body_len, 0);
    assert_string_equal(resp->body, "");
}

static void test_post_echo(void **state)
{
    apr_pool_t *p = *state;
    md_http_t *http = client(p);
    md_http_response_t *resp = NULL;
    char big[4096];

    assert_int_equal(md_http_request(&resp, http, "POST", url(p, "/echo"),
                                     "application/jose+json", "application/json",
                                     "{\"a\":1}", 7, p), APR_SUCCESS);
    assert_int_equal(resp->status, 201);
    assert_string_equal(apr_table_get(resp->headers, "X-Method"), "POST");
    assert_string_equal(apr_table_get(resp->headers, "X-Content-Type"), "application/jose+json");
    assert_string_equal(apr_table_get(resp->headers, "X-Accept"), "application/json");
    assert_string_equal(apr_table_get(resp->headers, "X-UA"), "md-test/1.0");
    assert_string_equal(resp->body, "{\"a\":1}");

    /* a larger body goes without waiting for 100-continue */
    memset(big, 'b', sizeof(big));
    md_http_set_user_agent(http, "other/2");
    assert_int_equal(md_http_request(&resp, http, "POST", url(p, "/echo"), "text/plain", NULL,
                                     big, sizeof(big), p), APR_SUCCESS);
    assert_int_equal(resp->body_len, sizeof(big));
    assert_string_equal(apr_table_get(resp->headers, "X-Expect"), "");
    assert_string_equal(apr_table_get(resp->headers, "X-UA"), "other/2");

    /* HEAD: headers only */
    assert_int_equal(md_http_request(&resp, http, "HEAD", url(p, "/echo"), NULL, NULL, NULL,
                                     0, p), APR_SUCCESS);
    assert_string_equal(apr_table_get(resp->headers, "X-Method"), "HEAD");
    assert_int_equal(resp->body_len, 0);

    /* a GET after a POST on the same handle is a GET */
    assert_int_equal(md_http_request(&resp, http, "GET", url(p, "/echo"), NULL, NULL, NULL,
                                     0, p), APR_SUCCESS);
    assert_string_equal(apr_table_get(resp->headers, "X-Method"), "GET");
}

static void test_no_redirect(void **state)
{
    apr_pool_t *p = *state;
    md_http_response_t *resp = NULL;

    assert_int_equal(md_http_request(&resp, client(p), "GET", url(p, "/redirect"), NULL, NULL,
                                     NULL, 0, p), APR_SUCCESS);
    assert_int_equal(resp->status, 302);
    assert_string_equal(apr_table_get(resp->headers, "Location"), "/hello");
}

static void test_body_cap(void **state)
{
    apr_pool_t *p = *state;
    md_http_t *http = client(p);
    md_http_response_t *resp = NULL;

    assert_int_equal(md_http_request(&resp, http, "GET", url(p, "/big"), NULL, NULL, NULL, 0,
                                     p), APR_ENOSPC);
    assert_null(resp);
    assert_int_equal(md_http_request(&resp, http, "GET", url(p, "/big-unsized"), NULL, NULL,
                                     NULL, 0, p), APR_ENOSPC);
    assert_null(resp);
    /* and the handle still works */
    assert_int_equal(md_http_request(&resp, http, "GET", url(p, "/hello"), NULL, NULL, NULL,
                                     0, p), APR_SUCCESS);
    assert_int_equal(resp->status, 200);
}

/* A smaller cap for one client (OCSP responses): Content-Length over it
 * fails, the default comes back with 0. */
static void test_body_cap_set(void **state)
{
    apr_pool_t *p = *state;
    md_http_t *http = client(p);
    md_http_response_t *resp = NULL;

    md_http_set_max_body(http, 10);
    assert_int_equal(md_http_request(&resp, http, "GET", url(p, "/hello"), NULL, NULL, NULL,
                                     0, p), APR_ENOSPC);
    md_http_set_max_body(http, 11);
    assert_int_equal(md_http_request(&resp, http, "GET", url(p, "/hello"), NULL, NULL, NULL,
                                     0, p), APR_SUCCESS);
    md_http_set_max_body(http, 0);
    assert_int_equal(md_http_request(&resp, http, "GET", url(p, "/big"), NULL, NULL, NULL, 0,
                                     p), APR_ENOSPC);
    assert_int_equal(md_http_request(&resp, http, "GET", url(p, "/hello"), NULL, NULL, NULL,
                                     0, p), APR_SUCCESS);
}

static void test_timeout(void **state)
{
    apr_pool_t *p = *state;
    md_http_t *http = client(p);
    md_http_response_t *resp = NULL;

    md_http_set_timeouts(http, apr_time_from_sec(1), apr_time_from_msec(300));
    assert_int_equal(md_http_request(&resp, http, "GET", url(p, "/slow"), NULL, NULL, NULL, 0,
                                     p), APR_TIMEUP);
    assert_null(resp);
}

static void test_refused(void **state)
{
    apr_pool_t *p = *state;
    md_http_response_t *resp = NULL;
    apr_socket_t *s;
    apr_sockaddr_t *sa;
    apr_port_t port;

    /* a port that was just free: nobody listens there */
    assert_int_equal(apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, 0, 0, p), APR_SUCCESS);
    assert_int_equal(apr_socket_create(&s, APR_INET, SOCK_STREAM, APR_PROTO_TCP, p),
                     APR_SUCCESS);
    assert_int_equal(apr_socket_bind(s, sa), APR_SUCCESS);
    assert_int_equal(apr_socket_addr_get(&sa, APR_LOCAL, s), APR_SUCCESS);
    port = sa->port;
    apr_socket_close(s);
    assert_int_equal(md_http_request(&resp, client(p), "GET",
                                     apr_psprintf(p, "http://127.0.0.1:%d/", port), NULL,
                                     NULL, NULL, 0, p), APR_ECONNREFUSED);
}

static void test_protocols(void **state)
{
    apr_pool_t *p = *state;
    md_http_t *http = client(p);
    md_http_response_t *resp = NULL;

    assert_int_equal(md_http_request(&resp, http, "GET", "file:///etc/passwd", NULL, NULL,
                                     NULL, 0, p), APR_EGENERAL);
    assert_null(resp);
    assert_int_equal(md_http_request(&resp, http, "GET", "gopher://127.0.0.1/", NULL, NULL,
                                     NULL, 0, p), APR_EGENERAL);
}

static apr_status_t fake(md_http_response_t **presp, void *baton, const char *method,
                         const char *u, const char *content_type, const char *accept,
                         const char *body, apr_size_t body_len, apr_pool_t *p)
{
    md_http_response_t *r = apr_pcalloc(p, sizeof(*r));

    (void)method;
    (void)content_type;
    (void)accept;
    (void)body;
    (void)body_len;
    ++*(int *)baton;
    r->url = u;
    r->status = 299;
    r->headers = apr_table_make(p, 1);
    r->body = "";
    *presp = r;
    return APR_SUCCESS;
}

static void test_mock(void **state)
{
    apr_pool_t *p = *state;
    md_http_t *http = client(p);
    md_http_response_t *resp = NULL;
    int calls = 0;

    md_http_set_mock(http, fake, &calls);
    assert_int_equal(md_http_request(&resp, http, "GET", "https://nowhere.test/", NULL, NULL,
                                     NULL, 0, p), APR_SUCCESS);
    assert_int_equal(resp->status, 299);
    assert_int_equal(calls, 1);
    md_http_set_mock(http, NULL, NULL);
    assert_int_equal(md_http_request(&resp, http, "GET", url(p, "/hello"), NULL, NULL, NULL,
                                     0, p), APR_SUCCESS);
    assert_int_equal(resp->status, 200);
    assert_int_equal(calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_get_headers),
        UNIT_TEST(test_post_echo),
        UNIT_TEST(test_no_redirect),
        UNIT_TEST(test_body_cap),
        UNIT_TEST(test_body_cap_set),
        UNIT_TEST(test_timeout),
        UNIT_TEST(test_refused),
        UNIT_TEST(test_protocols),
        UNIT_TEST(test_mock),
    };

    apr_initialize();
    if (md_http_global_init() != APR_SUCCESS) {
        return 1;
    }
    return cmocka_run_group_tests(tests, server_start, server_stop);
}
