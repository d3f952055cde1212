/* Unit tests of md_watch.c without network: ARI ids noted from the live
 * certificate, newOrder options (profile, replaces), the time picked in a
 * stored ARI window and the schedule it makes (md_sched_renew_at), and installed/expiring told once from the pass. */
#include "unit.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>

#include "md.h"
#include "md_acme.h"
#include "md_job.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_reg.h"
#include "md_sched.h"
#include "md_store.h"
#include "md_time.h"
#include "md_util.h"
#include "md_watch.h"
#include "fixtures/fx.h"

typedef struct {
    const char *dir;
    md_store_t *store;
    md_t *md;
    md_reg_state_t *st;
    apr_array_header_t *states;
} fixture_t;

static void fixture(fixture_t *f, apr_pool_t *p)
{
    apr_array_header_t *chain = NULL;

    f->store = fx_store_make("test_md_watch", &f->dir, p);
    assert_int_equal(md_certs_from_pem(&chain, fx_cert_ari_pem, strlen(fx_cert_ari_pem), p),
                     APR_SUCCESS);
    assert_int_equal(md_store_save_certs(f->store, MD_SG_DOMAINS, "a.test", MD_FN_PUBCERT,
                                         chain, p), APR_SUCCESS);
    f->md = md_create_empty(p);
    f->md->name = "a.test";
    APR_ARRAY_PUSH(f->md->domains, const char *) = "a.test";
    APR_ARRAY_PUSH(f->md->ca_urls, const char *) = "https://ca.test/dir";
    f->st = apr_pcalloc(p, sizeof(*f->st));
    f->st->md = f->md;
    f->st->has_cert = 1;
    f->st->valid_from = apr_time_now() - apr_time_from_sec(MD_SECS_PER_DAY);
    f->st->valid_until = apr_time_now() + apr_time_from_sec(89 * MD_SECS_PER_DAY);
    f->st->renew_at = apr_time_now() + apr_time_from_sec(60 * MD_SECS_PER_DAY);
    f->st->warn_at = md_sched_warn_at(&f->md->warn_window, f->st->valid_from,
                                      f->st->valid_until);
    f->states = apr_array_make(p, 1, sizeof(md_reg_state_t *));
    APR_ARRAY_PUSH(f->states, md_reg_state_t *) = f->st;
}

static void test_order_opts(void **state)
{
    apr_pool_t *p = *state;
    fixture_t f;
    md_watch_t *w;
    md_acme_t *acme = NULL;
    md_acme_order_opts_t opts;
    md_result_t *result = md_result_make(p, "a.test");
    const md_pkey_spec_t *spec;

    fixture(&f, p);
    w = md_watch_create(p, f.store, f.states, NULL);
    spec = MD_ARR_IDX(md_pkey_specs(f.md, p), 0, const md_pkey_spec_t *);
    assert_int_equal(md_acme_create(&acme, p, "https://ca.test/dir", NULL, NULL), APR_SUCCESS);

    /* a CA without ARI: nothing to replace */
    assert_int_equal(md_watch_order_opts(&opts, w, acme, f.md, spec, result, p), APR_SUCCESS);
    assert_null(opts.replaces);
    assert_null(opts.profile);
    /* with ARI: the live certificate's id */
    acme->url_renewal_info = "https://ca.test/ari";
    assert_int_equal(md_watch_order_opts(&opts, w, acme, f.md, spec, result, p), APR_SUCCESS);
    assert_string_equal(opts.replaces, FX_CERT_ARI_ID);
    /* not without a watch, nor with MDRenewViaARI off */
    assert_int_equal(md_watch_order_opts(&opts, NULL, acme, f.md, spec, result, p),
                     APR_SUCCESS);
    assert_null(opts.replaces);
    f.md->ari_renewals = 0;
    assert_int_equal(md_watch_order_opts(&opts, w, acme, f.md, spec, result, p), APR_SUCCESS);
    assert_null(opts.replaces);

    /* profiles: offered, not offered, not offered but mandatory */
    acme->profiles = apr_array_make(p, 2, sizeof(const char *));
    APR_ARRAY_PUSH(acme->profiles, const char *) = "classic";
    APR_ARRAY_PUSH(acme->profiles, const char *) = "shortlived";
    f.md->profile = "shortlived";
    assert_int_equal(md_watch_order_opts(&opts, w, acme, f.md, spec, result, p), APR_SUCCESS);
    assert_string_equal(opts.profile, "shortlived");
    f.md->profile = "tlsserver";
    assert_int_equal(md_watch_order_opts(&opts, w, acme, f.md, spec, result, p), APR_SUCCESS);
    assert_null(opts.profile);
    f.md->profile_mandatory = 1;
    assert_int_equal(md_watch_order_opts(&opts, w, acme, f.md, spec, result, p), APR_EINVAL);
    assert_non_null(strstr(result->detail, "'tlsserver'"));
    assert_non_null(strstr(result->detail, "classic, shortlived"));
    assert_non_null(strstr(result->detail, "MDProfileMandatory"));
    acme->profiles = NULL;
    assert_int_equal(md_watch_order_opts(&opts, w, acme, f.md, spec, result, p), APR_EINVAL);
    assert_non_null(strstr(result->detail, "offers: none"));
}

