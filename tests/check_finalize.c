/*
 * check_finalize.c -- PEP 442 finalization: finalizers run once, may
 * resurrect, and may do anything (collect, allocate, untrack, free, freeze)
 * without making the collector inconsistent.
 */
#include "testhost.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static th_node *self_cycle(th_heap *t, int kind)
{
    th_node *n = th_new(t, kind, 1);
    th_link(n, 0, n);
    return n;
}

static void check_consistent(th_heap *t)
{
    th_check_consistent(t);
}

/* ------------------------------------------------------------------ */
/* Once per object; is_finalized                                       */
/* ------------------------------------------------------------------ */

/* test_resurrection_only_happens_once_per_object */
START_TEST(test_resurrect_once)
{
    th_heap *t = th_quiet_heap(0);
    th_node *r = self_cycle(t, TH_RESURRECT);
    size_t id = r->id;
    th_decref(r);
    ck_assert_int_eq(cgc_is_finalized(r), 0);
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    ck_assert(th_alive(t, id));
    ck_assert_uint_eq(t->nres, 1);
    ck_assert_ptr_eq(t->res[0], r);
    ck_assert_int_eq(th_record(t, id)->finalized, 1);
    ck_assert_int_eq(th_record(t, id)->cleared, 0);
    ck_assert_int_eq(cgc_is_finalized(r), 1);
    ck_assert_int_eq(cgc_is_tracked(r), 1);
    ck_assert_ptr_eq(r->slots[0], r);
    ck_assert_int_eq(th_refcnt(r), 2);       /* self + resurrection list */
    /* Still referenced: nothing to do. */
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    ck_assert_int_eq(th_record(t, id)->finalized, 1);
    /* Drop it: collected, the finalizer does not run again. */
    ck_assert_uint_eq(th_drop_resurrected(t), 1);
    ck_assert(th_alive(t, id));
    ck_assert_int_eq(cgc_collect(t->h, 2), 1);
    ck_assert(!th_alive(t, id));
    ck_assert_int_eq(th_record(t, id)->finalized, 1);
    ck_assert_int_eq(t->finalize_calls, 1);
    ck_assert_uint_eq(t->nres, 0);
    th_heap_free(t);
}
END_TEST

START_TEST(test_is_finalized)
{
    th_heap *t = th_quiet_heap(0);
    th_node *keep = self_cycle(t, TH_FINALIZER);
    th_node *r = self_cycle(t, TH_RESURRECT);
    th_node *u = th_new_untracked(t, TH_PLAIN, 0);
    ck_assert_int_eq(cgc_is_finalized(NULL), 0);
    ck_assert_int_eq(cgc_is_finalized(u), 0);
    th_decref(r);
    ck_assert_int_eq(cgc_is_finalized(r), 0);
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    ck_assert_int_eq(cgc_is_finalized(keep), 0);     /* reachable: never finalized */
    ck_assert_int_eq(cgc_is_finalized(r), 1);
    /* The flag stays across untrack and track. */
    cgc_untrack(t->h, r);
    ck_assert_int_eq(cgc_is_finalized(r), 1);
    ck_assert_int_eq(cgc_track(t->h, r), CGC_OK);
    ck_assert_int_eq(cgc_is_finalized(r), 1);
    size_t rid = r->id;
    th_drop_resurrected(t);
    ck_assert_int_eq(cgc_collect(t->h, 2), 1);
    ck_assert(!th_alive(t, rid));
    ck_assert_int_eq(th_record(t, rid)->finalized, 1);
    ck_assert_int_eq(th_record(t, keep->id)->finalized, 0);
    th_heap_free(t);
}
END_TEST

