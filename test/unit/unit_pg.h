/* Helpers of the unit tests that need PostgreSQL (test_*_pg.c): `make
 * test-unit` runs those binaries through test/e2e/mdtest/postgres.py,
 * which starts a server in a temp dir and passes its connection string in
 * MD_TEST_PG_CONNINFO. Without it the tests fail (a database is needed,
 * never a mock).
 *
 * Each test starts from an empty database (the store's tables dropped,
 * unit_pg_setup) and a fresh temp dir; "nodes" are stores opened on
 * directories of their own in it, as servers of a cluster would. */
#ifndef unit_pg_h
#define unit_pg_h

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <libpq-fe.h>

#include "md_keys.h"
#include "md_log.h"
#include "md_store.h"
#include "md_store_pg.h"

static inline const char *unit_pg_conninfo(void)
{
    const char *c = getenv("MD_TEST_PG_CONNINFO");
    if (!c || !*c) {
        fail_msg("MD_TEST_PG_CONNINFO is not set: run through "
                 "test/e2e/mdtest/postgres.py run -- <this binary> (make test-unit does)");
    }
    return c;
}

/* A query as the admin; the first value of the first row (or NULL). */
static inline char *unit_pg_sql1(const char *sql, apr_pool_t *p)
{
    PGconn *conn = PQconnectdb(unit_pg_conninfo());
    PGresult *res;
    char *v = NULL;

    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    res = PQexec(conn, sql);
    assert_true(PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)) {
        v = apr_pstrdup(p, PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    PQfinish(conn);
    return v;
}

/* cmocka setup: a pool, an empty database and a temp dir (unit_pg_tmpdir). */
static inline int unit_pg_setup(void **state)
{
    apr_pool_t *p;
    char *dir;

    if (unit_pool_setup(state) != 0) {
        return -1;
    }
    p = *state;
    unit_pg_sql1("SET client_min_messages = warning; "
                 "DROP TABLE IF EXISTS md_meta, md_items, md_values, md_leases", p);
    dir = apr_pstrdup(p, "/tmp/test_md_pg.XXXXXX");
    if (!mkdtemp(dir)) {
        return -1;
    }
    apr_pool_cleanup_register(p, dir, unit_tmpdir_cleanup, apr_pool_cleanup_null);
    apr_pool_userdata_set(dir, "dir", apr_pool_cleanup_null, p);
    return 0;
}

static inline const char *unit_pg_tmpdir(apr_pool_t *p)
{
    void *d = NULL;
    apr_pool_userdata_get(&d, "dir", p);
    return d;
}

static inline const char *unit_pg_node_conninfo(const char *node, apr_pool_t *p)
{
    return apr_psprintf(p, "%s application_name=%s", unit_pg_conninfo(), node);
}

/* The store of server `node`, its local directory <tmpdir>/<node>. */
static inline md_store_t *unit_pg_open_node(const char *node, apr_pool_t *p)
{
    md_store_t *store = NULL;
    const char *dir = apr_pstrcat(p, unit_pg_tmpdir(p), "/", node, NULL);

    assert_int_equal(md_store_pg_open(&store, p, unit_pg_node_conninfo(node, p), dir),
                     APR_SUCCESS);
    assert_non_null(store);
    return store;
}

/* A second server of the same cluster: it gets the first one's store key. */
static inline md_store_t *unit_pg_open_peer(const char *node, const char *from, apr_pool_t *p)
{
    const char *dir = apr_pstrcat(p, unit_pg_tmpdir(p), "/", node, NULL);
    const char *src = apr_pstrcat(p, unit_pg_tmpdir(p), "/", from, "/", MD_FN_STORE_JSON, NULL);

    assert_int_equal(apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, p), APR_SUCCESS);
    assert_int_equal(apr_file_copy(src, apr_pstrcat(p, dir, "/", MD_FN_STORE_JSON, NULL),
                                   APR_FPROT_FILE_SOURCE_PERMS, p), APR_SUCCESS);
    return unit_pg_open_node(node, p);
}

/* --- the log, as the PostgreSQL tests want it ---------------------------- */

/* Messages up to unit_pg_log_max reach the hook (every one with
 * MD_TEST_LOG set); errors are printed. Those naming unit_pg_log_code are
 * counted in unit_pg_log_seen. */
static md_log_level_t unit_pg_log_max = MD_LOG_ERR;
static const char *unit_pg_log_code;
static volatile int unit_pg_log_seen;

static inline int unit_pg_log_level(void *baton, md_log_level_t level)
{
    (void)baton;
    return getenv("MD_TEST_LOG") ? 1 : level <= unit_pg_log_max;
}

static inline void unit_pg_log_print(const char *file, int line, md_log_level_t level,
                                     apr_status_t rv, void *baton, const char *msg)
{
    (void)file;
    (void)line;
    (void)rv;
    (void)baton;
    if (unit_pg_log_code && strstr(msg, unit_pg_log_code)) {
        ++unit_pg_log_seen;
    }
    if (getenv("MD_TEST_LOG") || level <= MD_LOG_ERR) {
        fprintf(stderr, "  log[%d]: %s\n", (int)level, msg);
    }
}

/* The hook above, with messages up to max and code counted (NULL: none). */
static inline void unit_pg_log_setup(md_log_level_t max, const char *code)
{
    unit_pg_log_max = max;
    unit_pg_log_code = code;
    unit_pg_log_seen = 0;
    md_log_set(unit_pg_log_level, unit_pg_log_print, NULL);
}

#endif /* unit_pg_h */
