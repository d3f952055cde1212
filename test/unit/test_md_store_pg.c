/* Unit tests of the PostgreSQL store (md_store_pg*.c) against a real
 * PostgreSQL (see unit_pg.h). */
#include "unit.h"
#include "unit_pg.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <libpq-fe.h>

#include "md_crypt.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_store.h"
#include "md_store_pg.h"
#include "md_util.h"

static int setup(void **state)
{
    if (unit_pg_setup(state) != 0) {
        return -1;
    }
    unit_pg_log_setup(MD_LOG_ERR, NULL);
    return 0;
}

static const char *local_path(const char *node, const char *rel, apr_pool_t *p)
{
    return apr_pstrcat(p, unit_pg_tmpdir(p), "/", node, "/", rel, NULL);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static char *slurp(const char *path, apr_pool_t *p)
{
    char *data = NULL;
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t n;

    assert_int_equal(apr_file_open(&f, path, APR_FOPEN_READ, 0, p), APR_SUCCESS);
    assert_int_equal(apr_file_info_get(&fi, APR_FINFO_SIZE, f), APR_SUCCESS);
    n = (apr_size_t)fi.size;
    data = apr_pcalloc(p, n + 1);
    assert_int_equal(apr_file_read_full(f, data, n, &n), APR_SUCCESS);
    apr_file_close(f);
    return data;
}

static json_t *obj(const char *key, const char *val, apr_pool_t *p)
{
    json_t *j = md_json_pool_own(p, json_object());
    md_json_set_str(j, key, val);
    return j;
}

static md_pkey_t *new_key(apr_pool_t *p)
{
    md_pkey_spec_t spec = { MD_PKEY_TYPE_EC, 0, "P-256" };
    md_pkey_t *pkey = NULL;

    assert_int_equal(md_pkey_gen(&pkey, p, &spec), APR_SUCCESS);
    return pkey;
}

/* --- values ------------------------------------------------------------------ */

static void test_values_roundtrip(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *s = unit_pg_open_node("a", p);
    apr_array_header_t *names = NULL;
    json_t *j = NULL;
    const char *text;

    assert_true(s->shared);
    assert_string_equal(s->backend, MD_STORE_BACKEND_POSTGRESQL);
    assert_string_equal(s->node, "a");
    assert_non_null(s->key);
    assert_string_equal(unit_pg_sql1("SELECT value FROM md_meta WHERE name = 'schema-version'",
                                     p), "1");

    assert_int_equal(md_store_save_json(s, MD_SG_STAGING, "x.test", MD_FN_JOB,
                                        obj("name", "x.test", p), p), APR_SUCCESS);
    assert_int_equal(md_store_save_json(s, MD_SG_STAGING, "b.test", MD_FN_JOB,
                                        obj("name", "b.test", p), p), APR_SUCCESS);
    assert_int_equal(md_store_load_json(s, MD_SG_STAGING, "x.test", MD_FN_JOB, &j, p),
                     APR_SUCCESS);
    assert_string_equal(md_json_get_str(j, "name"), "x.test");
    assert_int_equal(md_store_list(s, MD_SG_STAGING, &names, p), APR_SUCCESS);
    assert_int_equal(names->nelts, 2);
    assert_string_equal(MD_ARR_IDX(names, 0, const char *), "b.test");
    assert_true(md_store_get_mtime(s, MD_SG_STAGING, "x.test", MD_FN_JOB, p) > 0);
    assert_int_equal(md_store_get_mtime(s, MD_SG_STAGING, "x.test", "nope", p), 0);
    assert_int_equal(md_store_load_json(s, MD_SG_STAGING, "x.test", "nope", &j, p), APR_ENOENT);

    /* Staging is not on the local disk at all. */
    assert_false(exists(local_path("a", "staging/x.test/job.json", p)));
    /* Text, remove, list_aspects, purge. */
    assert_int_equal(md_store_save_text(s, MD_SG_CHALLENGES, "x.test", MD_FN_HTTP01, "tok.abc",
                                        p), APR_SUCCESS);
    assert_int_equal(md_store_load_text(s, MD_SG_CHALLENGES, "x.test", MD_FN_HTTP01, &text, p),
                     APR_SUCCESS);
    assert_string_equal(text, "tok.abc");
    assert_int_equal(md_store_list_aspects(s, MD_SG_CHALLENGES, "x.test", &names, p),
                     APR_SUCCESS);
    assert_int_equal(names->nelts, 1);
    assert_int_equal(md_store_remove(s, MD_SG_CHALLENGES, "x.test", MD_FN_HTTP01, p),
                     APR_SUCCESS);
    assert_int_equal(md_store_remove(s, MD_SG_CHALLENGES, "x.test", MD_FN_HTTP01, p),
                     APR_ENOENT);
    assert_int_equal(md_store_purge(s, MD_SG_STAGING, "x.test", p), APR_SUCCESS);
    assert_int_equal(md_store_purge(s, MD_SG_STAGING, "x.test", p), APR_ENOENT);
    assert_int_equal(md_store_list_aspects(s, MD_SG_STAGING, "x.test", &names, p), APR_ENOENT);
    /* Names the file store would refuse are refused here too. */
    assert_int_equal(md_store_save_text(s, MD_SG_STAGING, "../x", "a", "b", p), APR_EINVAL);
    assert_int_equal(md_store_save_text(s, MD_SG_STAGING, "x", ".hidden", "b", p), APR_EINVAL);
}

static void test_keys_sealed(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *s = unit_pg_open_node("a", p);
    md_pkey_t *key = new_key(p), *back = NULL;
    const char *fname = NULL;
    char *data;

    /* Encrypted in staging (PKCS#8 with the store key), sealed on top. */
    assert_int_equal(md_store_save_pkey(s, MD_SG_STAGING, "x.test", MD_FN_PRIVKEY, key, p),
                     APR_SUCCESS);
    /* Plain in domains for mod_ssl: sealed in the database, plain on disk. */
    assert_int_equal(md_store_save_pkey(s, MD_SG_DOMAINS, "x.test", MD_FN_PRIVKEY, key, p),
                     APR_SUCCESS);
    assert_string_equal(unit_pg_sql1("SELECT count(*) FROM md_values WHERE sealed", p), "2");
    assert_string_equal(unit_pg_sql1("SELECT count(*) FROM md_values WHERE position('PRIVATE' in "
                             "encode(data, 'escape')) > 0", p), "0");
    assert_int_equal(md_store_get_fname(s, MD_SG_DOMAINS, "x.test", MD_FN_PRIVKEY, &fname, p),
                     APR_SUCCESS);
    data = slurp(fname, p);
    assert_non_null(strstr(data, "BEGIN PRIVATE KEY"));
    assert_int_equal(md_store_load_pkey(s, MD_SG_STAGING, "x.test", MD_FN_PRIVKEY, &back, p),
                     APR_SUCCESS);
    assert_int_equal(md_store_load_pkey(s, MD_SG_DOMAINS, "x.test", MD_FN_PRIVKEY, &back, p),
                     APR_SUCCESS);
}

static void test_peer_and_key_mismatch(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *a = unit_pg_open_node("a", p);
    md_store_t *b, *c;
    md_pkey_t *key = NULL;

    assert_int_equal(md_store_save_pkey(a, MD_SG_ACCOUNTS, "acct-1", MD_FN_ACCT_KEY,
                                        new_key(p), p), APR_SUCCESS);
    /* A node with the cluster's key reads it. */
    b = unit_pg_open_peer("b", "a", p);
    assert_non_null(b->key);
    assert_int_equal(md_store_load_pkey(b, MD_SG_ACCOUNTS, "acct-1", MD_FN_ACCT_KEY, &key, p),
                     APR_SUCCESS);
    /* A node with a key of its own is told, and neither reads nor writes keys. */
    c = unit_pg_open_node("c", p);
    assert_null(c->key);
    assert_non_null(strstr(c->key_problem, "not the one of the store database"));
    assert_int_not_equal(md_store_load_pkey(c, MD_SG_ACCOUNTS, "acct-1", MD_FN_ACCT_KEY, &key,
                                            p), APR_SUCCESS);
    assert_int_not_equal(md_store_save_text(c, MD_SG_DOMAINS, "y.test", MD_FN_PRIVKEY,
                                            "-----BEGIN PRIVATE KEY-----\n", p), APR_SUCCESS);
}

/* --- leases -------------------------------------------------------------------- */

static void test_leases_and_fencing(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *a = unit_pg_open_node("a", p);
    md_store_t *b = unit_pg_open_peer("b", "a", p);
    md_store_lease_t *la = NULL, *lb = NULL, *again = NULL;
    md_store_t *fa = NULL, *fb = NULL;
    apr_array_header_t *leases = NULL;

    assert_int_equal(md_store_lease_acquire(a, "x.test", apr_time_from_sec(30), &la, p),
                     APR_SUCCESS);
    assert_int_equal(la->epoch, 1);
    assert_true(la->mine);
    /* Held: b learns by whom. */
    assert_int_equal(md_store_lease_acquire(b, "x.test", apr_time_from_sec(30), &lb, p),
                     APR_EAGAIN);
    assert_non_null(lb);
    assert_string_equal(lb->node, "a");
    assert_false(lb->mine);
    /* The holder again: same epoch. */
    assert_int_equal(md_store_lease_acquire(a, "x.test", apr_time_from_sec(30), &again, p),
                     APR_SUCCESS);
    assert_int_equal(again->epoch, 1);
    assert_int_equal(md_store_fence(a, la, &fa, p), APR_SUCCESS);
    assert_int_equal(md_store_save_text(fa, MD_SG_STAGING, "x.test", "order.json", "{}", p),
                     APR_SUCCESS);

    assert_int_equal(md_store_lease_list(b, &leases, p), APR_SUCCESS);
    assert_int_equal(leases->nelts, 1);
    assert_string_equal(MD_ARR_IDX(leases, 0, md_store_lease_t *)->node, "a");
    assert_true(MD_ARR_IDX(leases, 0, md_store_lease_t *)->held);

    /* Released: b takes it with a new epoch, a's late writes are refused. */
    assert_int_equal(md_store_lease_release(a, la, p), APR_SUCCESS);
    assert_int_equal(md_store_lease_acquire(b, "x.test", apr_time_from_sec(30), &lb, p),
                     APR_SUCCESS);
    assert_int_equal(lb->epoch, 2);
    assert_int_equal(md_store_save_text(fa, MD_SG_STAGING, "x.test", "order.json", "{\"a\":1}",
                                        p), APR_EACCES);
    assert_int_equal(md_store_purge(fa, MD_SG_STAGING, "x.test", p), APR_EACCES);
    assert_int_equal(md_store_fence(b, lb, &fb, p), APR_SUCCESS);
    assert_int_equal(md_store_save_text(fb, MD_SG_STAGING, "x.test", "order.json", "{\"b\":1}",
                                        p), APR_SUCCESS);
    assert_int_equal(md_store_lease_renew(a, la, apr_time_from_sec(30), p), APR_EACCES);
    assert_int_equal(md_store_lease_renew(b, lb, apr_time_from_sec(30), p), APR_SUCCESS);
}

static void test_lease_expiry(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *a = unit_pg_open_node("a", p);
    md_store_t *b = unit_pg_open_peer("b", "a", p);
    md_store_lease_t *la = NULL, *lb = NULL;
    md_store_t *fa = NULL;

    assert_int_equal(md_store_lease_acquire(a, "x.test", apr_time_from_msec(300), &la, p),
                     APR_SUCCESS);
    assert_int_equal(md_store_fence(a, la, &fa, p), APR_SUCCESS);
    /* Expired and not taken: the holder may still renew and write. */
    apr_sleep(apr_time_from_msec(400));
    assert_int_equal(md_store_lease_renew(a, la, apr_time_from_msec(300), p), APR_SUCCESS);
    assert_int_equal(md_store_save_text(fa, MD_SG_STAGING, "x.test", "a", "1", p), APR_SUCCESS);
    apr_sleep(apr_time_from_msec(400));
    /* Taken over after expiry: a new epoch, a is out. */
    assert_int_equal(md_store_lease_acquire(b, "x.test", apr_time_from_sec(30), &lb, p),
                     APR_SUCCESS);
    assert_int_equal(lb->epoch, la->epoch + 1);
    assert_int_equal(md_store_save_text(fa, MD_SG_STAGING, "x.test", "a", "2", p), APR_EACCES);
    assert_int_equal(md_store_lease_renew(a, la, apr_time_from_sec(1), p), APR_EACCES);
}

static void test_unfenced_staging_purge_ends_lease(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *a = unit_pg_open_node("a", p);
    md_store_lease_t *la = NULL, *again = NULL;
    md_store_t *fa = NULL;

    assert_int_equal(md_store_lease_acquire(a, "x.test", apr_time_from_sec(30), &la, p),
                     APR_SUCCESS);
    assert_int_equal(md_store_fence(a, la, &fa, p), APR_SUCCESS);
    assert_int_equal(md_store_save_text(fa, MD_SG_STAGING, "x.test", "a", "1", p), APR_SUCCESS);
    /* The parent activating (or dropping) the staged set. */
    assert_int_equal(md_store_purge(a, MD_SG_STAGING, "x.test", p), APR_SUCCESS);
    assert_int_equal(md_store_save_text(fa, MD_SG_STAGING, "x.test", "a", "2", p), APR_EACCES);
    assert_int_equal(md_store_lease_acquire(a, "x.test", apr_time_from_sec(30), &again, p),
                     APR_SUCCESS);
    assert_int_equal(again->epoch, 3);
}

static void test_store_lock(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *a = unit_pg_open_node("a", p);
    md_store_t *b = unit_pg_open_peer("b", "a", p);

    assert_int_equal(md_store_lock(a, apr_time_from_msec(100), p), APR_SUCCESS);
    assert_int_equal(md_store_lock(b, apr_time_from_msec(300), p), APR_TIMEUP);
    assert_int_equal(md_store_unlock(a, p), APR_SUCCESS);
    assert_int_equal(md_store_lock(b, apr_time_from_msec(300), p), APR_SUCCESS);
    assert_int_equal(md_store_unlock(b, p), APR_SUCCESS);
}

/* Servers racing for one lease at the same instant: exactly one wins. */
typedef struct {
    md_store_t *store;
    apr_status_t rv;
} racer_t;

static void *APR_THREAD_FUNC race(apr_thread_t *t, void *data)
{
    racer_t *r = data;
    apr_pool_t *p;
    md_store_lease_t *lease = NULL;

    apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    r->rv = md_store_lease_acquire(r->store, "race.test", apr_time_from_sec(30), &lease, p);
    apr_pool_destroy(p);
    (void)t;
    return NULL;   /* not apr_thread_exit: pthread_exit unwinding upsets ASan */
}

static void test_lease_race(void **state)
{
    apr_pool_t *p = *state;
    racer_t racers[6];
    apr_thread_t *threads[6];
    apr_status_t trv;
    int i, won = 0;

    racers[0].store = unit_pg_open_node("n0", p);
    for (i = 1; i < 6; ++i) {
        racers[i].store = unit_pg_open_peer(apr_psprintf(p, "n%d", i), "n0", p);
    }
    for (i = 0; i < 6; ++i) {
        assert_int_equal(apr_thread_create(&threads[i], NULL, race, &racers[i], p),
                         APR_SUCCESS);
    }
    for (i = 0; i < 6; ++i) {
        apr_thread_join(&trv, threads[i]);
        if (racers[i].rv == APR_SUCCESS) {
            ++won;
        }
        else {
            assert_int_equal(racers[i].rv, APR_EAGAIN);
        }
    }
    assert_int_equal(won, 1);
    assert_string_equal(unit_pg_sql1("SELECT epoch FROM md_leases WHERE name = 'race.test'",
                                     p), "1");
}

/* --- activation and the local copies ------------------------------------------- */

static void stage_set(md_store_t *s, md_store_group_t group, const char *name,
                      const char *tag, apr_pool_t *p)
{
    assert_int_equal(md_store_save_pkey(s, group, name, MD_FN_PRIVKEY, new_key(p), p),
                     APR_SUCCESS);
    assert_int_equal(md_store_save_text(s, group, name, MD_FN_PUBCERT, tag, p), APR_SUCCESS);
    assert_int_equal(md_store_save_json(s, group, name, MD_FN_MD, obj("name", name, p), p),
                     APR_SUCCESS);
}

static void test_activation_and_mirror(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *a = unit_pg_open_node("a", p);
    md_store_t *b = unit_pg_open_peer("b", "a", p);
    apr_array_header_t *changes = NULL, *names = NULL;
    const char *fname = NULL, *text = NULL;

    /* a activates a first set: built in its local tmp/, moved in. */
    stage_set(a, MD_SG_TMP, "x.test", "cert-1", p);
    assert_true(exists(local_path("a", "tmp/x.test/pubcert.pem", p)));
    assert_int_equal(md_store_move(a, MD_SG_TMP, MD_SG_DOMAINS, "x.test", 1, p), APR_SUCCESS);
    assert_false(exists(local_path("a", "tmp/x.test", p)));
    assert_string_equal(slurp(local_path("a", "domains/x.test/pubcert.pem", p), p), "cert-1");
    assert_int_equal(md_store_changes(a, MD_SG_DOMAINS, &changes, p), APR_SUCCESS);
    assert_int_equal(changes->nelts, 0);

    /* b sees the change, its copy follows when mod_ssl asks for the file. */
    assert_int_equal(md_store_changes(b, MD_SG_DOMAINS, &changes, p), APR_SUCCESS);
    assert_int_equal(changes->nelts, 1);
    assert_string_equal(MD_ARR_IDX(changes, 0, md_store_change_t *)->name, "x.test");
    assert_int_equal(md_store_get_fname(b, MD_SG_DOMAINS, "x.test", MD_FN_PUBCERT, &fname, p),
                     APR_SUCCESS);
    assert_string_equal(slurp(fname, p), "cert-1");
    assert_non_null(strstr(slurp(local_path("b", "domains/x.test/privkey.pem", p), p),
                           "PRIVATE KEY"));
    assert_int_equal(md_store_changes(b, MD_SG_DOMAINS, &changes, p), APR_SUCCESS);
    assert_int_equal(changes->nelts, 0);

    /* A second activation archives the first set, in one transaction. */
    stage_set(a, MD_SG_TMP, "x.test", "cert-2", p);
    assert_int_equal(md_store_move(a, MD_SG_TMP, MD_SG_DOMAINS, "x.test", 1, p), APR_SUCCESS);
    assert_int_equal(md_store_load_text(b, MD_SG_DOMAINS, "x.test", MD_FN_PUBCERT, &text, p),
                     APR_SUCCESS);
    assert_string_equal(text, "cert-2");
    assert_int_equal(md_store_load_text(b, MD_SG_ARCHIVE, "x.test.1", MD_FN_PUBCERT, &text, p),
                     APR_SUCCESS);
    assert_string_equal(text, "cert-1");
    assert_int_equal(md_store_list(b, MD_SG_ARCHIVE, &names, p), APR_SUCCESS);
    assert_int_equal(names->nelts, 1);
    assert_int_equal(md_store_changes(b, MD_SG_DOMAINS, &changes, p), APR_SUCCESS);
    assert_int_equal(changes->nelts, 1);
    /* The copy is made once per opened store unless asked again. */
    assert_int_equal(md_store_get_fname(b, MD_SG_DOMAINS, "x.test", MD_FN_PUBCERT, &fname, p),
                     APR_SUCCESS);
    assert_string_equal(slurp(fname, p), "cert-1");
    b = unit_pg_open_peer("b2", "a", p);
    assert_int_equal(md_store_get_fname(b, MD_SG_DOMAINS, "x.test", MD_FN_PUBCERT, &fname, p),
                     APR_SUCCESS);
    assert_string_equal(slurp(fname, p), "cert-2");
}

static void test_staging_move_and_rename(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *a = unit_pg_open_node("a", p);
    const char *text = NULL;
    apr_array_header_t *names = NULL;

    stage_set(a, MD_SG_STAGING, "x.test", "cert-s", p);
    assert_int_equal(md_store_move(a, MD_SG_STAGING, MD_SG_DOMAINS, "x.test", 0, p),
                     APR_SUCCESS);
    assert_int_equal(md_store_list(a, MD_SG_STAGING, &names, p), APR_SUCCESS);
    assert_int_equal(names->nelts, 0);
    assert_string_equal(slurp(local_path("a", "domains/x.test/pubcert.pem", p), p), "cert-s");
    assert_int_equal(md_store_rename(a, MD_SG_DOMAINS, "x.test", "y.test", p), APR_SUCCESS);
    assert_int_equal(md_store_load_text(a, MD_SG_DOMAINS, "y.test", MD_FN_PUBCERT, &text, p),
                     APR_SUCCESS);
    assert_string_equal(text, "cert-s");
    assert_true(exists(local_path("a", "domains/y.test/pubcert.pem", p)));
    assert_int_equal(md_store_rename(a, MD_SG_DOMAINS, "x.test", "z.test", p), APR_ENOENT);
    stage_set(a, MD_SG_DOMAINS, "z.test", "cert-z", p);
    assert_int_equal(md_store_rename(a, MD_SG_DOMAINS, "y.test", "z.test", p), APR_EEXIST);
}

/* --- first use: importing a file store ------------------------------------------- */

static void test_import_file_store(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = apr_pstrcat(p, unit_pg_tmpdir(p), "/a", NULL);
    md_store_t *fs = NULL, *a, *b;
    json_t *j = NULL;
    md_pkey_t *key = NULL;
    apr_array_header_t *changes = NULL;
    const char *text;

    assert_int_equal(md_store_fs_open(&fs, p, dir), APR_SUCCESS);
    assert_int_equal(md_store_save_pkey(fs, MD_SG_ACCOUNTS, "ACME-x-0000", MD_FN_ACCT_KEY,
                                        new_key(p), p), APR_SUCCESS);
    assert_int_equal(md_store_save_json(fs, MD_SG_ACCOUNTS, "ACME-x-0000", MD_FN_ACCOUNT,
                                        obj("url", "https://ca/acct/1", p), p), APR_SUCCESS);
    stage_set(fs, MD_SG_DOMAINS, "x.test", "live-cert", p);
    assert_int_equal(md_store_save_json(fs, MD_SG_DOMAINS, "x.test", MD_FN_JOB,
                                        obj("name", "x.test", p), p), APR_SUCCESS);
    assert_int_equal(md_store_save_text(fs, MD_SG_DOMAINS, "x.test", MD_FN_FALLBACK_CERT,
                                        "fallback", p), APR_SUCCESS);
    assert_int_equal(md_store_save_json(fs, MD_SG_STAGING, "y.test", MD_FN_JOB,
                                        obj("name", "y.test", p), p), APR_SUCCESS);

    a = unit_pg_open_node("a", p);
    assert_non_null(unit_pg_sql1("SELECT value FROM md_meta WHERE name = 'initialized'", p));
    /* Everything but the server's own fallback certificate. */
    assert_string_equal(unit_pg_sql1("SELECT count(*) FROM md_values", p), "7");
    assert_int_equal(md_store_load_pkey(a, MD_SG_ACCOUNTS, "ACME-x-0000", MD_FN_ACCT_KEY,
                                        &key, p), APR_SUCCESS);
    assert_int_equal(md_store_load_json(a, MD_SG_STAGING, "y.test", MD_FN_JOB, &j, p),
                     APR_SUCCESS);
    assert_int_equal(md_store_load_text(a, MD_SG_DOMAINS, "x.test", MD_FN_PUBCERT, &text, p),
                     APR_SUCCESS);
    assert_string_equal(text, "live-cert");
    /* The local copies are the imported ones: nothing changed for a. */
    assert_int_equal(md_store_changes(a, MD_SG_DOMAINS, &changes, p), APR_SUCCESS);
    assert_int_equal(changes->nelts, 0);
    assert_string_equal(slurp(local_path("a", "domains/x.test/fallback-pubcert.pem", p), p),
                        "fallback");

    /* Once: a peer with a file store of its own imports nothing. */
    assert_int_equal(md_store_fs_open(&fs, p, apr_pstrcat(p, unit_pg_tmpdir(p), "/b", NULL)),
                     APR_SUCCESS);
    b = unit_pg_open_peer("b", "a", p);
    stage_set(fs, MD_SG_DOMAINS, "other.test", "other", p);
    b = unit_pg_open_peer("b", "a", p);
    assert_string_equal(unit_pg_sql1("SELECT count(*) FROM md_items WHERE name = 'other.test'", p),
                        "0");
    assert_int_equal(md_store_changes(b, MD_SG_DOMAINS, &changes, p), APR_SUCCESS);
    assert_int_equal(changes->nelts, 1);
}

/* --- the database away ----------------------------------------------------------- */

static void test_database_away(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = apr_pstrcat(p, unit_pg_tmpdir(p), "/a", NULL);
    md_store_t *a = unit_pg_open_node("a", p);
    md_store_t *down = NULL;
    md_store_lease_t *lease = NULL;
    const char *text = NULL;
    json_t *j = NULL;

    stage_set(a, MD_SG_TMP, "x.test", "cert-1", p);
    assert_int_equal(md_store_move(a, MD_SG_TMP, MD_SG_DOMAINS, "x.test", 0, p), APR_SUCCESS);
    md_store_idle(a);
    /* The same directory, a database that is not there (nothing listens). */
    assert_int_equal(md_store_pg_open(&down, p, "host=127.0.0.1 port=1 dbname=x "
                                      "connect_timeout=2", dir), APR_SUCCESS);
    assert_int_equal(md_store_load_text(down, MD_SG_DOMAINS, "x.test", MD_FN_PUBCERT, &text,
                                        p), APR_SUCCESS);
    assert_string_equal(text, "cert-1");
    assert_int_equal(md_store_load_json(down, MD_SG_STAGING, "x.test", MD_FN_JOB, &j, p),
                     APR_ECONNREFUSED);
    assert_int_equal(md_store_lease_acquire(down, "x.test", apr_time_from_sec(1), &lease, p),
                     APR_ECONNREFUSED);
    assert_int_not_equal(md_store_lock(down, apr_time_from_msec(100), p), APR_SUCCESS);
    /* No password or connection string problem is fatal: a bad one is. */
    assert_int_equal(md_store_pg_open(&down, p, "host='unterminated", dir), APR_EINVAL);
    assert_non_null(md_store_pg_check("host='x", p));
    assert_null(md_store_pg_check("host=x dbname=y", p));
    assert_non_null(md_store_check_backend("nosql", NULL, p));
    assert_non_null(md_store_check_backend(MD_STORE_BACKEND_FILE, "x", p));
    assert_null(md_store_check_backend(MD_STORE_BACKEND_POSTGRESQL, "dbname=x", p));
}

static void test_schema_versions(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *a = unit_pg_open_node("a", p);
    md_store_t *b = NULL;
    const char *text = NULL;

    assert_int_equal(md_store_save_text(a, MD_SG_STAGING, "x.test", "a", "1", p), APR_SUCCESS);
    /* A database set up by a newer module: not used (nothing changed in it). */
    unit_pg_sql1("UPDATE md_meta SET value = '99' WHERE name = 'schema-version'", p);
    b = unit_pg_open_peer("b", "a", p);
    assert_int_not_equal(md_store_load_text(b, MD_SG_STAGING, "x.test", "a", &text, p),
                         APR_SUCCESS);
    assert_int_not_equal(md_store_save_text(b, MD_SG_STAGING, "x.test", "a", "2", p),
                         APR_SUCCESS);
    assert_string_equal(unit_pg_sql1("SELECT convert_from(data, 'UTF8') FROM md_values WHERE "
                             "name = 'x.test' AND aspect = 'a'", p), "1");
}

/* The file store gives the single-server answers of the shared-store calls. */
static void test_file_store_defaults(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *fs = NULL, *fenced = NULL;
    md_store_lease_t *lease = NULL;
    apr_array_header_t *arr = NULL;

    assert_int_equal(md_store_open(&fs, NULL, NULL,
                                   apr_pstrcat(p, unit_pg_tmpdir(p), "/fs", NULL), p),
                     APR_SUCCESS);
    assert_false(fs->shared);
    assert_string_equal(fs->backend, MD_STORE_BACKEND_FILE);
    assert_int_equal(md_store_lease_acquire(fs, "x.test", apr_time_from_sec(1), &lease, p),
                     APR_SUCCESS);
    assert_int_equal(lease->epoch, 1);
    assert_int_equal(md_store_fence(fs, lease, &fenced, p), APR_SUCCESS);
    assert_ptr_equal(fenced, fs);
    assert_int_equal(md_store_lease_renew(fs, lease, apr_time_from_sec(1), p), APR_SUCCESS);
    assert_int_equal(md_store_lease_release(fs, lease, p), APR_SUCCESS);
    assert_int_equal(md_store_lease_list(fs, &arr, p), APR_SUCCESS);
    assert_int_equal(arr->nelts, 0);
    assert_int_equal(md_store_changes(fs, MD_SG_DOMAINS, &arr, p), APR_SUCCESS);
    assert_int_equal(arr->nelts, 0);
    md_store_idle(fs);
    assert_int_equal(md_store_open(&fs, "nosql", NULL, unit_pg_tmpdir(p), p), APR_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_values_roundtrip, setup, unit_pool_teardown),
        cmocka_unit_test_setup_teardown(test_keys_sealed, setup, unit_pool_teardown),
        cmocka_unit_test_setup_teardown(test_peer_and_key_mismatch, setup, unit_pool_teardown),
        cmocka_unit_test_setup_teardown(test_leases_and_fencing, setup, unit_pool_teardown),
        cmocka_unit_test_setup_teardown(test_lease_expiry, setup, unit_pool_teardown),
        cmocka_unit_test_setup_teardown(test_unfenced_staging_purge_ends_lease, setup,
                                        unit_pool_teardown),
        cmocka_unit_test_setup_teardown(test_store_lock, setup, unit_pool_teardown),
        cmocka_unit_test_setup_teardown(test_lease_race, setup, unit_pool_teardown),
        cmocka_unit_test_setup_teardown(test_activation_and_mirror, setup, unit_pool_teardown),
        cmocka_unit_test_setup_teardown(test_staging_move_and_rename, setup, unit_pool_teardown),
        cmocka_unit_test_setup_teardown(test_import_file_store, setup, unit_pool_teardown),
        cmocka_unit_test_setup_teardown(test_database_away, setup, unit_pool_teardown),
        cmocka_unit_test_setup_teardown(test_schema_versions, setup, unit_pool_teardown),
        cmocka_unit_test_setup_teardown(test_file_store_defaults, setup, unit_pool_teardown),
    };
    return UNIT_RUN(tests);
}
