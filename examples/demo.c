/*
 * demo.c -- cyclegc in a toy reference-counted runtime.
 *
 * The "runtime" here is a box: a reference-counted object with two slots
 * that can each hold a reference to another box.  Plain reference counting
 * frees a box when its count drops to zero, but never frees a ring of boxes
 * that point at each other; cyclegc finds those rings.
 *
 * The demo builds
 *   - reachable data held by the program: a 100,000-box list and a small
 *     tree whose leaves point back to the root (cycles that are still in use),
 *   - an "old" ring that survives a young collection and is dropped later,
 *   - young cyclic garbage: a ring, a box that holds itself, a pair with a
 *     finalizer, and a pair with a legacy finalizer (uncollectable),
 * then runs a young collection and a full one, checks that exactly the
 * garbage was freed and that the reachable data is intact, and prints the
 * per-generation statistics.  It exits 0 when everything matched.
 *
 * Build and run with "make demo".
 */
#include <cyclegc.h>

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* The toy runtime                                                     */
/* ------------------------------------------------------------------ */

enum {
    BOX_FINALIZER = 1u << 0,     /* has a (PEP 442 style) finalizer */
    BOX_LEGACY    = 1u << 1      /* has a legacy finalizer: never collected */
};

typedef struct box {
    int64_t refcnt;              /* the runtime's reference count */
    struct box *slot[2];         /* references to other boxes (or NULL) */
    unsigned flags;
    size_t serial;               /* creation number, index into box_alive */
    char label[24];
} box;

#define MAX_BOXES 110000u

static cgc_heap *heap;
static unsigned char box_alive[MAX_BOXES];   /* 1 while box #serial exists */
static size_t boxes_made, boxes_live;
static size_t deallocs, finalized;
static size_t dealloc_depth, dealloc_max_depth, dealloc_deferred;

static _Noreturn void fail_fast(const char *what)
{
    fprintf(stderr, "demo: %s\n", what);
    exit(2);
}

static box *box_new(const char *label, unsigned flags)
{
    box *b;

    if (boxes_made >= MAX_BOXES)
        fail_fast("too many boxes");
    b = cgc_alloc(heap, sizeof *b);
    if (b == NULL)
        fail_fast("out of memory");
    memset(b, 0, sizeof *b);
    b->refcnt = 1;
    b->flags = flags;
    b->serial = boxes_made++;
    snprintf(b->label, sizeof b->label, "%s", label);
    box_alive[b->serial] = 1;
    boxes_live++;
    if (cgc_track(heap, b) != CGC_OK)
        fail_fast("cgc_track failed");
    return b;
}

static box *box_incref(box *b)
{
    if (b != NULL)
        b->refcnt++;
    return b;
}

static void box_dealloc(void *obj);

static void box_decref(box *b)
{
    if (b != NULL && --b->refcnt == 0)
        box_dealloc(b);
}

/* Store a new reference to value in b->slot[i], releasing the old one. */
static void box_set(box *b, int i, box *value)
{
    box *old = b->slot[i];

    b->slot[i] = box_incref(value);
    box_decref(old);
}

/* Freeing the 100,000-box list recurses once per box; the trashcan keeps
   the C stack bounded by deferring boxes nested too deeply (they come back
   through ops.dealloc, which is this same function). */
static void box_dealloc(void *obj)
{
    box *b = obj;
    box *child0, *child1;

    if (!cgc_trashcan_begin(heap, b)) {
        dealloc_deferred++;     /* queued: it comes back through ops.dealloc */
        return;
    }
    if (++dealloc_depth > dealloc_max_depth)
        dealloc_max_depth = dealloc_depth;
    cgc_untrack(heap, b);
    child0 = b->slot[0];
    child1 = b->slot[1];
    b->slot[0] = b->slot[1] = NULL;
    box_decref(child0);
    box_decref(child1);
    box_alive[b->serial] = 0;
    boxes_live--;
    deallocs++;
    cgc_free(heap, b);
    dealloc_depth--;
    cgc_trashcan_end(heap);
}

