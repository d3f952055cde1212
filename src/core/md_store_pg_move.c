/* The PostgreSQL store's operations on whole items: rename (an MD whose
 * name changed) and move (activation: a set built in the local tmp/ or
 * staged in the database becomes the live one, the previous one archived),
 * each one transaction in the database, then the local copy follows. */
#define _POSIX_C_SOURCE 200809L

#include <string.h>

#include <apr_strings.h>

#include "md_log.h"
#include "md_store_pg_int.h"
#include "md_util.h"

#define ARCHIVE_MAX_N       1000

static md_pg_store_t *pg_of(md_store_t *store)
{
    return (md_pg_store_t *)store;
}

/* What a write is about, for the log. */
static const char *what_of(md_store_group_t group, const char *name, apr_pool_t *p)
{
    return apr_psprintf(p, "%s/%s", md_pg_group(group), name);
}

/* --- rename, move ------------------------------------------------------------------- */

typedef struct {
    md_pg_store_t *ps;
    md_store_group_t group;
    const char *name;
    const char *to;
    apr_int64_t version;
} rename_t;

static apr_status_t rename_tx(md_pg_tx_t *tx, void *baton)
{
    rename_t *w = baton;
    const char *vals[4];
    PGresult *res;
    int found;
    apr_status_t rv;

    if ((rv = md_pg_fence_check(tx, w->ps, what_of(w->group, w->name, tx->p)))
        != APR_SUCCESS) {
        return rv;
    }
    /* Unfenced renames of staging take the work away from its holders. */
    if (w->group == MD_SG_STAGING && !w->ps->fence_name
        && ((rv = md_pg_lease_end(tx, w->name)) != APR_SUCCESS
            || (rv = md_pg_lease_end(tx, w->to)) != APR_SUCCESS)) {
        return rv;
    }
    vals[0] = md_pg_group(w->group);
    vals[1] = w->to;
    rv = md_pg_exec(tx, &res, "SELECT 1 FROM md_items WHERE grp = $1 AND name = $2", 2, vals,
                    NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (PQntuples(res) > 0) {
        return APR_EEXIST;
    }
    vals[1] = w->name;
    vals[2] = w->to;
    vals[3] = md_pg_i64s(w->version, tx->p);
    rv = md_pg_exec(tx, &res, "UPDATE md_values SET name = $3 WHERE grp = $1 AND name = $2",
                    3, vals, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    found = md_pg_affected(res) > 0;
    rv = md_pg_exec(tx, &res, "UPDATE md_items SET name = $3, version = CAST($4 AS BIGINT), "
                    "mtime = " MD_PG_NOW " WHERE grp = $1 AND name = $2", 4, vals, NULL);
    if (rv == APR_SUCCESS && !found && md_pg_affected(res) == 0) {
        rv = APR_ENOENT;
    }
    return rv;
}

apr_status_t md_pg_rename(md_store_t *store, md_store_group_t group, const char *from,
                              const char *to, apr_pool_t *p)
{
    md_pg_store_t *ps = pg_of(store);
    md_store_t *local = ps->sh->local;
    rename_t w;
    apr_status_t rv;

    if (group == MD_SG_NONE || group == MD_SG_TMP) {
        return local->ops->rename(local, group, from, to, p);
    }
    if ((rv = md_pg_check_addr(group, from, NULL, 0, p)) != APR_SUCCESS
        || (rv = md_pg_check_addr(group, to, NULL, 0, p)) != APR_SUCCESS) {
        return rv;
    }
    w = (rename_t){ .ps = ps, .group = group, .name = from, .to = to,
                    .version = group == MD_SG_DOMAINS ? md_pg_new_version() : 0 };
    rv = md_pg_run(ps->sh, 1, rename_tx, &w, p);
    if (rv == APR_SUCCESS && group == MD_SG_DOMAINS && md_pg_is_owner(ps->sh)) {
        /* The copy goes along; its version is checked again when used. */
        local->ops->rename(local, group, from, to, p);
        md_pg_mirror_set(ps->sh, from, 0);
        md_pg_mirror_set(ps->sh, to, 0);
    }
    return rv;
}

typedef struct {
    md_pg_store_t *ps;
    md_store_group_t from;
    md_store_group_t to;
    const char *name;
    int archive;
    apr_array_header_t *local_values;   /* md_pg_value_t from tmp/, or NULL */
    apr_int64_t version;
    apr_pool_t *p;                      /* the caller's */
    apr_array_header_t *moved;          /* plain md_pg_value_t for the local copy */
    const char *archived;
} move_t;

/* The source's values, from the database; opened for the local copy. */
static apr_status_t move_source(md_pg_tx_t *tx, move_t *m)
{
    const char *vals[] = { md_pg_group(m->from), m->name };
    PGresult *res;
    apr_status_t rv;
    int i;

    rv = md_pg_exec(tx, &res, "SELECT aspect, data, sealed FROM md_values WHERE grp = $1 "
                    "AND name = $2", 2, vals, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (PQntuples(res) == 0) {
        return APR_ENOENT;
    }
    m->moved = apr_array_make(m->p, PQntuples(res), sizeof(md_pg_value_t));
    for (i = 0; m->to == MD_SG_DOMAINS && i < PQntuples(res); ++i) {
        md_pg_value_t *v = apr_array_push(m->moved);
        char *data = NULL;

        v->aspect = md_pg_str(res, i, 0, m->p);
        if ((rv = md_pg_bytes(&data, &v->len, res, i, 1, m->p)) != APR_SUCCESS) {
            return rv;
        }
        v->data = data;
        v->secret = !strcmp(PQgetvalue(res, i, 2), "t");
        if (v->secret) {
            rv = md_pg_unseal(tx->sh, &data, &v->len, v->data, v->len, v->aspect, m->p);
            if (rv != APR_SUCCESS) {
                return rv;
            }
            v->data = data;
        }
    }
    return APR_SUCCESS;
}

/* archive/<name>.<n> with n the first number free, a copy of to/<name>. */
static apr_status_t move_archive(md_pg_tx_t *tx, move_t *m)
{
    const char *vals[3];
    PGresult *res;
    apr_hash_t *taken = apr_hash_make(tx->p);
    apr_status_t rv;
    int i, n;

    vals[0] = md_pg_group(m->to);
    vals[1] = m->name;
    rv = md_pg_exec(tx, &res, "SELECT aspect FROM md_values WHERE grp = $1 AND name = $2",
                    2, vals, NULL);
    if (rv != APR_SUCCESS || PQntuples(res) == 0) {
        return rv;
    }
    vals[0] = md_pg_group(MD_SG_ARCHIVE);
    rv = md_pg_exec(tx, &res, "SELECT name FROM md_items WHERE grp = $1", 1, vals, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < PQntuples(res); ++i) {
        apr_hash_set(taken, md_pg_str(res, i, 0, tx->p), APR_HASH_KEY_STRING, "");
    }
    for (n = 1; n < ARCHIVE_MAX_N; ++n) {
        m->archived = apr_psprintf(m->p, "%s.%d", m->name, n);
        if (!apr_hash_get(taken, m->archived, APR_HASH_KEY_STRING)) {
            break;
        }
    }
    if (n >= ARCHIVE_MAX_N) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EGENERAL, tx->p, "MD24033: archive/: no "
                      "number below %d free for %s; remove old archived sets", ARCHIVE_MAX_N,
                      m->name);
        return APR_EGENERAL;
    }
    vals[1] = m->archived;
    rv = md_pg_exec(tx, NULL, "INSERT INTO md_items (grp, name, version, mtime) VALUES "
                    "($1, $2, 0, " MD_PG_NOW ")", 2, vals, NULL);
    if (rv == APR_SUCCESS) {
        vals[2] = md_pg_group(m->to);
        vals[0] = m->name;
        vals[1] = m->archived;
        rv = md_pg_exec(tx, NULL, "INSERT INTO md_values (grp, name, aspect, data, sealed, "
                        "mtime) SELECT 'archive', $2, aspect, data, sealed, " MD_PG_NOW
                        " FROM md_values WHERE grp = $3 AND name = $1", 3, vals, NULL);
    }
    return rv;
}

static apr_status_t move_tx(md_pg_tx_t *tx, void *baton)
{
    move_t *m = baton;
    const char *vals[3];
    apr_status_t rv;
    int i, found;

    m->archived = NULL;
    if ((rv = md_pg_fence_check(tx, m->ps, what_of(m->to, m->name, tx->p))) != APR_SUCCESS) {
        return rv;
    }
    if ((m->from == MD_SG_STAGING || m->to == MD_SG_STAGING) && !m->ps->fence_name
        && (rv = md_pg_lease_end(tx, m->name)) != APR_SUCCESS) {
        return rv;
    }
    if (!m->local_values && (rv = move_source(tx, m)) != APR_SUCCESS) {
        return rv;
    }
    vals[0] = md_pg_group(m->to);
    vals[1] = m->name;
    vals[2] = md_pg_i64s(m->version, tx->p);
    /* The target item's row lock: activations of one MD take turns. */
    rv = md_pg_exec(tx, NULL, "INSERT INTO md_items (grp, name, version, mtime) VALUES "
                    "($1, $2, 0, " MD_PG_NOW ") ON CONFLICT (grp, name) DO NOTHING", 2, vals,
                    NULL);
    if (rv == APR_SUCCESS) {
        rv = md_pg_exec(tx, NULL, "SELECT version FROM md_items WHERE grp = $1 AND name = $2 "
                        "FOR UPDATE", 2, vals, NULL);
    }
    if (rv == APR_SUCCESS && m->archive) {
        rv = move_archive(tx, m);
    }
    if (rv == APR_SUCCESS) {
        rv = md_pg_exec(tx, NULL, "DELETE FROM md_values WHERE grp = $1 AND name = $2", 2,
                        vals, NULL);
    }
    for (i = 0; rv == APR_SUCCESS && m->local_values && i < m->local_values->nelts; ++i) {
        rv = md_pg_put_value(tx, m->to, m->name,
                             &APR_ARRAY_IDX(m->local_values, i, md_pg_value_t), tx->p);
    }
    if (rv == APR_SUCCESS && !m->local_values) {
        const char *cp[] = { m->name, md_pg_group(m->to), md_pg_group(m->from) };
        rv = md_pg_exec(tx, NULL, "INSERT INTO md_values (grp, name, aspect, data, sealed, "
                        "mtime) SELECT $2, name, aspect, data, sealed, " MD_PG_NOW
                        " FROM md_values WHERE grp = $3 AND name = $1", 3, cp, NULL);
        if (rv == APR_SUCCESS) {
            rv = md_pg_delete_item(tx, m->from, m->name, &found);
        }
    }
    if (rv == APR_SUCCESS) {
        rv = md_pg_exec(tx, NULL, "UPDATE md_items SET version = CAST($3 AS BIGINT), mtime = "
                        MD_PG_NOW " WHERE grp = $1 AND name = $2", 3, vals, NULL);
    }
    return rv;
}

/* The values of the local tmp/<name> (what activation built). */
static apr_status_t local_values(apr_array_header_t **pvalues, md_store_t *local,
                                 md_store_group_t group, const char *name, apr_pool_t *p)
{
    apr_array_header_t *aspects;
    apr_status_t rv;
    int i;

    *pvalues = NULL;
    if ((rv = local->ops->list_aspects(local, group, name, &aspects, p)) != APR_SUCCESS) {
        return rv;
    }
    *pvalues = apr_array_make(p, aspects->nelts, sizeof(md_pg_value_t));
    for (i = 0; i < aspects->nelts; ++i) {
        md_pg_value_t *v = apr_array_push(*pvalues);
        char *data = NULL;

        v->aspect = MD_ARR_IDX(aspects, i, const char *);
        if ((rv = local->ops->load(local, group, name, v->aspect, &data, &v->len, p))
            != APR_SUCCESS) {
            return rv;
        }
        v->data = data;
        v->secret = md_pg_is_secret(data, v->len);
    }
    return APR_SUCCESS;
}

apr_status_t md_pg_move(md_store_t *store, md_store_group_t from, md_store_group_t to,
                            const char *name, int archive, apr_pool_t *p)
{
    md_pg_store_t *ps = pg_of(store);
    md_pg_shared_t *sh = ps->sh;
    md_store_t *local = sh->local;
    move_t m;
    apr_status_t rv;

    if (from == MD_SG_NONE || to == MD_SG_NONE || to == MD_SG_TMP || from == to) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_ENOTIMPL, p, "MD24034: moving %s/%s to "
                      "%s/ is not something this store does", md_store_group_name(from),
                      name ? name : "", md_store_group_name(to));
        return APR_ENOTIMPL;
    }
    if ((rv = md_pg_check_addr(to, name, NULL, 0, p)) != APR_SUCCESS) {
        return rv;
    }
    memset(&m, 0, sizeof(m));
    m.ps = ps;
    m.from = from;
    m.to = to;
    m.name = name;
    m.archive = archive;
    m.p = p;
    m.version = to == MD_SG_DOMAINS ? md_pg_new_version() : 0;
    if (from == MD_SG_TMP
        && (rv = local_values(&m.local_values, local, from, name, p)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = md_pg_run(sh, 1, move_tx, &m, p)) != APR_SUCCESS) {
        return rv;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, "MD24035: moved %s/%s to %s/ in the store "
                  "database%s%s", md_store_group_name(from), name, md_store_group_name(to),
                  m.archived ? ", the previous set to archive/" : "",
                  m.archived ? m.archived : "");
    if (!md_pg_is_owner(sh)) {
        return APR_SUCCESS;
    }
    if (to == MD_SG_DOMAINS) {
        apr_status_t rv2;

        /* The database holds the new set now; the local copy follows. */
        rv2 = from == MD_SG_TMP ? local->ops->move(local, from, to, name, 0, p)
                                : md_pg_mirror_put(sh, name, m.moved, m.version, p);
        if (rv2 == APR_SUCCESS) {
            md_pg_mirror_set(sh, name, m.version);
        }
        else {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv2, p, "MD24036: %s: copying the new "
                          "set to %s failed; the server uses it after its next restart",
                          name, sh->local_dir);
        }
    }
    else if (from == MD_SG_TMP) {
        local->ops->purge(local, from, name, p);
    }
    if (from == MD_SG_DOMAINS) {
        local->ops->purge(local, from, name, p);
        md_pg_mirror_set(sh, name, 0);
    }
    return APR_SUCCESS;
}

