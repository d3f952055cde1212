/* Unit tests: MD defaults, copies, comparisons and md.json (md_md.c). */
#include <string.h>

#include "unit.h"
#include <apr_strings.h>
#include "md.h"
#include "md_json.h"
#include "md_util.h"

/* Written by the stock mod_md (keys in its order). */
static const char *stock_json =
    "{\"name\": \"a.test\", \"domains\": [\"a.test\",\"b.test\"],"
    " \"contacts\": [\"mailto:admin@example.org\"], \"transitive\": 1,"
    " \"ca\": {\"account\": \"ACME-127.0.0.1-0000\", \"proto\": \"ACME\","
    " \"url\": \"https://127.0.0.1:14000/dir\", \"urls\": [\"https://127.0.0.1:14000/dir\"],"
    " \"agreement\": \"accepted\"}, \"state\": 2,"
    " \"state-descr\": \"certificate(rsa) is missing\", \"renew-mode\": 1,"
    " \"renew-window\": \"33%\", \"warn-window\": \"10%\", \"must-staple\": false,"
    " \"proto\": {\"acme-tls/1\": []}, \"stapling\": false, \"profile-mandatory\": false,"
    " \"ari-renewals\": true}";

static json_t *parse(apr_pool_t *p, const char *s)
{
    json_t *j = NULL;
    assert_int_equal(md_json_parse(&j, s, strlen(s), "test", NULL, p), APR_SUCCESS);
    return j;
}

static apr_array_header_t *strs(apr_pool_t *p, const char *a, const char *b)
{
    apr_array_header_t *arr = apr_array_make(p, 2, sizeof(const char *));
    if (a) APR_ARRAY_PUSH(arr, const char *) = a;
    if (b) APR_ARRAY_PUSH(arr, const char *) = b;
    return arr;
}

static md_pkey_spec_t *spec(apr_pool_t *p, md_pkey_type_t type, unsigned bits,
                            const char *curve)
{
    md_pkey_spec_t *s = apr_pcalloc(p, sizeof(*s));
    s->type = type;
    s->bits = bits;
    s->curve = curve;
    return s;
}

static void test_defaults(void **state)
{
    apr_pool_t *p = *state;
    md_t *md = md_create_empty(p);
    const apr_array_header_t *specs;
    const md_pkey_spec_t *s;

    assert_int_equal(md->renew_mode, MD_RENEW_AUTO);
    assert_true(md->renew_window.is_percent);
    assert_int_equal(md->renew_window.percent, 33);
    assert_true(md->warn_window.is_percent);
    assert_int_equal(md->warn_window.percent, 10);
    assert_int_equal(md->transitive, 1);
    assert_string_equal(md->ca_proto, "ACME");
    assert_int_equal(md->require_https, MD_REQUIRE_UNSET);
    assert_int_equal(md->state, MD_S_UNKNOWN);
    assert_true(md->ari_renewals);
    assert_null(md->profile);
    assert_null(md->ca_eab_kid);
    assert_non_null(md->domains);
    assert_int_equal(md->domains->nelts, 0);

    specs = md_pkey_specs(md, p);
    assert_int_equal(specs->nelts, 1);
    s = MD_ARR_IDX(specs, 0, const md_pkey_spec_t *);
    assert_int_equal(s->type, MD_PKEY_TYPE_RSA);
    assert_int_equal(s->bits, 2048);
}

/* What the stock module writes: top-level "eab" with kid and MAC key;
 * what our first releases wrote: "pkey" and "ca"."eab". Both are read. */
