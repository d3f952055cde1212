/* The PostgreSQL store: one database shared by a cluster of servers, with a
 * local directory per server (see md_store_pg.h).
 *
 * Where values live:
 *   database   accounts/, challenges/, staging/, archive/ and domains/
 *   local      the base (md_store.json with the store key, httpd.json, the
 *              fallback key), tmp/ (scratch for activation), and the
 *              fallback certificates in domains/ (per server)
 *   both       domains/: the database is the truth, the local directory
 *              holds copies that mod_ssl reads (md_store_pg_mirror.c);
 *              the server's parent writes through to them, and reads
 *              them when the database cannot be reached
 * Private keys are sealed with the store key (md_crypt_seal.h) before they
 * reach the database; the store key stays in the local md_store.json.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_network_io.h>
#include <apr_strings.h>

#include "md_crypt.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_store_pg.h"
#include "md_store_pg_int.h"
#include "md_util.h"

#define NAME_MAX_LEN        255

static md_pg_store_t *pg_of(md_store_t *store)
{
    return (md_pg_store_t *)store;
}

const char *md_pg_group(md_store_group_t group)
{
    return md_store_group_name(group);
}

/* Kept in the local directory only (see the top). */
static int is_local(md_store_group_t group, const char *aspect)
{
    return group == MD_SG_NONE || group == MD_SG_TMP || md_pg_local_aspect(group, aspect);
}

int md_pg_is_owner(const md_pg_shared_t *sh)
{
    return getpid() == sh->owner_pid;
}

static int valid_component(const char *s)
{
    return s && *s && *s != '.' && strlen(s) <= NAME_MAX_LEN && !strpbrk(s, "/\\");
}

/* The same names the file store takes: domains/ items become directories. */
apr_status_t md_pg_check_addr(md_store_group_t group, const char *name, const char *aspect,
                              int need_aspect, apr_pool_t *p)
{
    if ((int)group <= MD_SG_NONE || group >= MD_SG_COUNT || !valid_component(name)
        || (need_aspect && !valid_component(aspect))) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p, "MD24030: invalid store "
                      "address %s/%s/%s: names must be single path components, not empty, "
                      "not starting with '.'", md_store_group_name(group),
                      name ? md_util_str_printable(p, name, 80) : "(null)",
                      aspect ? md_util_str_printable(p, aspect, 80) : "(null)");
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* Reads of domains/ fall back to the local copies when the database is away. */
static int use_mirror(md_store_group_t group, apr_status_t rv)
{
    return group == MD_SG_DOMAINS && (rv == APR_ECONNREFUSED || rv == APR_EAGAIN);
}

int md_pg_is_secret(const char *data, apr_size_t len)
{
    static const char needle[] = "PRIVATE KEY-----";
    apr_size_t n = sizeof(needle) - 1;
    apr_size_t i;

    for (i = 0; data && len >= n && i <= len - n; ++i) {
        if (data[i] == needle[0] && !memcmp(data + i, needle, n)) {
            return 1;
        }
    }
    return 0;
}

apr_int64_t md_pg_new_version(void)
{
    apr_uint64_t v = 0;

    while ((v & 0x7fffffffffffffffULL) == 0) {
        md_crypt_random((unsigned char *)&v, sizeof(v));
    }
    return (apr_int64_t)(v & 0x7fffffffffffffffULL);
}

static int key_usable(md_pg_shared_t *sh)
{
    int ok;

    apr_thread_mutex_lock(sh->mutex);
    ok = sh->have_seal_key && (sh->ready_pid != getpid() || sh->key_ok);
    apr_thread_mutex_unlock(sh->mutex);
    return ok;
}

static apr_status_t no_key(md_pg_shared_t *sh, const char *what, apr_pool_t *p)
{
    md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EACCES, p, "MD24031: %s: the private key "
                  "cannot be %s: this server's store key (%s/%s) is %s", what,
                  "sealed or opened", sh->local_dir, MD_FN_STORE_JSON,
                  sh->have_seal_key ? "not the store database's" : "not available");
    return APR_EACCES;
}

