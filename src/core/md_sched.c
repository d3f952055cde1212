/* Renewal scheduling (see md_sched.h): pure functions of the MD's state
 * and the time passed in. */
#include <string.h>

#include <apr_strings.h>

#include "md_reg.h"
#include "md_sched.h"
#include "md_static.h"
#include "md_time.h"

static const char *const why_names[] = {
    "renew-window", "short-lifetime", "ari", "no-certificate", "expired", "key-type-missing",
    "names-not-covered", "revoked", "retry", "staged", "manual", "static-files", "not-used",
    "config-problem",
};

const char *md_sched_why_name(md_sched_why_t why)
{
    size_t i = (size_t)why;

    return i < sizeof(why_names) / sizeof(why_names[0]) ? why_names[i] : "unknown";
}

static apr_time_t earliest(apr_time_t a, apr_time_t b)
{
    if (a <= 0) {
        return b;
    }
    return (b > 0 && b < a) ? b : a;
}

/* --- certificates ------------------------------------------------------------ */

apr_time_t md_sched_cert_renew_at(const md_timeslice_t *window, int window_set,
                                  apr_time_t from, apr_time_t until, md_sched_why_t *pwhy)
{
    apr_time_t at = md_timeslice_start(window, from, until);
    apr_time_t half;

    if (pwhy) {
        *pwhy = MD_SCHED_WINDOW;
    }
    if (window_set || until <= from || until - from >= MD_SCHED_SHORT_LIFETIME) {
        return at;
    }
    half = from + (until - from) / 2;
    if (half < at) {
        if (pwhy) {
            *pwhy = MD_SCHED_SHORT_LIVED;
        }
        return half;
    }
    return at;
}

apr_time_t md_sched_warn_at(const md_timeslice_t *warn_window, apr_time_t from,
                            apr_time_t until)
{
    return md_timeslice_start(warn_window, from, until);
}

int md_sched_warn_due(const md_reg_state_t *st, apr_time_t now, apr_time_t *pnext)
{
    if (pnext) {
        *pnext = 0;
    }
    if (!st->has_cert || st->valid_until <= 0) {
        return 0;
    }
    if (st->warn_at > now) {
        if (pnext) {
            *pnext = st->warn_at;
        }
        return 0;
    }
    return 1;
}

/* --- an MD's renewal ------------------------------------------------------------ */

int md_sched_ari_applies(const md_reg_state_t *st)
{
    return st->has_cert && st->md->ari_renewals && st->md->renew_mode != MD_RENEW_MANUAL;
}

apr_time_t md_sched_renew_at(const md_reg_state_t *st, apr_time_t ari_at, int revoked,
                             md_sched_why_t *pwhy)
{
    md_sched_why_t why = st->renew_why;
    apr_time_t at = st->renew_at;

    if (!st->has_cert) {
        /* The assessment says which: none, or all expired. */
        why = st->renew_why == MD_SCHED_EXPIRED ? MD_SCHED_EXPIRED : MD_SCHED_NO_CERT;
        at = 0;
    }
    else if (revoked) {
        why = MD_SCHED_REVOKED;
        at = 0;
    }
    else if (at > 0 && ari_at > 0 && ari_at < at && md_sched_ari_applies(st)) {
        /* RFC 9773 §4.2: MDRenewWindow stays the latest. */
        why = MD_SCHED_ARI;
        at = ari_at;
    }
    if (pwhy) {
        *pwhy = why;
    }
    return at;
}

/* Not renewed here at all: *pwhy says why. */
static int not_renewed(const md_reg_state_t *st, md_sched_why_t *pwhy)
{
    const md_t *md = st->md;

    if (md->renew_mode == MD_RENEW_MANUAL) {
        /* The config makes static files manual unless MDRenewMode always. */
        *pwhy = md_static_is(md) ? MD_SCHED_STATIC : MD_SCHED_MANUAL;
        return 1;
    }
    if (md->config_problem) {
        *pwhy = MD_SCHED_CONFIG_PROBLEM;
        return 1;
    }
    if (!st->watched) {
        *pwhy = MD_SCHED_UNUSED;
        return 1;
    }
    return 0;
}

void md_sched_decide(md_sched_t *s, const md_sched_in_t *in, apr_time_t now)
{
    const md_sched_job_t *job = in->job;

    memset(s, 0, sizeof(*s));
    s->renew_at = md_sched_renew_at(in->st, in->ari_at, in->revoked, &s->why);
    if (not_renewed(in->st, &s->why)) {
        return;
    }
    if (s->renew_at > now) {
        s->next = s->at = s->renew_at;
        return;
    }
    if (!job) {
        s->need_job = 1;
        return;
    }
    if (job->finished) {
        /* Staged: the parent activates it, then the state is new. */
        s->why = MD_SCHED_STAGED;
        return;
    }
    if (job->next_run > now) {
        s->why = MD_SCHED_RETRY;
        s->next = s->at = job->next_run;
        return;
    }
    s->due = 1;
    s->at = now;
}

