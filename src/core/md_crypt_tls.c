/* A minimal TLS client for one purpose: look at the certificate a server
 * presents for a name and an ALPN protocol, as a CA validating tls-alpn-01
 * (RFC 8737) would. Used to check our own answer before asking the CA.
 * And the server side of that answer: which key type a validator's
 * handshake wants. Part of the crypto home (STYLE §13). */
#define _DEFAULT_SOURCE   /* getaddrinfo, struct timeval */

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <apr_strings.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "md_crypt.h"
#include "md_crypt_int.h"
#include "md_log.h"

#define ALPN_MAX_LEN    255

static void set_timeouts(int fd, apr_interval_time_t timeout)
{
    struct timeval tv;

    tv.tv_sec = (time_t)apr_time_sec(timeout);
    tv.tv_usec = (suseconds_t)apr_time_usec(timeout);
    /* On Linux SO_SNDTIMEO bounds connect() too. */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A connected socket to host:port, or -1 with *perr set. */
static int tcp_connect(const char *host, int port, apr_interval_time_t timeout,
                       apr_status_t *prv, const char **perr, apr_pool_t *p)
{
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    struct addrinfo *ai;
    char service[16];
    int fd = -1;
    int err = 0;
    int gai;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    apr_snprintf(service, sizeof(service), "%d", port);
    if ((gai = getaddrinfo(host, service, &hints, &res)) != 0) {
        *prv = APR_EGENERAL;
        *perr = apr_psprintf(p, "cannot resolve %s: %s", host, gai_strerror(gai));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol)) < 0) {
            err = errno;
            continue;
        }
        set_timeouts(fd, timeout);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            break;
        }
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        *prv = (err == ECONNREFUSED) ? APR_ECONNREFUSED
             : (err == EAGAIN || err == EINPROGRESS || err == ETIMEDOUT) ? APR_TIMEUP
             : APR_EGENERAL;
        *perr = (err == ECONNREFUSED) ? "connection refused"
              : apr_psprintf(p, "cannot connect: %s", strerror(err));
    }
    return fd;
}

/* A TLS client on fd that does not verify the server (the point: the
 * answer is a self-signed certificate), offering protocol alpn of alen
 * bytes (none when 0) and sending server_name as SNI when given. *pctx and
 * *pssl are the caller's to free, also on failure. */
