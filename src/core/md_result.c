/* Result objects: what an operation did and, on failure, why (see md_result.h). */
#include <string.h>

#include <apr_strings.h>

#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_result.h"
#include "md_time.h"
#include "md_util.h"

/* Strings from the CA are cut to this length before we keep them. */
#define RESULT_STR_MAX  1024
/* Subproblems listed in the one-line form; the JSON form keeps them all. */
#define RESULT_SUBS_SHOWN  5

md_result_t *md_result_make(apr_pool_t *p, const char *md_name)
{
    md_result_t *r = apr_pcalloc(p, sizeof(*r));

    r->p = p;
    r->md_name = md_name ? apr_pstrdup(p, md_name) : NULL;
    r->status = APR_SUCCESS;
    return r;
}

void md_result_reset(md_result_t *r)
{
    r->status = APR_SUCCESS;
    r->problem = NULL;
    r->detail = NULL;
    r->subproblems = NULL;
    r->retry_after = 0;
}

void md_result_activity_set(md_result_t *r, const char *activity)
{
    r->activity = activity ? apr_pstrdup(r->p, activity) : NULL;
}

void md_result_activity_printf(md_result_t *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    r->activity = apr_pvsprintf(r->p, fmt, ap);
    va_end(ap);
}

void md_result_set(md_result_t *r, apr_status_t status, const char *detail)
{
    r->status = status;
    r->detail = detail ? apr_pstrdup(r->p, detail) : NULL;
    r->problem = NULL;
    r->subproblems = NULL;
}

void md_result_printf(md_result_t *r, apr_status_t status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    r->detail = apr_pvsprintf(r->p, fmt, ap);
    va_end(ap);
    r->status = status;
    r->problem = NULL;
    r->subproblems = NULL;
}

void md_result_detail_printf(md_result_t *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    r->detail = apr_pvsprintf(r->p, fmt, ap);
    va_end(ap);
}

/* A private copy of a subproblems array, owned by p. */
static json_t *subs_copy(apr_pool_t *p, const json_t *subs)
{
    if (!subs || !json_is_array(subs)) {
        return NULL;
    }
    return md_json_pool_own(p, json_deep_copy(subs));
}

static const char *printable(apr_pool_t *p, const char *s)
{
    return s ? md_util_str_printable(p, s, RESULT_STR_MAX) : NULL;
}

void md_result_problem_set(md_result_t *r, apr_status_t status, const char *problem,
                           const char *detail, const json_t *subproblems)
{
    r->status = status;
    r->problem = printable(r->p, problem);
    r->detail = printable(r->p, detail);
    r->subproblems = subs_copy(r->p, subproblems);
}

void md_result_assign(md_result_t *dst, const md_result_t *src)
{
    if (dst == src) {
        return;
    }
    dst->status = src->status;
    dst->problem = src->problem ? apr_pstrdup(dst->p, src->problem) : NULL;
    dst->detail = src->detail ? apr_pstrdup(dst->p, src->detail) : NULL;
    dst->subproblems = subs_copy(dst->p, src->subproblems);
    dst->retry_after = src->retry_after;
}

json_t *md_result_to_json(const md_result_t *r)
{
    json_t *j = json_object();
    apr_pool_t *p;

    if (!j) {
        return NULL;
    }
    json_object_set_new(j, MD_KEY_STATUS, json_integer(r->status));
    if (r->status != APR_SUCCESS) {
        char buf[256];

        /* As the stock module writes it: APR's text for the status. */
        md_json_set_str(j, MD_KEY_STATUS_DESCR, apr_strerror(r->status, buf, sizeof(buf)));
    }
    md_json_set_str(j, MD_KEY_PROBLEM, r->problem);
    md_json_set_str(j, MD_KEY_DETAIL, r->detail);
    md_json_set_str(j, MD_KEY_ACTIVITY, r->activity);
    if (r->subproblems && json_is_array(r->subproblems)) {
        json_object_set_new(j, MD_KEY_SUBPROBLEMS, json_deep_copy(r->subproblems));
    }
    if (r->retry_after > 0 && apr_pool_create(&p, r->p) == APR_SUCCESS) {
        md_json_set_str(j, MD_KEY_RETRY_AFTER, md_time_format_http(r->retry_after, p));
        apr_pool_destroy(p);
    }
    return j;
}

