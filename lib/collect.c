/*
 * collect.c -- finding and freeing unreachable cycles.
 *
 * This file is the whole algorithm; read it top to bottom.  It follows the
 * design of CPython's cycle collector (Modules/gcmodule.c, 3.11): the host
 * counts references, and a cycle is garbage when every reference to its
 * members comes from inside the set being examined.
 *
 * A collection of generation G takes the objects of generations 0..G (the
 * "young" set) and
 *
 *   1. update_refs      copies each object's reference count into gc_refs;
 *   2. subtract_refs    subtracts every reference that comes from inside the
 *                       set, so gc_refs counts references from outside it;
 *   3. mark_reachable marks what outside references reach, and
 *      move_unreachable moves out the rest;
 *   4. promotes the survivors to generation G+1;
 *   5. moves objects with legacy finalizers, and all they reach, aside as
 *      uncollectable;
 *   6. lets the host clear weak references to the unreachable objects;
 *   7. finalize_garbage runs each finalizer at most once (PEP 442);
 *   8. handle_resurrected_objects repeats 1-3 on the unreachable set, since a
 *      finalizer may have stored a reference to its object somewhere;
 *   9. delete_garbage calls the host's clear() to break the cycles;
 *  10. puts the legacy-finalizer objects on the garbage list.
 *
 * Steps 1-3 run in time linear in objects plus references, with no
 * recursion and no memory beyond the two header words (see internal.h) and
 * a 1 KiB prefetch ring on the C stack.
 * From step 5 on, host callbacks may free, untrack, allocate and track
 * objects: every loop below takes the first object of a list and moves it
 * elsewhere before calling out, so objects vanishing from a list mid-walk
 * (cgc_untrack unlinks them) never leave a dangling cursor.
 */
#include "internal.h"

/*
 * With --enable-debug (CGC_DEBUG), each list is checked after the phase that
 * built it: links consistent both ways, no flag bits in next, and the
 * COLLECTING flag as expected on every object.  The older generation that
 * receives the survivors is checked only in full collections (where it is
 * the set just examined): checking it after every young collection would
 * make a growing heap cost quadratic time.
 */
#ifdef CGC_DEBUG
static void validate_list(cgc_heap *h, cgc_hdr *head, uintptr_t collecting)
{
    cgc_hdr *prev = head;
    for (cgc_hdr *g = hdr_next(head); g != head; g = hdr_next(g)) {
        if (hdr_prev(g) != prev || (g->next & PREV_FLAGS) != 0
            || (g->prev & PREV_COLLECTING) != collecting)
            cgc__fatal(h, "internal error: a collector list is inconsistent at", OBJ(g));
        prev = g;
    }
    if (hdr_prev(head) != prev || (head->next & PREV_FLAGS) != 0)
        cgc__fatal(h, "internal error: a collector list head is inconsistent", NULL);
}
#else
#define validate_list(h, head, collecting) ((void)0)
#endif

/* ---------------------------------------------------------------- */
/* 1. update_refs: gc_refs = the host's reference count              */
/* ---------------------------------------------------------------- */

/* A count too large for the bits of prev above the flags (an "immortal"
   object, say) is clamped: references from inside the set can never add up
   to REFS_MAX, so the object still shows references from outside. */
static size_t update_refs(cgc_heap *h, cgc_hdr *young)
{
    size_t n = 0;
    for (cgc_hdr *g = hdr_next(young); g != young; g = hdr_next(g), n++) {
        int64_t rc = obj_refcnt(h, OBJ(g));
        if (rc <= 0)
            cgc__fatal(h, "a tracked object has a reference count <= 0 "
                          "(freed while tracked, or a dealloc left it tracked)", OBJ(g));
        hdr_reset_refs(g, (uint64_t)rc > REFS_MAX ? REFS_MAX : (uintptr_t)rc);
    }
    return n;
}

/* ---------------------------------------------------------------- */
/* Visiting with prefetch                                            */
/* ---------------------------------------------------------------- */

