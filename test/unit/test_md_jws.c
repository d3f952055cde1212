/* Unit tests of md_jws.c: the flattened JWS that ACME requests carry,
 * checked by decoding it and verifying the signature with OpenSSL. */
#include "unit.h"

#include <string.h>

#include <apr_strings.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "md_crypt.h"
#include "md_json.h"
#include "md_jws.h"
#include "md_util.h"

#define NONCE   "oFvnlFP1wIhRlYS2jTaXbA"
#define URL     "https://ca.example/acme/new-order"
#define KID     "https://ca.example/acme/acct/evOfKhNU60wg"

static apr_pool_t *g_pool;

static md_pkey_t *shared_key(int ec)
{
    static md_pkey_t *keys[2];
    md_pkey_spec_t spec;

    if (!g_pool) {
        assert_int_equal(apr_pool_create(&g_pool, NULL), APR_SUCCESS);
    }
    if (!keys[ec]) {
        memset(&spec, 0, sizeof(spec));
        spec.type = ec ? MD_PKEY_TYPE_EC : MD_PKEY_TYPE_RSA;
        spec.bits = 2048;
        spec.curve = "P-256";
        assert_int_equal(md_pkey_gen(&keys[ec], g_pool, &spec), APR_SUCCESS);
    }
    return keys[ec];
}

static const char *member(const json_t *j, const char *key)
{
    const char *s = json_string_value(json_object_get(j, key));

    assert_non_null(s);
    return s;
}

static const unsigned char *b64_dec(const char *s, apr_size_t *plen, apr_pool_t *p)
{
    unsigned char *data;

    assert_int_equal(md_util_base64url_decode(&data, plen, s, p), APR_SUCCESS);
    return data;
}

/* The decoded protected header. */
static json_t *protected_header(const json_t *jws, apr_pool_t *p)
{
    const unsigned char *hdr;
    apr_size_t len;
    json_error_t err;
    json_t *j;

    assert_int_equal(json_object_size(jws), 3);
    hdr = b64_dec(member(jws, "protected"), &len, p);
    /* Compact: the CA hashes exactly these bytes, no need for whitespace. */
    assert_null(memchr(hdr, '\n', len));
    j = json_loadb((const char *)hdr, len, 0, &err);
    assert_non_null(j);
    return md_json_pool_own(p, j);
}

/* Verify the signature over "protected.payload" as a CA would. */
static int jws_verifies(const json_t *jws, md_pkey_t *pkey, apr_pool_t *p)
{
    const char *input = apr_pstrcat(p, member(jws, "protected"), ".", member(jws, "payload"),
                                    NULL);
    const unsigned char *sig;
    apr_size_t sig_len;
    unsigned char *der = NULL;
    const char *pem;
    apr_size_t pem_len;
    EVP_PKEY *evp;
    EVP_MD_CTX *ctx;
    BIO *bio;
    int ok;

    sig = b64_dec(member(jws, "signature"), &sig_len, p);
    assert_int_equal(md_pkey_to_pem(&pem, &pem_len, pkey, NULL, 0, p), APR_SUCCESS);
    bio = BIO_new_mem_buf(pem, (int)pem_len);
    evp = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(evp);
    if (md_pkey_type(pkey) == MD_PKEY_TYPE_EC) {
        /* RFC 7518 §3.4: R||S, back to DER for OpenSSL. */
        ECDSA_SIG *es = ECDSA_SIG_new();
        int der_len;

        assert_int_equal(sig_len, 64);
        assert_true(ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL)));
        der_len = i2d_ECDSA_SIG(es, &der);
        ECDSA_SIG_free(es);
        assert_true(der_len > 0);
        sig = der;
        sig_len = (apr_size_t)der_len;
    }
    ctx = EVP_MD_CTX_new();
    ok = EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, evp, NULL) == 1
         && EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)input, strlen(input)) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(evp);
    OPENSSL_free(der);
    ERR_clear_error();
    return ok;
}

