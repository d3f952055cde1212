/* Unit tests: DNS name grammar and wildcard matching (md_dns.c). */
#include <string.h>

#include "unit.h"
#include <apr_strings.h>
#include "md_dns.h"

static void expect_bad(const char *name, int wild, int single, const char *reason)
{
    const char *why = NULL;

    if (md_dns_is_name(name, wild, single, &why)) {
        fail_msg("accepted \"%s\"", name);
    }
    assert_non_null(why);
    if (reason && strcmp(why, reason)) {
        fail_msg("\"%s\": reason \"%s\", expected \"%s\"", name, why, reason);
    }
}

static void test_valid(void **state)
{
    const char *why = "x";
    (void)state;

    assert_true(md_dns_is_name("example.org", 0, 0, &why));
    assert_null(why);
    assert_true(md_dns_is_name("www.Example-1.org", 0, 0, NULL));
    assert_true(md_dns_is_name("a.b", 0, 0, NULL));
    assert_true(md_dns_is_name("xn--mnchen-3ya.de", 0, 0, NULL));
    assert_true(md_dns_is_name("1.2.3.test", 0, 0, NULL));
    assert_true(md_dns_is_name("localhost", 0, 1, NULL));
    assert_true(md_dns_is_name("*.example.org", 1, 0, NULL));
}

static void test_invalid(void **state)
{
    apr_pool_t *p = *state;
    char label[70];
    char *longname;

    expect_bad("bad_name.test", 0, 0, "invalid character '_'");
    expect_bad("-lead.test", 0, 0, "label starts with a hyphen");
    expect_bad("a.-lead.test", 0, 0, "label starts with a hyphen");
    expect_bad("a..test", 0, 0, "empty label");
    expect_bad(".a.test", 0, 0, "empty label");
    expect_bad("trailing-.test", 0, 0, "label ends with a hyphen");
    expect_bad("a.test-", 0, 0, "label ends with a hyphen");
    expect_bad("x.test.", 0, 0, "trailing dot");
    expect_bad("", 0, 0, "empty name");
    expect_bad(NULL, 0, 0, "empty name");
    expect_bad("localhost", 0, 0, NULL);
    expect_bad("a b.test", 0, 0, "invalid character ' '");
    expect_bad("a/b.test", 0, 0, "invalid character '/'");
    expect_bad("m\xc3\xbcnchen.de", 0, 0, NULL);
    expect_bad("a\nb.test", 0, 0, NULL);
    expect_bad("../x", 0, 0, NULL);

    memset(label, 'a', sizeof(label));
    label[63] = '\0';
    assert_true(md_dns_is_name(apr_pstrcat(p, label, ".test", NULL), 0, 0, NULL));
    label[63] = 'a';
    label[64] = '\0';
    expect_bad(apr_pstrcat(p, label, ".test", NULL), 0, 0, "label longer than 63 characters");

    /* 4 labels of 63 + 3 dots = 255 > 253 */
    label[63] = '\0';
    longname = apr_pstrcat(p, label, ".", label, ".", label, ".", label, NULL);
    expect_bad(longname, 0, 0, NULL);
    /* 253 exactly is fine */
    longname[253] = '\0';
    assert_true(md_dns_is_name(longname, 0, 0, NULL));
}

static void test_wildcard(void **state)
{
    (void)state;
    expect_bad("*.example.org", 0, 0, NULL);
    assert_true(md_dns_is_name("*.example.org", 1, 0, NULL));
    expect_bad("*", 1, 1, NULL);
    expect_bad("*.", 1, 1, NULL);
    expect_bad("*example.org", 1, 0, NULL);
    expect_bad("a.*.example.org", 1, 0, "invalid character '*'");
    expect_bad("*.*.example.org", 1, 0, NULL);
    expect_bad("*.org", 1, 0, NULL);
    assert_true(md_dns_is_name("*.test", 1, 1, NULL));

    assert_true(md_dns_is_wildcard("*.example.org"));
    assert_false(md_dns_is_wildcard("example.org"));
    assert_false(md_dns_is_wildcard("*"));
    assert_false(md_dns_is_wildcard(NULL));
}

static void test_matches(void **state)
{
    (void)state;
    assert_true(md_dns_matches("example.org", "EXAMPLE.org"));
    assert_false(md_dns_matches("example.org", "www.example.org"));
    assert_true(md_dns_matches("*.example.org", "www.example.org"));
    assert_true(md_dns_matches("*.Example.org", "WWW.example.ORG"));
    assert_false(md_dns_matches("*.example.org", "example.org"));
    assert_false(md_dns_matches("*.example.org", "a.b.example.org"));
    assert_false(md_dns_matches("*.example.org", ".example.org"));
    assert_false(md_dns_matches("*.example.org", "wwwexample.org"));
    assert_true(md_dns_matches("*.example.org", "*.example.org"));
    assert_false(md_dns_matches("*.org", "*.example.org"));
    assert_false(md_dns_matches(NULL, "a"));
    assert_false(md_dns_matches("a", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_valid),
        UNIT_TEST(test_invalid),
        UNIT_TEST(test_wildcard),
        UNIT_TEST(test_matches),
    };
    return UNIT_RUN(tests);
}
