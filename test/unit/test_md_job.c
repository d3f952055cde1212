/* Unit tests of md_job.c (retry policy: test_md_sched.c): ending runs, the bounded log and
 * the job.json round trip. */
#include "unit.h"

#include <string.h>
#include <stdlib.h>
#include <stdio.h>
#include <ftw.h>
#include <apr_strings.h>

#include "md_job.h"
#include "md_notify.h"
#include "md_sched.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_time.h"
#include "md_log.h"
#include "md_store.h"
#include "fixtures/fx.h"

static void test_end_run_failure_then_success(void **state)
{
    apr_pool_t *p = *state;
    md_job_t *job = md_job_create(p, "a.test");
    md_result_t *r = md_result_make(p, "a.test");
    apr_time_t before = apr_time_now();

    md_result_activity_set(r, "Creating new order");
    md_result_set(r, APR_ECONNREFUSED, "CA down");
    md_job_end_run(job, r, apr_time_now());
    assert_int_equal(job->errors, 1);
    /* the admin sees what the attempt was doing when it failed */
    assert_string_equal(job->last->activity, "Creating new order");
    assert_false(job->finished);
    /* up to 20% less: jitter */
    assert_true(job->next_run >= before + MD_SCHED_RETRY_BASE - MD_SCHED_RETRY_BASE / 5);
    md_job_end_run(job, r, apr_time_now());
    assert_int_equal(job->errors, 2);
    assert_true(job->next_run >= before + 2 * MD_SCHED_RETRY_BASE - 2 * MD_SCHED_RETRY_BASE / 5);
    assert_string_equal(job->last->detail, "CA down");

    /* The CA's Retry-After wins when it is later than our backoff. */
    r->retry_after = apr_time_now() + apr_time_from_sec(3600);
    md_job_end_run(job, r, apr_time_now());
    assert_int_equal(job->next_run, r->retry_after);

    md_result_set(r, APR_SUCCESS, "ok");
    md_job_end_run(job, r, apr_time_now());
    assert_int_equal(job->errors, 0);
    assert_true(job->finished);
    assert_int_equal(job->next_run, 0);
}

static void test_log_is_bounded_newest_first(void **state)
{
    apr_pool_t *p = *state;
    md_job_t *job = md_job_create(p, "a.test");
    char detail[32];
    int i;

    for (i = 0; i < MD_JOB_LOG_MAX + 20; ++i) {
        apr_snprintf(detail, sizeof(detail), "step %d", i);
        md_job_log_append(job, "progress", detail);
    }
    assert_int_equal(json_array_size(job->log), MD_JOB_LOG_MAX);
    assert_string_equal(md_json_get_str(json_array_get(job->log, 0), MD_KEY_DETAIL),
                        apr_psprintf(p, "step %d", MD_JOB_LOG_MAX + 19));
}

static void test_json_round_trip(void **state)
{
    apr_pool_t *p = *state;
    md_job_t *job = md_job_create(p, "a.test");
    md_job_t *back = md_job_create(p, "a.test");
    md_result_t *r = md_result_make(p, "a.test");
    json_t *j, *j2;

    md_result_problem_set(r, APR_EINVAL, "urn:ietf:params:acme:error:rejectedIdentifier",
                          "no such name", NULL);
    md_job_end_run(job, r, apr_time_now());
    j = md_json_pool_own(p, md_job_to_json(job));
    assert_string_equal(md_json_get_str(j, MD_KEY_NAME), "a.test");
    assert_int_equal(md_json_get_int(j, MD_KEY_ERRORS, -1), 1);
    assert_non_null(md_json_get_str(j, MD_KEY_NEXT_RUN));

    md_job_from_json(back, j);
    assert_int_equal(back->errors, 1);
    assert_false(back->finished);
    /* HTTP dates have second resolution. */
    assert_int_equal(apr_time_sec(back->next_run), apr_time_sec(job->next_run));
    assert_string_equal(back->last->problem, "urn:ietf:params:acme:error:rejectedIdentifier");
    j2 = md_json_pool_own(p, md_job_to_json(back));
    assert_true(json_equal(j, j2));
}

static void test_from_json_rejects_silly_values(void **state)
{
    apr_pool_t *p = *state;
    md_job_t *job = md_job_create(p, "a.test");
    json_t *j = md_json_pool_own(p, json_pack("{s:i, s:s}", MD_KEY_ERRORS, -5,
                                              MD_KEY_NEXT_RUN, "not a date"));

    md_job_from_json(job, j);
    assert_int_equal(job->errors, 0);
    assert_int_equal(job->next_run, 0);
}

/* --- job.json in the store, members of other modules kept --- */

