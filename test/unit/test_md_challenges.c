/* Unit tests of md_challenges.c: which challenge types an MD uses. */
#include "unit.h"

#include <string.h>

#include <apr_strings.h>

#include "md.h"
#include "md_challenges.h"
#include "md_util.h"

static apr_array_header_t *strs(apr_pool_t *p, const char *const *list)
{
    apr_array_header_t *a = apr_array_make(p, 3, sizeof(const char *));

    while (*list) {
        APR_ARRAY_PUSH(a, const char *) = *list++;
    }
    return a;
}

static md_t *md_make(apr_pool_t *p, const char *const *names)
{
    md_t *md = md_create_empty(p);

    md->domains = strs(p, names);
    md->name = names[0];
    return md;
}

/* The selected types joined by spaces, or "ERR: <why>". */
static const char *select_str(const md_t *md, int http, int https, apr_pool_t *p)
{
    apr_array_header_t *types = NULL;
    const char *why = NULL;

    if (md_challenges_select(&types, md, http, https, &why, p) != APR_SUCCESS) {
        assert_null(types);
        assert_non_null(why);
        return apr_pstrcat(p, "ERR: ", why, NULL);
    }
    assert_null(why);
    return md_array_str_join(types, " ", p);
}

static void test_automatic_choice(void **state)
{
    apr_pool_t *p = *state;
    md_t *md = md_make(p, (const char *const[]){ "a.test", NULL });

    assert_string_equal(select_str(md, 1, 1, p), "http-01");
    /* tls-alpn-01 needs 443 served and acme-tls/1 on a vhost */
    md->acme_tls_1_domains = strs(p, (const char *const[]){ "a.test", NULL });
    assert_string_equal(select_str(md, 1, 1, p), "http-01 tls-alpn-01");
    assert_string_equal(select_str(md, 0, 1, p), "tls-alpn-01");
    assert_string_equal(select_str(md, 1, 0, p), "http-01");
    md->dns01_cmd = strs(p, (const char *const[]){ "/bin/dns", NULL });
    assert_string_equal(select_str(md, 0, 0, p), "dns-01");
    assert_string_equal(select_str(md, 1, 1, p), "http-01 tls-alpn-01 dns-01");
}

static void test_nothing_can_work(void **state)
{
    apr_pool_t *p = *state;
    md_t *md = md_make(p, (const char *const[]){ "a.test", NULL });
    const char *s;

    s = select_str(md, 0, 1, p);
    assert_non_null(strstr(s, "ERR: MDomain a.test: no ACME challenge type can work"));
    assert_non_null(strstr(s, "port the CA reaches as 80"));
    assert_non_null(strstr(s, "'acme-tls/1' in the Protocols"));
    assert_non_null(strstr(s, "MDChallengeDns01"));
    s = select_str(md, 0, 0, p);
    assert_non_null(strstr(s, "port the CA reaches as 443"));
}

static void test_configured_order(void **state)
{
    apr_pool_t *p = *state;
    md_t *md = md_make(p, (const char *const[]){ "a.test", NULL });

    md->ca_challenges = strs(p, (const char *const[]){ "tls-alpn-01", "http-01", NULL });
    md->acme_tls_1_domains = strs(p, (const char *const[]){ "a.test", NULL });
    /* the admin's order, even where the automatic choice would differ */
    assert_string_equal(select_str(md, 0, 1, p), "tls-alpn-01 http-01");
    /* what cannot work here is skipped, as the stock module does: tls-alpn-01
     * without acme-tls/1 in any host's Protocols, or without 443 */
    assert_string_equal(select_str(md, 0, 0, p), "http-01");
    md->acme_tls_1_domains = NULL;
    assert_string_equal(select_str(md, 0, 1, p), "http-01");
    md->ca_challenges = strs(p, (const char *const[]){ "tls-alpn-01", NULL });
    assert_non_null(strstr(select_str(md, 1, 1, p), "ERR: MDomain a.test: none of the types "
                                                    "in MDCAChallenges (tls-alpn-01)"));
    /* dns-01 without a program is dropped; alone it is an error */
    md->ca_challenges = strs(p, (const char *const[]){ "dns-01", "http-01", NULL });
    assert_string_equal(select_str(md, 1, 1, p), "http-01");
    md->ca_challenges = strs(p, (const char *const[]){ "dns-01", NULL });
    assert_non_null(strstr(select_str(md, 1, 1, p), "ERR: MDomain a.test: none of the types "
                                                    "in MDCAChallenges (dns-01)"));
    assert_non_null(strstr(select_str(md, 1, 1, p), "MDChallengeDns01"));
    md->dns01_cmd = strs(p, (const char *const[]){ "/bin/dns", NULL });
    assert_string_equal(select_str(md, 1, 1, p), "dns-01");
}