static void test_reads_stock_eab_and_old_members(void **state)
{
    apr_pool_t *p = *state;
    md_t *md = NULL;
    json_t *j;

    j = md_json_pool_own(p, json_pack("{s:s, s:[s], s:{s:s, s:s}, s:s}", "name", "e.test",
                                      "domains", "e.test", "eab", "kid", "kid-7", "hmac",
                                      "c2VjcmV0", "ca-certs", "/etc/ca.pem"));
    assert_int_equal(md_from_json(&md, j, "t", p), APR_SUCCESS);
    assert_string_equal(md->ca_eab_kid, "kid-7");
    assert_string_equal(md->ca_eab_hmac, "c2VjcmV0");
    assert_string_equal(md->ca_certs, "/etc/ca.pem");
    /* written back: the kid where the stock module has it, not the key */
    j = md_to_json(md, p);
    assert_string_equal(md_json_get_str(md_json_get_obj(j, "eab"), "kid"), "kid-7");
    assert_null(md_json_get_str(md_json_get_obj(j, "eab"), "hmac"));

    j = md_json_pool_own(p, json_pack("{s:s, s:[s], s:{s:{s:s}}, s:{s:s, s:s}}", "name",
                                      "o.test", "domains", "o.test", "ca", "eab", "kid",
                                      "kid-8", "pkey", "type", "EC", "curve", "secp384r1"));
    assert_int_equal(md_from_json(&md, j, "t", p), APR_SUCCESS);
    assert_string_equal(md->ca_eab_kid, "kid-8");
    assert_int_equal(md->pkey_specs->nelts, 1);
    assert_string_equal(MD_ARR_IDX(md->pkey_specs, 0, md_pkey_spec_t *)->curve, "secp384r1");
    j = md_to_json(md, p);
    assert_non_null(json_object_get(j, "privkey"));
    assert_null(json_object_get(j, "pkey"));
    /* "none" is no binding */
    j = md_json_pool_own(p, json_pack("{s:s, s:[s], s:{s:s}}", "name", "n.test", "domains",
                                      "n.test", "eab", "kid", "none"));
    assert_int_equal(md_from_json(&md, j, "t", p), APR_SUCCESS);
    assert_null(md->ca_eab_kid);
}

static void test_stock_round_trip(void **state)
{
    apr_pool_t *p = *state;
    json_t *in = parse(p, stock_json);
    json_t *out;
    md_t *md;

    assert_int_equal(md_from_json(&md, in, "md.json", p), APR_SUCCESS);
    assert_string_equal(md->name, "a.test");
    assert_int_equal(md->domains->nelts, 2);
    assert_string_equal(MD_ARR_IDX(md->domains, 1, const char *), "b.test");
    assert_string_equal(MD_ARR_IDX(md->contacts, 0, const char *), "mailto:admin@example.org");
    assert_string_equal(md->ca_account, "ACME-127.0.0.1-0000");
    assert_string_equal(md->ca_effective, "https://127.0.0.1:14000/dir");
    assert_string_equal(md->ca_agreement, "accepted");
    assert_int_equal(md->ca_urls->nelts, 1);
    assert_int_equal(md->state, MD_S_COMPLETE);
    assert_string_equal(md->state_descr, "certificate(rsa) is missing");
    assert_int_equal(md->renew_mode, MD_RENEW_AUTO);
    assert_int_equal(md->renew_window.percent, 33);
    assert_int_equal(md->warn_window.percent, 10);
    assert_false(md->must_staple);
    assert_false(md->stapling);
    assert_int_equal(md->require_https, MD_REQUIRE_UNSET);
    assert_null(md->pkey_specs);

    out = md_to_json(md, p);
    assert_true(json_equal(in, out));
    /* and the same key order as the stock module */
    assert_string_equal(md_json_dump(out, 0, p), md_json_dump(in, 0, p));
}

/* Written by the stock mod_md for an MD with MDCertificateFile. */
static const char *stock_static_json =
    "{\"name\": \"st.test\", \"domains\": [\"st.test\"],"
    " \"contacts\": [\"mailto:admin@example.org\"], \"transitive\": 1,"
    " \"ca\": {\"proto\": \"ACME\", \"urls\": [\"https://127.0.0.1:14000/dir\"],"
    " \"agreement\": \"accepted\"}, \"state\": 2, \"renew-mode\": 0,"
    " \"renew-window\": \"33%\", \"warn-window\": \"10%\", \"must-staple\": false,"
    " \"proto\": {\"acme-tls/1\": []}, \"cert-files\": [\"/etc/x/cert.pem\"],"
    " \"pkey-files\": [\"/etc/x/key.pem\"], \"stapling\": false,"
    " \"profile-mandatory\": false, \"ari-renewals\": true}";

