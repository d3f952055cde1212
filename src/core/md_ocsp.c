/* OCSP requests and responses, renewal times and the response files (see
 * md_ocsp.h). The only file besides md_crypt*.c that uses OpenSSL: its
 * OCSP API has no place behind md_crypt.h's types that would not be this
 * file again. */
#define _DEFAULT_SOURCE   /* strncasecmp */

#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "md_crypt.h"
#include "md_crypt_int.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_ocsp.h"
#include "md_time.h"
#include "md_util.h"

/* RFC 8954 §2.1: a nonce SHOULD be 32 bytes. */
#define NONCE_LEN           32
/* Longest responder URL we accept from a certificate. */
#define RESPONDER_URL_MAX   2048

struct md_ocsp_cert_t {
    OCSP_CERTID *certid;
    X509 *issuer;                       /* own reference */
    unsigned char id[MD_OCSP_ID_LEN];
    const char *hexid;
    const char *responder;
    const char *serial;
    const char *sha256;
};

struct md_ocsp_request_t {
    OCSP_REQUEST *req;
    const unsigned char *der;
    apr_size_t der_len;
};

const char *md_ocsp_stat_name(md_ocsp_stat_t stat)
{
    switch (stat) {
    case MD_OCSP_STAT_GOOD:
        return "good";
    case MD_OCSP_STAT_REVOKED:
        return "revoked";
    default:
        return "unknown";
    }
}

/* --- the certificate ------------------------------------------------------ */

static apr_status_t ocert_cleanup(void *data)
{
    md_ocsp_cert_t *ocert = data;

    OCSP_CERTID_free(ocert->certid);
    X509_free(ocert->issuer);
    ocert->certid = NULL;
    ocert->issuer = NULL;
    return APR_SUCCESS;
}

static int is_http_url(const char *s)
{
    return s && strlen(s) <= RESPONDER_URL_MAX
           && (!strncasecmp(s, "http://", 7) || !strncasecmp(s, "https://", 8))
           && !strpbrk(s, " \t\r\n\"<>\\");
}

/* RFC 5280 §4.2.2.1: the first OCSP access method we can use. */
static const char *responder_url(X509 *x, apr_pool_t *p)
{
    STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(x);
    const char *url = NULL;
    int i;

    for (i = 0; urls && i < sk_OPENSSL_STRING_num(urls) && !url; ++i) {
        const char *s = sk_OPENSSL_STRING_value(urls, i);
        if (is_http_url(s)) {
            url = apr_pstrdup(p, s);
        }
    }
    X509_email_free(urls);
    ERR_clear_error();
    return url;
}

apr_status_t md_ocsp_cert_make(md_ocsp_cert_t **pocert, const md_cert_t *cert,
                               const md_cert_t *issuer, apr_pool_t *p)
{
    md_ocsp_cert_t *ocert;
    X509 *x = md_cert_x509(cert);
    X509 *xi = md_cert_x509(issuer);
    unsigned int n = 0;

    *pocert = NULL;
    if (!x || !xi || X509_check_issued(xi, x) != X509_V_OK) {
        ERR_clear_error();
        return APR_EINVAL;
    }
    ocert = apr_pcalloc(p, sizeof(*ocert));
    if (!X509_digest(x, EVP_sha1(), ocert->id, &n) || n != MD_OCSP_ID_LEN) {
        ERR_clear_error();
        return APR_EGENERAL;
    }
    /* The CertID with SHA-1 hashes: what RFC 5019 §2.1.1 asks clients to
     * send and every responder answers. */
    ocert->certid = OCSP_cert_to_id(NULL, x, xi);
    if (!ocert->certid || !X509_up_ref(xi)) {
        OCSP_CERTID_free(ocert->certid);
        ERR_clear_error();
        return APR_EGENERAL;
    }
    ocert->issuer = xi;
    apr_pool_cleanup_register(p, ocert, ocert_cleanup, apr_pool_cleanup_null);
    ocert->hexid = md_crypt_hex(ocert->id, MD_OCSP_ID_LEN, p);
    ocert->responder = responder_url(x, p);
    ocert->serial = md_cert_serial_hex(cert, p);
    ocert->sha256 = md_cert_sha256_fingerprint(cert, p);
    *pocert = ocert;
    return APR_SUCCESS;
}

const unsigned char *md_ocsp_cert_id(const md_ocsp_cert_t *ocert)
{
    return ocert->id;
}

