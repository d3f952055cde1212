/* The PostgreSQL store's local copy of domains/ (the "mirror"): what
 * mod_ssl reads as files, and what a server serves when the database is
 * away.
 *
 * A copy is made of a whole item from one statement's snapshot and put in
 * place with the file store's move (one directory swap), so mod_ssl never
 * reads half of a set. Which version of each item the directory holds is
 * kept in memory and in <local>/pg-mirror.json (written when the server's
 * parent is done with the store for a while), so that a restart does not
 * copy everything again. Only the process that opened the store (the
 * server's parent, root) writes here.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>

#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_store_pg_int.h"
#include "md_util.h"

#define FN_MIRROR       "pg-mirror.json"
#define KEY_DOMAINS     "domains"

int md_pg_local_aspect(md_store_group_t group, const char *aspect)
{
    /* Each server makes its own fallback certificates. */
    return group == MD_SG_DOMAINS && aspect && !strcmp(aspect, MD_FN_FALLBACK_CERT);
}

apr_int64_t md_pg_mirror_version(md_pg_shared_t *sh, const char *name)
{
    apr_int64_t *v;
    apr_int64_t version;

    apr_thread_mutex_lock(sh->mutex);
    v = apr_hash_get(sh->mirrored, name, APR_HASH_KEY_STRING);
    version = v ? *v : 0;
    apr_thread_mutex_unlock(sh->mutex);
    return version;
}

void md_pg_mirror_set(md_pg_shared_t *sh, const char *name, apr_int64_t version)
{
    apr_int64_t *v;

    if (getpid() != sh->owner_pid) {
        return;
    }
    apr_thread_mutex_lock(sh->mutex);
    v = apr_hash_get(sh->mirrored, name, APR_HASH_KEY_STRING);
    if (version == 0) {
        apr_hash_set(sh->mirrored, name, APR_HASH_KEY_STRING, NULL);
    }
    else {
        if (!v) {
            v = apr_palloc(sh->p, sizeof(*v));
            apr_hash_set(sh->mirrored, apr_pstrdup(sh->p, name), APR_HASH_KEY_STRING, v);
        }
        *v = version;
    }
    sh->mirror_dirty = 1;
    apr_thread_mutex_unlock(sh->mutex);
}

void md_pg_mirror_load(md_pg_shared_t *sh, apr_pool_t *ptemp)
{
    md_store_t *local = sh->local;
    char *data = NULL;
    apr_size_t len = 0;
    json_t *j = NULL;
    json_t *domains;
    const char *name;
    json_t *v;

    if (local->ops->load(local, MD_SG_NONE, NULL, FN_MIRROR, &data, &len, ptemp)
        != APR_SUCCESS) {
        return;
    }
    if (md_json_parse(&j, data, len, FN_MIRROR, NULL, ptemp) != APR_SUCCESS
        || !(domains = json_object_get(j, KEY_DOMAINS)) || !json_is_object(domains)) {
        /* Only a cache of what the directory holds: start over. */
        md_log_perror(MD_LOG_MARK, MD_LOG_INFO, 0, ptemp, "MD24050: %s/%s is unreadable, "
                      "the local copies are checked again", sh->local_dir, FN_MIRROR);
        return;
    }
    json_object_foreach(domains, name, v) {
        if (json_is_string(v)) {
            md_pg_mirror_set(sh, name, apr_atoi64(json_string_value(v)));
        }
    }
    sh->mirror_dirty = 0;
}

void md_pg_mirror_save(md_pg_shared_t *sh, apr_pool_t *ptemp)
{
    json_t *j, *domains;
    apr_hash_index_t *hi;
    const char *text;
    int dirty;

    if (getpid() != sh->owner_pid) {
        return;
    }
    j = md_json_pool_own(ptemp, json_object());
    domains = json_object();
    json_object_set_new(j, KEY_DOMAINS, domains);
    apr_thread_mutex_lock(sh->mutex);
    dirty = sh->mirror_dirty;
    for (hi = apr_hash_first(ptemp, sh->mirrored); dirty && hi; hi = apr_hash_next(hi)) {
        const void *key;
        void *val;

        apr_hash_this(hi, &key, NULL, &val);
        json_object_set_new(domains, key,
                            json_string(md_pg_i64s(*(apr_int64_t *)val, ptemp)));
    }
    sh->mirror_dirty = 0;
    apr_thread_mutex_unlock(sh->mutex);
    if (!dirty) {
        return;
    }
    text = md_json_dump(j, 1, ptemp);
    /* A cache: made again when lost, no need to flush it. */
    if (!text || sh->local->ops->save(sh->local, MD_SG_NONE, NULL, FN_MIRROR, text,
                                      strlen(text), MD_STORE_VOLATILE, ptemp) != APR_SUCCESS) {
        apr_thread_mutex_lock(sh->mutex);
        sh->mirror_dirty = 1;
        apr_thread_mutex_unlock(sh->mutex);
    }
}