static void test_static_files_round_trip(void **state)
{
    apr_pool_t *p = *state;
    json_t *in = parse(p, stock_static_json);
    json_t *out;
    md_t *md;
    md_t *copy;

    assert_int_equal(md_from_json(&md, in, "md.json", p), APR_SUCCESS);
    assert_int_equal(md->cert_files->nelts, 1);
    assert_string_equal(MD_ARR_IDX(md->cert_files, 0, const char *), "/etc/x/cert.pem");
    assert_string_equal(MD_ARR_IDX(md->pkey_files, 0, const char *), "/etc/x/key.pem");
    copy = md_clone(p, md);
    assert_ptr_not_equal(copy->cert_files, md->cert_files);
    assert_string_equal(MD_ARR_IDX(copy->pkey_files, 0, const char *), "/etc/x/key.pem");
    out = md_to_json(copy, p);
    assert_string_equal(md_json_dump(out, 0, p), md_json_dump(in, 0, p));
    /* an MD without files writes neither member */
    assert_null(json_object_get(md_to_json(md_create_empty(p), p),
                                "cert-files"));
}

static void test_full_round_trip(void **state)
{
    apr_pool_t *p = *state;
    md_t *md = md_create_empty(p);
    md_t *back;
    json_t *j;
    json_t *j2;
    const char *err;

    md->name = "x.test";
    md->domains = strs(p, "x.test", "*.x.test");
    md->contacts = strs(p, "mailto:a@x.test", "mailto:b@x.test");
    md->transitive = 0;
    md->ca_urls = strs(p, "https://ca1/dir", "https://ca2/dir");
    md->ca_challenges = strs(p, "dns-01", NULL);
    md->renew_mode = MD_RENEW_ALWAYS;
    assert_int_equal(md_timeslice_parse(&md->renew_window, "30d", &err, p), APR_SUCCESS);
    assert_int_equal(md_timeslice_parse(&md->warn_window, "12h", &err, p), APR_SUCCESS);
    md->must_staple = 1;
    md->stapling = 1;
    md->require_https = MD_REQUIRE_PERMANENT;
    md->state = MD_S_INCOMPLETE;
    md->pkey_specs = apr_array_make(p, 2, sizeof(md_pkey_spec_t *));
    APR_ARRAY_PUSH(md->pkey_specs, md_pkey_spec_t *) = spec(p, MD_PKEY_TYPE_EC, 0, "secp384r1");
    APR_ARRAY_PUSH(md->pkey_specs, md_pkey_spec_t *) = spec(p, MD_PKEY_TYPE_RSA, 3072, NULL);
    md->ca_eab_kid = "kid-1";
    md->ca_eab_hmac = "c2VjcmV0LW1hYy1rZXk";
    md->ca_eab_alg = "HS384";
    md->profile = "shortlived";
    md->profile_mandatory = 1;
    md->ari_renewals = 0;
    md->http_proxy = "http://proxy.test:3128";

    md->http_proxy_ca_file = "/etc/proxy-ca.pem";
    md->ca_certs = "/etc/ca.pem";

    j = md_to_json(md, p);
    /* the binding's key id only, where the stock module has it: the MAC key
     * is no md.json business */
    assert_string_equal(md_json_get_str(md_json_get_obj(j, "eab"), "kid"), "kid-1");
    assert_null(md_json_get_obj(md_json_get_obj(j, "ca"), "eab"));
    assert_string_equal(md_json_get_str(j, "proxy-ca-certs"), "/etc/proxy-ca.pem");
    assert_string_equal(md_json_get_str(j, "ca-certs"), "/etc/ca.pem");
    assert_null(strstr(md_json_dump(j, 0, p), "c2VjcmV0LW1hYy1rZXk"));
    assert_string_equal(md_json_get_str(j, "profile"), "shortlived");
    assert_true(json_is_true(json_object_get(j, "profile-mandatory")));
    assert_true(json_is_false(json_object_get(j, "ari-renewals")));
    assert_string_equal(md_json_get_str(j, "proxy-url"), "http://proxy.test:3128");
    assert_true(json_is_array(json_object_get(j, "privkey")));
    assert_null(json_object_get(j, "pkey"));
    assert_string_equal(md_json_get_str(j, "require-https"), "permanent");
    assert_string_equal(md_json_get_str(j, "renew-window"), "30d");
    assert_string_equal(md_json_get_str(j, "warn-window"), "12h");
    assert_null(json_object_get(j, "state-descr"));
    assert_null(json_object_get(md_json_get_obj(j, "ca"), "account"));
    assert_null(json_object_get(md_json_get_obj(j, "ca"), "url"));

    assert_int_equal(md_from_json(&back, j, "t", p), APR_SUCCESS);
    assert_false(md_cert_relevant_changed(md, back));
    assert_int_equal(back->transitive, 0);
    assert_int_equal(back->renew_mode, MD_RENEW_ALWAYS);
    assert_int_equal(back->require_https, MD_REQUIRE_PERMANENT);
    assert_int_equal(back->pkey_specs->nelts, 2);
    assert_int_equal(back->ca_challenges->nelts, 1);
    assert_string_equal(back->ca_eab_kid, "kid-1");
    assert_null(back->ca_eab_hmac);
    assert_string_equal(back->profile, "shortlived");
    assert_true(back->profile_mandatory);
    assert_false(back->ari_renewals);
    assert_string_equal(back->http_proxy, "http://proxy.test:3128");
    assert_string_equal(back->http_proxy_ca_file, "/etc/proxy-ca.pem");
    assert_string_equal(back->ca_certs, "/etc/ca.pem");
    j2 = md_to_json(back, p);
    assert_true(json_equal(j, j2));

    /* one spec is written as an object */
    apr_array_pop(md->pkey_specs);
    j = md_to_json(md, p);
    assert_true(json_is_object(json_object_get(j, "privkey")));
    assert_int_equal(md_from_json(&back, j, "t", p), APR_SUCCESS);
    assert_int_equal(back->pkey_specs->nelts, 1);
    assert_int_equal(MD_ARR_IDX(back->pkey_specs, 0, md_pkey_spec_t *)->type, MD_PKEY_TYPE_EC);
}

