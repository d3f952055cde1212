/* Unit tests of the store: md_store_fs.c (layout, md_store.json, atomic
 * saves, names, move/archive, purge, listing) and the typed wrappers of
 * md_store.c (JSON, keys encrypted or plain, certificates). */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "md_crypt.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_store.h"
#include "md_store_fs_io.h"
#include "md_util.h"
#include "fixtures/fx.h"

/* --- log capture: messages at ERR and above are kept for assertions --- */

static char last_errors[8192];

static int log_level(void *baton, md_log_level_t level)
{
    (void)baton;
    return level <= MD_LOG_WARNING;
}

static void log_print(const char *file, int line, md_log_level_t level, apr_status_t rv,
                      void *baton, const char *msg)
{
    (void)file;
    (void)line;
    (void)level;
    (void)rv;
    (void)baton;
    if (getenv("MD_TEST_LOG")) {
        fprintf(stderr, "  log: %s\n", msg);
    }
    apr_cpystrn(last_errors + strlen(last_errors), msg, sizeof(last_errors) - strlen(last_errors));
    apr_cpystrn(last_errors + strlen(last_errors), "\n", sizeof(last_errors) - strlen(last_errors));
}

static void clear_log(void)
{
    last_errors[0] = '\0';
}

/* --- a temp directory per test --------------------------------------- */

static void rm_rf(const char *path)
{
    nftw(path, unit_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh directory, removed with the pool; the store goes in <dir>/md. */
static const char *make_tmpdir(apr_pool_t *p)
{
    const char *dir = fx_tmpdir("test_md_store", p);

    clear_log();
    return dir;
}

static md_store_t *open_store(const char *base, apr_pool_t *p)
{
    md_store_t *store = NULL;
    assert_int_equal(md_store_fs_open(&store, p, base), APR_SUCCESS);
    assert_non_null(store);
    return store;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static int path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static char *read_all(const char *path, apr_pool_t *p)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t n;
    char *buf;

    assert_int_equal(apr_file_open(&f, path, APR_FOPEN_READ, 0, p), APR_SUCCESS);
    assert_int_equal(apr_file_info_get(&fi, APR_FINFO_SIZE, f), APR_SUCCESS);
    n = (apr_size_t)fi.size;
    buf = apr_pcalloc(p, n + 1);
    if (n) {
        assert_int_equal(apr_file_read_full(f, buf, n, &n), APR_SUCCESS);
    }
    apr_file_close(f);
    return buf;
}

static void write_all(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Number of directory entries (dot-files included, "." and ".." not). */
static int count_entries(const char *dir)
{
    struct dirent *de;
    int n = 0;
    DIR *d = opendir(dir);

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            ++n;
        }
    }
    closedir(d);
    return n;
}

static md_pkey_t *make_key(apr_pool_t *p)
{
    md_pkey_spec_t spec = { MD_PKEY_TYPE_EC, 0, "P-256" };
    md_pkey_t *pkey = NULL;
    assert_int_equal(md_pkey_gen(&pkey, p, &spec), APR_SUCCESS);
    return pkey;
}

static const char *thumb(const md_pkey_t *pkey, apr_pool_t *p)
{
    const char *t = NULL;
    assert_int_equal(md_pkey_jwk_thumbprint(&t, pkey, p), APR_SUCCESS);
    return t;
}

/* --- opening ------------------------------------------------------------ */

static void test_open_creates_layout(void **state)
{
    apr_pool_t *p = *state;
    const char *base = apr_pstrcat(p, make_tmpdir(p), "/md", NULL);
    md_store_t *store = open_store(base, p);
    const char *fname = apr_pstrcat(p, base, "/" MD_FN_STORE_JSON, NULL);
    const char *text;
    const char *key64;
    unsigned char *key;
    apr_size_t key_len;
    json_t *j;
    json_t *version;

    assert_int_equal(mode_of(base), 0755);
    assert_int_equal(mode_of(apr_pstrcat(p, base, "/accounts", NULL)), 0700);
    assert_int_equal(mode_of(apr_pstrcat(p, base, "/challenges", NULL)), 0755);
    assert_int_equal(mode_of(apr_pstrcat(p, base, "/domains", NULL)), 0700);
    assert_int_equal(mode_of(apr_pstrcat(p, base, "/staging", NULL)), 0755);
    assert_int_equal(mode_of(apr_pstrcat(p, base, "/archive", NULL)), 0700);
    assert_int_equal(mode_of(apr_pstrcat(p, base, "/tmp", NULL)), 0700);
    assert_int_equal(mode_of(fname), 0600);

    text = read_all(fname, p);
    assert_int_equal(md_json_parse(&j, text, strlen(text), fname, NULL, p), APR_SUCCESS);
    version = json_object_get(md_json_get_obj(j, MD_KEY_STORE), MD_KEY_VERSION);
    /* The stock module writes a real: "version": 3.0 */
    assert_true(json_is_real(version));
    assert_true(json_real_value(version) == 3.0);
    assert_non_null(strstr(text, "3.0"));
    key64 = md_json_get_str(j, MD_KEY_KEY);
    assert_non_null(key64);
    assert_int_equal(strlen(key64), 64);
    assert_true(md_util_is_base64url(key64, 64));

    /* store->key is the decoded key, the passphrase the stock module uses. */
    assert_int_equal(md_util_base64url_decode(&key, &key_len, key64, p), APR_SUCCESS);
    assert_int_equal(key_len, MD_STORE_KEY_LEN);
    assert_int_equal(store->key_len, MD_STORE_KEY_LEN);
    assert_memory_equal(store->key, key, key_len);
}

static void test_reopen_same_key(void **state)
{
    apr_pool_t *p = *state;
    const char *base = make_tmpdir(p);
    md_store_t *s1;
    md_store_t *s2;

    /* Things we do not know stay as they are. */
    assert_int_equal(mkdir(apr_pstrcat(p, base, "/ocsp", NULL), 0711), 0);
    assert_int_equal(chmod(apr_pstrcat(p, base, "/ocsp", NULL), 0711), 0);
    write_all(apr_pstrcat(p, base, "/ocsp/x.json", NULL), "{}");
    s1 = open_store(base, p);
    s2 = open_store(base, p);
    assert_int_equal(s1->key_len, s2->key_len);
    assert_memory_equal(s1->key, s2->key, s1->key_len);
    assert_int_equal(mode_of(apr_pstrcat(p, base, "/ocsp", NULL)), 0711);
    assert_string_equal(read_all(apr_pstrcat(p, base, "/ocsp/x.json", NULL), p), "{}");
}

/* A corrupt md_store.json: the store opens without a key, the file is
 * never overwritten and the message names the file and the problem. */
static md_store_t *expect_open_keyless(const char *base, const char *content,
                                       const char *what, apr_pool_t *p)
{
    const char *fname = apr_pstrcat(p, base, "/" MD_FN_STORE_JSON, NULL);
    md_store_t *store = NULL;

    write_all(fname, content);
    clear_log();
    assert_int_equal(md_store_fs_open(&store, p, base), APR_SUCCESS);
    assert_non_null(store);
    assert_null(store->key);
    assert_non_null(store->key_problem);
    assert_non_null(strstr(store->key_problem, fname));
    assert_string_equal(read_all(fname, p), content);
    assert_non_null(strstr(last_errors, fname));
    assert_non_null(strstr(last_errors, what));
    assert_non_null(strstr(last_errors, "MD05"));
    return store;
}

/* A store of another version is not touched at all. */
static void expect_open_fails(const char *base, const char *content, const char *what,
                              apr_pool_t *p)
{
    const char *fname = apr_pstrcat(p, base, "/" MD_FN_STORE_JSON, NULL);
    md_store_t *store = (md_store_t *)&store;

    write_all(fname, content);
    clear_log();
    assert_int_equal(md_store_fs_open(&store, p, base), APR_ENOTIMPL);
    assert_null(store);
    assert_string_equal(read_all(fname, p), content);
    assert_non_null(strstr(last_errors, fname));
    assert_non_null(strstr(last_errors, what));
}

static void test_corrupt_store_json(void **state)
{
    apr_pool_t *p = *state;
    const char *base = make_tmpdir(p);
    md_store_t *store;
    md_pkey_t *pkey = make_key(p);
    md_pkey_t *back = NULL;

    expect_open_fails(base, "{\"store\": {\"version\": 4.0}, \"key\": \"AAAA\"}", "newer", p);
    /* Nothing was created in a store we do not understand. */
    assert_false(path_exists(apr_pstrcat(p, base, "/domains", NULL)));
    expect_open_fails(base, "{\"store\": {\"version\": 1.0}, \"key\": \"AAAA\"}", "too old",
                      p);

    expect_open_keyless(base, "{\"store\": {\"version\": 3.0}, \"key\": ", "not valid JSON", p);
    expect_open_keyless(base, "{\"store\": {\"version\": 3.0}}", "\"key\"", p);
    expect_open_keyless(base, "{\"store\": {\"version\": 3.0}, \"key\": \"abc\"}", "bytes", p);
    expect_open_keyless(base, "{\"store\": {\"version\": 3.0}, \"key\": \"a+b/\"}",
                        "base64url", p);
    store = expect_open_keyless(base, "[1, 2]", "object", p);

    /* Without the key: plain keys work, encrypted ones are refused, saying why. */
    assert_int_equal(md_store_save_pkey(store, MD_SG_DOMAINS, "a.org", MD_FN_PRIVKEY, pkey, p),
                     APR_SUCCESS);
    assert_int_equal(md_store_load_pkey(store, MD_SG_DOMAINS, "a.org", MD_FN_PRIVKEY, &back, p),
                     APR_SUCCESS);
    clear_log();
    assert_int_equal(md_store_save_pkey(store, MD_SG_STAGING, "a.org", MD_FN_PRIVKEY, pkey, p),
                     APR_EACCES);
    assert_non_null(strstr(last_errors, "store key is not available"));
    assert_false(md_store_exists(store, MD_SG_STAGING, "a.org", MD_FN_PRIVKEY, p));
}

/* --- values --------------------------------------------------------------- */

static void test_save_load_roundtrip(void **state)
{
    apr_pool_t *p = *state;
    const char *base = make_tmpdir(p);
    md_store_t *store = open_store(base, p);
    const char *text = NULL;
    json_t *j = json_pack("{s:s,s:[s,s]}", "name", "a.org", "domains", "a.org", "www.a.org");
    json_t *back = NULL;

    md_json_pool_own(p, j);
    assert_int_equal(md_store_save_json(store, MD_SG_DOMAINS, "a.org", MD_FN_MD, j, p),
                     APR_SUCCESS);
    assert_int_equal(md_store_load_json(store, MD_SG_DOMAINS, "a.org", MD_FN_MD, &back, p),
                     APR_SUCCESS);
    assert_true(json_equal(j, back));

    assert_int_equal(md_store_save_text(store, MD_SG_CHALLENGES, "a.org", MD_FN_HTTP01,
                                        "token.thumb", p), APR_SUCCESS);
    assert_int_equal(md_store_load_text(store, MD_SG_CHALLENGES, "a.org", MD_FN_HTTP01,
                                        &text, p), APR_SUCCESS);
    assert_string_equal(text, "token.thumb");
    /* Replacing works and leaves the new content. */
    assert_int_equal(md_store_save_text(store, MD_SG_CHALLENGES, "a.org", MD_FN_HTTP01,
                                        "other", p), APR_SUCCESS);
    assert_int_equal(md_store_load_text(store, MD_SG_CHALLENGES, "a.org", MD_FN_HTTP01,
                                        &text, p), APR_SUCCESS);
    assert_string_equal(text, "other");

    /* Values in the base directory. */
    assert_int_equal(md_store_save_json(store, MD_SG_NONE, NULL, MD_FN_HTTPD_JSON, j, p),
                     APR_SUCCESS);
    assert_true(path_exists(apr_pstrcat(p, base, "/" MD_FN_HTTPD_JSON, NULL)));

    /* Absent values. */
    assert_int_equal(md_store_load_json(store, MD_SG_DOMAINS, "b.org", MD_FN_MD, &back, p),
                     APR_ENOENT);
    assert_null(back);
    assert_int_equal(md_store_load_text(store, MD_SG_CHALLENGES, "a.org", "nope", &text, p),
                     APR_ENOENT);
}

static void test_bad_names(void **state)
{
    apr_pool_t *p = *state;
    const char *base = make_tmpdir(p);
    md_store_t *store = open_store(base, p);
    static const char *const bad[] = { "a/b", "..", ".", "", "../x", "a\\b", "/etc", ".hidden" };
    const char *fname = NULL;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        assert_int_equal(md_store_save_text(store, MD_SG_DOMAINS, bad[i], MD_FN_MD, "x", p),
                         APR_EINVAL);
        assert_int_equal(md_store_save_text(store, MD_SG_DOMAINS, "a.org", bad[i], "x", p),
                         APR_EINVAL);
        assert_int_equal(md_store_save_text(store, MD_SG_NONE, NULL, bad[i], "x", p),
                         APR_EINVAL);
        assert_int_equal(md_store_purge(store, MD_SG_STAGING, bad[i], p), APR_EINVAL);
        assert_int_equal(md_store_move(store, MD_SG_STAGING, MD_SG_DOMAINS, bad[i], 1, p),
                         APR_EINVAL);
        assert_int_equal(md_store_get_fname(store, MD_SG_DOMAINS, bad[i], MD_FN_MD, &fname, p),
                         APR_EINVAL);
    }
    assert_int_equal(md_store_save_text(store, MD_SG_DOMAINS, NULL, MD_FN_MD, "x", p),
                     APR_EINVAL);
    assert_int_equal(md_store_save_text(store, MD_SG_DOMAINS, "a.org", NULL, "x", p),
                     APR_EINVAL);
    assert_int_equal(md_store_save_text(store, MD_SG_COUNT, "a.org", MD_FN_MD, "x", p),
                     APR_EINVAL);
    assert_int_equal(md_store_move(store, MD_SG_STAGING, MD_SG_STAGING, "a.org", 1, p),
                     APR_EINVAL);
    /* Nothing was written anywhere. */
    assert_false(path_exists(apr_pstrcat(p, base, "/x", NULL)));
    assert_false(path_exists(apr_pstrcat(p, base, "/a.org", NULL)));
    assert_int_equal(count_entries(apr_pstrcat(p, base, "/domains", NULL)), 0);
    assert_int_equal(count_entries(base), 8);
}

