/* Unit tests of md_sched.c: when each MD renews and why, with a fake
 * clock: certificate lifetimes and windows, short lifetimes, static
 * certificates, ARI answers, revocation, retry storms and the CA's
 * Retry-After, the watchdog's wake-ups, activation delay and settle, and
 * the OCSP response schedule. Every function under test is pure: the clock
 * is a number the test moves. */
#include "unit.h"

#include <limits.h>
#include <string.h>

#include <apr_strings.h>

#include "md.h"
#include "md_reg.h"
#include "md_result.h"
#include "md_sched.h"
#include "md_time.h"

#define SEC(n)      apr_time_from_sec(n)
#define MIN(n)      SEC(60 * (n))
#define HOUR(n)     SEC(3600 * (apr_int64_t)(n))
#define DAY(n)      SEC(86400 * (apr_int64_t)(n))
#define PROB(n)     "urn:ietf:params:acme:error:" n
/* Sun, 29 Nov 2026 10:20:31 GMT: the fake clock starts here. */
#define T0          SEC(1795947631)

static md_t *md_make(apr_pool_t *p)
{
    md_t *md = md_create_empty(p);

    md->name = "a.test";
    APR_ARRAY_PUSH(md->domains, const char *) = "a.test";
    return md;
}

/* What md_reg_assess finds for one certificate valid from..until. */
static md_reg_state_t *state_make(apr_pool_t *p, const md_t *md, apr_time_t from,
                                  apr_time_t until)
{
    md_reg_state_t *st = apr_pcalloc(p, sizeof(*st));

    st->md = md;
    st->watched = 1;
    st->has_cert = 1;
    st->state = MD_S_COMPLETE;
    st->valid_from = from;
    st->valid_until = until;
    st->renew_at = md_sched_cert_renew_at(&md->renew_window, md->renew_window_set, from, until,
                                          &st->renew_why);
    st->present_renew_at = st->renew_at;
    st->warn_at = md_sched_warn_at(&md->warn_window, from, until);
    return st;
}

/* Without any usable certificate. */
static md_reg_state_t *state_none(apr_pool_t *p, const md_t *md, md_sched_why_t why)
{
    md_reg_state_t *st = apr_pcalloc(p, sizeof(*st));

    st->md = md;
    st->watched = 1;
    st->state = why == MD_SCHED_EXPIRED ? MD_S_EXPIRED : MD_S_INCOMPLETE;
    st->renew_why = why;
    return st;
}

static md_sched_t decide(const md_reg_state_t *st, apr_time_t ari_at, int revoked,
                         const md_sched_job_t *job, apr_time_t now)
{
    md_sched_in_t in;
    md_sched_t s;

    memset(&in, 0, sizeof(in));
    in.st = st;
    in.ari_at = ari_at;
    in.revoked = revoked;
    in.job = job;
    md_sched_decide(&s, &in, now);
    return s;
}

static md_result_t *failed(apr_pool_t *p, const char *problem)
{
    md_result_t *r = md_result_make(p, "a.test");

    if (problem) {
        md_result_problem_set(r, APR_EINVAL, problem, "detail", NULL);
    }
    else {
        md_result_set(r, APR_ECONNREFUSED, "connection refused");
    }
    return r;
}

/* --- certificates ------------------------------------------------------------ */

static void test_why_names(void **state)
{
    int i;
    int j;

    (void)state;
    for (i = MD_SCHED_WINDOW; i <= MD_SCHED_CONFIG_PROBLEM; ++i) {
        const char *a = md_sched_why_name((md_sched_why_t)i);

        assert_true(strlen(a) > 0);
        assert_string_not_equal(a, "unknown");
        for (j = 0; j < i; ++j) {
            assert_string_not_equal(a, md_sched_why_name((md_sched_why_t)j));
        }
    }
    assert_string_equal(md_sched_why_name(MD_SCHED_ARI), "ari");
    assert_string_equal(md_sched_why_name(MD_SCHED_WINDOW), "renew-window");
    assert_string_equal(md_sched_why_name((md_sched_why_t)99), "unknown");
}

