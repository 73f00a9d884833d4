/*
 * check_collect.c -- what a collection finds and frees: the scenarios of
 * CPython's test_gc that apply to a C host, written with test-host nodes.
 */
#include "testhost.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Basic shapes (test_list, test_dict, test_tuple, test_function, ...) */
/* ------------------------------------------------------------------ */

START_TEST(test_self_cycle)
{
    th_heap *t = th_quiet_heap(0);
    th_node *a = th_new(t, TH_PLAIN, 1);
    size_t id = a->id;
    th_link(a, 0, a);
    th_decref(a);
    ck_assert(th_alive(t, id));
    ck_assert_int_eq(cgc_collect(t->h, 2), 1);
    ck_assert(!th_alive(t, id));
    ck_assert_int_eq(t->live, 0);
    ck_assert_int_eq(t->deallocs, 1);
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    th_heap_free(t);
}
END_TEST

START_TEST(test_two_cycle)
{
    th_heap *t = th_quiet_heap(0);
    th_node *a = th_new(t, TH_PLAIN, 1), *b = th_new(t, TH_PLAIN, 1);
    size_t ia = a->id, ib = b->id;
    th_link(a, 0, b);
    th_link(b, 0, a);
    th_decref(a);
    th_decref(b);
    ck_assert(th_alive(t, ia) && th_alive(t, ib));
    ck_assert_int_eq(cgc_collect(t->h, 2), 2);
    ck_assert(!th_alive(t, ia));
    ck_assert(!th_alive(t, ib));
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
}
END_TEST

/* test_tuple: a "list" holding a "tuple" that holds the list back; the list
   also holds an untracked leaf (an atomic object), which is freed by
   reference counting but is not counted by the collector. */
START_TEST(test_list_tuple)
{
    th_heap *t = th_quiet_heap(0);
    th_node *list = th_new(t, TH_PLAIN, 3);
    th_node *tuple = th_new(t, TH_PLAIN, 1);
    th_node *leaf = th_new_untracked(t, TH_PLAIN, 0);
    size_t il = list->id, it = tuple->id, if_ = leaf->id;
    th_link(tuple, 0, list);
    th_link(list, 0, tuple);
    th_link(list, 2, leaf);
    th_decref(leaf);
    th_decref(tuple);
    th_decref(list);
    ck_assert(!cgc_is_tracked(leaf));
    ck_assert_int_eq(cgc_collect(t->h, 2), 2);
    ck_assert(!th_alive(t, il));
    ck_assert(!th_alive(t, it));
    ck_assert(!th_alive(t, if_));
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
}
END_TEST

/* test_instance / test_newinstance: an instance with a dict that points back
   to it, a class object with its own dict cycle, and a second instance of
   the class; everything dropped. */
START_TEST(test_instance)
{
    th_heap *t = th_quiet_heap(0);
    th_node *cls = th_new(t, TH_PLAIN, 2), *cdict = th_new(t, TH_PLAIN, 2);
    th_node *inst = th_new(t, TH_FINALIZER, 2), *idict = th_new(t, TH_PLAIN, 2);
    th_node *inst2 = th_new(t, TH_PLAIN, 2);
    th_node *all[] = { cls, cdict, inst, idict, inst2 };
    size_t n = sizeof all / sizeof all[0], ids[5];
    for (size_t i = 0; i < n; i++)
        ids[i] = all[i]->id;
    th_link(cls, 0, cdict);
    th_link(cdict, 0, cls);         /* class <-> its dict */
    th_link(inst, 0, cls);          /* instance -> class */
    th_link(inst, 1, idict);
    th_link(idict, 0, inst);        /* instance <-> its dict */
    th_link(inst2, 0, cls);
    th_link(inst2, 1, inst2);       /* second instance refers to itself */
    th_link(cdict, 1, inst);        /* class attribute holds the first instance */

    /* Keep only the class: nothing is garbage. */
    for (size_t i = 1; i < n; i++)
        th_decref(all[i]);
    ck_assert_int_eq(cgc_collect(t->h, 2), 1);   /* inst2 only: nobody refers to it */
    ck_assert(!th_alive(t, ids[4]));
    for (size_t i = 0; i < 4; i++)
        ck_assert(th_alive(t, ids[i]));
    /* Deleting the class makes everything else garbage. */
    th_decref(cls);
    ck_assert_int_eq(cgc_collect(t->h, 2), 4);
    for (size_t i = 0; i < 4; i++)
        ck_assert(!th_alive(t, ids[i]));
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
}
END_TEST

/* test_method: an instance holding its own bound method. */
START_TEST(test_method)
{
    th_heap *t = th_quiet_heap(0);
    th_node *inst = th_new(t, TH_PLAIN, 1), *meth = th_new(t, TH_PLAIN, 2);
    th_node *func = th_new_untracked(t, TH_PLAIN, 0);
    th_link(meth, 0, inst);
    th_link(meth, 1, func);
    th_link(inst, 0, meth);
    th_decref(meth);
    th_decref(func);
    th_decref(inst);
    ck_assert_int_eq(cgc_collect(t->h, 2), 2);
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
}
END_TEST

/* test_function: a function and its globals dict. */
START_TEST(test_function_globals)
{
    th_heap *t = th_quiet_heap(0);
    th_node *globals = th_new(t, TH_PLAIN, 4), *fn = th_new(t, TH_PLAIN, 3);
    th_node *code = th_new_untracked(t, TH_PLAIN, 0);
    th_link(fn, 0, globals);
    th_link(fn, 1, code);
    th_link(globals, 2, fn);
    th_decref(code);
    th_decref(fn);
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);   /* globals still held */
    th_decref(globals);
    ck_assert_int_eq(cgc_collect(t->h, 2), 2);
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
}
END_TEST

