/* Unit tests of md_ocsp.c and md_ocsp_reg.c: a small PKI made here with
 * OpenSSL (a CA, its intermediate-style issuer, leaf certificates, delegated
 * responders) and responses signed as RFC 6960 describes them, good and
 * broken; the renewal times with a clock passed in; the store's files; and
 * the registry's whole cycle (prime, staple, renew through a mock
 * responder behind md_http_set_mock, a second "process" picking up what the
 * first fetched, cleanup, status). */
#include "unit.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <utime.h>

#include <apr_strings.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "md_crypt.h"
#include "md_http.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_ocsp.h"
#include "md_ocsp_reg.h"
#include "md_ocsp_reg_int.h"
#include "md_store.h"
#include "md_time.h"
#include "md_util.h"
#include "fixtures/fx.h"

#define RESPONDER       "http://ocsp.test/"
#define NO_NEXT         LONG_MIN
#define DAY             (24 * 60 * 60)

/* --- a small PKI ------------------------------------------------------------ */

typedef struct {
    EVP_PKEY *key;
    X509 *x;
} ident_t;

static EVP_PKEY *new_key(void)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(k);
    return k;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ex;

    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ex);
    assert_true(X509_add_ext(x, ex, -1));
    X509_EXTENSION_free(ex);
}

/* A certificate for cn signed by issuer (self-signed when NULL). aia: the
 * AIA OCSP value or NULL; ca; ocsp_signing: the OCSPSigning key purpose. */
static ident_t make_ident(const char *cn, const ident_t *issuer, long serial, int ca,
                          const char *aia, int ocsp_signing)
{
    ident_t id;
    X509_NAME *name = X509_NAME_new();

    id.key = new_key();
    id.x = X509_new();
    assert_true(X509_set_version(id.x, X509_VERSION_3));
    assert_true(ASN1_INTEGER_set(X509_get_serialNumber(id.x), serial));
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    assert_true(X509_set_subject_name(id.x, name));
    assert_true(X509_set_issuer_name(id.x, issuer ? X509_get_subject_name(issuer->x) : name));
    X509_NAME_free(name);
    X509_gmtime_adj(X509_getm_notBefore(id.x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(id.x), 90L * DAY);
    assert_true(X509_set_pubkey(id.x, id.key));
    if (ca) {
        add_ext(id.x, issuer ? issuer->x : NULL, NID_basic_constraints, "critical,CA:TRUE");
    }
    if (aia) {
        add_ext(id.x, issuer ? issuer->x : NULL, NID_info_access, aia);
    }
    if (ocsp_signing) {
        add_ext(id.x, issuer ? issuer->x : NULL, NID_ext_key_usage, "OCSPSigning");
    }
    assert_true(X509_sign(id.x, issuer ? issuer->key : id.key, EVP_sha256()) > 0);
    return id;
}

static void free_ident(ident_t *id)
{
    X509_free(id->x);
    EVP_PKEY_free(id->key);
}

static const char *pem_of(apr_pool_t *p, X509 *a, X509 *b)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long n;
    const char *s;

    assert_true(PEM_write_bio_X509(bio, a));
    if (b) {
        assert_true(PEM_write_bio_X509(bio, b));
    }
    n = BIO_get_mem_data(bio, &data);
    s = apr_pstrndup(p, data, (apr_size_t)n);
    BIO_free(bio);
    return s;
}

static md_cert_t *md_cert_of(apr_pool_t *p, X509 *x)
{
    const char *pem = pem_of(p, x, NULL);
    apr_array_header_t *certs = NULL;

    assert_int_equal(md_certs_from_pem(&certs, pem, strlen(pem), p), APR_SUCCESS);
    return MD_ARR_IDX(certs, 0, md_cert_t *);
}

/* The test PKI: a CA that issues the leaves (and signs their responses),
 * a stranger CA, delegated responders with and without the key purpose. */
typedef struct {
    apr_pool_t *p;
    ident_t ca;
    ident_t other_ca;
    ident_t leaf;           /* with AIA OCSP */
    ident_t leaf2;          /* another one, same responder */
    ident_t bare;           /* no AIA */
    ident_t delegate;       /* OCSPSigning, by ca */
    ident_t no_eku;         /* no OCSPSigning, by ca */
    ident_t stranger;       /* OCSPSigning, by other_ca */
} pki_t;

static pki_t *pki;

static int pki_setup(void **state)
{
    (void)state;
    pki = calloc(1, sizeof(*pki));
    pki->ca = make_ident("Test CA", NULL, 1, 1, NULL, 0);
    pki->other_ca = make_ident("Other CA", NULL, 2, 1, NULL, 0);
    pki->leaf = make_ident("a.test", &pki->ca, 0x1001, 0, "OCSP;URI:" RESPONDER, 0);
    pki->leaf2 = make_ident("b.test", &pki->ca, 0x1002, 0, "OCSP;URI:" RESPONDER, 0);
    pki->bare = make_ident("c.test", &pki->ca, 0x1003, 0, NULL, 0);
    pki->delegate = make_ident("Test OCSP", &pki->ca, 0x2001, 0, NULL, 1);
    pki->no_eku = make_ident("Test no EKU", &pki->ca, 0x2002, 0, NULL, 0);
    pki->stranger = make_ident("Stranger OCSP", &pki->other_ca, 0x2003, 0, NULL, 1);
    return 0;
}

static int pki_teardown(void **state)
{
    (void)state;
    free_ident(&pki->ca);
    free_ident(&pki->other_ca);
    free_ident(&pki->leaf);
    free_ident(&pki->leaf2);
    free_ident(&pki->bare);
    free_ident(&pki->delegate);
    free_ident(&pki->no_eku);
    free_ident(&pki->stranger);
    free(pki);
    return 0;
}

/* --- responses ------------------------------------------------------------ */

typedef struct {
    X509 *cert;             /* the status is about */
    const ident_t *signer;  /* default: pki->ca */
    int include_signer;     /* put the signer's certificate into the response */
    int status;             /* V_OCSP_CERTSTATUS_* */
    long this_off;          /* thisUpdate, seconds from now */
    long next_off;          /* nextUpdate, NO_NEXT for none */
    OCSP_REQUEST *req;      /* copy its nonce */
    int bad_nonce;
    int resp_status;        /* OCSP_RESPONSE_STATUS_*, default successful */
} resp_spec_t;