static const char *window_text(const md_t *md, apr_pool_t *p)
{
    return apr_psprintf(p, "MDRenewWindow %s before the certificate ends%s",
                        md_timeslice_format(&md->renew_window, p),
                        md->renew_window_set ? "" : " (the default)");
}

const char *md_sched_describe(const md_sched_t *s, const md_sched_in_t *in, apr_pool_t *p)
{
    const md_reg_state_t *st = in->st;
    const char *descr = st->state_descr;

    switch (s->why) {
    case MD_SCHED_WINDOW:
        return window_text(st->md, p);
    case MD_SCHED_SHORT_LIVED:
        return apr_psprintf(p, "half of the certificate's lifetime, shorter than %s "
                            "(no MDRenewWindow set)",
                            md_duration_print(MD_SCHED_SHORT_LIFETIME, p));
    case MD_SCHED_ARI:
        return "inside the renewal window the CA suggests (ARI), earlier than MDRenewWindow";
    case MD_SCHED_NO_CERT:
        return descr ? descr : "there is no certificate yet";
    case MD_SCHED_EXPIRED:
        return descr ? descr : "the certificate has expired";
    case MD_SCHED_KEY_MISSING:
    case MD_SCHED_NAMES:
        return descr ? descr : "the certificates do not fit the configuration";
    case MD_SCHED_REVOKED:
        return "the certificate was revoked";
    case MD_SCHED_RETRY:
        return apr_psprintf(p, "%d failed attempt%s, the next at %s",
                            in->job ? in->job->errors : 0,
                            (in->job && in->job->errors == 1) ? "" : "s",
                            md_time_format_http(s->next, p));
    case MD_SCHED_STAGED:
        return "a new certificate is staged, it goes live at the next (graceful) restart";
    case MD_SCHED_MANUAL:
        return "MDRenewMode manual: not renewed by the server";
    case MD_SCHED_STATIC:
        return "certificate files of the admin (MDCertificateFile): not renewed "
               "(MDRenewMode always would)";
    case MD_SCHED_UNUSED:
        return "no virtual host uses the MD: not renewed (MDRenewMode always would)";
    case MD_SCHED_CONFIG_PROBLEM:
        return st->md->config_problem;
    }
    return "";
}

/* --- failed attempts -------------------------------------------------------------- */

apr_interval_time_t md_sched_retry_delay(int errors, apr_interval_time_t base)
{
    apr_interval_time_t delay = base;
    int i;

    if (errors <= 0 || base <= 0) {
        return 0;
    }
    /* Doubling stops at the cap, so any number of errors is safe. */
    for (i = 1; i < errors && delay < MD_SCHED_RETRY_MAX; ++i) {
        delay *= 2;
    }
    return delay > MD_SCHED_RETRY_MAX ? MD_SCHED_RETRY_MAX : delay;
}

/* RFC 8555 §6.7 problem types that say the request itself was wrong, by
 * their name after the URN prefix: the stock module's list, and
 * badPublicKey (a key of the configured type is refused; a new one will be
 * too). "unauthorized" is not among them: it is what Let's Encrypt answers
 * to most failed validations, which the site may fix any minute. */
static const char *const input_problems[] = {
    "badCSR", "badPublicKey", "badRevocationReason", "badSignatureAlgorithm",
    "externalAccountRequired", "invalidContact", "malformed", "rejectedIdentifier",
    "unsupportedContact", "unsupportedIdentifier", NULL
};
#define PROBLEM_PREFIX      "urn:ietf:params:acme:error:"
#define PROBLEM_PREFIX_V1   "urn:acme:error:"

int md_sched_is_input_error(const md_result_t *result)
{
    const char *name;
    int i;

    if (!result || result->status == APR_SUCCESS || !result->problem) {
        return 0;
    }
    name = result->problem;
    if (!strncmp(name, PROBLEM_PREFIX, strlen(PROBLEM_PREFIX))) {
        name += strlen(PROBLEM_PREFIX);
    }
    else if (!strncmp(name, PROBLEM_PREFIX_V1, strlen(PROBLEM_PREFIX_V1))) {
        name += strlen(PROBLEM_PREFIX_V1);
    }
    else {
        return 0;
    }
    for (i = 0; input_problems[i]; ++i) {
        if (!strcmp(name, input_problems[i])) {
            return 1;
        }
    }
    return 0;
}

apr_time_t md_sched_retry_at(const md_result_t *result, int errors, apr_interval_time_t base,
                             apr_time_t now, unsigned char r)
{
    apr_interval_time_t delay;
    apr_time_t next;

    if (md_sched_is_input_error(result)) {
        delay = MD_SCHED_RETRY_MAX;
    }
    else {
        delay = md_sched_retry_delay(errors, base > 0 ? base : MD_SCHED_RETRY_BASE);
        /* delay / 5 first: delay * r could overflow near the cap. */
        delay -= (delay / 5) * r / 255;
    }
    next = now + delay;
    if (result && result->retry_after > next) {
        next = result->retry_after;
        if (next > now + MD_SCHED_RETRY_AFTER_MAX) {
            next = now + MD_SCHED_RETRY_AFTER_MAX;
        }
    }
    return next;
}

