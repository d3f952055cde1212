/* Unit tests of md_acme_chal.c: the dns-01 value, the dns-01 program's
 * setup and teardown (a script written by the test logs its arguments),
 * the tls-alpn-01 files, and pre-checks that report where they failed. */
#include "unit.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <apr_strings.h>

#include "md_acme.h"
#include "md_acme_int.h"
#include "md_crypt.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_store.h"
#include "md_util.h"
#include "fixtures/fx.h"

/* base64url(SHA-256("tok.thumb")), computed with
 * printf tok.thumb | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' */
#define VECTOR_KEY_AUTHZ    "tok.thumb"
#define VECTOR_VALUE        "sYAwVrqDtVOuJZvAHurSAYPoEt5fFV_C4bdSOOW-o5Y"

/* A program that appends its arguments to dir/log and exits with rc. */
static const char *script_make(const char *dir, const char *name, int rc, apr_pool_t *p)
{
    const char *path = apr_pstrcat(p, dir, "/", name, NULL);
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fprintf(f, "#!/bin/sh\necho \"$*\" >> %s/log\n", dir);
    if (rc) {
        fprintf(f, "echo 'no such zone' >&2\n");
    }
    fprintf(f, "exit %d\n", rc);
    fclose(f);
    assert_int_equal(chmod(path, 0755), 0);
    return path;
}

