/* Unit tests of md_workers.c, the renewal worker threads: every task runs,
 * never more than max at once, threads end when idle and are joined, stop
 * drops what is queued and waits for what runs. `make test-helgrind` runs
 * this file under valgrind's helgrind, which must find no race (issue 11,
 * finding 5: the thread pool of the module used a pool whose allocator had
 * no mutex, and exiting threads destroyed pools concurrently). Shared test
 * state is guarded by a mutex (helgrind does not know atomics). */
#include "unit.h"

#include <sys/resource.h>

#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "md_workers.h"

#define DEADLINE    apr_time_from_sec(60)
#define POLL        apr_time_from_msec(2)

typedef struct {
    apr_thread_mutex_t *mutex;
    apr_thread_cond_t *cond;
    int gated;          /* tasks wait until this is 0 */
    int running;
    int max_running;
    int done;
} counter_t;

static counter_t *counter_make(apr_pool_t *p, int gated)
{
    counter_t *c = apr_pcalloc(p, sizeof(*c));

    assert_int_equal(apr_thread_mutex_create(&c->mutex, APR_THREAD_MUTEX_DEFAULT, p),
                     APR_SUCCESS);
    assert_int_equal(apr_thread_cond_create(&c->cond, p), APR_SUCCESS);
    c->gated = gated;
    return c;
}

static int counter_get(counter_t *c, const int *field)
{
    int v;

    apr_thread_mutex_lock(c->mutex);
    v = *field;
    apr_thread_mutex_unlock(c->mutex);
    return v;
}

static void gate_open(counter_t *c)
{
    apr_thread_mutex_lock(c->mutex);
    c->gated = 0;
    apr_thread_cond_broadcast(c->cond);
    apr_thread_mutex_unlock(c->mutex);
}

/* What a renewal does with memory: a root pool of its own, some
 * allocations, destroyed at the end. */
static void task(void *baton)
{
    counter_t *c = baton;
    apr_pool_t *p;
    int i;

    apr_thread_mutex_lock(c->mutex);
    if (++c->running > c->max_running) {
        c->max_running = c->running;
    }
    while (c->gated) {
        apr_thread_cond_wait(c->cond, c->mutex);
    }
    apr_thread_mutex_unlock(c->mutex);

    apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    for (i = 0; i < 64; ++i) {
        apr_palloc(p, 1024);
    }
    apr_pool_destroy(p);

    apr_thread_mutex_lock(c->mutex);
    --c->running;
    ++c->done;
    apr_thread_mutex_unlock(c->mutex);
}

/* Poll until pred(c, arg) or the deadline (then fail). */
static void wait_until(int (*pred)(counter_t *, md_workers_t *, int), counter_t *c,
                       md_workers_t *w, int arg, const char *what)
{
    apr_time_t end = apr_time_now() + DEADLINE;

    while (!pred(c, w, arg)) {
        if (apr_time_now() > end) {
            fail_msg("timed out waiting for %s", what);
        }
        apr_sleep(POLL);
    }
}

static int running_is(counter_t *c, md_workers_t *w, int n)
{
    (void)w;
    return counter_get(c, &c->running) == n;
}

static int idle_all(counter_t *c, md_workers_t *w, int n)
{
    (void)c;
    (void)n;
    return md_workers_busy(w) == 0;
}

static int busy_at_most(counter_t *c, md_workers_t *w, int n)
{
    (void)c;
    return md_workers_busy(w) <= n;
}

static void test_every_task_runs_at_most_max_at_once(void **state)
{
    apr_pool_t *p = *state;
    counter_t *c = counter_make(p, 1);
    md_workers_t *w = NULL;
    int i;

    assert_int_equal(md_workers_create(&w, 3, p), APR_SUCCESS);
    for (i = 0; i < 5; ++i) {
        assert_int_equal(md_workers_push(w, task, c), APR_SUCCESS);
    }
    /* three run (and wait at the gate), two are queued */
    wait_until(running_is, c, w, 3, "three tasks to run");
    assert_int_equal(md_workers_busy(w), 5);
    gate_open(c);
    wait_until(idle_all, c, w, 0, "all tasks to finish");
    assert_int_equal(counter_get(c, &c->done), 5);
    assert_int_equal(counter_get(c, &c->max_running), 3);
    /* many more, in bursts, on the same threads */
    for (i = 0; i < 100; ++i) {
        assert_int_equal(md_workers_push(w, task, c), APR_SUCCESS);
    }
    wait_until(idle_all, c, w, 0, "all tasks to finish");
    assert_int_equal(counter_get(c, &c->done), 105);
    assert_true(counter_get(c, &c->max_running) <= 3);
    assert_int_equal(md_workers_stop(w), 0);
}

