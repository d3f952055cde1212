/* Unit tests of md_ari.c: the certificate id of RFC 9773 §4.1, reading
 * renewal windows, when to ask again, the pick inside a window, and a fetch
 * against the shared mock CA (fixtures/fx_mock_ca.c). The certificates
 * are fixtures we made for these tests: fx_cert_ari_pem (fixtures/fx.h) has
 * the AKI and serial of the RFC's example. */
#include "unit.h"

#include <string.h>

#include <apr_strings.h>

#include "md_acme.h"
#include "md_ari.h"
#include "md_crypt.h"
#include "md_json.h"
#include "md_time.h"
#include "md_util.h"
#include "fixtures/fx.h"

/* No AKI, serial 0x012345. */
static const char CERT_NO_AKI[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBFDCBu6ADAgECAgMBI0UwCgYIKoZIzj0EAwIwEzERMA8GA1UEAwwIYXJpLnRl\n"
    "c3QwHhcNMjUwMTAxMDAwMDAwWhcNMzQxMjMwMDAwMDAwWjATMREwDwYDVQQDDAhh\n"
    "cmkudGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABKpGBhOjrj8QPAY8S+ff\n"
    "8V1+S3JZdbK0YdhwJcbl/xRDr4Ljyje1FAq5oerBQrxfU2m7cl4mdiMryn6rmYrW\n"
    "XXgwCgYIKoZIzj0EAwIDSAAwRQIgBMrvKE2O8eua08TQPQX1nffeW9u5sDbaS9l/\n"
    "f323h0wCIQCmzBVVg33tEO/nTzfXRxyVDX5TQPzkuJThwaDPEMpcgQ==\n"
    "-----END CERTIFICATE-----\n";

static const md_cert_t *cert_of(const char *pem, apr_pool_t *p)
{
    apr_array_header_t *certs = NULL;

    assert_int_equal(md_certs_from_pem(&certs, pem, strlen(pem), p), APR_SUCCESS);
    return APR_ARRAY_IDX(certs, 0, const md_cert_t *);
}

static json_t *parse(const char *s, apr_pool_t *p)
{
    json_t *j = NULL;

    assert_int_equal(md_json_parse(&j, s, strlen(s), "test", NULL, p), APR_SUCCESS);
    return j;
}

static void test_cert_id(void **state)
{
    apr_pool_t *p = *state;
    const unsigned char *bytes;
    apr_size_t len;
    const char *id;

    /* RFC 9773 §4.1 example */
    assert_int_equal(md_ari_cert_id(&id, cert_of(fx_cert_ari_pem, p), p), APR_SUCCESS);
    assert_string_equal(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
    /* the serial keeps its leading zero byte */
    assert_int_equal(md_cert_serial_der(&bytes, &len, cert_of(fx_cert_ari_pem, p), p), APR_SUCCESS);
    assert_int_equal(len, 5);
    assert_int_equal(bytes[0], 0x00);
    assert_int_equal(bytes[1], 0x87);
    assert_int_equal(md_cert_serial_der(&bytes, &len, cert_of(CERT_NO_AKI, p), p),
                     APR_SUCCESS);
    assert_int_equal(len, 3);
    assert_int_equal(bytes[0], 0x01);
    /* without AKI there is no id */
    assert_int_equal(md_ari_cert_id(&id, cert_of(CERT_NO_AKI, p), p), APR_ENOENT);
    assert_null(id);
}

static void test_window_parse(void **state)
{
    apr_pool_t *p = *state;
    md_result_t *result = md_result_make(p, NULL);
    md_ari_window_t w;

    memset(&w, 0, sizeof(w));
    assert_int_equal(md_ari_window_parse(&w, parse(
        "{\"suggestedWindow\": {\"start\": \"2025-01-02T04:00:00Z\", "
        "\"end\": \"2025-01-03T04:00:00Z\"}, "
        "\"explanationURL\": \"https://acme.example.com/docs/ari\"}", p), "u", result, p),
        APR_SUCCESS);
    assert_true(w.start == md_time_parse_rfc3339("2025-01-02T04:00:00Z"));
    assert_true(w.end - w.start == apr_time_from_sec(MD_SECS_PER_DAY));
    assert_string_equal(w.explanation, "https://acme.example.com/docs/ari");

    /* fractional seconds and offsets are RFC 3339 too; no explanation */
    assert_int_equal(md_ari_window_parse(&w, parse(
        "{\"suggestedWindow\": {\"start\": \"2025-01-02T04:00:00.5+02:00\", "
        "\"end\": \"2025-01-02T03:00:00Z\"}}", p), "u", result, p), APR_SUCCESS);
    assert_null(w.explanation);
    assert_true(w.end > w.start);

    /* an unusable explanation is dropped, the window kept */
    assert_int_equal(md_ari_window_parse(&w, parse(
        "{\"suggestedWindow\": {\"start\": \"2025-01-02T04:00:00Z\", "
        "\"end\": \"2025-01-03T04:00:00Z\"}, \"explanationURL\": \"javascript:x\"}", p),
        "u", result, p), APR_SUCCESS);
    assert_null(w.explanation);

    /* broken ones: end not after start, missing parts, not times, no object */
    assert_int_equal(md_ari_window_parse(&w, parse(
        "{\"suggestedWindow\": {\"start\": \"2025-01-03T04:00:00Z\", "
        "\"end\": \"2025-01-03T04:00:00Z\"}}", p), "u", result, p), APR_EINVAL);
    assert_non_null(strstr(result->detail, "ends before it starts"));
    assert_int_equal(md_ari_window_parse(&w, parse(
        "{\"suggestedWindow\": {\"start\": \"2025-01-03T04:00:00Z\"}}", p), "u", result, p),
        APR_EINVAL);
    assert_int_equal(md_ari_window_parse(&w, parse(
        "{\"suggestedWindow\": {\"start\": \"yesterday\", \"end\": \"today\"}}", p), "u",
        result, p), APR_EINVAL);
    assert_int_equal(md_ari_window_parse(&w, parse("{\"suggestedWindow\": 5}", p), "u",
                                         result, p), APR_EINVAL);
    assert_int_equal(md_ari_window_parse(&w, parse("[]", p), "u", result, p), APR_EINVAL);
    assert_int_equal(md_ari_window_parse(&w, NULL, "u", result, p), APR_EINVAL);
}

static void test_next_poll_and_pick(void **state)
{
    apr_time_t now = apr_time_from_sec(1700000000);
    apr_time_t start = now + apr_time_from_sec(100);
    apr_time_t end = now + apr_time_from_sec(200);
    apr_time_t t;
    int below_mid = 0;
    int i;

    (void)state;
    assert_true(md_ari_next_poll(0, now) == now + MD_ARI_POLL_DEF);
    assert_true(md_ari_next_poll(now + apr_time_from_sec(3600), now)
                == now + apr_time_from_sec(3600));
    /* too eager or too lazy a Retry-After is bounded */
    assert_true(md_ari_next_poll(now + apr_time_from_sec(1), now) == now + MD_ARI_POLL_MIN);
    assert_true(md_ari_next_poll(now - apr_time_from_sec(50), now) == now + MD_ARI_POLL_MIN);
    assert_true(md_ari_next_poll(now + apr_time_from_sec(365 * 86400), now)
                == now + MD_ARI_POLL_MAX);

    for (i = 0; i < 200; ++i) {
        t = md_ari_pick_time(start, end);
        assert_true(t >= start && t < end);
        below_mid += t < start + apr_time_from_sec(50);
    }
    /* spread over the window, not a fixed point (fails with p ~ 2^-200) */
    assert_true(below_mid > 0 && below_mid < 200);
    assert_true(md_ari_pick_time(end, start) == end);
}

/* --- fetch against a mock CA --------------------------------------------- */

static void test_fetch(void **state)
{
    apr_pool_t *p = *state;
    md_result_t *result = md_result_make(p, NULL);
    fx_mock_ca_t *ca = fx_mock_ca_make(NULL, p);
    md_acme_t *acme = fx_mock_ca_session(ca, NULL, p);
    md_ari_window_t w;
    apr_time_t before;

    memset(&w, 0, sizeof(w));
    ca->with_ari_profiles = 1;      /* the directory names renewalInfo */
    /* not set up yet: no ARI known */
    assert_int_equal(md_ari_fetch(&w, acme, "a.b", result, p), APR_ENOTIMPL);
    assert_int_equal(md_acme_setup(acme, result), APR_SUCCESS);
    assert_string_equal(md_ari_url(acme, "a.b", p), FX_CA_URL "/ari/a.b");

    ca->ari_status = 200;
    ca->ari_retry_after = "21600";
    ca->ari_body = "{\"suggestedWindow\": {\"start\": \"2025-01-02T04:00:00Z\", "
                   "\"end\": \"2025-01-03T04:00:00Z\"}}";
    before = apr_time_now();
    assert_int_equal(md_ari_fetch(&w, acme, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", result, p),
                     APR_SUCCESS);
    assert_int_equal(ca->ari_gets, 1);
    assert_string_equal(ca->last_ari_url,
                        FX_CA_URL "/ari/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
    assert_true(w.start == md_time_parse_rfc3339("2025-01-02T04:00:00Z"));
    assert_true(w.next_poll >= before + apr_time_from_sec(21600) - apr_time_from_sec(2));
    assert_true(w.next_poll <= apr_time_now() + apr_time_from_sec(21600));

    /* without Retry-After: the default */
    ca->ari_retry_after = NULL;
    before = apr_time_now();
    assert_int_equal(md_ari_fetch(&w, acme, "a.b", result, p), APR_SUCCESS);
    assert_true(w.next_poll >= before + MD_ARI_POLL_DEF);

    /* the CA does not know the certificate */
    ca->ari_status = 404;
    ca->ari_body = "{\"type\": \"urn:ietf:params:acme:error:malformed\", "
                   "\"detail\": \"unknown\"}";
    assert_int_equal(md_ari_fetch(&w, acme, "a.b", result, p), APR_ENOENT);
    /* rate limited, with a time to come back */
    ca->ari_status = 429;
    ca->ari_retry_after = "120";
    ca->ari_body = "{\"type\": \"urn:ietf:params:acme:error:rateLimited\", "
                   "\"detail\": \"slow\"}";
    assert_int_equal(md_ari_fetch(&w, acme, "a.b", result, p), APR_EAGAIN);
    assert_true(result->retry_after > apr_time_now());
    /* a broken window */
    ca->ari_status = 200;
    ca->ari_body = "{\"suggestedWindow\": {}}";
    assert_int_equal(md_ari_fetch(&w, acme, "a.b", result, p), APR_EINVAL);
    assert_int_equal(ca->ari_gets, 5);
    assert_int_equal(ca->errors, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_cert_id),
        UNIT_TEST(test_window_parse),
        UNIT_TEST(test_next_poll_and_pick),
        UNIT_TEST(test_fetch),
    };

    return UNIT_RUN(tests);
}