static void check_jws(md_pkey_t *pkey, const char *kid, apr_pool_t *p)
{
    static const char payload[] =
        "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"example.org\"}]}";
    const unsigned char *data;
    apr_size_t len;
    json_t *jws;
    json_t *hdr;
    json_t *jwk;

    assert_int_equal(md_jws_sign(&jws, payload, strlen(payload), NONCE, URL, kid, pkey, p),
                     APR_SUCCESS);
    hdr = protected_header(jws, p);
    assert_string_equal(member(hdr, "alg"), md_pkey_jws_alg(pkey));
    assert_string_equal(member(hdr, "nonce"), NONCE);
    assert_string_equal(member(hdr, "url"), URL);
    if (kid) {
        assert_string_equal(member(hdr, "kid"), kid);
        assert_null(json_object_get(hdr, "jwk"));
        assert_int_equal(json_object_size(hdr), 4);
    }
    else {
        assert_null(json_object_get(hdr, "kid"));
        jwk = md_json_pool_own(p, md_pkey_to_jwk(pkey));
        assert_true(json_equal(json_object_get(hdr, "jwk"), jwk));
        assert_int_equal(json_object_size(hdr), 4);
    }
    data = b64_dec(member(jws, "payload"), &len, p);
    assert_int_equal(len, strlen(payload));
    assert_memory_equal(data, payload, len);
    assert_true(jws_verifies(jws, pkey, p));

    /* A changed payload no longer verifies. */
    json_object_set_new(jws, "payload", json_string(md_util_base64url_encode("{}", 2, p)));
    assert_false(jws_verifies(jws, pkey, p));
}

static void test_rs256_jwk(void **state)
{
    check_jws(shared_key(0), NULL, *state);
}

static void test_rs256_kid(void **state)
{
    check_jws(shared_key(0), KID, *state);
}

static void test_es256_jwk(void **state)
{
    check_jws(shared_key(1), NULL, *state);
}

static void test_es256_kid(void **state)
{
    check_jws(shared_key(1), KID, *state);
}

/* POST-as-GET (RFC 8555 §6.3): the payload is the empty string. */
static void test_empty_payload(void **state)
{
    apr_pool_t *p = *state;
    json_t *jws;

    assert_int_equal(md_jws_sign(&jws, NULL, 0, NONCE, URL, KID, shared_key(1), p), APR_SUCCESS);
    assert_string_equal(member(jws, "payload"), "");
    assert_true(jws_verifies(jws, shared_key(1), p));
    assert_int_equal(md_jws_sign(&jws, "", 0, NONCE, URL, KID, shared_key(0), p), APR_SUCCESS);
    assert_string_equal(member(jws, "payload"), "");
    assert_true(jws_verifies(jws, shared_key(0), p));
}

/* Values with JSON specials stay values: the header is built, not printed. */
static void test_header_escaping(void **state)
{
    apr_pool_t *p = *state;
    static const char kid[] = "https://ca.example/acct/\"x\",\"jwk\":{}\\";
    json_t *jws;
    json_t *hdr;

    assert_int_equal(md_jws_sign(&jws, "{}", 2, NONCE, URL, kid, shared_key(1), p), APR_SUCCESS);
    hdr = protected_header(jws, p);
    assert_string_equal(member(hdr, "kid"), kid);
    assert_null(json_object_get(hdr, "jwk"));
    assert_true(jws_verifies(jws, shared_key(1), p));
}

/* The inner JWS of a key change carries no nonce (RFC 8555 §7.3.5). */
static void test_no_nonce(void **state)
{
    apr_pool_t *p = *state;
    json_t *jws;
    json_t *hdr;

    assert_int_equal(md_jws_sign(&jws, "{}", 2, NULL, URL, NULL, shared_key(1), p), APR_SUCCESS);
    hdr = protected_header(jws, p);
    assert_null(json_object_get(hdr, "nonce"));
    assert_int_equal(json_object_size(hdr), 3);
    assert_true(jws_verifies(jws, shared_key(1), p));
}

