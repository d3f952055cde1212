/* Unit tests of what md_crypt_cert.c reads for the status outputs: the ARI
 * certificate id (RFC 9773 §4.1) and embedded SCTs (RFC 6962 §3.3).
 *
 * The fixtures are self-signed EC certificates we made for these tests:
 * SCT_CERT (serial 0x8A11, top bit set, so its DER content has a leading
 * zero octet) carries an authority key id and an SCT list with two entries,
 * log ids 00 01 .. 1f and 32 x ab, timestamps 1700000000123 and
 * 1700000001000 ms, ECDSA-SHA256 signatures; PLAIN_CERT (serial 0x1234)
 * has an authority key id and no SCTs; FAR_CERT's first SCT has the
 * timestamp 2^64 - 1 ms (found by fuzzing: it overflowed apr_time_t), its
 * second 1700000000123 ms. */
#include "unit.h"

#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "md_crypt.h"
#include "md_util.h"

static const char SCT_CERT[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICKDCCAc+gAwIBAgIDAIoRMAoGCCqGSM49BAMCMBMxETAPBgNVBAMMCHNjdC50\n"
    "ZXN0MB4XDTI2MTEyODEwNDQxOVoXDTM2MTEyNjEwNDQxOVowEzERMA8GA1UEAwwI\n"
    "c2N0LnRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQflM+0rbLZNCnl6VhW\n"
    "7tBszH1KL/qOV7nsnsd+5fso0O/MSEuUMIMthF9db7BUZUJ5GT4t8pFXrmtbyN5G\n"
    "F8bXo4IBEDCCAQwwIQYDVR0RBBowGIIIc2N0LnRlc3SCDHd3dy5zY3QudGVzdDAf\n"
    "BgNVHSMEGDAWgBSU0TuNQFUDg/UMiKOytTyUcMvZFzCBxQYKKwYBBAHWeQIEAgSB\n"
    "tgSBswCxAHYAAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8AAAGLz+Vo\n"
    "ewAABAMARzBFAiEAERERERERERERERERERERERERERERERERERERERERERECICIi\n"
    "IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiADcAq6urq6urq6urq6urq6ur\n"
    "q6urq6urq6urq6urq6urq6sAAAGLz+Vr6AAABAMACDAGAgEBAgECMAoGCCqGSM49\n"
    "BAMCA0cAMEQCIBhwhpiaKa8EKsBB8WBTvnmSNGb0HQN7KoZNPTPUbLZlAiAMJDo4\n"
    "ywUDZZHc0e6tEDAJ8yE0CZ9GVGIACdCuG+N3+Q==\n"
    "-----END CERTIFICATE-----\n";

static const char PLAIN_CERT[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBUzCB+qADAgECAgISNDAKBggqhkjOPQQDAjAVMRMwEQYDVQQDDApwbGFpbi50\n"
    "ZXN0MB4XDTI2MTEyODEwNDQxOVoXDTM2MTEyNjEwNDQxOVowFTETMBEGA1UEAwwK\n"
    "cGxhaW4udGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABGgIfphZkDIxe//8\n"
    "aELZ+sFbJk4dNTt/wQU9T7rN3F4gotHQ3tpau6MBSA+WNsWvQiziRnRp82RiE2yE\n"
    "f/q37EijOjA4MBUGA1UdEQQOMAyCCnBsYWluLnRlc3QwHwYDVR0jBBgwFoAUt3GU\n"
    "MAb2WN5kV22Hb2NIsSU4HPAwCgYIKoZIzj0EAwIDSAAwRQIhAOlntB7BA1DERJSM\n"
    "/tuXD8X3saNXZ7GOvFZa4JqmR6xcAiAazueWQSvXTbcYUyKAhlRfJFze1HNzEJy7\n"
    "paiU+4HkXQ==\n"
    "-----END CERTIFICATE-----\n";

static const char FAR_CERT[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBoDCCAUegAwIBAgICd3cwCgYIKoZIzj0EAwIwEzERMA8GA1UEAwwIZmFyLnRl\n"
    "c3QwHhcNMjYxMTI4MDAwMDAwWhcNMzYxMTI1MDAwMDAwWjATMREwDwYDVQQDDAhm\n"
    "YXIudGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABA0sS/pB1I2JpufhGtsp\n"
    "jFxyQQWRNk+jprU7g0fFwfKpUV8dNM1PGZSZg1g87j/wNf6NUDHb9bpV6EzDmWIt\n"
    "K56jgYowgYcwgYQGCisGAQQB1nkCBAIEdgR0AHIANwAAAQIDBAUGBwgJCgsMDQ4P\n"
    "EBESExQVFhcYGRobHB0eH///////////AAAEAwAIMAYCAQECAQIANwCrq6urq6ur\n"
    "q6urq6urq6urq6urq6urq6urq6urq6urqwAAAYvP5Wh7AAAEAwAIMAYCAQECAQIw\n"
    "CgYIKoZIzj0EAwIDRwAwRAIgLnoUZntdu99pltTJHJtA3pnikZJwAwetuXb/d2+o\n"
    "o0gCIEKJwMX7xdjxvNMBpYhv1nXkL8xPsO7xhYkkSdP8RXYg\n"
    "-----END CERTIFICATE-----\n";

static md_cert_t *load(const char *pem, apr_pool_t *p)
{
    apr_array_header_t *certs = NULL;

    assert_int_equal(md_certs_from_pem(&certs, pem, strlen(pem), p), APR_SUCCESS);
    assert_int_equal(certs->nelts, 1);
    return APR_ARRAY_IDX(certs, 0, md_cert_t *);
}

static const char *repeat(apr_pool_t *p, const char *s, int n)
{
    const char *out = "";

    while (n-- > 0) {
        out = apr_pstrcat(p, out, s, NULL);
    }
    return out;
}

static void test_ari_cert_id_keeps_leading_zero(void **state)
{
    apr_pool_t *p = *state;

    /* AKI keyIdentifier base64url "." base64url(00 8a 11) */
    assert_string_equal(md_cert_ari_cert_id(load(SCT_CERT, p), p),
                        "lNE7jUBVA4P1DIijsrU8lHDL2Rc.AIoR");
    assert_string_equal(md_cert_ari_cert_id(load(PLAIN_CERT, p), p),
                        "t3GUMAb2WN5kV22Hb2NIsSU4HPA.EjQ");
}

static void test_ari_cert_id_needs_aki(void **state)
{
    apr_pool_t *p = *state;
    md_pkey_spec_t spec = { MD_PKEY_TYPE_EC, 0, "P-256" };
    apr_array_header_t *names = apr_array_make(p, 1, sizeof(const char *));
    md_pkey_t *pkey;
    md_cert_t *cert;

    /* Our fallback certificates carry no authority key id. */
    APR_ARRAY_PUSH(names, const char *) = "noaki.test";
    assert_int_equal(md_pkey_gen(&pkey, p, &spec), APR_SUCCESS);
    assert_int_equal(md_cert_self_sign(&cert, "noaki.test", names, pkey,
                                       apr_time_from_sec(3600), p), APR_SUCCESS);
    assert_null(md_cert_ari_cert_id(cert, p));
}

static void test_scts_read_in_order(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *scts = NULL;
    const md_sct_t *a;
    const md_sct_t *b;

    assert_int_equal(md_cert_get_scts(&scts, load(SCT_CERT, p), p), APR_SUCCESS);
    assert_int_equal(scts->nelts, 2);
    a = APR_ARRAY_IDX(scts, 0, const md_sct_t *);
    b = APR_ARRAY_IDX(scts, 1, const md_sct_t *);
    assert_int_equal(a->version, 0);
    assert_string_equal(a->log_id,
                        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    assert_true(a->timestamp == apr_time_from_msec(APR_INT64_C(1700000000123)));
    /* DER ECDSA-Sig-Value: r = 32 x 11 (with a sign octet), s = 32 x 22 */
    assert_string_equal(a->signature,
                        apr_pstrcat(p, "3045022100", repeat(p, "11", 32), "0220",
                                    repeat(p, "22", 32), NULL));
    assert_string_equal(a->signature_alg, "ecdsa-with-SHA256");
    assert_string_equal(b->log_id,
                        "abababababababababababababababababababababababababababababababab");
    assert_true(b->timestamp == apr_time_from_sec(APR_INT64_C(1700000001)));
    assert_string_equal(b->signature, "3006020101020102");
}

static void test_scts_none(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *scts = NULL;

    assert_int_equal(md_cert_get_scts(&scts, load(PLAIN_CERT, p), p), APR_SUCCESS);
    assert_non_null(scts);
    assert_int_equal(scts->nelts, 0);
}

/* An SCT time apr_time_t cannot hold is unknown (0), not an overflow (a
 * staged certificate is User-writable and shown by certificate-status). */
static void test_scts_time_out_of_range(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *scts = NULL;

    assert_int_equal(md_cert_get_scts(&scts, load(FAR_CERT, p), p), APR_SUCCESS);
    assert_int_equal(scts->nelts, 2);
    assert_true(APR_ARRAY_IDX(scts, 0, const md_sct_t *)->timestamp == 0);
    assert_true(APR_ARRAY_IDX(scts, 1, const md_sct_t *)->timestamp
                == apr_time_from_msec(APR_INT64_C(1700000000123)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_ari_cert_id_keeps_leading_zero),
        UNIT_TEST(test_ari_cert_id_needs_aki),
        UNIT_TEST(test_scts_read_in_order),
        UNIT_TEST(test_scts_none),
        UNIT_TEST(test_scts_time_out_of_range),
    };
    return UNIT_RUN(tests);
}