static void test_cert_renew_at(void **state)
{
    md_timeslice_t pct = { .percent = 33, .is_percent = 1 };
    md_timeslice_t dur = { .duration = 0 };
    apr_time_t from = SEC(1000000);
    md_sched_why_t why;

    (void)state;
    /* 90 days, default window: 33% before the end */
    assert_true(md_sched_cert_renew_at(&pct, 0, from, from + DAY(90), &why)
                == from + DAY(90) - (DAY(90) / 100) * 33);
    assert_int_equal(why, MD_SCHED_WINDOW);
    /* 6 days, default window: half the lifetime, earlier than 33% */
    assert_true(md_sched_cert_renew_at(&pct, 0, from, from + DAY(6), &why) == from + DAY(3));
    assert_int_equal(why, MD_SCHED_SHORT_LIVED);
    /* 120 s certificates of a test CA: half */
    assert_true(md_sched_cert_renew_at(&pct, 0, from, from + SEC(120), &why) == from + SEC(60));
    assert_int_equal(why, MD_SCHED_SHORT_LIVED);
    /* configured windows are taken as they are */
    assert_true(md_sched_cert_renew_at(&pct, 1, from, from + SEC(120), &why)
                == from + SEC(120) - (SEC(120) / 100) * 33);
    assert_int_equal(why, MD_SCHED_WINDOW);
    dur.duration = SEC(10);
    assert_true(md_sched_cert_renew_at(&dur, 1, from, from + SEC(120), NULL) == from + SEC(110));
    /* a default window larger than half stays (renews earlier) */
    pct.percent = 80;
    assert_true(md_sched_cert_renew_at(&pct, 0, from, from + SEC(100), &why) == from + SEC(20));
    assert_int_equal(why, MD_SCHED_WINDOW);
    /* exactly 10 days is not short */
    pct.percent = 33;
    assert_true(md_sched_cert_renew_at(&pct, 0, from, from + DAY(10), &why)
                == from + DAY(10) - (DAY(10) / 100) * 33);
    assert_int_equal(why, MD_SCHED_WINDOW);
    /* a day less is */
    assert_true(md_sched_cert_renew_at(&pct, 0, from, from + DAY(9), &why)
                == from + DAY(9) / 2);
    /* broken dates: right away (the end) */
    assert_true(md_sched_cert_renew_at(&pct, 0, from, from, NULL) == from);
    assert_true(md_sched_cert_renew_at(&pct, 0, from, from - DAY(1), NULL) == from - DAY(1));
}

/* A 90-day certificate, MDRenewWindow 30d, MDWarnWindow 10d, through its
 * whole life an hour at a time: due exactly from its window on, expiring
 * from the warn window on, and the schedule always names the same time. */
static void test_lifetime_walk(void **state)
{
    apr_pool_t *p = *state;
    md_t *md = md_make(p);
    md_reg_state_t *st;
    apr_time_t now;
    apr_time_t next;
    md_sched_t s;

    md->renew_window.is_percent = 0;
    md->renew_window.duration = DAY(30);
    md->renew_window_set = 1;
    md->warn_window.is_percent = 0;
    md->warn_window.duration = DAY(10);
    st = state_make(p, md, T0, T0 + DAY(90));
    assert_true(st->renew_at == T0 + DAY(60));
    assert_true(st->warn_at == T0 + DAY(80));
    for (now = T0; now < T0 + DAY(90); now += HOUR(1)) {
        s = decide(st, 0, 0, NULL, now);
        assert_int_equal(s.why, MD_SCHED_WINDOW);
        assert_true(s.renew_at == T0 + DAY(60));
        assert_false(s.due);
        if (now < T0 + DAY(60)) {
            assert_false(s.need_job);
            assert_true(s.next == T0 + DAY(60));
            assert_true(s.at == T0 + DAY(60));
        }
        else {
            /* due by its certificate: the job decides the rest */
            assert_true(s.need_job);
        }
        assert_int_equal(md_sched_warn_due(st, now, &next), now >= T0 + DAY(80));
        assert_true(next == (now >= T0 + DAY(80) ? 0 : T0 + DAY(80)));
    }
    /* with an empty job: due, at once */
    {
        md_sched_job_t job = { 0, 0, 0 };

        s = decide(st, 0, 0, &job, T0 + DAY(60));
        assert_true(s.due);
        assert_true(s.at == T0 + DAY(60));
        s = decide(st, 0, 0, &job, T0 + DAY(60) - 1);
        assert_false(s.due);
    }
}

/* Short-lived certificates renew at half their life unless MDRenewWindow
 * says otherwise; the default percentage keeps applying to long ones. */
static void test_short_lifetimes(void **state)
{
    apr_pool_t *p = *state;
    md_t *md = md_make(p);
    md_sched_job_t job = { 0, 0, 0 };
    md_reg_state_t *st;
    md_sched_t s;

    st = state_make(p, md, T0, T0 + DAY(6));
    s = decide(st, 0, 0, &job, T0 + DAY(3) - 1);
    assert_false(s.due);
    assert_int_equal(s.why, MD_SCHED_SHORT_LIVED);
    assert_true(s.next == T0 + DAY(3));
    s = decide(st, 0, 0, &job, T0 + DAY(3));
    assert_true(s.due);
    assert_int_equal(s.why, MD_SCHED_SHORT_LIVED);

    /* 120 s: renewed after a minute, over and over */
    st = state_make(p, md, T0, T0 + SEC(120));
    assert_false(decide(st, 0, 0, &job, T0 + SEC(59)).due);
    assert_true(decide(st, 0, 0, &job, T0 + SEC(60)).due);

    /* MDRenewWindow set: taken as it is, even for 6 days */
    md->renew_window_set = 1;
    st = state_make(p, md, T0, T0 + DAY(6));
    s = decide(st, 0, 0, &job, T0 + DAY(3));
    assert_false(s.due);
    assert_int_equal(s.why, MD_SCHED_WINDOW);
    assert_true(s.renew_at == T0 + DAY(6) - (DAY(6) / 100) * 33);
}

