/* Typed access to the store, written once over md_store_ops_t so that every
 * store implementation shares the encoding of JSON, keys and certificates
 * and the messages about broken values. */
#include <string.h>

#include <apr_strings.h>

#include "md_crypt.h"
#include "md_json.h"
#include "md_log.h"
#include "md_store.h"

/* Directory names of the groups, as in the stock module's layout. */
static const char *const GROUP_NAMES[MD_SG_COUNT] = {
    [MD_SG_NONE]       = "none",
    [MD_SG_ACCOUNTS]   = "accounts",
    [MD_SG_CHALLENGES] = "challenges",
    [MD_SG_DOMAINS]    = "domains",
    [MD_SG_STAGING]    = "staging",
    [MD_SG_ARCHIVE]    = "archive",
    [MD_SG_TMP]        = "tmp",
    [MD_SG_OCSP]       = "ocsp",
};

const char *md_store_group_name(md_store_group_t group)
{
    if ((int)group < 0 || group >= MD_SG_COUNT) {
        return "unknown";
    }
    return GROUP_NAMES[group];
}

/* Where a value lives, for messages: the file path when the store has one. */
static const char *where(md_store_t *store, md_store_group_t group, const char *name,
                         const char *aspect, apr_pool_t *p)
{
    const char *fname = NULL;

    if (store->ops->get_fname(store, group, name, aspect, &fname, p) == APR_SUCCESS && fname) {
        return fname;
    }
    return apr_psprintf(p, "%s/%s/%s", md_store_group_name(group), name ? name : "",
                        aspect ? aspect : "");
}

static void cleanse(void *buf, apr_size_t len)
{
    volatile unsigned char *b = buf;
    while (len--) {
        *b++ = 0;
    }
}

/* Load a value; a failure other than "not there" is logged with its path.
 * APR_EINVAL (a bad name, an oversized or odd file) the store has logged. */
static apr_status_t load(char **pdata, apr_size_t *plen, md_store_t *store,
                         md_store_group_t group, const char *name, const char *aspect,
                         apr_pool_t *p)
{
    apr_status_t rv = store->ops->load(store, group, name, aspect, pdata, plen, p);

    /* A shared store that cannot reach its database logs that once itself. */
    if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv) && rv != APR_EINVAL
        && !APR_STATUS_IS_ECONNREFUSED(rv)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05100: %s: cannot read",
                      where(store, group, name, aspect, p));
    }
    return rv;
}

apr_status_t md_store_load_json(md_store_t *store, md_store_group_t group, const char *name,
                                const char *aspect, json_t **pjson, apr_pool_t *p)
{
    const char *err = NULL;
    const char *fname;
    apr_size_t len = 0;
    char *data = NULL;
    apr_status_t rv;

    *pjson = NULL;
    if ((rv = load(&data, &len, store, group, name, aspect, p)) != APR_SUCCESS) {
        return rv;
    }
    fname = where(store, group, name, aspect, p);
    if (len > MD_JSON_MAX_LEN) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p, "MD05101: %s: too large for "
                      "JSON (%" APR_SIZE_T_FMT " bytes, limit %d)", fname, len,
                      MD_JSON_MAX_LEN);
        return APR_EINVAL;
    }
    if (md_json_parse(pjson, data, len, fname, &err, p) != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p, "MD05102: %s: corrupt JSON: %s",
                      fname, err ? err : "unknown error");
        *pjson = NULL;
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

static apr_status_t save_json(md_store_t *store, md_store_group_t group, const char *name,
                              const char *aspect, const json_t *json, int flags, apr_pool_t *p)
{
    const char *text = json ? md_json_dump(json, 1, p) : NULL;

    if (!text) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p, "MD05103: %s: no JSON to save",
                      where(store, group, name, aspect, p));
        return APR_EINVAL;
    }
    return store->ops->save(store, group, name, aspect, text, strlen(text), flags, p);
}

apr_status_t md_store_save_json(md_store_t *store, md_store_group_t group, const char *name,
                                const char *aspect, const json_t *json, apr_pool_t *p)
{
    return save_json(store, group, name, aspect, json, 0, p);
}

apr_status_t md_store_save_json_volatile(md_store_t *store, md_store_group_t group,
                                         const char *name, const char *aspect,
                                         const json_t *json, apr_pool_t *p)
{
    return save_json(store, group, name, aspect, json, MD_STORE_VOLATILE, p);
}