static apr_status_t client_setup(SSL_CTX **pctx, SSL **pssl, int fd, const char *alpn,
                                 size_t alen, const char *server_name, const char **perr,
                                 apr_pool_t *p)
{
    unsigned char protos[1 + ALPN_MAX_LEN];

    if (!(*pctx = SSL_CTX_new(TLS_client_method()))
        || !SSL_CTX_set_min_proto_version(*pctx, TLS1_2_VERSION)
        || !(*pssl = SSL_new(*pctx)) || !SSL_set_fd(*pssl, fd)) {
        *perr = apr_psprintf(p, "TLS setup failed: %s", md_crypt_last_error(p));
        return APR_EGENERAL;
    }
    SSL_set_verify(*pssl, SSL_VERIFY_NONE, NULL);
    if (alen > 0) {
        protos[0] = (unsigned char)alen;
        memcpy(protos + 1, alpn, alen);
        /* SSL_set_alpn_protos returns 0 on success. */
        if (SSL_set_alpn_protos(*pssl, protos, (unsigned int)(alen + 1)) != 0) {
            *perr = apr_psprintf(p, "TLS setup failed: %s", md_crypt_last_error(p));
            return APR_EGENERAL;
        }
    }
    /* A copy: OpenSSL's macro casts the const away, which clang's
     * -Wcast-qual (the fuzzing build) reports. */
    if (server_name && !SSL_set_tlsext_host_name(*pssl, apr_pstrdup(p, server_name))) {
        *perr = apr_psprintf(p, "TLS setup failed for name %s: %s", server_name,
                             md_crypt_last_error(p));
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t md_crypt_tls_probe(md_cert_t **pcert, const char **palpn, const char *host,
                                int port, const char *server_name, const char *alpn,
                                apr_interval_time_t timeout, const char **perr,
                                apr_pool_t *p)
{
    const unsigned char *sel = NULL;
    unsigned int sel_len = 0;
    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    X509 *peer;
    apr_status_t rv = APR_SUCCESS;
    size_t alen = alpn ? strlen(alpn) : 0;
    int fd;

    *pcert = NULL;
    *palpn = NULL;
    *perr = NULL;
    if (alen > ALPN_MAX_LEN || port <= 0 || port > 65535) {
        *perr = "invalid probe parameters";
        return APR_EINVAL;
    }
    if ((fd = tcp_connect(host, port, timeout, &rv, perr, p)) < 0) {
        return rv;
    }
    ERR_clear_error();
    if ((rv = client_setup(&ctx, &ssl, fd, alpn, alen, server_name, perr, p)) != APR_SUCCESS) {
        goto leave;
    }
    if (SSL_connect(ssl) != 1) {
        const char *why = md_crypt_last_error(p);

        rv = APR_EGENERAL;
        *perr = apr_psprintf(p, "TLS handshake failed: %s",
                             *why ? why : "the server closed the connection");
        goto leave;
    }
    SSL_get0_alpn_selected(ssl, &sel, &sel_len);
    if (sel && sel_len > 0) {
        *palpn = apr_pstrmemdup(p, (const char *)sel, sel_len);
    }
    if (!(peer = SSL_get1_peer_certificate(ssl))) {
        rv = APR_EGENERAL;
        *perr = "the server sent no certificate";
        goto leave;
    }
    *pcert = md_cert_wrap(peer, p);
    md_log_perror(MD_LOG_MARK, MD_LOG_TRACE1, 0, p, "MD02600: TLS probe %s:%d (SNI %s, "
                  "ALPN %s): selected %s", host, port, server_name ? server_name : "-",
                  alpn ? alpn : "-", *palpn ? *palpn : "no protocol");
leave:
    if (ssl) {
        SSL_free(ssl);
    }
    SSL_CTX_free(ctx);
    close(fd);
    ERR_clear_error();
    return rv;
}

/* --- the server side of tls-alpn-01 ---------------------------------------- */

md_pkey_type_t md_tls_peer_key_type(void *tls, int have_rsa, int have_ec)
{
    SSL *ssl = tls;
    int i, n, sign = NID_undef;

    const SSL_CIPHER *cipher;

    if (!have_rsa || !have_ec) {
        return have_ec ? MD_PKEY_TYPE_EC : MD_PKEY_TYPE_RSA;
    }
    /* TLS 1.2 has chosen its cipher suite, and with it the key type, before
     * the ALPN callback we answer in: follow it. */
    if (ssl && (cipher = SSL_get_pending_cipher(ssl)) != NULL) {
        switch (SSL_CIPHER_get_auth_nid(cipher)) {
        case NID_auth_ecdsa:
            return MD_PKEY_TYPE_EC;
        case NID_auth_rsa:
            return MD_PKEY_TYPE_RSA;
        default:
            break;      /* TLS 1.3: any; the signature algorithms decide */
        }
    }
    /* The client's signature algorithms in its order of preference; a
     * client without the extension (TLS 1.2) takes RSA (RFC 5246 §7.4.1.4.1). */
    n = ssl ? SSL_get_sigalgs(ssl, -1, NULL, NULL, NULL, NULL, NULL) : 0;
    for (i = 0; i < n; ++i) {
        if (SSL_get_sigalgs(ssl, i, &sign, NULL, NULL, NULL, NULL) <= 0) {
            continue;
        }
        if (sign == NID_X9_62_id_ecPublicKey) {
            return MD_PKEY_TYPE_EC;
        }
        if (sign == NID_rsaEncryption || sign == NID_rsassaPss) {
            return MD_PKEY_TYPE_RSA;
        }
    }
    ERR_clear_error();
    return n > 0 ? MD_PKEY_TYPE_EC : MD_PKEY_TYPE_RSA;
}

void md_tls_certs_clear(void *tls)
{
    if (tls) {
        SSL_certs_clear((SSL *)tls);
    }
}
