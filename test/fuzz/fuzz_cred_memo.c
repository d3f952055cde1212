/* The credential memo (cred-memo.txt at the store's base) as every config
 * pass reads it, through md_credmemo_begin on a real file store: whatever
 * the file holds, what the pass takes from it is an entry of the shape it
 * writes or a sync record with no empty strings; and what the pass saves
 * reads back as the entries it used, no more. */
#include "fuzz.h"

#include <stdio.h>

#include <apr_hash.h>

#include "md_credmemo.h"
#include "md_keys.h"
#include "md_store.h"

static md_store_t *store;

static void open_store(void)
{
    char *dir = apr_pstrdup(fuzz_root, "/tmp/fuzz_cred_memo.XXXXXX");

    if (!mkdtemp(dir)) {
        abort();
    }
    apr_pool_cleanup_register(fuzz_root, dir, fuzz_rm_tree, apr_pool_cleanup_null);
    if (md_store_fs_open(&store, fuzz_root, apr_pstrcat(fuzz_root, dir, "/md", NULL))
        != APR_SUCCESS) {
        abort();
    }
}

/* Ask the memo for the key of every record in text, as a pass would;
 * returns how many entries it found (by distinct key). */
static unsigned int ask(md_credmemo_t *memo, const char *text, apr_size_t len, apr_pool_t *p)
{
    apr_array_header_t *names = apr_array_make(p, 1, sizeof(const char *));
    const char *s = text, *end = text + len, *account, *effective;
    apr_hash_t *seen = apr_hash_make(p);

    APR_ARRAY_PUSH(names, const char *) = "a.test";
    while (s < end) {
        const char *eol = memchr(s, '\n', (size_t)(end - s));
        const char *tab, *key;
        md_credmemo_entry_t *e;

        eol = eol ? eol : end;
        if (eol - s <= 2 || s[1] != '\t') {
            s = eol + 1;
            continue;
        }
        tab = memchr(s + 2, '\t', (size_t)(eol - s - 2));
        key = apr_pstrmemdup(p, s + 2, (apr_size_t)((tab ? tab : eol) - (s + 2)));
        if (s[0] == 'e' && (e = md_credmemo_find(memo, key)) != NULL) {
            int covers = md_credmemo_covers(e, names, p);
            md_live_cert_t *lc = md_credmemo_live_cert(e, "P-256", p);

            apr_hash_set(seen, key, APR_HASH_KEY_STRING, e);
            if (covers < -1 || covers > 1 || !lc->status_json || !*lc->status_json
                || lc->valid_from != md_credmemo_from(e)
                || lc->valid_until != md_credmemo_until(e)) {
                abort();
            }
        }
        else if (s[0] == 's' && md_credmemo_synced(memo, key, &account, &effective)) {
            if ((account && !*account) || (effective && !*effective)) {
                abort();
            }
        }
        s = eol + 1;
    }
    return apr_hash_count(seen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_begin();
    /* as the store reads it: up to the first NUL */
    const char *text = apr_pstrmemdup(p, (const char *)data, size);
    md_credmemo_t *memo;
    unsigned int found;

    if (!store) {
        open_store();
    }
    if (store->ops->save(store, MD_SG_NONE, NULL, MD_FN_CRED_MEMO, (const char *)data, size,
                         MD_STORE_VOLATILE, p) != APR_SUCCESS) {
        abort();
    }
    memo = md_credmemo_create(p);
    md_credmemo_begin(memo, store, 1, p);
    found = ask(memo, text, strlen(text), p);
    /* every entry the memo read has a record its key names */
    if (md_credmemo_count(memo) < found) {
        abort();
    }
    md_credmemo_end(memo, store, 1, p);
    /* What was saved holds the entries the pass used, no more. */
    memo = md_credmemo_create(p);
    md_credmemo_begin(memo, store, 1, p);
    if (md_credmemo_count(memo) != found) {
        abort();
    }
    md_credmemo_end(memo, store, 0, p);
    fuzz_pool_end(p);
    return 0;
}