/*
 * Steps 2 and 3 visit every reference of every object, and a referent's
 * header is seldom in cache: on a large heap each visit would wait for
 * memory.  So a visit only prefetches the referent's header and queues it;
 * the work on it happens PREFETCH_DEPTH visits later, when the header has
 * arrived.  The queue is a small ring on the C stack.  queue_drain finishes
 * what is queued; each phase drains before it ends.
 */
#define PREFETCH_DEPTH 128u              /* a power of two */

/* A set smaller than this is taken to sit in the caches already (a young
   generation does): its visits do their work at once, without the queue. */
#define PREFETCH_MIN 4096u

#if defined(__GNUC__) || defined(__clang__)
#define prefetch_for_write(p) __builtin_prefetch((p), 1, 3)
#else
#define prefetch_for_write(p) ((void)(p))
#endif

typedef struct visit_queue {
    cgc_hdr *item[PREFETCH_DEPTH];       /* a ring; free slots hold &idle */
    unsigned pos;                        /* the slot to reuse next: the oldest */
    unsigned queued;                     /* pushes since the last drain, at most
                                            PREFETCH_DEPTH (it must not wrap) */
    cgc_heap *h;
    cgc_hdr *stack;                      /* step 3: marked objects to traverse */
    cgc_hdr idle;                        /* outside any set: work on it is a no-op */
} visit_queue;

static void queue_init(visit_queue *q, cgc_heap *h, int use_ring)
{
    q->idle.next = q->idle.prev = 0;
    if (use_ring)
        for (unsigned i = 0; i < PREFETCH_DEPTH; i++)
            q->item[i] = &q->idle;
    q->pos = q->queued = 0;
    q->h = h;
    q->stack = NULL;
}

/* Queues g and returns the oldest item, pushed out (maybe &q->idle). */
static inline cgc_hdr *queue_push(visit_queue *q, cgc_hdr *g)
{
    cgc_hdr *out = q->item[q->pos];
    prefetch_for_write(g);
    q->item[q->pos] = g;
    q->pos = (q->pos + 1) % PREFETCH_DEPTH;
    if (q->queued < PREFETCH_DEPTH)
        q->queued++;
    return out;
}

/* Empties the ring, oldest first, calling work on each item. */
static inline void queue_drain(visit_queue *q, void (*work)(visit_queue *, cgc_hdr *))
{
    unsigned n = q->queued;
    for (unsigned i = 0; i < n; i++) {
        unsigned slot = (q->pos - n + i) % PREFETCH_DEPTH;
        cgc_hdr *g = q->item[slot];
        q->item[slot] = &q->idle;
        work(q, g);
    }
    q->queued = 0;
}

/* ---------------------------------------------------------------- */
/* 2. subtract_refs: remove references from inside the set           */
/* ---------------------------------------------------------------- */

static void decref_now(visit_queue *q, cgc_hdr *g)
{
    if (hdr_is_collecting(g)) {
        if (hdr_refs(g) == 0)
            cgc__fatal(q->h, "traverse reports more references to an object "
                             "than its reference count holds", OBJ(g));
        hdr_set_refs(g, hdr_refs(g) - 1);
    }
}

static int visit_decref(void *referent, void *arg)
{
    visit_queue *q = arg;
    if (referent != NULL)
        decref_now(q, queue_push(q, HDR(referent)));
    return 0;
}

static int visit_decref_at_once(void *referent, void *arg)
{
    if (referent != NULL)
        decref_now(arg, HDR(referent));
    return 0;
}

/* n: the size of young, as update_refs counted it. */
static void subtract_refs(cgc_heap *h, cgc_hdr *young, size_t n)
{
    visit_queue q;
    cgc_visit_fn visit = n >= PREFETCH_MIN ? visit_decref : visit_decref_at_once;
    queue_init(&q, h, n >= PREFETCH_MIN);
    for (cgc_hdr *g = hdr_next(young); g != young; g = hdr_next(g))
        h->ops.traverse(OBJ(g), visit, &q);
    queue_drain(&q, decref_now);
}

/* ---------------------------------------------------------------- */
/* 3. mark_reachable, then move_unreachable                          */
/* ---------------------------------------------------------------- */

