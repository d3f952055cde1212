/* Unit tests of md_crypt_seal.c: sealing with the store key. */
#include "unit.h"

#include <string.h>

#include <apr_strings.h>

#include "md_crypt.h"
#include "md_crypt_seal.h"

static void make_key(unsigned char *key, unsigned char seed)
{
    unsigned char store_key[48];

    memset(store_key, seed, sizeof(store_key));
    assert_int_equal(md_crypt_seal_key(key, store_key, sizeof(store_key)), APR_SUCCESS);
}

static void test_roundtrip(void **state)
{
    apr_pool_t *p = *state;
    unsigned char key[MD_SEAL_KEY_LEN];
    const char *secret = "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n";
    const unsigned char *sealed = NULL;
    apr_size_t sealed_len = 0, len = 0;
    char *plain = NULL;

    make_key(key, 1);
    assert_int_equal(md_crypt_seal(&sealed, &sealed_len, key, secret, strlen(secret), p),
                     APR_SUCCESS);
    assert_true(sealed_len > strlen(secret));
    /* Nothing of the plain text shows. */
    assert_null(memmem(sealed, sealed_len, "PRIVATE", 7));
    assert_int_equal(md_crypt_unseal(&plain, &len, key, sealed, sealed_len, p), APR_SUCCESS);
    assert_int_equal(len, strlen(secret));
    assert_string_equal(plain, secret);
}

static void test_nonce_differs(void **state)
{
    apr_pool_t *p = *state;
    unsigned char key[MD_SEAL_KEY_LEN];
    const unsigned char *a, *b;
    apr_size_t alen, blen;

    make_key(key, 2);
    assert_int_equal(md_crypt_seal(&a, &alen, key, "same", 4, p), APR_SUCCESS);
    assert_int_equal(md_crypt_seal(&b, &blen, key, "same", 4, p), APR_SUCCESS);
    assert_int_equal(alen, blen);
    assert_true(memcmp(a, b, alen) != 0);
}

static void test_wrong_key_and_tampering(void **state)
{
    apr_pool_t *p = *state;
    unsigned char key[MD_SEAL_KEY_LEN], other[MD_SEAL_KEY_LEN];
    const unsigned char *sealed;
    unsigned char *changed;
    apr_size_t sealed_len, len;
    char *plain;

    make_key(key, 3);
    make_key(other, 4);
    assert_int_equal(md_crypt_seal(&sealed, &sealed_len, key, "value", 5, p), APR_SUCCESS);
    assert_int_equal(md_crypt_unseal(&plain, &len, other, sealed, sealed_len, p), APR_EACCES);
    assert_null(plain);
    changed = apr_pmemdup(p, sealed, sealed_len);
    changed[sealed_len / 2] ^= 1;
    assert_int_equal(md_crypt_unseal(&plain, &len, key, changed, sealed_len, p), APR_EACCES);
    /* Not a sealed value at all. */
    assert_int_equal(md_crypt_unseal(&plain, &len, key, "short", 5, p), APR_EINVAL);
    changed = apr_pmemdup(p, sealed, sealed_len);
    changed[0] = 9;
    assert_int_equal(md_crypt_unseal(&plain, &len, key, changed, sealed_len, p), APR_EINVAL);
}

static void test_empty_value(void **state)
{
    apr_pool_t *p = *state;
    unsigned char key[MD_SEAL_KEY_LEN];
    const unsigned char *sealed;
    apr_size_t sealed_len, len = 1;
    char *plain = NULL;

    make_key(key, 5);
    assert_int_equal(md_crypt_seal(&sealed, &sealed_len, key, "", 0, p), APR_SUCCESS);
    assert_int_equal(md_crypt_unseal(&plain, &len, key, sealed, sealed_len, p), APR_SUCCESS);
    assert_int_equal(len, 0);
    assert_string_equal(plain, "");
}

static void test_key_check(void **state)
{
    apr_pool_t *p = *state;
    unsigned char a[48], b[48];
    const char *ca1, *ca2, *cb;

    memset(a, 7, sizeof(a));
    memset(b, 8, sizeof(b));
    assert_int_equal(md_crypt_seal_key_check(&ca1, a, sizeof(a), p), APR_SUCCESS);
    assert_int_equal(md_crypt_seal_key_check(&ca2, a, sizeof(a), p), APR_SUCCESS);
    assert_int_equal(md_crypt_seal_key_check(&cb, b, sizeof(b), p), APR_SUCCESS);
    assert_string_equal(ca1, ca2);
    assert_string_not_equal(ca1, cb);
    assert_int_equal(strlen(ca1), 43);      /* base64url of 32 bytes */
    /* The sealing key is not the check value nor the store key. */
    assert_int_equal(md_crypt_seal_key(b, NULL, 0), APR_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_roundtrip),
        UNIT_TEST(test_nonce_differs),
        UNIT_TEST(test_wrong_key_and_tampering),
        UNIT_TEST(test_empty_value),
        UNIT_TEST(test_key_check),
    };
    return UNIT_RUN(tests);
}