static const char *log_read(const char *dir, apr_pool_t *p)
{
    char buf[4096];
    FILE *f = fopen(apr_pstrcat(p, dir, "/log", NULL), "r");
    size_t n;

    if (!f) {
        return "";
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return apr_pstrdup(p, buf);
}

static md_acme_chal_env_t *env_make(const char *dir, const char *prog, int version,
                                    apr_pool_t *p)
{
    md_acme_chal_env_t *env = apr_pcalloc(p, sizeof(*env));
    apr_array_header_t *cmd = apr_array_make(p, 2, sizeof(const char *));

    assert_int_equal(md_store_fs_open(&env->store, p, apr_pstrcat(p, dir, "/md", NULL)),
                     APR_SUCCESS);
    if (prog) {
        APR_ARRAY_PUSH(cmd, const char *) = prog;
        APR_ARRAY_PUSH(cmd, const char *) = "--zone=a b;c";   /* no shell sees this */
        env->dns01_cmd = cmd;
    }
    env->dns01_version = version;
    env->dns01_timeout = apr_time_from_sec(10);
    return env;
}

/* A loopback port where nothing listens. */
static int closed_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port;

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static void test_dns01_value(void **state)
{
    apr_pool_t *p = *state;
    const char *value = NULL;

    assert_int_equal(md_acme_dns01_value(&value, VECTOR_KEY_AUTHZ, p), APR_SUCCESS);
    assert_string_equal(value, VECTOR_VALUE);
    assert_int_equal(md_acme_dns01_value(&value, NULL, p), APR_EINVAL);
}

static void test_dns01_setup_teardown_v1(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = fx_tmpdir("test_md_acme_chal", p);
    md_acme_chal_env_t *env = env_make(dir, script_make(dir, "dns.sh", 0, p), 1, p);
    md_result_t *result = md_result_make(p, "x.test");
    json_t *values = NULL;

    assert_int_equal(md_acme_chal_dns01_setup(env, NULL, "x.test", "tok", VECTOR_KEY_AUTHZ,
                                              result, p), APR_SUCCESS);
    assert_string_equal(log_read(dir, p), "--zone=a b;c setup x.test " VECTOR_VALUE "\n");
    assert_int_equal(md_store_load_json(env->store, MD_SG_CHALLENGES, "x.test", MD_FN_DNS01,
                                        &values, p), APR_SUCCESS);
    assert_int_equal(json_array_size(values), 1);

    /* a second value for the same name (a wildcard and its base name) */
    assert_int_equal(md_acme_chal_dns01_setup(env, NULL, "x.test", "tok2", "tok2.thumb",
                                              result, p), APR_SUCCESS);
    /* version 1: one teardown with the domain only, then nothing is left */
    assert_int_equal(md_acme_chal_dns01_teardown(env, NULL, "x.test", result, p), APR_SUCCESS);
    assert_true(strstr(log_read(dir, p), "\n--zone=a b;c teardown x.test\n") != NULL);
    assert_false(md_store_exists(env->store, MD_SG_CHALLENGES, "x.test", MD_FN_DNS01, p));
    /* nothing to tear down: the program is not run */
    assert_int_equal(md_acme_chal_dns01_teardown(env, NULL, "x.test", result, p), APR_SUCCESS);
    assert_int_equal(strlen(log_read(dir, p)) > 0, 1);
    assert_null(strstr(strstr(log_read(dir, p), "teardown") + 1, "teardown"));
}

static void test_dns01_teardown_v2_gets_values(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = fx_tmpdir("test_md_acme_chal", p);
    md_acme_chal_env_t *env = env_make(dir, script_make(dir, "dns.sh", 0, p), 2, p);
    md_result_t *result = md_result_make(p, "x.test");
    const char *v2 = NULL;

    assert_int_equal(md_acme_dns01_value(&v2, "tok2.thumb", p), APR_SUCCESS);
    assert_int_equal(md_acme_chal_dns01_setup(env, NULL, "x.test", "tok", VECTOR_KEY_AUTHZ,
                                              result, p), APR_SUCCESS);
    assert_int_equal(md_acme_chal_dns01_setup(env, NULL, "x.test", "tok2", "tok2.thumb",
                                              result, p), APR_SUCCESS);
    assert_int_equal(md_acme_chal_dns01_teardown(env, NULL, "x.test", result, p), APR_SUCCESS);
    assert_non_null(strstr(log_read(dir, p), "teardown x.test " VECTOR_VALUE "\n"));
    assert_non_null(strstr(log_read(dir, p), apr_pstrcat(p, "teardown x.test ", v2, "\n",
                                                          NULL)));
}

static void test_dns01_failing_program(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = fx_tmpdir("test_md_acme_chal", p);
    const char *prog = script_make(dir, "bad.sh", 3, p);
    md_acme_chal_env_t *env = env_make(dir, prog, 1, p);
    md_result_t *result = md_result_make(p, "x.test");
    apr_status_t rv;

    rv = md_acme_chal_dns01_setup(env, NULL, "x.test", "tok", VECTOR_KEY_AUTHZ, result, p);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_int_equal(result->status, rv);
    assert_non_null(strstr(result->detail, prog));
    assert_non_null(strstr(result->detail, "exit code 3"));
    assert_non_null(strstr(result->detail, "no such zone"));
    /* teardown still runs for what setup tried */
    md_acme_chal_dns01_teardown(env, NULL, "x.test", result, p);
    assert_non_null(strstr(log_read(dir, p), "teardown x.test"));

    /* no program configured */
    env = env_make(dir, NULL, 1, p);
    assert_int_equal(md_acme_chal_dns01_setup(env, NULL, "y.test", "tok", VECTOR_KEY_AUTHZ,
                                              result, p), APR_EINVAL);
    assert_non_null(strstr(result->detail, "MDChallengeDns01"));
}

static void test_tlsalpn01_files(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = fx_tmpdir("test_md_acme_chal", p);
    md_acme_chal_env_t *env = env_make(dir, NULL, 1, p);
    md_result_t *result = md_result_make(p, "x.test");
    apr_array_header_t *certs = NULL;
    const unsigned char *got;
    const unsigned char *want;
    md_pkey_t *pkey = NULL;
    md_cert_t *cert;
    int critical = 0;

    md_pkey_spec_t rsa = { MD_PKEY_TYPE_RSA, 2048, NULL };
    md_pkey_spec_t p384 = { MD_PKEY_TYPE_EC, 0, "P-384" };
    md_pkey_spec_t p256 = { MD_PKEY_TYPE_EC, 0, "secp256r1" };
    apr_array_header_t *specs = apr_array_make(p, 3, sizeof(md_pkey_spec_t *));
    const char *kname, *cname;

    /* no check port: setup only writes the files; without the MD's key
     * types one EC P-256 certificate, named as the stock module does */
    assert_int_equal(md_acme_chal_tlsalpn01_setup(env, NULL, "x.test", "tok", VECTOR_KEY_AUTHZ,
                                                  result, p), APR_SUCCESS);
    assert_true(md_store_exists(env->store, MD_SG_CHALLENGES, "x.test",
                                "acme-tls-alpn-01-pubcert.p-256.pem", p));
    assert_int_equal(md_acme_chal_tlsalpn01_teardown(env, NULL, "x.test", result, p),
                     APR_SUCCESS);
    assert_false(md_store_exists(env->store, MD_SG_CHALLENGES, "x.test",
                                 "acme-tls-alpn-01-pubcert.p-256.pem", p));

    /* one per key type of the MD (the first spec of a type) */
    APR_ARRAY_PUSH(specs, md_pkey_spec_t *) = &p384;
    APR_ARRAY_PUSH(specs, md_pkey_spec_t *) = &rsa;
    APR_ARRAY_PUSH(specs, md_pkey_spec_t *) = &p256;
    env->pkey_specs = specs;
    assert_int_equal(md_acme_chal_tlsalpn01_setup(env, NULL, "x.test", "tok", VECTOR_KEY_AUTHZ,
                                                  result, p), APR_SUCCESS);
    md_acme_tlsalpn01_fnames(&kname, &cname, &p384, p);
    assert_string_equal(cname, "acme-tls-alpn-01-pubcert.p-384.pem");
    assert_string_equal(kname, "acme-tls-alpn-01-privkey.p-384.pem");
    assert_int_equal(md_store_load_pkey(env->store, MD_SG_CHALLENGES, "x.test", kname, &pkey,
                                        p), APR_SUCCESS);
    assert_int_equal(md_pkey_type(pkey), MD_PKEY_TYPE_EC);
    assert_false(md_store_exists(env->store, MD_SG_CHALLENGES, "x.test",
                                 "acme-tls-alpn-01-pubcert.secp256r1.pem", p));
    assert_int_equal(md_store_load_certs(env->store, MD_SG_CHALLENGES, "x.test",
                                         MD_FN_TLSALPN01_CERT, &certs, p), APR_SUCCESS);
    assert_int_equal(md_store_load_pkey(env->store, MD_SG_CHALLENGES, "x.test",
                                        MD_FN_TLSALPN01_PKEY, &pkey, p), APR_SUCCESS);
    assert_int_equal(md_pkey_type(pkey), MD_PKEY_TYPE_RSA);
    cert = APR_ARRAY_IDX(certs, 0, md_cert_t *);
    assert_true(md_cert_matches_key(cert, pkey));
    assert_int_equal(md_cert_get_acme_identifier(&got, &critical, cert, p), APR_SUCCESS);
    assert_int_equal(md_crypt_sha256(&want, VECTOR_KEY_AUTHZ, strlen(VECTOR_KEY_AUTHZ), p),
                     APR_SUCCESS);
    assert_memory_equal(got, want, 32);
    assert_int_equal(md_acme_chal_tlsalpn01_teardown(env, NULL, "x.test", result, p),
                     APR_SUCCESS);
    assert_false(md_store_exists(env->store, MD_SG_CHALLENGES, "x.test", MD_FN_TLSALPN01_CERT,
                                 p));
    assert_false(md_store_exists(env->store, MD_SG_CHALLENGES, "x.test", MD_FN_TLSALPN01_PKEY,
                                 p));
    assert_false(md_store_exists(env->store, MD_SG_CHALLENGES, "x.test", cname, p));
    assert_false(md_store_exists(env->store, MD_SG_CHALLENGES, "x.test", kname, p));

    /* a name whose hosts do not offer acme-tls/1: not applicable */
    {
        apr_array_header_t *others = apr_array_make(p, 1, sizeof(const char *));

        APR_ARRAY_PUSH(others, const char *) = "other.test";
        env->acme_tls_1_domains = others;
    }
    assert_int_equal(md_acme_chal_tlsalpn01_setup(env, NULL, "x.test", "tok", VECTOR_KEY_AUTHZ,
                                                  result, p), APR_ENOTIMPL);
    assert_false(md_store_exists(env->store, MD_SG_CHALLENGES, "x.test", MD_FN_TLSALPN01_CERT,
                                 p));
}

static void test_prechecks_name_the_port(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = fx_tmpdir("test_md_acme_chal", p);
    md_acme_chal_env_t *env = env_make(dir, NULL, 1, p);
    md_result_t *result = md_result_make(p, "x.test");
    int port = closed_port();
    const char *where = apr_psprintf(p, "local port %d", port);

    /* without a port there is nothing to check */
    assert_int_equal(md_acme_chal_check_http01(env, NULL, "x.test", "tok", VECTOR_KEY_AUTHZ,
                                               result, p), APR_SUCCESS);
    env->check_http_host = "127.0.0.1";
    env->check_http_port = port;
    env->check_https_host = "127.0.0.1";
    env->check_https_port = port;
    env->check_timeout = apr_time_from_sec(5);
    assert_int_equal(md_acme_chal_check_http01(env, NULL, "x.test", "tok", VECTOR_KEY_AUTHZ,
                                               result, p), APR_EAGAIN);
    assert_non_null(strstr(result->detail, where));
    assert_non_null(strstr(result->detail, "http://x.test/.well-known/acme-challenge/tok"));
    assert_non_null(strstr(result->detail, "refused"));

    md_result_reset(result);
    assert_int_equal(md_acme_chal_tlsalpn01_setup(env, NULL, "x.test", "tok", VECTOR_KEY_AUTHZ,
                                                  result, p), APR_EAGAIN);
    assert_non_null(strstr(result->detail, where));
    assert_non_null(strstr(result->detail, "SNI x.test"));
    assert_non_null(strstr(result->detail, "connection refused"));

    /* an IP address is named by its reverse-DNS name (RFC 8738 §6) */
    md_result_reset(result);
    assert_int_equal(md_acme_chal_tlsalpn01_setup(env, NULL, "192.0.2.7", "tok",
                                                  VECTOR_KEY_AUTHZ, result, p), APR_EAGAIN);
    assert_non_null(strstr(result->detail, "SNI 7.2.0.192.in-addr.arpa"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_dns01_value),
        UNIT_TEST(test_dns01_setup_teardown_v1),
        UNIT_TEST(test_dns01_teardown_v2_gets_values),
        UNIT_TEST(test_dns01_failing_program),
        UNIT_TEST(test_tlsalpn01_files),
        UNIT_TEST(test_prechecks_name_the_port),
    };
    return UNIT_RUN(tests);
}
