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

/* RFC 8738 §6: tls-alpn-01 for an address uses its reverse-DNS name. */
static void test_ip_reverse_names(void **state)
{
    apr_pool_t *p = *state;
    const char *v6 = "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa";

    assert_true(md_dns_is_ip("127.0.0.1"));
    assert_true(md_dns_is_ip("::1"));
    assert_false(md_dns_is_ip("a.test"));
    assert_false(md_dns_is_ip("[::1]"));
    assert_false(md_dns_is_ip(NULL));

    assert_string_equal(md_dns_ip_reverse_name(p, "192.0.2.7"), "7.2.0.192.in-addr.arpa");
    /* RFC 3596 §2.5's example address */
    assert_string_equal(md_dns_ip_reverse_name(p, "4321:0:1:2:3:4:567:89ab"), v6);
    assert_null(md_dns_ip_reverse_name(p, "a.test"));

    assert_string_equal(md_dns_ip_from_reverse_name(p, "7.2.0.192.in-addr.arpa"), "192.0.2.7");
    assert_string_equal(md_dns_ip_from_reverse_name(p, "1.0.0.127.IN-ADDR.ARPA"), "127.0.0.1");
    assert_string_equal(md_dns_ip_from_reverse_name(p, v6), "4321:0:1:2:3:4:567:89ab");
    assert_string_equal(md_dns_ip_from_reverse_name(p, md_dns_ip_reverse_name(p, "::1")),
                        "::1");
    assert_null(md_dns_ip_from_reverse_name(p, "a.test"));
    assert_null(md_dns_ip_from_reverse_name(p, "in-addr.arpa"));
    assert_null(md_dns_ip_from_reverse_name(p, "2.0.192.in-addr.arpa"));
    assert_null(md_dns_ip_from_reverse_name(p, "1.7.2.0.192.in-addr.arpa"));
    assert_null(md_dns_ip_from_reverse_name(p, "256.2.0.192.in-addr.arpa"));
    assert_null(md_dns_ip_from_reverse_name(p, "x.2.0.192.in-addr.arpa"));
    assert_null(md_dns_ip_from_reverse_name(p, "g.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0."
                                               "0.0.0.0.1.2.3.4.ip6.arpa"));
    assert_null(md_dns_ip_from_reverse_name(p, "a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0."
                                               "0.0.0.0.1.2.3.4.ip6.arpa"));
    assert_null(md_dns_ip_from_reverse_name(p, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_valid),
        UNIT_TEST(test_invalid),
        UNIT_TEST(test_wildcard),
        UNIT_TEST(test_matches),
        UNIT_TEST(test_ip_reverse_names),
    };
    return UNIT_RUN(tests);
}
