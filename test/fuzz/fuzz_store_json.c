/* md_store.json (the store's version and key) as the parent reads it at
 * every start, through md_store_fs_open on a real directory: any content
 * opens the store with a key, opens it without one (corrupt: reported,
 * kept), or refuses a store of another version; it is never rewritten. */
#include "fuzz.h"

#include <stdio.h>

#include "md_store.h"

static const char *base;     /* <tmp>/md */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_begin();
    md_store_t *store = NULL;
    const char *path;
    char buf[64];
    FILE *f;
    apr_status_t rv;

    if (!base) {
        char *dir = apr_pstrdup(fuzz_root, "/tmp/fuzz_store_json.XXXXXX");
        if (!mkdtemp(dir)) {
            abort();
        }
        apr_pool_cleanup_register(fuzz_root, dir, fuzz_rm_tree, apr_pool_cleanup_null);
        base = apr_pstrcat(fuzz_root, dir, "/md", NULL);
        /* A first open makes the layout; later ones find it. */
        if (md_store_fs_open(&store, p, base) != APR_SUCCESS) {
            abort();
        }
    }
    path = apr_pstrcat(p, base, "/md_store.json", NULL);
    if (!(f = fopen(path, "wb")) || (size && fwrite(data, 1, size, f) != size) || fclose(f)) {
        abort();
    }
    rv = md_store_fs_open(&store, p, base);
    if (rv == APR_SUCCESS) {
        if (store->key ? (store->key_len != MD_STORE_KEY_LEN || store->key_problem)
                       : !store->key_problem) {
            abort();
        }
    }
    else if (rv != APR_ENOTIMPL) {
        abort();
    }
    /* Whatever it said, the file is as it was. */
    if (!(f = fopen(path, "rb"))) {
        abort();
    }
    if (fread(buf, 1, sizeof(buf), f) != (size < sizeof(buf) ? size : sizeof(buf))
        || memcmp(buf, data, size < sizeof(buf) ? size : sizeof(buf))) {
        abort();
    }
    fclose(f);
    fuzz_pool_end(p);
    return 0;
}