const char *md_ocsp_cert_hexid(const md_ocsp_cert_t *ocert)
{
    return ocert->hexid;
}

const char *md_ocsp_cert_responder(const md_ocsp_cert_t *ocert)
{
    return ocert->responder;
}

const char *md_ocsp_cert_serial(const md_ocsp_cert_t *ocert)
{
    return ocert->serial ? ocert->serial : "?";
}

const char *md_ocsp_cert_sha256(const md_ocsp_cert_t *ocert)
{
    return ocert->sha256;
}

/* --- requests ------------------------------------------------------------- */

static apr_status_t req_cleanup(void *data)
{
    md_ocsp_request_t *req = data;

    OCSP_REQUEST_free(req->req);
    req->req = NULL;
    return APR_SUCCESS;
}

apr_status_t md_ocsp_request_make(md_ocsp_request_t **preq, const md_ocsp_cert_t *ocert,
                                  int with_nonce, apr_pool_t *p)
{
    md_ocsp_request_t *req = apr_pcalloc(p, sizeof(*req));
    OCSP_CERTID *id = NULL;
    unsigned char *der = NULL;
    int len;
    apr_status_t rv = APR_ENOMEM;

    *preq = NULL;
    req->req = OCSP_REQUEST_new();
    if (!req->req) {
        goto leave;
    }
    apr_pool_cleanup_register(p, req, req_cleanup, apr_pool_cleanup_null);
    id = OCSP_CERTID_dup(ocert->certid);
    if (!id || !OCSP_request_add0_id(req->req, id)) {
        OCSP_CERTID_free(id);
        goto leave;
    }
    if (with_nonce && !OCSP_request_add1_nonce(req->req, NULL, NONCE_LEN)) {
        goto leave;
    }
    len = i2d_OCSP_REQUEST(req->req, &der);
    if (len <= 0) {
        goto leave;
    }
    req->der = apr_pmemdup(p, der, (apr_size_t)len);
    req->der_len = (apr_size_t)len;
    OPENSSL_free(der);
    *preq = req;
    rv = APR_SUCCESS;
leave:
    ERR_clear_error();
    return rv;
}

void md_ocsp_request_der(const md_ocsp_request_t *req, const unsigned char **pder,
                         apr_size_t *plen)
{
    *pder = req->der;
    *plen = req->der_len;
}

/* --- responses ------------------------------------------------------------ */

static apr_status_t fail(const char **perr, apr_pool_t *p, apr_status_t rv, const char *fmt,
                         ...) __attribute__((format(printf, 4, 5)));

/* *perr from fmt, with what OpenSSL had to say. */
static apr_status_t fail(const char **perr, apr_pool_t *p, apr_status_t rv, const char *fmt,
                         ...)
{
    const char *ssl = md_crypt_last_error(p);
    va_list ap;

    va_start(ap, fmt);
    *perr = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
    if (ssl && *ssl) {
        *perr = apr_pstrcat(p, *perr, " (", ssl, ")", NULL);
    }
    return rv;
}

/* The status of an OCSPResponse that is not "successful" (RFC 6960 §4.2.1). */
static apr_status_t unsuccessful(int status, const char **perr, apr_pool_t *p)
{
    const char *name = OCSP_response_status_str(status);

    switch (status) {
    case OCSP_RESPONSE_STATUS_TRYLATER:
    case OCSP_RESPONSE_STATUS_INTERNALERROR:
        return fail(perr, p, APR_EAGAIN, "the responder answered %s", name);
    case OCSP_RESPONSE_STATUS_UNAUTHORIZED:
    case OCSP_RESPONSE_STATUS_SIGREQUIRED:
        return fail(perr, p, APR_EACCES, "the responder answered %s", name);
    default:
        return fail(perr, p, APR_EINVAL, "the responder answered %s", name);
    }
}

/* RFC 6960 §4.2.2.2: signed by the issuer itself, or by a responder whose
 * certificate the issuer signed with the OCSPSigning key purpose, checked
 * at time now. */
