/* The credential memo (see md_credmemo.h). In memory an entry is a small C
 * struct in the memo's pool: the store's JSON is read into a pool of its own
 * and let go before the pass goes on, so that neither its text nor its
 * tree stays in the parent (and in every child) for the config's life. */
#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
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
#define KEY_ARI    "ari"
#define KEY_FILES  "@files"
#define KEY_SYNCED "@synced"

/* A memo bigger than this is not read (and so made again): no store has
 * that many certificates in use. */
#define MEMO_MAX_ENTRIES 1000000

struct md_credmemo_entry_t {
    apr_time_t from;
    apr_time_t until;
    const char *cert;           /* md-status JSON text of the leaf */
    const char *ari;            /* or NULL */
    const char *names;          /* the name list coverage is known for, or NULL */
    int covers;
};

/* A map as the store keeps it, and the part of it this pass asked for
 * (which is what the store keeps next). */
typedef struct {
    apr_hash_t *kept;
    apr_hash_t *used;
} pass_map_t;

typedef struct {
    const char *account;        /* or NULL */
    const char *effective;      /* or NULL */
} synced_t;

struct md_credmemo_t {
    apr_pool_t *p;
    int loaded;                 /* the store's copy was read */
    apr_hash_t *kept;           /* digest -> entry, as the store keeps it */
    apr_hash_t *used;           /* digest -> entry, those this pass asked for */
    apr_hash_t *base_digests;   /* file name at the store's base -> its digest, this pass */
    int changed;                /* this pass added or changed an entry */
    /* What is known under the store's versions of files, only while a
     * pass runs: in a pool of their own, gone at its end. */
    int versions;               /* this pass trusts the store's versions */
    apr_pool_t *dp;             /* NULL: not read from the store (yet) */
    pass_map_t digests;         /* version -> digest (md_credmemo_file_digest) */
    pass_map_t synced;          /* sync key -> synced_t (md_credmemo_synced) */
};

/* The pass's pool of its own goes with the memo, also when a start ends
 * before md_credmemo_end. */
static apr_status_t drop_pass_pool(void *data)
{
    md_credmemo_t *memo = data;

    if (memo->dp) {
        apr_pool_destroy(memo->dp);
        memo->dp = NULL;
    }
    return APR_SUCCESS;
}

md_credmemo_t *md_credmemo_create(apr_pool_t *p)
{
    md_credmemo_t *memo = apr_pcalloc(p, sizeof(*memo));

    memo->p = p;
    memo->kept = apr_hash_make(p);
    memo->used = apr_hash_make(p);
    memo->base_digests = apr_hash_make(p);
    apr_pool_cleanup_register(p, memo, drop_pass_pool, apr_pool_cleanup_null);
    return memo;
}

/* An entry of the store's JSON, or NULL when it is not what this code
 * writes (then it is dropped, not trusted). */
static md_credmemo_entry_t *entry_from_json(json_t *j, apr_pool_t *p)
{
    md_credmemo_entry_t *e;
    json_t *covers = json_object_get(j, KEY_COVERS);
    const char *names;
    json_t *v;

    if (!json_is_object(j) || !json_is_integer(json_object_get(j, KEY_FROM))
        || !json_is_integer(json_object_get(j, KEY_UNTIL))
        || !json_is_string(json_object_get(j, KEY_CERT)) || !json_is_object(covers)) {
        return NULL;
    }
    e = apr_pcalloc(p, sizeof(*e));
    e->from = apr_time_from_sec(md_json_get_int(j, KEY_FROM, 0));
    e->until = apr_time_from_sec(md_json_get_int(j, KEY_UNTIL, 0));
    e->cert = apr_pstrdup(p, md_json_get_str(j, KEY_CERT));
    if (md_json_get_str(j, KEY_ARI)) {
        e->ari = apr_pstrdup(p, md_json_get_str(j, KEY_ARI));
    }
    json_object_foreach(covers, names, v) {
        if (json_is_boolean(v)) {
            e->names = apr_pstrdup(p, names);
            e->covers = json_is_true(v);
            break;
        }
    }
    return e;
}

static json_t *entry_to_json(const md_credmemo_entry_t *e)
{
    json_t *j = json_object();
    json_t *covers = json_object();

    json_object_set_new(j, KEY_FROM, json_integer((json_int_t)apr_time_sec(e->from)));
    json_object_set_new(j, KEY_UNTIL, json_integer((json_int_t)apr_time_sec(e->until)));
    md_json_set_str(j, KEY_CERT, e->cert);
    if (e->ari) {
        md_json_set_str(j, KEY_ARI, e->ari);
    }
    if (e->names) {
        json_object_set_new(covers, e->names, json_boolean(e->covers));
    }
    json_object_set_new(j, KEY_COVERS, covers);
    return j;
}