static void test_from_json_defaults(void **state)
{
    apr_pool_t *p = *state;
    md_t *md;

    /* only the required members; unknown members do no harm */
    assert_int_equal(md_from_json(&md, parse(p, "{\"name\": \"a.test\", \"domains\":"
                                             " [\"A.test\", \"a.TEST\", \"b.test\"],"
                                             " \"future\": {\"x\": 1},"
                                             " \"renew-window\": \"bogus\","
                                             " \"ca\": {\"url\": \"https://ca/dir\"}}"),
                                  "t", p), APR_SUCCESS);
    assert_int_equal(md->domains->nelts, 2);
    assert_string_equal(MD_ARR_IDX(md->domains, 0, const char *), "a.test");
    assert_int_equal(md->renew_window.percent, 33);
    assert_int_equal(md->transitive, 1);
    assert_int_equal(md->renew_mode, MD_RENEW_AUTO);
    assert_string_equal(md->ca_proto, "ACME");
    assert_int_equal(md->contacts->nelts, 0);
    /* older stores: the one url becomes the url list */
    assert_int_equal(md->ca_urls->nelts, 1);
    assert_string_equal(MD_ARR_IDX(md->ca_urls, 0, const char *), "https://ca/dir");
}

static void test_from_json_bad(void **state)
{
    apr_pool_t *p = *state;
    static const char *const bad[] = {
        "{}",
        "{\"domains\": [\"a.test\"]}",
        "{\"name\": 5, \"domains\": [\"a.test\"]}",
        "{\"name\": \"a.test\"}",
        "{\"name\": \"a.test\", \"domains\": \"a.test\"}",
        "{\"name\": \"a.test\", \"domains\": [\"a.test\", 7]}",
        "{\"name\": \"../etc\", \"domains\": [\"a.test\"]}",
        "{\"name\": \"a/b\", \"domains\": [\"a.test\"]}",
        "{\"name\": \"\", \"domains\": [\"a.test\"]}",
        "{\"name\": \"a.test\", \"domains\": [\"a.test\"], \"pkey\": \"RSA\"}",
        "{\"name\": \"a.test\", \"domains\": [\"a.test\"], \"pkey\": {\"type\": \"DSA\"}}",
        "[]",
    };
    md_t *md;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        md = (md_t *)1;
        if (md_from_json(&md, parse(p, bad[i]), "t", p) != APR_EINVAL) {
            fail_msg("accepted %s", bad[i]);
        }
        assert_null(md);
    }
    assert_int_equal(md_from_json(&md, NULL, "t", p), APR_EINVAL);
}