/* --- the watchdog's passes ------------------------------------------------------------ */

void md_sched_wake_init(md_sched_wake_t *w, apr_time_t now, apr_interval_time_t check_interval,
                        unsigned char r)
{
    w->now = now;
    w->at = now + check_interval - (check_interval / 10) * r / 255;
}

void md_sched_wake_at(md_sched_wake_t *w, apr_time_t t)
{
    if (t > 0) {
        w->at = earliest(w->at, t > w->now ? t : w->now);
    }
}

apr_interval_time_t md_sched_wake_wait(const md_sched_wake_t *w, int busy, int revoke_watch)
{
    return md_sched_clamp_wait(w->at - w->now, busy, revoke_watch);
}

apr_interval_time_t md_sched_clamp_wait(apr_interval_time_t wait, int busy, int revoke_watch)
{
    if (busy && wait > MD_SCHED_PASS_BUSY) {
        wait = MD_SCHED_PASS_BUSY;
    }
    if (revoke_watch && wait > MD_SCHED_REVOKE_POLL) {
        /* A revoked certificate is renewed at once, not at the next pass. */
        wait = MD_SCHED_REVOKE_POLL;
    }
    return wait < MD_SCHED_PASS_MIN ? MD_SCHED_PASS_MIN : wait;
}

/* --- activation ------------------------------------------------------------------------ */

apr_time_t md_sched_activation_at(apr_time_t valid_from, apr_interval_time_t delay)
{
    return delay > 0 ? valid_from + delay : valid_from;
}

int md_sched_activation_ready(apr_time_t valid_from, apr_interval_time_t delay, apr_time_t now)
{
    return delay <= 0 || md_sched_activation_at(valid_from, delay) <= now;
}

int md_sched_restart_due(const md_sched_settle_t *t, apr_time_t first_ready, apr_time_t newest,
                         apr_time_t last_restart, apr_time_t now)
{
    if (now - newest < t->settle && now - first_ready < t->settle_max) {
        return 0;
    }
    return !last_restart || now - last_restart >= t->min_gap;
}

/* --- OCSP responses ------------------------------------------------------------------------ */

apr_time_t md_sched_ocsp_renew_at(const md_timeslice_t *window, apr_time_t valid_from,
                                  apr_time_t valid_until)
{
    apr_time_t t = md_timeslice_start(window, valid_from, valid_until);

    if (t <= valid_from && valid_until > valid_from) {
        t = valid_from + (valid_until - valid_from) / 2;
    }
    return t;
}

apr_time_t md_sched_ocsp_next_fetch(const md_timeslice_t *window, apr_time_t valid_from,
                                    apr_time_t valid_until, apr_time_t now)
{
    apr_time_t t = md_sched_ocsp_renew_at(window, valid_from, valid_until);
    apr_interval_time_t wait;

    if (t > now) {
        return t;
    }
    wait = valid_until > now ? (valid_until - now) / 4 : 0;
    return now + (wait > MD_SCHED_OCSP_RETRY_MIN ? wait : MD_SCHED_OCSP_RETRY_MIN);
}

apr_interval_time_t md_sched_ocsp_retry_delay(int errors, apr_interval_time_t base,
                                              apr_time_t valid_from, apr_time_t valid_until,
                                              apr_time_t now)
{
    apr_interval_time_t d = base > 0 ? base : MD_SCHED_OCSP_RETRY_MIN;
    int i;

    /* Doubling stops at the cap: any number of errors is safe. */
    for (i = 1; i < errors && d < MD_SCHED_OCSP_RETRY_MAX; ++i) {
        d *= 2;
    }
    if (d > MD_SCHED_OCSP_RETRY_MAX) {
        d = MD_SCHED_OCSP_RETRY_MAX;
    }
    if (valid_until > valid_from && d > (valid_until - valid_from) / 4) {
        d = (valid_until - valid_from) / 4;
    }
    /* A few more tries before the stapled response runs out. */
    if (valid_until > now && d > (valid_until - now) / 4) {
        d = (valid_until - now) / 4;
    }
    return d < MD_SCHED_OCSP_RETRY_MIN ? MD_SCHED_OCSP_RETRY_MIN : d;
}

apr_time_t md_sched_ocsp_check_at(apr_time_t next_renewal, apr_time_t now)
{
    /* A little after the renewal, when the new response is in; while
     * renewals fail, once a minute. */
    return next_renewal > now ? next_renewal + MD_SCHED_OCSP_CHECK_SLACK
                              : now + MD_SCHED_OCSP_CHECK_AGAIN;
}
