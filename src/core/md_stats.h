/* Counters of the requests sent to each CA, for the metrics output.
 *
 * Requests to the CA are made by the watchdog in one child process, while
 * the metrics may be served by any other child, so the counters live in
 * memory all processes share: the glue creates one anonymous shared memory
 * segment in the parent (post_config, before the children fork) and hands
 * it to md_stats_init. The segment belongs to the process pool, not to a
 * config cycle, so the counters keep growing across graceful restarts (as
 * Prometheus counters should) and start at zero only with the parent.
 *
 * Threads and processes: only the parent adds CAs (md_stats_add_ca, in
 * post_config, single-threaded); any thread of any child counts
 * (md_stats_count) with lock-free atomic increments. A CA is never
 * removed, its slot stays valid for children of older generations.
 */
#ifndef md_stats_h
#define md_stats_h

#include <apr_pools.h>
#include <jansson.h>

/* CAs beyond this many are counted together under MD_STATS_OTHER. */
#define MD_STATS_CA_MAX         64
/* Longest CA URL kept; longer URLs are counted under MD_STATS_OTHER. */
#define MD_STATS_URL_MAX        512
#define MD_STATS_OTHER          "(other)"

typedef struct md_stats_t md_stats_t;

/* Bytes of memory md_stats_init needs. */
apr_size_t md_stats_size(void);

/* Use mem (md_stats_size() bytes, suitably aligned, e.g. shared memory) as
 * the counter table. Memory that already holds a table (same layout,
 * recognized by a magic number) is kept as it is, so a parent calling this
 * again after a restart keeps the counts; anything else is cleared. */
md_stats_t *md_stats_init(void *mem, apr_size_t size);

/* Make sure url has a slot. APR_ENOSPC if the table is full (the CA is then
 * counted under MD_STATS_OTHER), APR_EINVAL for NULL, empty or too long
 * URLs. Parent only. */
apr_status_t md_stats_add_ca(md_stats_t *stats, const char *url);

/* Count one request to the CA at url (its directory URL); failed: it got
 * no answer or an error answer (problem document, unexpected status).
 * Thread- and process-safe; does nothing when stats is NULL. */
void md_stats_count(md_stats_t *stats, const char *url, int failed);

/* The table the core counts into (md_acme's requests), process-wide; NULL
 * (the default) counts nothing. Set by the parent before forking. */
void md_stats_use(md_stats_t *stats);
md_stats_t *md_stats_current(void);

/* [{"url": ..., "requests": n, "failures": n}, ...] in the order the CAs
 * were added, MD_STATS_OTHER last if it counted anything. New reference. */
json_t *md_stats_to_json(const md_stats_t *stats);

#endif /* md_stats_h */