static json_t *parse(const char *text, apr_pool_t *p)
{
    json_t *j = NULL;
    assert_int_equal(md_json_parse(&j, text, strlen(text), "test", NULL, p), APR_SUCCESS);
    return j;
}

static void test_roundtrip_keeps_unknown_members(void **state)
{
    apr_pool_t *p = *state;
    md_job_t *job = md_job_create(p, "a.org");
    json_t *out;

    /* as the stock module writes it, plus our members */
    md_job_from_json(job, parse("{\"name\": \"a.org\", \"finished\": false, "
                                "\"notified\": true, \"notified-renewed\": true, "
                                "\"x-future\": {\"k\": [1]}, \"errors\": 3, "
                                "\"next-run\": \"Sun, 29 Nov 2026 10:37:52 GMT\", "
                                "\"log\": {\"entries\": [{\"type\": \"progress\"}]}}", p));
    assert_int_equal(job->errors, 3);
    assert_false(job->finished);
    assert_true(job->next_run > 0);
    assert_int_equal(json_array_size(job->log), 1);

    job->errors = 0;
    job->finished = 1;
    out = md_json_pool_own(p, md_job_to_json(job));
    assert_true(json_is_true(json_object_get(out, "notified")));
    assert_true(json_is_true(json_object_get(out, "notified-renewed")));
    assert_true(json_equal(json_object_get(out, "x-future"), parse("{\"k\": [1]}", p)));
    /* ours reflect the job, not what was loaded */
    assert_int_equal(json_integer_value(json_object_get(out, MD_KEY_ERRORS)), 0);
    assert_true(json_is_true(json_object_get(out, MD_KEY_FINISHED)));
    assert_string_equal(md_json_get_str(out, MD_KEY_NAME), "a.org");
}

static void test_save_load_and_corrupt(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *store = fx_store_make("test_md_job", NULL, p);
    md_job_t *job = md_job_create(p, "a.org");
    md_job_t *back = md_job_create(p, "a.org");
    md_result_t *r = md_result_make(p, "a.org");

    assert_int_equal(md_job_load(back, store, p), APR_ENOENT);
    md_result_set(r, APR_EGENERAL, "failed");
    md_job_end_run(job, r, apr_time_now());
    assert_int_equal(md_job_save(job, store, p), APR_SUCCESS);
    assert_int_equal(md_job_load(back, store, p), APR_SUCCESS);
    assert_int_equal(back->errors, 1);
    assert_int_equal(back->next_run / APR_USEC_PER_SEC, job->next_run / APR_USEC_PER_SEC);
    assert_string_equal(back->last->detail, "failed");

    /* a corrupt file is reported (by the store) and treated as absent */
    assert_int_equal(md_store_save_text(store, MD_SG_STAGING, "a.org", MD_FN_JOB, "{\"err", p),
                     APR_SUCCESS);
    assert_int_equal(md_job_load(md_job_create(p, "a.org"), store, p), APR_ENOENT);
}

/* --- retry timing: jitter, input errors, Retry-After, MDRetryDelay --------- */

#define SEC(n)  apr_time_from_sec(n)
#define PROB(n) "urn:ietf:params:acme:error:" n

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

static void test_end_run_uses_retry_base(void **state)
{
    apr_pool_t *p = *state;
    md_job_t *job = md_job_create(p, "a.test");
    md_result_t *r = failed(p, NULL);
    apr_time_t before = apr_time_now();
    md_result_t *ok = md_result_make(p, "a.test");

    job->retry_base = SEC(1);
    md_job_end_run(job, r, apr_time_now());
    assert_int_equal(job->errors, 1);
    assert_true(job->next_run >= before + SEC(1) - SEC(1) / 5);
    assert_true(job->next_run <= apr_time_now() + SEC(1));
    md_job_end_run(job, r, apr_time_now());
    assert_int_equal(job->errors, 2);
    assert_true(job->next_run >= before + SEC(2) - SEC(2) / 5);
    assert_false(job->finished);

    md_job_end_run(job, ok, apr_time_now());
    assert_int_equal(job->errors, 0);
    assert_true(job->finished);
    assert_true(job->next_run == 0);
}

static const char *entry_at(md_job_t *job, size_t i, const char *key)
{
    return md_json_get_str(json_array_get(job->log, i), key);
}

