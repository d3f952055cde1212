/* MDNotifyCmd and MDMessageCmd: running the admin's programs on events of
 * an MD, with rate limits and retries (see md_notify.h). */
#include <string.h>

#include <apr_strings.h>

#include "md_exec.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_notify.h"
#include "md_time.h"
#include "md_util.h"

#define FN_NOTIFY       MD_FN_NOTIFY
#define KEY_PENDING     "pending"
#define KEY_RETRY       "retry"
/* The MDNotifyCmd part of "renewed" has its own state: it may fail while
 * the MDMessageCmd part succeeded, and is then retried alone. */
#define CHAN_NOTIFY     "notify-renewed"
/* Poll interval while waiting for a program; programs are short. */
#define MAX_ARGS        64
/* The problem types of a failed program, as the stock module reports them
 * in renewal.last (its log ids for MDNotifyCmd and MDMessageCmd). */
#define PROBLEM_NOTIFY  "urn:org:apache:httpd:log:AH10108:"
#define PROBLEM_MESSAGE "urn:org:apache:httpd:log:AH10109:"

struct md_notify_t {
    apr_pool_t *p;
    md_store_t *store;
    const apr_array_header_t *notify_argv;
    const apr_array_header_t *message_argv;
    apr_interval_time_t timeout;
    const char *root;               /* relative program names are under it */
};

md_notify_t *md_notify_create(apr_pool_t *p, md_store_t *store,
                              const apr_array_header_t *notify_argv,
                              const apr_array_header_t *message_argv)
{
    md_notify_t *n = apr_pcalloc(p, sizeof(*n));

    n->p = p;
    n->store = store;
    n->notify_argv = notify_argv && notify_argv->nelts > 0 ? notify_argv : NULL;
    n->message_argv = message_argv && message_argv->nelts > 0 ? message_argv : NULL;
    n->timeout = MD_NOTIFY_TIMEOUT_DEF;
    return n;
}

md_notify_t *md_notify_for_store(const md_notify_t *n, md_store_t *store, apr_pool_t *p)
{
    md_notify_t *v;

    if (!n) {
        return NULL;
    }
    v = apr_pmemdup(p, n, sizeof(*n));
    v->store = store;
    return v;
}

void md_notify_set_timeout(md_notify_t *n, apr_interval_time_t timeout)
{
    n->timeout = timeout;
}

void md_notify_set_root(md_notify_t *n, const char *root)
{
    n->root = root;
}

int md_notify_configured(const md_notify_t *n)
{
    return n && (n->notify_argv || n->message_argv);
}

/* --- running a program ---------------------------------------------------- */

apr_status_t md_notify_exec(int *pexit, const char **poutput, const char *root,
                            const apr_array_header_t *argv, const char *const *extra,
                            int nextra, apr_interval_time_t timeout, apr_pool_t *p)
{
    md_exec_result_t *res = NULL;
    const char **args;
    int n = 0;
    int i;
    apr_status_t rv;

    *pexit = -1;
    if (poutput) {
        *poutput = "";
    }
    if (!argv || argv->nelts < 1 || argv->nelts + nextra > MAX_ARGS) {
        return APR_EINVAL;
    }
    args = apr_pcalloc(p, sizeof(*args) * (apr_size_t)(argv->nelts + nextra + 1));
    for (i = 0; i < argv->nelts; ++i) {
        args[n++] = MD_ARR_IDX(argv, i, const char *);
    }
    for (i = 0; i < nextra; ++i) {
        args[n++] = extra[i];
    }
    args[n] = NULL;
    rv = md_exec_run_prog(&res, md_exec_program_path(root, args[0], p), args, timeout, p);
    if (res && poutput) {
        *poutput = res->output ? res->output : "";
    }
    if (rv == APR_SUCCESS) {
        *pexit = res->exited ? res->exit_code : 128 + res->exit_code;
    }
    return rv;
}

/* --- rate limits ---------------------------------------------------------- */