/* Keys the unprivileged child can touch, or that sit around for long, are
 * encrypted with the store key; mod_ssl needs the live ones in domains/ plain. */
static int pkey_encrypted_in(md_store_group_t group)
{
    return group == MD_SG_ACCOUNTS || group == MD_SG_STAGING || group == MD_SG_ARCHIVE;
}

/* The groups the unprivileged child writes (accounts/, staging/). */
static int pkey_written_by_user(md_store_group_t group)
{
    return group == MD_SG_ACCOUNTS || group == MD_SG_STAGING;
}

apr_status_t md_store_load_pkey(md_store_t *store, md_store_group_t group, const char *name,
                                const char *aspect, md_pkey_t **ppkey, apr_pool_t *p)
{
    apr_size_t len = 0;
    char *data = NULL;
    apr_status_t rv;

    *ppkey = NULL;
    if ((rv = load(&data, &len, store, group, name, aspect, p)) != APR_SUCCESS) {
        return rv;
    }
    /* Only the renewal writes keys where the server's User can, and always
     * encrypted: a plain key there was put by someone without the store
     * key, and root must not take it. */
    if (pkey_written_by_user(group) && !md_pkey_pem_is_encrypted(data, len)) {
        cleanse(data, len);
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p, "MD05112: %s: a private key "
                      "that is not encrypted with the store key; not used (keys here are "
                      "only ever written encrypted)", where(store, group, name, aspect, p));
        return APR_EINVAL;
    }
    /* Plain keys load whatever the passphrase; encrypted ones need the store key. */
    rv = md_pkey_from_pem_with(ppkey, store->decoders, data, len, (const char *)store->key,
                               store->key_len, p);
    cleanse(data, len);
    if (APR_STATUS_IS_EACCES(rv) && !store->key) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05110: %s: the private key is "
                      "encrypted, but the store key is not available (%s)",
                      where(store, group, name, aspect, p), store->key_problem);
    }
    else if (APR_STATUS_IS_EACCES(rv)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05104: %s: the private key does not "
                      "decrypt with the store key in md_store.json (was the key file copied "
                      "from another store?)", where(store, group, name, aspect, p));
    }
    else if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05105: %s: not a valid private key",
                      where(store, group, name, aspect, p));
    }
    if (rv != APR_SUCCESS) {
        *ppkey = NULL;
    }
    return rv;
}

apr_status_t md_store_save_pkey(md_store_t *store, md_store_group_t group, const char *name,
                                const char *aspect, md_pkey_t *pkey, apr_pool_t *p)
{
    const char *pem = NULL;
    apr_size_t len = 0;
    apr_pool_t *ptemp;
    apr_status_t rv;

    /* The PEM is cleansed when its pool goes: keep that pool short-lived. */
    if ((rv = apr_pool_create(&ptemp, p)) != APR_SUCCESS) {
        return rv;
    }
    if (pkey_encrypted_in(group) && !store->key) {
        rv = APR_EACCES;
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, ptemp, "MD05111: %s: not saving the "
                      "private key: it must be encrypted, but the store key is not "
                      "available (%s)", where(store, group, name, aspect, ptemp),
                      store->key_problem);
    }
    else if (pkey_encrypted_in(group)) {
        rv = md_pkey_to_pem(&pem, &len, pkey, (const char *)store->key, store->key_len, ptemp);
    }
    else {
        rv = md_pkey_to_pem(&pem, &len, pkey, NULL, 0, ptemp);
    }
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EACCES(rv)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, ptemp, "MD05106: %s: cannot encode the "
                      "private key", where(store, group, name, aspect, ptemp));
    }
    else if (rv == APR_SUCCESS) {
        rv = store->ops->save(store, group, name, aspect, pem, len, MD_STORE_SECRET, ptemp);
    }
    apr_pool_destroy(ptemp);
    return rv;
}

apr_status_t md_store_load_certs(md_store_t *store, md_store_group_t group, const char *name,
                                 const char *aspect, apr_array_header_t **pcerts, apr_pool_t *p)
{
    apr_size_t len = 0;
    char *data = NULL;
    apr_status_t rv;

    *pcerts = NULL;
    if ((rv = load(&data, &len, store, group, name, aspect, p)) != APR_SUCCESS) {
        return rv;
    }
    rv = md_certs_from_pem(pcerts, data, len, p);
    if (rv != APR_SUCCESS) {
        /* The file is there: "no certificate in it" is corruption, not absence. */
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05107: %s: %s",
                      where(store, group, name, aspect, p),
                      APR_STATUS_IS_ENOENT(rv) ? "holds no certificate"
                                               : "not valid PEM certificates");
        *pcerts = NULL;
        rv = APR_EINVAL;
    }
    return rv;
}