static const unsigned char *make_resp(apr_size_t *plen, const resp_spec_t *spec, apr_pool_t *p)
{
    const ident_t *signer = spec->signer ? spec->signer : &pki->ca;
    OCSP_CERTID *id;
    OCSP_BASICRESP *bs;
    OCSP_RESPONSE *r;
    ASN1_TIME *t1;
    ASN1_TIME *t2 = NULL;
    ASN1_TIME *rev = NULL;
    STACK_OF(X509) *certs = NULL;
    unsigned char *der = NULL;
    const unsigned char *copy;
    int n;

    if (spec->resp_status) {
        r = OCSP_response_create(spec->resp_status, NULL);
        n = i2d_OCSP_RESPONSE(r, &der);
        OCSP_RESPONSE_free(r);
        copy = apr_pmemdup(p, der, (apr_size_t)n);
        OPENSSL_free(der);
        *plen = (apr_size_t)n;
        return copy;
    }
    id = OCSP_cert_to_id(NULL, spec->cert, pki->ca.x);
    bs = OCSP_BASICRESP_new();
    t1 = X509_gmtime_adj(NULL, spec->this_off);
    if (spec->next_off != NO_NEXT) {
        t2 = X509_gmtime_adj(NULL, spec->next_off);
    }
    if (spec->status == V_OCSP_CERTSTATUS_REVOKED) {
        rev = X509_gmtime_adj(NULL, -2 * 3600);
    }
    assert_non_null(OCSP_basic_add1_status(bs, id, spec->status,
                                           rev ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : 0, rev,
                                           t1, t2));
    if (spec->req) {
        assert_true(OCSP_copy_nonce(bs, spec->req) > 0);
    }
    if (spec->bad_nonce) {
        assert_true(OCSP_basic_add1_nonce(bs, (unsigned char *)"0123456789abcdef", 16));
    }
    if (spec->include_signer) {
        certs = sk_X509_new_null();
        sk_X509_push(certs, signer->x);
    }
    assert_true(OCSP_basic_sign(bs, signer->x, signer->key, EVP_sha256(), certs,
                                spec->include_signer ? 0 : OCSP_NOCERTS));
    r = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
    n = i2d_OCSP_RESPONSE(r, &der);
    assert_true(n > 0);
    copy = apr_pmemdup(p, der, (apr_size_t)n);
    *plen = (apr_size_t)n;
    OPENSSL_free(der);
    OCSP_RESPONSE_free(r);
    OCSP_BASICRESP_free(bs);
    OCSP_CERTID_free(id);
    ASN1_TIME_free(t1);
    ASN1_TIME_free(t2);
    ASN1_TIME_free(rev);
    sk_X509_free(certs);
    return copy;
}

static md_ocsp_cert_t *ocert_of(apr_pool_t *p, X509 *leaf)
{
    md_ocsp_cert_t *oc = NULL;

    assert_int_equal(md_ocsp_cert_make(&oc, md_cert_of(p, leaf), md_cert_of(p, pki->ca.x), p),
                     APR_SUCCESS);
    return oc;
}

/* Check a response made from spec; returns the status code, *presp set. */
static apr_status_t check(const resp_spec_t *spec, const md_ocsp_request_t *req,
                          md_ocsp_resp_t **presp, const char **pwhy, apr_pool_t *p)
{
    apr_size_t len = 0;
    const unsigned char *der = make_resp(&len, spec, p);

    return md_ocsp_resp_check(presp, ocert_of(p, pki->leaf.x), req, der, len, apr_time_now(),
                              pwhy, p);
}

/* --- the certificate ------------------------------------------------------ */

static void test_cert_make(void **state)
{
    apr_pool_t *p = *state;
    md_ocsp_cert_t *oc = ocert_of(p, pki->leaf.x);
    unsigned char sha1[20];
    unsigned int n = 0;

    assert_true(X509_digest(pki->leaf.x, EVP_sha1(), sha1, &n));
    assert_memory_equal(md_ocsp_cert_id(oc), sha1, 20);
    assert_int_equal(strlen(md_ocsp_cert_hexid(oc)), 40);
    assert_string_equal(md_ocsp_cert_responder(oc), RESPONDER);
    assert_string_equal(md_ocsp_cert_serial(oc), "1001");
    assert_int_equal(strlen(md_ocsp_cert_sha256(oc)), 64);
    /* No AIA: no responder. */
    oc = ocert_of(p, pki->bare.x);
    assert_null(md_ocsp_cert_responder(oc));
    /* The issuer must be the issuer. */
    assert_int_equal(md_ocsp_cert_make(&oc, md_cert_of(p, pki->leaf.x),
                                       md_cert_of(p, pki->other_ca.x), p), APR_EINVAL);
    assert_null(oc);
}

static void test_responder_url_choice(void **state)
{
    apr_pool_t *p = *state;
    ident_t ldap = make_ident("d.test", &pki->ca, 0x1004, 0,
                              "OCSP;URI:ldap://x.test/,OCSP;URI:https://ocsp2.test/r", 0);
    ident_t junk = make_ident("e.test", &pki->ca, 0x1005, 0, "OCSP;URI:http://a b/", 0);

    /* The first one we can use: http(s) only, no spaces or quotes. */
    assert_string_equal(md_ocsp_cert_responder(ocert_of(p, ldap.x)), "https://ocsp2.test/r");
    assert_null(md_ocsp_cert_responder(ocert_of(p, junk.x)));
    free_ident(&ldap);
    free_ident(&junk);
}

static void test_request(void **state)
{
    apr_pool_t *p = *state;
    md_ocsp_cert_t *oc = ocert_of(p, pki->leaf.x);
    md_ocsp_request_t *req = NULL;
    const unsigned char *der;
    const unsigned char *ptr;
    apr_size_t len;
    OCSP_REQUEST *r;
    OCSP_CERTID *want = OCSP_cert_to_id(NULL, pki->leaf.x, pki->ca.x);

    assert_int_equal(md_ocsp_request_make(&req, oc, 1, p), APR_SUCCESS);
    md_ocsp_request_der(req, &der, &len);
    ptr = der;
    r = d2i_OCSP_REQUEST(NULL, &ptr, (long)len);
    assert_non_null(r);
    assert_int_equal(OCSP_request_onereq_count(r), 1);
    assert_int_equal(OCSP_id_cmp(OCSP_onereq_get0_id(OCSP_request_onereq_get0(r, 0)), want), 0);
    assert_true(OCSP_REQUEST_get_ext_by_NID(r, NID_id_pkix_OCSP_Nonce, -1) >= 0);
    OCSP_REQUEST_free(r);

    assert_int_equal(md_ocsp_request_make(&req, oc, 0, p), APR_SUCCESS);
    md_ocsp_request_der(req, &der, &len);
    ptr = der;
    r = d2i_OCSP_REQUEST(NULL, &ptr, (long)len);
    assert_true(OCSP_REQUEST_get_ext_by_NID(r, NID_id_pkix_OCSP_Nonce, -1) < 0);
    OCSP_REQUEST_free(r);
    OCSP_CERTID_free(want);
}

/* --- checking responses --------------------------------------------------- */