static int verify_signer(OCSP_BASICRESP *bs, X509 *issuer, apr_time_t now)
{
    STACK_OF(X509) *trusted = sk_X509_new_null();
    X509_STORE *st = X509_STORE_new();
    int ok = 0;

    if (trusted && st && sk_X509_push(trusted, issuer) && X509_STORE_add_cert(st, issuer)) {
        X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(st), (time_t)apr_time_sec(now));
        /* TRUSTOTHER: a response signed by the issuer itself needs no
         * chain; PARTIAL_CHAIN: a delegate's chain ends at the issuer (an
         * intermediate, not a root). */
        ok = OCSP_basic_verify(bs, trusted, st, OCSP_TRUSTOTHER | OCSP_PARTIAL_CHAIN) == 1;
    }
    sk_X509_free(trusted);
    X509_STORE_free(st);
    return ok;
}

/* The basic response inside a DER OCSPResponse of len bytes: bounded,
 * nothing after its end, status "successful". The caller frees *pbs. */
static apr_status_t decode_basic(OCSP_BASICRESP **pbs, const void *der, apr_size_t len,
                                 const char **perr, apr_pool_t *p)
{
    const unsigned char *ptr = der;
    OCSP_RESPONSE *r = NULL;
    int status;
    apr_status_t rv;

    *pbs = NULL;
    if (!der || len == 0 || len > MD_OCSP_RESP_MAX_LEN) {
        return fail(perr, p, APR_EINVAL, "a response of %" APR_SIZE_T_FMT " bytes (1 to %d "
                    "are taken)", len, MD_OCSP_RESP_MAX_LEN);
    }
    r = d2i_OCSP_RESPONSE(NULL, &ptr, (long)len);
    if (!r || ptr != (const unsigned char *)der + len) {
        rv = fail(perr, p, APR_EINVAL, "not an OCSP response%s",
                  r ? " (data after its end)" : "");
        goto leave;
    }
    status = OCSP_response_status(r);
    if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        rv = unsuccessful(status, perr, p);
        goto leave;
    }
    /* get1: a copy of its own, it outlives r. */
    if (!(*pbs = OCSP_response_get1_basic(r))) {
        rv = fail(perr, p, APR_EINVAL, "the response has no basic response");
        goto leave;
    }
    rv = APR_SUCCESS;
leave:
    OCSP_RESPONSE_free(r);
    return rv;
}

/* The response's period is one, has begun (within the allowed clock skew)
 * and has not ended at now. */
static apr_status_t check_period(const md_ocsp_resp_t *resp, apr_time_t now,
                                 const char **perr, apr_pool_t *p)
{
    if (resp->valid_from <= 0 || resp->valid_until <= 0
        || resp->valid_until < resp->valid_from) {
        return fail(perr, p, APR_EINVAL, "the response's thisUpdate/nextUpdate are not a "
                    "time period");
    }
    if (resp->valid_from > now + MD_OCSP_MAX_SKEW) {
        return fail(perr, p, APR_EINVAL, "the response's thisUpdate %s is in the future",
                    md_time_format_http(resp->valid_from, p));
    }
    if (resp->valid_until <= now) {
        return fail(perr, p, APR_TIMEUP, "the response expired at %s",
                    md_time_format_http(resp->valid_until, p));
    }
    return APR_SUCCESS;
}