static void test_idle_threads_end_and_are_joined(void **state)
{
    apr_pool_t *p = *state;
    counter_t *c = counter_make(p, 0);
    md_workers_t *w = NULL;
    int round, i;

    /* threads end when the queue is empty: every burst starts new ones
     * while the old ones end and are joined */
    assert_int_equal(md_workers_create(&w, 4, p), APR_SUCCESS);
    for (round = 0; round < 40; ++round) {
        for (i = 0; i < 6; ++i) {
            assert_int_equal(md_workers_push(w, task, c), APR_SUCCESS);
        }
        wait_until(idle_all, c, w, 0, "a burst to finish");
    }
    assert_int_equal(counter_get(c, &c->done), 240);
    assert_true(counter_get(c, &c->max_running) <= 4);
    md_workers_stop(w);
}

typedef struct {
    counter_t *c;
    md_workers_t *w;
} opener_t;

/* Open the gate once stop has dropped the queue (busy == the running). */
static void *APR_THREAD_FUNC open_after_drop(apr_thread_t *thread, void *data)
{
    opener_t *o = data;

    (void)thread;
    wait_until(busy_at_most, o->c, o->w, 2, "stop to drop the queue");
    gate_open(o->c);
    return NULL;
}

static void test_stop_drops_queued_and_waits_for_running(void **state)
{
    apr_pool_t *p = *state;
    counter_t *c = counter_make(p, 1);
    md_workers_t *w = NULL;
    apr_thread_t *opener;
    apr_status_t trv;
    opener_t o;
    int i;

    assert_int_equal(md_workers_create(&w, 2, p), APR_SUCCESS);
    for (i = 0; i < 5; ++i) {
        assert_int_equal(md_workers_push(w, task, c), APR_SUCCESS);
    }
    wait_until(running_is, c, w, 2, "two tasks to run");
    o.c = c;
    o.w = w;
    assert_int_equal(apr_thread_create(&opener, NULL, open_after_drop, &o, p), APR_SUCCESS);
    /* returns once the two running tasks are done */
    assert_int_equal(md_workers_stop(w), 3);
    assert_int_equal(counter_get(c, &c->done), 2);
    apr_thread_join(&trv, opener);
    assert_int_equal(md_workers_push(w, task, c), APR_EINVAL);
    assert_int_equal(md_workers_stop(w), 0);
    assert_int_equal(counter_get(c, &c->done), 2);
}

static void test_pool_cleanup_stops(void **state)
{
    apr_pool_t *p;
    counter_t *c = counter_make(*state, 0);
    md_workers_t *w = NULL;
    int i;

    assert_int_equal(apr_pool_create(&p, *state), APR_SUCCESS);
    assert_int_equal(md_workers_create(&w, 2, p), APR_SUCCESS);
    assert_int_equal(md_workers_create(&w, 0, p), APR_EINVAL);
    assert_int_equal(md_workers_create(&w, 2, p), APR_SUCCESS);
    for (i = 0; i < 4; ++i) {
        assert_int_equal(md_workers_push(w, task, c), APR_SUCCESS);
    }
    wait_until(idle_all, c, w, 0, "all tasks to finish");
    /* the idle threads are joined when the pool goes */
    apr_pool_destroy(p);
    assert_int_equal(counter_get(c, &c->done), 4);
}

#ifdef __linux__
typedef struct {
    counter_t *c;
    int nice;           /* the worker's nice value, under c->mutex */
} nice_seen_t;

static void note_nice(void *baton)
{
    nice_seen_t *seen = baton;
    int nice = getpriority(PRIO_PROCESS, 0);

    apr_thread_mutex_lock(seen->c->mutex);
    seen->nice = nice;
    ++seen->c->done;
    apr_thread_mutex_unlock(seen->c->mutex);
}

static int done_is(counter_t *c, md_workers_t *w, int n)
{
    (void)w;
    return counter_get(c, &c->done) == n;
}

/* Workers run below the pushing thread's priority, which stays. */
static void test_nice_lowers_workers_only(void **state)
{
    apr_pool_t *p = *state;
    counter_t *c = counter_make(p, 0);
    nice_seen_t seen = {c, -100};
    int mine = getpriority(PRIO_PROCESS, 0);
    int want = mine + 5 > 19 ? 19 : mine + 5;
    md_workers_t *w = NULL;

    assert_int_equal(md_workers_create(&w, 1, p), APR_SUCCESS);
    md_workers_set_nice(w, 5);
    assert_int_equal(md_workers_push(w, note_nice, &seen), APR_SUCCESS);
    wait_until(done_is, c, w, 1, "the task to run");
    md_workers_stop(w);
    assert_int_equal(counter_get(c, &seen.nice), want);
    assert_int_equal(getpriority(PRIO_PROCESS, 0), mine);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_every_task_runs_at_most_max_at_once),
        UNIT_TEST(test_idle_threads_end_and_are_joined),
        UNIT_TEST(test_stop_drops_queued_and_waits_for_running),
        UNIT_TEST(test_pool_cleanup_stops),
#ifdef __linux__
        UNIT_TEST(test_nice_lowers_workers_only),
#endif
    };

    return UNIT_RUN(tests);
}
