/* Unit tests of md_stats.c: CA request counters in caller-provided memory,
 * kept across re-initialization (a parent restarting), counted from many
 * threads, bounded in CAs and URL length. */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "md_json.h"
#include "md_keys.h"
#include "md_stats.h"

static md_stats_t *fresh(apr_pool_t *p)
{
    apr_size_t size = md_stats_size();
    void *mem = apr_palloc(p, size);

    memset(mem, 0xa5, size);   /* garbage, as shared memory may hold */
    return md_stats_init(mem, size);
}

static json_int_t field(const json_t *list, size_t i, const char *key)
{
    return json_integer_value(json_object_get(json_array_get(list, i), key));
}

static const char *url_at(const json_t *list, size_t i)
{
    return json_string_value(json_object_get(json_array_get(list, i), MD_KEY_URL));
}

static void test_counts_per_ca(void **state)
{
    apr_pool_t *p = *state;
    md_stats_t *stats = fresh(p);
    json_t *list;

    assert_non_null(stats);
    assert_int_equal(md_stats_add_ca(stats, "https://a.test/dir"), APR_SUCCESS);
    assert_int_equal(md_stats_add_ca(stats, "https://b.test/dir"), APR_SUCCESS);
    assert_int_equal(md_stats_add_ca(stats, "https://a.test/dir"), APR_SUCCESS);
    md_stats_count(stats, "https://a.test/dir", 0);
    md_stats_count(stats, "https://a.test/dir", 1);
    md_stats_count(stats, "https://a.test/dir", 0);
    md_stats_count(stats, "https://b.test/dir", 1);

    list = md_json_pool_own(p, md_stats_to_json(stats));
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(url_at(list, 0), "https://a.test/dir");
    assert_int_equal(field(list, 0, MD_KEY_REQUESTS), 3);
    assert_int_equal(field(list, 0, MD_KEY_FAILURES), 1);
    assert_string_equal(url_at(list, 1), "https://b.test/dir");
    assert_int_equal(field(list, 1, MD_KEY_REQUESTS), 1);
    assert_int_equal(field(list, 1, MD_KEY_FAILURES), 1);
}

static void test_unknown_ca_counts_as_other(void **state)
{
    apr_pool_t *p = *state;
    md_stats_t *stats = fresh(p);
    json_t *list;

    md_stats_add_ca(stats, "https://a.test/dir");
    list = md_json_pool_own(p, md_stats_to_json(stats));
    assert_int_equal(json_array_size(list), 1);   /* "other" only once used */

    md_stats_count(stats, "https://unknown.test/dir", 1);
    md_stats_count(stats, NULL, 0);
    list = md_json_pool_own(p, md_stats_to_json(stats));
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(url_at(list, 1), MD_STATS_OTHER);
    assert_int_equal(field(list, 1, MD_KEY_REQUESTS), 2);
    assert_int_equal(field(list, 1, MD_KEY_FAILURES), 1);
    assert_int_equal(field(list, 0, MD_KEY_REQUESTS), 0);
}

static void test_reinit_keeps_counts(void **state)
{
    apr_pool_t *p = *state;
    apr_size_t size = md_stats_size();
    void *mem = apr_pcalloc(p, size);
    md_stats_t *stats = md_stats_init(mem, size);
    json_t *list;

    md_stats_add_ca(stats, "https://a.test/dir");
    md_stats_count(stats, "https://a.test/dir", 0);
    /* a restarted config cycle initializes the same memory again */
    stats = md_stats_init(mem, size);
    md_stats_add_ca(stats, "https://a.test/dir");
    md_stats_add_ca(stats, "https://new.test/dir");
    md_stats_count(stats, "https://a.test/dir", 0);
    list = md_json_pool_own(p, md_stats_to_json(stats));
    assert_int_equal(json_array_size(list), 2);
    assert_int_equal(field(list, 0, MD_KEY_REQUESTS), 2);
    assert_string_equal(url_at(list, 1), "https://new.test/dir");
}

static void test_bounds(void **state)
{
    apr_pool_t *p = *state;
    md_stats_t *stats = fresh(p);
    char *longurl = apr_palloc(p, MD_STATS_URL_MAX + 1);
    int i;

    assert_null(md_stats_init(apr_palloc(p, 16), 16));
    assert_int_equal(md_stats_add_ca(stats, ""), APR_EINVAL);
    assert_int_equal(md_stats_add_ca(stats, NULL), APR_EINVAL);
    memset(longurl, 'x', MD_STATS_URL_MAX);
    longurl[MD_STATS_URL_MAX] = '\0';
    assert_int_equal(md_stats_add_ca(stats, longurl), APR_EINVAL);
    for (i = 0; i < MD_STATS_CA_MAX; ++i) {
        assert_int_equal(md_stats_add_ca(stats, apr_psprintf(p, "https://ca%d.test/", i)),
                         APR_SUCCESS);
    }
    assert_int_equal(md_stats_add_ca(stats, "https://one-too-many.test/"), APR_ENOSPC);
    md_stats_count(stats, "https://one-too-many.test/", 0);
    md_stats_count(NULL, "https://ca0.test/", 0);   /* no table: nothing happens */
    assert_int_equal(json_array_size(md_json_pool_own(p, md_stats_to_json(stats))),
                     MD_STATS_CA_MAX + 1);
}

#define THREADS     8
#define PER_THREAD  20000

static void *APR_THREAD_FUNC count_many(apr_thread_t *t, void *data)
{
    md_stats_t *stats = data;
    int i;

    for (i = 0; i < PER_THREAD; ++i) {
        md_stats_count(stats, "https://a.test/dir", i % 4 == 0);
    }
    (void)t;
    return NULL;   /* not apr_thread_exit: pthread_exit unwinding upsets ASan */
}

static void test_threads_lose_no_count(void **state)
{
    apr_pool_t *p = *state;
    md_stats_t *stats = fresh(p);
    apr_thread_t *threads[THREADS];
    apr_status_t trv;
    json_t *list;
    int i;

    md_stats_add_ca(stats, "https://a.test/dir");
    for (i = 0; i < THREADS; ++i) {
        assert_int_equal(apr_thread_create(&threads[i], NULL, count_many, stats, p),
                         APR_SUCCESS);
    }
    for (i = 0; i < THREADS; ++i) {
        apr_thread_join(&trv, threads[i]);
    }
    list = md_json_pool_own(p, md_stats_to_json(stats));
    assert_int_equal(field(list, 0, MD_KEY_REQUESTS), THREADS * PER_THREAD);
    assert_int_equal(field(list, 0, MD_KEY_FAILURES), THREADS * PER_THREAD / 4);
}

static void test_current(void **state)
{
    apr_pool_t *p = *state;
    md_stats_t *stats = fresh(p);

    assert_null(md_stats_current());
    md_stats_use(stats);
    assert_ptr_equal(md_stats_current(), stats);
    md_stats_use(NULL);
    assert_null(md_stats_current());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_counts_per_ca),
        UNIT_TEST(test_unknown_ca_counts_as_other),
        UNIT_TEST(test_reinit_keeps_counts),
        UNIT_TEST(test_bounds),
        UNIT_TEST(test_threads_lose_no_count),
        UNIT_TEST(test_current),
    };
    return UNIT_RUN(tests);
}