static void test_resp_good_and_revoked(void **state)
{
    apr_pool_t *p = *state;
    resp_spec_t spec = { pki->leaf.x, NULL, 0, V_OCSP_CERTSTATUS_GOOD, -60, 3 * DAY,
                         NULL, 0, 0 };
    md_ocsp_resp_t *resp = NULL;
    const char *why = NULL;
    apr_time_t now = apr_time_now();

    assert_int_equal(check(&spec, NULL, &resp, &why, p), APR_SUCCESS);
    assert_non_null(resp);
    assert_int_equal(resp->stat, MD_OCSP_STAT_GOOD);
    assert_true(resp->valid_from <= now - apr_time_from_sec(59));
    assert_true(resp->valid_until >= now + apr_time_from_sec(3 * DAY - 5));
    assert_true(resp->der_len > 0);

    spec.status = V_OCSP_CERTSTATUS_REVOKED;
    assert_int_equal(check(&spec, NULL, &resp, &why, p), APR_SUCCESS);
    assert_int_equal(resp->stat, MD_OCSP_STAT_REVOKED);
    assert_int_equal(resp->reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
    assert_true(resp->revoked_at > 0 && resp->revoked_at < now);

    /* No nextUpdate: valid for MD_OCSP_VALID_DEFAULT. */
    spec.status = V_OCSP_CERTSTATUS_GOOD;
    spec.next_off = NO_NEXT;
    assert_int_equal(check(&spec, NULL, &resp, &why, p), APR_SUCCESS);
    assert_true(resp->valid_until - resp->valid_from == MD_OCSP_VALID_DEFAULT);
}

static void test_resp_refused(void **state)
{
    apr_pool_t *p = *state;
    resp_spec_t spec = { pki->leaf.x, NULL, 0, V_OCSP_CERTSTATUS_UNKNOWN, -60, DAY,
                         NULL, 0, 0 };
    md_ocsp_resp_t *resp = NULL;
    const char *why = NULL;

    assert_int_equal(check(&spec, NULL, &resp, &why, p), APR_ENOENT);
    assert_null(resp);
    assert_non_null(strstr(why, "does not know"));
    assert_non_null(strstr(why, "1001"));

    spec.status = V_OCSP_CERTSTATUS_GOOD;
    spec.resp_status = OCSP_RESPONSE_STATUS_TRYLATER;
    assert_int_equal(check(&spec, NULL, &resp, &why, p), APR_EAGAIN);
    assert_non_null(strstr(why, "trylater"));
    spec.resp_status = OCSP_RESPONSE_STATUS_INTERNALERROR;
    assert_int_equal(check(&spec, NULL, &resp, &why, p), APR_EAGAIN);
    spec.resp_status = OCSP_RESPONSE_STATUS_UNAUTHORIZED;
    assert_int_equal(check(&spec, NULL, &resp, &why, p), APR_EACCES);
    spec.resp_status = OCSP_RESPONSE_STATUS_MALFORMEDREQUEST;
    assert_int_equal(check(&spec, NULL, &resp, &why, p), APR_EINVAL);

    /* Answering about another certificate. */
    spec.resp_status = 0;
    spec.cert = pki->leaf2.x;
    assert_int_equal(check(&spec, NULL, &resp, &why, p), APR_EINVAL);
    assert_non_null(strstr(why, "no status for the certificate"));
}

static void test_resp_signers(void **state)
{
    apr_pool_t *p = *state;
    resp_spec_t spec = { pki->leaf.x, NULL, 0, V_OCSP_CERTSTATUS_GOOD, -60, DAY,
                         NULL, 0, 0 };
    md_ocsp_resp_t *resp = NULL;
    const char *why = NULL;

    /* A responder the CA delegated to, its certificate in the response. */
    spec.signer = &pki->delegate;
    spec.include_signer = 1;
    assert_int_equal(check(&spec, NULL, &resp, &why, p), APR_SUCCESS);
    /* ...not without its certificate. */
    spec.include_signer = 0;
    assert_int_equal(check(&spec, NULL, &resp, &why, p), APR_EINVAL);
    /* Signed by the CA, but without the OCSPSigning key purpose. */
    spec.signer = &pki->no_eku;
    spec.include_signer = 1;
    assert_int_equal(check(&spec, NULL, &resp, &why, p), APR_EINVAL);
    assert_non_null(strstr(why, "not signed by the certificate's issuer"));
    /* A responder of another CA, and another CA itself. */
    spec.signer = &pki->stranger;
    assert_int_equal(check(&spec, NULL, &resp, &why, p), APR_EINVAL);
    spec.signer = &pki->other_ca;
    assert_int_equal(check(&spec, NULL, &resp, &why, p), APR_EINVAL);
    spec.include_signer = 0;
    assert_int_equal(check(&spec, NULL, &resp, &why, p), APR_EINVAL);
}

static void test_resp_nonce(void **state)
{
    apr_pool_t *p = *state;
    md_ocsp_cert_t *oc = ocert_of(p, pki->leaf.x);
    md_ocsp_request_t *req = NULL;
    resp_spec_t spec = { pki->leaf.x, NULL, 0, V_OCSP_CERTSTATUS_GOOD, -60, DAY,
                         NULL, 0, 0 };
    md_ocsp_resp_t *resp = NULL;
    const unsigned char *der;
    const unsigned char *ptr;
    const char *why = NULL;
    apr_size_t len;

    assert_int_equal(md_ocsp_request_make(&req, oc, 1, p), APR_SUCCESS);
    md_ocsp_request_der(req, &der, &len);
    ptr = der;
    spec.req = d2i_OCSP_REQUEST(NULL, &ptr, (long)len);
    /* Echoed: fine. */
    assert_int_equal(check(&spec, req, &resp, &why, p), APR_SUCCESS);
    /* Left out (a caching responder): fine. */
    OCSP_REQUEST_free(spec.req);
    spec.req = NULL;
    assert_int_equal(check(&spec, req, &resp, &why, p), APR_SUCCESS);
    /* Another one: a replay. */
    spec.bad_nonce = 1;
    assert_int_equal(check(&spec, req, &resp, &why, p), APR_EINVAL);
    assert_non_null(strstr(why, "nonce"));
    /* Not checked when the request is not known (read from the store). */
    assert_int_equal(check(&spec, NULL, &resp, &why, p), APR_SUCCESS);
}

static void test_resp_times(void **state)
{
    apr_pool_t *p = *state;
    resp_spec_t spec = { pki->leaf.x, NULL, 0, V_OCSP_CERTSTATUS_GOOD, -2 * DAY, -60,
                         NULL, 0, 0 };
    md_ocsp_resp_t *resp = NULL;
    const char *why = NULL;

    assert_int_equal(check(&spec, NULL, &resp, &why, p), APR_TIMEUP);
    assert_non_null(strstr(why, "expired"));
    /* thisUpdate a little ahead (clock skew) is fine, far ahead is not. */
    spec.this_off = 60;
    spec.next_off = DAY;
    assert_int_equal(check(&spec, NULL, &resp, &why, p), APR_SUCCESS);
    spec.this_off = 3600;
    assert_int_equal(check(&spec, NULL, &resp, &why, p), APR_EINVAL);
    assert_non_null(strstr(why, "future"));
    /* nextUpdate before thisUpdate. */
    spec.this_off = -60;
    spec.next_off = -120;
    assert_int_equal(check(&spec, NULL, &resp, &why, p), APR_EINVAL);
}

static void test_resp_garbage(void **state)
{
    apr_pool_t *p = *state;
    md_ocsp_cert_t *oc = ocert_of(p, pki->leaf.x);
    resp_spec_t spec = { pki->leaf.x, NULL, 0, V_OCSP_CERTSTATUS_GOOD, -60, DAY,
                         NULL, 0, 0 };
    md_ocsp_resp_t *resp = NULL;
    const char *why = NULL;
    const unsigned char *der;
    unsigned char *big;
    unsigned char *longer;
    apr_size_t len = 0;
    apr_time_t now = apr_time_now();

    assert_int_equal(md_ocsp_resp_check(&resp, oc, NULL, "\x30\x03\x0a\x01", 4, now, &why, p),
                     APR_EINVAL);
    assert_int_equal(md_ocsp_resp_check(&resp, oc, NULL, "", 0, now, &why, p), APR_EINVAL);
    assert_int_equal(md_ocsp_resp_check(&resp, oc, NULL, NULL, 0, now, &why, p), APR_EINVAL);
    big = apr_pcalloc(p, MD_OCSP_RESP_MAX_LEN + 1);
    assert_int_equal(md_ocsp_resp_check(&resp, oc, NULL, big, MD_OCSP_RESP_MAX_LEN + 1, now,
                                        &why, p), APR_EINVAL);
    assert_non_null(strstr(why, "bytes"));
    /* A good response with a byte after its end. */
    der = make_resp(&len, &spec, p);
    longer = apr_pcalloc(p, len + 1);
    memcpy(longer, der, len);
    assert_int_equal(md_ocsp_resp_check(&resp, oc, NULL, longer, len + 1, now, &why, p),
                     APR_EINVAL);
    /* Every shorter prefix is refused, none crashes. */
    for (; len > 0; --len) {
        assert_int_not_equal(md_ocsp_resp_check(&resp, oc, NULL, der, len - 1, now, &why, p),
                             APR_SUCCESS);
    }
}

/* --- when ------------------------------------------------------------------- */

/* When responses are renewed: test_md_sched.c. */
static void test_current(void **state)
{
    apr_time_t t0 = apr_time_from_sec(1000000000);
    apr_time_t week = apr_time_from_sec(7 * DAY);

    (void)state;
    assert_true(md_ocsp_is_current(t0, t0 + week, t0 + 1));
    assert_true(md_ocsp_is_current(t0 + MD_OCSP_MAX_SKEW, t0 + week, t0));
    assert_false(md_ocsp_is_current(t0 + MD_OCSP_MAX_SKEW + 1, t0 + week, t0));
    assert_false(md_ocsp_is_current(t0, t0 + week, t0 + week));
    assert_false(md_ocsp_is_current(0, 0, t0));
}

static void test_stale(void **state)
{
    apr_time_t now = apr_time_from_sec(1000000000);
    apr_interval_time_t keep = apr_time_from_sec(7 * DAY);

    (void)state;
    assert_false(md_ocsp_is_stale(now - apr_time_from_sec(DAY), keep, now));
    assert_true(md_ocsp_is_stale(now - keep, keep, now));
    assert_true(md_ocsp_is_stale(now - keep - 1, keep, now));
    assert_true(md_ocsp_is_stale(0, keep, now));
    /* A file from the future (clock set back) does not stay forever. */
    assert_true(md_ocsp_is_stale(now + apr_time_from_sec(DAY), keep, now));
    /* Keep 0: as soon as nothing uses it. */
    assert_true(md_ocsp_is_stale(now, 0, now));
}

/* --- files ------------------------------------------------------------------ */

static void test_files(void **state)
{
    apr_pool_t *p = *state;
    resp_spec_t spec = { pki->leaf.x, NULL, 0, V_OCSP_CERTSTATUS_GOOD, -60, DAY,
                         NULL, 0, 0 };
    md_ocsp_resp_t *resp = NULL;
    const unsigned char *der;
    const char *why = NULL;
    apr_size_t len;
    json_t *j;
    json_t *bad;
    char *huge;

    assert_string_equal(md_ocsp_file_name("00ff", p), "ocsp-00ff.json");
    assert_true(md_ocsp_is_file_name("ocsp-00ff.json"));
    assert_true(md_ocsp_is_file_name("ocsp.json"));
    assert_false(md_ocsp_is_file_name("job.json"));
    assert_false(md_ocsp_is_file_name("ocsp-00ff.json.tmp"));
    assert_false(md_ocsp_is_file_name(NULL));

    assert_int_equal(check(&spec, NULL, &resp, &why, p), APR_SUCCESS);
    j = md_json_pool_own(p, md_ocsp_file_json(resp, p));
    assert_string_equal(md_json_get_str(j, "status"), "good");
    assert_string_equal(md_json_get_str(md_json_get_obj(j, "valid"), "from"),
                        md_time_format_http(resp->valid_from, p));
    assert_string_equal(md_json_get_str(md_json_get_obj(j, "valid"), "until"),
                        md_time_format_http(resp->valid_until, p));
    assert_int_equal(md_ocsp_file_der(&der, &len, j, p), APR_SUCCESS);
    assert_int_equal(len, resp->der_len);
    assert_memory_equal(der, resp->der, len);

    bad = md_json_pool_own(p, json_object());
    assert_int_equal(md_ocsp_file_der(&der, &len, bad, p), APR_EINVAL);
    json_object_set_new(bad, "response", json_integer(1));
    assert_int_equal(md_ocsp_file_der(&der, &len, bad, p), APR_EINVAL);
    md_json_set_str(bad, "response", "not base64!");
    assert_int_equal(md_ocsp_file_der(&der, &len, bad, p), APR_EINVAL);
    md_json_set_str(bad, "response", "");
    assert_int_equal(md_ocsp_file_der(&der, &len, bad, p), APR_EINVAL);
    huge = apr_palloc(p, 3 * MD_OCSP_RESP_MAX_LEN);
    memset(huge, 'A', 3 * MD_OCSP_RESP_MAX_LEN - 1);
    huge[3 * MD_OCSP_RESP_MAX_LEN - 1] = '\0';
    md_json_set_str(bad, "response", huge);
    assert_int_equal(md_ocsp_file_der(&der, &len, bad, p), APR_EINVAL);
}

/* --- the registry ----------------------------------------------------------- */

/* A mock responder behind md_http_set_mock. */
typedef struct {
    apr_status_t fail;      /* transport error to return */
    int http_status;        /* default 200 */
    int status;             /* V_OCSP_CERTSTATUS_* */
    long validity;          /* seconds, nextUpdate - thisUpdate */
    int garbage;            /* answer something that is no OCSP response */
    long clock;             /* seconds its clock is ahead (asked later) */
    int calls;
    const char *last_url;
} responder_t;

static apr_status_t responder_fn(md_http_response_t **presp, void *baton, const char *method,
                                 const char *url, const char *content_type, const char *accept,
                                 const char *body, apr_size_t body_len, apr_pool_t *p)
{
    responder_t *r = baton;
    md_http_response_t *resp;
    OCSP_REQUEST *req;
    OCSP_CERTID *id;
    const unsigned char *ptr = (const unsigned char *)body;
    resp_spec_t spec = { NULL, NULL, 0, V_OCSP_CERTSTATUS_GOOD, -5, 0, NULL, 0, 0 };
    apr_size_t len = 0;
    ASN1_INTEGER *serial = NULL;

    ++r->calls;
    r->last_url = apr_pstrdup(p, url);
    assert_string_equal(method, "POST");
    assert_string_equal(content_type, "application/ocsp-request");
    assert_string_equal(accept, "application/ocsp-response");
    if (r->fail) {
        return r->fail;
    }
    req = d2i_OCSP_REQUEST(NULL, &ptr, (long)body_len);
    assert_non_null(req);
    id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, 0));
    assert_true(OCSP_id_get0_info(NULL, NULL, NULL, &serial, id));
    spec.cert = ASN1_INTEGER_get(serial) == 0x1001 ? pki->leaf.x : pki->leaf2.x;
    spec.status = r->status;
    spec.this_off += r->clock;
    spec.next_off = r->validity + r->clock;
    spec.req = req;
    resp = apr_pcalloc(p, sizeof(*resp));
    resp->url = url;
    resp->status = r->http_status ? r->http_status : 200;
    resp->headers = apr_table_make(p, 1);
    if (r->garbage) {
        resp->body = "garbage";
        resp->body_len = 7;
    }
    else {
        resp->body = (const char *)make_resp(&len, &spec, p);
        resp->body_len = len;
    }
    OCSP_REQUEST_free(req);
    *presp = resp;
    return APR_SUCCESS;
}

