/* OCSP responses (md_ocsp.h) as a responder on the network sends them and
 * as the store keeps them (ocsp/<md>/ocsp-<id>.json): md_ocsp_resp_check for
 * the fixture's certificate, with and without a request nonce, then the
 * pure timing functions on what it accepted, and the store file written
 * and read back. Input: a DER OCSPResponse, FUZZ_SEP, a store file. The
 * seeds are signed by the fixture's CA (make_seeds.py). */
#include "fuzz.h"

#include "md_crypt.h"
#include "md_json.h"
#include "md_ocsp.h"
#include "md_sched.h"
#include "md_time.h"
#include "md_util.h"

#include "fuzz_ocsp_fixture.h"

/* The seeds' thisUpdate is an hour before this. */
#define NOW  apr_time_from_sec(1795000000)

static md_ocsp_cert_t *ocert;
static md_ocsp_request_t *req;

static void setup(void)
{
    apr_array_header_t *ca = NULL;
    apr_array_header_t *cert = NULL;

    if (md_certs_from_pem(&ca, FIXTURE_CA, strlen(FIXTURE_CA), fuzz_root) != APR_SUCCESS
        || md_certs_from_pem(&cert, FIXTURE_CERT, strlen(FIXTURE_CERT), fuzz_root)
           != APR_SUCCESS
        || md_ocsp_cert_make(&ocert, MD_ARR_IDX(cert, 0, md_cert_t *),
                             MD_ARR_IDX(ca, 0, md_cert_t *), fuzz_root) != APR_SUCCESS
        || md_ocsp_request_make(&req, ocert, 1, fuzz_root) != APR_SUCCESS) {
        abort();
    }
}

/* What the renewal does with a response it accepted. */
static void use(const md_ocsp_resp_t *resp, apr_pool_t *p)
{
    md_timeslice_t window = { 33, 1, 0 };
    md_timeslice_t fixed = { 0, 0, apr_time_from_sec(86400) };
    const unsigned char *der;
    apr_size_t len;
    apr_interval_time_t delay;
    json_t *file;

    if ((resp->stat != MD_OCSP_STAT_GOOD && resp->stat != MD_OCSP_STAT_REVOKED)
        || resp->valid_until < resp->valid_from || !resp->der
        || resp->der_len > MD_OCSP_RESP_MAX_LEN) {
        abort();
    }
    (void)md_ocsp_stat_name(resp->stat);
    (void)md_ocsp_is_current(resp->valid_from, resp->valid_until, NOW);
    (void)md_sched_ocsp_renew_at(&window, resp->valid_from, resp->valid_until);
    (void)md_sched_ocsp_renew_at(&fixed, resp->valid_from, resp->valid_until);
    (void)md_sched_ocsp_next_fetch(&window, resp->valid_from, resp->valid_until, NOW);
    delay = md_sched_ocsp_retry_delay(5, apr_time_from_sec(5), resp->valid_from,
                                      resp->valid_until, NOW);
    if (delay < MD_SCHED_OCSP_RETRY_MIN || delay > MD_SCHED_OCSP_RETRY_MAX) {
        abort();
    }
    /* Saved as the store keeps it, read back: the same bytes. */
    file = md_json_pool_own(p, md_ocsp_file_json(resp, p));
    if (md_ocsp_file_der(&der, &len, file, p) != APR_SUCCESS || len != resp->der_len
        || memcmp(der, resp->der, len)) {
        abort();
    }
}

static void check(const void *der, apr_size_t len, apr_pool_t *p)
{
    md_ocsp_resp_t *resp = NULL;
    const char *err = NULL;
    apr_status_t rv;

    rv = md_ocsp_resp_check(&resp, ocert, NULL, der, len, NOW, &err, p);
    if (rv == APR_SUCCESS) {
        use(resp, p);
    }
    else if (!err) {
        abort();   /* every refusal says why */
    }
    err = NULL;
    if (md_ocsp_resp_check(&resp, ocert, req, der, len, NOW, &err, p) != APR_SUCCESS && !err) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_begin();
    const char *parts[2];
    size_t lens[2];
    const unsigned char *der;
    apr_size_t len;
    json_t *j = NULL;

    if (!ocert) {
        setup();
    }
    fuzz_split(data, size, 2, parts, lens, p);
    check(parts[0], lens[0], p);
    if (md_json_parse(&j, parts[1], lens[1], "ocsp-file.json", NULL, p) == APR_SUCCESS
        && md_ocsp_file_der(&der, &len, j, p) == APR_SUCCESS) {
        if (len > MD_OCSP_RESP_MAX_LEN) {
            abort();
        }
        check(der, len, p);
    }
    fuzz_pool_end(p);
    return 0;
}