/* Static certificate files follow the same rules (md_static_assess uses
 * md_sched_cert_renew_at), and are renewed only with MDRenewMode always. */
static void test_static_certificates(void **state)
{
    apr_pool_t *p = *state;
    md_t *md = md_make(p);
    md_sched_job_t job = { 0, 0, 0 };
    md_reg_state_t *st;
    md_sched_t s;

    md->cert_files = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(md->cert_files, const char *) = "/etc/ssl/a.pem";
    md->pkey_files = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(md->pkey_files, const char *) = "/etc/ssl/a.key";
    /* what the config makes of MDCertificateFile without "always" */
    md->renew_mode = MD_RENEW_MANUAL;
    st = state_make(p, md, T0, T0 + DAY(6));
    assert_int_equal(st->renew_why, MD_SCHED_SHORT_LIVED);
    s = decide(st, 0, 0, &job, T0 + DAY(5));
    assert_false(s.due);
    assert_false(s.need_job);
    assert_int_equal(s.why, MD_SCHED_STATIC);
    assert_true(s.at == 0);
    assert_true(s.renew_at == T0 + DAY(3));
    /* ARI never applies to them */
    assert_false(md_sched_ari_applies(st));

    md->renew_mode = MD_RENEW_ALWAYS;
    s = decide(st, 0, 0, &job, T0 + DAY(3) - 1);
    assert_false(s.due);
    assert_int_equal(s.why, MD_SCHED_SHORT_LIVED);
    s = decide(st, 0, 0, &job, T0 + DAY(3));
    assert_true(s.due);
}

/* --- ARI ------------------------------------------------------------------------ */

static void test_ari_answers(void **state)
{
    apr_pool_t *p = *state;
    md_t *md = md_make(p);
    md_reg_state_t *st = state_make(p, md, T0, T0 + DAY(90));
    md_sched_job_t job = { 0, 0, 0 };
    apr_time_t window = st->renew_at;
    md_sched_t s;

    /* a window before MDRenewWindow: renewed inside it */
    s = decide(st, T0 + DAY(10), 0, &job, T0 + DAY(1));
    assert_int_equal(s.why, MD_SCHED_ARI);
    assert_true(s.renew_at == T0 + DAY(10));
    assert_true(s.next == T0 + DAY(10));
    assert_false(s.due);
    s = decide(st, T0 + DAY(10), 0, &job, T0 + DAY(10));
    assert_true(s.due);
    assert_int_equal(s.why, MD_SCHED_ARI);
    /* a time in the past (the CA says: now) */
    assert_true(decide(st, T0 + DAY(1), 0, &job, T0 + DAY(2)).due);
    /* a window after MDRenewWindow: MDRenewWindow stays the latest */
    s = decide(st, window + DAY(5), 0, &job, T0 + DAY(1));
    assert_int_equal(s.why, MD_SCHED_WINDOW);
    assert_true(s.renew_at == window);
    /* no answer (yet) */
    s = decide(st, 0, 0, &job, T0 + DAY(1));
    assert_int_equal(s.why, MD_SCHED_WINDOW);
    /* MDRenewViaARI off, or manual: the CA's window does not count */
    md->ari_renewals = 0;
    s = decide(st, T0 + DAY(10), 0, &job, T0 + DAY(10));
    assert_false(s.due);
    assert_int_equal(s.why, MD_SCHED_WINDOW);
    md->ari_renewals = 1;
    md->renew_mode = MD_RENEW_MANUAL;
    assert_false(md_sched_ari_applies(st));
    s = decide(st, T0 + DAY(10), 0, &job, T0 + DAY(10));
    assert_false(s.due);
    assert_int_equal(s.why, MD_SCHED_MANUAL);
    assert_true(s.renew_at == window);
    md->renew_mode = MD_RENEW_AUTO;
    /* a key type missing: due now, whatever the CA says */
    st->renew_at = 0;
    st->renew_why = MD_SCHED_KEY_MISSING;
    s = decide(st, T0 + DAY(10), 0, &job, T0 + DAY(1));
    assert_true(s.due);
    assert_int_equal(s.why, MD_SCHED_KEY_MISSING);
}

/* --- revocation, missing certificates, not renewed ------------------------------ */