apr_interval_time_t md_notify_min_interval(const char *reason, int *ponce_per_key)
{
    *ponce_per_key = 0;
    if (!reason) {
        return 0;
    }
    if (!strcmp(reason, MD_NOTIFY_RENEWED) || !strcmp(reason, MD_NOTIFY_INSTALLED)
        || !strcmp(reason, CHAN_NOTIFY)) {
        *ponce_per_key = 1;
        return 0;
    }
    if (!strcmp(reason, MD_NOTIFY_ERRORED)) {
        return apr_time_from_sec(MD_SECS_PER_HOUR);
    }
    if (!strcmp(reason, MD_NOTIFY_EXPIRING)) {
        return apr_time_from_sec(MD_SECS_PER_DAY);
    }
    /* renewing, challenge-setup:...: every attempt must ask (veto). */
    return 0;
}

static int is_limited(const char *reason)
{
    int once;

    return md_notify_min_interval(reason, &once) > 0 || once;
}

int md_notify_is_due(const json_t *state, const char *reason, const char *key,
                     apr_time_t now)
{
    int once;
    apr_interval_time_t min = md_notify_min_interval(reason, &once);
    const char *s;
    apr_time_t when;

    if (once) {
        s = md_json_get_str(state, MD_KEY_KEY);
        return !key || !s || strcmp(s, key);
    }
    if (min <= 0) {
        return 1;
    }
    s = md_json_get_str(state, MD_KEY_WHEN);
    when = s ? md_time_parse_http(s) : 0;
    /* A time in the future (clock set back) does not silence us forever. */
    return !when || when > now || now - when >= min;
}

/* --- state ---------------------------------------------------------------- */

static json_t *state_load(md_notify_t *n, const char *mdname, apr_pool_t *p)
{
    json_t *j = NULL;

    if (md_store_load_json(n->store, MD_SG_STAGING, mdname, FN_NOTIFY, &j, p) != APR_SUCCESS
        || !json_is_object(j)) {
        j = md_json_pool_own(p, json_object());
    }
    return j;
}

static void state_save(md_notify_t *n, const char *mdname, json_t *state, apr_pool_t *p)
{
    apr_status_t rv = md_store_save_json(n->store, MD_SG_STAGING, mdname, FN_NOTIFY, state, p);

    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, p,
                      "MD21001: %s: saving the notification state failed", mdname);
    }
}

/* The object for chan in state, created when missing. */
static json_t *chan_state(json_t *state, const char *chan)
{
    json_t *c = json_object_get(state, chan);

    if (!json_is_object(c)) {
        c = json_object();
        json_object_set_new(state, chan, c);
    }
    return c;
}

static void set_time(json_t *obj, const char *key, apr_time_t t, apr_pool_t *p)
{
    md_json_set_str(obj, key, md_time_format_http(t, p));
}

/* Doubling from MD_NOTIFY_RETRY_MIN, capped, overflow-safe. */
static apr_interval_time_t retry_delay(long long errors)
{
    apr_interval_time_t d = MD_NOTIFY_RETRY_MIN;

    while (--errors > 0 && d < MD_NOTIFY_RETRY_MAX) {
        d *= 2;
    }
    return d < MD_NOTIFY_RETRY_MAX ? d : MD_NOTIFY_RETRY_MAX;
}

