/* The credential memo (see md_credmemo.h). In memory an entry is a small C
 * struct in the memo's pool: the store's text is read into a pool of its
 * own and let go before the pass goes on, so that it does not stay in the
 * parent (and in every child) for the config's life. */
#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "md_credmemo.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_status.h"
#include "md_util.h"

/* The file's first line: a memo in another format (an older one was
 * JSON) is not read, and so made again. */
#define MEMO_MAGIC "md-cred-memo 1\n"

/* A memo bigger than this is not read (and so made again): no store has
 * that many certificates in use. */
#define MEMO_MAX_ENTRIES 1000000

struct md_credmemo_entry_t {
    apr_time_t from;
    apr_time_t until;
    const char *cert;           /* md-status JSON text of the leaf ("{}": validity only) */
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
    pass_map_t entries;         /* digest -> entry */
    apr_hash_t *base_digests;   /* file name at the store's base -> its digest, this pass */
    int changed;                /* this pass added or changed an entry */
    /* What is known under the store's versions of files, only while a
     * pass runs: in a pool of their own, gone at its end. */
    int versions;               /* this pass trusts the store's versions */
    apr_pool_t *dp;             /* NULL: not read from the store (yet) */
    pass_map_t digests;         /* version -> digest (md_credmemo_file_digest) */
    pass_map_t synced;          /* sync key -> synced_t (md_credmemo_synced) */
};

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

/* Remember value under key in this pass. */
static void pass_map_put(pass_map_t *m, const char *key, void *value, apr_pool_t *p)
{
    apr_hash_set(m->used, apr_pstrdup(p, key), APR_HASH_KEY_STRING, value);
}

/* used holds only what kept holds, unless something was put: then the
 * same count is the same set. */
static int pass_map_same(const pass_map_t *m)
{
    return apr_hash_count(m->kept) == apr_hash_count(m->used);
}

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
    pass_map_make(&memo->entries, p);
    memo->base_digests = apr_hash_make(p);
    apr_pool_cleanup_register(p, memo, drop_pass_pool, apr_pool_cleanup_null);
    return memo;
}

/* --- the memo as the store keeps it -------------------------------------
 * Text, a record per line, fields separated by tabs (no field holds a tab
 * or a newline: records that would are not written):
 *   e <digest> <from> <until> <ari> <covers> <names> <cert>   an entry
 *   f <version> <digest>                                      a file digest
 *   s <sync key> <account> <CA url>                           md.json in sync
 * from/until in seconds since the epoch; covers "1", "0" or "-" (not known,
 * names empty); an empty ari, account or url is none. A line that is not
 * one of these is skipped: the pass parses or reads what it names again.
 * Text because every pass reads the memo: a JSON parser took 130 instructions
 * per byte of it, a line scan takes a few. */

typedef struct {
    const char *s;
    apr_size_t len;
} span_t;

/* The tab-separated fields of the line [s, end) into fields[max]. Returns
 * how many there are, max + 1 when there are more: no field this code
 * writes holds a tab, so such a line is not its. */
static int split_line(span_t *fields, int max, const char *s, const char *end)
{
    int n = 0;

    for (;;) {
        const char *tab = memchr(s, '\t', (apr_size_t)(end - s));

        if (n == max) {
            return max + 1;
        }
        fields[n].s = s;
        fields[n].len = (apr_size_t)((tab ? tab : end) - s);
        ++n;
        if (!tab) {
            return n;
        }
        s = tab + 1;
    }
}

static const char *span_dup(const span_t *f, apr_pool_t *p)
{
    return f->len ? apr_pstrmemdup(p, f->s, f->len) : NULL;
}

static int span_is(const span_t *f, const char *s)
{
    return f->len == strlen(s) && !memcmp(f->s, s, f->len);
}

/* The end of year 9999 (UTC) in seconds since the epoch: no certificate
 * time we write is later, and apr_time_t holds it in microseconds. */
#define SECS_MAX        APR_INT64_C(253402300799)

/* Seconds since the epoch, as this code writes them: digits only, at most
 * SECS_MAX (a larger count would overflow in microseconds). */
static int span_secs(const span_t *f, apr_time_t *pt)
{
    apr_int64_t secs = 0;
    apr_size_t i;

    if (f->len == 0 || f->len > 12) {
        return 0;
    }
    for (i = 0; i < f->len; ++i) {
        if (f->s[i] < '0' || f->s[i] > '9') {
            return 0;
        }
        secs = secs * 10 + (f->s[i] - '0');
    }
    if (secs > SECS_MAX) {
        return 0;
    }
    *pt = apr_time_from_sec(secs);
    return 1;
}