static void test_revoked_and_missing(void **state)
{
    apr_pool_t *p = *state;
    md_t *md = md_make(p);
    md_reg_state_t *st = state_make(p, md, T0, T0 + DAY(90));
    md_sched_job_t job = { 0, 0, 0 };
    md_sched_t s;

    s = decide(st, 0, 1, &job, T0 + DAY(1));
    assert_true(s.due);
    assert_int_equal(s.why, MD_SCHED_REVOKED);
    assert_true(s.renew_at == 0);
    assert_true(s.at == T0 + DAY(1));
    /* revoked and ARI: revoked wins (at once) */
    s = decide(st, T0 + DAY(10), 1, &job, T0 + DAY(1));
    assert_int_equal(s.why, MD_SCHED_REVOKED);
    /* manual: not even then (the admin renews with a2md) */
    md->renew_mode = MD_RENEW_MANUAL;
    assert_false(decide(st, 0, 1, &job, T0 + DAY(1)).due);
    md->renew_mode = MD_RENEW_AUTO;

    s = decide(state_none(p, md, MD_SCHED_NO_CERT), 0, 0, &job, T0);
    assert_true(s.due);
    assert_int_equal(s.why, MD_SCHED_NO_CERT);
    s = decide(state_none(p, md, MD_SCHED_EXPIRED), 0, 0, &job, T0);
    assert_true(s.due);
    assert_int_equal(s.why, MD_SCHED_EXPIRED);
    /* without a job read: ask for it */
    s = decide(state_none(p, md, MD_SCHED_NO_CERT), 0, 0, NULL, T0);
    assert_false(s.due);
    assert_true(s.need_job);

    st->renew_at = 0;
    st->renew_why = MD_SCHED_NAMES;
    st->state_descr = "certificate(rsa) does not cover b.test";
    s = decide(st, 0, 0, &job, T0);
    assert_true(s.due);
    assert_int_equal(s.why, MD_SCHED_NAMES);
    assert_non_null(strstr(md_sched_describe(&s, &(md_sched_in_t){ st, 0, 0, &job }, p),
                           "b.test"));
}

static void test_not_renewed(void **state)
{
    apr_pool_t *p = *state;
    md_t *md = md_make(p);
    md_reg_state_t *st = state_none(p, md, MD_SCHED_NO_CERT);
    md_sched_job_t job = { 0, 0, 0 };
    md_sched_in_t in = { st, 0, 0, &job };
    md_sched_t s;

    md->renew_mode = MD_RENEW_MANUAL;
    s = decide(st, 0, 0, &job, T0);
    assert_false(s.due);
    assert_false(s.need_job);
    assert_int_equal(s.why, MD_SCHED_MANUAL);
    assert_true(s.next == 0 && s.at == 0);
    assert_non_null(strstr(md_sched_describe(&s, &in, p), "MDRenewMode manual"));

    md->renew_mode = MD_RENEW_AUTO;
    md->config_problem = "MDomain a.test: the CA will refuse _x.a.test";
    s = decide(st, 0, 0, &job, T0);
    assert_false(s.due);
    assert_int_equal(s.why, MD_SCHED_CONFIG_PROBLEM);
    assert_string_equal(md_sched_describe(&s, &in, p), md->config_problem);

    md->config_problem = NULL;
    st->watched = 0;
    s = decide(st, 0, 0, &job, T0);
    assert_false(s.due);
    assert_int_equal(s.why, MD_SCHED_UNUSED);
    /* MDRenewMode always: the caller sets watched */
    st->watched = 1;
    assert_true(decide(st, 0, 0, &job, T0).due);
}

/* --- the job: staged, retries --------------------------------------------------- */

static void test_staged_waits_for_activation(void **state)
{
    apr_pool_t *p = *state;
    md_t *md = md_make(p);
    md_reg_state_t *st = state_make(p, md, T0, T0 + DAY(90));
    md_sched_job_t job = { 1, 0, 0 };
    md_sched_t s;

    s = decide(st, 0, 0, &job, T0 + DAY(70));
    assert_false(s.due);
    assert_int_equal(s.why, MD_SCHED_STAGED);
    assert_true(s.next == 0 && s.at == 0);
    /* before the window the job does not matter */
    s = decide(st, 0, 0, &job, T0 + DAY(1));
    assert_int_equal(s.why, MD_SCHED_WINDOW);
}

static void test_retry_delay_doubles_and_caps(void **state)
{
    (void)state;
    assert_int_equal(md_sched_retry_delay(0, MD_SCHED_RETRY_BASE), 0);
    assert_int_equal(md_sched_retry_delay(1, MD_SCHED_RETRY_BASE), MD_SCHED_RETRY_BASE);
    assert_int_equal(md_sched_retry_delay(2, MD_SCHED_RETRY_BASE), 2 * MD_SCHED_RETRY_BASE);
    assert_int_equal(md_sched_retry_delay(5, MD_SCHED_RETRY_BASE), 16 * MD_SCHED_RETRY_BASE);
    assert_int_equal(md_sched_retry_delay(40, MD_SCHED_RETRY_BASE), MD_SCHED_RETRY_MAX);
    /* However many errors pile up, no overflow into a negative delay. */
    assert_int_equal(md_sched_retry_delay(1000000, MD_SCHED_RETRY_BASE), MD_SCHED_RETRY_MAX);
    assert_int_equal(md_sched_retry_delay(INT_MAX, SEC(3600)), MD_SCHED_RETRY_MAX);
    assert_int_equal(md_sched_retry_delay(-1, SEC(3600)), 0);
    assert_int_equal(md_sched_retry_delay(3, 0), 0);
}

