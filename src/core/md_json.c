/* JSON through jansson, owned by APR pools (see md_json.h). */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "md_json.h"
#include "md_log.h"
#include "md_util.h"

static apr_status_t json_decref_cleanup(void *data)
{
    json_decref((json_t *)data);
    return APR_SUCCESS;
}

json_t *md_json_pool_own(apr_pool_t *p, json_t *j)
{
    if (j) {
        apr_pool_cleanup_register(p, j, json_decref_cleanup, apr_pool_cleanup_null);
    }
    return j;
}

/* Is j nested deeper than max levels? The walk stops as soon as the limit
 * is crossed, so recursion stays bounded by the limit, not by the input. */
static int too_deep(json_t *j, int max)
{
    if (json_is_object(j)) {
        const char *key;
        json_t *val;
        if (max <= 0) {
            return 1;
        }
        json_object_foreach(j, key, val) {
            if (too_deep(val, max - 1)) {
                return 1;
            }
        }
    }
    else if (json_is_array(j)) {
        size_t i;
        json_t *val;
        if (max <= 0) {
            return 1;
        }
        json_array_foreach(j, i, val) {
            if (too_deep(val, max - 1)) {
                return 1;
            }
        }
    }
    return 0;
}

apr_status_t md_json_parse(json_t **pjson, const char *data, apr_size_t len,
                           const char *source, const char **perr, apr_pool_t *p)
{
    json_error_t err;
    json_t *j = NULL;
    const char *msg = NULL;
    apr_status_t rv = APR_SUCCESS;

    *pjson = NULL;
    if (!source) {
        source = "(unknown)";
    }
    if (!data) {
        msg = apr_psprintf(p, "%s: no JSON data", source);
        rv = APR_EINVAL;
        goto leave;
    }
    if (len > MD_JSON_MAX_LEN) {
        msg = apr_psprintf(p, "%s: JSON of %" APR_SIZE_T_FMT " bytes exceeds the limit"
                           " of %d bytes", source, len, MD_JSON_MAX_LEN);
        rv = APR_EINVAL;
        goto leave;
    }
    j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err);
    if (!j) {
        msg = apr_psprintf(p, "%s: invalid JSON at line %d column %d: %s", source,
                           err.line, err.column,
                           md_util_str_printable(p, err.text, 200));
        rv = APR_EINVAL;
        goto leave;
    }
    md_json_pool_own(p, j);
    if (too_deep(j, MD_JSON_MAX_DEPTH)) {
        msg = apr_psprintf(p, "%s: JSON nested deeper than %d levels", source,
                           MD_JSON_MAX_DEPTH);
        rv = APR_EINVAL;
        goto leave;
    }
    *pjson = j;

leave:
    if (rv != APR_SUCCESS) {
        /* Logged quietly: the caller knows whether bad JSON here is an
         * error (a CA response) or expected (probing a file). */
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p, "MD01001: %s", msg);
    }
    if (perr) {
        *perr = msg;
    }
    return rv;
}

const char *md_json_dump(const json_t *j, int pretty, apr_pool_t *p)
{
    size_t flags = JSON_ENCODE_ANY | JSON_PRESERVE_ORDER;
    char *s;
    const char *copy;

    if (!j) {
        return NULL;
    }
    flags |= pretty ? JSON_INDENT(2) : JSON_COMPACT;
    s = json_dumps(j, flags);
    if (!s) {
        return NULL;
    }
    copy = apr_pstrdup(p, s);
    free(s);
    return copy;
}

/* --- typed reading ------------------------------------------------------ */

static json_t *member(const json_t *obj, const char *key)
{
    if (!obj || !key || !json_is_object(obj)) {
        return NULL;
    }
    return json_object_get(obj, key);
}

const char *md_json_get_str(const json_t *obj, const char *key)
{
    json_t *v = member(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

long long md_json_get_int(const json_t *obj, const char *key, long long dflt)
{
    json_t *v = member(obj, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

int md_json_get_bool(const json_t *obj, const char *key, int dflt)
{
    json_t *v = member(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

json_t *md_json_get_obj(const json_t *obj, const char *key)
{
    json_t *v = member(obj, key);
    return json_is_object(v) ? v : NULL;
}

json_t *md_json_get_array(const json_t *obj, const char *key)
{
    json_t *v = member(obj, key);
    return json_is_array(v) ? v : NULL;
}

apr_array_header_t *md_json_get_str_array(const json_t *obj, const char *key, apr_pool_t *p)
{
    json_t *arr = md_json_get_array(obj, key);
    apr_array_header_t *a;
    json_t *v;
    size_t i;

    if (!arr) {
        return NULL;
    }
    a = apr_array_make(p, json_array_size(arr) ? (int)json_array_size(arr) : 1,
                       sizeof(const char *));
    json_array_foreach(arr, i, v) {
        if (!json_is_string(v)) {
            return NULL;
        }
        APR_ARRAY_PUSH(a, const char *) = apr_pstrdup(p, json_string_value(v));
    }
    return a;
}

apr_status_t md_json_require_str(const char **pval, const json_t *obj, const char *key,
                                 const char *where, apr_pool_t *p)
{
    json_t *v = member(obj, key);

    *pval = NULL;
    if (!json_is_string(v)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, APR_EINVAL, p,
                      "MD01002: %s: required member \"%s\" is %s",
                      where ? where : "(unknown)", key, v ? "not a string" : "missing");
        return APR_EINVAL;
    }
    *pval = json_string_value(v);
    return APR_SUCCESS;
}

/* --- building ----------------------------------------------------------- */

/* A JSON string for s. jansson refuses invalid UTF-8; rather than lose the
 * value, non-ASCII bytes are then replaced by '?'. */
static json_t *str_value(const char *s)
{
    json_t *v = json_string(s);
    char *copy;
    char *cp;

    if (v) {
        return v;
    }
    copy = strdup(s);
    if (!copy) {
        return NULL;
    }
    for (cp = copy; *cp; ++cp) {
        if ((unsigned char)*cp >= 0x80) {
            *cp = '?';
        }
    }
    v = json_string(copy);
    free(copy);
    return v;
}

json_t *md_json_from_str_array(const apr_array_header_t *a)
{
    json_t *arr = json_array();
    int i;

    if (!arr || !a) {
        return arr;
    }
    for (i = 0; i < a->nelts; ++i) {
        const char *s = MD_ARR_IDX(a, i, const char *);
        if (s) {
            json_array_append_new(arr, str_value(s));
        }
    }
    return arr;
}

void md_json_set_str(json_t *obj, const char *key, const char *s)
{
    if (!obj || !key) {
        return;
    }
    if (!s) {
        json_object_del(obj, key);
        return;
    }
    json_object_set_new(obj, key, str_value(s));
}