static apr_status_t save_certs(md_store_t *store, md_store_group_t group, const char *name,
                               const char *aspect, const apr_array_header_t *certs, int flags,
                               apr_pool_t *p)
{
    const char *pem = NULL;
    apr_size_t len = 0;
    apr_status_t rv;

    if (!certs || certs->nelts == 0) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p, "MD05108: %s: no certificates "
                      "to save", where(store, group, name, aspect, p));
        return APR_EINVAL;
    }
    if ((rv = md_certs_to_pem(&pem, &len, certs, p)) != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05109: %s: cannot encode the "
                      "certificates", where(store, group, name, aspect, p));
        return rv;
    }
    return store->ops->save(store, group, name, aspect, pem, len, flags, p);
}

apr_status_t md_store_save_certs(md_store_t *store, md_store_group_t group, const char *name,
                                 const char *aspect, const apr_array_header_t *certs,
                                 apr_pool_t *p)
{
    return save_certs(store, group, name, aspect, certs, 0, p);
}

apr_status_t md_store_save_certs_volatile(md_store_t *store, md_store_group_t group,
                                          const char *name, const char *aspect,
                                          const apr_array_header_t *certs, apr_pool_t *p)
{
    return save_certs(store, group, name, aspect, certs, MD_STORE_VOLATILE, p);
}

apr_status_t md_store_digest(md_store_t *store, md_store_group_t group, const char *name,
                             const char *aspect, const char **pdigest, apr_pool_t *p)
{
    apr_size_t len = 0;
    char *data = NULL;
    apr_status_t rv;

    *pdigest = NULL;
    if ((rv = load(&data, &len, store, group, name, aspect, p)) != APR_SUCCESS) {
        return rv;
    }
    rv = md_crypt_sha256_b64url(pdigest, data, len, p);
    cleanse(data, len);
    return rv;
}

apr_status_t md_store_load_text(md_store_t *store, md_store_group_t group, const char *name,
                                const char *aspect, const char **ptext, apr_pool_t *p)
{
    apr_size_t len = 0;
    char *data = NULL;
    apr_status_t rv;

    *ptext = NULL;
    if ((rv = load(&data, &len, store, group, name, aspect, p)) == APR_SUCCESS) {
        *ptext = data;
    }
    return rv;
}

apr_status_t md_store_save_text(md_store_t *store, md_store_group_t group, const char *name,
                                const char *aspect, const char *text, apr_pool_t *p)
{
    if (!text) {
        return APR_EINVAL;
    }
    return store->ops->save(store, group, name, aspect, text, strlen(text), 0, p);
}

apr_status_t md_store_remove(md_store_t *store, md_store_group_t group, const char *name,
                             const char *aspect, apr_pool_t *p)
{
    return store->ops->remove(store, group, name, aspect, p);
}

apr_status_t md_store_purge(md_store_t *store, md_store_group_t group, const char *name,
                            apr_pool_t *p)
{
    return store->ops->purge(store, group, name, p);
}

apr_status_t md_store_list(md_store_t *store, md_store_group_t group,
                           apr_array_header_t **pnames, apr_pool_t *p)
{
    return store->ops->list(store, group, pnames, p);
}

apr_status_t md_store_list_aspects(md_store_t *store, md_store_group_t group, const char *name,
                                   apr_array_header_t **paspects, apr_pool_t *p)
{
    return store->ops->list_aspects(store, group, name, paspects, p);
}

apr_status_t md_store_move(md_store_t *store, md_store_group_t from, md_store_group_t to,
                           const char *name, int archive, apr_pool_t *p)
{
    return store->ops->move(store, from, to, name, archive, p);
}

apr_status_t md_store_get_fname(md_store_t *store, md_store_group_t group, const char *name,
                                const char *aspect, const char **pfname, apr_pool_t *p)
{
    return store->ops->get_fname(store, group, name, aspect, pfname, p);
}

apr_time_t md_store_get_mtime(md_store_t *store, md_store_group_t group, const char *name,
                              const char *aspect, apr_pool_t *p)
{
    return store->ops->get_mtime(store, group, name, aspect, p);
}