/* test_resurrection_is_transitive: Lazarus <-> Cargo. */
START_TEST(test_resurrection_transitive)
{
    th_heap *t = th_quiet_heap(0);
    th_node *laz = th_new(t, TH_RESURRECT, 1), *cargo = th_new(t, TH_PLAIN, 2);
    th_node *leaf = th_new_untracked(t, TH_PLAIN, 0);
    size_t il = laz->id, ic = cargo->id, ileaf = leaf->id;
    th_link(laz, 0, cargo);
    th_link(cargo, 0, laz);
    th_link(cargo, 1, leaf);
    th_decref(leaf);
    th_decref(laz);
    th_decref(cargo);
    cgc_gen_stats s0 = th_stats(t, 0);
    ck_assert_int_eq(cgc_collect(t->h, 0), 0);
    cgc_gen_stats s1 = th_stats(t, 0);
    ck_assert_uint_eq(s1.collected, s0.collected);
    ck_assert_uint_eq(s1.uncollectable, s0.uncollectable);
    ck_assert(th_alive(t, il) && th_alive(t, ic) && th_alive(t, ileaf));
    ck_assert_ptr_eq(laz->slots[0], cargo);
    ck_assert_ptr_eq(cargo->slots[0], laz);
    ck_assert_ptr_eq(cargo->slots[1], leaf);
    ck_assert_int_eq(th_record(t, il)->cleared + th_record(t, ic)->cleared, 0);
    ck_assert_int_eq(th_record(t, il)->finalized, 1);
    ck_assert_int_eq(th_record(t, ic)->finalized, 1);
    ck_assert_int_eq(th_refcnt(laz), 2);
    ck_assert_int_eq(th_refcnt(cargo), 1);
    /* moved on to the next generation, like other survivors */
    ck_assert_int_eq(th_gen_of(t, laz), 1);
    ck_assert_int_eq(th_gen_of(t, cargo), 1);
    th_drop_resurrected(t);
    ck_assert_int_eq(cgc_collect(t->h, 0), 0);      /* they are in generation 1 now */
    ck_assert(th_alive(t, il) && th_alive(t, ic));
    ck_assert_int_eq(cgc_collect(t->h, 1), 2);
    ck_assert(!th_alive(t, il) && !th_alive(t, ic) && !th_alive(t, ileaf));
    ck_assert_int_eq(t->finalize_calls, 2);
    th_heap_free(t);
}
END_TEST

/* test_resurrection_does_not_block_cleanup_of_other_objects */
START_TEST(test_resurrection_does_not_block_others)
{
    enum { N = 100 };
    th_heap *t = th_quiet_heap(0);
    for (int i = 0; i < N; i++)
        th_decref(self_cycle(t, i % 2 ? TH_FINALIZER : TH_PLAIN));
    cgc_gen_stats s0 = th_stats(t, 2);
    ck_assert_int_eq(cgc_collect(t->h, 2), N);
    cgc_gen_stats s1 = th_stats(t, 2);
    ck_assert_uint_eq(s1.collected - s0.collected, N);
    ck_assert_int_eq(t->live, 0);

    th_node *z1 = self_cycle(t, TH_RESURRECT);
    size_t z1id = z1->id;
    th_decref(z1);
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    cgc_gen_stats s2 = th_stats(t, 2);
    ck_assert_uint_eq(s2.collected, s1.collected);
    ck_assert_uint_eq(s2.uncollectable, s1.uncollectable);
    ck_assert_int_eq(t->live, 1);

    for (int i = 0; i < N; i++)
        th_decref(self_cycle(t, TH_FINALIZER));
    th_node *z2 = self_cycle(t, TH_RESURRECT);
    size_t z2id = z2->id;
    th_decref(z2);
    ck_assert_int_eq(cgc_collect(t->h, 2), N);
    ck_assert_int_eq(t->live, 2);
    ck_assert_uint_eq(t->nres, 2);
    ck_assert_uint_eq(th_stats(t, 2).collected - s2.collected, N);

    ck_assert_uint_eq(th_drop_resurrected(t), 2);
    ck_assert_int_eq(cgc_collect(t->h, 2), 2);
    ck_assert_int_eq(t->live, 0);
    ck_assert_uint_eq(t->nres, 0);
    ck_assert_int_eq(th_record(t, z1id)->finalized, 1);
    ck_assert_int_eq(th_record(t, z2id)->finalized, 1);
    th_heap_free(t);
}
END_TEST

/* A finalizer that resurrects a node of a different cycle saves that cycle
   (transitively) and nothing else. */
static th_node *rescue_target, *rescued;
static void rescue_hook(th_heap *t, th_node *n)
{
    (void)t;
    if (n->user == (void *)1 && rescued == NULL) {
        rescued = rescue_target;
        th_incref(rescued);
    }
}

