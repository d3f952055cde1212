/* CA request counters in memory shared by all processes (see md_stats.h). */
#include <stdatomic.h>
#include <string.h>

#include "md_json.h"
#include "md_keys.h"
#include "md_stats.h"

/* "mdst" and a layout version: memory with another layout is reset. */
#define STATS_MAGIC     0x6d647374u
#define STATS_LAYOUT    1u

typedef struct {
    char url[MD_STATS_URL_MAX];
    atomic_ullong requests;
    atomic_ullong failures;
} slot_t;

struct md_stats_t {
    unsigned int magic;
    unsigned int layout;
    /* Slots in use; a slot's url is written before n grows past it
     * (release), and read after n is loaded (acquire). */
    atomic_uint n;
    slot_t other;
    slot_t slots[MD_STATS_CA_MAX];
};

static md_stats_t *current;

apr_size_t md_stats_size(void)
{
    return sizeof(md_stats_t);
}

static void slot_clear(slot_t *slot, const char *url)
{
    memset(slot->url, 0, sizeof(slot->url));
    strcpy(slot->url, url);
    atomic_init(&slot->requests, 0);
    atomic_init(&slot->failures, 0);
}

md_stats_t *md_stats_init(void *mem, apr_size_t size)
{
    md_stats_t *stats = mem;
    int i;

    if (!mem || size < sizeof(*stats)) {
        return NULL;
    }
    if (stats->magic == STATS_MAGIC && stats->layout == STATS_LAYOUT
        && atomic_load(&stats->n) <= MD_STATS_CA_MAX) {
        return stats;
    }
    memset(stats, 0, sizeof(*stats));
    stats->magic = STATS_MAGIC;
    stats->layout = STATS_LAYOUT;
    atomic_init(&stats->n, 0);
    slot_clear(&stats->other, MD_STATS_OTHER);
    for (i = 0; i < MD_STATS_CA_MAX; ++i) {
        slot_clear(&stats->slots[i], "");
    }
    return stats;
}

static slot_t *slot_find(md_stats_t *stats, const char *url)
{
    unsigned int n = atomic_load_explicit(&stats->n, memory_order_acquire);
    unsigned int i;

    for (i = 0; i < n; ++i) {
        if (!strcmp(stats->slots[i].url, url)) {
            return &stats->slots[i];
        }
    }
    return NULL;
}

apr_status_t md_stats_add_ca(md_stats_t *stats, const char *url)
{
    unsigned int n;

    if (!stats || !url || !*url || strlen(url) >= MD_STATS_URL_MAX) {
        return APR_EINVAL;
    }
    if (slot_find(stats, url)) {
        return APR_SUCCESS;
    }
    n = atomic_load(&stats->n);
    if (n >= MD_STATS_CA_MAX) {
        return APR_ENOSPC;
    }
    slot_clear(&stats->slots[n], url);
    atomic_store_explicit(&stats->n, n + 1, memory_order_release);
    return APR_SUCCESS;
}

void md_stats_count(md_stats_t *stats, const char *url, int failed)
{
    slot_t *slot;

    if (!stats) {
        return;
    }
    slot = url ? slot_find(stats, url) : NULL;
    if (!slot) {
        slot = &stats->other;
    }
    atomic_fetch_add_explicit(&slot->requests, 1, memory_order_relaxed);
    if (failed) {
        atomic_fetch_add_explicit(&slot->failures, 1, memory_order_relaxed);
    }
}

void md_stats_use(md_stats_t *stats)
{
    current = stats;
}

md_stats_t *md_stats_current(void)
{
    return current;
}

static json_t *slot_to_json(const slot_t *slot)
{
    json_t *j = json_object();

    /* The slot lives in shared memory: read a bounded copy of the URL. */
    json_object_set_new(j, MD_KEY_URL, json_stringn(slot->url, strnlen(slot->url,
                                                                  MD_STATS_URL_MAX - 1)));
    json_object_set_new(j, MD_KEY_REQUESTS, json_integer((json_int_t)atomic_load(&slot->requests)));
    json_object_set_new(j, MD_KEY_FAILURES, json_integer((json_int_t)atomic_load(&slot->failures)));
    return j;
}

json_t *md_stats_to_json(const md_stats_t *stats)
{
    json_t *list = json_array();
    unsigned int n;
    unsigned int i;

    if (!stats) {
        return list;
    }
    n = atomic_load_explicit(&stats->n, memory_order_acquire);
    for (i = 0; i < n && i < MD_STATS_CA_MAX; ++i) {
        json_array_append_new(list, slot_to_json(&stats->slots[i]));
    }
    if (atomic_load(&stats->other.requests) > 0) {
        json_array_append_new(list, slot_to_json(&stats->other));
    }
    return list;
}
