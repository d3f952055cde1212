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

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_automatic_choice),
        UNIT_TEST(test_nothing_can_work),
        UNIT_TEST(test_configured_order),
        UNIT_TEST(test_wildcards_need_dns01),
    };
    return UNIT_RUN(tests);
}
