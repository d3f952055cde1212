/* A pool of worker threads for concurrent renewals: at most max threads
 * run the tasks pushed to it, in order; a thread starts when a task is
 * pushed and fewer than max run, and ends when the queue is empty.
 *
 * Memory and threads (issue 11, finding 5): nothing is allocated from a
 * pool that more than one thread uses. The struct, its mutex and the
 * records of tasks and threads come from the pool given to create, used
 * only by the thread that pushes and stops (the watchdog's); records are
 * recycled, so a pool of workers that runs for months does not grow. Each
 * thread gets a root pool of its own (its own allocator), created before
 * the thread and destroyed after it was joined, both by the pushing
 * thread; a task allocates from pools of its own.
 *
 * No httpd headers: the module's glue (mod_md_drive.c) and the unit tests
 * (test_md_workers.c, also run under helgrind) use the same code.
 */
#ifndef md_workers_h
#define md_workers_h

#include <apr_pools.h>

typedef struct md_workers_t md_workers_t;

/* A task: runs on a worker thread, with the baton given to push. */
typedef void md_workers_fn(void *baton);

/* A pool of at most max (>= 1) threads, allocated from p. p must not be
 * used by other threads while the workers exist; clearing p stops them
 * (md_workers_stop). */
apr_status_t md_workers_create(md_workers_t **pworkers, int max, apr_pool_t *p);

/* Threads started from now on run incr (> 0) nice levels below the thread
 * that made the pool, at most at 19: background work yields the CPU to
 * whatever the process does at its own priority. On Linux the nice value
 * belongs to a thread; elsewhere this does nothing. Call before the first
 * push. */
void md_workers_set_nice(md_workers_t *workers, int incr);

/* Queue fn(baton); starts a thread when fewer than max run. Also joins
 * the threads that ended. One thread at a time may push (and
 * stop). APR_EINVAL after stop; another error if no thread runs and none
 * could be started (the task is not queued then). */
apr_status_t md_workers_push(md_workers_t *workers, md_workers_fn *fn, void *baton);

/* Tasks queued or running. */
int md_workers_busy(md_workers_t *workers);

/* No more tasks: the queued ones are dropped (never run), the running ones
 * finish, every thread is joined and its pool destroyed. Blocks until
 * then. Returns how many queued tasks were dropped. Safe to call again. */
int md_workers_stop(md_workers_t *workers);

#endif /* md_workers_h */