typedef struct {
    int calls;
    char mdname[64];
    char reason[64];
} notified_t;

static apr_status_t notify_fn(void *baton, const char *mdname, const char *reason,
                              md_result_t *result, apr_pool_t *p)
{
    notified_t *n = baton;

    (void)result;
    (void)p;
    ++n->calls;
    snprintf(n->mdname, sizeof(n->mdname), "%s", mdname);
    snprintf(n->reason, sizeof(n->reason), "%s", reason);
    return APR_SUCCESS;
}

typedef struct {
    const char *dir;
    md_store_t *store;
    md_http_t *http;
    responder_t responder;
    md_ocsp_reg_cfg_t cfg;
    unsigned char key1[20];
    unsigned char key2[20];
    const char *pem1;
    const char *pem2;
} rfix_t;

static void rfixture(rfix_t *f, apr_pool_t *p)
{
    unsigned int n = 0;

    memset(f, 0, sizeof(*f));
    f->store = fx_store_make("test_md_ocsp", &f->dir, p);
    assert_int_equal(md_http_global_init(), APR_SUCCESS);
    assert_int_equal(md_http_create(&f->http, p, "test", NULL), APR_SUCCESS);
    f->responder.status = V_OCSP_CERTSTATUS_GOOD;
    f->responder.validity = 3 * DAY;
    md_http_set_mock(f->http, responder_fn, &f->responder);
    f->cfg.renew_window.percent = 33;
    f->cfg.renew_window.is_percent = 1;
    f->cfg.keep = apr_time_from_sec(7 * DAY);
    f->cfg.retry_base = apr_time_from_sec(5);
    X509_digest(pki->leaf.x, EVP_sha1(), f->key1, &n);
    X509_digest(pki->leaf2.x, EVP_sha1(), f->key2, &n);
    f->pem1 = pem_of(p, pki->leaf.x, pki->ca.x);
    f->pem2 = pem_of(p, pki->leaf2.x, pki->ca.x);
}

