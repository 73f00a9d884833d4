/*
 * introspect.c -- looking at the object graph without collecting it:
 * cgc_get_objects, cgc_get_referrers, cgc_get_referents, cgc_explain_alive
 * and the Graphviz dump.
 *
 * cgc_explain_alive and CGC_DOT_UNREACHABLE need to know which objects are
 * referenced from outside a set, and what those reach.  They borrow the
 * collector's own machinery (see collect.c) without moving anything:
 *
 *   1. cgc__external_refs runs update_refs and subtract_refs over the lists
 *      in place: each object's prev word now holds its external references.
 *   2. Objects with external references are roots.  A breadth-first search
 *      from all roots at once follows traverse; the queue is an array of
 *      one pointer per object, allocated before step 1 (so running out of
 *      memory changes nothing).  A reached object's prev word holds the
 *      object it was reached from, and its COLLECTING flag is cleared; what
 *      keeps COLLECTING is unreachable.
 *   3. cgc__restore_prev rebuilds every prev pointer from the next links.
 *
 * Only traverse (and describe, for the dump) runs meanwhile; no object
 * changes list, no count or statistic changes.
 */
#include <stdlib.h>

#include "internal.h"

/* ---------------------------------------------------------------- */
/* Walking the tracked objects                                       */
/* ---------------------------------------------------------------- */

/*
 * The list being walked is first set aside, and each object is moved to a
 * "seen" list before fn runs, so fn may untrack or free any object and
 * track new ones (those land in the live generation list and are not
 * visited).  The heap knows both private lists, so a cgc_freeze from fn
 * freezes them too.  Collections wait until the walk is over; a second walk
 * from inside fn is refused (CGC_EBUSY), as it could not see them.
 */
static int walk_generation(cgc_heap *h, cgc_hdr *gen, cgc_visit_fn fn, void *arg)
{
    cgc_hdr todo, seen;
    int rc = 0;
    list_init(&todo);
    list_init(&seen);
    list_merge(gen, &todo);
    h->walk_todo = &todo;
    h->walk_seen = &seen;
    while (rc == 0 && !list_is_empty(&todo)) {
        cgc_hdr *g = hdr_next(&todo);
        list_move(g, &seen);
        rc = fn(OBJ(g), arg);
    }
    list_merge(&todo, &seen);           /* visited, then not visited, */
    list_merge(gen, &seen);             /* then what fn tracked */
    list_merge(&seen, gen);
    h->walk_todo = h->walk_seen = NULL;
    return rc;
}

int cgc_get_objects(cgc_heap *h, int generation, cgc_visit_fn fn, void *arg)
{
    int rc = 0, first, last;
    if (h == NULL || fn == NULL || generation < -1 || generation >= NUM_GENERATIONS)
        return CGC_EINVAL;
    if (h->walking)
        return CGC_EBUSY;
    first = generation < 0 ? 0 : generation;
    last = generation < 0 ? NUM_GENERATIONS - 1 : generation;
    h->walking = 1;
    for (int i = first; rc == 0 && i <= last; i++)
        rc = walk_generation(h, &h->gen[i], fn, arg);
    h->walking = 0;
    return rc;
}

/* ---------------------------------------------------------------- */
/* Referrers and referents                                           */
/* ---------------------------------------------------------------- */

typedef struct referrers_ctx {
    cgc_heap *h;
    void *target;
    cgc_visit_fn fn;
    void *arg;
} referrers_ctx;

static int is_target(void *referent, void *target)
{
    return referent == target;
}

static int visit_referrer(void *obj, void *arg)
{
    referrers_ctx *c = arg;
    if (c->h->ops.traverse(obj, is_target, c->target))
        return c->fn(obj, c->arg);
    return 0;
}

int cgc_get_referrers(cgc_heap *h, void *target, cgc_visit_fn fn, void *arg)
{
    referrers_ctx c = { h, target, fn, arg };
    if (h == NULL || target == NULL || fn == NULL)
        return CGC_EINVAL;
    return cgc_get_objects(h, -1, visit_referrer, &c);
}

int cgc_get_referents(cgc_heap *h, void *obj, cgc_visit_fn fn, void *arg)
{
    if (h == NULL || obj == NULL || fn == NULL)
        return CGC_EINVAL;
    return h->ops.traverse(obj, fn, arg);
}