apr_status_t md_ocsp_resp_check(md_ocsp_resp_t **presp, const md_ocsp_cert_t *ocert,
                                const md_ocsp_request_t *req, const void *der,
                                apr_size_t len, apr_time_t now, const char **perr,
                                apr_pool_t *p)
{
    OCSP_BASICRESP *bs = NULL;
    ASN1_GENERALIZEDTIME *rev = NULL;
    ASN1_GENERALIZEDTIME *thisupd = NULL;
    ASN1_GENERALIZEDTIME *nextupd = NULL;
    md_ocsp_resp_t *resp;
    int status;
    int reason = -1;
    apr_status_t rv;

    *presp = NULL;
    *perr = NULL;
    ERR_clear_error();
    if ((rv = decode_basic(&bs, der, len, perr, p)) != APR_SUCCESS) {
        goto leave;
    }
    if (!verify_signer(bs, ocert->issuer, now)) {
        rv = fail(perr, p, APR_EINVAL, "the response is not signed by the certificate's "
                  "issuer or a responder it authorized");
        goto leave;
    }
    /* 1: both have the same nonce; -1, 2, 3: one or both have none (caching
     * responders leave it out); 0: they differ. */
    if (req && OCSP_check_nonce(req->req, bs) == 0) {
        rv = fail(perr, p, APR_EINVAL, "the response's nonce is not the request's");
        goto leave;
    }
    if (!OCSP_resp_find_status(bs, ocert->certid, &status, &reason, &rev, &thisupd,
                               &nextupd)) {
        rv = fail(perr, p, APR_EINVAL, "the response has no status for the certificate "
                  "with serial %s", md_ocsp_cert_serial(ocert));
        goto leave;
    }
    if (status == V_OCSP_CERTSTATUS_UNKNOWN) {
        rv = fail(perr, p, APR_ENOENT, "the responder does not know the certificate with "
                  "serial %s", md_ocsp_cert_serial(ocert));
        goto leave;
    }
    if (status != V_OCSP_CERTSTATUS_GOOD && status != V_OCSP_CERTSTATUS_REVOKED) {
        rv = fail(perr, p, APR_EINVAL, "the response has an undefined certificate status");
        goto leave;
    }
    resp = apr_pcalloc(p, sizeof(*resp));
    resp->stat = status == V_OCSP_CERTSTATUS_GOOD ? MD_OCSP_STAT_GOOD : MD_OCSP_STAT_REVOKED;
    resp->valid_from = md_asn1_time_to_apr(thisupd);
    resp->valid_until = nextupd ? md_asn1_time_to_apr(nextupd)
                                : resp->valid_from + MD_OCSP_VALID_DEFAULT;
    resp->revoked_at = rev ? md_asn1_time_to_apr(rev) : 0;
    resp->reason = reason;
    if ((rv = check_period(resp, now, perr, p)) != APR_SUCCESS) {
        goto leave;
    }
    resp->der = apr_pmemdup(p, der, len);
    resp->der_len = len;
    *presp = resp;
leave:
    OCSP_BASICRESP_free(bs);
    ERR_clear_error();
    return rv;
}

/* --- when ----------------------------------------------------------------- */

int md_ocsp_is_current(apr_time_t valid_from, apr_time_t valid_until, apr_time_t now)
{
    return valid_until > now && valid_from <= now + MD_OCSP_MAX_SKEW;
}

int md_ocsp_is_stale(apr_time_t mtime, apr_interval_time_t keep, apr_time_t now)
{
    /* A time in the future (clock set back) is stale too, or it would stay forever. */
    return mtime <= 0 || mtime > now + MD_OCSP_MAX_SKEW || now - mtime >= keep;
}

/* --- files ---------------------------------------------------------------- */

const char *md_ocsp_file_name(const char *hexid, apr_pool_t *p)
{
    return apr_pstrcat(p, MD_FN_OCSP_PREFIX, hexid, MD_FN_OCSP_SUFFIX, NULL);
}

int md_ocsp_is_file_name(const char *aspect)
{
    apr_size_t len = aspect ? strlen(aspect) : 0;
    apr_size_t slen = sizeof(MD_FN_OCSP_SUFFIX) - 1;

    /* Stock removes "ocsp*.json": the same files. */
    return len >= 4 + slen && !strncmp(aspect, "ocsp", 4)
           && !strcmp(aspect + len - slen, MD_FN_OCSP_SUFFIX);
}

json_t *md_ocsp_file_json(const md_ocsp_resp_t *resp, apr_pool_t *p)
{
    json_t *j = json_object();
    json_t *valid = json_object();

    md_json_set_str(j, MD_KEY_RESPONSE, md_util_base64url_encode(resp->der, resp->der_len, p));
    md_json_set_str(j, MD_KEY_STATUS, md_ocsp_stat_name(resp->stat));
    md_json_set_str(valid, MD_KEY_FROM, md_time_format_http(resp->valid_from, p));
    md_json_set_str(valid, MD_KEY_UNTIL, md_time_format_http(resp->valid_until, p));
    json_object_set_new(j, MD_KEY_VALID, valid);
    return j;
}

apr_status_t md_ocsp_file_der(const unsigned char **pder, apr_size_t *plen, const json_t *j,
                              apr_pool_t *p)
{
    const char *s = md_json_get_str(j, MD_KEY_RESPONSE);
    unsigned char *der = NULL;
    apr_size_t len = 0;

    *pder = NULL;
    *plen = 0;
    /* Bounded before decoding: 4 characters per 3 bytes. */
    if (!s || strlen(s) > (MD_OCSP_RESP_MAX_LEN / 3 + 1) * 4
        || md_util_base64url_decode(&der, &len, s, p) != APR_SUCCESS
        || len == 0 || len > MD_OCSP_RESP_MAX_LEN) {
        return APR_EINVAL;
    }
    *pder = der;
    *plen = len;
    return APR_SUCCESS;
}
