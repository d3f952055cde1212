/* Worker threads for concurrent renewals (see md_workers.h for who owns
 * which memory: the point of this file).
 *
 * Shared state (the queue, the counters, each thread's done flag) is
 * guarded by workers->mutex. A thread takes tasks until the queue is
 * empty, then ends (no thread waits for work: nothing to wake, and no
 * timed waits). The owner (the pushing thread) allocates records, creates
 * threads with a root pool each, and joins ended threads and destroys
 * their pools.
 */
#include <errno.h>
#include <sys/resource.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "md_log.h"
#include "md_crypt.h"
#include "md_workers.h"

typedef struct task_t {
    struct task_t *next;
    md_workers_fn *fn;
    void *baton;
} task_t;

typedef struct thread_t {
    struct thread_t *next;
    md_workers_t *workers;
    apr_pool_t *pool;           /* root pool of the thread: owner's to make and destroy */
    apr_thread_t *thread;
    int done;                   /* returned from its loop (guarded by mutex) */
} thread_t;

struct md_workers_t {
    apr_pool_t *p;              /* the owner's: this, the mutex, records */
    apr_thread_mutex_t *mutex;
    int max;
    int nice;                   /* set before the first push, then read only */
    /* guarded by mutex: */
    task_t *head;               /* queued, oldest first */
    task_t *tail;
    task_t *free_tasks;         /* records to reuse */
    thread_t *threads;          /* started and not yet joined */
    thread_t *free_threads;     /* records to reuse */
    int queued;
    int running;                /* tasks being run */
    int alive;                  /* threads not done */
    int stopping;
};

/* Lower the calling thread's priority by incr. Linux keeps a nice value
 * per thread, and "who" 0 is the calling thread; POSIX systems that keep
 * it per process would lower the whole process, so only Linux does this. */
static void lower_priority(int incr)
{
#ifdef __linux__
    int now;

    errno = 0;
    now = getpriority(PRIO_PROCESS, 0);
    if (now == -1 && errno != 0) {
        return;
    }
    if (setpriority(PRIO_PROCESS, 0, now + incr > 19 ? 19 : now + incr) != 0) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, APR_FROM_OS_ERROR(errno), NULL,
                      "MD25001: cannot lower a worker thread's priority");
    }
#else
    (void)incr;
#endif
}

static void *APR_THREAD_FUNC thread_main(apr_thread_t *thread, void *data)
{
    thread_t *me = data;
    md_workers_t *w = me->workers;

    (void)thread;
    if (w->nice > 0) {
        lower_priority(w->nice);
    }
    apr_thread_mutex_lock(w->mutex);
    for (;;) {
        task_t *task;

        if (w->stopping || !w->head) {
            break;
        }
        task = w->head;
        w->head = task->next;
        if (!w->head) {
            w->tail = NULL;
        }
        --w->queued;
        ++w->running;
        apr_thread_mutex_unlock(w->mutex);

        task->fn(task->baton);

        apr_thread_mutex_lock(w->mutex);
        --w->running;
        task->next = w->free_tasks;
        w->free_tasks = task;
    }
    /* OpenSSL's per-thread state goes with the thread, before the owner
     * may see it done and the process end (see md_crypt_thread_done). */
    md_crypt_thread_done();
    me->done = 1;
    --w->alive;
    apr_thread_mutex_unlock(w->mutex);
    /* Return, never apr_thread_exit(): that would destroy the thread's pool
     * here, while the owner may be using the pool it was made from. */
    return NULL;
}

/* With the mutex held: take the threads that ended off the list. */
static thread_t *take_done(md_workers_t *w)
{
    thread_t *done = NULL;
    thread_t **pt = &w->threads;

    while (*pt) {
        thread_t *t = *pt;
        if (t->done) {
            *pt = t->next;
            t->next = done;
            done = t;
        }
        else {
            pt = &t->next;
        }
    }
    return done;
}

/* Without the mutex: join the threads and free their pools; their records
 * go back to the free list. */
static void reap(md_workers_t *w, thread_t *done)
{
    while (done) {
        thread_t *t = done;
        apr_status_t trv;

        done = t->next;
        apr_thread_join(&trv, t->thread);
        apr_pool_destroy(t->pool);
        t->pool = NULL;
        t->thread = NULL;
        apr_thread_mutex_lock(w->mutex);
        t->next = w->free_threads;
        w->free_threads = t;
        apr_thread_mutex_unlock(w->mutex);
    }
}

