/* The PostgreSQL store's database set-up: the schema (created when missing,
 * versioned in md_meta), the first use of an empty database (the file
 * store found in the local directory is imported, once, in one
 * transaction) and the check that every server holds the same store key.
 *
 * Only SQL that PostgreSQL-compatible distributed databases (CockroachDB,
 * YugabyteDB) also run: plain tables, primary keys, INSERT .. ON CONFLICT,
 * transactions, SELECT .. FOR UPDATE. No advisory locks, no LISTEN/NOTIFY.
 */
#define _POSIX_C_SOURCE 200809L

#include <string.h>
#include <unistd.h>

#include <apr_strings.h>

#include "md_keys.h"
#include "md_log.h"
#include "md_store_pg_int.h"
#include "md_util.h"

#define META_SCHEMA         "schema-version"
#define META_INITIALIZED    "initialized"
#define META_KEY_CHECK      "key-check"

/* Version 1. Items group the values of an MD or account as directories do
 * in the file store; an item's version changes when its set of values is
 * replaced as a whole (activation, rename), which is what servers poll. */
static const char *const SCHEMA_V1[] = {
    "CREATE TABLE IF NOT EXISTS md_meta ("
    " name TEXT PRIMARY KEY,"
    " value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS md_items ("
    " grp TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " version BIGINT NOT NULL,"
    " mtime BIGINT NOT NULL,"
    " PRIMARY KEY (grp, name))",
    "CREATE TABLE IF NOT EXISTS md_values ("
    " grp TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " aspect TEXT NOT NULL,"
    " data BYTEA NOT NULL,"
    " sealed BOOLEAN NOT NULL,"
    " mtime BIGINT NOT NULL,"
    " PRIMARY KEY (grp, name, aspect))",
    "CREATE TABLE IF NOT EXISTS md_leases ("
    " name TEXT PRIMARY KEY,"
    " epoch BIGINT NOT NULL,"
    " node TEXT,"
    " holder TEXT,"
    " acquired BIGINT,"
    " expires BIGINT NOT NULL)",
    NULL
};

/* Groups a file store is imported from (challenges are short-lived and
 * tmp is scratch; md_store.json and httpd.json stay local). */
static const md_store_group_t IMPORTED[] = {
    MD_SG_ACCOUNTS, MD_SG_DOMAINS, MD_SG_STAGING, MD_SG_ARCHIVE,
};

static apr_status_t meta_get(const char **pvalue, md_pg_tx_t *tx, const char *name, int quiet)
{
    const char *vals[] = { name };
    PGresult *res;
    apr_status_t rv;

    *pvalue = NULL;
    rv = md_pg_exec_ex(tx, &res, "SELECT value FROM md_meta WHERE name = $1", 1, vals, NULL,
                       quiet);
    if (rv == APR_SUCCESS && PQntuples(res) > 0) {
        *pvalue = md_pg_str(res, 0, 0, tx->p);
    }
    return rv;
}