/* job.json members and log entries as the stock module writes them. */
static void test_stock_members_and_log_types(void **state)
{
    apr_pool_t *p = *state;
    md_job_t *job = md_job_create(p, "a.test");
    md_result_t *r = failed(p, PROB("rejectedIdentifier"));
    md_result_t *ok = md_result_make(p, "a.test");
    json_t *j;

    md_job_end_run(job, r, apr_time_now());
    assert_string_equal(entry_at(job, 0, "type"), "renewal-error");
    assert_string_equal(entry_at(job, 0, "status"), PROB("rejectedIdentifier"));
    j = md_json_pool_own(p, md_job_to_json(job));
    assert_true(json_is_false(json_object_get(j, "notified")));
    assert_true(json_is_false(json_object_get(j, "notified-renewed")));
    /* the status text is stored, not only shown */
    assert_non_null(md_json_get_str(md_json_get_obj(j, "last"), "status-description"));

    job->valid_from = apr_time_from_sec(1800000000);
    md_job_end_run(job, ok, apr_time_now());
    assert_string_equal(entry_at(job, 0, "type"), "finished");
    j = md_json_pool_own(p, md_job_to_json(job));
    assert_null(md_json_get_str(md_json_get_obj(j, "last"), "status-description"));
    assert_string_equal(md_json_get_str(md_json_get_obj(j, "last"), "valid-from"),
                        md_json_get_str(j, "valid-from"));

    /* what the programs were told */
    md_job_notified(job, "renewing", MD_NOTIFY_RAN, NULL);
    assert_string_equal(entry_at(job, 0, "type"), "message-renewing");
    md_job_notified(job, "renewing", 0, NULL);      /* nothing configured: no entry */
    assert_string_equal(entry_at(job, 0, "type"), "message-renewing");
    md_job_notified(job, "challenge-setup:http-01:a.test", MD_NOTIFY_RAN, NULL);
    md_job_notified(job, "renewed", MD_NOTIFY_RAN | MD_NOTIFY_FAILED_NOTIFY, r);
    assert_string_equal(entry_at(job, 0, "type"), "notify-error");
    assert_string_equal(entry_at(job, 1, "type"), "message-renewed");
    /* as stock: notified stays what the challenge set-up made it,
     * notified-renewed says "renewed" was not told in full */
    assert_true(job->notified);
    assert_false(job->notified_renewed);
    md_job_notified(job, "renewed", MD_NOTIFY_RAN | MD_NOTIFY_FAILED_MSG, r);
    assert_string_equal(entry_at(job, 0, "type"), "message-error");
    assert_string_equal(entry_at(job, 0, "status"), "renewed");
    assert_true(job->notified);
    assert_false(job->notified_renewed);
    md_job_notified(job, "renewed", 0, NULL);
    assert_true(job->notified && job->notified_renewed);
    /* a fresh job: a failed event sets nothing, nor do renewing and
     * errored (a failed order says false, as stock); a challenge set up does */
    job->notified = job->notified_renewed = 0;
    md_job_notified(job, "challenge-setup:http-01:a.test", MD_NOTIFY_RAN | MD_NOTIFY_FAILED_MSG,
                    r);
    assert_false(job->notified);
    md_job_notified(job, "renewing", MD_NOTIFY_RAN, NULL);
    md_job_notified(job, "errored", MD_NOTIFY_RAN, NULL);
    assert_false(job->notified);
    md_job_notified(job, "challenge-setup:http-01:a.test", 0, NULL);
    assert_true(job->notified);
    assert_false(job->notified_renewed);
    /* retries of one part: told in full only when the other is done too */
    md_job_notified(job, "renewed", MD_NOTIFY_RAN | MD_NOTIFY_SKIP_NOTIFY | MD_NOTIFY_PENDING,
                    NULL);
    assert_string_equal(entry_at(job, 0, "type"), "message-renewed");
    assert_false(job->notified_renewed);
    md_job_notified(job, "renewed", MD_NOTIFY_RAN | MD_NOTIFY_SKIP_MSG | MD_NOTIFY_FAILED_NOTIFY,
                    r);
    assert_string_equal(entry_at(job, 0, "type"), "notify-error");
    assert_false(job->notified_renewed);
    md_job_notified(job, "renewed", MD_NOTIFY_RAN | MD_NOTIFY_SKIP_MSG, NULL);
    /* no "message-renewed" for MDNotifyCmd alone */
    assert_string_equal(entry_at(job, 0, "type"), "notify-error");
    assert_true(job->notified && job->notified_renewed);

    /* and they survive a round trip */
    {
        md_job_t *back = md_job_create(p, "a.test");

        md_job_from_json(back, md_json_pool_own(p, md_job_to_json(job)));
        assert_true(back->notified && back->notified_renewed && back->finished);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_end_run_failure_then_success),
        UNIT_TEST(test_end_run_uses_retry_base),
        UNIT_TEST(test_log_is_bounded_newest_first),
        UNIT_TEST(test_json_round_trip),
        UNIT_TEST(test_from_json_rejects_silly_values),
        UNIT_TEST(test_roundtrip_keeps_unknown_members),
        UNIT_TEST(test_save_load_and_corrupt),
        UNIT_TEST(test_stock_members_and_log_types),
    };
    return UNIT_RUN(tests);
}