static void test_retry_jitter_bounds(void **state)
{
    apr_pool_t *p = *state;
    md_result_t *r = failed(p, NULL);
    int errors;
    int j;

    for (errors = 1; errors <= 40; ++errors) {
        apr_interval_time_t full = md_sched_retry_delay(errors, SEC(2));
        apr_interval_time_t prev_max = md_sched_retry_delay(errors - 1, SEC(2));

        /* r 0: the full delay; r 255: 20% less */
        assert_true(md_sched_retry_at(r, errors, SEC(2), T0, 0) == T0 + full);
        assert_true(md_sched_retry_at(r, errors, SEC(2), T0, 255) == T0 + full - full / 5);
        for (j = 0; j < 256; ++j) {
            apr_interval_time_t d = md_sched_retry_at(r, errors, SEC(2), T0,
                                                      (unsigned char)j) - T0;

            /* at most 20% shorter, never longer, never beyond the cap */
            assert_true(d <= full);
            assert_true(d >= full - full / 5);
            assert_true(d <= MD_SCHED_RETRY_MAX);
            /* still growing: shorter than before only at the cap */
            if (full < MD_SCHED_RETRY_MAX) {
                assert_true(d > prev_max);
            }
        }
    }
    /* base 0 means the default */
    assert_true(md_sched_retry_at(r, 1, 0, T0, 0) == T0 + MD_SCHED_RETRY_BASE);
}

static void test_input_errors_wait_the_cap(void **state)
{
    apr_pool_t *p = *state;
    /* As the stock module classifies them (plus badPublicKey). */
    static const char *const input[] = {
        PROB("badCSR"), PROB("malformed"), PROB("rejectedIdentifier"),
        PROB("unsupportedIdentifier"), PROB("badPublicKey"), PROB("badSignatureAlgorithm"),
        PROB("externalAccountRequired"), PROB("invalidContact"), PROB("unsupportedContact"),
        PROB("badRevocationReason"), "urn:acme:error:malformed", NULL
    };
    /* Validation failures retry with the normal backoff: the site may be
     * fixed any minute ("unauthorized" is Let's Encrypt's answer to most
     * failed http-01 validations). */
    static const char *const other[] = {
        PROB("unauthorized"), PROB("connection"), PROB("dns"), PROB("incorrectResponse"),
        PROB("tls"), PROB("caa"), PROB("serverInternal"), PROB("rateLimited"),
        PROB("badNonce"), PROB("userActionRequired"), "about:blank", PROB("malformedX"),
        "challenge-mismatch", "challenge-setup-failure", NULL
    };
    int i;

    for (i = 0; input[i]; ++i) {
        md_result_t *r = failed(p, input[i]);
        assert_true(md_sched_is_input_error(r));
        assert_true(md_sched_retry_at(r, 1, SEC(5), T0, 0) == T0 + MD_SCHED_RETRY_MAX);
        /* no jitter on the cap */
        assert_true(md_sched_retry_at(r, 1, SEC(5), T0, 255) == T0 + MD_SCHED_RETRY_MAX);
    }
    for (i = 0; other[i]; ++i) {
        md_result_t *r = failed(p, other[i]);
        assert_false(md_sched_is_input_error(r));
        assert_true(md_sched_retry_at(r, 1, SEC(5), T0, 0) == T0 + SEC(5));
    }
    assert_false(md_sched_is_input_error(failed(p, NULL)));
    assert_false(md_sched_is_input_error(NULL));
    /* a success is no error */
    {
        md_result_t *ok = md_result_make(p, "a.test");
        assert_false(md_sched_is_input_error(ok));
    }
}

static void test_retry_after_is_honoured(void **state)
{
    apr_pool_t *p = *state;
    md_result_t *r = failed(p, PROB("rateLimited"));

    /* later than our backoff: the CA's time */
    r->retry_after = T0 + SEC(3600);
    assert_true(md_sched_retry_at(r, 1, SEC(5), T0, 0) == T0 + SEC(3600));
    /* earlier than our backoff: our backoff (never before the CA's time) */
    r->retry_after = T0 + SEC(1);
    assert_true(md_sched_retry_at(r, 3, SEC(5), T0, 0) == T0 + SEC(20));
    /* absurdly far: capped */
    r->retry_after = T0 + DAY(365);
    assert_true(md_sched_retry_at(r, 1, SEC(5), T0, 0) == T0 + MD_SCHED_RETRY_AFTER_MAX);
    /* an input error with a Retry-After beyond the day: the CA's time */
    r = failed(p, PROB("badCSR"));
    r->retry_after = T0 + DAY(2);
    assert_true(md_sched_retry_at(r, 1, SEC(5), T0, 0) == T0 + DAY(2));
}

/* A CA that fails every attempt for two days: each failure schedules the
 * next by the backoff, the schedule says "retry" until then and due at
 * that moment; the attempts never come closer than the base and never
 * further apart than the cap; a Retry-After in the middle holds them off. */