static void test_atomic_save_modes(void **state)
{
    apr_pool_t *p = *state;
    const char *base = make_tmpdir(p);
    md_store_t *store = open_store(base, p);
    const char *sdir = apr_pstrcat(p, base, "/staging/a.org", NULL);
    const char *ddir = apr_pstrcat(p, base, "/domains/a.org", NULL);
    const char *adir = apr_pstrcat(p, base, "/accounts/ACME-x-0000", NULL);
    const char *cdir = apr_pstrcat(p, base, "/challenges/a.org", NULL);
    int i;

    for (i = 0; i < 3; ++i) {
        assert_int_equal(store->ops->save(store, MD_SG_STAGING, "a.org", "secret", "s", 1, 1,
                                          p), APR_SUCCESS);
        assert_int_equal(store->ops->save(store, MD_SG_STAGING, "a.org", "public", "p", 1, 0,
                                          p), APR_SUCCESS);
    }
    assert_int_equal(mode_of(sdir), 0755);
    assert_int_equal(mode_of(apr_pstrcat(p, sdir, "/secret", NULL)), 0600);
    assert_int_equal(mode_of(apr_pstrcat(p, sdir, "/public", NULL)), 0644);
    /* No temp files left behind. */
    assert_int_equal(count_entries(sdir), 2);

    /* Everything in domains/ is for root only. */
    assert_int_equal(store->ops->save(store, MD_SG_DOMAINS, "a.org", "public", "p", 1, 0, p),
                     APR_SUCCESS);
    assert_int_equal(mode_of(ddir), 0700);
    assert_int_equal(mode_of(apr_pstrcat(p, ddir, "/public", NULL)), 0600);

    assert_int_equal(store->ops->save(store, MD_SG_ACCOUNTS, "ACME-x-0000", "k", "k", 1, 1, p),
                     APR_SUCCESS);
    assert_int_equal(mode_of(adir), 0700);
    assert_int_equal(mode_of(apr_pstrcat(p, adir, "/k", NULL)), 0600);

    assert_int_equal(md_store_save_text(store, MD_SG_CHALLENGES, "a.org", MD_FN_HTTP01, "t", p),
                     APR_SUCCESS);
    assert_int_equal(mode_of(cdir), 0755);
    assert_int_equal(mode_of(apr_pstrcat(p, cdir, "/" MD_FN_HTTP01, NULL)), 0644);
}

static void test_fname_mtime_exists_remove(void **state)
{
    apr_pool_t *p = *state;
    const char *base = make_tmpdir(p);
    md_store_t *store = open_store(base, p);
    const char *fname = NULL;

    assert_int_equal(md_store_get_fname(store, MD_SG_DOMAINS, "a.org", MD_FN_PRIVKEY, &fname,
                                        p), APR_SUCCESS);
    assert_string_equal(fname, apr_pstrcat(p, base, "/domains/a.org/privkey.pem", NULL));
    assert_int_equal(md_store_get_fname(store, MD_SG_NONE, NULL, MD_FN_HTTPD_JSON, &fname, p),
                     APR_SUCCESS);
    assert_string_equal(fname, apr_pstrcat(p, base, "/httpd.json", NULL));
    assert_int_equal(md_store_get_fname(store, MD_SG_CHALLENGES, NULL, NULL, &fname, p),
                     APR_SUCCESS);
    assert_string_equal(fname, apr_pstrcat(p, base, "/challenges", NULL));

    assert_false(md_store_exists(store, MD_SG_DOMAINS, "a.org", MD_FN_MD, p));
    assert_int_equal(md_store_get_mtime(store, MD_SG_DOMAINS, "a.org", MD_FN_MD, p), 0);
    assert_int_equal(md_store_save_text(store, MD_SG_DOMAINS, "a.org", MD_FN_MD, "{}", p),
                     APR_SUCCESS);
    assert_true(md_store_exists(store, MD_SG_DOMAINS, "a.org", MD_FN_MD, p));
    assert_true(md_store_get_mtime(store, MD_SG_DOMAINS, "a.org", MD_FN_MD, p)
                > apr_time_now() - apr_time_from_sec(3600));
    assert_int_equal(md_store_remove(store, MD_SG_DOMAINS, "a.org", MD_FN_MD, p), APR_SUCCESS);
    assert_false(md_store_exists(store, MD_SG_DOMAINS, "a.org", MD_FN_MD, p));
    assert_int_equal(md_store_remove(store, MD_SG_DOMAINS, "a.org", MD_FN_MD, p), APR_ENOENT);
}

/* A value's version (md_store.h): the same while the file is, another
 * after any write, even of the same bytes. */