/* Start one more thread (the owner, without the mutex). */
static apr_status_t spawn(md_workers_t *w)
{
    thread_t *t;
    apr_status_t rv;

    apr_thread_mutex_lock(w->mutex);
    if ((t = w->free_threads) != NULL) {
        w->free_threads = t->next;
    }
    apr_thread_mutex_unlock(w->mutex);
    if (!t) {
        t = apr_pcalloc(w->p, sizeof(*t));
        t->workers = w;
    }
    t->done = 0;
    /* Its own allocator: nobody else allocates from it. */
    if ((rv = apr_pool_create_unmanaged_ex(&t->pool, NULL, NULL)) != APR_SUCCESS) {
        goto fail;
    }
    apr_thread_mutex_lock(w->mutex);
    ++w->alive;
    t->next = w->threads;
    w->threads = t;
    apr_thread_mutex_unlock(w->mutex);
    if ((rv = apr_thread_create(&t->thread, NULL, thread_main, t, t->pool)) == APR_SUCCESS) {
        return APR_SUCCESS;
    }
    apr_thread_mutex_lock(w->mutex);
    --w->alive;
    w->threads = t->next;       /* still first: only the owner adds threads */
    apr_thread_mutex_unlock(w->mutex);
    apr_pool_destroy(t->pool);
    t->pool = NULL;
fail:
    apr_thread_mutex_lock(w->mutex);
    t->next = w->free_threads;
    w->free_threads = t;
    apr_thread_mutex_unlock(w->mutex);
    md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, NULL, "MD25000: cannot start a worker thread");
    return rv;
}

static apr_status_t workers_cleanup(void *data)
{
    md_workers_stop(data);
    return APR_SUCCESS;
}

apr_status_t md_workers_create(md_workers_t **pworkers, int max, apr_pool_t *p)
{
    md_workers_t *w = apr_pcalloc(p, sizeof(*w));
    apr_status_t rv;

    *pworkers = NULL;
    if (max < 1) {
        return APR_EINVAL;
    }
    w->p = p;
    w->max = max;
    if ((rv = apr_thread_mutex_create(&w->mutex, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS) {
        return rv;
    }
    /* Registered after the mutex's: cleanups run last first. */
    apr_pool_cleanup_register(p, w, workers_cleanup, apr_pool_cleanup_null);
    *pworkers = w;
    return APR_SUCCESS;
}

void md_workers_set_nice(md_workers_t *w, int incr)
{
    w->nice = incr > 0 ? incr : 0;
}

apr_status_t md_workers_push(md_workers_t *w, md_workers_fn *fn, void *baton)
{
    thread_t *done;
    task_t *task;
    int start;
    apr_status_t rv = APR_SUCCESS;

    apr_thread_mutex_lock(w->mutex);
    if (w->stopping) {
        apr_thread_mutex_unlock(w->mutex);
        return APR_EINVAL;
    }
    done = take_done(w);
    if ((task = w->free_tasks) != NULL) {
        w->free_tasks = task->next;
    }
    apr_thread_mutex_unlock(w->mutex);
    reap(w, done);
    if (!task) {
        task = apr_palloc(w->p, sizeof(*task));
    }
    task->fn = fn;
    task->baton = baton;
    task->next = NULL;

    apr_thread_mutex_lock(w->mutex);
    if (w->tail) {
        w->tail->next = task;
    }
    else {
        w->head = task;
    }
    w->tail = task;
    ++w->queued;
    /* A thread that finds the queue empty ends at once: one too many
     * started here costs nothing. */
    start = w->alive < w->max;
    apr_thread_mutex_unlock(w->mutex);

    if (start && (rv = spawn(w)) != APR_SUCCESS) {
        apr_thread_mutex_lock(w->mutex);
        if (w->alive > 0) {
            rv = APR_SUCCESS;   /* the running threads will get to it */
        }
        else if (w->head == task) {
            /* Nobody will run it: take it back (it is alone in the queue). */
            w->head = w->tail = NULL;
            --w->queued;
            task->next = w->free_tasks;
            w->free_tasks = task;
        }
        apr_thread_mutex_unlock(w->mutex);
    }
    return rv;
}

int md_workers_busy(md_workers_t *w)
{
    int busy;

    apr_thread_mutex_lock(w->mutex);
    busy = w->queued + w->running;
    apr_thread_mutex_unlock(w->mutex);
    return busy;
}

int md_workers_stop(md_workers_t *w)
{
    thread_t *all;
    int dropped;

    apr_thread_mutex_lock(w->mutex);
    w->stopping = 1;
    dropped = w->queued;
    if (w->tail) {
        w->tail->next = w->free_tasks;
        w->free_tasks = w->head;
        w->head = w->tail = NULL;
    }
    w->queued = 0;
    all = w->threads;
    w->threads = NULL;
    apr_thread_mutex_unlock(w->mutex);
    /* Waits for the tasks that run. */
    reap(w, all);
    return dropped;
}