static void test_errors(void **state)
{
    apr_pool_t *p = *state;
    json_t *jws;

    assert_int_equal(md_jws_sign(&jws, "{}", 2, NONCE, NULL, KID, shared_key(1), p), APR_EINVAL);
    assert_null(jws);
    assert_int_equal(md_jws_sign(&jws, NULL, 5, NONCE, URL, KID, shared_key(1), p), APR_EINVAL);
    /* Not UTF-8: JSON cannot carry it. */
    assert_int_equal(md_jws_sign(&jws, "{}", 2, "\xff\xfe", URL, KID, shared_key(1), p),
                     APR_EINVAL);
}

static void test_hmac_rfc4231(void **state)
{
    apr_pool_t *p = *state;
    /* RFC 4231 §4.3, test case 2. */
    static const unsigned char expect[] = {
        0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95,
        0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9,
        0x64, 0xec, 0x38, 0x43,
    };
    const unsigned char *mac;
    static const char data[] = "what do ya want for nothing?";

    assert_int_equal(md_crypt_hmac_sha256(&mac, "Jefe", 4, data, strlen(data), p), APR_SUCCESS);
    assert_memory_equal(mac, expect, 32);
}

/* RFC 4231 §4.3, test case 2, for SHA-384 and SHA-512 (HS384, HS512). */
static void test_hmac_rfc4231_384_512(void **state)
{
    apr_pool_t *p = *state;
    static const unsigned char expect384[] = {
        0xaf, 0x45, 0xd2, 0xe3, 0x76, 0x48, 0x40, 0x31, 0x61, 0x7f, 0x78, 0xd2, 0xb5, 0x8a,
        0x6b, 0x1b, 0x9c, 0x7e, 0xf4, 0x64, 0xf5, 0xa0, 0x1b, 0x47, 0xe4, 0x2e, 0xc3, 0x73,
        0x63, 0x22, 0x44, 0x5e, 0x8e, 0x22, 0x40, 0xca, 0x5e, 0x69, 0xe2, 0xc7, 0x8b, 0x32,
        0x39, 0xec, 0xfa, 0xb2, 0x16, 0x49,
    };
    static const unsigned char expect512[] = {
        0x16, 0x4b, 0x7a, 0x7b, 0xfc, 0xf8, 0x19, 0xe2, 0xe3, 0x95, 0xfb, 0xe7, 0x3b, 0x56,
        0xe0, 0xa3, 0x87, 0xbd, 0x64, 0x22, 0x2e, 0x83, 0x1f, 0xd6, 0x10, 0x27, 0x0c, 0xd7,
        0xea, 0x25, 0x05, 0x54, 0x97, 0x58, 0xbf, 0x75, 0xc0, 0x5a, 0x99, 0x4a, 0x6d, 0x03,
        0x4f, 0x65, 0xf8, 0xf0, 0xe6, 0xfd, 0xca, 0xea, 0xb1, 0xa3, 0x4d, 0x4a, 0x6b, 0x4b,
        0x63, 0x6e, 0x07, 0x0a, 0x38, 0xbc, 0xe7, 0x37,
    };
    static const char data[] = "what do ya want for nothing?";
    const unsigned char *mac;
    apr_size_t len;

    assert_int_equal(md_crypt_hmac(&mac, &len, "SHA384", "Jefe", 4, data, strlen(data), p),
                     APR_SUCCESS);
    assert_int_equal(len, 48);
    assert_memory_equal(mac, expect384, 48);
    assert_int_equal(md_crypt_hmac(&mac, &len, "SHA512", "Jefe", 4, data, strlen(data), p),
                     APR_SUCCESS);
    assert_int_equal(len, 64);
    assert_memory_equal(mac, expect512, 64);
    assert_int_equal(md_crypt_hmac(&mac, &len, "MD5", "Jefe", 4, data, strlen(data), p),
                     APR_ENOTIMPL);
    assert_null(mac);
}