/* test_frame: a frame whose locals (inline) hold the frame itself. */
START_TEST(test_frame)
{
    th_heap *t = th_quiet_heap(0);
    th_node *frame = th_new(t, TH_PLAIN, 4);
    for (size_t i = 0; i < 3; i++) {
        th_node *leaf = th_new_untracked(t, TH_PLAIN, 0);
        th_link(frame, i == 2 ? 3 : i, leaf);
        th_decref(leaf);
    }
    th_link(frame, 2, frame);
    th_decref(frame);
    ck_assert_int_eq(t->live, 4);
    ck_assert_int_eq(cgc_collect(t->h, 2), 1);
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
}
END_TEST

/* Many rings of different sizes and kinds at once; some kept. */
START_TEST(test_many_rings)
{
    th_heap *t = th_quiet_heap(0);
    th_node *kept[40];
    size_t nkept = 0, expect = 0, kept_nodes = 0;
    for (size_t k = 1; k <= 60; k++) {
        th_node *r = th_ring(t, (int)(k % 2), k, NULL);
        if (k % 3 == 0 && nkept < 40) {
            kept[nkept++] = r;
            kept_nodes += k;
        } else {
            th_decref(r);
            expect += k;
        }
    }
    ck_assert_int_eq(cgc_collect(t->h, 2), (long)expect);
    ck_assert_int_eq(t->live, (long)kept_nodes);
    ck_assert_int_eq(t->clear_calls > 0, 1);
    for (size_t i = 0; i < nkept; i++)
        th_decref(kept[i]);
    ck_assert_int_eq(cgc_collect(t->h, 2), (long)kept_nodes);
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
}
END_TEST

/* A 4-byte reference count (refcnt_width 4). */
START_TEST(test_width4)
{
    th_heap *t = th_quiet_heap(TH_F_WIDTH4);
    th_node *keep = th_ring(t, TH_FINALIZER, 7, NULL);
    th_node *drop = th_ring(t, TH_PLAIN, 5, NULL);
    th_node *self = th_new(t, TH_FINALIZER, 1);
    th_link(self, 0, self);
    th_decref(self);
    th_decref(drop);
    ck_assert_int_eq(cgc_collect(t->h, 2), 6);
    ck_assert_int_eq(t->live, 7);
    ck_assert_int_eq(th_refcnt(keep), 2);
    ck_assert_int_eq(keep->canary, TH_CANARY);
    th_decref(keep);
    ck_assert_int_eq(cgc_collect(t->h, 2), 7);
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
}
END_TEST

/* Without a finalize op cycles are collected the same way and nothing is
   marked finalized. */
