/* Leases of the PostgreSQL store (md_store.h, "Shared stores"): one row per
 * lease in md_leases with its epoch, holder and expiry (database clock).
 * A row is never deleted, so epochs only grow.
 *
 * Taking, renewing and checking a lease lock its row (SELECT .. FOR
 * UPDATE): a fenced write and a takeover of its lease never interleave.
 * Either the write commits first (and the new holder sees it) or the
 * takeover does (and the write sees the newer epoch and writes nothing).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>

#include "md_crypt.h"
#include "md_log.h"
#include "md_store_pg_int.h"
#include "md_util.h"

#define LEASE_NAME_MAX      255
/* The store lock (start-up: activation and sync) outlives a slow start,
 * not a crashed one by much. */
#define STORE_LOCK_NAME     "@store"
#define STORE_LOCK_TTL      apr_time_from_sec(120)
#define STORE_LOCK_POLL     apr_time_from_msec(200)

typedef struct {
    md_pg_store_t *ps;
    const char *name;
    const char *instance;
    apr_interval_time_t ttl;
    md_store_lease_t *lease;    /* in, out */
    apr_pool_t *p;
    int busy;
} lease_op_t;

static md_pg_store_t *pg_of(md_store_t *store)
{
    return (md_pg_store_t *)store;
}

static apr_status_t check_name(const char *name, apr_pool_t *p)
{
    if (!name || !*name || strlen(name) > LEASE_NAME_MAX) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p, "MD24041: invalid lease name");
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

static void fill(md_store_lease_t *l, PGresult *res, int r, int c0, apr_int64_t now,
                 const char *instance, apr_pool_t *p)
{
    l->epoch = md_pg_int64(res, r, c0);
    l->node = md_pg_str(res, r, c0 + 1, p);
    l->holder = md_pg_str(res, r, c0 + 2, p);
    l->expires = (apr_time_t)md_pg_int64(res, r, c0 + 3);
    l->held = l->holder && l->expires > now;
    l->mine = l->held && instance && !strcmp(l->holder, instance);
}