static void test_version(void **state)
{
    apr_pool_t *p = *state;
    const char *base = make_tmpdir(p);
    md_store_t *store = open_store(base, p);
    const char *v1, *v2, *v = "x";

    assert_int_equal(md_store_version(store, MD_SG_DOMAINS, "a.org", MD_FN_MD, &v, p),
                     APR_ENOENT);
    assert_null(v);
    assert_int_equal(md_store_save_text(store, MD_SG_DOMAINS, "a.org", MD_FN_MD, "{}", p),
                     APR_SUCCESS);
    /* just written: too fresh to tell a next write in the same clock tick */
    assert_int_equal(md_store_version(store, MD_SG_DOMAINS, "a.org", MD_FN_MD, &v, p),
                     APR_EAGAIN);
    v1 = fx_store_rested_version(store, MD_SG_DOMAINS, "a.org", MD_FN_MD, p);
    assert_string_equal(fx_store_rested_version(store, MD_SG_DOMAINS, "a.org", MD_FN_MD, p), v1);
    /* the same bytes written again: a new version */
    assert_int_equal(md_store_save_text(store, MD_SG_DOMAINS, "a.org", MD_FN_MD, "{}", p),
                     APR_SUCCESS);
    v2 = fx_store_rested_version(store, MD_SG_DOMAINS, "a.org", MD_FN_MD, p);
    assert_string_not_equal(v1, v2);
    /* a link is no value (the file store never follows one) */
    assert_int_equal(symlink(apr_pstrcat(p, base, "/domains/a.org/md.json", NULL),
                             apr_pstrcat(p, base, "/domains/a.org/link.json", NULL)), 0);
    assert_int_equal(md_store_version(store, MD_SG_DOMAINS, "a.org", "link.json", &v, p),
                     APR_ENOENT);
    /* no address outside the store */
    assert_int_not_equal(md_store_version(store, MD_SG_DOMAINS, "../a.org", MD_FN_MD, &v, p),
                         APR_SUCCESS);
}

/* --- items ---------------------------------------------------------------- */

static void stage(md_store_t *store, const char *name, const char *content, apr_pool_t *p)
{
    assert_int_equal(md_store_save_text(store, MD_SG_STAGING, name, MD_FN_PUBCERT, content, p),
                     APR_SUCCESS);
    assert_int_equal(md_store_save_text(store, MD_SG_STAGING, name, MD_FN_JOB, "{}", p),
                     APR_SUCCESS);
}

static const char *text_at(const char *path, apr_pool_t *p)
{
    return path_exists(path) ? read_all(path, p) : NULL;
}

static void test_move_archive(void **state)
{
    apr_pool_t *p = *state;
    const char *base = make_tmpdir(p);
    md_store_t *store = open_store(base, p);
    const char *live = apr_pstrcat(p, base, "/domains/a.org", NULL);
    const char *arch = apr_pstrcat(p, base, "/archive/a.org", NULL);

    assert_int_equal(md_store_move(store, MD_SG_STAGING, MD_SG_DOMAINS, "a.org", 1, p),
                     APR_ENOENT);

    stage(store, "a.org", "v1", p);
    assert_int_equal(md_store_move(store, MD_SG_STAGING, MD_SG_DOMAINS, "a.org", 1, p),
                     APR_SUCCESS);
    assert_false(path_exists(apr_pstrcat(p, base, "/staging/a.org", NULL)));
    assert_string_equal(text_at(apr_pstrcat(p, live, "/pubcert.pem", NULL), p), "v1");
    assert_int_equal(count_entries(apr_pstrcat(p, base, "/archive", NULL)), 0);
    /* Written in staging as 0755/0644, made root-only in domains. */
    assert_int_equal(mode_of(live), 0700);
    assert_int_equal(mode_of(apr_pstrcat(p, live, "/pubcert.pem", NULL)), 0600);

    stage(store, "a.org", "v2", p);
    assert_int_equal(md_store_move(store, MD_SG_STAGING, MD_SG_DOMAINS, "a.org", 1, p),
                     APR_SUCCESS);
    stage(store, "a.org", "v3", p);
    assert_int_equal(md_store_move(store, MD_SG_STAGING, MD_SG_DOMAINS, "a.org", 1, p),
                     APR_SUCCESS);
    assert_string_equal(text_at(apr_pstrcat(p, live, "/pubcert.pem", NULL), p), "v3");
    assert_string_equal(text_at(apr_pstrcat(p, arch, ".1/pubcert.pem", NULL), p), "v1");
    assert_string_equal(text_at(apr_pstrcat(p, arch, ".2/pubcert.pem", NULL), p), "v2");
    assert_false(path_exists(apr_pstrcat(p, arch, ".3", NULL)));

    /* Without archive the previous item is dropped. */
    stage(store, "a.org", "v4", p);
    assert_int_equal(md_store_move(store, MD_SG_STAGING, MD_SG_DOMAINS, "a.org", 0, p),
                     APR_SUCCESS);
    assert_string_equal(text_at(apr_pstrcat(p, live, "/pubcert.pem", NULL), p), "v4");
    assert_false(path_exists(apr_pstrcat(p, arch, ".3", NULL)));
    assert_int_equal(count_entries(apr_pstrcat(p, base, "/archive", NULL)), 2);
    assert_int_equal(count_entries(apr_pstrcat(p, base, "/tmp", NULL)), 0);

    /* A gap in the numbers is filled first. */
    rm_rf(apr_pstrcat(p, arch, ".1", NULL));
    stage(store, "a.org", "v5", p);
    assert_int_equal(md_store_move(store, MD_SG_STAGING, MD_SG_DOMAINS, "a.org", 1, p),
                     APR_SUCCESS);
    assert_string_equal(text_at(apr_pstrcat(p, arch, ".1/pubcert.pem", NULL), p), "v4");
}

/* The replaced live set goes to the archive with its private keys
 * encrypted under the store key; nothing hidden is left behind. */
static void test_move_archive_encrypts_keys(void **state)
{
    apr_pool_t *p = *state;
    const char *base = make_tmpdir(p);
    md_store_t *store = open_store(base, p);
    const char *arch = apr_pstrcat(p, base, "/archive/a.org.1", NULL);
    md_pkey_t *pkey = make_key(p);
    md_pkey_t *back = NULL;
    const char *pem;

    assert_int_equal(md_store_save_pkey(store, MD_SG_DOMAINS, "a.org", MD_FN_PRIVKEY, pkey, p),
                     APR_SUCCESS);
    assert_int_equal(md_store_save_text(store, MD_SG_DOMAINS, "a.org", MD_FN_MD, "{}", p),
                     APR_SUCCESS);
    stage(store, "a.org", "v2", p);
    assert_int_equal(md_store_move(store, MD_SG_STAGING, MD_SG_DOMAINS, "a.org", 1, p),
                     APR_SUCCESS);

    pem = read_all(apr_pstrcat(p, arch, "/" MD_FN_PRIVKEY, NULL), p);
    assert_true(!strncmp(pem, "-----BEGIN ENCRYPTED PRIVATE KEY", 32));
    assert_int_equal(mode_of(apr_pstrcat(p, arch, "/" MD_FN_PRIVKEY, NULL)), 0600);
    assert_int_equal(mode_of(apr_pstrcat(p, arch, "/" MD_FN_MD, NULL)), 0600);
    assert_int_equal(mode_of(arch), 0700);
    assert_string_equal(read_all(apr_pstrcat(p, arch, "/" MD_FN_MD, NULL), p), "{}");
    assert_int_equal(md_store_load_pkey(store, MD_SG_ARCHIVE, "a.org.1", MD_FN_PRIVKEY, &back,
                                        p), APR_SUCCESS);
    assert_string_equal(thumb(back, p), thumb(pkey, p));
    assert_int_equal(md_pkey_from_pem(&back, pem, strlen(pem), NULL, 0, p), APR_EACCES);
    /* the new set is live, nothing half-done anywhere */
    assert_string_equal(text_at(apr_pstrcat(p, base, "/domains/a.org/pubcert.pem", NULL), p),
                        "v2");
    assert_int_equal(count_entries(apr_pstrcat(p, base, "/archive", NULL)), 1);
    assert_int_equal(count_entries(apr_pstrcat(p, base, "/staging", NULL)), 0);
    assert_int_equal(count_entries(apr_pstrcat(p, base, "/domains", NULL)), 1);
}

static void test_rename(void **state)
{
    apr_pool_t *p = *state;
    const char *base = make_tmpdir(p);
    md_store_t *store = open_store(base, p);

    stage(store, "a.org", "v1", p);
    stage(store, "c.org", "v3", p);
    assert_int_equal(md_store_rename(store, MD_SG_STAGING, "a.org", "b.org", p), APR_SUCCESS);
    assert_false(path_exists(apr_pstrcat(p, base, "/staging/a.org", NULL)));
    assert_string_equal(text_at(apr_pstrcat(p, base, "/staging/b.org/pubcert.pem", NULL), p),
                        "v1");
    /* never over an existing item */
    assert_int_equal(md_store_rename(store, MD_SG_STAGING, "b.org", "c.org", p), APR_EEXIST);
    assert_string_equal(text_at(apr_pstrcat(p, base, "/staging/c.org/pubcert.pem", NULL), p),
                        "v3");
    assert_int_equal(md_store_rename(store, MD_SG_STAGING, "x.org", "y.org", p), APR_ENOENT);
    assert_int_equal(md_store_rename(store, MD_SG_STAGING, "b.org", "../x", p), APR_EINVAL);
}