static md_ocsp_reg_t *new_reg(rfix_t *f, void *mem, apr_pool_t *p)
{
    md_ocsp_reg_t *reg = md_ocsp_reg_create(p, f->store, &f->cfg);
    const char *why = NULL;

    assert_int_equal(md_ocsp_reg_prime(reg, f->key1, 20, f->pem1, strlen(f->pem1), "a.test",
                                       apr_time_now(), &why, p), APR_SUCCESS);
    assert_int_equal(md_ocsp_reg_prime(reg, f->key2, 20, f->pem2, strlen(f->pem2), NULL,
                                       apr_time_now(), &why, p), APR_SUCCESS);
    md_ocsp_reg_seal(reg, mem, mem ? md_ocsp_reg_shared_size(reg) : 0);
    return reg;
}

typedef struct {
    int calls;
    apr_size_t len;
    unsigned char der[MD_OCSP_RESP_MAX_LEN];
} got_t;

static void copy_fn(const unsigned char *der, apr_size_t len, void *baton)
{
    got_t *g = baton;

    ++g->calls;
    g->len = len;
    if (der && len <= sizeof(g->der)) {
        memcpy(g->der, der, len);
    }
}

static apr_size_t staple_len(md_ocsp_reg_t *reg, const unsigned char *key, apr_time_t now)
{
    got_t g;

    memset(&g, 0, sizeof(g));
    assert_int_equal(md_ocsp_reg_get(reg, key, 20, copy_fn, &g, now), APR_SUCCESS);
    assert_int_equal(g.calls, 1);
    return g.len;
}

