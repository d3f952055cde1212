/* Unit tests of md_notify.c: running programs (argv, exit codes, timeout,
 * PATH lookup), the rate limits, and events with their state in a store. */
#include "unit.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>

#include "md_json.h"
#include "md_keys.h"
#include "md_notify.h"
#include "md_store.h"
#include "md_time.h"
#include "md_util.h"
#include "fixtures/fx.h"

static apr_array_header_t *args(apr_pool_t *p, const char *a0, const char *a1,
                                const char *a2)
{
    apr_array_header_t *a = apr_array_make(p, 3, sizeof(const char *));

    APR_ARRAY_PUSH(a, const char *) = a0;
    if (a1) {
        APR_ARRAY_PUSH(a, const char *) = a1;
    }
    if (a2) {
        APR_ARRAY_PUSH(a, const char *) = a2;
    }
    return a;
}

static const char *read_text(const char *path, apr_pool_t *p)
{
    FILE *f = fopen(path, "r");
    char buf[4096];
    size_t n;

    if (!f) {
        return "";
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return apr_pstrdup(p, buf);
}

/* A script that appends its arguments (one line per call) to log and exits
 * with the number in the file rc (0 if there is none). */
static const char *script_make(const char *dir, apr_pool_t *p)
{
    const char *path = apr_pstrcat(p, dir, "/cmd.sh", NULL);
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fprintf(f, "#!/bin/sh\necho \"$*\" >> %s/log\n"
               "if [ -f %s/rc ]; then exit $(cat %s/rc); fi\nexit 0\n", dir, dir, dir);
    fclose(f);
    assert_int_equal(chmod(path, 0755), 0);
    return path;
}

static void set_rc(const char *dir, int rc, apr_pool_t *p)
{
    const char *path = apr_pstrcat(p, dir, "/rc", NULL);
    FILE *f;

    if (rc == 0) {
        remove(path);
        return;
    }
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%d\n", rc);
    fclose(f);
}

static void test_exec(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = fx_tmpdir("test_md_notify", p);
    const char *out = apr_pstrcat(p, dir, "/out", NULL);
    const char *extra[] = { "a b", "'$HOME'", ";x" };
    const char *output = NULL;
    int code = 0;

    assert_int_equal(md_notify_exec(&code, NULL, NULL, args(p, "/bin/true", NULL, NULL), NULL, 0,
                                    apr_time_from_sec(10), p), APR_SUCCESS);
    assert_int_equal(code, 0);
    /* exit codes as they are */
    assert_int_equal(md_notify_exec(&code, NULL, NULL, args(p, "/bin/false", NULL, NULL), NULL, 0,
                                    apr_time_from_sec(10), p), APR_SUCCESS);
    assert_int_equal(code, 1);
    assert_int_equal(md_notify_exec(&code, &output, NULL, args(p, "/bin/sh", "-c",
                                                         "echo no zone; exit 7"), NULL, 0,
                                    apr_time_from_sec(10), p), APR_SUCCESS);
    assert_int_equal(code, 7);
    assert_non_null(strstr(output, "no zone"));
    /* arguments go as they are: no shell in between */
    assert_int_equal(md_notify_exec(&code, NULL, NULL, args(p, "/bin/sh", "-c",
                                                apr_psprintf(p, "printf '%%s|' \"$@\" > %s",
                                                             out)),
                                    extra, 3, apr_time_from_sec(10), p), APR_SUCCESS);
    assert_int_equal(code, 0);
    assert_string_equal(read_text(out, p), "'$HOME'|;x|");
    /* (the first extra is $0 of sh -c) */

    /* too slow: stopped, and we do not wait for it */
    assert_int_equal(md_notify_exec(&code, NULL, NULL, args(p, "/bin/sleep", "30", NULL), NULL, 0,
                                    apr_time_from_msec(200), p), APR_TIMEUP);
    /* cannot start */
    assert_int_not_equal(md_notify_exec(&code, NULL, NULL, args(p, "/nonexistent/prog", NULL, NULL),
                                        NULL, 0, apr_time_from_sec(10), p), APR_SUCCESS);
    assert_int_equal(md_notify_exec(&code, NULL, NULL, NULL, NULL, 0, apr_time_from_sec(1), p),
                     APR_EINVAL);

    /* a relative program runs from under root and gets argv[0] as written */
    {
        const char *prog = apr_pstrcat(p, dir, "/argv0.sh", NULL);
        FILE *f = fopen(prog, "w");

        assert_non_null(f);
        fprintf(f, "#!/bin/sh\nprintf '%%s|' \"$0\" \"$@\" > %s\n", out);
        fclose(f);
        assert_int_equal(chmod(prog, 0755), 0);
        assert_int_equal(md_notify_exec(&code, NULL, dir, args(p, "argv0.sh", "x", NULL),
                                        NULL, 0, apr_time_from_sec(10), p), APR_SUCCESS);
        assert_int_equal(code, 0);
        /* (a script's $0 is the path the kernel ran it from) */
        assert_non_null(strstr(read_text(out, p), "|x|"));
        /* a binary sees argv[0] as written, here relative to /usr/bin */
        assert_int_equal(md_notify_exec(&code, NULL, "/usr/bin",
                                        args(p, "python3", "-c", apr_psprintf(p,
                                             "import sys; open('%s', 'w')"
                                             ".write(sys.orig_argv[0])", out)),
                                        NULL, 0, apr_time_from_sec(10), p), APR_SUCCESS);
        assert_int_equal(code, 0);
        assert_string_equal(read_text(out, p), "python3");
        /* missing when due: an error, not a crash */
        assert_int_not_equal(md_notify_exec(&code, NULL, dir, args(p, "gone.sh", NULL, NULL),
                                            NULL, 0, apr_time_from_sec(10), p), APR_SUCCESS);
    }
}

static json_t *state_at(apr_time_t when, const char *key, apr_pool_t *p)
{
    json_t *j = md_json_pool_own(p, json_object());

    md_json_set_str(j, "when", md_time_format_http(when, p));
    md_json_set_str(j, "key", key);
    return j;
}

static void test_rate_limits(void **state)
{
    apr_pool_t *p = *state;
    apr_time_t now = apr_time_from_sec(1700000000);
    int once;

    assert_int_equal(md_notify_min_interval("errored", &once), apr_time_from_sec(3600));
    assert_false(once);
    assert_int_equal(md_notify_min_interval("expiring", &once), apr_time_from_sec(86400));
    assert_int_equal(md_notify_min_interval("renewed", &once), 0);
    assert_true(once);
    assert_int_equal(md_notify_min_interval("installed", &once), 0);
    assert_true(once);
    assert_int_equal(md_notify_min_interval("renewing", &once), 0);
    assert_false(once);
    assert_int_equal(md_notify_min_interval("challenge-setup:http-01:a.test", &once), 0);
    assert_false(once);

    /* never sent: due */
    assert_true(md_notify_is_due(NULL, "errored", NULL, now));
    /* errored: once an hour */
    assert_false(md_notify_is_due(state_at(now - apr_time_from_sec(3599), NULL, p),
                                  "errored", NULL, now));
    assert_true(md_notify_is_due(state_at(now - apr_time_from_sec(3600), NULL, p),
                                 "errored", NULL, now));
    /* expiring: once a day */
    assert_false(md_notify_is_due(state_at(now - apr_time_from_sec(86399), NULL, p),
                                  "expiring", NULL, now));
    assert_true(md_notify_is_due(state_at(now - apr_time_from_sec(86400), NULL, p),
                                 "expiring", NULL, now));
    /* a clock set back does not silence it */
    assert_true(md_notify_is_due(state_at(now + apr_time_from_sec(600), NULL, p),
                                 "errored", NULL, now));
    /* renewed: once per certificate, however long ago */
    assert_false(md_notify_is_due(state_at(now - apr_time_from_sec(10 * 86400), "cert-1", p),
                                  "renewed", "cert-1", now));
    assert_true(md_notify_is_due(state_at(now, "cert-1", p), "renewed", "cert-2", now));
    /* renewing and challenge-setup: always */
    assert_true(md_notify_is_due(state_at(now, NULL, p), "renewing", NULL, now));
}

static md_store_t *store_make(const char *dir, apr_pool_t *p)
{
    md_store_t *store = NULL;

    assert_int_equal(md_store_fs_open(&store, p, apr_pstrcat(p, dir, "/md", NULL)),
                     APR_SUCCESS);
    return store;
}

static int count_lines(const char *text)
{
    int n = 0;

    for (; *text; ++text) {
        n += *text == '\n';
    }
    return n;
}

/* Move the retry time of a pending channel into the past. */
static void retry_now(md_store_t *store, const char *chan, apr_pool_t *p)
{
    json_t *j = NULL;

    assert_int_equal(md_store_load_json(store, MD_SG_STAGING, "a.test", MD_FN_NOTIFY, &j, p),
                     APR_SUCCESS);
    md_json_set_str(json_object_get(j, chan), "retry",
                    md_time_format_http(apr_time_now() - apr_time_from_sec(1), p));
    assert_int_equal(md_store_save_json(store, MD_SG_STAGING, "a.test", MD_FN_NOTIFY, j, p),
                     APR_SUCCESS);
}

static void test_events(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = fx_tmpdir("test_md_notify", p);
    const char *log = apr_pstrcat(p, dir, "/log", NULL);
    md_store_t *store = store_make(dir, p);
    const char *cmd = script_make(dir, p);
    md_notify_t *n = md_notify_create(p, store, args(p, cmd, "notify", NULL),
                                      args(p, cmd, "msg", NULL));
    md_result_t *result = md_result_make(p, "a.test");
    apr_time_t next = 0;

    assert_true(md_notify_configured(n));
    assert_false(md_notify_configured(md_notify_create(p, store, NULL, NULL)));
    assert_int_equal(md_notify_event(NULL, "a.test", "renewed", "k", result, p), APR_SUCCESS);

    /* renewed: MDMessageCmd with reason and name, MDNotifyCmd with the name */
    assert_int_equal(md_notify_event(n, "a.test", "renewed", "cert-1", result, p),
                     APR_SUCCESS);
    assert_string_equal(read_text(log, p), "msg renewed a.test\nnotify a.test\n");
    /* once per certificate */
    assert_int_equal(md_notify_event(n, "a.test", "renewed", "cert-1", result, p),
                     APR_SUCCESS);
    assert_int_equal(count_lines(read_text(log, p)), 2);

    /* errored: the first one runs, the next within the hour does not */
    assert_int_equal(md_notify_event(n, "a.test", "errored", NULL, result, p), APR_SUCCESS);
    assert_int_equal(md_notify_event(n, "a.test", "errored", NULL, result, p), APR_SUCCESS);
    assert_int_equal(count_lines(read_text(log, p)), 3);
    /* other MDs have their own limits */
    assert_int_equal(md_notify_event(n, "b.test", "errored", NULL, result, p), APR_SUCCESS);
    assert_int_equal(count_lines(read_text(log, p)), 4);

    /* renewing asks every time, and a non-zero exit says no */
    set_rc(dir, 3, p);
    assert_int_equal(md_notify_event(n, "a.test", "renewing", NULL, result, p), APR_EGENERAL);
    assert_true(strstr(result->detail, "exit code 3") != NULL);
    assert_true(strstr(result->detail, "MDMessageCmd") != NULL);
    assert_int_equal(md_notify_event(n, "a.test", "challenge-setup:http-01:a.test", NULL,
                                     result, p), APR_EGENERAL);
    assert_int_equal(count_lines(read_text(log, p)), 6);

    /* a failed renewed is pending and retried, not before its time */
    assert_int_equal(md_notify_event(n, "a.test", "renewed", "cert-2", result, p),
                     APR_EGENERAL);
    assert_int_equal(count_lines(read_text(log, p)), 8);
    md_notify_retry(n, "a.test", &next, NULL, NULL, p);
    assert_true(next > apr_time_now());
    assert_int_equal(count_lines(read_text(log, p)), 8);
    retry_now(store, "renewed", p);
    md_notify_retry(n, "a.test", &next, NULL, NULL, p);
    assert_int_equal(count_lines(read_text(log, p)), 9);
    assert_true(next > apr_time_now());     /* failed again, both still pending */

    /* once it works, both parts are told once and nothing stays pending */
    set_rc(dir, 0, p);
    retry_now(store, "renewed", p);
    retry_now(store, "notify-renewed", p);
    md_notify_retry(n, "a.test", &next, NULL, NULL, p);
    assert_int_equal(next, 0);
    assert_true(strstr(read_text(log, p), "msg renewed a.test\nnotify a.test\n") != NULL);
    assert_int_equal(count_lines(read_text(log, p)), 11);
    md_notify_retry(n, "a.test", &next, NULL, NULL, p);
    assert_int_equal(md_notify_event(n, "a.test", "renewed", "cert-2", result, p),
                     APR_SUCCESS);
    assert_int_equal(count_lines(read_text(log, p)), 11);

    /* a program that hangs is stopped and counts as a failure */
    n = md_notify_create(p, store, NULL, args(p, "/bin/sh", "-c", "sleep 30"));
    md_notify_set_timeout(n, apr_time_from_msec(200));
    assert_int_equal(md_notify_event(n, "a.test", "renewing", NULL, result, p), APR_TIMEUP);
    assert_true(strstr(result->detail, "did not finish") != NULL);
}

/* What the retries report to their caller (who records it in job.json). */
typedef struct {
    int calls;
    char seen[8][64];
} heard_t;

static void heard(void *baton, const char *mdname, const char *reason, const char *key,
                  int what, const md_result_t *result, apr_pool_t *p)
{
    heard_t *h = baton;

    (void)p;
    assert_string_equal(mdname, "a.test");
    assert_string_equal(key, "cert-3");
    assert_true(h->calls < 8);
    /* failures come with the result that says why */
    if (what & (MD_NOTIFY_FAILED_MSG | MD_NOTIFY_FAILED_NOTIFY)) {
        assert_non_null(result);
        assert_non_null(result->detail);
    }
    snprintf(h->seen[h->calls++], sizeof(h->seen[0]), "%s:%s%s%s%s%s", reason,
             (what & MD_NOTIFY_SKIP_MSG) ? "notify" : "msg",
             (what & MD_NOTIFY_RAN) ? ":ran" : "",
             (what & (MD_NOTIFY_FAILED_MSG | MD_NOTIFY_FAILED_NOTIFY)) ? ":failed" : "",
             (what & MD_NOTIFY_PENDING) ? ":pending" : "",
             (what & MD_NOTIFY_SKIP_NOTIFY) && (what & MD_NOTIFY_SKIP_MSG) ? ":both?" : "");
}

static void test_retry_reports(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = fx_tmpdir("test_md_notify", p);
    md_store_t *store = store_make(dir, p);
    const char *cmd = script_make(dir, p);
    md_notify_t *n = md_notify_create(p, store, args(p, cmd, "notify", NULL),
                                      args(p, cmd, "msg", NULL));
    md_result_t *result = md_result_make(p, "a.test");
    apr_time_t next = 0;
    heard_t h;

    memset(&h, 0, sizeof(h));
    set_rc(dir, 2, p);
    assert_int_equal(md_notify_event(n, "a.test", "renewed", "cert-3", result, p),
                     APR_EGENERAL);
    /* not due yet: nothing run, nothing heard */
    assert_true(md_notify_pending_next(n, "a.test", p) > apr_time_now());
    md_notify_retry(n, "a.test", &next, heard, &h, p);
    assert_int_equal(h.calls, 0);
    /* due and failing again: each part reports its failure */
    retry_now(store, "renewed", p);
    assert_true(md_notify_pending_next(n, "a.test", p) <= apr_time_now());
    retry_now(store, "notify-renewed", p);
    md_notify_retry(n, "a.test", &next, heard, &h, p);
    assert_int_equal(h.calls, 2);
    assert_string_equal(h.seen[0], "renewed:msg:ran:failed:pending");
    assert_string_equal(h.seen[1], "renewed:notify:ran:failed:pending");
    /* working: the first part done while the other still waits, then the
     * other, then nothing is pending */
    set_rc(dir, 0, p);
    retry_now(store, "renewed", p);
    md_notify_retry(n, "a.test", &next, heard, &h, p);
    assert_int_equal(h.calls, 3);
    assert_string_equal(h.seen[2], "renewed:msg:ran:pending");
    retry_now(store, "notify-renewed", p);
    md_notify_retry(n, "a.test", &next, heard, &h, p);
    assert_int_equal(h.calls, 4);
    assert_string_equal(h.seen[3], "renewed:notify:ran");
    assert_int_equal(next, 0);
    assert_int_equal(md_notify_pending_next(n, "a.test", p), 0);
    md_notify_retry(n, "a.test", &next, heard, &h, p);
    assert_int_equal(h.calls, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_exec),
        UNIT_TEST(test_rate_limits),
        UNIT_TEST(test_events),
        UNIT_TEST(test_retry_reports),
    };

    return UNIT_RUN(tests);
}
