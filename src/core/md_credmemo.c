/* The credential memo (see md_credmemo.h). */
#include <string.h>

#include <apr_strings.h>

#include "md_credmemo.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_status.h"
#include "md_util.h"

#define KEY_FROM   "from"
#define KEY_UNTIL  "until"
#define KEY_CERT   "cert"
#define KEY_COVERS "covers"

/* A memo bigger than this is not read (and so made again): no store has
 * that many certificates in use. */
#define MEMO_MAX_ENTRIES 1000000

struct md_credmemo_t {
    int loaded;        /* the store's copy was read */
    json_t *kept;      /* digest -> entry, as the store keeps it */
    json_t *used;      /* digest -> entry, those this pass asked for */
    int changed;       /* this pass added or changed an entry */
};

static apr_status_t memo_cleanup(void *data)
{
    md_credmemo_t *memo = data;

    json_decref(memo->kept);
    json_decref(memo->used);
    memo->kept = memo->used = NULL;
    return APR_SUCCESS;
}

md_credmemo_t *md_credmemo_create(apr_pool_t *p)
{
    md_credmemo_t *memo = apr_pcalloc(p, sizeof(*memo));

    memo->kept = json_object();
    memo->used = json_object();
    apr_pool_cleanup_register(p, memo, memo_cleanup, apr_pool_cleanup_null);
    return memo;
}

/* Entries that are not what this code writes are dropped, not trusted. */
static int entry_ok(const json_t *entry)
{
    return json_is_object(entry) && json_is_integer(json_object_get(entry, KEY_FROM))
        && json_is_integer(json_object_get(entry, KEY_UNTIL))
        && json_is_object(json_object_get(entry, KEY_CERT))
        && json_is_object(json_object_get(entry, KEY_COVERS));
}

void md_credmemo_begin(md_credmemo_t *memo, md_store_t *store, apr_pool_t *ptemp)
{
    if (!memo->loaded && store) {
        json_t *stored = NULL;
        const char *digest;
        json_t *entry;

        memo->loaded = 1;
        if (md_store_load_json(store, MD_SG_NONE, NULL, MD_FN_CRED_MEMO, &stored, ptemp)
            == APR_SUCCESS && json_is_object(stored)
            && json_object_size(stored) <= MEMO_MAX_ENTRIES) {
            json_object_foreach(stored, digest, entry) {
                if (entry_ok(entry)) {
                    json_object_set(memo->kept, digest, entry);
                }
            }
        }
    }
    json_object_clear(memo->used);
    memo->changed = 0;
}

const char *md_credmemo_digest(md_store_t *store, md_store_group_t group, const char *name,
                               const char *kname, const char *cname, apr_pool_t *p)
{
    const char *kd, *cd;

    if (md_store_digest(store, group, name, kname, &kd, p) != APR_SUCCESS
        || md_store_digest(store, group, name, cname, &cd, p) != APR_SUCCESS) {
        return NULL;
    }
    return apr_pstrcat(p, kd, ".", cd, NULL);
}

json_t *md_credmemo_find(md_credmemo_t *memo, const char *digest)
{
    json_t *entry = json_object_get(memo->used, digest);

    if (!entry && (entry = json_object_get(memo->kept, digest)) != NULL) {
        json_object_set(memo->used, digest, entry);
    }
    return entry;
}

json_t *md_credmemo_add(md_credmemo_t *memo, const char *digest, const md_cert_t *leaf,
                        apr_pool_t *p)
{
    json_t *entry = json_object();
    json_t *cert = md_status_cert_json(leaf, p);

    json_object_set_new(entry, KEY_FROM,
                        json_integer((json_int_t)apr_time_sec(md_cert_valid_from(leaf))));
    json_object_set_new(entry, KEY_UNTIL,
                        json_integer((json_int_t)apr_time_sec(md_cert_valid_until(leaf))));
    /* md_status_cert_json's object belongs to p: the entry takes a copy. */
    json_object_set_new(entry, KEY_CERT, json_deep_copy(cert));
    json_object_set_new(entry, KEY_COVERS, json_object());
    if (!digest) {
        /* files that could not be hashed: an answer for this pass only */
        return md_json_pool_own(p, entry);
    }
    json_object_set_new(memo->used, digest, entry);
    memo->changed = 1;
    return entry;
}

static const char *names_key(const apr_array_header_t *names, apr_pool_t *p)
{
    return names && names->nelts > 0 ? apr_array_pstrcat(p, names, ' ') : "";
}

int md_credmemo_covers(const json_t *entry, const apr_array_header_t *names, apr_pool_t *p)
{
    const json_t *v = json_object_get(json_object_get(entry, KEY_COVERS), names_key(names, p));

    return json_is_boolean(v) ? json_is_true(v) : -1;
}

void md_credmemo_set_covers(md_credmemo_t *memo, json_t *entry, const apr_array_header_t *names,
                            int covers, apr_pool_t *p)
{
    memo->changed = 1;
    json_object_set_new(json_object_get(entry, KEY_COVERS), names_key(names, p),
                        json_boolean(covers));
}

json_t *md_credmemo_cert(const json_t *entry)
{
    return json_object_get(entry, KEY_CERT);
}

apr_time_t md_credmemo_from(const json_t *entry)
{
    return apr_time_from_sec(md_json_get_int(entry, KEY_FROM, 0));
}

apr_time_t md_credmemo_until(const json_t *entry)
{
    return apr_time_from_sec(md_json_get_int(entry, KEY_UNTIL, 0));
}

void md_credmemo_end(md_credmemo_t *memo, md_store_t *store, int save, apr_pool_t *ptemp)
{
    /* used holds only entries of kept unless changed: same size, same set */
    if (!memo->changed && json_object_size(memo->kept) == json_object_size(memo->used)) {
        return;
    }
    if (save && store
        && md_store_save_json(store, MD_SG_NONE, NULL, MD_FN_CRED_MEMO, memo->used, ptemp)
           != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, ptemp, "MD27000: %s not saved: the next "
                      "start parses the certificates once more", MD_FN_CRED_MEMO);
    }
    json_decref(memo->kept);
    memo->kept = json_copy(memo->used);
}