/* ---------------------------------------------------------------- */
/* Reachability analysis                                             */
/* ---------------------------------------------------------------- */

typedef struct analysis {
    cgc_heap *h;
    cgc_hdr *lists[NUM_GENERATIONS + 1];
    int nlists;
    cgc_hdr **queue;
    size_t head, tail;
    cgc_hdr *goal;                      /* stop once this one is reached */
} analysis;

static int analysis_begin(analysis *a, cgc_heap *h, int with_permanent)
{
    size_t n = 0;
    if (cgc_atomic_load(&h->collecting) || h->walking)
        return CGC_EBUSY;
    a->h = h;
    a->nlists = 0;
    for (int i = 0; i < NUM_GENERATIONS; i++)
        a->lists[a->nlists++] = &h->gen[i];
    if (with_permanent)
        a->lists[a->nlists++] = &h->permanent;
    for (int i = 0; i < a->nlists; i++)
        n += list_size(a->lists[i]);
    a->queue = malloc((n ? n : 1) * sizeof *a->queue);
    if (a->queue == NULL)
        return CGC_ENOMEM;
    a->head = a->tail = 0;
    a->goal = NULL;
    cgc__external_refs(h, a->lists, a->nlists);
    return CGC_OK;
}

static void mark_reached(analysis *a, cgc_hdr *g, cgc_hdr *from)
{
    g->prev = (uintptr_t)from | (g->prev & PREV_FINALIZED);   /* clears COLLECTING */
    a->queue[a->tail++] = g;
}

static int visit_reach(void *referent, void *arg)
{
    analysis *a = arg;
    cgc_hdr *g;
    if (referent == NULL)
        return 0;
    g = HDR(referent);
    if (!hdr_is_collecting(g))
        return 0;                       /* outside the set, or reached already */
    mark_reached(a, g, a->queue[a->head - 1]);
    return g == a->goal;
}

/* Breadth-first search from every root; returns 1 if the goal was reached. */
static int analysis_search(analysis *a)
{
    for (int i = 0; i < a->nlists; i++)
        for (cgc_hdr *g = hdr_next(a->lists[i]); g != a->lists[i]; g = hdr_next(g))
            if (hdr_is_collecting(g) && hdr_refs(g) > 0)
                mark_reached(a, g, NULL);
    if (a->goal != NULL && !hdr_is_collecting(a->goal))
        return 1;
    while (a->head < a->tail) {
        cgc_hdr *g = a->queue[a->head++];
        if (a->h->ops.traverse(OBJ(g), visit_reach, a) && a->goal != NULL
            && !hdr_is_collecting(a->goal))
            return 1;
    }
    /* Also right if a traverse failed to pass visit's nonzero return on. */
    return a->goal != NULL && !hdr_is_collecting(a->goal);
}

/* Every header as it was before analysis_begin. */
static void analysis_restore(analysis *a)
{
    for (int i = 0; i < a->nlists; i++) {
        cgc_hdr *head = a->lists[i];
        for (cgc_hdr *g = hdr_next(head); g != head; g = hdr_next(g))
            hdr_clear_collecting(g);
        cgc__restore_prev(head);
    }
}

int cgc_explain_alive(cgc_heap *h, void *obj, cgc_visit_fn fn, void *arg)
{
    analysis a;
    size_t len = 0;
    int rc, found;

    if (h == NULL || obj == NULL || fn == NULL || !hdr_is_tracked(HDR(obj)))
        return CGC_EINVAL;
    if ((rc = analysis_begin(&a, h, 1)) != CGC_OK)
        return rc;
    a.goal = HDR(obj);
    found = analysis_search(&a);
    if (found) {
        /* Walk the parent links back to the root; the queue's slots are free
           again and hold the chain, goal first. */
        for (cgc_hdr *g = a.goal; g != NULL; g = hdr_prev(g))
            a.queue[len++] = g;
    }
    analysis_restore(&a);               /* before fn: it sees a consistent heap */
    rc = found ? CGC_OK : 1;
    while (len > 0 && rc == CGC_OK)
        rc = fn(OBJ(a.queue[--len]), arg);
    free(a.queue);
    return rc;
}