/*
 * After step 2 an object with gc_refs > 0 is referenced from outside the
 * set: it is a root, and everything it reaches is reachable.
 *
 * mark_reachable scans young once, in list order.  Each root not marked yet
 * is marked and traversed; every object with gc_refs == 0 that a marked
 * object references is marked too and pushed on a stack, and the stack is
 * emptied (each object popped is traversed) before the scan goes on.  A
 * root that a traversal meets is left alone: the scan marks it when it gets
 * there.  Marking clears COLLECTING, so later visits ignore the object; the
 * stack is threaded through the prev words of the marked objects, whose
 * gc_refs are no longer needed.  Every object is traversed at most once,
 * the depth of the structure costs no C stack, and nothing is allocated.
 * Visits go through the prefetch queue: a mark still queued when the scan
 * passes its object is merely late, and the queue is drained at the end.
 *
 * move_unreachable then walks young once more: marked objects stay, with
 * their prev pointers restored; the others, which nothing from outside
 * reaches, move to the unreachable list in order.
 *
 * No survivor moves, so the lists keep the order in which the host
 * allocated, which is mostly memory order, and the next collection walks
 * them at memory speed.  (CPython 3.11 does both steps in one scan that
 * moves each object with gc_refs 0 to the unreachable list at once and
 * pulls it back when a later object reaches it.  Structures built children
 * first, such as trees built bottom-up, then come back in breadth-first
 * order, and every later walk of the list jumps about in memory: the
 * bench/trees benchmark ran several times slower that way.)
 */
static inline void stack_push(visit_queue *q, cgc_hdr *g)
{
    g->prev = (uintptr_t)q->stack | (g->prev & PREV_FINALIZED);   /* COLLECTING cleared */
    q->stack = g;
}

static inline cgc_hdr *stack_pop(visit_queue *q)
{
    cgc_hdr *g = q->stack;
    q->stack = hdr_prev(g);
    return g;
}

/* A referent leaving the prefetch queue: mark it if only a marked object
   reaches it. */
static void mark_referent(visit_queue *q, cgc_hdr *g)
{
    if (hdr_is_collecting(g) && hdr_refs(g) == 0)
        stack_push(q, g);
}

static int visit_mark(void *referent, void *arg)
{
    visit_queue *q = arg;
    if (referent != NULL)
        mark_referent(q, queue_push(q, HDR(referent)));
    return 0;
}

static int visit_mark_at_once(void *referent, void *arg)
{
    if (referent != NULL)
        mark_referent(arg, HDR(referent));
    return 0;
}

static void traverse_stack(cgc_heap *h, visit_queue *q, cgc_visit_fn visit)
{
    while (q->stack != NULL)
        h->ops.traverse(OBJ(stack_pop(q)), visit, q);
}

static void mark_reachable(cgc_heap *h, cgc_hdr *young, size_t n)
{
    visit_queue q;
    cgc_visit_fn visit = n >= PREFETCH_MIN ? visit_mark : visit_mark_at_once;
    queue_init(&q, h, n >= PREFETCH_MIN);
    for (cgc_hdr *g = hdr_next(young); g != young; g = hdr_next(g)) {
        if (!hdr_is_collecting(g) || hdr_refs(g) == 0)
            continue;                   /* marked already, or not a root */
        g->prev &= PREV_FINALIZED;      /* marked (its prev is restored later) */
        h->ops.traverse(OBJ(g), visit, &q);
        traverse_stack(h, &q, visit);
    }
    while (q.queued != 0) {
        queue_drain(&q, mark_referent);
        traverse_stack(h, &q, visit);
    }
}

static size_t move_unreachable(cgc_hdr *young, cgc_hdr *unreachable)
{
    cgc_hdr *prev = young, *g, *next;
    size_t survivors = 0;
    for (g = hdr_next(young); g != young; g = next) {
        next = hdr_next(g);
        if (hdr_is_collecting(g)) {
            list_append(g, unreachable);   /* keeps COLLECTING: the set being collected */
        } else {
            prev->next = (uintptr_t)g;
            g->prev = (uintptr_t)prev | (g->prev & PREV_FINALIZED);
            prev = g;
            survivors++;
        }
    }
    prev->next = (uintptr_t)young;
    young->prev = (uintptr_t)prev;
    return survivors;
}