/* External account binding (RFC 8555 §7.3.4) with each HMAC algorithm:
 * header exactly alg, kid, url (no nonce, no jwk), payload the JWK as
 * given, signature the HMAC of "protected.payload". */
static void check_hmac_jws(apr_pool_t *p, const char *alg, const char *digest,
                           apr_size_t mac_len)
{
    static const unsigned char key[] = { 0x01, 0x00, 0xfe, 0x42, 0x99, 0x00, 0x17, 0x33 };
    const char *jwk = md_json_dump(md_json_pool_own(p, md_pkey_to_jwk(shared_key(1))), 0, p);
    const unsigned char *mac;
    const unsigned char *sig;
    const unsigned char *payload;
    const char *input;
    apr_size_t len;
    apr_size_t plen;
    json_t *jws;
    json_t *hdr;

    assert_int_equal(md_jws_sign_hmac(&jws, alg, jwk, strlen(jwk), URL, "eab-kid-1", key,
                                      sizeof(key), p), APR_SUCCESS);
    hdr = protected_header(jws, p);
    assert_string_equal(member(hdr, "alg"), alg ? alg : "HS256");
    assert_string_equal(member(hdr, "kid"), "eab-kid-1");
    assert_string_equal(member(hdr, "url"), URL);
    assert_int_equal(json_object_size(hdr), 3);
    payload = b64_dec(member(jws, "payload"), &plen, p);
    assert_int_equal(plen, strlen(jwk));
    assert_memory_equal(payload, jwk, plen);
    input = apr_pstrcat(p, member(jws, "protected"), ".", member(jws, "payload"), NULL);
    assert_int_equal(md_crypt_hmac(&mac, &len, digest, key, sizeof(key), input, strlen(input),
                                   p), APR_SUCCESS);
    assert_int_equal(len, mac_len);
    sig = b64_dec(member(jws, "signature"), &len, p);
    assert_int_equal(len, mac_len);
    assert_memory_equal(sig, mac, mac_len);
}

static void test_hmac_jws(void **state)
{
    apr_pool_t *p = *state;
    static const unsigned char key[] = { 0x01, 0x02 };
    json_t *jws;

    check_hmac_jws(p, NULL, "SHA256", 32);
    check_hmac_jws(p, "HS256", "SHA256", 32);
    check_hmac_jws(p, "HS384", "SHA384", 48);
    check_hmac_jws(p, "HS512", "SHA512", 64);

    assert_int_equal(md_jws_sign_hmac(&jws, NULL, "{}", 2, URL, NULL, key, sizeof(key), p),
                     APR_EINVAL);
    assert_int_equal(md_jws_sign_hmac(&jws, NULL, "{}", 2, URL, "k", key, 0, p), APR_EINVAL);
    assert_int_equal(md_jws_sign_hmac(&jws, "RS256", "{}", 2, URL, "k", key, sizeof(key), p),
                     APR_ENOTIMPL);
    assert_null(jws);
    assert_string_equal(md_jws_hmac_digest("HS384"), "SHA384");
    assert_null(md_jws_hmac_digest("hs256"));
    assert_null(md_jws_hmac_digest(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_rs256_jwk),
        UNIT_TEST(test_rs256_kid),
        UNIT_TEST(test_es256_jwk),
        UNIT_TEST(test_es256_kid),
        UNIT_TEST(test_empty_payload),
        UNIT_TEST(test_header_escaping),
        UNIT_TEST(test_no_nonce),
        UNIT_TEST(test_errors),
        UNIT_TEST(test_hmac_rfc4231),
        UNIT_TEST(test_hmac_rfc4231_384_512),
        UNIT_TEST(test_hmac_jws),
    };
    int failed = UNIT_RUN(tests);

    if (g_pool) {
        apr_pool_destroy(g_pool);
    }
    return failed;
}
