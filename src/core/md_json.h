/* JSON through jansson, tied to APR pools.
 *
 * Documents parsed here are owned by a pool: a cleanup drops the reference,
 * so callers never call json_decref on what these functions return unless
 * they took an extra reference themselves.
 */
#ifndef md_json_h
#define md_json_h

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

/* Limits on untrusted JSON (from the CA or the store). */
#define MD_JSON_MAX_LEN     (1024 * 1024)
#define MD_JSON_MAX_DEPTH   32

/* Register a cleanup on p that releases one reference of j. Returns j. */
json_t *md_json_pool_own(apr_pool_t *p, json_t *j);

/* Parse data (need not be NUL-terminated). The result is owned by p.
 * source names where the data came from (file name or URL) for the error
 * message, which is logged with jansson's line/column and text.
 * Returns APR_EINVAL for malformed, too deep or too long input. If perr is
 * not NULL, it receives the message (allocated from p). */
apr_status_t md_json_parse(json_t **pjson, const char *data, apr_size_t len,
                           const char *source, const char **perr, apr_pool_t *p);

/* Serialize (pretty with 2-space indent if pretty, else compact with
 * sorted keys not guaranteed). Never NULL for a valid document. */
const char *md_json_dump(const json_t *j, int pretty, apr_pool_t *p);

/* --- typed reading: absence or wrong type gives NULL / the default --- */
const char *md_json_get_str(const json_t *obj, const char *key);
long long md_json_get_int(const json_t *obj, const char *key, long long dflt);
int md_json_get_bool(const json_t *obj, const char *key, int dflt);
json_t *md_json_get_obj(const json_t *obj, const char *key);     /* borrowed */
json_t *md_json_get_array(const json_t *obj, const char *key);   /* borrowed */
/* Array of strings as apr array (copied into p); NULL if missing or any
 * element is not a string. */
apr_array_header_t *md_json_get_str_array(const json_t *obj, const char *key, apr_pool_t *p);

/* Required string member: APR_EINVAL and a logged message naming key and
 * where (URL or file) if missing or not a string. */
apr_status_t md_json_require_str(const char **pval, const json_t *obj, const char *key,
                                 const char *where, apr_pool_t *p);

/* --- building (return new references / steal as jansson does) --- */
json_t *md_json_from_str_array(const apr_array_header_t *a);   /* new reference */
/* obj[key] = s (copied); s == NULL removes key. */
void md_json_set_str(json_t *obj, const char *key, const char *s);

#endif /* md_json_h */
