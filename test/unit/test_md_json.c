/* Unit tests: parsing limits, typed access and building (md_json.c). */
#include <string.h>

#include "unit.h"
#include <apr_strings.h>
#include "md_json.h"
#include "md_util.h"

static apr_status_t parse(json_t **pj, const char *s, const char **perr, apr_pool_t *p)
{
    return md_json_parse(pj, s, strlen(s), "test.json", perr, p);
}

static void test_parse_ok(void **state)
{
    apr_pool_t *p = *state;
    json_t *j;
    const char *err = "x";

    assert_int_equal(parse(&j, "{\"a\": 1, \"b\": [\"x\", \"y\"]}", &err, p), APR_SUCCESS);
    assert_non_null(j);
    assert_null(err);
    assert_int_equal(md_json_get_int(j, "a", 0), 1);
    /* not NUL-terminated: only len bytes are read */
    assert_int_equal(md_json_parse(&j, "[1,2]garbage", 5, "buf", NULL, p), APR_SUCCESS);
    assert_int_equal(json_array_size(j), 2);
}

static void test_parse_errors(void **state)
{
    apr_pool_t *p = *state;
    json_t *j;
    const char *err;

    /* truncated */
    assert_int_equal(parse(&j, "{\"a\": [1, 2", &err, p), APR_EINVAL);
    assert_null(j);
    assert_non_null(err);
    assert_non_null(strstr(err, "test.json: invalid JSON at line 1 column"));

    /* error position on a later line */
    assert_int_equal(parse(&j, "{\n\"a\": 1,\n\"b\" 2}", &err, p), APR_EINVAL);
    assert_non_null(strstr(err, "at line 3 column"));

    /* duplicate keys */
    assert_int_equal(parse(&j, "{\"a\": 1, \"a\": 2}", &err, p), APR_EINVAL);
    assert_non_null(strstr(err, "invalid JSON"));

    /* empty and garbage */
    assert_int_equal(parse(&j, "", &err, p), APR_EINVAL);
    assert_int_equal(parse(&j, "<html>", &err, p), APR_EINVAL);
    assert_int_equal(md_json_parse(&j, NULL, 0, "x", &err, p), APR_EINVAL);
}

static const char *nested(apr_pool_t *p, int depth)
{
    char *s = apr_palloc(p, (apr_size_t)depth * 2 + 1);
    int i;

    for (i = 0; i < depth; ++i) {
        s[i] = '[';
        s[depth * 2 - 1 - i] = ']';
    }
    s[depth * 2] = '\0';
    return s;
}

static void test_parse_limits(void **state)
{
    apr_pool_t *p = *state;
    json_t *j;
    const char *err;
    char *big;

    assert_int_equal(parse(&j, nested(p, MD_JSON_MAX_DEPTH), &err, p), APR_SUCCESS);
    assert_int_equal(parse(&j, nested(p, MD_JSON_MAX_DEPTH + 1), &err, p), APR_EINVAL);
    assert_non_null(strstr(err, "deeper"));
    assert_null(j);
    /* objects count too */
    assert_int_equal(parse(&j, apr_pstrcat(p, "{\"a\":", nested(p, MD_JSON_MAX_DEPTH),
                                            "}", NULL), &err, p), APR_EINVAL);
    /* very deep input does not crash */
    assert_int_equal(parse(&j, nested(p, 100000), &err, p), APR_EINVAL);

    big = apr_palloc(p, MD_JSON_MAX_LEN + 2);
    memset(big, ' ', MD_JSON_MAX_LEN + 1);
    big[0] = '{';
    big[MD_JSON_MAX_LEN] = '}';
    big[MD_JSON_MAX_LEN + 1] = '\0';
    assert_int_equal(md_json_parse(&j, big, MD_JSON_MAX_LEN + 1, "big", &err, p),
                     APR_EINVAL);
    assert_non_null(strstr(err, "exceeds"));
    assert_int_equal(md_json_parse(&j, big + 1, MD_JSON_MAX_LEN, "big", &err, p),
                     APR_EINVAL);   /* within the limit, but not JSON */
    big[1] = '{';
    assert_int_equal(md_json_parse(&j, big + 1, MD_JSON_MAX_LEN, "big", &err, p),
                     APR_SUCCESS);
}