unsigned int md_credmemo_count(const md_credmemo_t *memo)
{
    return apr_hash_count(memo->kept);
}

static void pass_map_make(pass_map_t *m, apr_pool_t *p)
{
    m->kept = apr_hash_make(p);
    m->used = apr_hash_make(p);
}

/* The value of key: used in this pass, else kept (then now used). */
static void *pass_map_get(pass_map_t *m, const char *key, apr_pool_t *p)
{
    void *v = apr_hash_get(m->used, key, APR_HASH_KEY_STRING);

    if (!v && (v = apr_hash_get(m->kept, key, APR_HASH_KEY_STRING)) != NULL) {
        apr_hash_set(m->used, apr_pstrdup(p, key), APR_HASH_KEY_STRING, v);
    }
    return v;
}

static int pass_map_same(const pass_map_t *m)
{
    return apr_hash_count(m->kept) == apr_hash_count(m->used);
}

static const char *str_or_null(json_t *j, apr_pool_t *p)
{
    return json_is_string(j) ? apr_pstrdup(p, json_string_value(j)) : NULL;
}

/* "@files": { version: digest }, "@synced": { key: [account, effective] } */
static void pass_map_from_json(md_credmemo_t *memo, pass_map_t *m, json_t *j, int synced)
{
    const char *key;
    json_t *v;

    if (!json_is_object(j) || json_object_size(j) > 2 * MEMO_MAX_ENTRIES) {
        return;
    }
    json_object_foreach(j, key, v) {
        void *value = NULL;

        if (!synced && json_is_string(v)) {
            value = apr_pstrdup(memo->dp, json_string_value(v));
        }
        else if (synced && json_is_array(v) && json_array_size(v) == 2) {
            synced_t *s = apr_pcalloc(memo->dp, sizeof(*s));

            s->account = str_or_null(json_array_get(v, 0), memo->dp);
            s->effective = str_or_null(json_array_get(v, 1), memo->dp);
            value = s;
        }
        if (value) {
            apr_hash_set(m->kept, apr_pstrdup(memo->dp, key), APR_HASH_KEY_STRING, value);
        }
    }
}

static json_t *pass_map_to_json(const pass_map_t *m, int synced, apr_pool_t *ptemp)
{
    apr_hash_index_t *hi;
    json_t *j = json_object();

    for (hi = apr_hash_first(ptemp, m->used); hi; hi = apr_hash_next(hi)) {
        const void *key;
        void *v;

        apr_hash_this(hi, &key, NULL, &v);
        if (synced) {
            const synced_t *s = v;

            json_object_set_new(j, key, json_pack("[s?s?]", s->account, s->effective));
        }
        else {
            json_object_set_new(j, key, json_string(v));
        }
    }
    return j;
}

/* Read what the store keeps: the entries (once per memo) and the file
 * digests (for a pass that uses them). */
static void load(md_credmemo_t *memo, md_store_t *store, int entries, int digests)
{
    apr_pool_t *lp;
    json_t *stored = NULL;
    const char *digest;
    json_t *j;

    /* Its own allocator: the file's text (hundreds of kB with 1000s of
     * MDs) goes back to the system, not to a free list that stays. */
    if (apr_pool_create_unmanaged_ex(&lp, NULL, NULL) != APR_SUCCESS) {
        return;
    }
    if (md_store_load_json(store, MD_SG_NONE, NULL, MD_FN_CRED_MEMO, &stored, lp)
        == APR_SUCCESS && json_is_object(stored)
        && json_object_size(stored) <= MEMO_MAX_ENTRIES + 2) {
        json_object_foreach(stored, digest, j) {
            md_credmemo_entry_t *e;

            if (!strcmp(digest, KEY_FILES) || !strcmp(digest, KEY_SYNCED)) {
                if (digests) {
                    pass_map_from_json(memo, !strcmp(digest, KEY_FILES) ? &memo->digests
                                                                         : &memo->synced,
                                       j, !strcmp(digest, KEY_SYNCED));
                }
            }
            else if (entries && (e = entry_from_json(j, memo->p)) != NULL) {
                apr_hash_set(memo->kept, apr_pstrdup(memo->p, digest), APR_HASH_KEY_STRING, e);
            }
        }
    }
    apr_pool_destroy(lp);
}