static void test_clone_contains(void **state)
{
    apr_pool_t *p = *state;
    apr_pool_t *p2;
    md_t *md = md_create_empty(p);
    md_t *other = md_create_empty(p);
    md_t *copy;

    md->name = "a.test";
    md->domains = strs(p, "a.test", "*.a.test");
    md->ca_urls = strs(p, "https://ca/dir", NULL);
    md->pkey_specs = apr_array_make(p, 1, sizeof(md_pkey_spec_t *));
    APR_ARRAY_PUSH(md->pkey_specs, md_pkey_spec_t *) = spec(p, MD_PKEY_TYPE_EC, 0, "P-256");
    md->state_descr = "why";

    assert_int_equal(apr_pool_create(&p2, p), APR_SUCCESS);
    copy = md_clone(p2, md);
    assert_ptr_not_equal(copy->name, md->name);
    assert_string_equal(copy->name, "a.test");
    assert_ptr_not_equal(copy->domains, md->domains);
    assert_true(md_array_str_eq(copy->domains, md->domains, 1));
    assert_ptr_not_equal(MD_ARR_IDX(copy->pkey_specs, 0, md_pkey_spec_t *),
                         MD_ARR_IDX(md->pkey_specs, 0, md_pkey_spec_t *));
    assert_string_equal(MD_ARR_IDX(copy->pkey_specs, 0, md_pkey_spec_t *)->curve, "P-256");
    assert_string_equal(copy->state_descr, "why");
    assert_false(md_cert_relevant_changed(md, copy));
    assert_null(md_clone(p2, NULL));

    assert_true(md_contains(md, "A.TEST"));
    assert_true(md_contains(md, "www.a.test"));
    assert_false(md_contains(md, "x.www.a.test"));
    assert_false(md_contains(md, "b.test"));

    other->domains = strs(p, "b.test", "A.test");
    assert_string_equal(md_common_name(md, other), "a.test");
    other->domains = strs(p, "b.test", "www.a.test");
    assert_null(md_common_name(md, other));
    apr_pool_destroy(p2);
}

static void test_relevant_changed(void **state)
{
    apr_pool_t *p = *state;
    md_t *a = md_create_empty(p);
    md_t *b;

    a->name = "a.test";
    a->domains = strs(p, "a.test", "b.test");
    a->ca_urls = strs(p, "https://ca/dir", NULL);
    b = md_clone(p, a);
    assert_false(md_cert_relevant_changed(a, b));

    /* order and case of names do not matter */
    b->domains = strs(p, "B.test", "a.test");
    assert_false(md_cert_relevant_changed(a, b));
    b->domains = strs(p, "a.test", NULL);
    assert_true(md_cert_relevant_changed(a, b));
    b->domains = strs(p, "a.test", "c.test");
    assert_true(md_cert_relevant_changed(a, b));

    b = md_clone(p, a);
    b->must_staple = 1;
    assert_true(md_cert_relevant_changed(a, b));

    b = md_clone(p, a);
    b->ca_urls = strs(p, "https://other/dir", NULL);
    assert_true(md_cert_relevant_changed(a, b));

    /* things the certificate does not depend on */
    b = md_clone(p, a);
    b->contacts = strs(p, "mailto:x@a.test", NULL);
    b->renew_mode = MD_RENEW_MANUAL;
    b->state = MD_S_ERROR;
    assert_false(md_cert_relevant_changed(a, b));

    /* no specs, empty specs and RSA 2048 are all the default */
    b = md_clone(p, a);
    b->pkey_specs = apr_array_make(p, 1, sizeof(md_pkey_spec_t *));
    assert_false(md_cert_relevant_changed(a, b));
    APR_ARRAY_PUSH(b->pkey_specs, md_pkey_spec_t *) = spec(p, MD_PKEY_TYPE_RSA, 2048, NULL);
    assert_false(md_cert_relevant_changed(a, b));
    MD_ARR_IDX(b->pkey_specs, 0, md_pkey_spec_t *)->bits = 4096;
    assert_true(md_cert_relevant_changed(a, b));
    MD_ARR_IDX(b->pkey_specs, 0, md_pkey_spec_t *)->bits = 2048;
    APR_ARRAY_PUSH(b->pkey_specs, md_pkey_spec_t *) = spec(p, MD_PKEY_TYPE_EC, 0, "secp256r1");
    assert_true(md_cert_relevant_changed(a, b));

    assert_true(md_cert_relevant_changed(a, NULL));
    assert_false(md_cert_relevant_changed(NULL, NULL));
}