apr_status_t md_pg_seal(md_pg_shared_t *sh, const char **pout, apr_size_t *plen,
                        const char *data, apr_size_t len, const char *what, apr_pool_t *p)
{
    const unsigned char *sealed = NULL;
    apr_status_t rv;

    if (!key_usable(sh)) {
        return no_key(sh, what, p);
    }
    rv = md_crypt_seal(&sealed, plen, sh->seal_key, data, len, p);
    *pout = (const char *)sealed;
    return rv;
}

apr_status_t md_pg_unseal(md_pg_shared_t *sh, char **pout, apr_size_t *plen,
                          const char *data, apr_size_t len, const char *what, apr_pool_t *p)
{
    apr_status_t rv;

    if (!key_usable(sh)) {
        return no_key(sh, what, p);
    }
    rv = md_crypt_unseal(pout, plen, sh->seal_key, data, len, p);
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD24032: %s: the sealed value does "
                      "not open with this server's store key%s", what,
                      rv == APR_EACCES ? " (another key, or it was changed)" : "");
    }
    return rv;
}

apr_status_t md_pg_put_value(md_pg_tx_t *tx, md_store_group_t group, const char *name,
                             const md_pg_value_t *v, apr_pool_t *p)
{
    const char *data = v->data;
    apr_size_t len = v->len;
    const char *vals[6];
    int lens[6] = { 0, 0, 0, 0, 0, 0 };
    apr_status_t rv;

    if (v->secret) {
        rv = md_pg_seal(tx->sh, &data, &len, v->data, v->len,
                        apr_psprintf(p, "%s/%s/%s", md_pg_group(group), name, v->aspect), p);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    vals[0] = md_pg_group(group);
    vals[1] = name;
    rv = md_pg_exec(tx, NULL, "INSERT INTO md_items (grp, name, version, mtime) "
                    "VALUES ($1, $2, 0, " MD_PG_NOW ") ON CONFLICT (grp, name) "
                    "DO UPDATE SET mtime = EXCLUDED.mtime", 2, vals, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    vals[2] = v->aspect;
    /* An empty value goes as text: a zero length means text to libpq. */
    vals[3] = len ? data : "";
    lens[3] = (int)len;
    vals[4] = v->secret ? "true" : "false";
    return md_pg_exec(tx, NULL, "INSERT INTO md_values (grp, name, aspect, data, sealed, mtime) "
                      "VALUES ($1, $2, $3, $4, CAST($5 AS BOOLEAN), " MD_PG_NOW ") "
                      "ON CONFLICT (grp, name, aspect) DO UPDATE SET data = EXCLUDED.data, "
                      "sealed = EXCLUDED.sealed, mtime = EXCLUDED.mtime", 5, vals, lens);
}

/* --- load ------------------------------------------------------------------- */

typedef struct {
    md_pg_store_t *ps;
    md_store_group_t group;
    const char *name;
    const char *aspect;
    apr_pool_t *p;              /* the caller's: results go there */
    char *data;
    apr_size_t len;
} load_t;

static apr_status_t load_tx(md_pg_tx_t *tx, void *baton)
{
    load_t *l = baton;
    const char *vals[] = { md_pg_group(l->group), l->name, l->aspect };
    PGresult *res;
    char *raw = NULL;
    apr_size_t raw_len = 0;
    apr_status_t rv;

    rv = md_pg_exec(tx, &res, "SELECT data, sealed FROM md_values WHERE grp = $1 AND "
                    "name = $2 AND aspect = $3", 3, vals, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (PQntuples(res) == 0) {
        return APR_ENOENT;
    }
    if (strcmp(PQgetvalue(res, 0, 1), "t")) {
        return md_pg_bytes(&l->data, &l->len, res, 0, 0, l->p);
    }
    if ((rv = md_pg_bytes(&raw, &raw_len, res, 0, 0, tx->p)) != APR_SUCCESS) {
        return rv;
    }
    /* Opened into the caller's pool: it is cleansed when that goes. */
    return md_pg_unseal(tx->sh, &l->data, &l->len, raw, raw_len,
                        apr_psprintf(tx->p, "%s/%s/%s", md_pg_group(l->group), l->name,
                                     l->aspect), l->p);
}

static apr_status_t pg_load(md_store_t *store, md_store_group_t group, const char *name,
                            const char *aspect, char **pdata, apr_size_t *plen, apr_pool_t *p)
{
    md_pg_store_t *ps = pg_of(store);
    md_store_t *local = ps->sh->local;
    load_t l;
    apr_status_t rv;

    *pdata = NULL;
    *plen = 0;
    if (is_local(group, aspect)) {
        return local->ops->load(local, group, name, aspect, pdata, plen, p);
    }
    if ((rv = md_pg_check_addr(group, name, aspect, 1, p)) != APR_SUCCESS) {
        return rv;
    }
    memset(&l, 0, sizeof(l));
    l.ps = ps;
    l.group = group;
    l.name = name;
    l.aspect = aspect;
    l.p = p;
    rv = md_pg_run(ps->sh, 0, load_tx, &l, p);
    if (rv == APR_SUCCESS) {
        *pdata = l.data;
        *plen = l.len;
    }
    else if (use_mirror(group, rv)) {
        rv = local->ops->load(local, group, name, aspect, pdata, plen, p);
    }
    return rv;
}

/* --- save, remove, purge -------------------------------------------------------- */

typedef struct {
    md_pg_store_t *ps;
    md_store_group_t group;
    const char *name;
    const char *aspect;
    const char *to;             /* rename */
    md_pg_value_t value;        /* save */
    apr_int64_t version;        /* rename, move: the new one */
} write_t;

static const char *what_of(const write_t *w, apr_pool_t *p)
{
    return apr_psprintf(p, "%s/%s%s%s", md_pg_group(w->group), w->name, w->aspect ? "/" : "",
                        w->aspect ? w->aspect : "");
}

static apr_status_t save_tx(md_pg_tx_t *tx, void *baton)
{
    write_t *w = baton;
    apr_status_t rv;

    if ((rv = md_pg_fence_check(tx, w->ps, what_of(w, tx->p))) != APR_SUCCESS) {
        return rv;
    }
    return md_pg_put_value(tx, w->group, w->name, &w->value, tx->p);
}

static apr_status_t pg_save(md_store_t *store, md_store_group_t group, const char *name,
                            const char *aspect, const char *data, apr_size_t len, int flags,
                            apr_pool_t *p)
{
    md_pg_store_t *ps = pg_of(store);
    md_store_t *local = ps->sh->local;
    write_t w;
    apr_status_t rv;

    if (is_local(group, aspect)) {
        return local->ops->save(local, group, name, aspect, data, len, flags, p);
    }
    if ((rv = md_pg_check_addr(group, name, aspect, 1, p)) != APR_SUCCESS) {
        return rv;
    }
    if (len > MD_STORE_MAX_VALUE_LEN) {
        return APR_EINVAL;
    }
    w = (write_t){ .ps = ps, .group = group, .name = name, .aspect = aspect,
                   .value = { .aspect = aspect, .data = data, .len = len,
                              .secret = (flags & MD_STORE_SECRET)
                                        || md_pg_is_secret(data, len) } };
    rv = md_pg_run(ps->sh, 1, save_tx, &w, p);
    if (rv == APR_SUCCESS && group == MD_SG_DOMAINS && md_pg_is_owner(ps->sh)) {
        /* Written through: the local copy is what mod_ssl reads. */
        rv = local->ops->save(local, group, name, aspect, data, len,
                              w.value.secret ? (flags | MD_STORE_SECRET) : flags, p);
    }
    return rv;
}

static apr_status_t remove_tx(md_pg_tx_t *tx, void *baton)
{
    write_t *w = baton;
    const char *vals[] = { md_pg_group(w->group), w->name, w->aspect };
    PGresult *res;
    apr_status_t rv;

    if ((rv = md_pg_fence_check(tx, w->ps, what_of(w, tx->p))) != APR_SUCCESS) {
        return rv;
    }
    rv = md_pg_exec(tx, &res, "DELETE FROM md_values WHERE grp = $1 AND name = $2 AND "
                    "aspect = $3", 3, vals, NULL);
    return (rv == APR_SUCCESS && md_pg_affected(res) == 0) ? APR_ENOENT : rv;
}

static apr_status_t pg_remove(md_store_t *store, md_store_group_t group, const char *name,
                              const char *aspect, apr_pool_t *p)
{
    md_pg_store_t *ps = pg_of(store);
    md_store_t *local = ps->sh->local;
    write_t w;
    apr_status_t rv;

    if (is_local(group, aspect)) {
        return local->ops->remove(local, group, name, aspect, p);
    }
    if ((rv = md_pg_check_addr(group, name, aspect, 1, p)) != APR_SUCCESS) {
        return rv;
    }
    w = (write_t){ .ps = ps, .group = group, .name = name, .aspect = aspect };
    rv = md_pg_run(ps->sh, 1, remove_tx, &w, p);
    if (group == MD_SG_DOMAINS && md_pg_is_owner(ps->sh)
        && (rv == APR_SUCCESS || APR_STATUS_IS_ENOENT(rv))) {
        local->ops->remove(local, group, name, aspect, p);
    }
    return rv;
}

apr_status_t md_pg_delete_item(md_pg_tx_t *tx, md_store_group_t group, const char *name,
                               int *pfound)
{
    const char *vals[] = { md_pg_group(group), name };
    PGresult *res;
    apr_status_t rv;

    rv = md_pg_exec(tx, &res, "DELETE FROM md_values WHERE grp = $1 AND name = $2", 2, vals,
                    NULL);
    if (rv == APR_SUCCESS) {
        *pfound = md_pg_affected(res) > 0;
        rv = md_pg_exec(tx, &res, "DELETE FROM md_items WHERE grp = $1 AND name = $2", 2,
                        vals, NULL);
        *pfound = *pfound || (rv == APR_SUCCESS && md_pg_affected(res) > 0);
    }
    return rv;
}

/* Unfenced changes of an MD's staging take the work away from its holder. */
static apr_status_t end_staging_lease(md_pg_tx_t *tx, const write_t *w, const char *name)
{
    if (w->group != MD_SG_STAGING || w->ps->fence_name) {
        return APR_SUCCESS;
    }
    return md_pg_lease_end(tx, name);
}

static apr_status_t purge_tx(md_pg_tx_t *tx, void *baton)
{
    write_t *w = baton;
    int found = 0;
    apr_status_t rv;

    if ((rv = md_pg_fence_check(tx, w->ps, what_of(w, tx->p))) != APR_SUCCESS
        || (rv = end_staging_lease(tx, w, w->name)) != APR_SUCCESS
        || (rv = md_pg_delete_item(tx, w->group, w->name, &found)) != APR_SUCCESS) {
        return rv;
    }
    return found ? APR_SUCCESS : APR_ENOENT;
}

static apr_status_t pg_purge(md_store_t *store, md_store_group_t group, const char *name,
                             apr_pool_t *p)
{
    md_pg_store_t *ps = pg_of(store);
    md_store_t *local = ps->sh->local;
    write_t w;
    apr_status_t rv;

    if (group == MD_SG_NONE || group == MD_SG_TMP) {
        return local->ops->purge(local, group, name, p);
    }
    if ((rv = md_pg_check_addr(group, name, NULL, 0, p)) != APR_SUCCESS) {
        return rv;
    }
    w = (write_t){ .ps = ps, .group = group, .name = name };
    rv = md_pg_run(ps->sh, 1, purge_tx, &w, p);
    if (group == MD_SG_DOMAINS && md_pg_is_owner(ps->sh)
        && (rv == APR_SUCCESS || APR_STATUS_IS_ENOENT(rv))) {
        apr_status_t rv2 = local->ops->purge(local, group, name, p);
        md_pg_mirror_set(ps->sh, name, 0);
        if (APR_STATUS_IS_ENOENT(rv)) {
            rv = rv2;
        }
    }
    return rv;
}

/* --- list, list_aspects, get_mtime ------------------------------------------------ */

typedef struct {
    md_store_group_t group;
    const char *name;
    const char *aspect;
    apr_pool_t *p;
    apr_array_header_t *names;
    apr_time_t mtime;
} query_t;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void collect_sorted(apr_array_header_t *into, PGresult *res, apr_pool_t *p)
{
    int i;

    for (i = 0; i < PQntuples(res); ++i) {
        APR_ARRAY_PUSH(into, const char *) = md_pg_str(res, i, 0, p);
    }
    /* Byte order whatever the database's collation, as the file store lists. */
    qsort(into->elts, (size_t)into->nelts, sizeof(const char *), cmp_str);
}

static apr_status_t list_tx(md_pg_tx_t *tx, void *baton)
{
    query_t *q = baton;
    const char *vals[] = { md_pg_group(q->group) };
    PGresult *res;
    apr_status_t rv;

    rv = md_pg_exec(tx, &res, "SELECT name FROM md_items WHERE grp = $1", 1, vals, NULL);
    if (rv == APR_SUCCESS) {
        q->names = apr_array_make(q->p, PQntuples(res) + 1, sizeof(const char *));
        collect_sorted(q->names, res, q->p);
    }
    return rv;
}

static apr_status_t pg_list(md_store_t *store, md_store_group_t group,
                            apr_array_header_t **pnames, apr_pool_t *p)
{
    md_pg_store_t *ps = pg_of(store);
    md_store_t *local = ps->sh->local;
    query_t q;
    apr_status_t rv;

    *pnames = NULL;
    if (group == MD_SG_NONE || group == MD_SG_TMP) {
        return local->ops->list(local, group, pnames, p);
    }
    if ((int)group < 0 || group >= MD_SG_COUNT) {
        return APR_EINVAL;
    }
    memset(&q, 0, sizeof(q));
    q.group = group;
    q.p = p;
    rv = md_pg_run(ps->sh, 0, list_tx, &q, p);
    if (rv == APR_SUCCESS) {
        *pnames = q.names;
    }
    else if (use_mirror(group, rv)) {
        rv = local->ops->list(local, group, pnames, p);
    }
    return rv;
}

static apr_status_t aspects_tx(md_pg_tx_t *tx, void *baton)
{
    query_t *q = baton;
    const char *vals[] = { md_pg_group(q->group), q->name };
    PGresult *res;
    apr_status_t rv;

    rv = md_pg_exec(tx, &res, "SELECT aspect FROM md_values WHERE grp = $1 AND name = $2",
                    2, vals, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    q->names = apr_array_make(q->p, PQntuples(res) + 1, sizeof(const char *));
    collect_sorted(q->names, res, q->p);
    if (q->names->nelts == 0) {
        rv = md_pg_exec(tx, &res, "SELECT 1 FROM md_items WHERE grp = $1 AND name = $2", 2,
                        vals, NULL);
        if (rv == APR_SUCCESS && PQntuples(res) == 0) {
            rv = APR_ENOENT;
        }
    }
    return rv;
}

static apr_status_t pg_list_aspects(md_store_t *store, md_store_group_t group,
                                    const char *name, apr_array_header_t **paspects,
                                    apr_pool_t *p)
{
    md_pg_store_t *ps = pg_of(store);
    md_store_t *local = ps->sh->local;
    apr_array_header_t *here = NULL;
    query_t q;
    apr_status_t rv;
    int i;

    *paspects = NULL;
    if (group == MD_SG_NONE || group == MD_SG_TMP) {
        return local->ops->list_aspects(local, group, name, paspects, p);
    }
    if ((rv = md_pg_check_addr(group, name, NULL, 0, p)) != APR_SUCCESS) {
        return rv;
    }
    memset(&q, 0, sizeof(q));
    q.group = group;
    q.name = name;
    q.p = p;
    rv = md_pg_run(ps->sh, 0, aspects_tx, &q, p);
    if (use_mirror(group, rv)) {
        return local->ops->list_aspects(local, group, name, paspects, p);
    }
    if (group == MD_SG_DOMAINS
        && local->ops->list_aspects(local, group, name, &here, p) == APR_SUCCESS) {
        /* The server's own values there (fallback certificate) too. */
        for (i = 0; i < here->nelts; ++i) {
            const char *a = MD_ARR_IDX(here, i, const char *);
            if (md_pg_local_aspect(group, a)) {
                if (!q.names) {
                    q.names = apr_array_make(p, 1, sizeof(const char *));
                    rv = APR_SUCCESS;
                }
                APR_ARRAY_PUSH(q.names, const char *) = a;
                qsort(q.names->elts, (size_t)q.names->nelts, sizeof(const char *), cmp_str);
            }
        }
    }
    *paspects = q.names;
    return rv;
}

static apr_status_t mtime_tx(md_pg_tx_t *tx, void *baton)
{
    query_t *q = baton;
    const char *vals[] = { md_pg_group(q->group), q->name, q->aspect };
    PGresult *res;
    apr_status_t rv;

    q->mtime = 0;
    rv = md_pg_exec(tx, &res, "SELECT mtime FROM md_values WHERE grp = $1 AND name = $2 "
                    "AND aspect = $3", 3, vals, NULL);
    if (rv == APR_SUCCESS && PQntuples(res) > 0) {
        q->mtime = (apr_time_t)md_pg_int64(res, 0, 0);
        /* 0 means "not there". */
        q->mtime = q->mtime > 0 ? q->mtime : 1;
    }
    return rv;
}

static apr_time_t pg_get_mtime(md_store_t *store, md_store_group_t group, const char *name,
                               const char *aspect, apr_pool_t *p)
{
    md_pg_store_t *ps = pg_of(store);
    md_store_t *local = ps->sh->local;
    query_t q;
    apr_status_t rv;

    if (is_local(group, aspect)) {
        return local->ops->get_mtime(local, group, name, aspect, p);
    }
    if (md_pg_check_addr(group, name, aspect, 1, p) != APR_SUCCESS) {
        return 0;
    }
    memset(&q, 0, sizeof(q));
    q.group = group;
    q.name = name;
    q.aspect = aspect;
    q.p = p;
    rv = md_pg_run(ps->sh, 0, mtime_tx, &q, p);
    if (use_mirror(group, rv)) {
        return local->ops->get_mtime(local, group, name, aspect, p);
    }
    return rv == APR_SUCCESS ? q.mtime : 0;
}

/* --- files, owners ---------------------------------------------------------------- */

static apr_status_t pg_get_fname(md_store_t *store, md_store_group_t group, const char *name,
                                 const char *aspect, const char **pfname, apr_pool_t *p)
{
    md_pg_store_t *ps = pg_of(store);
    md_store_t *local = ps->sh->local;

    *pfname = NULL;
    if (group == MD_SG_DOMAINS && name && aspect && !md_pg_local_aspect(group, aspect)
        && md_pg_is_owner(ps->sh)) {
        /* mod_ssl reads the copy: bring it up to date first, as a whole. */
        md_pg_mirror_refresh(ps, name, 0, p);
    }
    if (is_local(group, aspect) || group == MD_SG_DOMAINS) {
        return local->ops->get_fname(local, group, name, aspect, pfname, p);
    }
    /* Nothing of it is a file. */
    return APR_ENOTIMPL;
}

static apr_status_t pg_set_owner(md_store_t *store, int uid, int gid, apr_pool_t *p)
{
    md_store_t *local = pg_of(store)->sh->local;

    /* The children write to the database only; the local directories
     * keep the file store's owners so that switching back works. */
    return local->ops->set_owner(local, uid, gid, p);
}

/* --- the store ------------------------------------------------------------------------ */

static void pg_idle(md_store_t *store)
{
    md_pg_shared_t *sh = pg_of(store)->sh;

    if (md_pg_is_owner(sh)) {
        apr_pool_t *ptemp;
        if (apr_pool_create(&ptemp, NULL) == APR_SUCCESS) {
            md_pg_mirror_save(sh, ptemp);
            apr_pool_destroy(ptemp);
        }
    }
    md_pg_idle(sh);
}

static const md_store_ops_t pg_ops = {
    pg_load,
    pg_save,
    pg_remove,
    pg_purge,
    pg_list,
    pg_list_aspects,
    md_pg_move,
    pg_get_mtime,
    pg_get_fname,
    pg_set_owner,
    md_pg_rename,
    md_pg_lock,
    md_pg_unlock,
    md_pg_lease_acquire,
    md_pg_lease_renew,
    md_pg_lease_release,
    md_pg_lease_list,
    md_pg_fence,
    md_pg_changes,
    pg_idle,
    NULL,       /* batch_begin: most reads are the database's */
    NULL,       /* version: asking costs a query, as reading does */
};

static apr_status_t shared_cleanup(void *data)
{
    md_pg_shared_t *sh = data;
    volatile unsigned char *k = sh->seal_key;
    apr_size_t i;

    md_pg_idle(sh);
    for (i = 0; i < sizeof(sh->seal_key); ++i) {
        k[i] = 0;
    }
    return APR_SUCCESS;
}

const char *md_store_pg_check(const char *conninfo, apr_pool_t *p)
{
    const char *err = NULL;

    if (!conninfo || !*conninfo) {
        return "needs a libpq connection string, e.g. \"host=db.example.org dbname=md "
               "user=md\" (a password goes into ~/.pgpass or passfile=, not here)";
    }
    if (!md_pg_describe(conninfo, NULL, &err, p)) {
        return apr_psprintf(p, "not a libpq connection string: %s", err);
    }
    return NULL;
}

static apr_status_t noop_tx(md_pg_tx_t *tx, void *baton)
{
    (void)tx;
    (void)baton;
    return APR_SUCCESS;
}

apr_status_t md_store_pg_open(md_store_t **pstore, apr_pool_t *p, const char *conninfo,
                              const char *local_dir)
{
    md_pg_store_t *ps;
    md_pg_shared_t *sh;
    const char *err = NULL;
    const char *app = NULL;
    char host[APRMAXHOSTLEN + 1];
    apr_status_t rv;

    *pstore = NULL;
    ps = apr_pcalloc(p, sizeof(*ps));
    sh = apr_pcalloc(p, sizeof(*sh));
    ps->sh = sh;
    sh->p = p;
    sh->conninfo = apr_pstrdup(p, conninfo ? conninfo : "");
    sh->target = md_pg_describe(sh->conninfo, &app, &err, p);
    if (!sh->target) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p, "MD24037: the store's "
                      "connection string is not one libpq takes: %s", err);
        return APR_EINVAL;
    }
    if (!app && apr_gethostname(host, sizeof(host), p) == APR_SUCCESS) {
        app = apr_pstrdup(p, host);
    }
    sh->node = app ? app : "unknown";
    sh->local_dir = apr_pstrdup(p, local_dir);
    sh->owner_pid = getpid();
    if ((rv = md_store_fs_open(&sh->local, p, local_dir)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = apr_thread_mutex_create(&sh->mutex, APR_THREAD_MUTEX_DEFAULT, p))
        != APR_SUCCESS) {
        return rv;
    }
    apr_pool_cleanup_register(p, sh, shared_cleanup, apr_pool_cleanup_null);
    if (sh->local->key) {
        if (md_crypt_seal_key(sh->seal_key, sh->local->key, sh->local->key_len)
            == APR_SUCCESS) {
            sh->have_seal_key = 1;
        }
        md_crypt_seal_key_check(&sh->key_check, sh->local->key, sh->local->key_len, p);
    }
    sh->mirrored = apr_hash_make(p);
    sh->checked = apr_hash_make(p);
    md_pg_mirror_load(sh, p);

    ps->s.ops = &pg_ops;
    ps->s.key = sh->local->key;
    ps->s.key_len = sh->local->key_len;
    ps->s.key_problem = sh->local->key_problem;
    ps->s.shared = 1;
    ps->s.backend = MD_STORE_BACKEND_POSTGRESQL;
    ps->s.node = sh->node;

    /* The database now, if it is there: set-up, import, key check. A
     * database that is away is no reason not to start. */
    rv = md_pg_run(sh, 0, noop_tx, NULL, p);
    if (rv == APR_SUCCESS && !sh->key_ok) {
        ps->s.key = NULL;
        ps->s.key_len = 0;
        ps->s.key_problem = apr_psprintf(p, "the store key in %s/%s is not the one of the "
                                         "store database %s", local_dir, MD_FN_STORE_JSON,
                                         sh->target);
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p, "MD24038: opened the store database %s "
                  "as node %s, local copies in %s%s", sh->target, sh->node, local_dir,
                  rv == APR_SUCCESS ? "" : " (not reachable now)");
    *pstore = &ps->s;
    return APR_SUCCESS;
}