static md_credmemo_entry_t *entry_from_line(const span_t *f, apr_pool_t *p)
{
    md_credmemo_entry_t *e = apr_pcalloc(p, sizeof(*e));
    int known = !span_is(&f[5], "-");

    if (!f[1].len || !f[7].len || !span_secs(&f[2], &e->from) || !span_secs(&f[3], &e->until)
        || (known && !span_is(&f[5], "0") && !span_is(&f[5], "1"))) {
        return NULL;
    }
    e->ari = span_dup(&f[4], p);
    if (known) {
        e->covers = span_is(&f[5], "1");
        e->names = f[6].len ? span_dup(&f[6], p) : "";
    }
    e->cert = span_dup(&f[7], p);
    return e;
}

/* The records of text into the memo: entries (with entries) and the pass's
 * maps (with digests). */
static void parse_memo(md_credmemo_t *memo, const char *text, int entries, int digests)
{
    const char *s = text + strlen(MEMO_MAGIC), *end = text + strlen(text);
    unsigned int lines = 0;

    if (strncmp(text, MEMO_MAGIC, strlen(MEMO_MAGIC))) {
        return;
    }
    while (s < end && lines++ < 4 * MEMO_MAX_ENTRIES) {
        const char *eol = memchr(s, '\n', (apr_size_t)(end - s));
        span_t f[8];
        int n;

        eol = eol ? eol : end;
        n = split_line(f, 8, s, eol);
        if (entries && n == 8 && span_is(&f[0], "e")) {
            md_credmemo_entry_t *e = entry_from_line(f, memo->p);

            if (e) {
                apr_hash_set(memo->entries.kept, span_dup(&f[1], memo->p), APR_HASH_KEY_STRING,
                             e);
            }
        }
        else if (digests && n == 3 && span_is(&f[0], "f") && f[1].len && f[2].len) {
            apr_hash_set(memo->digests.kept, span_dup(&f[1], memo->dp), APR_HASH_KEY_STRING,
                         span_dup(&f[2], memo->dp));
        }
        else if (digests && n == 4 && span_is(&f[0], "s") && f[1].len) {
            synced_t *sy = apr_pcalloc(memo->dp, sizeof(*sy));

            sy->account = span_dup(&f[2], memo->dp);
            sy->effective = span_dup(&f[3], memo->dp);
            apr_hash_set(memo->synced.kept, span_dup(&f[1], memo->dp), APR_HASH_KEY_STRING, sy);
        }
        s = eol + 1;
    }
}