static void save_ari(fixture_t *f, const char *id, apr_time_t start, apr_time_t end,
                     apr_time_t renew_at, apr_time_t next_poll, apr_pool_t *p)
{
    json_t *j = json_pack("{s:[{s:s, s:s, s:s, s:s, s:s}]}", "certs", "id", id,
                          "start", md_time_format_http(start, p),
                          "end", md_time_format_http(end, p),
                          "renew-at", md_time_format_http(renew_at, p),
                          "next-poll", md_time_format_http(next_poll, p));

    assert_non_null(j);
    assert_int_equal(md_store_save_json(f->store, MD_SG_STAGING, "a.test", MD_FN_ARI,
                                        md_json_pool_own(p, j), p), APR_SUCCESS);
}

static void test_renew_at_from_stored_window(void **state)
{
    apr_pool_t *p = *state;
    apr_time_t now = apr_time_now();
    apr_time_t day = apr_time_from_sec(MD_SECS_PER_DAY);
    apr_time_t hour = apr_time_from_sec(MD_SECS_PER_HOUR);
    fixture_t f;
    md_watch_t *w;
    md_sched_why_t why;

    fixture(&f, p);
    /* what an earlier child learnt: asked again in an hour, no network now */
    save_ari(&f, FX_CERT_ARI_ID, now + 2 * day, now + 3 * day, now + 2 * day + hour, now + hour, p);
    w = md_watch_create(p, f.store, f.states, NULL);
    /* before the pass looked, MDRenewWindow alone */
    assert_true(md_watch_ari_at(w, f.st) == 0);
    assert_true(md_sched_renew_at(f.st, md_watch_ari_at(w, f.st), 0, NULL) == f.st->renew_at);
    assert_int_equal(md_watch_next_run(w), 0);
    md_watch_pass(w, f.st, p);
    /* the window is earlier than MDRenewWindow: it wins (second precision) */
    assert_true(apr_time_sec(md_watch_ari_at(w, f.st)) == apr_time_sec(now + 2 * day + hour));
    assert_true(apr_time_sec(md_sched_renew_at(f.st, md_watch_ari_at(w, f.st), 0, &why))
                == apr_time_sec(now + 2 * day + hour));
    assert_int_equal(why, MD_SCHED_ARI);
    assert_true(apr_time_sec(md_watch_next_run(w)) == apr_time_sec(now + hour));
    /* MDRenewWindow earlier than the window: it stays the latest */
    f.st->renew_at = now + day;
    assert_true(md_sched_renew_at(f.st, md_watch_ari_at(w, f.st), 0, &why) == now + day);
    assert_int_equal(why, MD_SCHED_WINDOW);
    /* not with ARI off or renewals by hand */
    f.st->renew_at = now + 60 * day;
    f.md->ari_renewals = 0;
    assert_true(md_watch_ari_at(w, f.st) == 0);
    f.md->ari_renewals = 1;
    f.md->renew_mode = MD_RENEW_MANUAL;
    assert_true(md_watch_ari_at(w, f.st) == 0);
    assert_true(md_watch_ari_at(NULL, f.st) == 0);
}

static int count_lines(const char *path)
{
    FILE *fp = fopen(path, "r");
    int n = 0;
    int c;

    if (!fp) {
        return 0;
    }
    while ((c = fgetc(fp)) != EOF) {
        n += c == '\n';
    }
    fclose(fp);
    return n;
}

