/*
 * check_trashcan.c -- deep deallocation in bounded stack.  A broken
 * trashcan shows up as a crash (stack overflow) or as a dealloc nesting
 * depth far beyond CGC_TRASHCAN_DEPTH.
 */
#include "testhost.h"

#include <check.h>
#include <stdlib.h>

enum { BIG = 1000000 };

/* Nesting of the host's dealloc may reach the trashcan depth once for the
   outermost chain and once more while the deferred ones are drained. */
#define DEPTH_BOUND (3 * CGC_TRASHCAN_DEPTH + 8)

/* A chain of n one-slot nodes hanging off `from` (slot `slot`); returns the
   last node.  The chain holds the only references. */
static th_node *chain(th_heap *t, th_node *from, size_t slot, size_t n)
{
    th_node *prev = from;
    for (size_t i = 0; i < n; i++) {
        th_node *x = th_new(t, TH_PLAIN, 1);
        th_link(prev, i == 0 ? slot : 0, x);
        th_decref(x);
        prev = x;
    }
    return prev;
}

START_TEST(test_big_ring)
{
    th_heap *t = th_quiet_heap(0);
    th_node *first = th_ring(t, TH_PLAIN, BIG, NULL);
    th_decref(first);
    ck_assert_int_eq(t->live, BIG);
    ck_assert_int_eq(cgc_collect(t->h, 2), BIG);
    ck_assert_int_eq(t->live, 0);
    ck_assert_int_eq(t->deallocs, BIG);
    ck_assert_msg(t->max_dealloc_depth <= DEPTH_BOUND, "dealloc nested %ld deep",
                  t->max_dealloc_depth);
    ck_assert_uint_eq(th_gen_count(t, -1), 0);
    th_heap_free(t);
}
END_TEST

START_TEST(test_chain_off_self_cycle)
{
    th_heap *t = th_quiet_heap(0);
    th_node *s = th_new(t, TH_FINALIZER, 2);
    th_link(s, 0, s);
    chain(t, s, 1, BIG);
    th_decref(s);
    ck_assert_int_eq(cgc_collect(t->h, 2), BIG + 1);
    ck_assert_int_eq(t->live, 0);
    ck_assert_msg(t->max_dealloc_depth <= DEPTH_BOUND, "dealloc nested %ld deep",
                  t->max_dealloc_depth);
    th_heap_free(t);
}
END_TEST

/* No collection at all: dropping the head frees the whole chain. */
START_TEST(test_chain_decref)
{
    th_heap *t = th_quiet_heap(0);
    th_node *head = th_new(t, TH_PLAIN, 1);
    chain(t, head, 0, BIG);
    ck_assert_int_eq(t->live, BIG + 1);
    th_decref(head);
    ck_assert_int_eq(t->live, 0);
    ck_assert_int_eq(t->deallocs, BIG + 1);
    ck_assert_msg(t->max_dealloc_depth <= DEPTH_BOUND, "dealloc nested %ld deep",
                  t->max_dealloc_depth);
    ck_assert_uint_eq(th_gen_count(t, -1), 0);
    th_heap_free(t);
}
END_TEST

/* A wide and deep tree (binary fan-out near the root, long tails): the
   deferred objects themselves have children to defer. */
START_TEST(test_tree_decref)
{
    th_heap *t = th_quiet_heap(0);
    th_node *root = th_new(t, TH_PLAIN, 2);
    size_t expect = 1;
    th_node *level[64];
    size_t nlevel = 1;
    level[0] = root;
    for (int d = 0; d < 5; d++) {           /* 2^5 = 32 leaves */
        th_node *next[64];
        size_t nn = 0;
        for (size_t i = 0; i < nlevel; i++) {
            for (size_t s = 0; s < 2; s++) {
                th_node *c = th_new(t, TH_PLAIN, 2);
                th_link(level[i], s, c);
                th_decref(c);
                next[nn++] = c;
                expect++;
            }
        }
        for (size_t i = 0; i < nn; i++)
            level[i] = next[i];
        nlevel = nn;
    }
    for (size_t i = 0; i < nlevel; i++) {
        chain(t, level[i], 0, 20000);
        expect += 20000;
    }
    ck_assert_int_eq(t->live, (long)expect);
    th_decref(root);
    ck_assert_int_eq(t->live, 0);
    ck_assert_msg(t->max_dealloc_depth <= DEPTH_BOUND, "dealloc nested %ld deep",
                  t->max_dealloc_depth);
    th_heap_free(t);
}
END_TEST