START_TEST(test_resurrect_other_cycle)
{
    th_heap *t = th_quiet_heap(0);
    size_t ids1[7], ids2[5];
    th_node *r1 = th_ring(t, TH_FINALIZER, 7, ids1);
    th_node *r2 = th_ring(t, TH_PLAIN, 5, ids2);
    r1->user = (void *)1;
    rescue_target = r2->slots[0]->slots[0];
    t->on_finalize = rescue_hook;
    th_decref(r1);
    th_decref(r2);
    ck_assert_int_eq(cgc_collect(t->h, 2), 7);
    ck_assert_ptr_nonnull(rescued);
    for (int i = 0; i < 7; i++)
        ck_assert(!th_alive(t, ids1[i]));
    th_node *n = rescued;
    for (int i = 0; i < 5; i++, n = n->slots[0]) {
        const th_rec *r = th_record(t, n->id);
        ck_assert(r->alive);
        ck_assert_int_eq(r->cleared, 0);
        ck_assert_int_eq(r->finalized, 1);
    }
    ck_assert_ptr_eq(n, rescued);
    ck_assert_int_eq(th_refcnt(rescued), 2);
    th_decref(rescued);
    ck_assert_int_eq(cgc_collect(t->h, 2), 5);
    ck_assert_int_eq(t->live, 0);
    ck_assert_int_eq(t->finalize_calls, 12);
    th_heap_free(t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Order: clear_weakrefs, then finalize, then clear                    */
/* ------------------------------------------------------------------ */

static void build_mixed_garbage(th_heap *t, size_t *ids, size_t *n, size_t *expect)
{
    *n = 0;
    *expect = 0;
    for (int i = 0; i < 30; i++) {
        size_t k = (size_t)(i % 6) + 1;
        int kind = (i % 10 == 9) ? TH_RESURRECT : (i % 2 ? TH_FINALIZER : TH_PLAIN);
        th_node *r = th_ring(t, kind, k, ids + *n);
        *n += k;
        if (kind != TH_RESURRECT)
            *expect += k;
        th_decref(r);
    }
}

START_TEST(test_order_weakrefs_finalize_clear)
{
    th_heap *t = th_quiet_heap(0);
    size_t ids[200], n, expect;
    build_mixed_garbage(t, ids, &n, &expect);
    ck_assert_int_eq(cgc_collect(t->h, 2), (long)expect);
    uint32_t max_w = 0, min_f = UINT32_MAX, max_f = 0, min_c = UINT32_MAX;
    size_t cleared = 0;
    for (size_t i = 0; i < n; i++) {
        const th_rec *r = th_record(t, ids[i]);
        ck_assert_msg(r->weakrefs == 1, "node#%zu: clear_weakrefs called %d times",
                      ids[i], r->weakrefs);
        ck_assert_msg(r->finalized == 1, "node#%zu: finalize called %d times",
                      ids[i], r->finalized);
        ck_assert(r->cleared <= 1);
        if (r->seq_weakref > max_w)
            max_w = r->seq_weakref;
        if (r->seq_finalize < min_f)
            min_f = r->seq_finalize;
        if (r->seq_finalize > max_f)
            max_f = r->seq_finalize;
        if (r->cleared) {
            cleared++;
            if (r->seq_clear < min_c)
                min_c = r->seq_clear;
        }
        if (r->kind == TH_RESURRECT)
            ck_assert_int_eq(r->cleared, 0);
    }
    ck_assert(cleared > 0);
    ck_assert_msg(max_w < min_f, "a finalizer ran before clear_weakrefs was done");
    ck_assert_msg(max_f < min_c, "clear ran before every finalizer was done");
    th_heap_free(t);
}
END_TEST

/* finalize and clear are called with a reference held by the collector. */
START_TEST(test_reference_held_during_calls)
{
    th_heap *t = th_quiet_heap(0);
    size_t ids[200], n, expect;
    build_mixed_garbage(t, ids, &n, &expect);
    ck_assert_int_eq(cgc_collect(t->h, 2), (long)expect);
    ck_assert(t->clear_calls > 0);
    ck_assert_msg(t->min_rc_in_clear >= 2, "clear saw a count of %lld",
                  (long long)t->min_rc_in_clear);
    ck_assert_msg(t->min_rc_in_finalize >= 2, "finalize saw a count of %lld",
                  (long long)t->min_rc_in_finalize);
    /* and gave it back: the resurrected ones hold exactly ring + list refs */
    for (size_t i = 0; i < t->nres; i++)
        ck_assert_int_eq(th_refcnt(t->res[i]), 2);
    th_heap_free(t);
}
END_TEST

/* The same on a heap with a 4-byte count. */
START_TEST(test_reference_held_width4)
{
    th_heap *t = th_quiet_heap(TH_F_WIDTH4);
    size_t ids[200], n, expect;
    build_mixed_garbage(t, ids, &n, &expect);
    ck_assert_int_eq(cgc_collect(t->h, 2), (long)expect);
    ck_assert(t->min_rc_in_clear >= 2);
    ck_assert(t->min_rc_in_finalize >= 2);
    for (size_t i = 0; i < t->nres; i++)
        ck_assert_int_eq(th_refcnt(t->res[i]), 2);
    size_t nres = th_drop_resurrected(t);
    ck_assert_int_eq(cgc_collect(t->h, 2), (long)(n - expect));
    ck_assert(nres > 0);
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Re-entrancy from finalizers                                         */
/* ------------------------------------------------------------------ */

static long nested_collect = -99, nested_pending = -99;
static int nested_collecting = -1;
static void collect_hook(th_heap *t, th_node *n)
{
    (void)n;
    nested_collect = cgc_collect(t->h, 2);
    nested_pending = cgc_collect_if_pending(t->h);
    nested_collecting = cgc_is_collecting(t->h);
}

START_TEST(test_finalizer_collects)
{
    th_heap *t = th_quiet_heap(0);
    t->on_finalize = collect_hook;
    th_node *keep = th_ring(t, TH_PLAIN, 3, NULL);
    th_decref(th_ring(t, TH_FINALIZER, 4, NULL));
    cgc_request_collection(t->h);
    ck_assert_int_eq(cgc_collect(t->h, 2), 4);
    ck_assert_int_eq(nested_collect, 0);
    ck_assert_int_eq(nested_pending, 0);
    ck_assert_int_eq(nested_collecting, 1);
    ck_assert_int_eq(cgc_is_collecting(t->h), 0);
    ck_assert_int_eq(t->live, 3);
    /* still usable */
    t->on_finalize = NULL;
    th_decref(keep);
    ck_assert_int_eq(cgc_collect(t->h, 2), 3);
    th_heap_free(t);
}
END_TEST

/* A finalizer that allocates: new held nodes and a new garbage cycle land
   in generation 0, survive this collection and the cycle is found by the
   next one. */
static th_node *made[16];
static size_t nmade;
static void alloc_hook(th_heap *t, th_node *n)
{
    (void)n;
    if (nmade + 2 > 16)
        return;
    th_node *keep = th_new(t, TH_PLAIN, 1);
    made[nmade++] = keep;
    th_node *cyc = th_new(t, TH_FINALIZER, 1);
    th_link(cyc, 0, cyc);
    made[nmade++] = cyc;
    th_decref(cyc);                 /* garbage, but born during the collection */
}

START_TEST(test_finalizer_allocates)
{
    th_heap *t = th_quiet_heap(0);
    t->on_finalize = alloc_hook;
    th_decref(th_ring(t, TH_FINALIZER, 3, NULL));     /* 3 finalizers -> 6 new nodes */
    ck_assert_int_eq(cgc_collect(t->h, 2), 3);
    t->on_finalize = NULL;
    ck_assert_uint_eq(nmade, 6);
    for (size_t i = 0; i < nmade; i++) {
        ck_assert(th_alive(t, made[i]->id));
        ck_assert_msg(th_gen_of(t, made[i]) == 0, "new node in generation %d",
                      th_gen_of(t, made[i]));
        ck_assert_int_eq(th_record(t, made[i]->id)->finalized, 0);
    }
    size_t made_ids[16];
    for (size_t i = 0; i < nmade; i++)
        made_ids[i] = made[i]->id;
    ck_assert_int_eq(cgc_collect(t->h, 0), 3);
    for (size_t i = 0; i < nmade; i++)
        ck_assert_int_eq(th_alive(t, made_ids[i]), i % 2 == 0);
    for (size_t i = 0; i < nmade; i += 2)
        th_decref(made[i]);
    ck_assert_int_eq(t->live, 0);
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    th_heap_free(t);
}
END_TEST

/* A finalizer untracks a peer of its own cycle.  The peer's reference now
   looks external, so the others are treated as resurrected (as CPython), or
   the whole cycle goes; never only a part of it. */
static void untrack_peer_hook(th_heap *t, th_node *n)
{
    if (n->user != NULL)
        cgc_untrack(t->h, n->user);
}

START_TEST(test_finalizer_untracks_peer)
{
    th_heap *t = th_quiet_heap(0);
    size_t ids[3];
    th_node *a = th_ring(t, TH_FINALIZER, 3, ids);
    th_node *b = a->slots[0];
    a->user = b;
    t->on_finalize = untrack_peer_hook;
    th_decref(a);
    long n = cgc_collect(t->h, 2);
    t->on_finalize = NULL;
    int alive = th_alive(t, ids[0]) + th_alive(t, ids[1]) + th_alive(t, ids[2]);
    ck_assert_msg(alive == 0 || alive == 3, "%d of 3 survived", alive);
    ck_assert(n >= 0 && n <= 3);
    check_consistent(t);
    if (alive == 3) {
        ck_assert_int_eq(n, 0);
        ck_assert_int_eq(cgc_is_tracked(b), 0);
        ck_assert_uint_eq(th_gen_count(t, -1), 2);
        ck_assert_int_eq(th_record(t, ids[0])->cleared + th_record(t, ids[2])->cleared, 0);
        /* Track it again: the whole cycle is found, no second finalization. */
        ck_assert_int_eq(cgc_track(t->h, b), CGC_OK);
        ck_assert_int_eq(cgc_collect(t->h, 2), 3);
    }
    for (int i = 0; i < 3; i++) {
        ck_assert(!th_alive(t, ids[i]));
        ck_assert(th_record(t, ids[i])->finalized <= 1);
    }
    ck_assert_int_eq(th_record(t, ids[0])->finalized, 1);
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    ck_assert_uint_eq(th_gen_count(t, -1), 0);
    th_heap_free(t);
}
END_TEST

/* A finalizer frees two peers of its cycle (by dropping its link). */
static void drop_link_hook(th_heap *t, th_node *n)
{
    (void)t;
    if (n->user != NULL) {
        n->user = NULL;
        th_link(n, 0, NULL);
    }
}

static void run_drop_link(size_t k, int extra_garbage)
{
    th_heap *t = th_quiet_heap(0);
    size_t ids[8];
    th_node *a = th_ring(t, TH_FINALIZER, k, ids);
    a->user = a;
    t->on_finalize = drop_link_hook;
    th_node *keep = th_ring(t, TH_FINALIZER, 4, NULL);
    for (int i = 0; i < extra_garbage; i++)
        th_decref(th_ring(t, TH_PLAIN, 2, NULL));
    th_decref(a);
    cgc_gen_stats s0 = th_stats(t, 2);
    long n = cgc_collect(t->h, 2);
    cgc_gen_stats s1 = th_stats(t, 2);
    ck_assert_msg(n >= 2 * extra_garbage && n <= (long)k + 2 * extra_garbage,
                  "collect returned %ld", n);
    ck_assert_uint_eq(s1.collected + s1.uncollectable - s0.collected - s0.uncollectable,
                      (uint64_t)n);
    for (size_t i = 0; i < k; i++) {
        ck_assert(!th_alive(t, ids[i]));
        ck_assert(th_record(t, ids[i])->finalized <= 1);
    }
    ck_assert_int_eq(t->live, 4);
    ck_assert_int_eq(th_refcnt(keep), 2);
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    ck_assert_uint_eq(th_gen_count(t, -1), 4);
    th_decref(keep);
    ck_assert_int_eq(cgc_collect(t->h, 2), 4);
    ck_assert_uint_eq(th_gen_count(t, -1), 0);
    th_heap_free(t);
}

START_TEST(test_finalizer_frees_peers)
{
    run_drop_link(3, 3);
}
END_TEST

START_TEST(test_finalizer_breaks_cycle)
{
    run_drop_link(2, 0);
}
END_TEST

/* A finalizer frees a peer that is not referenced from its own cycle: the
   test holds a borrowed-then-owned reference that the finalizer drops. */
static th_node *victim;
static void free_victim_hook(th_heap *t, th_node *n)
{
    (void)t;
    (void)n;
    if (victim != NULL) {
        th_node *v = victim;
        victim = NULL;
        th_link(v, 0, NULL);     /* break the victim's self-cycle: it dies now */
    }
}

START_TEST(test_finalizer_frees_other_garbage)
{
    th_heap *t = th_quiet_heap(0);
    th_node *keep = self_cycle(t, TH_PLAIN);
    size_t ids[10];
    size_t nid = 0;
    for (int i = 0; i < 5; i++) {
        th_node *v = self_cycle(t, TH_FINALIZER);
        ids[nid++] = v->id;
        if (i == 3)
            victim = v;
        th_decref(v);
    }
    t->on_finalize = free_victim_hook;
    long n = cgc_collect(t->h, 2);
    ck_assert(n >= 4 && n <= 5);
    for (size_t i = 0; i < nid; i++)
        ck_assert(!th_alive(t, ids[i]));
    ck_assert_ptr_null(victim);
    ck_assert_int_eq(t->live, 1);
    ck_assert_int_eq(th_refcnt(keep), 2);
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    th_heap_free(t);
}
END_TEST

/* A finalizer that freezes the heap. */
static void freeze_hook(th_heap *t, th_node *n)
{
    if (n->user == (void *)2)
        cgc_freeze(t->h);
}

START_TEST(test_finalizer_freezes)
{
    enum { M = 20, K = 10 };
    th_heap *t = th_quiet_heap(0);
    th_node *held[M];
    for (int i = 0; i < M; i++)
        held[i] = th_new(t, TH_PLAIN, 1);
    ck_assert_int_eq(cgc_collect(t->h, 0), 0);
    for (int i = 0; i < K; i++)
        th_decref(self_cycle(t, TH_PLAIN));
    th_node *f = self_cycle(t, TH_FINALIZER);
    f->user = (void *)2;
    th_decref(f);
    t->on_finalize = freeze_hook;
    ck_assert_int_eq(cgc_collect(t->h, 2), K + 1);
    t->on_finalize = NULL;
    ck_assert_int_eq(t->live, M);
    size_t frozen = cgc_get_freeze_count(t->h), in_gens = th_gen_count(t, -1);
    ck_assert_uint_eq(frozen + in_gens, M);
    cgc_unfreeze(t->h);
    ck_assert_uint_eq(cgc_get_freeze_count(t->h), 0);
    ck_assert_uint_eq(th_gen_count(t, -1), M);
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    for (int i = 0; i < M; i++) {
        th_link(held[i], 0, held[i]);
        th_decref(held[i]);
    }
    ck_assert_int_eq(cgc_collect(t->h, 2), M);
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
}
END_TEST

/* A finalizer that changes the thresholds and toggles automatic collection:
   the new values stick. */
static void threshold_hook(th_heap *t, th_node *n)
{
    (void)n;
    ck_assert_int_eq(cgc_set_threshold(t->h, 17, 3, 4), CGC_OK);
    ck_assert_int_eq(cgc_set_threshold(t->h, -1, 3, 4), CGC_EINVAL);
    cgc_enable(t->h);
}

START_TEST(test_finalizer_sets_threshold)
{
    th_heap *t = th_quiet_heap(0);
    ck_assert_int_eq(cgc_is_enabled(t->h), 0);
    t->on_finalize = threshold_hook;
    th_decref(self_cycle(t, TH_FINALIZER));
    ck_assert_int_eq(cgc_collect(t->h, 1), 1);
    int th[3];
    cgc_get_threshold(t->h, th);
    ck_assert_int_eq(th[0], 17);
    ck_assert_int_eq(th[1], 3);
    ck_assert_int_eq(th[2], 4);
    ck_assert_int_eq(cgc_is_enabled(t->h), 1);
    th_heap_free(t);
}
END_TEST

/* A clear that resurrects: an object whose clear stores a reference to a
   peer that was already cleared is kept alive (and left consistent). */
static th_node *clear_saved;
static void clear_save_hook(th_heap *t, th_node *n)
{
    (void)t;
    if (clear_saved == NULL && n->user != NULL) {
        clear_saved = n;
        th_incref(n);
    }
}

START_TEST(test_clear_keeps_object)
{
    th_heap *t = th_quiet_heap(0);
    size_t ids[4];
    th_node *a = th_ring(t, TH_PLAIN, 4, ids);
    for (th_node *n = a->slots[0]; n != a; n = n->slots[0])
        n->user = n;
    a->user = a;
    t->on_clear = clear_save_hook;
    th_decref(a);
    long n = cgc_collect(t->h, 2);
    ck_assert(n >= 0 && n <= 4);
    ck_assert_ptr_nonnull(clear_saved);
    /* the saved node lost its slot (it was cleared) but is valid */
    ck_assert_int_eq(clear_saved->magic, TH_NODE_MAGIC);
    ck_assert_ptr_null(clear_saved->slots[0]);
    ck_assert_int_eq(th_refcnt(clear_saved), 1);
    ck_assert_int_eq(t->live, 1);
    ck_assert_int_eq(cgc_is_tracked(clear_saved), 1);
    ck_assert_uint_eq(th_gen_count(t, -1), 1);
    t->on_clear = NULL;
    th_decref(clear_saved);
    ck_assert_int_eq(t->live, 0);
    ck_assert_uint_eq(th_gen_count(t, -1), 0);
    th_heap_free(t);
}
END_TEST

/* Several rounds of mixed finalizer activity leave the collector able to
   find everything later. */
START_TEST(test_rounds_stay_consistent)
{
    th_heap *t = th_quiet_heap(0);
    t->on_finalize = alloc_hook;
    nmade = 0;
    long total_resurrect = 0;
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 20; i++) {
            int kind = i % 4 == 3 ? TH_RESURRECT : TH_FINALIZER;
            total_resurrect += kind == TH_RESURRECT ? 2 : 0;
            th_decref(th_ring(t, kind, 2, NULL));
        }
        cgc_collect(t->h, round % 3);
        check_consistent(t);
    }
    t->on_finalize = NULL;
    cgc_collect(t->h, 2);
    ck_assert_uint_eq(t->nres, (size_t)total_resurrect);
    th_drop_resurrected(t);
    for (size_t i = 0; i < nmade; i += 2)
        th_decref(made[i]);
    cgc_collect(t->h, 2);
    ck_assert_int_eq(t->live, 0);
    ck_assert_uint_eq(th_gen_count(t, -1), 0);
    for (size_t id = 1; id < t->nrecs; id++)
        ck_assert(th_record(t, id)->finalized <= 1);
    th_heap_free(t);
}
END_TEST

static Suite *finalize_suite(void)
{
    Suite *s = suite_create("finalize");
    TCase *tc = tcase_create("pep442");
    tcase_add_test(tc, test_resurrect_once);
    tcase_add_test(tc, test_is_finalized);
    tcase_add_test(tc, test_resurrection_transitive);
    tcase_add_test(tc, test_resurrection_does_not_block_others);
    tcase_add_test(tc, test_resurrect_other_cycle);
    suite_add_tcase(s, tc);

    tc = tcase_create("order");
    tcase_add_test(tc, test_order_weakrefs_finalize_clear);
    tcase_add_test(tc, test_reference_held_during_calls);
    tcase_add_test(tc, test_reference_held_width4);
    suite_add_tcase(s, tc);

    tc = tcase_create("reentrancy");
    tcase_add_test(tc, test_finalizer_collects);
    tcase_add_test(tc, test_finalizer_allocates);
    tcase_add_test(tc, test_finalizer_untracks_peer);
    tcase_add_test(tc, test_finalizer_frees_peers);
    tcase_add_test(tc, test_finalizer_breaks_cycle);
    tcase_add_test(tc, test_finalizer_frees_other_garbage);
    tcase_add_test(tc, test_finalizer_freezes);
    tcase_add_test(tc, test_finalizer_sets_threshold);
    tcase_add_test(tc, test_clear_keeps_object);
    tcase_add_test(tc, test_rounds_stay_consistent);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(finalize_suite());
}