static void test_reg_prime(void **state)
{
    apr_pool_t *p = *state;
    rfix_t f;
    md_ocsp_reg_t *reg;
    const char *why = NULL;
    const char *bare = pem_of(p, pki->bare.x, pki->ca.x);
    const char *lonely = pem_of(p, pki->leaf.x, NULL);
    const char *wrong = pem_of(p, pki->leaf.x, pki->other_ca.x);
    unsigned char other_key[3] = { 1, 2, 3 };
    got_t g;

    rfixture(&f, p);
    reg = md_ocsp_reg_create(p, f.store, &f.cfg);
    assert_int_equal(md_ocsp_reg_prime(reg, "k", 1, bare, strlen(bare), "c.test",
                                       apr_time_now(), &why, p), APR_ENOENT);
    assert_non_null(strstr(why, "names no OCSP responder"));
    assert_int_equal(md_ocsp_reg_prime(reg, "k", 1, lonely, strlen(lonely), "a.test",
                                       apr_time_now(), &why, p), APR_EINVAL);
    assert_int_equal(md_ocsp_reg_prime(reg, "k", 1, wrong, strlen(wrong), "a.test",
                                       apr_time_now(), &why, p), APR_EINVAL);
    assert_int_equal(md_ocsp_reg_prime(reg, "k", 1, "junk", 4, "a.test", apr_time_now(), &why,
                                       p), APR_EINVAL);
    assert_int_equal(md_ocsp_reg_count(reg), 0);
    /* Primed twice (two vhosts), and under another key: one certificate. */
    assert_int_equal(md_ocsp_reg_prime(reg, f.key1, 20, f.pem1, strlen(f.pem1), "a.test",
                                       apr_time_now(), &why, p), APR_SUCCESS);
    assert_int_equal(md_ocsp_reg_prime(reg, f.key1, 20, f.pem1, strlen(f.pem1), "b.test",
                                       apr_time_now(), &why, p), APR_SUCCESS);
    assert_int_equal(md_ocsp_reg_prime(reg, other_key, 3, f.pem1, strlen(f.pem1), "a.test",
                                       apr_time_now(), &why, p), APR_SUCCESS);
    assert_int_equal(md_ocsp_reg_count(reg), 1);
    md_ocsp_reg_seal(reg, NULL, 0);
    assert_int_equal(md_ocsp_reg_prime(reg, f.key2, 20, f.pem2, strlen(f.pem2), "a.test",
                                       apr_time_now(), &why, p), APR_EINVAL);
    /* Nothing yet: the handshake gets no staple; unknown keys are not ours. */
    assert_int_equal(staple_len(reg, f.key1, apr_time_now()), 0);
    memset(&g, 0, sizeof(g));
    assert_int_equal(md_ocsp_reg_get(reg, "nope", 4, copy_fn, &g, apr_time_now()),
                     APR_ENOENT);
    assert_int_equal(g.calls, 0);
}

static void test_reg_renew(void **state)
{
    apr_pool_t *p = *state;
    rfix_t f;
    md_ocsp_reg_t *reg;
    unsigned int *gens = calloc(4, sizeof(unsigned int) * 4);
    notified_t n;
    apr_time_t now = apr_time_now();
    apr_time_t next;
    json_t *j = NULL;
    json_t *job = NULL;
    const char *hex1;
    char hexbuf[41];
    int i;

    rfixture(&f, p);
    memset(&n, 0, sizeof(n));
    f.responder.validity = 3600;
    reg = new_reg(&f, gens, p);
    assert_int_equal(md_ocsp_reg_count(reg), 2);
    next = md_ocsp_reg_renew(reg, f.http, notify_fn, &n, now, p);
    assert_int_equal(f.responder.calls, 2);
    assert_string_equal(f.responder.last_url, RESPONDER);
    /* Due again when 33% of the hour (and 5s) are left. */
    assert_true(next > now + apr_time_from_sec(2400));
    assert_true(next < now + apr_time_from_sec(2420));
    assert_true(staple_len(reg, f.key1, now) > 0);
    assert_true(staple_len(reg, f.key2, now) > 0);
    /* Nothing stapled once it has expired. */
    assert_int_equal(staple_len(reg, f.key1, now + apr_time_from_sec(3601)), 0);

    /* The files, as stock lays them out. */
    for (i = 0; i < 20; ++i) {
        sprintf(hexbuf + 2 * i, "%02x", f.key1[i]);
    }
    hex1 = apr_pstrcat(p, "ocsp-", hexbuf, ".json", NULL);
    assert_int_equal(md_store_load_json(f.store, MD_SG_OCSP, "a.test", hex1, &j, p),
                     APR_SUCCESS);
    assert_string_equal(md_json_get_str(j, "status"), "good");
    assert_non_null(md_json_get_str(j, "response"));
    assert_int_equal(md_store_load_json(f.store, MD_SG_OCSP, "a.test", MD_FN_JOB, &job, p),
                     APR_SUCCESS);
    assert_string_equal(md_json_get_str(job, "name"), "a.test");
    assert_int_equal(md_json_get_int(job, "errors", -1), 0);
    assert_true(md_json_get_bool(job, "finished", 0));
    assert_true(md_store_exists(f.store, MD_SG_OCSP, MD_OCSP_OTHER, MD_FN_JOB, p));
    /* Told once per MD. */
    assert_int_equal(n.calls, 2);
    assert_string_equal(n.reason, MD_OCSP_EV_RENEWED);

    /* Not due yet: nobody is asked. */
    md_ocsp_reg_renew(reg, f.http, notify_fn, &n, now + apr_time_from_sec(60), p);
    assert_int_equal(f.responder.calls, 2);
    /* Due: asked again; ocsp-renewed is not told again within a day. */
    md_ocsp_reg_renew(reg, f.http, notify_fn, &n, next + 1, p);
    assert_int_equal(f.responder.calls, 4);
    assert_int_equal(n.calls, 2);
    free(gens);
}

