/* Unit tests: key generation on a thread of its own (md_keygen.c). */
#include "unit.h"
#include "md_keygen.h"

static void test_keygen_ec_and_rsa(void **state)
{
    apr_pool_t *p = *state;
    md_pkey_spec_t ec = { MD_PKEY_TYPE_EC, 0, "P-256" };
    md_pkey_spec_t rsa = { MD_PKEY_TYPE_RSA, 2048, NULL };
    md_keygen_t *k1;
    md_keygen_t *k2;
    md_pkey_t *key;

    /* two at once, picked up in the other order */
    assert_int_equal(md_keygen_start(&k1, &rsa, p), APR_SUCCESS);
    assert_int_equal(md_keygen_start(&k2, &ec, p), APR_SUCCESS);
    assert_int_equal(md_keygen_finish(&key, k2), APR_SUCCESS);
    assert_non_null(key);
    assert_int_equal(md_pkey_type(key), MD_PKEY_TYPE_EC);
    assert_int_equal(md_keygen_finish(&key, k1), APR_SUCCESS);
    assert_non_null(key);
    assert_int_equal(md_pkey_type(key), MD_PKEY_TYPE_RSA);
}

static void test_keygen_error_is_reported(void **state)
{
    apr_pool_t *p = *state;
    md_pkey_spec_t bad = { MD_PKEY_TYPE_EC, 0, "no-such-curve" };
    md_keygen_t *kg;
    md_pkey_t *key;

    assert_int_equal(md_keygen_start(&kg, &bad, p), APR_SUCCESS);
    assert_int_equal(md_keygen_finish(&key, kg), APR_EINVAL);
    assert_null(key);
}

static void test_keygen_abandoned(void **state)
{
    apr_pool_t *p = *state;
    md_pkey_spec_t rsa = { MD_PKEY_TYPE_RSA, 2048, NULL };
    apr_pool_t *sub;
    md_keygen_t *kg;

    /* the caller gives up (an order failed): clearing its pool joins the
     * thread before the key's pool goes (ASan would see a use after free) */
    apr_pool_create(&sub, p);
    assert_int_equal(md_keygen_start(&kg, &rsa, sub), APR_SUCCESS);
    apr_pool_destroy(sub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_keygen_ec_and_rsa),
        UNIT_TEST(test_keygen_error_is_reported),
        UNIT_TEST(test_keygen_abandoned),
    };
    return UNIT_RUN(tests);
}