/* Another process (a server sharing the store) tries the lock. */
static int lock_in_child(const char *base, apr_interval_time_t wait)
{
    pid_t pid = fork();
    int status = 0;

    assert_true(pid >= 0);
    if (pid == 0) {
        apr_pool_t *cp;
        md_store_t *store = NULL;
        apr_pool_create(&cp, NULL);
        if (md_store_fs_open(&store, cp, base) != APR_SUCCESS) {
            _exit(2);
        }
        _exit(md_store_lock(store, wait, cp) == APR_SUCCESS ? 0 :
              APR_STATUS_IS_TIMEUP(md_store_lock(store, 0, cp)) ? 1 : 3);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_lock(void **state)
{
    apr_pool_t *p = *state;
    const char *base = make_tmpdir(p);
    md_store_t *store = open_store(base, p);

    assert_int_equal(md_store_lock(store, apr_time_from_msec(100), p), APR_SUCCESS);
    assert_int_equal(mode_of(apr_pstrcat(p, base, "/" MD_FN_STORE_LOCK, NULL)), 0600);
    /* not reentrant */
    assert_int_equal(md_store_lock(store, 0, p), APR_EINVAL);
    /* held: the other one waits, then gives up */
    assert_int_equal(lock_in_child(base, apr_time_from_msec(300)), 1);
    assert_int_equal(md_store_unlock(store, p), APR_SUCCESS);
    assert_int_equal(lock_in_child(base, apr_time_from_msec(300)), 0);
    /* and again here */
    assert_int_equal(md_store_lock(store, 0, p), APR_SUCCESS);
    assert_int_equal(md_store_unlock(store, p), APR_SUCCESS);
}

/* --- the POSIX helpers behind the fs store (md_store_fs_io.c) ------------ */

static const char *make_victim(const char *base, apr_pool_t *p);
static void plant_symlink(const char *target, const char *path);
static uid_t owner_of(const char *path);

static md_fsio_dir_t *open_dir(const char *path, apr_pool_t *p)
{
    md_fsio_dir_t *dir = NULL;
    assert_int_equal(md_fsio_dir_open(&dir, NULL, path, p), APR_SUCCESS);
    return dir;
}

static void test_fsio_write_atomic(void **state)
{
    apr_pool_t *p = *state;
    const char *path = apr_pstrcat(p, make_tmpdir(p), "/v", NULL);
    md_fsio_dir_t *dir = open_dir(apr_pstrndup(p, path, strlen(path) - 2), p);

    assert_int_equal(md_fsio_write_atomic(dir, "v", "one", 3, 0640, 1, 1, p), APR_SUCCESS);
    assert_string_equal(read_all(path, p), "one");
    assert_int_equal(mode_of(path), 0640);
    assert_int_equal(md_fsio_write_atomic(dir, "v", "two", 3, 0600, 1, 1, p), APR_SUCCESS);
    assert_string_equal(read_all(path, p), "two");
    assert_int_equal(mode_of(path), 0600);
    /* without replace an existing value stays */
    assert_int_equal(md_fsio_write_atomic(dir, "v", "three", 5, 0600, 0, 1, p), APR_EEXIST);
    assert_string_equal(read_all(path, p), "two");
    assert_int_equal(count_entries(dir->path), 1);
}

static apr_status_t upper_or_skip(void *baton, const char *name, const char **pdata,
                                  apr_size_t *plen, apr_pool_t *p)
{
    char *up;
    apr_size_t i;

    (void)baton;
    if (!strcmp(name, "skip")) {
        return APR_ENOENT;
    }
    up = apr_pstrmemdup(p, *pdata, *plen);
    for (i = 0; i < *plen; ++i) {
        up[i] = (char)((up[i] >= 'a' && up[i] <= 'z') ? up[i] - 32 : up[i]);
    }
    *pdata = up;
    return APR_SUCCESS;
}

static void test_fsio_copy_and_exchange(void **state)
{
    apr_pool_t *p = *state;
    const char *top = make_tmpdir(p);
    const char *a = apr_pstrcat(p, top, "/a", NULL);
    const char *b = apr_pstrcat(p, top, "/b", NULL);
    const char *c = apr_pstrcat(p, top, "/c", NULL);
    md_fsio_dir_t *dir = open_dir(top, p);

    assert_int_equal(mkdir(a, 0700), 0);
    assert_int_equal(mkdir(b, 0700), 0);
    write_all(apr_pstrcat(p, a, "/x", NULL), "abc");
    write_all(apr_pstrcat(p, a, "/skip", NULL), "s");
    write_all(apr_pstrcat(p, b, "/y", NULL), "b");

    assert_int_equal(md_fsio_copy_dir(open_dir(a, p), dir, "c", 0700, 0600, 100, upper_or_skip,
                                      NULL, p), APR_SUCCESS);
    assert_string_equal(read_all(apr_pstrcat(p, c, "/x", NULL), p), "ABC");
    assert_false(path_exists(apr_pstrcat(p, c, "/skip", NULL)));
    assert_int_equal(mode_of(apr_pstrcat(p, c, "/x", NULL)), 0600);
    assert_int_equal(md_fsio_copy_dir(open_dir(a, p), dir, "c", 0700, 0600, 100, NULL, NULL, p),
                     APR_EEXIST);
    /* a file over the size limit fails the copy and leaves no directory */
    rm_rf(c);
    assert_int_not_equal(md_fsio_copy_dir(open_dir(a, p), dir, "c", 0700, 0600, 2, NULL, NULL,
                                          p), APR_SUCCESS);
    assert_false(path_exists(c));

    assert_int_equal(md_fsio_exchange(dir, "a", dir, "b"), APR_SUCCESS);
    assert_string_equal(read_all(apr_pstrcat(p, a, "/y", NULL), p), "b");
    assert_string_equal(read_all(apr_pstrcat(p, b, "/x", NULL), p), "abc");
}

/* The fd-relative helpers refuse links and never wait on a FIFO. */
static void test_fsio_never_follows(void **state)
{
    apr_pool_t *p = *state;
    const char *tmp = make_tmpdir(p);
    const char *victim = make_victim(tmp, p);
    const char *top = apr_pstrcat(p, tmp, "/t", NULL);
    md_fsio_dir_t *dir;
    md_fsio_dir_t *sub = NULL;
    apr_array_header_t *names = NULL;
    char *data = NULL;
    apr_size_t len = 0;
    int fd = -1;

    assert_int_equal(mkdir(top, 0700), 0);
    dir = open_dir(top, p);
    assert_int_equal(mkdir(apr_pstrcat(p, top, "/d", NULL), 0700), 0);
    plant_symlink(victim, apr_pstrcat(p, top, "/ldir", NULL));
    plant_symlink(apr_pstrcat(p, victim, "/precious", NULL),
                  apr_pstrcat(p, top, "/lfile", NULL));
    assert_int_equal(mkfifo(apr_pstrcat(p, top, "/fifo", NULL), 0600), 0);

    /* a link is not a directory to open or make, nor a value to read */
    assert_int_equal(md_fsio_dir_open(&sub, dir, "ldir", p), APR_FROM_OS_ERROR(ELOOP));
    assert_int_equal(md_fsio_dir_make(&sub, dir, "ldir", 0700, p), APR_FROM_OS_ERROR(ELOOP));
    assert_int_equal(md_fsio_read(&data, &len, dir, "lfile", 100, p),
                     APR_FROM_OS_ERROR(ELOOP));
    assert_int_equal(md_fsio_read(&data, &len, dir, "fifo", 100, p), APR_EINVAL);
    assert_null(data);
    /* links are not listed: not as directories, not as files */
    assert_int_equal(md_fsio_list(&names, dir, 1, p), APR_SUCCESS);
    assert_int_equal(names->nelts, 1);
    assert_string_equal(APR_ARRAY_IDX(names, 0, const char *), "d");
    assert_int_equal(md_fsio_list(&names, dir, 0, p), APR_SUCCESS);
    assert_int_equal(names->nelts, 0);
    /* nor a lock file */
    assert_int_not_equal(md_fsio_lock(&fd, dir, "lfile", 0, p), APR_SUCCESS);
    assert_int_equal(fd, -1);
    /* removal takes the link, not what it points to */
    assert_int_equal(md_fsio_rm_tree(dir, "ldir", MD_FSIO_MAX_DEPTH, p), APR_SUCCESS);
    assert_int_equal(md_fsio_rm_tree(dir, "lfile", MD_FSIO_MAX_DEPTH, p), APR_SUCCESS);
    assert_false(path_exists(apr_pstrcat(p, top, "/ldir", NULL)));
    assert_int_equal(count_entries(victim), 1);
    /* a write does not go through a link at the value's name */
    plant_symlink(apr_pstrcat(p, victim, "/precious", NULL), apr_pstrcat(p, top, "/v", NULL));
    assert_int_equal(md_fsio_write_atomic(dir, "v", "x", 1, 0600, 1, 1, p), APR_SUCCESS);
    assert_string_equal(read_all(apr_pstrcat(p, victim, "/precious", NULL), p),
                        "{\"precious\": true}");
}

static void test_fsio_chown_tree_skips_foreign_names(void **state)
{
    apr_pool_t *p = *state;
    const char *top;
    const char *victim;
    md_fsio_dir_t *dir;

    if (geteuid() != 0) {
        skip();
    }
    top = make_tmpdir(p);
    victim = make_victim(top, p);
    assert_int_equal(mkdir(apr_pstrcat(p, top, "/t", NULL), 0700), 0);
    assert_int_equal(mkdir(apr_pstrcat(p, top, "/t/sub", NULL), 0700), 0);
    write_all(apr_pstrcat(p, top, "/t/sub/own", NULL), "x");
    assert_int_equal(link(apr_pstrcat(p, victim, "/precious", NULL),
                          apr_pstrcat(p, top, "/t/sub/hard", NULL)), 0);
    plant_symlink(victim, apr_pstrcat(p, top, "/t/ldir", NULL));
    dir = open_dir(apr_pstrcat(p, top, "/t", NULL), p);

    /* the hard link is reported, everything else is done */
    assert_int_equal(md_fsio_chown_tree(dir, 65534, 65534, MD_FSIO_MAX_DEPTH, p), APR_EINVAL);
    assert_int_equal(owner_of(apr_pstrcat(p, top, "/t", NULL)), 65534);
    assert_int_equal(owner_of(apr_pstrcat(p, top, "/t/sub", NULL)), 65534);
    assert_int_equal(owner_of(apr_pstrcat(p, top, "/t/sub/own", NULL)), 65534);
    assert_int_equal(owner_of(apr_pstrcat(p, top, "/t/ldir", NULL)), 65534);
    assert_int_equal(owner_of(apr_pstrcat(p, victim, "/precious", NULL)), 0);
    assert_int_equal(owner_of(victim), 0);
}

static void test_purge(void **state)
{
    apr_pool_t *p = *state;
    const char *base = make_tmpdir(p);
    md_store_t *store = open_store(base, p);

    stage(store, "a.org", "v1", p);
    stage(store, "b.org", "v1", p);
    assert_int_equal(md_store_purge(store, MD_SG_STAGING, "a.org", p), APR_SUCCESS);
    assert_false(path_exists(apr_pstrcat(p, base, "/staging/a.org", NULL)));
    assert_true(path_exists(apr_pstrcat(p, base, "/staging/b.org/job.json", NULL)));
    assert_int_equal(md_store_purge(store, MD_SG_STAGING, "a.org", p), APR_ENOENT);
    assert_int_equal(count_entries(apr_pstrcat(p, base, "/tmp", NULL)), 0);

    assert_int_equal(md_store_save_text(store, MD_SG_TMP, "b.org", MD_FN_JOB, "{}", p),
                     APR_SUCCESS);
    assert_int_equal(md_store_purge(store, MD_SG_TMP, "b.org", p), APR_SUCCESS);
    assert_int_equal(count_entries(apr_pstrcat(p, base, "/tmp", NULL)), 0);
}

static void test_list_sorted(void **state)
{
    apr_pool_t *p = *state;
    const char *base = make_tmpdir(p);
    md_store_t *store = open_store(base, p);
    apr_array_header_t *names = NULL;

    assert_int_equal(md_store_list(store, MD_SG_DOMAINS, &names, p), APR_SUCCESS);
    assert_int_equal(names->nelts, 0);

    stage(store, "c.org", "x", p);
    stage(store, "a.org", "x", p);
    stage(store, "b.org", "x", p);
    /* Files and dot-names in the group directory are not items. */
    write_all(apr_pstrcat(p, base, "/staging/stray.txt", NULL), "x");
    assert_int_equal(mkdir(apr_pstrcat(p, base, "/staging/.hidden", NULL), 0700), 0);

    assert_int_equal(md_store_list(store, MD_SG_STAGING, &names, p), APR_SUCCESS);
    assert_int_equal(names->nelts, 3);
    assert_string_equal(MD_ARR_IDX(names, 0, const char *), "a.org");
    assert_string_equal(MD_ARR_IDX(names, 1, const char *), "b.org");
    assert_string_equal(MD_ARR_IDX(names, 2, const char *), "c.org");

    assert_int_equal(md_store_list_aspects(store, MD_SG_STAGING, "b.org", &names, p),
                     APR_SUCCESS);
    assert_int_equal(names->nelts, 2);
    assert_string_equal(MD_ARR_IDX(names, 0, const char *), MD_FN_JOB);
    assert_string_equal(MD_ARR_IDX(names, 1, const char *), MD_FN_PUBCERT);
    assert_int_equal(md_store_list_aspects(store, MD_SG_STAGING, "z.org", &names, p),
                     APR_ENOENT);
    assert_int_equal(md_store_list(store, MD_SG_NONE, &names, p), APR_EINVAL);
}

static uid_t owner_of(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return st.st_uid;
}

static void test_set_owner(void **state)
{
    apr_pool_t *p = *state;
    const char *base;
    md_store_t *store;

    if (geteuid() != 0) {
        skip();
    }
    base = make_tmpdir(p);
    store = open_store(base, p);
    stage(store, "a.org", "v1", p);
    assert_int_equal(md_store_set_owner(store, 65534, 65534, p), APR_SUCCESS);
    assert_int_equal(owner_of(apr_pstrcat(p, base, "/staging", NULL)), 65534);
    assert_int_equal(owner_of(apr_pstrcat(p, base, "/challenges", NULL)), 65534);
    assert_int_equal(owner_of(apr_pstrcat(p, base, "/staging/a.org/job.json", NULL)), 65534);
    assert_int_equal(owner_of(apr_pstrcat(p, base, "/accounts", NULL)), 65534);
    assert_int_equal(owner_of(apr_pstrcat(p, base, "/domains", NULL)), 0);
    assert_int_equal(owner_of(apr_pstrcat(p, base, "/archive", NULL)), 0);

    /* What the child wrote becomes ours when activated. */
    assert_int_equal(md_store_move(store, MD_SG_STAGING, MD_SG_DOMAINS, "a.org", 1, p),
                     APR_SUCCESS);
    assert_int_equal(owner_of(apr_pstrcat(p, base, "/domains/a.org", NULL)), 0);
    assert_int_equal(owner_of(apr_pstrcat(p, base, "/domains/a.org/job.json", NULL)), 0);
}

static void test_leftovers(void **state)
{
    apr_pool_t *p = *state;
    const char *base = make_tmpdir(p);
    md_store_t *store = open_store(base, p);
    apr_array_header_t *names = NULL;

    /* A crash between hiding an item and deleting it, and during a save. */
    assert_int_equal(mkdir(apr_pstrcat(p, base, "/staging/.gone.0123", NULL), 0755), 0);
    write_all(apr_pstrcat(p, base, "/staging/.gone.0123/job.json", NULL), "{}");
    stage(store, "a.org", "v1", p);
    write_all(apr_pstrcat(p, base, "/staging/a.org/.job.json.0011223344556677.tmp", NULL), "{");

    assert_int_equal(md_store_list_aspects(store, MD_SG_STAGING, "a.org", &names, p),
                     APR_SUCCESS);
    assert_int_equal(names->nelts, 2);
    store = open_store(base, p);
    assert_false(path_exists(apr_pstrcat(p, base, "/staging/.gone.0123", NULL)));
    assert_int_equal(md_store_list(store, MD_SG_STAGING, &names, p), APR_SUCCESS);
    assert_int_equal(names->nelts, 1);
}

/* --- keys, certificates, corrupt values ----------------------------------- */

static void test_pkey_encrypted_and_plain(void **state)
{
    apr_pool_t *p = *state;
    const char *base = make_tmpdir(p);
    md_store_t *store = open_store(base, p);
    md_pkey_t *pkey = make_key(p);
    md_pkey_t *back = NULL;
    const char *fname = NULL;
    const char *pem;

    assert_int_equal(md_store_save_pkey(store, MD_SG_STAGING, "a.org", MD_FN_PRIVKEY, pkey, p),
                     APR_SUCCESS);
    md_store_get_fname(store, MD_SG_STAGING, "a.org", MD_FN_PRIVKEY, &fname, p);
    pem = read_all(fname, p);
    assert_true(!strncmp(pem, "-----BEGIN ENCRYPTED PRIVATE KEY", 32));
    assert_int_equal(mode_of(fname), 0600);
    assert_int_equal(md_store_load_pkey(store, MD_SG_STAGING, "a.org", MD_FN_PRIVKEY, &back, p),
                     APR_SUCCESS);
    assert_string_equal(thumb(back, p), thumb(pkey, p));

    /* The stock module's passphrase is the decoded key bytes. */
    assert_int_equal(md_pkey_from_pem(&back, pem, strlen(pem), (const char *)store->key,
                                      store->key_len, p), APR_SUCCESS);

    assert_int_equal(md_store_save_pkey(store, MD_SG_ACCOUNTS, "ACME-x-0000", MD_FN_ACCT_KEY,
                                        pkey, p), APR_SUCCESS);
    md_store_get_fname(store, MD_SG_ACCOUNTS, "ACME-x-0000", MD_FN_ACCT_KEY, &fname, p);
    assert_true(!strncmp(read_all(fname, p), "-----BEGIN ENCRYPTED PRIVATE KEY", 32));

    assert_int_equal(md_store_save_pkey(store, MD_SG_DOMAINS, "a.org", MD_FN_PRIVKEY, pkey, p),
                     APR_SUCCESS);
    md_store_get_fname(store, MD_SG_DOMAINS, "a.org", MD_FN_PRIVKEY, &fname, p);
    assert_true(!strncmp(read_all(fname, p), "-----BEGIN PRIVATE KEY", 22));
    assert_int_equal(mode_of(fname), 0600);
    back = NULL;
    assert_int_equal(md_store_load_pkey(store, MD_SG_DOMAINS, "a.org", MD_FN_PRIVKEY, &back, p),
                     APR_SUCCESS);
    assert_string_equal(thumb(back, p), thumb(pkey, p));

    /* A move keeps the encoding: the encrypted staging key loads in domains too. */
    assert_int_equal(md_store_move(store, MD_SG_STAGING, MD_SG_DOMAINS, "a.org", 1, p),
                     APR_SUCCESS);
    assert_int_equal(md_store_load_pkey(store, MD_SG_DOMAINS, "a.org", MD_FN_PRIVKEY, &back, p),
                     APR_SUCCESS);
    assert_string_equal(thumb(back, p), thumb(pkey, p));
}

static void test_pkey_wrong_store_key(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = make_tmpdir(p);
    const char *base1 = apr_pstrcat(p, dir, "/one", NULL);
    const char *base2 = apr_pstrcat(p, dir, "/two", NULL);
    md_store_t *s1 = open_store(base1, p);
    md_store_t *s2 = open_store(base2, p);
    md_pkey_t *pkey = make_key(p);
    md_pkey_t *back = NULL;
    const char *f1 = NULL;
    const char *f2 = NULL;

    assert_int_equal(md_store_save_pkey(s1, MD_SG_ACCOUNTS, "acct", MD_FN_ACCT_KEY, pkey, p),
                     APR_SUCCESS);
    /* Put a dummy there in s2 first, then copy s1's key file over it. */
    assert_int_equal(md_store_save_text(s2, MD_SG_ACCOUNTS, "acct", MD_FN_ACCT_KEY, "x", p),
                     APR_SUCCESS);
    md_store_get_fname(s1, MD_SG_ACCOUNTS, "acct", MD_FN_ACCT_KEY, &f1, p);
    md_store_get_fname(s2, MD_SG_ACCOUNTS, "acct", MD_FN_ACCT_KEY, &f2, p);
    write_all(f2, read_all(f1, p));

    clear_log();
    assert_int_equal(md_store_load_pkey(s2, MD_SG_ACCOUNTS, "acct", MD_FN_ACCT_KEY, &back, p),
                     APR_EACCES);
    assert_null(back);
    assert_non_null(strstr(last_errors, "does not decrypt with the store key in md_store.json"));
    assert_non_null(strstr(last_errors, f2));
}

static void test_corrupt_values(void **state)
{
    apr_pool_t *p = *state;
    const char *base = make_tmpdir(p);
    md_store_t *store = open_store(base, p);
    const char *fname = NULL;
    json_t *j = (json_t *)&j;
    apr_array_header_t *certs = (apr_array_header_t *)&certs;
    md_pkey_t *pkey = (md_pkey_t *)&pkey;
    const char *text = NULL;
    char *big;

    assert_int_equal(md_store_save_text(store, MD_SG_DOMAINS, "a.org", MD_FN_MD,
                                        "{\"name\": ", p), APR_SUCCESS);
    md_store_get_fname(store, MD_SG_DOMAINS, "a.org", MD_FN_MD, &fname, p);
    clear_log();
    assert_int_equal(md_store_load_json(store, MD_SG_DOMAINS, "a.org", MD_FN_MD, &j, p),
                     APR_EINVAL);
    assert_null(j);
    assert_non_null(strstr(last_errors, apr_pstrcat(p, "MD05102: ", fname, ": ", NULL)));

    /* Size caps: JSON at MD_JSON_MAX_LEN, anything at MD_STORE_MAX_VALUE_LEN. */
    big = apr_pcalloc(p, MD_STORE_MAX_VALUE_LEN + 2);
    memset(big, ' ', MD_JSON_MAX_LEN + 1);
    big[0] = '{';
    big[MD_JSON_MAX_LEN] = '}';
    assert_int_equal(md_store_save_text(store, MD_SG_DOMAINS, "a.org", MD_FN_JOB, big, p),
                     APR_SUCCESS);
    assert_int_equal(md_store_load_json(store, MD_SG_DOMAINS, "a.org", MD_FN_JOB, &j, p),
                     APR_EINVAL);
    memset(big, 'x', MD_STORE_MAX_VALUE_LEN + 1);
    assert_int_equal(md_store_save_text(store, MD_SG_DOMAINS, "a.org", MD_FN_JOB, big, p),
                     APR_SUCCESS);
    assert_int_equal(md_store_load_text(store, MD_SG_DOMAINS, "a.org", MD_FN_JOB, &text, p),
                     APR_EINVAL);

    assert_int_equal(md_store_save_text(store, MD_SG_DOMAINS, "a.org", MD_FN_PUBCERT,
                                        "garbage", p), APR_SUCCESS);
    assert_int_equal(md_store_load_certs(store, MD_SG_DOMAINS, "a.org", MD_FN_PUBCERT, &certs,
                                         p), APR_EINVAL);
    assert_null(certs);

    assert_int_equal(md_store_save_text(store, MD_SG_DOMAINS, "a.org", MD_FN_PRIVKEY,
                                        "garbage", p), APR_SUCCESS);
    assert_int_equal(md_store_load_pkey(store, MD_SG_DOMAINS, "a.org", MD_FN_PRIVKEY, &pkey,
                                        p), APR_EINVAL);
    assert_null(pkey);
}

static void test_certs_roundtrip(void **state)
{
    apr_pool_t *p = *state;
    const char *base = make_tmpdir(p);
    md_store_t *store = open_store(base, p);
    md_pkey_t *pkey = make_key(p);
    apr_array_header_t *names = apr_array_make(p, 2, sizeof(const char *));
    apr_array_header_t *chain = apr_array_make(p, 2, sizeof(md_cert_t *));
    apr_array_header_t *back = NULL;
    md_cert_t *cert = NULL;
    const char *fname = NULL;

    APR_ARRAY_PUSH(names, const char *) = "a.org";
    APR_ARRAY_PUSH(names, const char *) = "www.a.org";
    assert_int_equal(md_cert_self_sign(&cert, "a.org", names, pkey, apr_time_from_sec(86400),
                                       p), APR_SUCCESS);
    APR_ARRAY_PUSH(chain, md_cert_t *) = cert;
    APR_ARRAY_PUSH(chain, md_cert_t *) = cert;
    assert_int_equal(md_store_save_certs(store, MD_SG_STAGING, "a.org", MD_FN_PUBCERT, chain,
                                         p), APR_SUCCESS);
    md_store_get_fname(store, MD_SG_STAGING, "a.org", MD_FN_PUBCERT, &fname, p);
    assert_int_equal(mode_of(fname), 0644);
    assert_int_equal(md_store_load_certs(store, MD_SG_STAGING, "a.org", MD_FN_PUBCERT, &back,
                                         p), APR_SUCCESS);
    assert_int_equal(back->nelts, 2);
    assert_string_equal(md_cert_sha256_fingerprint(MD_ARR_IDX(back, 0, md_cert_t *), p),
                        md_cert_sha256_fingerprint(cert, p));
    assert_int_equal(md_store_load_certs(store, MD_SG_STAGING, "b.org", MD_FN_PUBCERT, &back,
                                         p), APR_ENOENT);
}

/* --- the server's User as attacker (issue 11, findings 1 and 2) ------------
 * accounts/, challenges/ and staging/ belong to User: whatever User puts
 * there, the store used by root must not follow it out of the store, block
 * on it or change anything outside the store. The attacks below are what
 * User can do (symlinks, FIFOs); the hard link one needs a system with
 * fs.protected_hardlinks=0 (User then links any file into its directory). */

/* A directory outside the store with one root-only file in it. */
static const char *make_victim(const char *base, apr_pool_t *p)
{
    const char *victim = apr_pstrcat(p, base, "/victim", NULL);

    assert_int_equal(mkdir(victim, 0755), 0);
    write_all(apr_pstrcat(p, victim, "/precious", NULL), "{\"precious\": true}");
    assert_int_equal(chmod(apr_pstrcat(p, victim, "/precious", NULL), 0600), 0);
    return victim;
}

static void plant_symlink(const char *target, const char *path)
{
    assert_int_equal(symlink(target, path), 0);
}

static int is_symlink(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

/* A store at <tmp>/md and, beside it, the victim directory <tmp>/victim. */
static md_store_t *store_and_victim(const char **pbase, const char **pvictim, apr_pool_t *p)
{
    const char *tmp = make_tmpdir(p);

    *pbase = apr_pstrcat(p, tmp, "/md", NULL);
    *pvictim = make_victim(tmp, p);
    return open_store(*pbase, p);
}

static void test_user_symlinked_item_is_not_written_through(void **state)
{
    apr_pool_t *p = *state;
    const char *base;
    const char *victim;
    md_store_t *store = store_and_victim(&base, &victim, p);
    json_t *j = json_pack("{s:s}", "url", "https://ca.test/acct/1");

    /* root imports a staged account into accounts/<next free name> */
    plant_symlink(victim, apr_pstrcat(p, base, "/accounts/ACME-ca-0001", NULL));
    assert_int_not_equal(md_store_save_json(store, MD_SG_ACCOUNTS, "ACME-ca-0001",
                                            MD_FN_ACCOUNT, j, p), APR_SUCCESS);
    plant_symlink(victim, apr_pstrcat(p, base, "/staging/a.org", NULL));
    assert_int_not_equal(md_store_save_text(store, MD_SG_STAGING, "a.org", MD_FN_JOB, "{}", p),
                         APR_SUCCESS);
    json_decref(j);
    assert_int_equal(count_entries(victim), 1);
    assert_true(is_symlink(apr_pstrcat(p, base, "/staging/a.org", NULL)));
}

static void test_user_symlinks_are_not_read_through(void **state)
{
    apr_pool_t *p = *state;
    const char *base;
    const char *victim;
    md_store_t *store = store_and_victim(&base, &victim, p);
    const char *precious = apr_pstrcat(p, victim, "/precious", NULL);
    apr_array_header_t *names = NULL;
    json_t *j = NULL;

    /* a value that is a link to a file root may read */
    stage(store, "a.org", "x", p);
    assert_int_equal(unlink(apr_pstrcat(p, base, "/staging/a.org/job.json", NULL)), 0);
    plant_symlink(precious, apr_pstrcat(p, base, "/staging/a.org/job.json", NULL));
    assert_int_not_equal(md_store_load_json(store, MD_SG_STAGING, "a.org", MD_FN_JOB, &j, p),
                         APR_SUCCESS);
    assert_null(j);
    assert_false(md_store_exists(store, MD_SG_STAGING, "a.org", MD_FN_JOB, p));
    assert_int_equal(md_store_list_aspects(store, MD_SG_STAGING, "a.org", &names, p),
                     APR_SUCCESS);
    assert_int_equal(names->nelts, 1);      /* pubcert.pem only */

    /* an item that is a link to a directory root may read */
    assert_int_equal(rename(precious, apr_pstrcat(p, victim, "/job.json", NULL)), 0);
    plant_symlink(victim, apr_pstrcat(p, base, "/staging/b.org", NULL));
    assert_int_not_equal(md_store_load_json(store, MD_SG_STAGING, "b.org", MD_FN_JOB, &j, p),
                         APR_SUCCESS);
    assert_null(j);
    assert_int_equal(md_store_get_mtime(store, MD_SG_STAGING, "b.org", MD_FN_JOB, p), 0);
    assert_int_equal(md_store_list(store, MD_SG_STAGING, &names, p), APR_SUCCESS);
    assert_int_equal(names->nelts, 1);      /* a.org only */
    assert_string_equal(MD_ARR_IDX(names, 0, const char *), "a.org");
}

/* Load staging/a.org/job.json in a child process; 1 if that returned
 * within a generous deadline (the child is killed otherwise). */
static int load_returns(md_store_t *store, apr_pool_t *p)
{
    apr_time_t deadline = apr_time_now() + apr_time_from_sec(20);
    int status = 0;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        json_t *j = NULL;
        md_store_load_json(store, MD_SG_STAGING, "a.org", MD_FN_JOB, &j, p);
        md_store_get_mtime(store, MD_SG_STAGING, "a.org", MD_FN_JOB, p);
        _exit(j ? 1 : 0);
    }
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (apr_time_now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return 0;
        }
        apr_sleep(apr_time_from_msec(20));
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_user_fifo_does_not_block_reads(void **state)
{
    apr_pool_t *p = *state;
    const char *base = make_tmpdir(p);
    md_store_t *store = open_store(base, p);
    const char *fifo = apr_pstrcat(p, base, "/staging/a.org/job.json", NULL);

    stage(store, "a.org", "x", p);
    assert_int_equal(unlink(fifo), 0);
    assert_int_equal(mkfifo(fifo, 0666), 0);
    /* nobody ever writes to it: a blocking open would never return */
    assert_true(load_returns(store, p));
    assert_false(md_store_exists(store, MD_SG_STAGING, "a.org", MD_FN_JOB, p));
}

static void test_user_links_are_not_chowned_through(void **state)
{
    apr_pool_t *p = *state;
    const char *base;
    const char *victim;
    const char *precious;
    md_store_t *store;

    if (geteuid() != 0) {
        skip();
    }
    store = store_and_victim(&base, &victim, p);
    precious = apr_pstrcat(p, victim, "/precious", NULL);
    stage(store, "a.org", "x", p);
    /* a hard link to a file outside the store, a symlink to one and to a
     * directory outside */
    assert_int_equal(link(precious, apr_pstrcat(p, base, "/staging/a.org/hard", NULL)), 0);
    plant_symlink(precious, apr_pstrcat(p, base, "/staging/a.org/soft", NULL));
    plant_symlink(victim, apr_pstrcat(p, base, "/staging/b.org", NULL));
    plant_symlink(victim, apr_pstrcat(p, base, "/accounts/acct", NULL));

    md_store_set_owner(store, 65534, 65534, p);
    assert_int_equal(owner_of(precious), 0);
    assert_int_equal(owner_of(victim), 0);
    /* what is the store's own is handed over */
    assert_int_equal(owner_of(apr_pstrcat(p, base, "/staging/a.org/job.json", NULL)), 65534);
    assert_int_equal(owner_of(apr_pstrcat(p, base, "/staging/a.org", NULL)), 65534);
}

static void test_user_symlinks_are_not_deleted_through(void **state)
{
    apr_pool_t *p = *state;
    const char *base;
    const char *victim;
    md_store_t *store = store_and_victim(&base, &victim, p);

    /* a stale staging entry and a leftover of a removal, both links */
    plant_symlink(victim, apr_pstrcat(p, base, "/staging/old.org", NULL));
    plant_symlink(victim, apr_pstrcat(p, base, "/staging/.gone.0badc0ffee00", NULL));
    assert_int_equal(md_store_purge(store, MD_SG_STAGING, "old.org", p), APR_SUCCESS);
    store = open_store(base, p);
    assert_int_equal(count_entries(victim), 1);
    assert_int_equal(count_entries(apr_pstrcat(p, base, "/staging", NULL)), 0);
}

/* --- User fills a directory with entries (issue 11) ------------------------ */

#define SMALL_CAP   1000

static apr_status_t cap_reset(void *data)
{
    (void)data;
    md_fsio_set_user_dir_max(0);
    return APR_SUCCESS;
}

/* count empty files (or directories) named <prefix>NNNNN in dir */
static void plant_entries(const char *dir, const char *prefix, int count, int dirs,
                          apr_pool_t *p)
{
    int i;

    for (i = 0; i < count; ++i) {
        const char *path = apr_psprintf(p, "%s/%s%05d", dir, prefix, i);
        if (dirs) {
            assert_int_equal(mkdir(path, 0755), 0);
        }
        else {
            int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
            assert_true(fd >= 0);
            close(fd);
        }
    }
}

/* User makes cap + 1000 entries in an item and in a group of its own: root
 * reads no more than the cap of them, says which directory, and the store
 * keeps working (values read by name, listings, purge, chown). A small cap
 * for the groups (directories are slow to make), the real one
 * (MD_FSIO_USER_DIR_MAX) for an item's files. */
static void test_user_many_entries_are_capped(void **state)
{
    apr_pool_t *p = *state;
    const char *base = make_tmpdir(p);
    md_store_t *store = open_store(base, p);
    apr_array_header_t *names = NULL;
    const char *item = apr_pstrcat(p, base, "/staging/a.org", NULL);
    const char *text = NULL;
    json_t *j = NULL;

    md_fsio_set_user_dir_max(SMALL_CAP);
    apr_pool_cleanup_register(p, NULL, cap_reset, apr_pool_cleanup_null);
    assert_int_equal(md_fsio_user_dir_max(), SMALL_CAP);
    stage(store, "a.org", "x", p);
    stage(store, "b.org", "y", p);
    plant_entries(item, "junk", SMALL_CAP + 1000, 0, p);
    plant_entries(apr_pstrcat(p, base, "/staging", NULL), "junk", SMALL_CAP + 1000, 1, p);
    plant_entries(apr_pstrcat(p, base, "/challenges", NULL), "c", SMALL_CAP + 1000, 0, p);

    /* an item's aspects: the cap, every one a regular file */
    clear_log();
    assert_int_equal(md_store_list_aspects(store, MD_SG_STAGING, "a.org", &names, p),
                     APR_SUCCESS);
    assert_int_equal(names->nelts, SMALL_CAP);
    assert_non_null(strstr(last_errors, apr_psprintf(p, "MD05202: %s: more than %d entries",
                                                     item, SMALL_CAP)));
    /* the group: no more than the cap of items */
    clear_log();
    assert_int_equal(md_store_list(store, MD_SG_STAGING, &names, p), APR_SUCCESS);
    assert_true(names->nelts <= SMALL_CAP);
    assert_non_null(strstr(last_errors, apr_psprintf(p, "MD05202: %s/staging: more than",
                                                     base)));
    clear_log();
    assert_int_equal(md_store_list(store, MD_SG_CHALLENGES, &names, p), APR_SUCCESS);
    assert_int_equal(names->nelts, 0);
    assert_non_null(strstr(last_errors, "/challenges: more than"));

    /* values by name are read as ever */
    assert_int_equal(md_store_load_json(store, MD_SG_STAGING, "a.org", MD_FN_JOB, &j, p),
                     APR_SUCCESS);
    assert_int_equal(md_store_load_text(store, MD_SG_STAGING, "b.org", MD_FN_PUBCERT, &text, p),
                     APR_SUCCESS);
    assert_string_equal(text, "y");

    /* a restart (leftovers, chown as root) comes through */
    store = open_store(base, p);
    if (geteuid() == 0) {
        md_store_set_owner(store, 65534, 65534, p);
        assert_int_equal(owner_of(apr_pstrcat(p, base, "/staging", NULL)), 65534);
    }
    /* purging the stuffed item takes the cap per go: it goes in the end */
    assert_int_equal(md_store_list_aspects(store, MD_SG_STAGING, "a.org", &names, p),
                     APR_SUCCESS);
    md_store_purge(store, MD_SG_STAGING, "a.org", p);
    md_store_purge(store, MD_SG_STAGING, "a.org", p);
    assert_false(path_exists(item));

    /* the cap in production, the same way */
    md_fsio_set_user_dir_max(0);
    assert_int_equal(md_fsio_user_dir_max(), MD_FSIO_USER_DIR_MAX);
    stage(store, "big.org", "x", p);
    plant_entries(apr_pstrcat(p, base, "/staging/big.org", NULL), "junk",
                  MD_FSIO_USER_DIR_MAX + 1000, 0, p);
    clear_log();
    assert_int_equal(md_store_list_aspects(store, MD_SG_STAGING, "big.org", &names, p),
                     APR_SUCCESS);
    assert_int_equal(names->nelts, MD_FSIO_USER_DIR_MAX);
    assert_non_null(strstr(last_errors, "/staging/big.org: more than"));

    /* root's own directories have no cap */
    clear_log();
    assert_int_equal(md_store_save_text(store, MD_SG_DOMAINS, "d.org", MD_FN_PUBCERT, "z", p),
                     APR_SUCCESS);
    plant_entries(apr_pstrcat(p, base, "/domains/d.org", NULL), "f", SMALL_CAP + 1000, 0, p);
    assert_int_equal(md_store_list_aspects(store, MD_SG_DOMAINS, "d.org", &names, p),
                     APR_SUCCESS);
    assert_int_equal(names->nelts, SMALL_CAP + 1001);
    assert_null(strstr(last_errors, "MD05202"));
}

/* The race User wins against path-based walks: a directory of the item,
 * once looked at, is swapped with a symlink to a directory outside before
 * root walks into it. A thread plays User: it swaps staging/a.org/sub and
 * staging/a.org/lnk (-> victim) back and forth through a descriptor of
 * staging/a.org, so it follows the item wherever root renames it. */
typedef struct {
    int dir_fd;
    volatile int stop;
} swapper_t;

static void *APR_THREAD_FUNC swap_loop(apr_thread_t *thread, void *data)
{
    swapper_t *sw = data;

    (void)thread;
    while (!sw->stop) {
        renameat2(sw->dir_fd, "sub", sw->dir_fd, "lnk", RENAME_EXCHANGE);
    }
    return NULL;
}

static void plant_racing_item(const char *item, const char *victim, apr_pool_t *p)
{
    int i;

    assert_int_equal(mkdir(item, 0755), 0);
    assert_int_equal(mkdir(apr_pstrcat(p, item, "/sub", NULL), 0755), 0);
    for (i = 0; i < 16; ++i) {
        write_all(apr_psprintf(p, "%s/sub/f%02d", item, i), "x");
    }
    write_all(apr_pstrcat(p, item, "/sub/precious", NULL), "x");
    plant_symlink(victim, apr_pstrcat(p, item, "/lnk", NULL));
}

static void race(const char *base, const char *victim, int chown_it, apr_pool_t *p)
{
    const char *item = apr_pstrcat(p, base, "/staging/a.org", NULL);
    md_store_t *store = open_store(base, p);
    apr_thread_t *thread;
    apr_status_t trv;
    swapper_t sw;
    int round;

    for (round = 0; round < 1000; ++round) {
        rm_rf(item);
        plant_racing_item(item, victim, p);
        sw.dir_fd = open(item, O_RDONLY | O_DIRECTORY);
        sw.stop = 0;
        assert_true(sw.dir_fd >= 0);
        assert_int_equal(apr_thread_create(&thread, NULL, swap_loop, &sw, p), APR_SUCCESS);
        if (chown_it) {
            md_store_set_owner(store, 65534, 65534, p);
        }
        else {
            md_store_purge(store, MD_SG_STAGING, "a.org", p);
        }
        sw.stop = 1;
        apr_thread_join(&trv, thread);
        close(sw.dir_fd);
        if (count_entries(victim) != 1
            || !path_exists(apr_pstrcat(p, victim, "/precious", NULL))
            || owner_of(victim) != 0 || owner_of(apr_pstrcat(p, victim, "/precious", NULL)) != 0) {
            fail_msg("round %d: root %s the victim directory through a swapped symlink",
                     round, chown_it ? "chowned" : "deleted in");
        }
    }
}

static void test_user_swap_race_chown(void **state)
{
    apr_pool_t *p = *state;
    const char *tmp;

    if (geteuid() != 0) {
        skip();
    }
    tmp = make_tmpdir(p);
    race(apr_pstrcat(p, tmp, "/md", NULL), make_victim(tmp, p), 1, p);
}

static void test_user_swap_race_delete(void **state)
{
    apr_pool_t *p = *state;
    const char *tmp = make_tmpdir(p);

    race(apr_pstrcat(p, tmp, "/md", NULL), make_victim(tmp, p), 0, p);
}

/* --- batches: what a run of operations opens stays open ------------------ */

static int open_fds(void)
{
    return count_entries("/proc/self/fd");
}

static const char *live_text(md_store_t *store, const char *name, apr_pool_t *p)
{
    const char *text = NULL;

    if (md_store_load_text(store, MD_SG_DOMAINS, name, MD_FN_PUBCERT, &text, p) != APR_SUCCESS) {
        return NULL;
    }
    return text;
}

/* The batch holds the group directories and the item last used, and lets
 * go of them, and of itself, when its pool goes: nothing it held may
 * reach a child forked later. */
static void test_batch_holds_and_releases(void **state)
{
    apr_pool_t *p = *state;
    const char *base = make_tmpdir(p);
    md_store_t *store = open_store(base, p);
    apr_pool_t *bp;
    int before, held;

    stage(store, "a.org", "v1", p);
    assert_int_equal(md_store_move(store, MD_SG_STAGING, MD_SG_DOMAINS, "a.org", 1, p),
                     APR_SUCCESS);
    before = open_fds();
    assert_int_equal(apr_pool_create(&bp, p), APR_SUCCESS);
    md_store_batch_begin(store, bp);
    assert_string_equal(live_text(store, "a.org", p), "v1");
    /* base, domains/, domains/a.org */
    held = open_fds();
    assert_int_equal(held, before + 3);
    assert_string_equal(live_text(store, "a.org", p), "v1");
    assert_true(md_store_exists(store, MD_SG_DOMAINS, "a.org", MD_FN_PUBCERT, p));
    assert_int_equal(open_fds(), held);
    /* Another item: the first one's directory is closed. */
    assert_null(live_text(store, "b.org", p));
    assert_int_equal(open_fds(), held - 1);
    /* An item not there is looked up once: made behind the batch's back,
     * it stays unseen until the batch opens another item. */
    assert_int_equal(mkdir(apr_pstrcat(p, base, "/domains/b.org", NULL), 0700), 0);
    write_all(apr_pstrcat(p, base, "/domains/b.org/", MD_FN_PUBCERT, NULL), "b0");
    assert_false(md_store_exists(store, MD_SG_DOMAINS, "b.org", MD_FN_PUBCERT, p));
    assert_string_equal(live_text(store, "a.org", p), "v1");
    assert_int_equal(md_store_save_text(store, MD_SG_DOMAINS, "b.org", MD_FN_PUBCERT, "b1", p),
                     APR_SUCCESS);
    assert_string_equal(live_text(store, "b.org", p), "b1");
    apr_pool_destroy(bp);
    assert_int_equal(open_fds(), before);
    /* Without a batch, every operation opens and closes its own. */
    assert_string_equal(live_text(store, "a.org", p), "v1");
    assert_int_equal(open_fds(), before);
}

/* Within a batch, items replaced by move, rename and purge are read anew:
 * never the directory held from before (now in archive/ or gone). */
static void test_batch_follows_moves(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *store = open_store(make_tmpdir(p), p);
    apr_pool_t *bp;

    assert_int_equal(apr_pool_create(&bp, p), APR_SUCCESS);
    md_store_batch_begin(store, bp);
    /* not there yet, then moved in */
    assert_null(live_text(store, "a.org", p));
    stage(store, "a.org", "v1", p);
    assert_int_equal(md_store_move(store, MD_SG_STAGING, MD_SG_DOMAINS, "a.org", 1, p),
                     APR_SUCCESS);
    assert_string_equal(live_text(store, "a.org", p), "v1");
    stage(store, "a.org", "v2", p);
    assert_string_equal(live_text(store, "a.org", p), "v1");
    assert_int_equal(md_store_move(store, MD_SG_STAGING, MD_SG_DOMAINS, "a.org", 1, p),
                     APR_SUCCESS);
    assert_string_equal(live_text(store, "a.org", p), "v2");

    assert_int_equal(md_store_rename(store, MD_SG_DOMAINS, "a.org", "b.org", p), APR_SUCCESS);
    assert_null(live_text(store, "a.org", p));
    assert_string_equal(live_text(store, "b.org", p), "v2");
    assert_int_equal(md_store_save_text(store, MD_SG_DOMAINS, "a.org", MD_FN_PUBCERT, "v3", p),
                     APR_SUCCESS);
    assert_string_equal(live_text(store, "a.org", p), "v3");

    assert_int_equal(md_store_purge(store, MD_SG_DOMAINS, "a.org", p), APR_SUCCESS);
    assert_null(live_text(store, "a.org", p));
    assert_false(md_store_exists(store, MD_SG_DOMAINS, "a.org", MD_FN_PUBCERT, p));
    assert_int_equal(md_store_save_text(store, MD_SG_DOMAINS, "a.org", MD_FN_PUBCERT, "v4", p),
                     APR_SUCCESS);
    assert_string_equal(live_text(store, "a.org", p), "v4");
    apr_pool_destroy(bp);
    assert_string_equal(live_text(store, "a.org", p), "v4");
    assert_string_equal(live_text(store, "b.org", p), "v2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_open_creates_layout),
        UNIT_TEST(test_reopen_same_key),
        UNIT_TEST(test_corrupt_store_json),
        UNIT_TEST(test_save_load_roundtrip),
        UNIT_TEST(test_bad_names),
        UNIT_TEST(test_atomic_save_modes),
        UNIT_TEST(test_fname_mtime_exists_remove),
        UNIT_TEST(test_version),
        UNIT_TEST(test_move_archive),
        UNIT_TEST(test_move_archive_encrypts_keys),
        UNIT_TEST(test_rename),
        UNIT_TEST(test_lock),
        UNIT_TEST(test_fsio_write_atomic),
        UNIT_TEST(test_fsio_copy_and_exchange),
        UNIT_TEST(test_fsio_never_follows),
        UNIT_TEST(test_fsio_chown_tree_skips_foreign_names),
        UNIT_TEST(test_purge),
        UNIT_TEST(test_list_sorted),
        UNIT_TEST(test_set_owner),
        UNIT_TEST(test_leftovers),
        UNIT_TEST(test_pkey_encrypted_and_plain),
        UNIT_TEST(test_pkey_wrong_store_key),
        UNIT_TEST(test_corrupt_values),
        UNIT_TEST(test_certs_roundtrip),
        UNIT_TEST(test_user_symlinked_item_is_not_written_through),
        UNIT_TEST(test_user_symlinks_are_not_read_through),
        UNIT_TEST(test_user_fifo_does_not_block_reads),
        UNIT_TEST(test_user_links_are_not_chowned_through),
        UNIT_TEST(test_user_symlinks_are_not_deleted_through),
        UNIT_TEST(test_user_swap_race_chown),
        UNIT_TEST(test_user_swap_race_delete),
        UNIT_TEST(test_user_many_entries_are_capped),
        UNIT_TEST(test_batch_holds_and_releases),
        UNIT_TEST(test_batch_follows_moves),
    };

    md_log_set(log_level, log_print, NULL);
    return UNIT_RUN(tests);
}
