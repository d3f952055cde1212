/* OCSP stapling on a store shared by a cluster (PostgreSQL, see unit_pg.h):
 * one server asks the responder for an MD's certificates, under the lease
 * "@ocsp/<md>", and saves the response in the shared store; the others
 * take it from there instead of asking too. The PKI, the mock responder
 * (counting requests) and the registry fixture are test_md_ocsp.c's. */
#define TEST_MD_OCSP_NO_MAIN
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "test_md_ocsp.c"
#pragma GCC diagnostic pop

#include "unit_pg.h"

/* Node `name`'s registry on the shared store, with its own shared memory
 * for its children (gens). */
static md_ocsp_reg_t *node_reg(rfix_t *f, md_store_t *store, unsigned int *gens, apr_pool_t *p)
{
    rfix_t node = *f;

    node.store = store;
    return new_reg(&node, gens, p);
}

static void test_one_node_asks(void **state)
{
    apr_pool_t *p = *state;
    md_store_t *a = unit_pg_open_node("a", p);
    md_store_t *b = unit_pg_open_peer("b", "a", p);
    md_store_t *c = unit_pg_open_peer("c", "a", p);
    unsigned int gens_a[4] = { 0 };
    unsigned int gens_b[4] = { 0 };
    md_store_lease_t *held = NULL;
    md_ocsp_reg_t *ra;
    md_ocsp_reg_t *rb;
    apr_time_t now = apr_time_now();
    apr_time_t next_a;
    apr_time_t next_b;
    apr_time_t later;
    rfix_t f;

    rfixture(&f, p);
    f.responder.validity = 3600;
    ra = node_reg(&f, a, gens_a, p);
    rb = node_reg(&f, b, gens_b, p);

    /* a asks for both certificates (a.test's and an "other" one) */
    next_a = md_ocsp_reg_renew(ra, f.http, NULL, NULL, now, p);
    assert_int_equal(f.responder.calls, 2);
    /* b, due as well (it has nothing), takes them from the store */
    next_b = md_ocsp_reg_renew(rb, f.http, NULL, NULL, now, p);
    assert_int_equal(f.responder.calls, 2);
    assert_true(staple_len(rb, f.key1, now) > 0);
    assert_true(staple_len(rb, f.key2, now) > 0);
    assert_true(next_b > now + apr_time_from_sec(2400));
    assert_true(next_b <= next_a + apr_time_from_sec(1));
    /* its children are told to read it */
    assert_true(gens_b[0] + gens_b[1] >= 2);

    /* Both due again by then (b's time may be up to a second after a's:
     * the responses' times are in seconds, taken as the clock moved on). */
    later = (next_b > next_a ? next_b : next_a) + 1;
    /* The responder answers as it would then. */
    f.responder.clock = (long)apr_time_sec(later - apr_time_now());

    /* Another server (c) is asking for a.test's right now: b leaves a.test
     * to it and asks only for the other certificate... */
    assert_int_equal(md_store_lease_acquire(c, "@ocsp/a.test", apr_time_from_sec(30), &held, p),
                     APR_SUCCESS);
    next_b = md_ocsp_reg_renew(rb, f.http, NULL, NULL, later, p);
    assert_int_equal(f.responder.calls, 3);
    /* ...and looks again shortly */
    assert_true(next_b <= later + apr_time_from_sec(10));
    assert_int_equal(md_store_lease_release(c, held, p), APR_SUCCESS);
    /* c is gone without saving anything: b asks itself */
    md_ocsp_reg_renew(rb, f.http, NULL, NULL, later + 1, p);
    assert_int_equal(f.responder.calls, 4);
    /* and a, due too, takes b's responses */
    md_ocsp_reg_renew(ra, f.http, NULL, NULL, later + 2, p);
    assert_int_equal(f.responder.calls, 4);
    assert_true(staple_len(ra, f.key1, later + 2) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_node_asks, unit_pg_setup, unit_pool_teardown),
    };

    apr_initialize();
    return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