apr_status_t md_pg_mirror_put(md_pg_shared_t *sh, const char *name,
                              apr_array_header_t *values, apr_int64_t version, apr_pool_t *p)
{
    md_store_t *local = sh->local;
    char *data = NULL;
    apr_size_t len = 0;
    apr_status_t rv = APR_SUCCESS;
    int i;

    (void)version;
    local->ops->purge(local, MD_SG_TMP, name, p);
    for (i = 0; rv == APR_SUCCESS && values && i < values->nelts; ++i) {
        const md_pg_value_t *v = &APR_ARRAY_IDX(values, i, md_pg_value_t);

        rv = local->ops->save(local, MD_SG_TMP, name, v->aspect, v->data, v->len,
                              v->secret ? MD_STORE_SECRET : 0, p);
    }
    /* The server's own fallback certificate stays. */
    if (rv == APR_SUCCESS
        && local->ops->load(local, MD_SG_DOMAINS, name, MD_FN_FALLBACK_CERT, &data, &len, p)
           == APR_SUCCESS) {
        rv = local->ops->save(local, MD_SG_TMP, name, MD_FN_FALLBACK_CERT, data, len,
                              MD_STORE_VOLATILE, p);
    }
    if (rv == APR_SUCCESS && (!values || values->nelts == 0) && !data) {
        /* Nothing at all: no directory to swap in. */
        local->ops->purge(local, MD_SG_DOMAINS, name, p);
        return APR_SUCCESS;
    }
    if (rv == APR_SUCCESS) {
        rv = local->ops->move(local, MD_SG_TMP, MD_SG_DOMAINS, name, 0, p);
    }
    if (rv != APR_SUCCESS) {
        local->ops->purge(local, MD_SG_TMP, name, p);
    }
    return rv;
}

typedef struct {
    const char *name;
    apr_pool_t *p;
    int found;
    apr_int64_t version;
    apr_array_header_t *values;     /* md_pg_value_t, opened */
} snap_t;

static apr_status_t snapshot_tx(md_pg_tx_t *tx, void *baton)
{
    snap_t *s = baton;
    const char *vals[] = { s->name };
    PGresult *res;
    apr_status_t rv;
    int i;

    /* One statement: one consistent view of the whole set. */
    rv = md_pg_exec(tx, &res, "SELECT i.version, v.aspect, v.data, v.sealed FROM md_items i "
                    "LEFT JOIN md_values v ON v.grp = i.grp AND v.name = i.name "
                    "WHERE i.grp = 'domains' AND i.name = $1", 1, vals, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    s->found = PQntuples(res) > 0;
    s->version = s->found ? md_pg_int64(res, 0, 0) : 0;
    s->values = apr_array_make(s->p, PQntuples(res) + 1, sizeof(md_pg_value_t));
    for (i = 0; i < PQntuples(res); ++i) {
        md_pg_value_t *v;
        char *data = NULL;

        if (PQgetisnull(res, i, 1)) {
            continue;   /* an item without values */
        }
        v = apr_array_push(s->values);
        v->aspect = md_pg_str(res, i, 1, s->p);
        if ((rv = md_pg_bytes(&data, &v->len, res, i, 2, s->p)) != APR_SUCCESS) {
            return rv;
        }
        v->data = data;
        v->secret = !strcmp(PQgetvalue(res, i, 3), "t");
        if (v->secret) {
            rv = md_pg_unseal(tx->sh, &data, &v->len, v->data, v->len,
                              apr_psprintf(s->p, "domains/%s/%s", s->name, v->aspect), s->p);
            if (rv != APR_SUCCESS) {
                return rv;
            }
            v->data = data;
        }
    }
    return APR_SUCCESS;
}

apr_status_t md_pg_mirror_refresh(md_pg_store_t *ps, const char *name, int force,
                                  apr_pool_t *p)
{
    md_pg_shared_t *sh = ps->sh;
    apr_int64_t have;
    apr_pool_t *ptemp;
    snap_t s;
    int checked;
    apr_status_t rv;

    if (getpid() != sh->owner_pid) {
        return APR_SUCCESS;
    }
    apr_thread_mutex_lock(sh->mutex);
    checked = apr_hash_get(sh->checked, name, APR_HASH_KEY_STRING) != NULL;
    if (!checked) {
        apr_hash_set(sh->checked, apr_pstrdup(sh->p, name), APR_HASH_KEY_STRING, "");
    }
    apr_thread_mutex_unlock(sh->mutex);
    if (checked && !force) {
        return APR_SUCCESS;
    }
    if ((rv = apr_pool_create(&ptemp, p)) != APR_SUCCESS) {
        return rv;
    }
    memset(&s, 0, sizeof(s));
    s.name = name;
    s.p = ptemp;
    rv = md_pg_run(sh, 0, snapshot_tx, &s, ptemp);
    if (rv != APR_SUCCESS) {
        /* Keep what the directory has (the database is away). */
        goto leave;
    }
    have = md_pg_mirror_version(sh, name);
    if (!s.found) {
        if (have) {
            sh->local->ops->purge(sh->local, MD_SG_DOMAINS, name, ptemp);
            md_pg_mirror_set(sh, name, 0);
        }
        goto leave;
    }
    if (have == s.version) {
        goto leave;
    }
    rv = md_pg_mirror_put(sh, name, s.values, s.version, ptemp);
    if (rv == APR_SUCCESS) {
        md_pg_mirror_set(sh, name, s.version);
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, ptemp, "MD24051: %s: copied the live "
                      "set (version %" APR_INT64_T_FMT ") from the store database to %s",
                      name, s.version, sh->local_dir);
    }
    else {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, ptemp, "MD24052: %s: copying the live "
                      "set from the store database to %s failed", name, sh->local_dir);
    }