/* With the host allocator too, and a 4-byte count. */
START_TEST(test_ring_host_alloc_width4)
{
    th_heap *t = th_quiet_heap(TH_F_HOST_ALLOC | TH_F_WIDTH4);
    long live0 = t->al_live;
    th_node *first = th_ring(t, TH_FINALIZER, 200000, NULL);
    th_decref(first);
    ck_assert_int_eq(cgc_collect(t->h, 2), 200000);
    ck_assert_int_eq(t->live, 0);
    ck_assert_int_eq(t->al_live, live0);
    ck_assert_msg(t->max_dealloc_depth <= DEPTH_BOUND, "dealloc nested %ld deep",
                  t->max_dealloc_depth);
    th_heap_free(t);
}
END_TEST

/* Deferred objects are untracked at once and come back through
   ops->dealloc; a trashcan-deferred object is never seen by get_objects
   (checked by the host: dealloc asserts count 0, magic intact). */
START_TEST(test_short_chain_no_deferral)
{
    th_heap *t = th_quiet_heap(0);
    th_node *head = th_new(t, TH_PLAIN, 1);
    chain(t, head, 0, CGC_TRASHCAN_DEPTH / 2);
    th_decref(head);
    ck_assert_int_eq(t->live, 0);
    ck_assert_int_eq(t->max_dealloc_depth, CGC_TRASHCAN_DEPTH / 2 + 1);
    th_heap_free(t);
}
END_TEST

/* Without ops->dealloc, begin always says "go on" (no deferral): a chain of
   moderate length is still freed, recursively. */
START_TEST(test_no_dealloc_op)
{
    th_heap *t = th_quiet_heap(TH_F_NO_DEALLOC);
    th_node *head = th_new(t, TH_PLAIN, 1);
    chain(t, head, 0, 2000);
    th_decref(head);
    ck_assert_int_eq(t->live, 0);
    ck_assert_int_eq(t->max_dealloc_depth, 2001);
    th_heap_free(t);
}
END_TEST

START_TEST(test_trashcan_null)
{
    th_heap *t = th_quiet_heap(0);
    th_node *n = th_new(t, TH_PLAIN, 0);
    /* nothing can be queued without a heap or an object */
    ck_assert_int_ne(cgc_trashcan_begin(NULL, n), 0);
    cgc_trashcan_end(NULL);
    ck_assert_int_ne(cgc_trashcan_begin(t->h, NULL), 0);
    cgc_trashcan_end(t->h);
    ck_assert_int_eq(cgc_is_tracked(n), 1);
    /* the heap's trashcan still works afterwards */
    th_node *head = th_new(t, TH_PLAIN, 1);
    chain(t, head, 0, 100000);
    th_decref(head);
    ck_assert_int_eq(t->live, 1);
    ck_assert(t->max_dealloc_depth <= DEPTH_BOUND);
    th_decref(n);
    th_heap_free(t);
}
END_TEST

/* A deep chain freed from inside a finalizer during a collection. */
static th_node *fin_chain_head;
static void drop_chain_hook(th_heap *t, th_node *n)
{
    (void)t;
    (void)n;
    if (fin_chain_head != NULL) {
        th_node *h = fin_chain_head;
        fin_chain_head = NULL;
        th_decref(h);
    }
}

START_TEST(test_chain_freed_in_finalizer)
{
    th_heap *t = th_quiet_heap(0);
    fin_chain_head = th_new(t, TH_PLAIN, 1);
    chain(t, fin_chain_head, 0, 300000);
    th_node *s = th_new(t, TH_FINALIZER, 1);
    th_link(s, 0, s);
    th_decref(s);
    t->on_finalize = drop_chain_hook;
    ck_assert_int_eq(cgc_collect(t->h, 0), 1);
    ck_assert_int_eq(t->live, 0);
    ck_assert(t->max_dealloc_depth <= DEPTH_BOUND);
    th_heap_free(t);
}
END_TEST

static Suite *trashcan_suite(void)
{
    Suite *s = suite_create("trashcan");
    TCase *tc = tcase_create("deep");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_big_ring);
    tcase_add_test(tc, test_chain_off_self_cycle);
    tcase_add_test(tc, test_chain_decref);
    tcase_add_test(tc, test_tree_decref);
    tcase_add_test(tc, test_ring_host_alloc_width4);
    tcase_add_test(tc, test_chain_freed_in_finalizer);
    suite_add_tcase(s, tc);

    tc = tcase_create("api");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_short_chain_no_deferral);
    tcase_add_test(tc, test_no_dealloc_op);
    tcase_add_test(tc, test_trashcan_null);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(trashcan_suite());
}
