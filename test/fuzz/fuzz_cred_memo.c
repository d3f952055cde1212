/* The credential memo (cred-memo.json at the store's base) as every config
 * pass reads it, through md_credmemo_begin on a real file store: whatever
 * the file holds, what the pass takes from it is an entry of the shape it
 * writes, a digest string, or a sync record; and what the pass saves reads
 * back as the entries it used, no more. */
#include "fuzz.h"

#include <stdio.h>

#include "md_credmemo.h"
#include "md_json.h"
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

/* Ask the memo for every key of the document, as a pass would; returns how
 * many entries it found. */
static unsigned int ask(md_credmemo_t *memo, json_t *doc, apr_pool_t *p)
{
    apr_array_header_t *names = apr_array_make(p, 1, sizeof(const char *));
    json_t *synced = json_object_get(doc, "@synced");
    const char *key, *account, *effective;
    unsigned int found = 0;
    json_t *v;

    APR_ARRAY_PUSH(names, const char *) = "a.test";
    json_object_foreach(doc, key, v) {
        md_credmemo_entry_t *e = md_credmemo_find(memo, key);
        md_live_cert_t *lc;
        int covers;

        if (!e) {
            continue;
        }
        ++found;
        covers = md_credmemo_covers(e, names, p);
        lc = md_credmemo_live_cert(e, "P-256", p);
        if (covers < -1 || covers > 1 || !lc->status_json
            || lc->valid_from != md_credmemo_from(e) || lc->valid_until != md_credmemo_until(e)) {
            abort();
        }
    }
    json_object_foreach(synced, key, v) {
        if (md_credmemo_synced(memo, key, &account, &effective)) {
            (void)(account && strlen(account));
            (void)(effective && strlen(effective));
        }
    }
    return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_begin();
    md_credmemo_t *memo;
    json_t *doc = NULL;
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
    if (md_json_parse(&doc, (const char *)data, size, "memo", NULL, p) != APR_SUCCESS) {
        if (md_credmemo_count(memo) != 0) {
            abort();
        }
        fuzz_pool_end(p);
        return 0;
    }
    found = ask(memo, doc, p);
    md_credmemo_end(memo, store, 1, p);
    /* What was saved holds the entries the pass used. */
    memo = md_credmemo_create(p);
    md_credmemo_begin(memo, store, 1, p);
    if (md_credmemo_count(memo) != found) {
        abort();
    }
    md_credmemo_end(memo, store, 0, p);
    fuzz_pool_end(p);
    return 0;
}