void md_credmemo_begin(md_credmemo_t *memo, md_store_t *store, int versions, apr_pool_t *ptemp)
{
    int digests = versions && !memo->dp;

    (void)ptemp;
    memo->versions = versions;
    /* An allocator of its own: the thread that starts the MDs may fill it. */
    if (digests && apr_pool_create_unmanaged_ex(&memo->dp, NULL, NULL) == APR_SUCCESS) {
        pass_map_make(&memo->digests, memo->dp);
        pass_map_make(&memo->synced, memo->dp);
    }
    else {
        digests = 0;
    }
    if (store && (!memo->loaded || digests)) {
        load(memo, store, !memo->loaded, digests);
        memo->loaded = 1;
    }
    apr_hash_clear(memo->used);
    apr_hash_clear(memo->base_digests);
    memo->changed = 0;
}

const char *md_credmemo_base_digest(md_credmemo_t *memo, md_store_t *store, const char *fname)
{
    const char *d = apr_hash_get(memo->base_digests, fname, APR_HASH_KEY_STRING);

    if (!d && md_store_digest(store, MD_SG_NONE, NULL, fname, &d, memo->p) == APR_SUCCESS) {
        apr_hash_set(memo->base_digests, apr_pstrdup(memo->p, fname), APR_HASH_KEY_STRING, d);
    }
    return d;
}

const char *md_credmemo_version(md_credmemo_t *memo, md_store_t *store,
                                md_store_group_t group, const char *name, const char *aspect,
                                apr_pool_t *p)
{
    const char *version = NULL;

    if (!memo || !memo->versions || !memo->dp
        || md_store_version(store, group, name, aspect, &version, p) != APR_SUCCESS) {
        return NULL;
    }
    return version;
}

int md_credmemo_synced(md_credmemo_t *memo, const char *key, const char **paccount,
                       const char **peffective)
{
    const synced_t *s = memo && memo->dp ? pass_map_get(&memo->synced, key, memo->dp) : NULL;

    *paccount = s ? s->account : NULL;
    *peffective = s ? s->effective : NULL;
    return s != NULL;
}

void md_credmemo_set_synced(md_credmemo_t *memo, const char *key, const char *account,
                            const char *effective)
{
    synced_t *s;

    if (!memo || !memo->dp) {
        return;
    }
    s = apr_pcalloc(memo->dp, sizeof(*s));
    s->account = account ? apr_pstrdup(memo->dp, account) : NULL;
    s->effective = effective ? apr_pstrdup(memo->dp, effective) : NULL;
    apr_hash_set(memo->synced.used, apr_pstrdup(memo->dp, key), APR_HASH_KEY_STRING, s);
    memo->changed = 1;
}

const char *md_credmemo_file_digest(md_credmemo_t *memo, md_store_t *store,
                                    md_store_group_t group, const char *name,
                                    const char *aspect, apr_pool_t *p)
{
    const char *version = md_credmemo_version(memo, store, group, name, aspect, p);
    const char *d;

    if (version && (d = pass_map_get(&memo->digests, version, memo->dp)) != NULL) {
        return d;
    }
    if (md_store_digest(store, group, name, aspect, &d, p) != APR_SUCCESS) {
        return NULL;
    }
    if (version) {
        /* The version was taken before the read: a file replaced in between
         * has a new one by the next pass, which reads it again. */
        apr_hash_set(memo->digests.used, apr_pstrdup(memo->dp, version), APR_HASH_KEY_STRING,
                     apr_pstrdup(memo->dp, d));
        memo->changed = 1;
    }
    return d;
}

const char *md_credmemo_digest(md_credmemo_t *memo, md_store_t *store, md_store_group_t group,
                               const char *name, const char *kname, const char *cname,
                               apr_pool_t *p)
{
    const char *kd, *cd;

    if (!(kd = md_credmemo_file_digest(memo, store, group, name, kname, p))
        || !(cd = md_credmemo_file_digest(memo, store, group, name, cname, p))) {
        return NULL;
    }
    return apr_pstrcat(p, kd, ".", cd, NULL);
}

md_credmemo_entry_t *md_credmemo_find(md_credmemo_t *memo, const char *digest)
{
    md_credmemo_entry_t *e = apr_hash_get(memo->used, digest, APR_HASH_KEY_STRING);

    if (!e && (e = apr_hash_get(memo->kept, digest, APR_HASH_KEY_STRING)) != NULL) {
        apr_hash_set(memo->used, apr_pstrdup(memo->p, digest), APR_HASH_KEY_STRING, e);
    }
    return e;
}