void md_result_from_json(md_result_t *r, const json_t *j)
{
    long long status = md_json_get_int(j, MD_KEY_STATUS, APR_SUCCESS);

    r->status = (status >= 0 && status <= APR_INT32_MAX) ? (apr_status_t)status : APR_EGENERAL;
    r->problem = printable(r->p, md_json_get_str(j, MD_KEY_PROBLEM));
    r->detail = printable(r->p, md_json_get_str(j, MD_KEY_DETAIL));
    r->activity = printable(r->p, md_json_get_str(j, MD_KEY_ACTIVITY));
    r->subproblems = subs_copy(r->p, md_json_get_array(j, MD_KEY_SUBPROBLEMS));
    r->retry_after = md_time_parse_http(md_json_get_str(j, MD_KEY_RETRY_AFTER));
}

/* "<identifier>: <detail> (<type>)" for one subproblem (RFC 8555 §6.7.1). */
static const char *sub_to_string(const json_t *sub, apr_pool_t *p)
{
    const json_t *ident = md_json_get_obj(sub, MD_KEY_IDENTIFIER);
    const char *value = md_json_get_str(ident, MD_KEY_VALUE);
    const char *detail = md_json_get_str(sub, MD_KEY_DETAIL);
    const char *type = md_json_get_str(sub, MD_KEY_TYPE);
    const char *s = printable(p, value ? value : "?");

    if (detail) {
        s = apr_pstrcat(p, s, ": ", printable(p, detail), NULL);
    }
    if (type) {
        s = apr_pstrcat(p, s, " (", printable(p, type), ")", NULL);
    }
    return s;
}

const char *md_result_to_string(const md_result_t *r, apr_pool_t *p)
{
    const char *s = "";
    const char *what;
    char buf[256];

    if (r->md_name) {
        s = apr_pstrcat(p, r->md_name, ": ", NULL);
    }
    if (r->activity) {
        s = apr_pstrcat(p, s, r->activity, ": ", NULL);
    }
    if (r->detail) {
        what = r->detail;
    }
    else if (r->status == APR_SUCCESS) {
        what = "ok";
    }
    else {
        what = apr_pstrdup(p, apr_strerror(r->status, buf, sizeof(buf)));
    }
    s = apr_pstrcat(p, s, what, NULL);
    if (r->problem) {
        s = apr_pstrcat(p, s, " (", r->problem, ")", NULL);
    }
    if (r->subproblems && json_is_array(r->subproblems)) {
        size_t n = json_array_size(r->subproblems);
        size_t i;
        for (i = 0; i < n && i < RESULT_SUBS_SHOWN; ++i) {
            s = apr_pstrcat(p, s, "; ", sub_to_string(json_array_get(r->subproblems, i), p),
                            NULL);
        }
        if (n > RESULT_SUBS_SHOWN) {
            s = apr_psprintf(p, "%s; and %" APR_SIZE_T_FMT " more", s,
                             (apr_size_t)(n - RESULT_SUBS_SHOWN));
        }
    }
    if (r->retry_after > 0) {
        s = apr_pstrcat(p, s, "; retry after ", md_time_format_http(r->retry_after, p),
                        NULL);
    }
    return s;
}

void md_result_log(const md_result_t *r, const char *file, int line, md_log_level_t level)
{
    apr_pool_t *p;

    if (!md_log_is_level(level)) {
        return;
    }
    /* A scratch pool, so that logging a long-lived result does not grow it. */
    if (apr_pool_create(&p, r->p) != APR_SUCCESS) {
        return;
    }
    md_log_perror(file, line, level, r->status, p, "MD01020: %s", md_result_to_string(r, p));
    apr_pool_destroy(p);
}