static void test_retry_storm(void **state)
{
    apr_pool_t *p = *state;
    md_t *md = md_make(p);
    md_reg_state_t *st = state_none(p, md, MD_SCHED_NO_CERT);
    md_result_t *r = failed(p, PROB("serverInternal"));
    md_sched_job_t job = { 0, 0, 0 };
    apr_time_t now = T0;
    apr_time_t prev = 0;
    int attempts = 0;
    md_sched_t s;

    while (now < T0 + DAY(2)) {
        s = decide(st, 0, 0, &job, now);
        if (!s.due) {
            assert_int_equal(s.why, MD_SCHED_RETRY);
            assert_true(s.next == job.next_run);
            assert_true(s.at == job.next_run);
            now = s.next;       /* the watchdog wakes up then */
            continue;
        }
        ++attempts;
        if (prev) {
            assert_true(now - prev >= SEC(30) - SEC(30) / 5);
            assert_true(now - prev <= MD_SCHED_RETRY_MAX);
        }
        prev = now;
        /* the attempt fails; attempt 10 is rate limited for 6 hours */
        ++job.errors;
        r->retry_after = job.errors == 10 ? now + HOUR(6) : 0;
        job.next_run = md_sched_retry_at(r, job.errors, SEC(30), now,
                                         (unsigned char)(job.errors * 37));
        if (job.errors == 10) {
            assert_true(job.next_run == now + HOUR(6));
        }
        assert_true(job.next_run > now);
    }
    /* 30s doubling to the day: 12 attempts reach 17 hours, then daily */
    assert_true(attempts >= 12 && attempts <= 14);
    assert_non_null(strstr(md_sched_describe(&s, &(md_sched_in_t){ st, 0, 0, &job }, p),
                           "failed attempts"));
}

/* --- the watchdog's wake-ups ----------------------------------------------------- */

static void test_wake(void **state)
{
    md_sched_wake_t w;

    (void)state;
    md_sched_wake_init(&w, T0, HOUR(12), 0);
    assert_true(w.at == T0 + HOUR(12));
    md_sched_wake_init(&w, T0, HOUR(12), 255);
    assert_true(w.at == T0 + HOUR(12) - HOUR(12) / 10);
    md_sched_wake_init(&w, T0, HOUR(12), 128);
    assert_true(w.at < T0 + HOUR(12) && w.at > T0 + HOUR(12) - HOUR(12) / 10);

    md_sched_wake_init(&w, T0, HOUR(12), 0);
    md_sched_wake_at(&w, 0);                    /* nothing asked */
    assert_true(w.at == T0 + HOUR(12));
    md_sched_wake_at(&w, T0 + HOUR(13));        /* later: the interval holds */
    assert_true(w.at == T0 + HOUR(12));
    md_sched_wake_at(&w, T0 + HOUR(2));
    md_sched_wake_at(&w, T0 + HOUR(3));
    assert_true(w.at == T0 + HOUR(2));
    assert_true(md_sched_wake_wait(&w, 0, 0) == HOUR(2));
    /* renewals running: a second */
    assert_true(md_sched_wake_wait(&w, 1, 0) == MD_SCHED_PASS_BUSY);
    /* revocation markers watched: ten seconds */
    assert_true(md_sched_wake_wait(&w, 0, 1) == MD_SCHED_REVOKE_POLL);
    /* a time past is now, and the watchdog waits at least its minimum */
    md_sched_wake_at(&w, T0 - HOUR(1));
    assert_true(w.at == T0);
    assert_true(md_sched_wake_wait(&w, 0, 0) == MD_SCHED_PASS_MIN);
    md_sched_wake_init(&w, T0, SEC(0), 0);
    assert_true(md_sched_wake_wait(&w, 0, 0) == MD_SCHED_PASS_MIN);
    /* between passes: the revocation poll, the minimum */
    assert_true(md_sched_clamp_wait(HOUR(1), 0, 1) == MD_SCHED_REVOKE_POLL);
    assert_true(md_sched_clamp_wait(HOUR(1), 0, 0) == HOUR(1));
    assert_true(md_sched_clamp_wait(SEC(3), 0, 1) == SEC(3));
    assert_true(md_sched_clamp_wait(-SEC(3), 1, 1) == MD_SCHED_PASS_MIN);
}

/* A day of passes over an MD whose certificate renews at noon and a second
 * MD without certificate that fails: the pass wakes up for each time the
 * schedule names, never later than MDCheckInterval. */
static void test_wake_follows_schedules(void **state)
{
    apr_pool_t *p = *state;
    md_t *md = md_make(p);
    md_reg_state_t *st;
    md_reg_state_t *none = state_none(p, md_make(p), MD_SCHED_NO_CERT);
    md_sched_job_t job = { 0, 3, T0 + MIN(5) };
    md_sched_wake_t w;
    md_sched_t s;

    md->renew_window.is_percent = 0;
    md->renew_window.duration = DAY(30);
    md->renew_window_set = 1;
    st = state_make(p, md, T0 - DAY(60), T0 + HOUR(12) + DAY(30));
    md_sched_wake_init(&w, T0, HOUR(24), 0);
    s = decide(st, 0, 0, NULL, T0);
    md_sched_wake_at(&w, s.next);
    assert_true(w.at == T0 + HOUR(12));
    s = decide(none, 0, 0, &job, T0);
    assert_int_equal(s.why, MD_SCHED_RETRY);
    md_sched_wake_at(&w, s.next);
    assert_true(md_sched_wake_wait(&w, 0, 0) == MIN(5));
}

