/* JSON as everything that reaches us arrives: md_json_parse (limits on
 * length and depth), then the typed accessors the callers use, and a dump
 * that must parse again to the same document. */
#include "fuzz.h"

#include "md_json.h"

static void read_members(json_t *j, apr_pool_t *p)
{
    const char *key;
    json_t *v;

    if (!json_is_object(j)) {
        return;
    }
    json_object_foreach(j, key, v) {
        (void)v;
        (void)md_json_get_str(j, key);
        (void)md_json_get_int(j, key, -1);
        (void)md_json_get_bool(j, key, -1);
        (void)md_json_get_obj(j, key);
        (void)md_json_get_array(j, key);
        (void)md_json_get_str_array(j, key, p);
        (void)md_json_require_str(&key, j, key, "fuzz", p);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_begin();
    const char *err = NULL;
    const char *text;
    json_t *j = NULL;
    json_t *again = NULL;

    if (md_json_parse(&j, (const char *)data, size, "fuzz", &err, p) == APR_SUCCESS) {
        read_members(j, p);
        text = md_json_dump(j, 0, p);
        if (!text) {
            abort();
        }
        /* What we write we must be able to read back, unchanged. */
        if (md_json_parse(&again, text, strlen(text), "dump", NULL, p) != APR_SUCCESS
            || !json_equal(j, again)) {
            abort();
        }
        (void)md_json_dump(j, 1, p);
    }
    else if (!err) {
        abort();   /* a failure always says why */
    }
    fuzz_pool_end(p);
    return 0;
}