/* A field this code may write: no separator in it. */
static int writable(const char *s)
{
    return !s || !strpbrk(s, "\t\n");
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* The memo as text: the entries and maps this pass used. */
static const char *memo_text(const md_credmemo_t *memo, apr_pool_t *ptemp)
{
    apr_array_header_t *lines = apr_array_make(ptemp, 1024, sizeof(const char *));
    apr_hash_index_t *hi;

    APR_ARRAY_PUSH(lines, const char *) = MEMO_MAGIC;
    for (hi = apr_hash_first(ptemp, memo->entries.used); hi; hi = apr_hash_next(hi)) {
        const void *digest;
        void *v;
        const md_credmemo_entry_t *e;

        apr_hash_this(hi, &digest, NULL, &v);
        e = v;
        if (writable(digest) && writable(e->ari) && writable(e->names) && writable(e->cert)) {
            APR_ARRAY_PUSH(lines, const char *) = apr_psprintf(
                ptemp, "e\t%s\t%" APR_INT64_T_FMT "\t%" APR_INT64_T_FMT "\t%s\t%s\t%s\t%s\n",
                (const char *)digest, (apr_int64_t)apr_time_sec(e->from),
                (apr_int64_t)apr_time_sec(e->until), or_empty(e->ari),
                e->names ? (e->covers ? "1" : "0") : "-", or_empty(e->names), e->cert);
        }
    }
    for (hi = memo->dp ? apr_hash_first(ptemp, memo->digests.used) : NULL; hi;
         hi = apr_hash_next(hi)) {
        const void *version;
        void *d;

        apr_hash_this(hi, &version, NULL, &d);
        if (writable(version) && writable(d)) {
            APR_ARRAY_PUSH(lines, const char *) = apr_pstrcat(ptemp, "f\t", version, "\t",
                                                              (const char *)d, "\n", NULL);
        }
    }
    for (hi = memo->dp ? apr_hash_first(ptemp, memo->synced.used) : NULL; hi;
         hi = apr_hash_next(hi)) {
        const void *key;
        void *v;
        const synced_t *sy;

        apr_hash_this(hi, &key, NULL, &v);
        sy = v;
        if (writable(key) && writable(sy->account) && writable(sy->effective)) {
            APR_ARRAY_PUSH(lines, const char *) = apr_pstrcat(
                ptemp, "s\t", key, "\t", or_empty(sy->account), "\t", or_empty(sy->effective),
                "\n", NULL);
        }
    }
    return apr_array_pstrcat(ptemp, lines, '\0');
}

unsigned int md_credmemo_count(const md_credmemo_t *memo)
{
    return apr_hash_count(memo->entries.kept);
}

/* Read what the store keeps: the entries (once per memo) and the pass's
 * maps (for a pass that uses them). */
static void load(md_credmemo_t *memo, md_store_t *store, int entries, int digests)
{
    apr_pool_t *lp;
    const char *text = NULL;

    /* Its own allocator: the file's text (hundreds of kB with 1000s of
     * MDs) goes back to the system, not to a free list that stays. */
    if (apr_pool_create_unmanaged_ex(&lp, NULL, NULL) != APR_SUCCESS) {
        return;
    }
    if (md_store_load_text(store, MD_SG_NONE, NULL, MD_FN_CRED_MEMO, &text, lp)
        == APR_SUCCESS) {
        parse_memo(memo, text, entries, digests);
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
    apr_hash_clear(memo->entries.used);
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

int md_credmemo_keeps_synced(const md_credmemo_t *memo)
{
    return memo->dp != NULL;
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
    pass_map_put(&memo->synced, key, s, memo->dp);
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
        pass_map_put(&memo->digests, version, apr_pstrdup(memo->dp, d), memo->dp);
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
    return pass_map_get(&memo->entries, digest, memo->p);
}

static md_credmemo_entry_t *add(md_credmemo_t *memo, const char *digest, const md_cert_t *leaf,
                                int for_status, apr_pool_t *p)
{
    /* files that could not be hashed: an answer for this pass only, in p */
    apr_pool_t *ep = digest ? memo->p : p;
    md_credmemo_entry_t *e = apr_pcalloc(ep, sizeof(*e));

    e->from = md_cert_valid_from(leaf);
    e->until = md_cert_valid_until(leaf);
    e->cert = "{}";
    if (for_status) {
        const char *ari = md_cert_ari_cert_id(leaf, p);
        char *text = json_dumps(md_status_cert_json(leaf, p), JSON_COMPACT);

        e->cert = apr_pstrdup(ep, text ? text : "{}");
        free(text);
        e->ari = ari ? apr_pstrdup(ep, ari) : NULL;
    }
    if (digest) {
        pass_map_put(&memo->entries, digest, e, memo->p);
        memo->changed = 1;
    }
    return e;
}

md_credmemo_entry_t *md_credmemo_add(md_credmemo_t *memo, const char *digest,
                                     const md_cert_t *leaf, apr_pool_t *p)
{
    return add(memo, digest, leaf, 1, p);
}

md_credmemo_entry_t *md_credmemo_add_validity(md_credmemo_t *memo, const char *digest,
                                              const md_cert_t *leaf, apr_pool_t *p)
{
    return add(memo, digest, leaf, 0, p);
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
    if (!memo->changed && pass_map_same(&memo->entries)
        && (!memo->dp || (pass_map_same(&memo->digests) && pass_map_same(&memo->synced)))) {
        goto done;
    }
    if (save && store) {
        if (md_store_save_text(store, MD_SG_NONE, NULL, MD_FN_CRED_MEMO,
                               memo_text(memo, ptemp), ptemp) != APR_SUCCESS) {
            md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, ptemp, "MD27000: %s not saved: the "
                          "next start parses the certificates once more", MD_FN_CRED_MEMO);
        }
        /* the JSON memo of earlier builds, read no more */
        md_store_remove(store, MD_SG_NONE, NULL, "cred-memo.json", ptemp);
    }
    memo->entries.kept = apr_hash_copy(memo->p, memo->entries.used);
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