/* Run one program for one channel and record the outcome in state. */
static apr_status_t run_chan(md_notify_t *n, const char *directive,
                             const apr_array_header_t *argv, const char *const *extra,
                             int nextra, const char *mdname, const char *chan,
                             const char *reason, const char *key, json_t *state,
                             int *pdirty, int *pwhat, md_result_t *result, apr_pool_t *p)
{
    apr_time_t now = apr_time_now();
    json_t *cs = json_object_get(state, chan);
    const char *output = "";
    char buf[128];
    int once;
    int code = -1;
    apr_status_t rv;

    if (!argv) {
        return APR_SUCCESS;
    }
    if (!md_notify_is_due(cs, chan, key, now)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, "MD21002: %s: not running %s for '%s' "
                      "again yet (rate limit)", mdname, directive, reason);
        return APR_SUCCESS;
    }
    if (pwhat) {
        *pwhat |= MD_NOTIFY_RAN;
    }
    rv = md_notify_exec(&code, &output, n->root, argv, extra, nextra, n->timeout, p);
    if (rv == APR_SUCCESS && code != 0) {
        rv = APR_EGENERAL;
    }
    md_notify_min_interval(chan, &once);
    if (rv == APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_INFO, 0, p, "MD21003: %s: %s %s for '%s' done",
                      mdname, directive, MD_ARR_IDX(argv, 0, const char *), reason);
        if (is_limited(chan)) {
            cs = chan_state(state, chan);
            set_time(cs, MD_KEY_WHEN, now, p);
            md_json_set_str(cs, MD_KEY_KEY, key);
            json_object_del(cs, KEY_PENDING);
            json_object_del(cs, KEY_RETRY);
            json_object_del(cs, MD_KEY_ERRORS);
            *pdirty = 1;
        }
        return APR_SUCCESS;
    }
    if (rv == APR_EGENERAL) {
        md_result_printf(result, rv, "%s %s failed for '%s' with exit code %d%s%s", directive,
                         MD_ARR_IDX(argv, 0, const char *), reason, code,
                         *output ? ": " : "", output);
    }
    else {
        md_result_printf(result, rv, "%s %s failed for '%s': %s", directive,
                         MD_ARR_IDX(argv, 0, const char *), reason,
                         rv == APR_TIMEUP ? "it did not finish in time and was stopped"
                                          : apr_strerror(rv, buf, sizeof(buf)));
    }
    result->problem = argv == n->notify_argv ? PROBLEM_NOTIFY : PROBLEM_MESSAGE;
    if (pwhat) {
        *pwhat |= argv == n->notify_argv ? MD_NOTIFY_FAILED_NOTIFY : MD_NOTIFY_FAILED_MSG;
    }
    if (once) {
        long long errors;

        cs = chan_state(state, chan);
        errors = md_json_get_int(cs, MD_KEY_ERRORS, 0) + 1;
        md_json_set_str(cs, KEY_PENDING, key ? key : "");
        json_object_set_new(cs, MD_KEY_ERRORS, json_integer(errors));
        set_time(cs, KEY_RETRY, now + retry_delay(errors), p);
        *pdirty = 1;
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv == APR_EGENERAL ? 0 : rv, p,
                      "MD21004: %s: %s, retrying in %s",
                      mdname, result->detail,
                      md_duration_print(retry_delay(errors), p));
    }
    else {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv == APR_EGENERAL ? 0 : rv, p,
                      "MD21005: %s: %s", mdname, result->detail);
    }
    return rv;
}

apr_status_t md_notify_event(md_notify_t *n, const char *mdname, const char *reason,
                             const char *key, md_result_t *result, apr_pool_t *p)
{
    return md_notify_event_ex(n, mdname, reason, key, NULL, result, p);
}

apr_status_t md_notify_event_ex(md_notify_t *n, const char *mdname, const char *reason,
                                const char *key, int *pwhat, md_result_t *result,
                                apr_pool_t *p)
{
    const char *msg_extra[2];
    json_t *state = NULL;
    int dirty = 0;
    apr_status_t rv = APR_SUCCESS;
    apr_status_t rv2;

    if (pwhat) {
        *pwhat = 0;
    }
    if (!md_notify_configured(n) || !mdname || !reason) {
        return APR_SUCCESS;
    }
    if (!result) {
        result = md_result_make(p, mdname);
    }
    if (is_limited(reason)) {
        state = state_load(n, mdname, p);
    }
    else {
        state = md_json_pool_own(p, json_object());
    }
    msg_extra[0] = reason;
    msg_extra[1] = mdname;
    rv = run_chan(n, "MDMessageCmd", n->message_argv, msg_extra, 2, mdname, reason, reason,
                  key, state, &dirty, pwhat, result, p);
    if (!strcmp(reason, MD_NOTIFY_RENEWED)) {
        rv2 = run_chan(n, "MDNotifyCmd", n->notify_argv, &mdname, 1, mdname, CHAN_NOTIFY,
                       reason, key, state, &dirty, pwhat, result, p);
        if (rv == APR_SUCCESS) {
            rv = rv2;
        }
    }
    if (dirty) {
        state_save(n, mdname, state, p);
    }
    return rv;
}

/* The channels that keep failed notifications for a retry. */
static const char *const RETRIED_CHANS[] = { MD_NOTIFY_RENEWED, CHAN_NOTIFY,
                                             MD_NOTIFY_INSTALLED, NULL };