apr_status_t md_store_version(md_store_t *store, md_store_group_t group, const char *name,
                              const char *aspect, const char **pversion, apr_pool_t *p)
{
    *pversion = NULL;
    if (!store->ops->version) {
        return APR_ENOTIMPL;
    }
    return store->ops->version(store, group, name, aspect, pversion, p);
}

int md_store_exists(md_store_t *store, md_store_group_t group, const char *name,
                    const char *aspect, apr_pool_t *p)
{
    return store->ops->get_mtime(store, group, name, aspect, p) != 0;
}

apr_status_t md_store_set_owner(md_store_t *store, int uid, int gid, apr_pool_t *p)
{
    return store->ops->set_owner(store, uid, gid, p);
}

apr_status_t md_store_rename(md_store_t *store, md_store_group_t group, const char *from,
                             const char *to, apr_pool_t *p)
{
    return store->ops->rename(store, group, from, to, p);
}

apr_status_t md_store_lock(md_store_t *store, apr_interval_time_t max_wait, apr_pool_t *p)
{
    return store->ops->lock(store, max_wait, p);
}

apr_status_t md_store_unlock(md_store_t *store, apr_pool_t *p)
{
    return store->ops->unlock(store, p);
}

/* --- shared stores: what a store used by one server alone does ------------ */

apr_status_t md_store_lease_acquire(md_store_t *store, const char *name,
                                    apr_interval_time_t ttl, md_store_lease_t **please,
                                    apr_pool_t *p)
{
    md_store_lease_t *lease;

    if (store->ops->lease_acquire) {
        return store->ops->lease_acquire(store, name, ttl, please, p);
    }
    /* One server: its renewal lock keeps its children apart already. */
    lease = apr_pcalloc(p, sizeof(*lease));
    lease->name = apr_pstrdup(p, name);
    lease->epoch = 1;
    lease->node = store->node;
    lease->expires = apr_time_now() + ttl;
    lease->held = lease->mine = 1;
    *please = lease;
    return APR_SUCCESS;
}

apr_status_t md_store_lease_renew(md_store_t *store, md_store_lease_t *lease,
                                  apr_interval_time_t ttl, apr_pool_t *p)
{
    if (store->ops->lease_renew) {
        return store->ops->lease_renew(store, lease, ttl, p);
    }
    lease->expires = apr_time_now() + ttl;
    return APR_SUCCESS;
}

apr_status_t md_store_lease_release(md_store_t *store, md_store_lease_t *lease,
                                    apr_pool_t *p)
{
    if (store->ops->lease_release) {
        return store->ops->lease_release(store, lease, p);
    }
    lease->held = lease->mine = 0;
    return APR_SUCCESS;
}

apr_status_t md_store_lease_list(md_store_t *store, apr_array_header_t **pleases,
                                 apr_pool_t *p)
{
    if (store->ops->lease_list) {
        return store->ops->lease_list(store, pleases, p);
    }
    *pleases = apr_array_make(p, 0, sizeof(md_store_lease_t *));
    return APR_SUCCESS;
}

apr_status_t md_store_fence(md_store_t *store, const md_store_lease_t *lease,
                            md_store_t **pfenced, apr_pool_t *p)
{
    if (store->ops->fence) {
        return store->ops->fence(store, lease, pfenced, p);
    }
    *pfenced = store;
    return APR_SUCCESS;
}

apr_status_t md_store_changes(md_store_t *store, md_store_group_t group,
                              apr_array_header_t **pchanges, apr_pool_t *p)
{
    if (store->ops->changes) {
        return store->ops->changes(store, group, pchanges, p);
    }
    *pchanges = apr_array_make(p, 0, sizeof(md_store_change_t *));
    return APR_SUCCESS;
}

void md_store_idle(md_store_t *store)
{
    if (store->ops->idle) {
        store->ops->idle(store);
    }
}

static apr_status_t decoders_end(void *data)
{
    ((md_store_t *)data)->decoders = NULL;
    return APR_SUCCESS;
}

void md_store_batch_begin(md_store_t *store, apr_pool_t *p)
{
    if (store->ops->batch_begin) {
        store->ops->batch_begin(store, p);
    }
    if (!store->decoders) {
        /* made before the cleanup that forgets them: that one runs first */
        store->decoders = md_pkey_decoders_make(p);
        apr_pool_cleanup_register(p, store, decoders_end, apr_pool_cleanup_null);
    }
}