/* ------------------------------------------------------------------ */
/* The callbacks cyclegc needs                                         */
/* ------------------------------------------------------------------ */

static int box_traverse(void *obj, cgc_visit_fn visit, void *arg)
{
    box *b = obj;
    int i, r;

    for (i = 0; i < 2; i++) {
        if (b->slot[i] != NULL && (r = visit(b->slot[i], arg)) != 0)
            return r;
    }
    return 0;
}

static void box_clear(void *obj)
{
    box *b = obj;
    int i;

    for (i = 0; i < 2; i++) {
        box *old = b->slot[i];
        b->slot[i] = NULL;
        box_decref(old);
    }
}

static void box_decref_op(void *obj)
{
    box_decref(obj);
}

static void box_finalize(void *obj)
{
    box *b = obj;

    if (b->flags & BOX_FINALIZER) {
        finalized++;
        printf("    finalizer ran on %s\n", b->label);
    }
}

static int box_has_legacy_finalizer(void *obj)
{
    return (((box *) obj)->flags & BOX_LEGACY) != 0;
}

static size_t box_describe(void *obj, char *buf, size_t len)
{
    box *b = obj;
    int n = snprintf(buf, len, "box %s (refcnt %" PRId64 ")", b->label, b->refcnt);

    if (n < 0)
        return 0;
    return (size_t) n < len ? (size_t) n : (len ? len - 1 : 0);
}

static void on_collection(cgc_heap *h, cgc_phase phase, const cgc_collect_info *info,
                          void *ctx)
{
    (void) h;
    (void) ctx;
    if (phase == CGC_PHASE_STOP)
        printf("    [gc] generation %d: %zu collectable, %zu uncollectable, %.3f ms\n",
               info->generation, info->collected, info->uncollectable,
               (double) info->duration_ns / 1e6);
}

/* ------------------------------------------------------------------ */
/* Building data                                                       */
/* ------------------------------------------------------------------ */

/* A ring of n boxes; returns one reference to its first box. */
static box *make_ring(const char *name, size_t n, unsigned flags)
{
    box *first = box_new(name, flags), *prev = first;
    size_t i;

    for (i = 1; i < n; i++) {
        char label[24];
        box *b;

        snprintf(label, sizeof label, "%s.%zu", name, i);
        b = box_new(label, flags);
        box_set(prev, 0, b);
        box_decref(b);          /* prev's slot holds it now */
        prev = b;
    }
    box_set(prev, 0, first);    /* close the ring */
    return first;
}

/* A complete binary tree of the given depth whose leaves point at root. */
static box *make_tree(box *root, int depth, size_t *count)
{
    box *b = box_new("tree", 0);

    (*count)++;
    if (root == NULL)
        root = b;
    if (depth == 0) {
        box_set(b, 0, root);    /* a back edge: a cycle that is still in use */
    } else {
        int i;
        for (i = 0; i < 2; i++) {
            box *child = make_tree(root, depth - 1, count);
            box_set(b, i, child);
            box_decref(child);
        }
    }
    return b;
}

static size_t count_tree(const box *b, const box *root)
{
    if (b->slot[1] == NULL)                     /* a leaf */
        return b->slot[0] == root ? 1 : (size_t) 1 << 30;
    return 1 + count_tree(b->slot[0], root) + count_tree(b->slot[1], root);
}

/* ------------------------------------------------------------------ */

static int failures;

#define EXPECT(cond, ...)                                   \
    do {                                                    \
        if (cond) {                                         \
            printf("  ok    ");                             \
        } else {                                            \
            printf("  FAIL  ");                             \
            failures++;                                     \
        }                                                   \
        printf(__VA_ARGS__);                                \
        printf("\n");                                       \
    } while (0)

#define LIST_LEN   100000u
#define TREE_DEPTH 6

static const cgc_host_ops box_ops = {
    .refcnt_offset = offsetof(box, refcnt),
    .refcnt_width = sizeof(int64_t),
    .traverse = box_traverse,
    .clear = box_clear,
    .decref = box_decref_op,
    .finalize = box_finalize,
    .has_legacy_finalizer = box_has_legacy_finalizer,
    .dealloc = box_dealloc,
    .describe = box_describe,
};