static apr_status_t create_schema(md_pg_tx_t *tx)
{
    const char *vals[] = { META_SCHEMA, apr_itoa(tx->p, MD_PG_SCHEMA_VERSION) };
    apr_status_t rv = APR_SUCCESS;
    int i, attempt;

    for (i = 0; SCHEMA_V1[i]; ++i) {
        /* Servers starting together race to create a table; the loser's
         * IF NOT EXISTS may still fail once, the next try sees the table. */
        for (attempt = 0; attempt < 5; ++attempt) {
            rv = md_pg_exec_ex(tx, NULL, SCHEMA_V1[i], 0, NULL, NULL, attempt < 4);
            if (rv == APR_SUCCESS || rv == APR_ECONNREFUSED) {
                break;
            }
            apr_sleep(apr_time_from_msec(50 * (attempt + 1)));
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return md_pg_exec(tx, NULL, "INSERT INTO md_meta (name, value) VALUES ($1, $2) "
                      "ON CONFLICT (name) DO NOTHING", 2, vals, NULL);
}

/* The schema, created by the owner when missing. */
static apr_status_t check_schema(md_pg_tx_t *tx, int owner)
{
    const char *version = NULL;
    apr_status_t rv;
    long v;

    rv = meta_get(&version, tx, META_SCHEMA, 1);
    if ((rv == APR_ENOENT || (rv == APR_SUCCESS && !version)) && owner) {
        if ((rv = create_schema(tx)) == APR_SUCCESS) {
            md_log_perror(MD_LOG_MARK, MD_LOG_INFO, 0, tx->p, "MD24020: the store database "
                          "%s has the schema (version %d)", tx->sh->target,
                          MD_PG_SCHEMA_VERSION);
            rv = meta_get(&version, tx, META_SCHEMA, 0);
        }
    }
    if (rv == APR_ENOENT || (rv == APR_SUCCESS && !version)) {
        /* A child before its parent made the schema: not yet. */
        return APR_EAGAIN;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    v = strtol(version, NULL, 10);
    if (v > MD_PG_SCHEMA_VERSION || v < 1) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EGENERAL, tx->p, "MD24021: the store "
                      "database %s has schema version %s; this module knows version %d "
                      "only: update the module on this server (it is not used until then)",
                      tx->sh->target, md_util_str_printable(tx->p, version, 20),
                      MD_PG_SCHEMA_VERSION);
        return APR_EGENERAL;
    }
    /* Version v < MD_PG_SCHEMA_VERSION would be upgraded step by step here. */
    return APR_SUCCESS;
}

/* --- importing a file store --------------------------------------------------- */

typedef struct {
    md_store_group_t group;
    const char *name;
    apr_array_header_t *values;     /* md_pg_value_t */
} import_item_t;

/* Everything of the imported groups in the local file store. */
static apr_status_t collect_local(apr_array_header_t **pitems, md_pg_shared_t *sh,
                                  apr_pool_t *p)
{
    apr_array_header_t *items = apr_array_make(p, 16, sizeof(import_item_t));
    apr_array_header_t *names, *aspects;
    md_store_t *local = sh->local;
    apr_size_t g;
    int i, k;

    for (g = 0; g < sizeof(IMPORTED) / sizeof(IMPORTED[0]); ++g) {
        if (md_store_list(local, IMPORTED[g], &names, p) != APR_SUCCESS) {
            continue;
        }
        for (i = 0; i < names->nelts; ++i) {
            import_item_t *it;
            const char *name = MD_ARR_IDX(names, i, const char *);

            if (md_store_list_aspects(local, IMPORTED[g], name, &aspects, p) != APR_SUCCESS) {
                continue;
            }
            it = apr_array_push(items);
            it->group = IMPORTED[g];
            it->name = name;
            it->values = apr_array_make(p, aspects->nelts, sizeof(md_pg_value_t));
            for (k = 0; k < aspects->nelts; ++k) {
                const char *aspect = MD_ARR_IDX(aspects, k, const char *);
                md_pg_value_t *v;
                char *data = NULL;
                apr_size_t len = 0;

                if (md_pg_local_aspect(IMPORTED[g], aspect)
                    || local->ops->load(local, IMPORTED[g], name, aspect, &data, &len, p)
                       != APR_SUCCESS) {
                    continue;
                }
                v = apr_array_push(it->values);
                v->aspect = aspect;
                v->data = data;
                v->len = len;
                v->secret = md_pg_is_secret(data, len);
            }
        }
    }
    *pitems = items;
    return APR_SUCCESS;
}

/* The first server on an empty database makes it the store: with what its
 * local file store holds (nothing for a new installation), in one
 * transaction, so that a crash halfway leaves the database empty and the
 * next start does it again. Servers racing for it: one wins (the unique
 * "initialized" row), the others use what it wrote. */
static apr_status_t first_use(md_pg_tx_t *tx, apr_pool_t *p)
{
    md_pg_shared_t *sh = tx->sh;
    apr_array_header_t *items;
    apr_array_header_t *versions = apr_array_make(p, 16, sizeof(apr_int64_t));
    const char *desc;
    const char *vals[4];
    int i, k, n_values = 0, n_domains = 0;
    apr_status_t rv;

    collect_local(&items, sh, p);
    desc = apr_psprintf(p, "by %s at %s from %s (%d items)", sh->node,
                        md_pg_i64s(apr_time_sec(apr_time_now()), p), sh->local_dir,
                        items->nelts);
    if ((rv = md_pg_exec(tx, NULL, "BEGIN", 0, NULL, NULL)) != APR_SUCCESS) {
        return rv;
    }
    vals[0] = META_INITIALIZED;
    vals[1] = desc;
    rv = md_pg_exec_ex(tx, NULL, "INSERT INTO md_meta (name, value) VALUES ($1, $2)", 2,
                       vals, NULL, 1);
    if (rv == APR_SUCCESS && sh->key_check) {
        vals[0] = META_KEY_CHECK;
        vals[1] = sh->key_check;
        rv = md_pg_exec(tx, NULL, "INSERT INTO md_meta (name, value) VALUES ($1, $2) "
                        "ON CONFLICT (name) DO NOTHING", 2, vals, NULL);
    }
    for (i = 0; rv == APR_SUCCESS && i < items->nelts; ++i) {
        const import_item_t *it = &APR_ARRAY_IDX(items, i, import_item_t);
        /* Live sets get a version: the local copies are up to date with it. */
        apr_int64_t version = it->group == MD_SG_DOMAINS ? md_pg_new_version() : 0;

        vals[0] = md_pg_group(it->group);
        vals[1] = it->name;
        vals[2] = md_pg_i64s(version, p);
        rv = md_pg_exec(tx, NULL, "INSERT INTO md_items (grp, name, version, mtime) "
                        "VALUES ($1, $2, CAST($3 AS BIGINT), " MD_PG_NOW ")", 3, vals, NULL);
        for (k = 0; rv == APR_SUCCESS && k < it->values->nelts; ++k) {
            rv = md_pg_put_value(tx, it->group, it->name,
                                 &APR_ARRAY_IDX(it->values, k, md_pg_value_t), p);
            ++n_values;
        }
        APR_ARRAY_PUSH(versions, apr_int64_t) = version;
    }
    if (rv == APR_SUCCESS) {
        rv = md_pg_exec(tx, NULL, "COMMIT", 0, NULL, NULL);
    }
    else {
        md_pg_exec_ex(tx, NULL, "ROLLBACK", 0, NULL, NULL, 1);
    }
    if (rv == APR_EEXIST) {
        /* Another server was first. */
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD24022: setting up the store "
                      "database %s with the store at %s failed; trying again at the next "
                      "start", sh->target, sh->local_dir);
        return rv;
    }
    for (i = 0; i < items->nelts; ++i) {
        const import_item_t *it = &APR_ARRAY_IDX(items, i, import_item_t);
        if (it->group == MD_SG_DOMAINS) {
            md_pg_mirror_set(sh, it->name, APR_ARRAY_IDX(versions, i, apr_int64_t));
            ++n_domains;
        }
    }
    md_pg_mirror_save(sh, p);
    md_log_perror(MD_LOG_MARK, MD_LOG_NOTICE, 0, p, "MD24023: set up the store database %s "
                  "%s: imported %d items (%d live certificate sets) with %d values from the "
                  "store at %s", sh->target, items->nelts ? "from this server's store"
                  : "as a new store", items->nelts, n_domains, n_values, sh->local_dir);
    return APR_SUCCESS;
}

