/* md_watch on a store shared by a cluster (PostgreSQL, see unit_pg.h): what
 * the watchdog writes besides renewing (notify.json, job.json, ari.json)
 * carries the MD's lease epoch, so a server that lost the lease while it
 * was busy (a slow program, a paused process) writes nothing (issue 12:
 * "every write a driver makes carries its epoch and is refused once a
 * newer one exists"). */
#include "unit.h"
#include "unit_pg.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "md.h"
#include "md_crypt.h"
#include "md_job.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_reg.h"
#include "md_sched.h"
#include "md_store.h"
#include "md_time.h"
#include "md_util.h"
#include "md_watch.h"
#include "fixtures/fx.h"

/* Nothing listens there: asking the CA for a renewal window fails at
 * once, and the pass saves when to ask again (a write). */
#define CA_NOWHERE      "https://127.0.0.1:1/dir"
#define WAIT_MAX        apr_time_from_sec(30)

static int setup(void **state)
{
    if (unit_pg_setup(state) != 0) {
        return -1;
    }
    /* the refused writes of a fenced driver are counted */
    unit_pg_log_setup(MD_LOG_WARNING, "MD24040:");
    return 0;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int has_value(md_store_t *store, const char *name, const char *aspect, apr_pool_t *p)
{
    json_t *j = NULL;
    return md_store_load_json(store, MD_SG_STAGING, name, aspect, &j, p) == APR_SUCCESS;
}

/* An MD with a live certificate, its warn window `warn` and asking the CA
 * for renewal windows if ari. */
static md_reg_state_t *live_md_ex(md_store_t *store, const char *name, int ari,
                                  const char *warn, apr_pool_t *p)
{
    apr_array_header_t *chain = NULL;
    md_reg_state_t *st = apr_pcalloc(p, sizeof(*st));
    const char *err;
    md_t *md = md_create_empty(p);

    md->name = name;
    APR_ARRAY_PUSH(md->domains, const char *) = name;
    APR_ARRAY_PUSH(md->ca_urls, const char *) = CA_NOWHERE;
    md->ari_renewals = ari;
    assert_int_equal(md_timeslice_parse(&md->warn_window, warn, &err, p), APR_SUCCESS);
    assert_int_equal(md_certs_from_pem(&chain, fx_cert_ari_pem, strlen(fx_cert_ari_pem), p),
                     APR_SUCCESS);
    assert_int_equal(md_store_save_certs(store, MD_SG_DOMAINS, name, MD_FN_PUBCERT, chain, p),
                     APR_SUCCESS);
    st->md = md;
    st->has_cert = 1;
    st->valid_from = apr_time_now() - apr_time_from_sec(MD_SECS_PER_DAY);
    st->valid_until = apr_time_now() + apr_time_from_sec(89 * MD_SECS_PER_DAY);
    st->renew_at = apr_time_now() + apr_time_from_sec(60 * MD_SECS_PER_DAY);
    st->warn_at = md_sched_warn_at(&md->warn_window, st->valid_from, st->valid_until);
    return st;
}

/* One inside its warn window (so the pass tells "expiring") that asks the
 * CA for renewal windows. */
static md_reg_state_t *live_md(md_store_t *store, const char *name, apr_pool_t *p)
{
    return live_md_ex(store, name, 1, "3650d", p);
}

/* MDMessageCmd: for MD `slow` it waits (as a slow program would) until
 * the test says another server took over; exits 0. */
static apr_array_header_t *slow_program(const char *dir, const char *slow, apr_pool_t *p)
{
    apr_array_header_t *argv = apr_array_make(p, 4, sizeof(const char *));

    APR_ARRAY_PUSH(argv, const char *) = "/bin/sh";
    APR_ARRAY_PUSH(argv, const char *) = "-c";
    APR_ARRAY_PUSH(argv, const char *) = apr_psprintf(p,
        "if [ \"$2\" = %s ]; then touch %s/running; i=0; "
        "while [ ! -f %s/taken ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; fi; "
        "exit 0", slow, dir, dir);
    APR_ARRAY_PUSH(argv, const char *) = "sh";
    return argv;
}

/* The other server: once the slow program runs, it takes the MD's lease
 * (when the first one's has run out) and says so. */
typedef struct {
    md_store_t *store;
    const char *name;
    const char *dir;
    apr_int64_t epoch;
} takeover_t;

static void *APR_THREAD_FUNC takeover(apr_thread_t *thread, void *data)
{
    takeover_t *t = data;
    apr_time_t until = apr_time_now() + WAIT_MAX;
    md_store_lease_t *lease = NULL;
    apr_pool_t *p;
    FILE *f;

    (void)thread;
    if (apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS) {
        return NULL;
    }
    while (!exists(apr_pstrcat(p, t->dir, "/running", NULL)) && apr_time_now() < until) {
        apr_sleep(apr_time_from_msec(20));
    }
    while (apr_time_now() < until
           && md_store_lease_acquire(t->store, t->name, apr_time_from_sec(30), &lease, p)
              != APR_SUCCESS) {
        apr_sleep(apr_time_from_msec(20));
    }
    t->epoch = lease ? lease->epoch : 0;
    if ((f = fopen(apr_pstrcat(p, t->dir, "/taken", NULL), "w"))) {
        fclose(f);
    }
    apr_pool_destroy(p);
    return NULL;
}

/* The watchdog's pass: one MD goes as usual, the other's lease is taken
 * over while its program runs: nothing of it reaches the store after. */
static void test_pass_writes_refused_after_takeover(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = unit_pg_tmpdir(p);
    md_store_t *a = unit_pg_open_node("a", p);
    md_store_t *b = unit_pg_open_peer("b", "a", p);
    apr_array_header_t *states = apr_array_make(p, 2, sizeof(md_reg_state_t *));
    md_reg_state_t *ok = live_md(a, "ok.test", p);
    md_reg_state_t *stale = live_md(a, "stale.test", p);
    md_watch_cfg_t cfg;
    takeover_t t = { b, "stale.test", dir, 0 };
    apr_thread_t *thread;
    apr_status_t trv;
    md_watch_t *w;

    APR_ARRAY_PUSH(states, md_reg_state_t *) = ok;
    APR_ARRAY_PUSH(states, md_reg_state_t *) = stale;
    memset(&cfg, 0, sizeof(cfg));
    cfg.message_argv = slow_program(dir, "stale.test", p);
    /* short, so that the other server gets it while the program runs */
    cfg.lease_time = apr_time_from_msec(300);
    w = md_watch_create(p, a, states, &cfg);

    /* as usual: expiring told and recorded, the renewal window asked for */
    md_watch_pass(w, ok, p);
    assert_true(has_value(b, "ok.test", MD_FN_NOTIFY, p));
    assert_true(has_value(b, "ok.test", MD_FN_JOB, p));
    assert_true(has_value(b, "ok.test", MD_FN_ARI, p));
    assert_int_equal(unit_pg_log_seen, 0);

    assert_int_equal(apr_thread_create(&thread, NULL, takeover, &t, p), APR_SUCCESS);
    md_watch_pass(w, stale, p);
    assert_int_equal(apr_thread_join(&trv, thread), APR_SUCCESS);
    assert_true(t.epoch >= 2);
    /* the program ran, but its state, the job's log entry and the window
     * are not this server's to write any more */
    assert_true(exists(apr_pstrcat(p, dir, "/taken", NULL)));
    assert_false(has_value(b, "stale.test", MD_FN_NOTIFY, p));
    assert_false(has_value(b, "stale.test", MD_FN_JOB, p));
    assert_false(has_value(b, "stale.test", MD_FN_ARI, p));
    assert_true(unit_pg_log_seen >= 3);

    /* while the other server holds it, the next pass leaves the MD alone */
    unit_pg_log_seen = 0;
    md_watch_pass(w, stale, p);
    assert_false(has_value(b, "stale.test", MD_FN_NOTIFY, p));
    assert_int_equal(unit_pg_log_seen, 0);
    assert_true(md_watch_next_run(w) >= apr_time_now() + apr_time_from_msec(100));
}

/* Nothing to tell and no window to ask for: a pass reads, takes no lease
 * (no epoch counted up for nothing at every start of every server). */
static void test_idle_pass_takes_no_lease(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *a = unit_pg_open_node("a", p);
    apr_array_header_t *states = apr_array_make(p, 1, sizeof(md_reg_state_t *));
    apr_array_header_t *argv = apr_array_make(p, 1, sizeof(const char *));
    apr_array_header_t *leases = NULL;
    md_reg_state_t *st = live_md_ex(a, "idle.test", 0, "10d", p);
    md_watch_cfg_t cfg;
    md_watch_t *w;

    APR_ARRAY_PUSH(states, md_reg_state_t *) = st;
    APR_ARRAY_PUSH(argv, const char *) = "/bin/true";
    memset(&cfg, 0, sizeof(cfg));
    cfg.message_argv = argv;
    w = md_watch_create(p, a, states, &cfg);
    md_watch_pass(w, st, p);
    md_watch_pass(w, st, p);
    assert_int_equal(md_store_lease_list(a, &leases, p), APR_SUCCESS);
    assert_int_equal(leases->nelts, 0);
    assert_false(has_value(a, "idle.test", MD_FN_NOTIFY, p));
}

/* A renewal's view (md_watch_for_store with the drive's fenced store):
 * once its lease is taken over, what its events write is refused. */
static void test_drive_events_refused_after_takeover(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *a = unit_pg_open_node("a", p);
    md_store_t *b = unit_pg_open_peer("b", "a", p);
    apr_array_header_t *states = apr_array_make(p, 1, sizeof(md_reg_state_t *));
    apr_array_header_t *argv = apr_array_make(p, 1, sizeof(const char *));
    md_store_lease_t *la = NULL, *lb = NULL;
    md_store_t *fa = NULL;
    md_result_t *result = md_result_make(p, "drive.test");
    md_watch_cfg_t cfg;
    md_watch_t *w;
    md_watch_t *view;

    APR_ARRAY_PUSH(states, md_reg_state_t *) = live_md(a, "drive.test", p);
    APR_ARRAY_PUSH(argv, const char *) = "/bin/true";
    memset(&cfg, 0, sizeof(cfg));
    cfg.message_argv = argv;
    w = md_watch_create(p, a, states, &cfg);
    assert_int_equal(md_store_lease_acquire(a, "drive.test", apr_time_from_msec(300), &la, p),
                     APR_SUCCESS);
    assert_int_equal(md_store_fence(a, la, &fa, p), APR_SUCCESS);
    view = md_watch_for_store(w, fa, p);
    assert_ptr_equal(md_watch_for_store(w, a, p), w);

    /* holding the lease: the rate limit of "errored" is kept */
    assert_int_equal(md_watch_event(view, "drive.test", MD_NOTIFY_ERRORED, NULL, result, p),
                     APR_SUCCESS);
    assert_true(has_value(b, "drive.test", MD_FN_NOTIFY, p));
    assert_int_equal(unit_pg_log_seen, 0);

    /* paused past the lease, taken over: "renewed" is told, but its
     * once-per-certificate state is not written over the new holder's */
    apr_sleep(apr_time_from_msec(400));
    assert_int_equal(md_store_lease_acquire(b, "drive.test", apr_time_from_sec(30), &lb, p),
                     APR_SUCCESS);
    assert_int_equal(md_watch_event(view, "drive.test", MD_NOTIFY_RENEWED, "cert-1", result, p),
                     APR_SUCCESS);
    assert_int_equal(unit_pg_log_seen, 1);
    {
        json_t *j = NULL;
        assert_int_equal(md_store_load_json(b, MD_SG_STAGING, "drive.test", MD_FN_NOTIFY, &j,
                                            p), APR_SUCCESS);
        assert_null(json_object_get(j, MD_NOTIFY_RENEWED));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pass_writes_refused_after_takeover, setup,
                                        unit_pool_teardown),
        cmocka_unit_test_setup_teardown(test_idle_pass_takes_no_lease, setup,
                                        unit_pool_teardown),
        cmocka_unit_test_setup_teardown(test_drive_events_refused_after_takeover, setup,
                                        unit_pool_teardown),
    };
    return UNIT_RUN(tests);
}