static void test_wildcards_need_dns01(void **state)
{
    apr_pool_t *p = *state;
    md_t *md = md_make(p, (const char *const[]){ "a.test", "*.a.test", NULL });
    apr_array_header_t *names;

    assert_true(md_challenges_has_wildcard(md));
    assert_non_null(strstr(select_str(md, 1, 1, p), "ERR: MDomain a.test has a wildcard name, "
                                                    "which only the dns-01 challenge can "
                                                    "validate, but no MDChallengeDns01"));
    md->dns01_cmd = strs(p, (const char *const[]){ "/bin/dns", NULL });
    /* http-01 still serves the base name; the wildcard's authorization
     * offers only dns-01 */
    assert_string_equal(select_str(md, 1, 0, p), "http-01 dns-01");
    md->ca_challenges = strs(p, (const char *const[]){ "http-01", NULL });
    assert_non_null(strstr(select_str(md, 1, 0, p), "MDCAChallenges does not allow dns-01"));

    names = md_challenges_authz_names(md, p);
    assert_string_equal(md_array_str_join(names, " ", p), "a.test");
    assert_false(md_challenges_has_wildcard(md_make(p, (const char *const[]){ "a.test",
                                                                              NULL })));
}

static const char *http01_domain(const char *host, const char *path, apr_pool_t *p)
{
    const char *domain = "unset";
    const char *token = "unset";
    apr_status_t rv = md_challenges_http01_request(&domain, &token, host, path, p);

    if (rv == APR_ENOENT) {
        assert_null(domain);
        return "ENOENT";
    }
    if (rv != APR_SUCCESS) {
        assert_null(domain);
        assert_null(token);
        return "EINVAL";
    }
    return apr_pstrcat(p, domain, " ", token, NULL);
}

static void test_http01_request(void **state)
{
    apr_pool_t *p = *state;
    char long_token[300];

    assert_string_equal(http01_domain("a.test", "/.well-known/acme-challenge/DGyRejmCef-_7", p),
                        "a.test DGyRejmCef-_7");
    assert_string_equal(http01_domain("WWW.A.Test", "/.well-known/acme-challenge/x", p),
                        "www.a.test x");
    assert_string_equal(http01_domain("localhost", "/.well-known/acme-challenge/x", p),
                        "localhost x");
    assert_string_equal(http01_domain("192.0.2.1", "/.well-known/acme-challenge/x", p),
                        "192.0.2.1 x");
    /* RFC 8738 §5: an IPv6 Host in brackets names the address. */
    assert_string_equal(http01_domain("[2001:DB8::1]", "/.well-known/acme-challenge/x", p),
                        "2001:db8::1 x");
    /* Not a challenge at all: the site's business. */
    assert_string_equal(http01_domain("a.test", "/index.html", p), "ENOENT");
    assert_string_equal(http01_domain("a.test", "/.well-known/acme-challengeX", p), "ENOENT");
    assert_string_equal(http01_domain("a.test", NULL, p), "ENOENT");
    /* Challenges that must never reach the store. */
    assert_string_equal(http01_domain("a.test", "/.well-known/acme-challenge/", p), "EINVAL");
    assert_string_equal(http01_domain("a.test", "/.well-known/acme-challenge/../x", p),
                        "EINVAL");
    assert_string_equal(http01_domain("a.test", "/.well-known/acme-challenge/a/b", p),
                        "EINVAL");
    assert_string_equal(http01_domain("a.test", "/.well-known/acme-challenge/a%2fb", p),
                        "EINVAL");
    assert_string_equal(http01_domain("..", "/.well-known/acme-challenge/x", p), "EINVAL");
    assert_string_equal(http01_domain("a/b", "/.well-known/acme-challenge/x", p), "EINVAL");
    assert_string_equal(http01_domain(NULL, "/.well-known/acme-challenge/x", p), "EINVAL");
    assert_string_equal(http01_domain("[::1", "/.well-known/acme-challenge/x", p), "EINVAL");
    assert_string_equal(http01_domain("[::1]x", "/.well-known/acme-challenge/x", p), "EINVAL");
    assert_string_equal(http01_domain("[a.test]", "/.well-known/acme-challenge/x", p),
                        "EINVAL");
    assert_string_equal(http01_domain("[192.0.2.1]", "/.well-known/acme-challenge/x", p),
                        "EINVAL");
    memset(long_token, 'a', sizeof(long_token) - 1);
    long_token[sizeof(long_token) - 1] = '\0';
    assert_string_equal(http01_domain("a.test", apr_pstrcat(p, MD_HTTP01_PATH_PREFIX,
                                                            long_token, NULL), p), "EINVAL");
    long_token[MD_HTTP01_TOKEN_MAX_LEN] = '\0';
    assert_string_not_equal(http01_domain("a.test", apr_pstrcat(p, MD_HTTP01_PATH_PREFIX,
                                                                long_token, NULL), p),
                            "EINVAL");
}

static void test_http01_answers(void **state)
{
    (void)state;
    assert_true(md_challenges_http01_answers("tok.thumb", "tok"));
    assert_false(md_challenges_http01_answers("tok.thumb", "to"));
    assert_false(md_challenges_http01_answers("tokX.thumb", "tok"));
    assert_false(md_challenges_http01_answers("tok", "tok"));
    assert_false(md_challenges_http01_answers(".thumb", ""));
    assert_false(md_challenges_http01_answers(NULL, "tok"));
    assert_false(md_challenges_http01_answers("tok.thumb", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_automatic_choice),
        UNIT_TEST(test_nothing_can_work),
        UNIT_TEST(test_configured_order),
        UNIT_TEST(test_wildcards_need_dns01),
        UNIT_TEST(test_http01_request),
        UNIT_TEST(test_http01_answers),
    };
    return UNIT_RUN(tests);
}