/*
 * Steps 1-2 over several lists at once, for introspection (introspect.c):
 * afterwards every object of the lists carries COLLECTING and, in place of
 * its prev pointer, the number of references from outside all the lists.
 * The caller restores the prev pointers with cgc__restore_prev.
 */
void cgc__external_refs(cgc_heap *h, cgc_hdr *const *lists, int nlists)
{
    size_t n = 0;
    for (int i = 0; i < nlists; i++)
        n += update_refs(h, lists[i]);
    for (int i = 0; i < nlists; i++)
        subtract_refs(h, lists[i], n);
}

void cgc__restore_prev(cgc_hdr *head)
{
    cgc_hdr *prev = head;
    for (cgc_hdr *g = hdr_next(head); g != head; g = hdr_next(g)) {
        g->prev = (uintptr_t)prev | (g->prev & PREV_FINALIZED);
        prev = g;
    }
    head->prev = (uintptr_t)prev;
}

/* Steps 1-3 together. */
static size_t deduce_unreachable(cgc_heap *h, cgc_hdr *young, cgc_hdr *unreachable)
{
    size_t n = update_refs(h, young);
    subtract_refs(h, young, n);
    mark_reachable(h, young, n);
    return move_unreachable(young, unreachable);
}

/* ---------------------------------------------------------------- */
/* 5. Legacy finalizers: uncollectable, with all they reach          */
/* ---------------------------------------------------------------- */

static int visit_move(void *referent, void *arg)
{
    cgc_hdr *g;
    if (referent == NULL)
        return 0;
    g = HDR(referent);
    if (hdr_is_collecting(g)) {
        hdr_clear_collecting(g);
        list_move(g, (cgc_hdr *)arg);
    }
    return 0;
}

static void move_legacy_finalizers(cgc_heap *h, cgc_hdr *unreachable, cgc_hdr *finalizers)
{
    cgc_hdr *g, *next;
    if (h->ops.has_legacy_finalizer == NULL)
        return;
    for (g = hdr_next(unreachable); g != unreachable; g = next) {
        next = hdr_next(g);
        if (h->ops.has_legacy_finalizer(OBJ(g))) {
            hdr_clear_collecting(g);
            list_move(g, finalizers);
        }
    }
    /* The list grows while it is walked: everything reachable from a legacy
       object joins it. */
    for (g = hdr_next(finalizers); g != finalizers; g = hdr_next(g))
        h->ops.traverse(OBJ(g), visit_move, finalizers);
}

/* ---------------------------------------------------------------- */
/* 6-7. Weak references, then finalizers                             */
/* ---------------------------------------------------------------- */

/*
 * Calls fn on every object of the list, each with a reference held, tolerant
 * of anything fn does.  only_unfinalized: skip (and mark) per PEP 442.
 * Returns how many calls it made.
 */
static size_t call_on_each(cgc_heap *h, cgc_hdr *list, void (*fn)(void *), int only_unfinalized)
{
    cgc_hdr seen;
    size_t calls = 0;
    list_init(&seen);
    while (!list_is_empty(list)) {
        cgc_hdr *g = hdr_next(list);
        void *obj = OBJ(g);
        list_move(g, &seen);
        if (only_unfinalized) {
            if (hdr_is_finalized(g))
                continue;
            g->prev |= PREV_FINALIZED;
        }
        obj_incref(h, obj);
        fn(obj);
        h->ops.decref(obj);
        calls++;
    }
    list_merge(&seen, list);
    return calls;
}

static size_t clear_weakrefs(cgc_heap *h, cgc_hdr *unreachable)
{
    if (h->ops.clear_weakrefs == NULL)
        return 0;
    return call_on_each(h, unreachable, h->ops.clear_weakrefs, 0);
}