/* ------------------------------------------------------------------ */
/* The demo: "make demo"                                               */
/* ------------------------------------------------------------------ */

static int run_demo(void)
{
    cgc_config cfg = { .ops = &box_ops };
    box *list, *node, *tree, *old_ring, *b;
    size_t i, tree_size = 0, list_ok, reachable_first, reachable_last;
    size_t before;
    long found;
    int gen, ok;

    printf("cyclegc %s demo\n\n", cgc_version());

    heap = cgc_heap_new(&cfg);
    if (heap == NULL)
        fail_fast("cgc_heap_new failed");
    /* Automatic collection off: the numbers below come only from the
       explicit collections. */
    cgc_disable(heap);
    if (cgc_add_callback(heap, on_collection, NULL) != CGC_OK)
        fail_fast("cgc_add_callback failed");

    /* --- reachable data ----------------------------------------------- */
    reachable_first = boxes_made;
    list = box_new("list.0", 0);
    node = list;
    for (i = 1; i < LIST_LEN; i++) {
        char label[24];
        snprintf(label, sizeof label, "list.%zu", i);
        b = box_new(label, 0);
        box_set(node, 0, b);
        box_decref(b);
        node = b;
    }
    tree = make_tree(NULL, TREE_DEPTH, &tree_size);
    reachable_last = boxes_made;
    old_ring = make_ring("old", 3, 0);
    printf("built: a %u-box list and a %zu-box tree (leaves point back at the root),\n"
           "       held by the program, and a 3-box ring 'old'\n\n", LIST_LEN, tree_size);

    printf("young collection (generation 0), everything still in use:\n");
    found = cgc_collect(heap, 0);
    EXPECT(found == 0, "cgc_collect(h, 0) returned %ld (expected 0)", found);

    /* --- garbage -------------------------------------------------------- */
    box_decref(old_ring);            /* 'old' now sits unreachable in generation 1 */
    box_decref(make_ring("ring", 4, 0));
    b = box_new("self", 0);
    box_set(b, 0, b);
    box_decref(b);
    box_decref(make_ring("fin", 2, BOX_FINALIZER));
    b = make_ring("legacy", 2, 0);
    b->flags |= BOX_LEGACY;          /* one legacy finalizer: the pair is uncollectable */
    box_decref(b);
    printf("\ndropped: ring 'old' (3 boxes, generation 1) and, in generation 0,\n"
           "         ring 'ring' (4), self-cycle 'self' (1), pair 'fin' with finalizers (2),\n"
           "         pair 'legacy' with a legacy finalizer (2, uncollectable)\n\n");

    printf("young collection (generation 0):\n");
    before = deallocs;
    found = cgc_collect(heap, 0);
    EXPECT(found == 9, "cgc_collect(h, 0) returned %ld (expected 9: 7 collectable + 2 uncollectable)",
           found);
    EXPECT(deallocs - before == 7, "%zu boxes deallocated (expected 7)", deallocs - before);
    EXPECT(finalized == 2, "%zu finalizers ran (expected 2)", finalized);
    /* As CPython's gc.garbage: only the box with the legacy finalizer goes on
       the list; its partner stays alive because the listed box refers to it. */
    EXPECT(cgc_garbage_count(heap) == 1,
           "garbage list holds %zu box(es) (expected 1: 'legacy', which keeps 'legacy.1')",
           cgc_garbage_count(heap));

    printf("\nfull collection (generation 2):\n");
    before = deallocs;
    found = cgc_collect(heap, 2);
    EXPECT(found == 3, "cgc_collect(h, 2) returned %ld (expected 3: ring 'old')", found);
    EXPECT(deallocs - before == 3, "%zu boxes deallocated (expected 3)", deallocs - before);

    /* --- is the reachable data intact? ----------------------------------- */
    printf("\nreachable data:\n");
    ok = 1;
    for (i = reachable_first; i < reachable_last; i++)
        ok &= box_alive[i];
    EXPECT(ok, "none of the %zu reachable boxes was freed", reachable_last - reachable_first);
    if (ok) {
        list_ok = 0;
        for (node = list; node != NULL; node = node->slot[0]) {
            char label[24];
            snprintf(label, sizeof label, "list.%zu", list_ok);
            if (node->refcnt != 1 || strcmp(node->label, label) != 0)
                break;
            list_ok++;
        }
        EXPECT(list_ok == LIST_LEN, "list walk: %zu of %u boxes intact", list_ok, LIST_LEN);
        EXPECT(count_tree(tree, tree) == tree_size, "tree walk: %zu boxes, leaves point at the root",
               tree_size);
    }

    /* --- uncollectable garbage: the program breaks the cycle itself ------ */
    printf("\nuncollectable garbage (what CPython calls gc.garbage); the program\n"
           "breaks the cycle itself, then drops the list's references:\n");
    for (i = 0; i < cgc_garbage_count(heap); i++) {
        char buf[64];
        box_describe(cgc_garbage_get(heap, i), buf, sizeof buf);
        printf("    %s\n", buf);
    }
    before = deallocs;
    for (i = 0; i < cgc_garbage_count(heap); i++)
        box_clear(cgc_garbage_get(heap, i));
    cgc_garbage_clear(heap);
    EXPECT(deallocs - before == 2 && cgc_garbage_count(heap) == 0,
           "after breaking the cycle and cgc_garbage_clear: %zu boxes deallocated (expected 2)",
           deallocs - before);

    /* --- tear down ------------------------------------------------------- */
    printf("\ndropping the list (freed through the trashcan) and the tree:\n");
    before = deallocs;
    dealloc_max_depth = dealloc_deferred = 0;
    box_decref(list);
    EXPECT(deallocs - before == LIST_LEN, "%zu list boxes deallocated (expected %u)",
           deallocs - before, LIST_LEN);
    EXPECT(dealloc_max_depth <= 2 * CGC_TRASHCAN_DEPTH,
           "deepest nesting of box_dealloc: %zu (trashcan depth %d; %zu deallocations deferred)",
           dealloc_max_depth, CGC_TRASHCAN_DEPTH, dealloc_deferred);
    box_decref(tree);                /* the back edges keep the tree alive ... */
    found = cgc_collect(heap, 2);    /* ... until the collector finds it */
    EXPECT((size_t) found == tree_size, "cgc_collect(h, 2) returned %ld (expected %zu)", found,
           tree_size);
    EXPECT(boxes_live == 0, "%zu boxes still alive (expected 0; %zu made, %zu deallocated)",
           boxes_live, boxes_made, deallocs);

    /* --- statistics ------------------------------------------------------ */
    printf("\nper-generation statistics (cgc_get_stats):\n\n");
    printf("  %-10s %11s %9s %13s %10s %12s\n", "generation", "collections", "collected",
           "uncollectable", "total ms", "max pause ms");
    for (gen = 0; gen < 3; gen++) {
        cgc_gen_stats st;
        if (cgc_get_stats(heap, gen, &st) != CGC_OK) {
            EXPECT(0, "cgc_get_stats(h, %d) failed", gen);
            continue;
        }
        printf("  %-10d %11" PRIu64 " %9" PRIu64 " %13" PRIu64 " %10.3f %12.3f\n", gen,
               st.collections, st.collected, st.uncollectable, (double) st.total_ns / 1e6,
               (double) st.max_pause_ns / 1e6);
    }

    cgc_heap_free(heap);

    if (failures) {
        printf("\ndemo: %d check%s FAILED\n", failures, failures == 1 ? "" : "s");
        return 1;
    }
    printf("\ndemo: all checks passed\n");
    return 0;
}