static md_t *md_named(apr_pool_t *p, const char *a, const char *b)
{
    md_t *md = md_create_empty(p);
    md->domains = strs(p, a, b);
    md->name = a;
    return md;
}

static void test_name_index_wildcards(void **state)
{
    apr_pool_t *p = *state;
    md_name_index_t *ix = md_name_index_make(p);
    md_t *wild = md_named(p, "*.a.test", NULL);
    md_t *plain = md_named(p, "b.test", "www.b.test");
    md_t *ip = md_named(p, "::1", "127.0.0.1");

    assert_null(md_name_index_add(ix, wild, NULL));
    assert_null(md_name_index_add(ix, plain, NULL));
    assert_null(md_name_index_add(ix, ip, NULL));
    /* one label under the wildcard, any case */
    assert_ptr_equal(md_name_index_find(ix, "www.a.test", p), wild);
    assert_ptr_equal(md_name_index_find(ix, "WWW.A.Test", p), wild);
    assert_ptr_equal(md_name_index_find(ix, "*.a.test", p), wild);
    assert_null(md_name_index_find(ix, "a.test", p));
    assert_null(md_name_index_find(ix, "x.www.a.test", p));
    assert_null(md_name_index_find(ix, "*.www.a.test", p));
    assert_ptr_equal(md_name_index_find(ix, "www.b.test", p), plain);
    assert_null(md_name_index_find(ix, "c.test", p));
    assert_null(md_name_index_find(ix, "", p));
    assert_null(md_name_index_find(ix, NULL, p));
    /* IPv6 in brackets as ServerAlias has it */
    assert_ptr_equal(md_name_index_find(ix, "[::1]", p), ip);
    assert_ptr_equal(md_name_index_find(ix, "127.0.0.1", p), ip);
    assert_null(md_name_index_find(ix, "1.0.0.1", p));
}

static void test_name_index_overlaps(void **state)
{
    apr_pool_t *p = *state;
    md_name_index_t *ix = md_name_index_make(p);
    md_t *a = md_named(p, "a.test", "www.a.test");
    md_t *wild = md_named(p, "*.a.test", NULL);
    md_t *dup = md_named(p, "c.test", "A.TEST");
    md_t *self = md_named(p, "*.s.test", "www.s.test");
    md_t *apex = md_named(p, "s.test", NULL);
    md_t *under = md_named(p, "x.s.test", NULL);
    const char *name = NULL;

    assert_null(md_name_index_add(ix, a, NULL));
    /* a wildcard over another MD's name */
    assert_ptr_equal(md_name_index_add(ix, wild, &name), a);
    assert_string_equal(name, "*.a.test");
    /* the same name, whatever the case */
    assert_ptr_equal(md_name_index_add(ix, dup, &name), a);
    assert_string_equal(name, "A.TEST");
    /* a wildcard and a name it covers in one MD are fine, so is the apex */
    assert_null(md_name_index_add(ix, self, NULL));
    assert_null(md_name_index_add(ix, apex, NULL));
    /* a name under another MD's wildcard */
    assert_ptr_equal(md_name_index_add(ix, under, &name), self);
    assert_string_equal(name, "x.s.test");
    /* adding names later: only the new ones count */
    APR_ARRAY_PUSH(a->domains, const char *) = "mail.a.test";
    assert_null(md_name_index_add(ix, a, NULL));
    assert_ptr_equal(md_name_index_find(ix, "mail.a.test", p), a);
    /* a wildcard first, then a plain name of another MD under it */
    ix = md_name_index_make(p);
    assert_null(md_name_index_add(ix, md_named(p, "*.w.test", NULL), NULL));
    assert_non_null(md_name_index_add(ix, md_named(p, "www.w.test", NULL), &name));
    assert_string_equal(name, "www.w.test");
}