static apr_status_t acquire_tx(md_pg_tx_t *tx, void *baton)
{
    lease_op_t *op = baton;
    md_store_lease_t *l = op->lease;
    const char *vals[] = { op->name, op->instance, op->ps->sh->node,
                           md_pg_i64s(op->ttl, tx->p) };
    const char *sql;
    PGresult *res;
    apr_status_t rv;

    op->busy = 0;
    rv = md_pg_exec(tx, &res, "SELECT epoch, node, holder, expires, " MD_PG_NOW
                    " FROM md_leases WHERE name = $1 FOR UPDATE", 1, vals, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (PQntuples(res) == 0) {
        sql = "INSERT INTO md_leases (name, epoch, node, holder, acquired, expires) VALUES "
              "($1, 1, $3, $2, " MD_PG_NOW ", " MD_PG_NOW " + CAST($4 AS BIGINT)) "
              "ON CONFLICT (name) DO NOTHING RETURNING epoch, expires";
    }
    else {
        fill(l, res, 0, 0, md_pg_int64(res, 0, 4), op->instance, op->p);
        if (l->mine) {
            sql = "UPDATE md_leases SET node = $3, expires = " MD_PG_NOW " + CAST($4 AS "
                  "BIGINT) WHERE name = $1 AND holder = $2 RETURNING epoch, expires";
        }
        else if (!l->held) {
            sql = "UPDATE md_leases SET epoch = epoch + 1, node = $3, holder = $2, "
                  "acquired = " MD_PG_NOW ", expires = " MD_PG_NOW " + CAST($4 AS BIGINT) "
                  "WHERE name = $1 RETURNING epoch, expires";
        }
        else {
            op->busy = 1;
            return APR_EAGAIN;
        }
    }
    rv = md_pg_exec(tx, &res, sql, 4, vals, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (PQntuples(res) == 0) {
        /* Another server inserted the row after our look: look again. */
        return MD_PG_RETRY;
    }
    l->epoch = md_pg_int64(res, 0, 0);
    l->expires = (apr_time_t)md_pg_int64(res, 0, 1);
    l->node = op->ps->sh->node;
    l->holder = op->instance;
    l->held = l->mine = 1;
    return APR_SUCCESS;
}

apr_status_t md_pg_lease_acquire(md_store_t *store, const char *name, apr_interval_time_t ttl,
                                 md_store_lease_t **please, apr_pool_t *p)
{
    md_pg_store_t *ps = pg_of(store);
    lease_op_t op;
    apr_status_t rv;

    *please = NULL;
    if ((rv = check_name(name, p)) != APR_SUCCESS) {
        return rv;
    }
    memset(&op, 0, sizeof(op));
    op.ps = ps;
    op.name = apr_pstrdup(p, name);
    op.instance = md_pg_instance(ps->sh, p);
    op.ttl = ttl > 0 ? ttl : apr_time_from_sec(1);
    op.p = p;
    op.lease = apr_pcalloc(p, sizeof(*op.lease));
    op.lease->name = op.name;
    rv = md_pg_run(ps->sh, 1, acquire_tx, &op, p);
    if (rv == APR_EAGAIN && !op.busy) {
        /* The database is not set up for us yet: nothing to hold. */
        rv = APR_ECONNREFUSED;
    }
    if (rv == APR_SUCCESS || op.busy) {
        *please = op.lease;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_TRACE1, rv, p, "MD24042: lease %s: %s (epoch %"
                  APR_INT64_T_FMT ", node %s)", name, rv == APR_SUCCESS ? "taken"
                  : op.busy ? "held by another" : "not available", op.lease->epoch,
                  op.lease->node ? op.lease->node : "-");
    return rv;
}

static apr_status_t renew_tx(md_pg_tx_t *tx, void *baton)
{
    lease_op_t *op = baton;
    md_store_lease_t *l = op->lease;
    const char *vals[] = { l->name, md_pg_i64s(l->epoch, tx->p), l->holder,
                           md_pg_i64s(op->ttl, tx->p) };
    PGresult *res;
    apr_status_t rv;

    rv = md_pg_exec(tx, &res, "UPDATE md_leases SET expires = " MD_PG_NOW " + CAST($4 AS "
                    "BIGINT) WHERE name = $1 AND epoch = CAST($2 AS BIGINT) AND holder = $3 "
                    "RETURNING expires", 4, vals, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (PQntuples(res) == 0) {
        return APR_EACCES;
    }
    /* Written by one thread (the renewer) while the holder reads it: a
     * time, read for information only. */
    l->expires = (apr_time_t)md_pg_int64(res, 0, 0);
    return APR_SUCCESS;
}

apr_status_t md_pg_lease_renew(md_store_t *store, md_store_lease_t *lease,
                               apr_interval_time_t ttl, apr_pool_t *p)
{
    lease_op_t op;
    apr_status_t rv;

    if (!lease || !lease->holder) {
        return APR_EINVAL;
    }
    memset(&op, 0, sizeof(op));
    op.ps = pg_of(store);
    op.lease = lease;
    op.ttl = ttl;
    op.p = p;
    rv = md_pg_run(op.ps->sh, 1, renew_tx, &op, p);
    if (rv == APR_EAGAIN) {
        rv = APR_ECONNREFUSED;
    }
    return rv;
}

static apr_status_t release_tx(md_pg_tx_t *tx, void *baton)
{
    lease_op_t *op = baton;
    md_store_lease_t *l = op->lease;
    const char *vals[] = { l->name, md_pg_i64s(l->epoch, tx->p), l->holder };

    return md_pg_exec(tx, NULL, "UPDATE md_leases SET node = NULL, holder = NULL, expires = 0 "
                      "WHERE name = $1 AND epoch = CAST($2 AS BIGINT) AND holder = $3", 3,
                      vals, NULL);
}

apr_status_t md_pg_lease_release(md_store_t *store, md_store_lease_t *lease, apr_pool_t *p)
{
    lease_op_t op;
    apr_status_t rv;

    if (!lease || !lease->holder) {
        return APR_SUCCESS;
    }
    memset(&op, 0, sizeof(op));
    op.ps = pg_of(store);
    op.lease = lease;
    op.p = p;
    rv = md_pg_run(op.ps->sh, 1, release_tx, &op, p);
    if (rv == APR_SUCCESS) {
        lease->held = lease->mine = 0;
    }
    return rv == APR_EAGAIN ? APR_ECONNREFUSED : rv;
}

typedef struct {
    const char *instance;
    apr_pool_t *p;
    apr_array_header_t *leases;
} list_op_t;

static int cmp_lease(const void *a, const void *b)
{
    return strcmp((*(md_store_lease_t *const *)a)->name, (*(md_store_lease_t *const *)b)->name);
}

static apr_status_t list_tx(md_pg_tx_t *tx, void *baton)
{
    list_op_t *op = baton;
    PGresult *res;
    apr_status_t rv;
    int i;

    rv = md_pg_exec(tx, &res, "SELECT name, epoch, node, holder, expires, " MD_PG_NOW
                    " FROM md_leases", 0, NULL, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    op->leases = apr_array_make(op->p, PQntuples(res) + 1, sizeof(md_store_lease_t *));
    for (i = 0; i < PQntuples(res); ++i) {
        md_store_lease_t *l = apr_pcalloc(op->p, sizeof(*l));

        l->name = md_pg_str(res, i, 0, op->p);
        fill(l, res, i, 1, md_pg_int64(res, i, 5), op->instance, op->p);
        APR_ARRAY_PUSH(op->leases, md_store_lease_t *) = l;
    }
    qsort(op->leases->elts, (size_t)op->leases->nelts, sizeof(md_store_lease_t *), cmp_lease);
    return APR_SUCCESS;
}

apr_status_t md_pg_lease_list(md_store_t *store, apr_array_header_t **pleases, apr_pool_t *p)
{
    md_pg_store_t *ps = pg_of(store);
    list_op_t op;
    apr_status_t rv;

    *pleases = NULL;
    op.instance = md_pg_instance(ps->sh, p);
    op.p = p;
    op.leases = NULL;
    rv = md_pg_run(ps->sh, 0, list_tx, &op, p);
    if (rv == APR_SUCCESS) {
        *pleases = op.leases;
    }
    return rv == APR_EAGAIN ? APR_ECONNREFUSED : rv;
}

apr_status_t md_pg_fence(md_store_t *store, const md_store_lease_t *lease,
                         md_store_t **pfenced, apr_pool_t *p)
{
    md_pg_store_t *view;

    if (!lease || !lease->name || lease->epoch <= 0) {
        return APR_EINVAL;
    }
    view = apr_pmemdup(p, pg_of(store), sizeof(*view));
    view->fence_name = apr_pstrdup(p, lease->name);
    view->fence_epoch = lease->epoch;
    *pfenced = &view->s;
    return APR_SUCCESS;
}

apr_status_t md_pg_fence_check(md_pg_tx_t *tx, md_pg_store_t *ps, const char *what)
{
    const char *vals[] = { ps->fence_name };
    PGresult *res;
    apr_int64_t epoch;
    apr_status_t rv;

    if (!ps->fence_name) {
        return APR_SUCCESS;
    }
    rv = md_pg_exec(tx, &res, "SELECT epoch, node FROM md_leases WHERE name = $1 FOR UPDATE",
                    1, vals, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    epoch = PQntuples(res) > 0 ? md_pg_int64(res, 0, 0) : 0;
    if (epoch == ps->fence_epoch) {
        return APR_SUCCESS;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, APR_EACCES, tx->p, "MD24040: %s: write "
                  "refused: it was made under lease %s epoch %" APR_INT64_T_FMT ", but epoch %"
                  APR_INT64_T_FMT " exists (%s%s); this server no longer works on it",
                  what, ps->fence_name, ps->fence_epoch, epoch,
                  PQntuples(res) > 0 && !PQgetisnull(res, 0, 1) ? "held by " : "taken away",
                  PQntuples(res) > 0 && !PQgetisnull(res, 0, 1) ? PQgetvalue(res, 0, 1) : "");
    return APR_EACCES;
}

apr_status_t md_pg_lease_end(md_pg_tx_t *tx, const char *name)
{
    const char *vals[] = { name };

    return md_pg_exec(tx, NULL, "UPDATE md_leases SET epoch = epoch + 1, node = NULL, "
                      "holder = NULL, expires = 0 WHERE name = $1", 1, vals, NULL);
}

/* --- the store lock ---------------------------------------------------------------- */

apr_status_t md_pg_lock(md_store_t *store, apr_interval_time_t max_wait, apr_pool_t *p)
{
    md_pg_shared_t *sh = pg_of(store)->sh;
    apr_time_t until = apr_time_now() + max_wait;
    md_store_lease_t *lease = NULL;
    apr_status_t rv;

    if (sh->lock) {
        return APR_EINVAL;      /* not reentrant */
    }
    for (;;) {
        /* In the store's pool: the lease outlives this call until unlock. */
        rv = md_pg_lease_acquire(store, STORE_LOCK_NAME, STORE_LOCK_TTL, &lease, sh->p);
        if (rv == APR_SUCCESS) {
            sh->lock = lease;
            return APR_SUCCESS;
        }
        if (rv != APR_EAGAIN) {
            return rv;
        }
        if (apr_time_now() >= until) {
            md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, APR_TIMEUP, p, "MD24043: the store lock "
                          "is held by %s", lease && lease->node ? lease->node : "another");
            return APR_TIMEUP;
        }
        apr_sleep(STORE_LOCK_POLL);
    }
}

apr_status_t md_pg_unlock(md_store_t *store, apr_pool_t *p)
{
    md_pg_shared_t *sh = pg_of(store)->sh;
    md_store_lease_t *lease = sh->lock;

    sh->lock = NULL;
    return lease ? md_pg_lease_release(store, lease, p) : APR_SUCCESS;
}