static void test_installed_and_expiring_told_once(void **state)
{
    apr_pool_t *p = *state;
    md_watch_cfg_t cfg;
    fixture_t f;
    md_watch_t *w;
    const char *log;
    const char *err;
    apr_array_header_t *argv;

    fixture(&f, p);
    log = apr_pstrcat(p, f.dir, "/log", NULL);
    argv = apr_array_make(p, 3, sizeof(const char *));
    APR_ARRAY_PUSH(argv, const char *) = "/bin/sh";
    APR_ARRAY_PUSH(argv, const char *) = "-c";
    APR_ARRAY_PUSH(argv, const char *) = apr_psprintf(p, "echo \"$0 $1\" >> %s", log);
    memset(&cfg, 0, sizeof(cfg));
    cfg.message_argv = argv;
    f.md->ari_renewals = 0;   /* no network in this test */
    f.st->activated = 1;
    assert_int_equal(md_timeslice_parse(&f.md->warn_window, "3650d", &err, p), APR_SUCCESS);
    f.st->warn_at = md_sched_warn_at(&f.md->warn_window, f.st->valid_from, f.st->valid_until);
    w = md_watch_create(p, f.store, f.states, &cfg);

    md_watch_pass(w, f.st, p);
    assert_int_equal(count_lines(log), 2);      /* installed, expiring */
    md_watch_pass(w, f.st, p);
    assert_int_equal(count_lines(log), 2);
    /* a new child of the same generation: installed is remembered in the store,
     * expiring by its daily limit */
    w = md_watch_create(p, f.store, f.states, &cfg);
    md_watch_pass(w, f.st, p);
    assert_int_equal(count_lines(log), 2);
}

/* notify.json: "renewed" for the certificate valid from key failed once
 * and is due for a retry. */
static void save_pending_renewed(md_store_t *store, const char *key, apr_time_t now,
                                 apr_pool_t *p)
{
    json_t *pending = json_pack("{s:{s:s, s:s, s:i}}", "renewed", "pending", key, "retry",
                                md_time_format_http(now - apr_time_from_sec(1), p),
                                "errors", 1);

    assert_int_equal(md_store_save_json(store, MD_SG_STAGING, "a.test", MD_FN_NOTIFY,
                                        md_json_pool_own(p, pending), p), APR_SUCCESS);
}

/* A "renewed" that failed and works at a later pass: the staged job says
 * notified again (as after a first success), only for its certificate. */
static void test_retried_renewed_sets_job_notified(void **state)
{
    apr_pool_t *p = *state;
    apr_time_t now = apr_time_now();
    apr_time_t staged_from = apr_time_from_sec(apr_time_sec(now) - 3600);
    md_watch_cfg_t cfg;
    fixture_t f;
    md_watch_t *w;
    md_job_t *job;
    apr_array_header_t *argv = apr_array_make(p, 1, sizeof(const char *));
    const char *key = md_time_format_http(staged_from, p);

    fixture(&f, p);
    f.md->ari_renewals = 0;
    memset(&cfg, 0, sizeof(cfg));
    APR_ARRAY_PUSH(argv, const char *) = "/bin/true";
    cfg.message_argv = argv;
    /* what the drive left: a staged certificate, MDMessageCmd failed */
    job = md_job_create(p, "a.test");
    job->finished = 1;
    job->valid_from = staged_from;
    job->notified = 1;
    job->notified_renewed = 0;
    assert_int_equal(md_job_save(job, f.store, p), APR_SUCCESS);
    save_pending_renewed(f.store, key, now, p);
    w = md_watch_create(p, f.store, f.states, &cfg);
    md_watch_pass(w, f.st, p);

    job = md_job_create(p, "a.test");
    assert_int_equal(md_job_load(job, f.store, p), APR_SUCCESS);
    assert_true(job->notified);
    assert_true(job->notified_renewed);
    assert_string_equal(md_json_get_str(json_array_get(job->log, 0), "type"),
                        "message-renewed");

    /* a pending one about another certificate leaves this job alone */
    job->notified_renewed = 0;
    assert_int_equal(md_job_save(job, f.store, p), APR_SUCCESS);
    save_pending_renewed(f.store,
                         md_time_format_http(staged_from - apr_time_from_sec(86400), p), now, p);
    w = md_watch_create(p, f.store, f.states, &cfg);
    md_watch_pass(w, f.st, p);
    job = md_job_create(p, "a.test");
    assert_int_equal(md_job_load(job, f.store, p), APR_SUCCESS);
    assert_false(job->notified_renewed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_order_opts),
        UNIT_TEST(test_renew_at_from_stored_window),
        UNIT_TEST(test_installed_and_expiring_told_once),
        UNIT_TEST(test_retried_renewed_sets_job_notified),
    };

    return UNIT_RUN(tests);
}