/* --- activation -------------------------------------------------------------------- */

static void test_activation_delay(void **state)
{
    (void)state;
    assert_true(md_sched_activation_ready(T0, 0, T0));
    assert_true(md_sched_activation_ready(T0 + HOUR(1), 0, T0));    /* no delay: at once */
    assert_true(md_sched_activation_ready(T0, -SEC(5), T0));
    assert_false(md_sched_activation_ready(T0, HOUR(1), T0 + HOUR(1) - 1));
    assert_true(md_sched_activation_ready(T0, HOUR(1), T0 + HOUR(1)));
    assert_true(md_sched_activation_at(T0, HOUR(1)) == T0 + HOUR(1));
    assert_true(md_sched_activation_at(T0, 0) == T0);
    /* a certificate valid from the future (the CA's clock): its start counts */
    assert_false(md_sched_activation_ready(T0 + HOUR(2), HOUR(1), T0 + HOUR(2)));
}

static void test_restart_settle(void **state)
{
    md_sched_settle_t t = { MD_SCHED_ACTIVATE_SETTLE, MD_SCHED_ACTIVATE_SETTLE_MAX,
                            MD_SCHED_ACTIVATE_MIN_GAP };
    apr_time_t first;
    apr_time_t newest;
    apr_time_t now;

    (void)state;
    /* one MD ready: 5 s after it */
    assert_false(md_sched_restart_due(&t, T0, T0, 0, T0));
    assert_false(md_sched_restart_due(&t, T0, T0, 0, T0 + SEC(4)));
    assert_true(md_sched_restart_due(&t, T0, T0, 0, T0 + SEC(5)));
    /* a steady trickle (one every 3 s) does not hold it off past 60 s */
    first = T0;
    for (now = T0; now < T0 + SEC(120); now += SEC(1)) {
        newest = now - (now - T0) % SEC(3);
        if (md_sched_restart_due(&t, first, newest, 0, now)) {
            break;
        }
    }
    assert_true(now == T0 + SEC(60));
    /* at most one restart per minute */
    assert_false(md_sched_restart_due(&t, T0, T0, T0 - SEC(30), T0 + SEC(10)));
    assert_true(md_sched_restart_due(&t, T0, T0, T0 - SEC(50), T0 + SEC(10)));
    /* the test build's timings: settle 0, gap 1 s */
    t.settle = 0;
    t.min_gap = SEC(1);
    assert_true(md_sched_restart_due(&t, T0, T0, 0, T0));
    assert_false(md_sched_restart_due(&t, T0, T0, T0, T0 + SEC(1) - 1));
    assert_true(md_sched_restart_due(&t, T0, T0, T0, T0 + SEC(1)));
}

/* --- OCSP responses ------------------------------------------------------------------ */

static void test_ocsp_schedule(void **state)
{
    md_timeslice_t pct33 = { 33, 1, 0 };
    md_timeslice_t two_days = { 0, 0, DAY(2) };
    apr_time_t t0 = SEC(1000000000);
    apr_time_t week = DAY(7);
    apr_time_t half_day = HOUR(12);

    (void)state;
    /* 33% of a week before its end. */
    assert_true(md_sched_ocsp_renew_at(&pct33, t0, t0 + week)
                == t0 + week - (week * 33) / 100);
    assert_true(md_sched_ocsp_renew_at(&two_days, t0, t0 + week) == t0 + week - DAY(2));
    /* A window longer than the response: half way. */
    assert_true(md_sched_ocsp_renew_at(&two_days, t0, t0 + half_day) == t0 + half_day / 2);

    /* After a fetch, the renewal time, or - for a response due already - a
     * quarter of what it has left, at least MD_SCHED_OCSP_RETRY_MIN. */
    assert_true(md_sched_ocsp_next_fetch(&pct33, t0, t0 + week, t0)
                == t0 + week - (week * 33) / 100);
    assert_true(md_sched_ocsp_next_fetch(&pct33, t0, t0 + week, t0 + week - SEC(400))
                == t0 + week - SEC(300));
    assert_true(md_sched_ocsp_next_fetch(&pct33, t0, t0 + week, t0 + week)
                == t0 + week + MD_SCHED_OCSP_RETRY_MIN);

    /* The renewal watchdog looks for revoked certificates a little after
     * the next renewal, or in a minute while renewals are overdue. */
    assert_true(md_sched_ocsp_check_at(t0 + HOUR(1), t0) == t0 + HOUR(1)
                + MD_SCHED_OCSP_CHECK_SLACK);
    assert_true(md_sched_ocsp_check_at(t0 - HOUR(1), t0) == t0 + MD_SCHED_OCSP_CHECK_AGAIN);
    assert_true(md_sched_ocsp_check_at(0, t0) == t0 + MD_SCHED_OCSP_CHECK_AGAIN);
}