md_credmemo_entry_t *md_credmemo_add(md_credmemo_t *memo, const char *digest,
                                     const md_cert_t *leaf, apr_pool_t *p)
{
    /* files that could not be hashed: an answer for this pass only, in p */
    apr_pool_t *ep = digest ? memo->p : p;
    md_credmemo_entry_t *e = apr_pcalloc(ep, sizeof(*e));
    const char *ari = md_cert_ari_cert_id(leaf, p);
    char *text = json_dumps(md_status_cert_json(leaf, p), JSON_COMPACT);

    e->from = md_cert_valid_from(leaf);
    e->until = md_cert_valid_until(leaf);
    e->cert = apr_pstrdup(ep, text ? text : "{}");
    free(text);
    e->ari = ari ? apr_pstrdup(ep, ari) : NULL;
    if (digest) {
        apr_hash_set(memo->used, apr_pstrdup(memo->p, digest), APR_HASH_KEY_STRING, e);
        memo->changed = 1;
    }
    return e;
}

static const char *names_key(const apr_array_header_t *names, apr_pool_t *p)
{
    return names && names->nelts > 0 ? apr_array_pstrcat(p, names, ' ') : "";
}

int md_credmemo_covers(const md_credmemo_entry_t *e, const apr_array_header_t *names,
                       apr_pool_t *p)
{
    return e->names && !strcmp(e->names, names_key(names, p)) ? e->covers : -1;
}

void md_credmemo_set_covers(md_credmemo_t *memo, md_credmemo_entry_t *e,
                            const apr_array_header_t *names, int covers, apr_pool_t *p)
{
    (void)p;
    e->names = names_key(names, memo->p);
    e->covers = covers;
    memo->changed = 1;
}

apr_time_t md_credmemo_from(const md_credmemo_entry_t *e)
{
    return e->from;
}

apr_time_t md_credmemo_until(const md_credmemo_entry_t *e)
{
    return e->until;
}

md_live_cert_t *md_credmemo_live_cert(const md_credmemo_entry_t *e, const char *spec_name,
                                      apr_pool_t *p)
{
    md_live_cert_t *lc = apr_pcalloc(p, sizeof(*lc));

    /* The entry's strings live as long as the memo's pool: the config's. */
    lc->spec_name = spec_name;
    lc->valid_from = e->from;
    lc->valid_until = e->until;
    lc->status_json = e->cert;
    lc->ari_id = e->ari;
    return lc;
}

void md_credmemo_end(md_credmemo_t *memo, md_store_t *store, int save, apr_pool_t *ptemp)
{
    apr_hash_index_t *hi;
    json_t *j;

    /* used holds only entries of kept unless changed: same count, same set
     * (and so for the digests) */
    if (!memo->changed && apr_hash_count(memo->kept) == apr_hash_count(memo->used)
        && (!memo->dp || (pass_map_same(&memo->digests) && pass_map_same(&memo->synced)))) {
        goto done;
    }
    if (save && store) {
        j = md_json_pool_own(ptemp, json_object());
        for (hi = apr_hash_first(ptemp, memo->used); hi; hi = apr_hash_next(hi)) {
            const void *digest;
            void *e;

            apr_hash_this(hi, &digest, NULL, &e);
            json_object_set_new(j, digest, entry_to_json(e));
        }
        if (memo->dp) {
            json_object_set_new(j, KEY_FILES, pass_map_to_json(&memo->digests, 0, ptemp));
            json_object_set_new(j, KEY_SYNCED, pass_map_to_json(&memo->synced, 1, ptemp));
        }
        if (md_store_save_json(store, MD_SG_NONE, NULL, MD_FN_CRED_MEMO, j, ptemp)
            != APR_SUCCESS) {
            md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, ptemp, "MD27000: %s not saved: the "
                          "next start parses the certificates once more", MD_FN_CRED_MEMO);
        }
    }
    memo->kept = apr_hash_copy(memo->p, memo->used);
    memo->changed = 0;
done:
    /* The digests serve the pass only: their pool goes, and a next pass on
     * this memo reads them from the store again. */
    if (memo->dp) {
        drop_pass_pool(memo);
        memset(&memo->digests, 0, sizeof(memo->digests));
        memset(&memo->synced, 0, sizeof(memo->synced));
    }
}