START_TEST(test_no_optional_ops)
{
    th_heap *t = th_quiet_heap(TH_F_NO_FINALIZE | TH_F_NO_WEAKREFS | TH_F_NO_LEGACY |
                            TH_F_NO_DESCRIBE);
    th_node *keep = th_ring(t, TH_FINALIZER, 3, NULL);
    th_node *r = th_ring(t, TH_FINALIZER, 4, NULL);
    th_decref(r);
    ck_assert_int_eq(cgc_collect(t->h, 2), 4);
    ck_assert_int_eq(t->finalize_calls, 0);
    ck_assert_int_eq(t->weakref_calls, 0);
    ck_assert_int_eq(cgc_is_finalized(keep), 0);
    ck_assert_int_eq(t->live, 3);
    th_decref(keep);
    ck_assert_int_eq(cgc_collect(t->h, 2), 3);
    th_heap_free(t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Reachable structures are never freed                                */
/* ------------------------------------------------------------------ */

START_TEST(test_external_ref_holds)
{
    th_heap *t = th_quiet_heap(0);
    th_node *a = th_new(t, TH_FINALIZER, 2), *b = th_new(t, TH_PLAIN, 2);
    th_link(a, 0, b);
    th_link(b, 0, a);
    th_link(b, 1, b);
    th_decref(b);
    for (int g = 0; g < 3; g++)
        ck_assert_int_eq(cgc_collect(t->h, g), 0);
    ck_assert_int_eq(t->live, 2);
    ck_assert_ptr_eq(a->slots[0], b);
    ck_assert_ptr_eq(b->slots[0], a);
    ck_assert_ptr_eq(b->slots[1], b);
    ck_assert_int_eq(th_refcnt(a), 2);
    ck_assert_int_eq(th_refcnt(b), 2);
    ck_assert_int_eq(t->finalize_calls + t->clear_calls + t->weakref_calls, 0);
    ck_assert_int_eq(cgc_is_finalized(a), 0);
    th_decref(a);
    ck_assert_int_eq(cgc_collect(t->h, 2), 2);
    th_heap_free(t);
}
END_TEST

/* A deep chain held only at its head, with the tail pointing back. */
START_TEST(test_deep_chain)
{
    enum { N = 20000 };
    th_heap *t = th_quiet_heap(0);
    th_node *head = th_new(t, TH_PLAIN, 1), *prev = head;
    for (int i = 1; i < N; i++) {
        th_node *n = th_new(t, i % 7 == 0 ? TH_FINALIZER : TH_PLAIN, 1);
        th_link(prev, 0, n);
        th_decref(n);
        prev = n;
    }
    th_link(prev, 0, head);
    /* Survive collections of every generation (the chain moves along). */
    ck_assert_int_eq(cgc_collect(t->h, 0), 0);
    ck_assert_int_eq(cgc_collect(t->h, 1), 0);
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    ck_assert_int_eq(t->live, N);
    ck_assert_int_eq(t->finalize_calls, 0);
    /* Walk it: still intact. */
    size_t len = 0;
    for (th_node *n = head; len < N + 1; n = n->slots[0]) {
        len++;
        if (n->slots[0] == head)
            break;
    }
    ck_assert_int_eq(len, N);
    th_decref(head);
    ck_assert_int_eq(cgc_collect(t->h, 2), N);
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
}
END_TEST

/*
 * mark_reachable marks through a prefetch queue (128 deep), so a mark may
 * still be queued when the scan passes its object.  These graphs are far
 * larger than the queue and put the only outside reference where the scan
 * meets it first (forward chain: each mark is queued just before the scan
 * reaches the object) or last (backward chain: the scan passes everything
 * before the root, and all of it is marked from the stack).  Garbage is
 * interleaved with the live objects in list order.
 */
static void check_chain_survives(int backward)
{
    enum { N = 5000 };
    th_heap *t = th_quiet_heap(0);
    th_node *nodes[N], *garbage[N];
    for (int i = 0; i < N; i++) {
        nodes[i] = th_new(t, TH_PLAIN, 1);
        garbage[i] = th_new(t, TH_PLAIN, 1);      /* a self-cycle between each pair */
        th_link(garbage[i], 0, garbage[i]);
    }
    for (int i = 0; i + 1 < N; i++) {
        if (backward)
            th_link(nodes[i + 1], 0, nodes[i]);
        else
            th_link(nodes[i], 0, nodes[i + 1]);
    }
    th_node *root = backward ? nodes[N - 1] : nodes[0];
    for (int i = 0; i < N; i++) {
        if (nodes[i] != root)
            th_decref(nodes[i]);
        th_decref(garbage[i]);
    }
    ck_assert_int_eq(cgc_collect(t->h, 2), N);
    ck_assert_int_eq(t->live, N);
    /* The chain is intact. */
    size_t len = 0;
    for (th_node *n = root; n != NULL; n = n->slots[0])
        len++;
    ck_assert_int_eq(len, N);
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    th_decref(root);                   /* acyclic now: freed by counting */
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
}

START_TEST(test_forward_chain_with_garbage)
{
    check_chain_survives(0);
}
END_TEST

START_TEST(test_backward_chain_with_garbage)
{
    check_chain_survives(1);
}
END_TEST

/*
 * Survivors keep their list order: a binary tree built children first (each
 * node allocated after both subtrees) with parent back-links, reachable only
 * through its root, comes out of collections of every size still in
 * allocation order.  (A collector that moves unmarked objects out and pulls
 * them back reorders them breadth first, and every later walk of the list
 * then jumps about in memory.)
 */
static th_node *build_bottom_up(th_heap *t, int depth)
{
    th_node *n, *l, *r;
    if (depth == 0)
        return th_new(t, TH_PLAIN, 3);
    l = build_bottom_up(t, depth - 1);
    r = build_bottom_up(t, depth - 1);
    n = th_new(t, TH_PLAIN, 3);
    th_link(n, 0, l);
    th_link(n, 1, r);
    th_link(l, 2, n);                  /* back-links make the tree one cycle */
    th_link(r, 2, n);
    th_decref(l);
    th_decref(r);
    return n;
}

typedef struct order_check {
    size_t last_id, seen, out_of_order;
} order_check;

static int check_order(void *obj, void *arg)
{
    order_check *c = arg;
    th_node *n = obj;
    if (c->seen > 0 && n->id <= c->last_id)
        c->out_of_order++;
    c->last_id = n->id;
    c->seen++;
    return 0;
}

static void check_survivor_order(int depth)
{
    th_heap *t = th_quiet_heap(0);
    th_node *root = build_bottom_up(t, depth);
    size_t nodes = ((size_t)1 << (depth + 1)) - 1;
    for (int g = 0; g < 3; g++) {
        order_check c = { 0, 0, 0 };
        ck_assert_int_eq(cgc_collect(t->h, g), 0);
        ck_assert_int_eq(cgc_get_objects(t->h, g == 2 ? 2 : g + 1, check_order, &c), 0);
        ck_assert_uint_eq(c.seen, nodes);
        ck_assert_uint_eq(c.out_of_order, 0);
    }
    th_decref(root);
    ck_assert_int_eq(cgc_collect(t->h, 2), (long)nodes);
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
}

START_TEST(test_survivor_order_small)
{
    check_survivor_order(8);           /* 511 nodes: visits without the queue */
}
END_TEST

START_TEST(test_survivor_order_large)
{
    check_survivor_order(13);          /* 16383 nodes: through the prefetch queue */
}
END_TEST

/* A cycle referenced from an untracked container: the collector cannot see
   that reference, so it counts as external. */
START_TEST(test_untracked_container_root)
{
    th_heap *t = th_quiet_heap(0);
    th_node *u = th_new_untracked(t, TH_PLAIN, 1);
    th_node *x = th_new(t, TH_PLAIN, 1), *y = th_new(t, TH_PLAIN, 1);
    size_t ix = x->id, iy = y->id;
    th_link(x, 0, y);
    th_link(y, 0, x);
    th_link(u, 0, x);
    th_decref(x);
    th_decref(y);
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    ck_assert(th_alive(t, ix) && th_alive(t, iy));
    ck_assert_int_eq(t->clear_calls, 0);
    /* Dropping the container leaves a collectable cycle. */
    th_decref(u);
    ck_assert(th_alive(t, ix) && th_alive(t, iy));
    ck_assert_int_eq(cgc_collect(t->h, 2), 2);
    ck_assert(!th_alive(t, ix) && !th_alive(t, iy));
    th_heap_free(t);
}
END_TEST

/* A cycle through an untracked node can't be collected (the reference from
   the untracked node looks external): a leak, but never a wrong free. */
START_TEST(test_cycle_through_untracked)
{
    th_heap *t = th_quiet_heap(0);
    th_node *a = th_new(t, TH_PLAIN, 1), *u = th_new_untracked(t, TH_PLAIN, 1);
    size_t ia = a->id, iu = u->id;
    th_link(a, 0, u);
    th_link(u, 0, a);
    th_decref(u);
    th_decref(a);
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    ck_assert(th_alive(t, ia) && th_alive(t, iu));
    ck_assert_int_eq(t->clear_calls, 0);
    ck_assert_int_eq(t->finalize_calls, 0);
    th_heap_free(t);
}
END_TEST

/* Garbage in generation 0 referenced only from garbage in generation 2
   survives young collections and goes with the full one. */
START_TEST(test_older_generation_root)
{
    th_heap *t = th_quiet_heap(0);
    th_node *old = th_new(t, TH_PLAIN, 2);
    size_t iold = old->id;
    th_link(old, 0, old);
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);    /* old -> generation 2 */
    ck_assert_int_eq(th_gen_of(t, old), 2);
    th_node *x = th_new(t, TH_FINALIZER, 1), *y = th_new(t, TH_PLAIN, 1);
    size_t ix = x->id, iy = y->id;
    th_link(x, 0, y);
    th_link(y, 0, x);
    th_link(old, 1, x);
    th_decref(x);
    th_decref(y);
    th_decref(old);                               /* old is garbage now */
    ck_assert_int_eq(th_gen_of(t, x), 0);
    ck_assert_int_eq(cgc_collect(t->h, 0), 0);
    ck_assert(th_alive(t, ix) && th_alive(t, iy));
    ck_assert_int_eq(th_record(t, ix)->finalized, 0);
    ck_assert_int_eq(th_gen_of(t, x), 1);
    ck_assert_int_eq(cgc_collect(t->h, 1), 0);
    ck_assert(th_alive(t, ix) && th_alive(t, iy));
    ck_assert_int_eq(th_gen_of(t, y), 2);
    ck_assert_int_eq(t->clear_calls + t->finalize_calls, 0);
    ck_assert_int_eq(cgc_collect(t->h, 2), 3);
    ck_assert(!th_alive(t, iold) && !th_alive(t, ix) && !th_alive(t, iy));
    th_heap_free(t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Saveall and legacy finalizers (gc.garbage)                          */
/* ------------------------------------------------------------------ */

START_TEST(test_saveall)
{
    th_heap *t = th_quiet_heap(0);
    ck_assert_uint_eq(cgc_garbage_count(t->h), 0);
    cgc_set_debug(t->h, CGC_DEBUG_SAVEALL);
    th_node *a = th_new(t, TH_PLAIN, 1);
    size_t ia = a->id;
    th_link(a, 0, a);
    th_decref(a);
    ck_assert_int_eq(cgc_collect(t->h, 2), 1);
    ck_assert(th_alive(t, ia));
    ck_assert_int_eq(t->deallocs, 0);
    ck_assert_int_eq(t->clear_calls, 0);
    ck_assert_uint_eq(cgc_garbage_count(t->h), 1);
    ck_assert_ptr_eq(cgc_garbage_get(t->h, 0), a);
    ck_assert_ptr_null(cgc_garbage_get(t->h, 1));
    ck_assert_int_eq(th_refcnt(a), 2);           /* self + the garbage list */
    ck_assert_ptr_eq(a->slots[0], a);
    /* Still saved (and still referenced from the list) on the next run. */
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    ck_assert_uint_eq(cgc_garbage_count(t->h), 1);
    cgc_set_debug(t->h, 0);
    cgc_garbage_clear(t->h);
    ck_assert_uint_eq(cgc_garbage_count(t->h), 0);
    ck_assert(th_alive(t, ia));
    ck_assert_int_eq(th_refcnt(a), 1);
    ck_assert_int_eq(cgc_collect(t->h, 2), 1);
    ck_assert(!th_alive(t, ia));
    th_heap_free(t);
}
END_TEST

/* SAVEALL saves everything unreachable, legacy or not. */
START_TEST(test_saveall_mixed)
{
    th_heap *t = th_quiet_heap(0);
    cgc_set_debug(t->h, CGC_DEBUG_SAVEALL);
    th_node *r = th_ring(t, TH_FINALIZER, 5, NULL);
    th_node *l = th_new(t, TH_LEGACY, 1);
    th_link(l, 0, l);
    th_decref(l);
    th_decref(r);
    ck_assert_int_eq(cgc_collect(t->h, 2), 6);
    ck_assert_uint_eq(cgc_garbage_count(t->h), 6);
    ck_assert_int_eq(t->live, 6);
    ck_assert_int_eq(t->clear_calls, 0);
    int seen_l = 0;
    for (size_t i = 0; i < 6; i++) {
        th_node *g = cgc_garbage_get(t->h, i);
        ck_assert_ptr_nonnull(g);
        ck_assert_int_eq(g->magic, TH_NODE_MAGIC);
        ck_assert_int_eq(th_refcnt(g), 2);
        seen_l += g == l;
    }
    ck_assert_int_eq(seen_l, 1);
    cgc_set_debug(t->h, 0);
    cgc_garbage_clear(t->h);
    /* The ring is found again and freed; the legacy node is uncollectable. */
    ck_assert_int_eq(cgc_collect(t->h, 2), 6);
    ck_assert_int_eq(t->live, 1);
    ck_assert_uint_eq(cgc_garbage_count(t->h), 1);
    ck_assert_ptr_eq(cgc_garbage_get(t->h, 0), l);
    th_heap_free(t);
}
END_TEST

START_TEST(test_legacy_finalizer)
{
    th_heap *t = th_quiet_heap(0);
    th_cblog *log = th_cblog_new();
    ck_assert_int_eq(cgc_add_callback(t->h, th_cblog_fn, log), CGC_OK);
    cgc_gen_stats s0 = th_stats(t, 2);
    th_node *l = th_new(t, TH_LEGACY, 1), *p = th_new(t, TH_PLAIN, 1);
    size_t il = l->id, ip = p->id;
    th_link(l, 0, l);
    th_link(p, 0, p);
    th_decref(l);
    th_decref(p);
    ck_assert_int_eq(cgc_collect(t->h, 2), 2);
    ck_assert(!th_alive(t, ip));
    ck_assert(th_alive(t, il));
    ck_assert_uint_eq(cgc_garbage_count(t->h), 1);
    ck_assert_ptr_eq(cgc_garbage_get(t->h, 0), l);
    ck_assert_int_eq(cgc_is_tracked(l), 1);
    ck_assert_int_eq(th_record(t, il)->finalized, 0);
    ck_assert_int_eq(th_record(t, il)->cleared, 0);
    ck_assert_int_eq(th_refcnt(l), 2);
    cgc_gen_stats s1 = th_stats(t, 2);
    ck_assert_uint_eq(s1.collections - s0.collections, 1);
    ck_assert_uint_eq(s1.collected - s0.collected, 1);
    ck_assert_uint_eq(s1.uncollectable - s0.uncollectable, 1);
    ck_assert_uint_eq(log->n, 2);
    ck_assert_int_eq(log->ev[1].phase, CGC_PHASE_STOP);
    ck_assert_uint_eq(log->ev[1].collected, 1);
    ck_assert_uint_eq(log->ev[1].uncollectable, 1);
    /* As the CPython test does: break the cycle by hand. */
    th_node *g = cgc_garbage_get(t->h, 0);
    th_incref(g);
    cgc_garbage_clear(t->h);
    th_link(g, 0, NULL);
    ck_assert_int_eq(th_refcnt(g), 1);
    th_decref(g);
    ck_assert(!th_alive(t, il));
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    th_heap_free(t);
    free(log);
}
END_TEST

/* Everything reachable from a legacy object is uncollectable and left
   alone; only legacy objects go on the garbage list. */
START_TEST(test_legacy_reachable)
{
    th_heap *t = th_quiet_heap(0);
    th_cblog *log = th_cblog_new();
    ck_assert_int_eq(cgc_add_callback(t->h, th_cblog_fn, log), CGC_OK);
    th_node *l = th_new(t, TH_LEGACY, 2);
    th_node *x = th_new(t, TH_PLAIN, 1), *y = th_new(t, TH_FINALIZER, 1);
    th_node *z = th_new(t, TH_RESURRECT, 1);   /* reached from l: never finalized */
    th_node *p = th_new(t, TH_FINALIZER, 2);   /* refers to l but is not reached by it */
    size_t il = l->id, ix = x->id, iy = y->id, iz = z->id, ip = p->id;
    th_link(l, 0, l);
    th_link(l, 1, x);
    th_link(x, 0, y);
    th_link(y, 0, x);
    th_link(y, 0, z);
    th_link(z, 0, x);
    th_link(p, 0, p);
    th_link(p, 1, l);
    th_decref(l);
    th_decref(x);
    th_decref(y);
    th_decref(z);
    th_decref(p);
    cgc_gen_stats s0 = th_stats(t, 2);
    /* l, x, y, z uncollectable (4); p collectable (1). */
    ck_assert_int_eq(cgc_collect(t->h, 2), 5);
    cgc_gen_stats s1 = th_stats(t, 2);
    ck_assert_uint_eq(s1.collected - s0.collected, 1);
    ck_assert_uint_eq(s1.uncollectable - s0.uncollectable, 4);
    ck_assert_uint_eq(log->ev[1].collected, 1);
    ck_assert_uint_eq(log->ev[1].uncollectable, 4);
    ck_assert(!th_alive(t, ip));
    ck_assert_int_eq(th_record(t, ip)->finalized, 1);
    size_t left[] = { il, ix, iy, iz };
    for (size_t i = 0; i < 4; i++) {
        const th_rec *r = th_record(t, left[i]);
        ck_assert_msg(r->alive, "node#%zu freed", left[i]);
        ck_assert_msg(r->finalized == 0, "node#%zu finalized", left[i]);
        ck_assert_msg(r->cleared == 0, "node#%zu cleared", left[i]);
    }
    ck_assert_uint_eq(cgc_garbage_count(t->h), 1);
    ck_assert_ptr_eq(cgc_garbage_get(t->h, 0), l);
    ck_assert_ptr_eq(l->slots[1], x);
    ck_assert_ptr_eq(x->slots[0], y);
    ck_assert_ptr_eq(y->slots[0], z);
    ck_assert_ptr_eq(z->slots[0], x);
    ck_assert_uint_eq(t->nres, 0);
    /* p held a reference to l: that was given back. */
    ck_assert_int_eq(th_refcnt(l), 2);   /* self + garbage list */
    /* They stay tracked, in the generation survivors go to. */
    ck_assert_int_eq(th_gen_of(t, x), 2);
    ck_assert_int_eq(th_gen_of(t, l), 2);

    /* The garbage list keeps l alive: nothing is found again. */
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    /* Clearing the list makes the same set unreachable again. */
    cgc_garbage_clear(t->h);
    ck_assert_int_eq(cgc_collect(t->h, 2), 4);
    ck_assert_uint_eq(cgc_garbage_count(t->h), 1);
    /* Cut l off by hand: x, y, z become an ordinary cycle. */
    th_incref(l);
    cgc_garbage_clear(t->h);
    th_link(l, 0, NULL);
    th_link(l, 1, NULL);
    th_decref(l);
    ck_assert(!th_alive(t, il));
    /* z resurrects itself, and with it x and y: nothing counted. */
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    ck_assert_uint_eq(t->nres, 1);
    ck_assert(th_alive(t, ix) && th_alive(t, iy) && th_alive(t, iz));
    ck_assert_int_eq(th_record(t, ix)->finalized, 1);
    ck_assert_int_eq(th_record(t, iz)->finalized, 1);
    ck_assert_int_eq(th_record(t, iz)->cleared, 0);
    /* Dropping the resurrection reference: collected, no second finalize. */
    th_drop_resurrected(t);
    ck_assert_int_eq(cgc_collect(t->h, 2), 3);
    ck_assert(!th_alive(t, ix) && !th_alive(t, iy) && !th_alive(t, iz));
    ck_assert_int_eq(th_record(t, iz)->finalized, 1);
    ck_assert_uint_eq(t->nres, 0);
    th_heap_free(t);
    free(log);
}
END_TEST

/* test_collect_garbage (GCCallbackTests): two legacy pairs and one self-cycle. */
static int cg_round;
static void break_garbage_cb(cgc_heap *h, cgc_phase phase, const cgc_collect_info *info,
                             void *ctx)
{
    (void)info;
    (void)ctx;
    if (phase != CGC_PHASE_STOP || cg_round != 2)
        return;
    for (size_t i = 0; i < cgc_garbage_count(h); i++) {
        th_node *n = cgc_garbage_get(h, i);
        ck_assert_ptr_nonnull(n);
        th_link(n, 0, NULL);
    }
}

START_TEST(test_collect_garbage)
{
    th_heap *t = th_quiet_heap(0);
    th_cblog *log = th_cblog_new();
    ck_assert_int_eq(cgc_add_callback(t->h, th_cblog_fn, log), CGC_OK);
    ck_assert_int_eq(cgc_add_callback(t->h, break_garbage_cb, NULL), CGC_OK);
    size_t ids[4];
    for (int pair = 0; pair < 2; pair++) {
        th_node *a = th_new(t, TH_LEGACY, 1), *b = th_new(t, TH_LEGACY, 1);
        ids[2 * pair] = a->id;
        ids[2 * pair + 1] = b->id;
        th_link(a, 0, b);
        th_link(b, 0, a);
        th_decref(a);
        th_decref(b);
    }
    th_node *c = th_new(t, TH_PLAIN, 1);
    size_t ic = c->id;
    th_link(c, 0, c);
    th_decref(c);

    cg_round = 1;
    ck_assert_int_eq(cgc_collect(t->h, 2), 5);
    ck_assert_uint_eq(log->n, 2);
    ck_assert_int_eq(log->ev[0].phase, CGC_PHASE_START);
    ck_assert_int_eq(log->ev[1].phase, CGC_PHASE_STOP);
    ck_assert_int_eq(log->ev[1].generation, 2);
    ck_assert_uint_eq(log->ev[1].collected, 1);
    ck_assert_uint_eq(log->ev[1].uncollectable, 4);
    ck_assert(!th_alive(t, ic));
    ck_assert_uint_eq(cgc_garbage_count(t->h), 4);
    for (size_t i = 0; i < 4; i++) {
        th_node *g = cgc_garbage_get(t->h, i);
        int found = 0;
        for (size_t j = 0; j < 4; j++)
            found += g->id == ids[j];
        ck_assert_msg(found == 1, "garbage[%zu] is node#%zu", i, g->id);
        for (size_t j = 0; j < i; j++)
            ck_assert_ptr_ne(cgc_garbage_get(t->h, j), g);
    }
    cgc_garbage_clear(t->h);
    ck_assert_uint_eq(cgc_garbage_count(t->h), 0);
    for (size_t j = 0; j < 4; j++)
        ck_assert(th_alive(t, ids[j]));

    /* Found again; the STOP callback breaks the pairs. */
    cg_round = 2;
    ck_assert_int_eq(cgc_collect(t->h, 2), 4);
    ck_assert_uint_eq(log->n, 4);
    ck_assert_uint_eq(log->ev[3].collected, 0);
    ck_assert_uint_eq(log->ev[3].uncollectable, 4);
    ck_assert_uint_eq(cgc_garbage_count(t->h), 4);
    for (size_t j = 0; j < 4; j++)
        ck_assert(th_alive(t, ids[j]));
    cg_round = 3;
    cgc_garbage_clear(t->h);
    for (size_t j = 0; j < 4; j++)
        ck_assert(!th_alive(t, ids[j]));
    ck_assert_uint_eq(cgc_garbage_count(t->h), 0);
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
    free(log);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Boom: host code with side effects must not run before the decision */
/* ------------------------------------------------------------------ */

/* test_boom: the first side-effecting op on one of the pair deletes the
   link between them (as __getattr__ deletes the attribute).  Such ops may
   only run once the set is decided, so the result must stay consistent:
   both freed, nothing on the garbage list, the count matching the stats. */
static int boom_calls;
static void boom_hook(th_heap *t, th_node *n)
{
    (void)t;
    boom_calls++;
    th_node *other = n->user;
    if (other != NULL && other->slots[0] == n) {
        n->user = NULL;
        other->user = NULL;
        th_link(other, 0, NULL);
    }
}

static void boom_pair(th_heap *t, th_node **pa, th_node **pb)
{
    th_node *a = th_new(t, TH_PLAIN, 1), *b = th_new(t, TH_PLAIN, 1);
    th_link(a, 0, b);
    th_link(b, 0, a);
    a->user = b;
    b->user = a;
    *pa = a;
    *pb = b;
}

static void boom_check(th_heap *t, size_t ia, size_t ib)
{
    cgc_gen_stats s0 = th_stats(t, 2);
    long n = cgc_collect(t->h, 2);
    cgc_gen_stats s1 = th_stats(t, 2);
    ck_assert(boom_calls > 0);
    ck_assert_msg(n >= 0 && n <= 2, "collect returned %ld", n);
    ck_assert_uint_eq(s1.collected + s1.uncollectable - s0.collected - s0.uncollectable,
                      (uint64_t)n);
    ck_assert(!th_alive(t, ia));
    ck_assert(!th_alive(t, ib));
    ck_assert_uint_eq(cgc_garbage_count(t->h), 0);
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    ck_assert_int_eq(t->live, 0);
    ck_assert_uint_eq(th_gen_count(t, -1), 0);
}

START_TEST(test_boom_unreachable)
{
    th_heap *t = th_quiet_heap(0);
    t->on_weakref = boom_hook;
    t->on_finalize = boom_hook;
    t->on_clear = boom_hook;
    th_node *a, *b;
    boom_pair(t, &a, &b);
    size_t ia = a->id, ib = b->id;
    th_decref(a);
    th_decref(b);
    boom_calls = 0;
    boom_check(t, ia, ib);
    th_heap_free(t);
}
END_TEST

/* test_boom2: the link goes only on the second side-effecting call. */
static void boom2_hook(th_heap *t, th_node *n)
{
    if (++boom_calls == 2)
        boom_hook(t, n);
}

START_TEST(test_boom2_unreachable)
{
    th_heap *t = th_quiet_heap(0);
    t->on_weakref = boom2_hook;
    t->on_finalize = boom2_hook;
    t->on_clear = boom2_hook;
    th_node *a, *b;
    boom_pair(t, &a, &b);
    size_t ia = a->id, ib = b->id;
    th_decref(a);
    th_decref(b);
    boom_calls = 0;
    boom_check(t, ia, ib);
    th_heap_free(t);
}
END_TEST

/* Reachable objects: nothing but traverse is ever called on them. */
START_TEST(test_boom_reachable)
{
    th_heap *t = th_quiet_heap(0);
    t->on_weakref = boom_hook;
    t->on_finalize = boom_hook;
    t->on_clear = boom_hook;
    t->on_dealloc = boom_hook;
    th_node *a, *b;
    boom_pair(t, &a, &b);
    th_decref(b);
    th_node *r = th_ring(t, TH_FINALIZER, 50, NULL);
    long before = t->traverse_calls;
    for (int g = 0; g < 3; g++)
        ck_assert_int_eq(cgc_collect(t->h, g), 0);
    ck_assert(t->traverse_calls > before);
    ck_assert_int_eq(boom_calls, 0);
    for (size_t id = 1; id < t->nrecs; id++) {
        const th_rec *rec = th_record(t, id);
        ck_assert(rec->alive);
        ck_assert_int_eq(rec->finalized + rec->cleared + rec->weakrefs + rec->legacy_q, 0);
    }
    ck_assert_int_eq(t->describe_calls, 0);
    ck_assert_ptr_eq(a->slots[0], b);
    ck_assert_ptr_eq(b->slots[0], a);
    ck_assert_int_eq(th_refcnt(a), 2);
    ck_assert_int_eq(th_refcnt(r), 2);
    th_heap_free(t);
}
END_TEST

/* In a mixed graph, has_legacy_finalizer, clear_weakrefs, finalize and
   clear reach exactly the unreachable objects; a reachable object that
   garbage refers to only loses that reference. */
START_TEST(test_ops_only_on_unreachable)
{
    th_heap *t = th_quiet_heap(0);
    enum { K = 12 };
    th_node *held[K];
    size_t garbage_ids[K * 3], ng = 0;
    for (int i = 0; i < K; i++) {
        held[i] = th_ring(t, i % 2 ? TH_FINALIZER : TH_PLAIN, 3, NULL);
        th_node *g = th_new(t, TH_FINALIZER, 2);
        th_node *g2 = th_new(t, TH_PLAIN, 2);
        garbage_ids[ng++] = g->id;
        garbage_ids[ng++] = g2->id;
        th_link(g, 0, g2);
        th_link(g2, 0, g);
        th_link(g, 1, held[i]);           /* garbage -> reachable */
        th_decref(g);
        th_decref(g2);
    }
    ck_assert_int_eq(cgc_collect(t->h, 2), (long)ng);
    for (size_t i = 0; i < ng; i++) {
        const th_rec *r = th_record(t, garbage_ids[i]);
        ck_assert(!r->alive);
        ck_assert_int_eq(r->weakrefs, 1);
        ck_assert_int_eq(r->finalized, 1);
        ck_assert(r->legacy_q >= 1);
    }
    for (int i = 0; i < K; i++) {
        ck_assert_int_eq(th_refcnt(held[i]), 2);
        th_node *n = held[i];
        for (int j = 0; j < 3; j++, n = n->slots[0]) {
            const th_rec *r = th_record(t, n->id);
            ck_assert(r->alive);
            ck_assert_int_eq(r->finalized + r->cleared + r->weakrefs + r->legacy_q, 0);
        }
        ck_assert_ptr_eq(n, held[i]);
    }
    ck_assert_int_eq(t->live, 3 * K);
    th_heap_free(t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Introspection                                                       */
/* ------------------------------------------------------------------ */

/* test_get_objects (generations). */
START_TEST(test_get_objects_generations)
{
    th_heap *t = th_quiet_heap(0);
    th_node *l = th_new(t, TH_PLAIN, 1);
    th_link(l, 0, l);
    ck_assert(th_in_gen(t, l, 0));
    ck_assert(!th_in_gen(t, l, 1));
    ck_assert(!th_in_gen(t, l, 2));
    ck_assert(th_in_gen(t, l, -1));
    cgc_collect(t->h, 0);
    ck_assert(!th_in_gen(t, l, 0));
    ck_assert(th_in_gen(t, l, 1));
    ck_assert(!th_in_gen(t, l, 2));
    cgc_collect(t->h, 1);
    ck_assert(!th_in_gen(t, l, 0));
    ck_assert(!th_in_gen(t, l, 1));
    ck_assert(th_in_gen(t, l, 2));
    cgc_collect(t->h, 2);
    ck_assert(!th_in_gen(t, l, 0));
    ck_assert(!th_in_gen(t, l, 1));
    ck_assert(th_in_gen(t, l, 2));
    ck_assert_uint_eq(th_gen_count(t, -1), 1);
    th_decref(l);
    th_heap_free(t);
}
END_TEST

/* get_objects sees exactly the tracked objects, each once. */
static int mark_visit(void *obj, void *arg)
{
    th_node *n = obj;
    unsigned char *seen = arg;
    ck_assert_int_eq(n->magic, TH_NODE_MAGIC);
    seen[n->id]++;
    return 0;
}

START_TEST(test_get_objects_exact)
{
    th_heap *t = th_quiet_heap(0);
    enum { N = 300 };
    th_node *n[N];
    for (int i = 0; i < N; i++) {
        n[i] = (i % 5 == 0) ? th_new_untracked(t, TH_PLAIN, 0) : th_new(t, TH_PLAIN, 0);
        if (i % 10 == 3)
            cgc_collect(t->h, i % 3);
    }
    for (int i = 0; i < N; i += 7)
        cgc_untrack(t->h, n[i]);
    unsigned char *seen = calloc(t->nrecs, 1);
    ck_assert_int_eq(cgc_get_objects(t->h, -1, mark_visit, seen), 0);
    size_t total = 0;
    for (int i = 0; i < N; i++) {
        int expect = !(i % 5 == 0 || i % 7 == 0);
        ck_assert_msg(seen[n[i]->id] == expect, "node %d seen %d times", i,
                      seen[n[i]->id]);
        total += (size_t)expect;
    }
    size_t sum = 0;
    for (int g = 0; g < 3; g++)
        sum += th_gen_count(t, g);
    ck_assert_uint_eq(sum, total);
    ck_assert_uint_eq(th_gen_count(t, -1), total);
    free(seen);
    th_heap_free(t);
}
END_TEST

/* test_get_stats: collect(0) increments only stats[0].collections, etc. */
START_TEST(test_get_stats)
{
    th_heap *t = th_quiet_heap(0);
    cgc_gen_stats a[3], b[3];
    for (int g = 0; g < 3; g++)
        a[g] = th_stats(t, g);
    for (int which = 0; which < 3; which++) {
        th_node *r = th_ring(t, TH_PLAIN, (size_t)which + 2, NULL);
        th_decref(r);
        ck_assert_int_eq(cgc_collect(t->h, which), which + 2);
        for (int g = 0; g < 3; g++) {
            b[g] = th_stats(t, g);
            ck_assert_uint_eq(b[g].collections - a[g].collections, g == which);
            ck_assert_uint_eq(b[g].collected - a[g].collected,
                              g == which ? (uint64_t)which + 2 : 0);
            ck_assert_uint_eq(b[g].uncollectable, a[g].uncollectable);
            ck_assert(b[g].total_ns >= a[g].total_ns);
            ck_assert(b[g].max_pause_ns <= b[g].total_ns);
            a[g] = b[g];
        }
    }
    /* -1 means 2 */
    ck_assert_int_eq(cgc_collect(t->h, -1), 0);
    ck_assert_uint_eq(th_stats(t, 2).collections, a[2].collections + 1);
    ck_assert_uint_eq(th_stats(t, 0).collections, a[0].collections);
    th_heap_free(t);
}
END_TEST

START_TEST(test_is_tracked)
{
    th_heap *t = th_quiet_heap(0);
    th_node *a = th_new(t, TH_PLAIN, 1);
    th_node *u = th_new_untracked(t, TH_PLAIN, 1);
    ck_assert_int_eq(cgc_is_tracked(a), 1);
    ck_assert_int_eq(cgc_is_tracked(u), 0);
    ck_assert_int_eq(cgc_is_tracked(NULL), 0);
    cgc_collect(t->h, 2);
    ck_assert_int_eq(cgc_is_tracked(a), 1);
    ck_assert_int_eq(cgc_is_tracked(u), 0);
    cgc_untrack(t->h, a);
    ck_assert_int_eq(cgc_is_tracked(a), 0);
    ck_assert_int_eq(th_gen_count(t, -1), 0);
    ck_assert_int_eq(cgc_track(t->h, u), CGC_OK);
    ck_assert_int_eq(cgc_is_tracked(u), 1);
    ck_assert(th_in_gen(t, u, 0));
    th_decref(a);
    th_decref(u);
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
}
END_TEST

/* Collections with the host allocator behave the same and give every
   block of a freed object back. */
START_TEST(test_collect_host_allocator)
{
    th_heap *t = th_quiet_heap(TH_F_HOST_ALLOC);
    long live0 = t->al_live;
    th_node *keep = th_ring(t, TH_PLAIN, 10, NULL);
    for (int i = 0; i < 20; i++)
        th_decref(th_ring(t, i % 2, (size_t)i + 1, NULL));
    ck_assert_int_eq(t->al_live - live0, 10 + 210);
    ck_assert_int_eq(cgc_collect(t->h, 2), 210);
    ck_assert_int_eq(t->al_live - live0, 10);
    th_decref(keep);
    ck_assert_int_eq(cgc_collect(t->h, 2), 10);
    ck_assert_int_eq(t->al_live, live0);
    th_heap_free(t);
}
END_TEST

static Suite *collect_suite(void)
{
    Suite *s = suite_create("collect");
    TCase *tc = tcase_create("shapes");
    tcase_add_test(tc, test_self_cycle);
    tcase_add_test(tc, test_two_cycle);
    tcase_add_test(tc, test_list_tuple);
    tcase_add_test(tc, test_instance);
    tcase_add_test(tc, test_method);
    tcase_add_test(tc, test_function_globals);
    tcase_add_test(tc, test_frame);
    tcase_add_test(tc, test_many_rings);
    tcase_add_test(tc, test_width4);
    tcase_add_test(tc, test_no_optional_ops);
    tcase_add_test(tc, test_collect_host_allocator);
    suite_add_tcase(s, tc);

    tc = tcase_create("reachable");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_external_ref_holds);
    tcase_add_test(tc, test_deep_chain);
    tcase_add_test(tc, test_forward_chain_with_garbage);
    tcase_add_test(tc, test_backward_chain_with_garbage);
    tcase_add_test(tc, test_survivor_order_small);
    tcase_add_test(tc, test_survivor_order_large);
    tcase_add_test(tc, test_untracked_container_root);
    tcase_add_test(tc, test_cycle_through_untracked);
    tcase_add_test(tc, test_older_generation_root);
    suite_add_tcase(s, tc);

    tc = tcase_create("garbage");
    tcase_add_test(tc, test_saveall);
    tcase_add_test(tc, test_saveall_mixed);
    tcase_add_test(tc, test_legacy_finalizer);
    tcase_add_test(tc, test_legacy_reachable);
    tcase_add_test(tc, test_collect_garbage);
    suite_add_tcase(s, tc);

    tc = tcase_create("boom");
    tcase_add_test(tc, test_boom_unreachable);
    tcase_add_test(tc, test_boom2_unreachable);
    tcase_add_test(tc, test_boom_reachable);
    tcase_add_test(tc, test_ops_only_on_unreachable);
    suite_add_tcase(s, tc);

    tc = tcase_create("introspection");
    tcase_add_test(tc, test_get_objects_generations);
    tcase_add_test(tc, test_get_objects_exact);
    tcase_add_test(tc, test_get_stats);
    tcase_add_test(tc, test_is_tracked);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(collect_suite());
}