static void test_reg_failures(void **state)
{
    apr_pool_t *p = *state;
    rfix_t f;
    md_ocsp_reg_t *reg;
    notified_t n;
    apr_time_t now = apr_time_now();
    apr_time_t next;
    apr_time_t t;
    json_t *job = NULL;

    rfixture(&f, p);
    memset(&n, 0, sizeof(n));
    f.responder.validity = 40;
    reg = new_reg(&f, NULL, p);
    next = md_ocsp_reg_renew(reg, f.http, notify_fn, &n, now, p);
    assert_int_equal(f.responder.calls, 2);
    assert_true(staple_len(reg, f.key1, now) > 0);

    /* The responder goes away: asked once for both certificates, the
     * response stays stapled, a retry within a quarter of what it has left. */
    f.responder.fail = APR_ECONNREFUSED;
    t = now + apr_time_from_sec(30);
    assert_true(next <= t);
    next = md_ocsp_reg_renew(reg, f.http, notify_fn, &n, t, p);
    assert_int_equal(f.responder.calls, 3);
    assert_true(next > t && next <= t + apr_time_from_sec(3));
    assert_true(staple_len(reg, f.key1, t) > 0);
    assert_int_equal(md_store_load_json(f.store, MD_SG_OCSP, "a.test", MD_FN_JOB, &job, p),
                     APR_SUCCESS);
    assert_int_equal(md_json_get_int(job, "errors", 0), 1);
    assert_non_null(strstr(md_json_get_str(md_json_get_obj(job, "last"), "detail"),
                           "did not answer"));
    assert_non_null(md_json_get_str(job, "next-run"));
    assert_string_equal(n.reason, MD_OCSP_EV_ERRORED);

    /* Expired: no staple, still retried; errored told at most once an hour. */
    t = now + apr_time_from_sec(45);
    n.calls = 0;
    md_ocsp_reg_renew(reg, f.http, notify_fn, &n, t, p);
    assert_int_equal(staple_len(reg, f.key1, t), 0);
    assert_int_equal(n.calls, 0);

    /* Answers that are not responses, and HTTP errors. */
    f.responder.fail = APR_SUCCESS;
    f.responder.garbage = 1;
    t = now + apr_time_from_sec(90);
    md_ocsp_reg_renew(reg, f.http, notify_fn, &n, t, p);
    assert_int_equal(staple_len(reg, f.key1, t), 0);
    f.responder.garbage = 0;
    f.responder.http_status = 404;
    t = now + apr_time_from_sec(200);
    md_ocsp_reg_renew(reg, f.http, notify_fn, &n, t, p);
    assert_int_equal(staple_len(reg, f.key1, t), 0);

    /* Back: stapled again, errors reset. */
    f.responder.http_status = 0;
    f.responder.validity = DAY;
    t = now + apr_time_from_sec(400);
    md_ocsp_reg_renew(reg, f.http, notify_fn, &n, t, p);
    assert_true(staple_len(reg, f.key1, t) > 0);
    assert_int_equal(md_store_load_json(f.store, MD_SG_OCSP, "a.test", MD_FN_JOB, &job, p),
                     APR_SUCCESS);
    assert_int_equal(md_json_get_int(job, "errors", -1), 0);
}

static void test_reg_processes(void **state)
{
    apr_pool_t *p = *state;
    rfix_t f;
    md_ocsp_reg_t *watchdog;
    md_ocsp_reg_t *other;
    md_ocsp_reg_t *polling;
    md_ocsp_reg_t *restarted;
    unsigned int *gens = calloc(4, sizeof(unsigned int));
    apr_time_t now = apr_time_now();

    rfixture(&f, p);
    /* Two children of one generation, sharing the counters. */
    other = new_reg(&f, gens, p);
    watchdog = new_reg(&f, gens, p);
    polling = new_reg(&f, NULL, p);
    assert_int_equal(staple_len(other, f.key1, now), 0);
    md_ocsp_reg_renew(watchdog, f.http, NULL, NULL, now, p);
    /* The other child picks it up at its next handshake. */
    assert_true(staple_len(other, f.key1, now) > 0);
    assert_true(staple_len(other, f.key2, now) > 0);
    /* Without shared counters: after MD_OCSP_RECHECK. */
    assert_int_equal(staple_len(polling, f.key1, now), 0);
    assert_true(staple_len(polling, f.key1, now + MD_OCSP_RECHECK + apr_time_from_sec(1)) > 0);
    /* A restart reads it from the store at once (kept across restarts). */
    restarted = new_reg(&f, NULL, p);
    assert_true(staple_len(restarted, f.key1, now) > 0);
    free(gens);
}

/* A child that takes the watchdog over while one of its handshakes is
 * reading a response from the store (the graceful restart's hand-over)
 * must not ask the responder for what the store has. */
static void test_reg_watchdog_meets_reading_handshake(void **state)
{
    apr_pool_t *p = *state;
    rfix_t f;
    md_ocsp_reg_t *first;
    md_ocsp_reg_t *next;
    unsigned int *gens = calloc(4, sizeof(unsigned int));
    apr_time_t now = apr_time_now();
    int i;

    rfixture(&f, p);
    first = new_reg(&f, gens, p);
    next = new_reg(&f, gens, p);
    md_ocsp_reg_renew(first, f.http, NULL, NULL, now, p);
    assert_int_equal(f.responder.calls, 2);
    for (i = 0; i < next->entries->nelts; ++i) {
        atomic_store(&MD_OCSP_ENTRY(next, i)->reloading, 1);
    }
    md_ocsp_reg_renew(next, f.http, NULL, NULL, now + apr_time_from_sec(1), p);
    assert_int_equal(f.responder.calls, 2);
    for (i = 0; i < next->entries->nelts; ++i) {
        atomic_store(&MD_OCSP_ENTRY(next, i)->reloading, 0);
    }
    assert_true(staple_len(next, f.key1, now) > 0);
    free(gens);
}

static void test_reg_store_tampered(void **state)
{
    apr_pool_t *p = *state;
    rfix_t f;
    md_ocsp_reg_t *reg;
    apr_array_header_t *aspects = NULL;
    const char *fname = NULL;
    json_t *j = NULL;
    resp_spec_t spec = { pki->leaf2.x, NULL, 0, V_OCSP_CERTSTATUS_GOOD, -60, DAY,
                         NULL, 0, 0 };
    const unsigned char *der;
    apr_size_t len;
    int i;

    rfixture(&f, p);
    reg = new_reg(&f, NULL, p);
    md_ocsp_reg_renew(reg, f.http, NULL, NULL, apr_time_now(), p);
    /* Someone puts the other certificate's response into a.test's file. */
    assert_int_equal(md_store_list_aspects(f.store, MD_SG_OCSP, "a.test", &aspects, p),
                     APR_SUCCESS);
    for (i = 0; i < aspects->nelts; ++i) {
        if (md_ocsp_is_file_name(MD_ARR_IDX(aspects, i, const char *))) {
            fname = MD_ARR_IDX(aspects, i, const char *);
        }
    }
    assert_non_null(fname);
    der = make_resp(&len, &spec, p);
    j = md_json_pool_own(p, json_object());
    md_json_set_str(j, "response", md_util_base64url_encode(der, len, p));
    md_json_set_str(j, "status", "good");
    assert_int_equal(md_store_save_json(f.store, MD_SG_OCSP, "a.test", fname, j, p),
                     APR_SUCCESS);
    reg = new_reg(&f, NULL, p);
    assert_int_equal(staple_len(reg, f.key1, apr_time_now()), 0);
    /* And garbage. */
    assert_int_equal(md_store_save_text(f.store, MD_SG_OCSP, "a.test", fname, "{\"x", p),
                     APR_SUCCESS);
    reg = new_reg(&f, NULL, p);
    assert_int_equal(staple_len(reg, f.key1, apr_time_now()), 0);
}

static void set_mtime(const char *path, time_t t)
{
    struct utimbuf u;

    u.actime = t;
    u.modtime = t;
    assert_int_equal(utime(path, &u), 0);
}