leave:
    apr_pool_destroy(ptemp);
    return rv;
}

typedef struct {
    apr_pool_t *p;
    apr_array_header_t *items;      /* md_store_change_t, all of domains/ */
} items_t;

static apr_status_t items_tx(md_pg_tx_t *tx, void *baton)
{
    items_t *it = baton;
    PGresult *res;
    apr_status_t rv;
    int i;

    rv = md_pg_exec(tx, &res, "SELECT name, version, mtime FROM md_items "
                    "WHERE grp = 'domains'", 0, NULL, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    it->items = apr_array_make(it->p, PQntuples(res) + 1, sizeof(md_store_change_t));
    for (i = 0; i < PQntuples(res); ++i) {
        md_store_change_t *c = apr_array_push(it->items);
        c->name = md_pg_str(res, i, 0, it->p);
        c->version = md_pg_int64(res, i, 1);
        c->mtime = (apr_time_t)md_pg_int64(res, i, 2);
    }
    return APR_SUCCESS;
}

apr_status_t md_pg_changes(md_store_t *store, md_store_group_t group,
                           apr_array_header_t **pchanges, apr_pool_t *p)
{
    md_pg_shared_t *sh = ((md_pg_store_t *)store)->sh;
    apr_hash_t *seen = apr_hash_make(p);
    apr_hash_index_t *hi;
    items_t it;
    apr_status_t rv;
    int i;

    *pchanges = apr_array_make(p, 4, sizeof(md_store_change_t *));
    if (group != MD_SG_DOMAINS || getpid() != sh->owner_pid) {
        return APR_SUCCESS;
    }
    it.p = p;
    it.items = NULL;
    if ((rv = md_pg_run(sh, 0, items_tx, &it, p)) != APR_SUCCESS) {
        return rv == APR_EAGAIN ? APR_ECONNREFUSED : rv;
    }
    for (i = 0; i < it.items->nelts; ++i) {
        md_store_change_t *c = &APR_ARRAY_IDX(it.items, i, md_store_change_t);

        apr_hash_set(seen, c->name, APR_HASH_KEY_STRING, c);
        if (c->version != md_pg_mirror_version(sh, c->name)) {
            APR_ARRAY_PUSH(*pchanges, md_store_change_t *) = c;
        }
    }
    /* Copies of sets that are gone (renamed or removed elsewhere). */
    apr_thread_mutex_lock(sh->mutex);
    for (hi = apr_hash_first(p, sh->mirrored); hi; hi = apr_hash_next(hi)) {
        const void *key;
        apr_hash_this(hi, &key, NULL, NULL);
        if (!apr_hash_get(seen, key, APR_HASH_KEY_STRING)) {
            md_store_change_t *c = apr_pcalloc(p, sizeof(*c));
            c->name = apr_pstrdup(p, key);
            APR_ARRAY_PUSH(*pchanges, md_store_change_t *) = c;
        }
    }
    apr_thread_mutex_unlock(sh->mutex);
    return APR_SUCCESS;
}