static void test_name_index_match_host(void **state)
{
    apr_pool_t *p = *state;
    md_name_index_t *ix = md_name_index_make(p);
    md_t *a = md_named(p, "a.test", "ip.test");
    md_t *b = md_named(p, "*.b.test", NULL);
    md_t *c = md_named(p, "www.c.test", NULL);
    md_t *other = NULL;

    md_name_index_add(ix, a, NULL);
    md_name_index_add(ix, b, NULL);
    md_name_index_add(ix, c, NULL);
    /* the server name, also through a wildcard, in both modes */
    assert_ptr_equal(md_name_index_match_host(ix, "www.b.test", NULL, NULL, MD_MATCH_ALL,
                                              &other, p), b);
    assert_null(other);
    assert_ptr_equal(md_name_index_match_host(ix, "www.b.test", NULL, NULL,
                                              MD_MATCH_SERVERNAMES, &other, p), b);
    /* an alias matches with "all", not with "servernames" */
    assert_ptr_equal(md_name_index_match_host(ix, "x.test", strs(p, "A.test", NULL), NULL,
                                              MD_MATCH_ALL, &other, p), a);
    assert_null(md_name_index_match_host(ix, "x.test", strs(p, "a.test", NULL), NULL,
                                         MD_MATCH_SERVERNAMES, &other, p));
    /* as the stock module: an alias does not match through a wildcard MD name */
    assert_null(md_name_index_match_host(ix, "x.test", strs(p, "www.b.test", NULL), NULL,
                                         MD_MATCH_ALL, &other, p));
    /* a wildcard alias matches the MD names it covers */
    assert_ptr_equal(md_name_index_match_host(ix, "x.test", NULL, strs(p, "*.C.test", NULL),
                                              MD_MATCH_ALL, &other, p), c);
    assert_null(md_name_index_match_host(ix, "x.test", NULL, strs(p, "*.c.test", NULL),
                                         MD_MATCH_SERVERNAMES, &other, p));
    /* names in two MDs */
    assert_ptr_equal(md_name_index_match_host(ix, "a.test", strs(p, "www.c.test", NULL), NULL,
                                              MD_MATCH_ALL, &other, p), a);
    assert_ptr_equal(other, c);
    assert_ptr_equal(md_name_index_match_host(ix, "www.b.test", NULL, strs(p, "a.tes?", NULL),
                                              MD_MATCH_ALL, &other, p), b);
    assert_ptr_equal(other, a);
    assert_ptr_equal(md_name_index_match_host(ix, "a.test", strs(p, "www.c.test", NULL), NULL,
                                              MD_MATCH_SERVERNAMES, &other, p), a);
    assert_null(other);
    /* no server name (the base server may have none) */
    assert_ptr_equal(md_name_index_match_host(ix, NULL, strs(p, "q.test", "ip.TEST"), NULL,
                                              MD_MATCH_ALL, &other, p), a);
    assert_null(md_name_index_match_host(ix, NULL, NULL, NULL, MD_MATCH_ALL, &other, p));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_defaults),
        UNIT_TEST(test_stock_round_trip),
        UNIT_TEST(test_reads_stock_eab_and_old_members),
        UNIT_TEST(test_full_round_trip),
        UNIT_TEST(test_static_files_round_trip),
        UNIT_TEST(test_from_json_defaults),
        UNIT_TEST(test_from_json_bad),
        UNIT_TEST(test_clone_contains),
        UNIT_TEST(test_relevant_changed),
        UNIT_TEST(test_name_index_wildcards),
        UNIT_TEST(test_name_index_overlaps),
        UNIT_TEST(test_name_index_match_host),
    };
    return UNIT_RUN(tests);
}