static size_t finalize_garbage(cgc_heap *h, cgc_hdr *unreachable)
{
    if (h->ops.finalize == NULL)
        return 0;
    return call_on_each(h, unreachable, h->ops.finalize, 1);
}

/* ---------------------------------------------------------------- */
/* 8. Resurrection                                                   */
/* ---------------------------------------------------------------- */

/*
 * A finalizer may have stored a reference to an unreachable object in a live
 * one.  Steps 1-3 again, on the unreachable set alone: whatever is now
 * referenced from outside it, and all that reaches, survives into old.
 * When no host code ran since step 3 (no weakref clearing, no finalizer:
 * the usual case), nothing can have changed and the pass is skipped.
 */
static void handle_resurrected_objects(cgc_heap *h, cgc_hdr *unreachable,
                                       cgc_hdr *still_unreachable, cgc_hdr *old,
                                       size_t host_calls)
{
    if (host_calls == 0) {
        list_merge(unreachable, still_unreachable);
        return;
    }
    deduce_unreachable(h, unreachable, still_unreachable);
    list_merge(unreachable, old);
}

/* ---------------------------------------------------------------- */
/* 9. delete_garbage: break the cycles                               */
/* ---------------------------------------------------------------- */

static void move_to_old(cgc_hdr *g, cgc_hdr *old)
{
    hdr_clear_collecting(g);
    list_move(g, old);
}

static void delete_garbage(cgc_heap *h, cgc_hdr *collectable, cgc_hdr *old)
{
    if (h->debug & CGC_DEBUG_SAVEALL) {
        /* Keep everything, on the garbage list; no host callback runs here.
           If the list cannot grow, the objects simply stay alive in old. */
        int saved = cgc__garbage_reserve(h, list_size(collectable)) == CGC_OK;
        while (!list_is_empty(collectable)) {
            cgc_hdr *g = hdr_next(collectable);
            if (saved)
                cgc__garbage_push(h, OBJ(g));
            move_to_old(g, old);
        }
        return;
    }
    while (!list_is_empty(collectable)) {
        cgc_hdr *g = hdr_next(collectable);
        void *obj = OBJ(g);
        obj_incref(h, obj);
        h->ops.clear(obj);
        h->ops.decref(obj);
        /* Still first in the list: clear() did not free it.  Something may
           die later; for now it survives into the older generation. */
        if (hdr_next(collectable) == g)
            move_to_old(g, old);
    }
}

/* ---------------------------------------------------------------- */
/* 10. Legacy finalizers go on the garbage list                      */
/* ---------------------------------------------------------------- */

static size_t handle_legacy_finalizers(cgc_heap *h, cgc_hdr *finalizers, cgc_hdr *old)
{
    int saveall = (h->debug & CGC_DEBUG_SAVEALL) != 0;
    size_t n = 0, listed = 0;
    cgc_hdr *g;

    for (g = hdr_next(finalizers); g != finalizers; g = hdr_next(g)) {
        n++;
        if (saveall || h->ops.has_legacy_finalizer(OBJ(g)))
            listed++;
    }
    if (listed > 0 && cgc__garbage_reserve(h, listed) == CGC_OK) {
        for (g = hdr_next(finalizers); g != finalizers; g = hdr_next(g))
            if (saveall || h->ops.has_legacy_finalizer(OBJ(g)))
                cgc__garbage_push(h, OBJ(g));
    }
    list_merge(finalizers, old);
    return n;
}

/* ---------------------------------------------------------------- */
/* The collection                                                    */
/* ---------------------------------------------------------------- */

/* CGC_DEBUG_COLLECTABLE / UNCOLLECTABLE: one line per object (describe is
   pure, so the list cannot change under the walk). */
static void log_each(cgc_heap *h, const char *what, cgc_hdr *list)
{
    for (cgc_hdr *g = hdr_next(list); g != list; g = hdr_next(g))
        cgc__log_object(h, what, OBJ(g));
}