/* ------------------------------------------------------------------ */
/* Hunting a leak: "examples/demo --leak DIR" (doc/debugging-leaks.md) */
/* ------------------------------------------------------------------ */

static void print_log_line(void *ctx, const char *line)
{
    (void) ctx;
    printf("    log: %s\n", line);
}

static int print_chain_link(void *obj, void *arg)
{
    char buf[64];
    int *step = arg;
    box_describe(obj, buf, sizeof buf);
    printf("    %s%s\n", (*step)++ ? "-> " : "   ", buf);
    return 0;
}

static int dump(const char *dir, const char *name, int what)
{
    char path[512];
    FILE *f;
    int rc;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if ((f = fopen(path, "w")) == NULL) {
        perror(path);
        return -1;
    }
    rc = cgc_dump_dot(heap, f, what);
    if (fclose(f) != 0 || rc != CGC_OK)
        return -1;
    printf("    wrote %s\n", path);
    return 0;
}

/*
 * A toy server handles three requests.  Each request and its session point
 * at each other (a cycle), so only the collector can free them once the
 * server drops them.  But request 2 was also put in a cache by mistake: it
 * never dies.  The steps below are the ones doc/debugging-leaks.md walks
 * through.
 */
static int run_leak(const char *dir)
{
    cgc_config cfg = { .ops = &box_ops };
    box *cache, *req[4] = { NULL }, *sess;
    int step = 0, i;
    long found;

    heap = cgc_heap_new(&cfg);
    if (heap == NULL)
        fail_fast("cgc_heap_new failed");
    cgc_disable(heap);
    cgc_set_log(heap, print_log_line, NULL);

    cache = box_new("cache", 0);
    for (i = 1; i <= 3; i++) {
        char label[24];
        snprintf(label, sizeof label, "request-%d", i);
        req[i] = box_new(label, 0);
        snprintf(label, sizeof label, "session-%d", i);
        sess = box_new(label, 0);
        box_set(req[i], 0, sess);
        box_set(sess, 0, req[i]);
        if (i == 2)
            box_set(cache, 0, req[i]);       /* the bug */
        box_decref(sess);
        box_decref(req[i]);                  /* the server is done with it */
    }
    printf("three requests handled and dropped; %zu boxes alive\n\n", boxes_live);

    printf("1. every tracked object (CGC_DOT_ALL), and what a full collection\n"
           "   would find now (CGC_DOT_UNREACHABLE)\n");
    if (dump(dir, "all.dot", CGC_DOT_ALL) != 0 || dump(dir, "unreachable.dot", CGC_DOT_UNREACHABLE) != 0)
        fail_fast("cgc_dump_dot failed");

    printf("\n2. collect with CGC_DEBUG_LEAK: log every object, keep the garbage\n");
    cgc_set_debug(heap, CGC_DEBUG_LEAK | CGC_DEBUG_STATS);
    found = cgc_collect(heap, 2);
    printf("    cgc_collect found %ld; the garbage list holds %zu\n", found,
           cgc_garbage_count(heap));
    if (dump(dir, "garbage.dot", CGC_DOT_GARBAGE) != 0)
        fail_fast("cgc_dump_dot failed");
    cgc_set_debug(heap, 0);
    cgc_garbage_clear(heap);
    found = cgc_collect(heap, 2);
    printf("    after cgc_garbage_clear, a collection frees them: %ld\n", found);

    printf("\n3. request-2 should be gone too, but %s alive: why?\n",
           box_alive[req[2]->serial] ? "is" : "is not");
    if (cgc_explain_alive(heap, req[2], print_chain_link, &step) != CGC_OK)
        fail_fast("cgc_explain_alive found no chain");

    printf("\n4. the fix: the cache must not keep requests\n");
    box_set(cache, 0, NULL);
    found = cgc_collect(heap, 2);
    printf("    cgc_collect found %ld; %zu box(es) alive (the cache)\n", found, boxes_live);
    box_decref(cache);
    cgc_heap_free(heap);
    return boxes_live == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--leak") == 0)
        return run_leak(argv[2]);
    if (argc != 1) {
        fprintf(stderr, "usage: %s [--leak DIR]\n", argv[0]);
        return 2;
    }
    return run_demo();
}