static apr_status_t check_key(md_pg_tx_t *tx, int *pok)
{
    md_pg_shared_t *sh = tx->sh;
    const char *theirs = NULL;
    apr_status_t rv;

    *pok = 0;
    if ((rv = meta_get(&theirs, tx, META_KEY_CHECK, 0)) != APR_SUCCESS) {
        return rv;
    }
    if (!theirs && sh->key_check) {
        const char *vals[] = { META_KEY_CHECK, sh->key_check };
        rv = md_pg_exec(tx, NULL, "INSERT INTO md_meta (name, value) VALUES ($1, $2) "
                        "ON CONFLICT (name) DO NOTHING", 2, vals, NULL);
        if (rv == APR_SUCCESS) {
            rv = meta_get(&theirs, tx, META_KEY_CHECK, 0);
        }
    }
    *pok = rv == APR_SUCCESS && theirs && sh->key_check && !strcmp(theirs, sh->key_check);
    if (rv == APR_SUCCESS && !*pok && getpid() == sh->owner_pid) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EACCES, tx->p, "MD24024: the store key "
                      "in %s/%s is not the key of the store database %s (the servers of "
                      "a cluster must share one: copy %s from a server of the cluster to "
                      "this one, then restart); private keys in the database cannot be "
                      "used until then", sh->local_dir, MD_FN_STORE_JSON, sh->target,
                      MD_FN_STORE_JSON);
    }
    return rv;
}

apr_status_t md_pg_setup(md_pg_shared_t *sh, PGconn *conn, apr_pool_t *p)
{
    md_pg_tx_t tx;
    const char *initialized = NULL;
    int owner = getpid() == sh->owner_pid;
    int ready, key_ok = 0;
    apr_status_t rv;

    apr_thread_mutex_lock(sh->mutex);
    ready = sh->ready_pid == getpid();
    apr_thread_mutex_unlock(sh->mutex);
    if (ready) {
        return APR_SUCCESS;
    }
    tx.sh = sh;
    tx.conn = conn;
    tx.p = p;
    if ((rv = check_schema(&tx, owner)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = meta_get(&initialized, &tx, META_INITIALIZED, 0)) != APR_SUCCESS) {
        return rv;
    }
    if (!initialized) {
        if (!owner) {
            return APR_EAGAIN;
        }
        if ((rv = first_use(&tx, p)) != APR_SUCCESS) {
            return rv;
        }
    }
    if ((rv = check_key(&tx, &key_ok)) != APR_SUCCESS) {
        return rv;
    }
    apr_thread_mutex_lock(sh->mutex);
    sh->ready_pid = getpid();
    sh->key_ok = key_ok;
    apr_thread_mutex_unlock(sh->mutex);
    return APR_SUCCESS;
}