static void collect_generation(cgc_heap *h, int generation, size_t examined[],
                               size_t *collected, size_t *uncollectable)
{
    cgc_hdr *young = &h->gen[generation];
    cgc_hdr *old = generation + 1 < NUM_GENERATIONS ? &h->gen[generation + 1] : young;
    cgc_hdr unreachable, finalizers, final_unreachable;
    size_t survivors, host_calls;
    int i;

    /* Bookkeeping: this collection resets the counts it covers and counts
       toward the next generation's. */
    if (generation + 1 < NUM_GENERATIONS)
        cgc__count_add(h, generation + 1, 1);
    for (i = 0; i <= generation; i++)
        cgc__count_set(h, i, 0);
    if (examined != NULL)
        for (i = 0; i <= generation; i++)
            examined[i] = list_size(&h->gen[i]);
    for (i = 0; i < generation; i++)
        list_merge(&h->gen[i], young);

    /* Steps 1-3. */
    list_init(&unreachable);
    survivors = deduce_unreachable(h, young, &unreachable);
    validate_list(h, young, 0);
    validate_list(h, &unreachable, PREV_COLLECTING);

    /* 4. Survivors move up one generation; the 25% rule watches gen 2. */
    if (young != old) {
        if (generation == NUM_GENERATIONS - 2)
            h->long_lived_pending += survivors;
        list_merge(young, old);
    } else {
        h->long_lived_pending = 0;
        h->long_lived_total = survivors;
    }

    /* 5. Legacy finalizers and what they reach: left alone. */
    list_init(&finalizers);
    move_legacy_finalizers(h, &unreachable, &finalizers);
    validate_list(h, &finalizers, 0);

    /* 6. Weak references to the unreachable objects are cleared first, so
       no weakref callback can see a half-cleared object. */
    host_calls = clear_weakrefs(h, &unreachable);

    /* 7. Finalizers, at most once per object. */
    host_calls += finalize_garbage(h, &unreachable);

    /* 8. What a finalizer resurrected survives. */
    list_init(&final_unreachable);
    handle_resurrected_objects(h, &unreachable, &final_unreachable, old, host_calls);
    validate_list(h, &final_unreachable, PREV_COLLECTING);
    if (old == young)
        validate_list(h, old, 0);

    /* 9. Break the cycles. */
    *collected = list_size(&final_unreachable);
    if (h->debug & CGC_DEBUG_COLLECTABLE)
        log_each(h, "collectable", &final_unreachable);
    delete_garbage(h, &final_unreachable, old);

    /* 10. Uncollectable objects: counted, legacy ones listed as garbage. */
    if (h->debug & CGC_DEBUG_UNCOLLECTABLE)
        log_each(h, "uncollectable", &finalizers);
    *uncollectable = handle_legacy_finalizers(h, &finalizers, old);
    if (old == young)
        validate_list(h, old, 0);
}

/*
 * A whole collection, with the host's callbacks around it and statistics
 * after.  The caller has checked that no collection is running.
 */
long cgc__collect_main(cgc_heap *h, int generation)
{
    cgc_collect_info info = { generation, 0, 0, 0 };
    size_t examined[NUM_GENERATIONS] = { 0 };
    int stats_line;                     /* decided once: callbacks may change h->debug */
    uint64_t t0;

    cgc_atomic_store(&h->collecting, 1);
    h->pending = 0;
    cgc__run_callbacks(h, CGC_PHASE_START, &info);

    stats_line = (h->debug & CGC_DEBUG_STATS) != 0;
    t0 = cgc__now_ns();
    collect_generation(h, generation, stats_line ? examined : NULL, &info.collected,
                       &info.uncollectable);
    info.duration_ns = cgc__now_ns() - t0;
    if (stats_line)
        cgc__log_stats(h, generation, examined, info.collected + info.uncollectable,
                       info.uncollectable, info.duration_ns);

    cgc__stats_record(h, generation, info.collected, info.uncollectable, info.duration_ns);
    cgc__run_callbacks(h, CGC_PHASE_STOP, &info);
    cgc_atomic_store(&h->collecting, 0);
    return (long)(info.collected + info.uncollectable);
}