static void test_reg_cleanup(void **state)
{
    apr_pool_t *p = *state;
    rfix_t f;
    md_ocsp_reg_t *reg;
    apr_array_header_t *aspects = NULL;
    const char *path;
    time_t old = time(NULL) - 8 * DAY;
    int i;

    rfixture(&f, p);
    reg = new_reg(&f, NULL, p);
    md_ocsp_reg_renew(reg, f.http, NULL, NULL, apr_time_now(), p);
    assert_int_equal(md_store_save_text(f.store, MD_SG_OCSP, "gone.test", "ocsp-01.json", "{}",
                                        p), APR_SUCCESS);
    assert_int_equal(md_store_save_text(f.store, MD_SG_OCSP, "gone.test", "ocsp-02.json", "{}",
                                        p), APR_SUCCESS);
    assert_int_equal(md_store_save_text(f.store, MD_SG_OCSP, "gone.test", "job.json", "{}", p),
                     APR_SUCCESS);
    md_store_get_fname(f.store, MD_SG_OCSP, "gone.test", "ocsp-01.json", &path, p);
    set_mtime(path, old);
    md_store_get_fname(f.store, MD_SG_OCSP, "gone.test", "job.json", &path, p);
    set_mtime(path, old);
    /* The files of primed certificates stay, however old. */
    assert_int_equal(md_store_list_aspects(f.store, MD_SG_OCSP, "a.test", &aspects, p),
                     APR_SUCCESS);
    for (i = 0; i < aspects->nelts; ++i) {
        md_store_get_fname(f.store, MD_SG_OCSP, "a.test", MD_ARR_IDX(aspects, i, const char *),
                           &path, p);
        set_mtime(path, old);
    }
    assert_int_equal(md_ocsp_reg_cleanup(reg, apr_time_now(), p), 1);
    assert_false(md_store_exists(f.store, MD_SG_OCSP, "gone.test", "ocsp-01.json", p));
    assert_true(md_store_exists(f.store, MD_SG_OCSP, "gone.test", "ocsp-02.json", p));
    assert_true(md_store_exists(f.store, MD_SG_OCSP, "gone.test", "job.json", p));
    assert_int_equal(md_store_list_aspects(f.store, MD_SG_OCSP, "a.test", &aspects, p),
                     APR_SUCCESS);
    assert_int_equal(aspects->nelts, 2);
    /* Eight days later everything unused is gone. */
    assert_int_equal(md_ocsp_reg_cleanup(reg, apr_time_now() + apr_time_from_sec(8 * DAY), p),
                     1);
    assert_false(md_store_exists(f.store, MD_SG_OCSP, "gone.test", "ocsp-02.json", p));
}

static void test_reg_status(void **state)
{
    apr_pool_t *p = *state;
    rfix_t f;
    md_ocsp_reg_t *reg;
    apr_time_t now = apr_time_now();
    const char *fp = md_cert_sha256_fingerprint(md_cert_of(p, pki->leaf.x), p);
    json_t *j;
    json_t *list;
    json_t *o;

    rfixture(&f, p);
    reg = new_reg(&f, NULL, p);
    /* Before any response: unknown, no validity. */
    j = md_ocsp_reg_cert_json(reg, fp, 0, now, p);
    assert_non_null(j);
    assert_string_equal(md_json_get_str(j, "status"), "unknown");
    assert_null(md_json_get_obj(j, "valid"));
    assert_null(md_ocsp_reg_cert_json(reg, "00", 0, now, p));

    md_ocsp_reg_renew(reg, f.http, NULL, NULL, now, p);
    j = md_ocsp_reg_cert_json(reg, fp, 1, now, p);
    assert_string_equal(md_json_get_str(j, "status"), "good");
    assert_non_null(md_json_get_str(md_json_get_obj(j, "valid"), "until"));
    assert_string_equal(md_json_get_str(md_json_get_obj(j, "renewal"), "name"), "a.test");
    assert_non_null(md_json_get_obj(md_json_get_obj(j, "renewal"), "log"));
    j = md_ocsp_reg_cert_json(reg, fp, 0, now, p);
    assert_null(md_json_get_obj(md_json_get_obj(j, "renewal"), "log"));

    j = md_ocsp_reg_status_json(reg, now, p);
    list = md_json_get_array(j, "ocsps");
    assert_int_equal(json_array_size(list), 2);
    o = json_array_get(list, 0);
    assert_string_equal(md_json_get_str(o, "domain"), "a.test");
    assert_int_equal(strlen(md_json_get_str(o, "id")), 40);
    assert_string_equal(md_json_get_str(o, "status"), "good");
    assert_string_equal(md_json_get_str(o, "url"), RESPONDER);
    assert_string_equal(md_json_get_str(md_json_get_obj(o, "cert"), "sha256-fingerprint"), fp);
    assert_non_null(md_json_get_str(o, "renew-at"));
    assert_null(md_json_get_obj(o, "renewal"));
    assert_string_equal(md_json_get_str(json_array_get(list, 1), "domain"), MD_OCSP_OTHER);

    /* Revoked: the MD says so (its certificate gets renewed). */
    assert_false(md_ocsp_reg_md_revoked(reg, "a.test", now));
    f.responder.status = V_OCSP_CERTSTATUS_REVOKED;
    now += apr_time_from_sec(2 * DAY + DAY / 10);
    md_ocsp_reg_renew(reg, f.http, NULL, NULL, now, p);
    assert_true(md_ocsp_reg_md_revoked(reg, "a.test", now));
    assert_false(md_ocsp_reg_md_revoked(reg, "b.test", now));
    j = md_ocsp_reg_cert_json(reg, fp, 0, now, p);
    assert_string_equal(md_json_get_str(j, "status"), "revoked");
}

#ifndef TEST_MD_OCSP_NO_MAIN   /* test_md_ocsp_pg.c reuses the PKI and the mock */
int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_cert_make),
        UNIT_TEST(test_responder_url_choice),
        UNIT_TEST(test_request),
        UNIT_TEST(test_resp_good_and_revoked),
        UNIT_TEST(test_resp_refused),
        UNIT_TEST(test_resp_signers),
        UNIT_TEST(test_resp_nonce),
        UNIT_TEST(test_resp_times),
        UNIT_TEST(test_resp_garbage),
        UNIT_TEST(test_current),
        UNIT_TEST(test_stale),
        UNIT_TEST(test_files),
        UNIT_TEST(test_reg_prime),
        UNIT_TEST(test_reg_renew),
        UNIT_TEST(test_reg_failures),
        UNIT_TEST(test_reg_processes),
        UNIT_TEST(test_reg_watchdog_meets_reading_handshake),
        UNIT_TEST(test_reg_store_tampered),
        UNIT_TEST(test_reg_cleanup),
        UNIT_TEST(test_reg_status),
    };

    apr_initialize();
    return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
#endif