static void test_ocsp_retry_delay(void **state)
{
    apr_time_t now = SEC(1000000000);
    apr_interval_time_t base = SEC(5);
    apr_time_t week_ago = now - DAY(7);

    (void)state;
    /* Without a response: doubling from base to the cap. */
    assert_true(md_sched_ocsp_retry_delay(1, base, 0, 0, now) == base);
    assert_true(md_sched_ocsp_retry_delay(2, base, 0, 0, now) == 2 * base);
    assert_true(md_sched_ocsp_retry_delay(4, base, 0, 0, now) == 8 * base);
    assert_true(md_sched_ocsp_retry_delay(30, base, 0, 0, now) == MD_SCHED_OCSP_RETRY_MAX);
    assert_true(md_sched_ocsp_retry_delay(INT_MAX, base, 0, 0, now) == MD_SCHED_OCSP_RETRY_MAX);
    assert_true(md_sched_ocsp_retry_delay(1, 0, 0, 0, now) == MD_SCHED_OCSP_RETRY_MIN);
    /* A 40s response, valid 40s more: at most 10s, at least the minimum. */
    assert_true(md_sched_ocsp_retry_delay(5, base, now, now + SEC(40), now) == SEC(10));
    assert_true(md_sched_ocsp_retry_delay(5, base, now - SEC(40), now + apr_time_from_msec(100),
                                          now) == MD_SCHED_OCSP_RETRY_MIN);
    /* Plenty left: the doubling applies. */
    assert_true(md_sched_ocsp_retry_delay(2, base, now, now + DAY(1), now) == 2 * base);
    /* Expired: a quarter of its lifetime at most (short-lived responses
     * are asked for again soon), the cap for long-lived ones. */
    assert_true(md_sched_ocsp_retry_delay(20, base, now - SEC(60), now - SEC(20), now)
                == SEC(10));
    assert_true(md_sched_ocsp_retry_delay(20, base, week_ago - DAY(7), week_ago, now)
                == MD_SCHED_OCSP_RETRY_MAX);
}

/* --- what the admin reads --------------------------------------------------------------- */

static void test_describe(void **state)
{
    apr_pool_t *p = *state;
    md_t *md = md_make(p);
    md_reg_state_t *st = state_make(p, md, T0, T0 + DAY(90));
    md_sched_job_t job = { 0, 2, T0 + HOUR(1) };
    md_sched_in_t in = { st, 0, 0, &job };
    md_sched_t s;

    md_sched_decide(&s, &in, T0);
    assert_non_null(strstr(md_sched_describe(&s, &in, p), "MDRenewWindow 33%"));
    assert_non_null(strstr(md_sched_describe(&s, &in, p), "default"));
    in.ari_at = T0 + DAY(1);
    md_sched_decide(&s, &in, T0);
    assert_non_null(strstr(md_sched_describe(&s, &in, p), "ARI"));
    in.ari_at = 0;
    in.revoked = 1;
    md_sched_decide(&s, &in, T0 + MIN(1));
    assert_int_equal(s.why, MD_SCHED_RETRY);
    assert_non_null(strstr(md_sched_describe(&s, &in, p), "2 failed attempts"));
    assert_non_null(strstr(md_sched_describe(&s, &in, p), "Sun, 29 Nov 2026 11:20:31 GMT"));
    job.finished = 1;
    md_sched_decide(&s, &in, T0);
    assert_non_null(strstr(md_sched_describe(&s, &in, p), "staged"));
    st = state_make(p, md, T0, T0 + DAY(6));
    in.st = st;
    in.revoked = 0;
    md_sched_decide(&s, &in, T0);
    assert_non_null(strstr(md_sched_describe(&s, &in, p), "half"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_why_names),
        UNIT_TEST(test_cert_renew_at),
        UNIT_TEST(test_lifetime_walk),
        UNIT_TEST(test_short_lifetimes),
        UNIT_TEST(test_static_certificates),
        UNIT_TEST(test_ari_answers),
        UNIT_TEST(test_revoked_and_missing),
        UNIT_TEST(test_not_renewed),
        UNIT_TEST(test_staged_waits_for_activation),
        UNIT_TEST(test_retry_delay_doubles_and_caps),
        UNIT_TEST(test_retry_jitter_bounds),
        UNIT_TEST(test_input_errors_wait_the_cap),
        UNIT_TEST(test_retry_after_is_honoured),
        UNIT_TEST(test_retry_storm),
        UNIT_TEST(test_wake),
        UNIT_TEST(test_wake_follows_schedules),
        UNIT_TEST(test_activation_delay),
        UNIT_TEST(test_restart_settle),
        UNIT_TEST(test_ocsp_schedule),
        UNIT_TEST(test_ocsp_retry_delay),
        UNIT_TEST(test_describe),
    };
    return UNIT_RUN(tests);
}