/* ---------------------------------------------------------------- */
/* Graphviz dump                                                     */
/* ---------------------------------------------------------------- */

typedef struct dot_ctx {
    FILE *out;
    const void *from;
    int (*member)(struct dot_ctx *c, void *obj);
    void **sorted;                      /* CGC_DOT_GARBAGE: the list, sorted */
    size_t nsorted;
} dot_ctx;

static void dot_node(cgc_heap *h, FILE *out, void *obj)
{
    char desc[512];
    cgc__describe(h, obj, desc, sizeof desc);
    fprintf(out, "  o%p [label=\"", obj);
    for (const char *p = desc; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else if ((unsigned char)*p < 0x20 || *p == 0x7f)
            fputc(' ', out);
        else
            fputc(*p, out);
    }
    fputs("\"];\n", out);
}

static int dot_edge(void *referent, void *arg)
{
    dot_ctx *c = arg;
    if (referent != NULL && c->member(c, referent))
        fprintf(c->out, "  o%p -> o%p;\n", c->from, referent);
    return 0;
}

static int member_tracked(dot_ctx *c, void *obj)
{
    (void)c;
    return hdr_is_tracked(HDR(obj));
}

static int member_unreachable(dot_ctx *c, void *obj)
{
    (void)c;
    return hdr_is_collecting(HDR(obj));
}

static int compare_ptr(const void *x, const void *y)
{
    uintptr_t a = (uintptr_t)*(void *const *)x, b = (uintptr_t)*(void *const *)y;
    return a < b ? -1 : a > b;
}

static int member_garbage(dot_ctx *c, void *obj)
{
    return bsearch(&obj, c->sorted, c->nsorted, sizeof *c->sorted, compare_ptr) != NULL;
}

static void dot_object(cgc_heap *h, dot_ctx *c, void *obj)
{
    dot_node(h, c->out, obj);
    c->from = obj;
    h->ops.traverse(obj, dot_edge, c);
}

int cgc_dump_dot(cgc_heap *h, FILE *out, int what)
{
    dot_ctx c = { out, NULL, NULL, NULL, 0 };
    analysis a;
    int rc;

    if (h == NULL || out == NULL || what < CGC_DOT_ALL || what > CGC_DOT_UNREACHABLE)
        return CGC_EINVAL;
    if (cgc_atomic_load(&h->collecting) || h->walking)
        return CGC_EBUSY;

    if (what == CGC_DOT_GARBAGE) {
        c.nsorted = h->ngarbage;
        c.sorted = malloc((c.nsorted ? c.nsorted : 1) * sizeof *c.sorted);
        if (c.sorted == NULL)
            return CGC_ENOMEM;
        if (c.nsorted > 0)
            memcpy(c.sorted, h->garbage, c.nsorted * sizeof *c.sorted);
        qsort(c.sorted, c.nsorted, sizeof *c.sorted, compare_ptr);
        c.member = member_garbage;
    } else if (what == CGC_DOT_UNREACHABLE) {
        if ((rc = analysis_begin(&a, h, 0)) != CGC_OK)
            return rc;
        analysis_search(&a);
        c.member = member_unreachable;
    } else {
        c.member = member_tracked;
    }

    fputs("digraph cyclegc {\n  node [shape=box, fontname=\"monospace\"];\n", out);
    if (what == CGC_DOT_GARBAGE) {
        for (size_t i = 0; i < c.nsorted; i++)
            if (i == 0 || c.sorted[i] != c.sorted[i - 1])   /* listed twice: drawn once */
                dot_object(h, &c, c.sorted[i]);
    } else {
        cgc_hdr *lists[] = { &h->gen[0], &h->gen[1], &h->gen[2], &h->permanent };
        for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
            for (cgc_hdr *g = hdr_next(lists[i]); g != lists[i]; g = hdr_next(g))
                if (what == CGC_DOT_ALL || hdr_is_collecting(g))
                    dot_object(h, &c, OBJ(g));
    }
    fputs("}\n", out);

    if (what == CGC_DOT_UNREACHABLE) {
        analysis_restore(&a);
        free(a.queue);
    }
    free(c.sorted);
    return ferror(out) ? CGC_EINVAL : CGC_OK;
}