apr_time_t md_notify_pending_next(md_notify_t *n, const char *mdname, apr_pool_t *p)
{
    json_t *state;
    const json_t *cs;
    const char *s;
    apr_time_t next = 0;
    apr_time_t retry;
    int i;

    if (!md_notify_configured(n)) {
        return 0;
    }
    state = state_load(n, mdname, p);
    for (i = 0; RETRIED_CHANS[i]; ++i) {
        cs = json_object_get(state, RETRIED_CHANS[i]);
        if (!md_json_get_str(cs, KEY_PENDING)) {
            continue;
        }
        s = md_json_get_str(cs, KEY_RETRY);
        retry = s ? md_time_parse_http(s) : 0;
        /* 1: due at once (0 means none) */
        retry = retry > 0 ? retry : 1;
        if (!next || retry < next) {
            next = retry;
        }
    }
    return next;
}

void md_notify_retry(md_notify_t *n, const char *mdname, apr_time_t *pnext,
                     md_notify_retried_fn *retried, void *baton, apr_pool_t *p)
{
    const char *const *chans = RETRIED_CHANS;
    md_result_t *result;
    const char *msg_extra[2];
    const char *pending;
    const char *s;
    json_t *state;
    json_t *cs;
    apr_time_t now = apr_time_now();
    apr_time_t retry;
    int dirty = 0;
    int what;
    int i;

    *pnext = 0;
    if (!md_notify_configured(n)) {
        return;
    }
    state = state_load(n, mdname, p);
    for (i = 0; chans[i]; ++i) {
        cs = json_object_get(state, chans[i]);
        if (!(pending = md_json_get_str(cs, KEY_PENDING))) {
            continue;
        }
        /* Ours: running the channel replaces the string in state. */
        pending = apr_pstrdup(p, pending);
        s = md_json_get_str(cs, KEY_RETRY);
        retry = s ? md_time_parse_http(s) : 0;
        if (retry > now) {
            if (!*pnext || retry < *pnext) {
                *pnext = retry;
            }
            continue;
        }
        if (!(strcmp(chans[i], CHAN_NOTIFY) ? n->message_argv : n->notify_argv)) {
            /* Not configured any more: nobody to tell. */
            json_object_del(state, chans[i]);
            dirty = 1;
            continue;
        }
        result = md_result_make(p, mdname);
        if (!strcmp(chans[i], CHAN_NOTIFY)) {
            what = MD_NOTIFY_SKIP_MSG;
            run_chan(n, "MDNotifyCmd", n->notify_argv, &mdname, 1, mdname, CHAN_NOTIFY,
                     MD_NOTIFY_RENEWED, *pending ? pending : NULL, state, &dirty, &what,
                     result, p);
        }
        else {
            what = MD_NOTIFY_SKIP_NOTIFY;
            msg_extra[0] = chans[i];
            msg_extra[1] = mdname;
            run_chan(n, "MDMessageCmd", n->message_argv, msg_extra, 2, mdname, chans[i],
                     chans[i], *pending ? pending : NULL, state, &dirty, &what, result, p);
        }
        if (retried) {
            const char *other = !strcmp(chans[i], CHAN_NOTIFY) ? MD_NOTIFY_RENEWED
                                : !strcmp(chans[i], MD_NOTIFY_RENEWED) ? CHAN_NOTIFY : NULL;

            if (other && md_json_get_str(json_object_get(state, other), KEY_PENDING)) {
                what |= MD_NOTIFY_PENDING;
            }
            retried(baton, mdname, strcmp(chans[i], CHAN_NOTIFY) ? chans[i]
                                                                 : MD_NOTIFY_RENEWED,
                    *pending ? pending : NULL, what, result, p);
        }
        cs = json_object_get(state, chans[i]);
        if (md_json_get_str(cs, KEY_PENDING) && (s = md_json_get_str(cs, KEY_RETRY))) {
            retry = md_time_parse_http(s);
            if (!*pnext || retry < *pnext) {
                *pnext = retry;
            }
        }
    }
    if (dirty) {
        state_save(n, mdname, state, p);
    }
}
