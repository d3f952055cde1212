/* Unit tests: string arrays, base64url, printable strings (md_util.c). */
#include <string.h>

#include "unit.h"
#include <apr_strings.h>
#include "md_util.h"

static apr_array_header_t *strs(apr_pool_t *p, const char *a, const char *b, const char *c)
{
    apr_array_header_t *arr = apr_array_make(p, 3, sizeof(const char *));
    if (a) APR_ARRAY_PUSH(arr, const char *) = a;
    if (b) APR_ARRAY_PUSH(arr, const char *) = b;
    if (c) APR_ARRAY_PUSH(arr, const char *) = c;
    return arr;
}

static void test_array_ops(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *a = strs(p, "a.test", "B.test", NULL);
    apr_array_header_t *c;

    assert_int_equal(md_array_str_index(a, "b.test", 0, 0), 1);
    assert_int_equal(md_array_str_index(a, "b.test", 0, 1), -1);
    assert_int_equal(md_array_str_index(a, "a.test", 1, 0), -1);
    assert_int_equal(md_array_str_index(NULL, "a.test", 0, 0), -1);

    c = md_array_str_clone(p, a);
    assert_true(md_array_str_eq(a, c, 1));
    assert_ptr_not_equal(MD_ARR_IDX(a, 0, const char *), MD_ARR_IDX(c, 0, const char *));
    assert_null(md_array_str_clone(p, NULL));
    assert_true(md_array_str_eq(NULL, NULL, 1));
    assert_false(md_array_str_eq(a, NULL, 1));
    assert_true(md_array_str_eq(a, strs(p, "A.TEST", "b.test", NULL), 0));
    assert_false(md_array_str_eq(a, strs(p, "A.TEST", "b.test", NULL), 1));
    assert_false(md_array_str_eq(a, strs(p, "b.test", "a.test", NULL), 0));

    assert_true(md_array_str_contains_all(a, strs(p, "b.TEST", NULL, NULL)));
    assert_false(md_array_str_contains_all(a, strs(p, "b.test", "c.test", NULL)));

    md_array_str_add_missing(a, "A.test");
    assert_int_equal(a->nelts, 2);
    md_array_str_add_missing(a, "c.test");
    assert_int_equal(a->nelts, 3);

    assert_string_equal(md_array_str_join(a, ", ", p), "a.test, B.test, c.test");
    assert_string_equal(md_array_str_join(strs(p, NULL, NULL, NULL), ",", p), "");
}

static void check_b64(apr_pool_t *p, const char *plain, const char *enc)
{
    unsigned char *data;
    apr_size_t len;

    assert_string_equal(md_util_base64url_encode(plain, strlen(plain), p), enc);
    assert_int_equal(md_util_base64url_decode(&data, &len, enc, p), APR_SUCCESS);
    assert_int_equal(len, strlen(plain));
    assert_memory_equal(data, plain, len);
    assert_int_equal(data[len], 0);
}

/* RFC 4648 §10 test vectors, without padding (base64url as JWS uses it). */
static void test_b64url_vectors(void **state)
{
    apr_pool_t *p = *state;
    unsigned char *data;
    apr_size_t len;

    check_b64(p, "", "");
    check_b64(p, "f", "Zg");
    check_b64(p, "fo", "Zm8");
    check_b64(p, "foo", "Zm9v");
    check_b64(p, "foob", "Zm9vYg");
    check_b64(p, "fooba", "Zm9vYmE");
    check_b64(p, "foobar", "Zm9vYmFy");

    /* padded input is accepted too */
    assert_int_equal(md_util_base64url_decode(&data, &len, "Zg==", p), APR_SUCCESS);
    assert_int_equal(len, 1);
    assert_int_equal(data[0], 'f');
    assert_int_equal(md_util_base64url_decode(&data, &len, "Zm8=", p), APR_SUCCESS);
    assert_int_equal(len, 2);
}

static void test_b64url_binary(void **state)
{
    apr_pool_t *p = *state;
    unsigned char bin[256];
    unsigned char *data;
    apr_size_t len;
    const char *enc;
    apr_size_t n;
    int i;

    for (i = 0; i < 256; ++i) {
        bin[i] = (unsigned char)(255 - i);
    }
    for (n = 0; n <= sizeof(bin); n += 7) {
        enc = md_util_base64url_encode(bin, n, p);
        assert_null(strpbrk(enc, "+/="));
        assert_int_equal(md_util_base64url_decode(&data, &len, enc, p), APR_SUCCESS);
        assert_int_equal(len, n);
        assert_memory_equal(data, bin, n);
    }
    /* 0xfb 0xff uses both url-safe characters */
    bin[0] = 0xfb;
    bin[1] = 0xff;
    bin[2] = 0xbf;
    assert_string_equal(md_util_base64url_encode(bin, 3, p), "-_-_");
}

static void test_b64url_reject(void **state)
{
    apr_pool_t *p = *state;
    unsigned char *data;
    apr_size_t len;
    static const char *const bad[] = {
        "Zm9v+mFy",     /* standard alphabet '+' */
        "Zm9v/mFy",     /* standard alphabet '/' */
        "Zg==Zm8",      /* padding in the middle */
        "Z=g=",
        "Zg=",          /* incomplete padding */
        "Zm9vY===",     /* too much padding */
        "Zm9v YmFy",    /* blank */
        "Zm9v\nYmFy",   /* line break */
        "Zm9v.mFy",
        "Z",            /* one char cannot encode a byte */
        "Zm9vY",
        "Zh",           /* non-zero trailing bits */
        "Zm9",
        "\xc3\xa4Zm",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        data = (unsigned char *)"x";
        len = 99;
        if (md_util_base64url_decode(&data, &len, bad[i], p) != APR_EINVAL) {
            fail_msg("accepted \"%s\"", bad[i]);
        }
        assert_null(data);
        assert_int_equal(len, 0);
    }
    assert_int_equal(md_util_base64url_decode(&data, &len, NULL, p), APR_EINVAL);
}

static void test_is_base64url(void **state)
{
    (void)state;
    assert_true(md_util_is_base64url("abc-_09XYZ", 64));
    assert_false(md_util_is_base64url("", 64));
    assert_false(md_util_is_base64url(NULL, 64));
    assert_false(md_util_is_base64url("../x", 64));
    assert_false(md_util_is_base64url("abc=", 64));
    assert_false(md_util_is_base64url("a+b", 64));
    assert_true(md_util_is_base64url("abcd", 4));
    assert_false(md_util_is_base64url("abcde", 4));
}

static void test_strings(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(md_util_str_tolower(p, "A.Test-X"), "a.test-x");
    assert_null(md_util_str_tolower(p, NULL));

    assert_string_equal(md_util_str_printable(p, "plain text", 100), "plain text");
    assert_string_equal(md_util_str_printable(p, "a\nb\tc\x7f" "d\xc3\xa4", 100),
                        "a?b?c?d??");
    assert_string_equal(md_util_str_printable(p, "0123456789", 4), "0123...");
    assert_string_equal(md_util_str_printable(p, "0123", 4), "0123");
    assert_string_equal(md_util_str_printable(p, "0123456789", 0), "0123456789");
    assert_null(md_util_str_printable(p, NULL, 10));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_array_ops),
        UNIT_TEST(test_b64url_vectors),
        UNIT_TEST(test_b64url_binary),
        UNIT_TEST(test_b64url_reject),
        UNIT_TEST(test_is_base64url),
        UNIT_TEST(test_strings),
    };
    return UNIT_RUN(tests);
}