static void test_typed_get(void **state)
{
    apr_pool_t *p = *state;
    json_t *j;
    apr_array_header_t *a;
    const char *s;

    assert_int_equal(parse(&j, "{\"s\": \"str\", \"i\": 42, \"b\": true, \"o\": {},"
                              " \"a\": [\"x\", \"y\"], \"m\": [\"x\", 1]}", NULL, p),
                     APR_SUCCESS);
    assert_string_equal(md_json_get_str(j, "s"), "str");
    assert_null(md_json_get_str(j, "i"));
    assert_null(md_json_get_str(j, "none"));
    assert_null(md_json_get_str(NULL, "s"));
    assert_int_equal(md_json_get_int(j, "i", -1), 42);
    assert_int_equal(md_json_get_int(j, "s", -1), -1);
    assert_true(md_json_get_bool(j, "b", 0));
    assert_int_equal(md_json_get_bool(j, "i", 7), 7);
    assert_non_null(md_json_get_obj(j, "o"));
    assert_null(md_json_get_obj(j, "a"));
    assert_non_null(md_json_get_array(j, "a"));
    assert_null(md_json_get_array(j, "o"));

    a = md_json_get_str_array(j, "a", p);
    assert_non_null(a);
    assert_int_equal(a->nelts, 2);
    assert_string_equal(MD_ARR_IDX(a, 1, const char *), "y");
    assert_null(md_json_get_str_array(j, "m", p));
    assert_null(md_json_get_str_array(j, "s", p));

    assert_int_equal(md_json_require_str(&s, j, "s", "http://ca/x", p), APR_SUCCESS);
    assert_string_equal(s, "str");
    assert_int_equal(md_json_require_str(&s, j, "i", "http://ca/x", p), APR_EINVAL);
    assert_null(s);
    assert_int_equal(md_json_require_str(&s, j, "none", "http://ca/x", p), APR_EINVAL);
}

static void test_build_dump(void **state)
{
    apr_pool_t *p = *state;
    json_t *j = md_json_pool_own(p, json_object());
    json_t *back;
    apr_array_header_t *a = apr_array_make(p, 2, sizeof(const char *));
    const char *s;

    APR_ARRAY_PUSH(a, const char *) = "mailto:a\"b@example.org";
    APR_ARRAY_PUSH(a, const char *) = "x";
    md_json_set_str(j, "name", "a.test");
    md_json_set_str(j, "gone", "x");
    md_json_set_str(j, "gone", NULL);
    md_json_set_str(j, "bad-utf8", "a\xff" "b");
    json_object_set_new(j, "list", md_json_from_str_array(a));
    assert_null(json_object_get(j, "gone"));
    assert_string_equal(md_json_get_str(j, "bad-utf8"), "a?b");

    s = md_json_dump(j, 0, p);
    assert_string_equal(s, "{\"name\":\"a.test\",\"bad-utf8\":\"a?b\","
                           "\"list\":[\"mailto:a\\\"b@example.org\",\"x\"]}");
    s = md_json_dump(j, 1, p);
    assert_non_null(strstr(s, "{\n  \"name\": \"a.test\",\n"));
    assert_int_equal(parse(&back, s, NULL, p), APR_SUCCESS);
    assert_true(json_equal(back, j));

    assert_string_equal(md_json_dump(md_json_pool_own(p, json_integer(5)), 0, p), "5");
    assert_null(md_json_dump(NULL, 0, p));
    json_decref(md_json_from_str_array(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_parse_ok),
        UNIT_TEST(test_parse_errors),
        UNIT_TEST(test_parse_limits),
        UNIT_TEST(test_typed_get),
        UNIT_TEST(test_build_dump),
    };
    return UNIT_RUN(tests);
}
