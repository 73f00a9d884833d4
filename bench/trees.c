/*
 * trees.c -- a GCBench-style benchmark in which every tree is one big cycle.
 *
 *     bench/trees_cgc   [--json] [--max-depth N] [--stretch-depth N]
 *                       [--long-lived-depth N] [--gc-log]
 *     bench/trees_boehm (the same options)
 *
 * The workload is the classic GCBench one (binary trees built top-down and
 * bottom-up and dropped at once, next to a long-lived tree and a long-lived
 * array), with one change: every node also points back to its parent.
 *
 * One source, two programs:
 *
 *   trees_cgc    (default) a small reference-counted runtime on cyclegc.
 *                Nodes are containers from cgc_alloc (the heap's built-in
 *                pool) with a reference count; a node holds a strong
 *                reference to each child and to its parent, and locals hold
 *                references as an interpreter's frame would.  Reference
 *                counting alone never frees a dropped tree (the back-links
 *                keep every node's count above zero): all of it is found by
 *                the cycle collector, which runs automatically from
 *                cgc_alloc at the default thresholds (700, 10, 10).
 *   trees_boehm  -DTREES_BOEHM: the same nodes (without the count) from
 *                GC_MALLOC of the Boehm-Demers-Weiser collector.
 *
 * The phases:
 *   1. a stretch tree of depth S (default 18) is built bottom-up and dropped;
 *   2. a long-lived tree of depth L (default 16) is built top-down and an
 *      array of 500,000 doubles is filled; both stay alive to the end;
 *   3. for d = 4, 6, ..., M (default 16): 2 * nodes(S) / nodes(d) trees of
 *      depth d (nodes(i) = 2^(i+1) - 1) are built top-down (an existing root
 *      is populated) and dropped one by one, then as many bottom-up;
 *   4. checks: with cyclegc a final full collection picks up what was still
 *      pending, and the number of objects the collector found must equal
 *      the number of nodes of every dropped tree; then, for both, the
 *      long-lived tree is walked (children, parent links, heights and, with
 *      cyclegc, reference counts) and the array is checked.
 *
 * Reported: the time of each phase (milliseconds), per depth the top-down
 * and the bottom-up time, the total, the peak resident set (getrusage) and
 * the collector's own figures (collections, time in the collector).  The
 * total covers phases 1-3; the final collection of phase 4 is reported on
 * its own.  --json prints one JSON object per line instead of text.
 *
 * Exit status: 0, 1 when a check failed, 2 on a usage error or when memory
 * runs out.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#ifdef TREES_BOEHM
#include <gc.h>
#define IMPL "boehm"
#else
#include <cyclegc.h>
#define IMPL "cyclegc"
#endif

#define MIN_DEPTH 4
#define ARRAY_SIZE 500000
#define DEPTH_LIMIT 30            /* nodes(30) is already 2^31 - 1 */

typedef struct node {
#ifndef TREES_BOEHM
    int64_t refcnt;               /* the runtime's reference count */
#endif
    struct node *left, *right;    /* strong references to the children */
    struct node *parent;          /* strong reference to the parent (the back-link) */
    int i, j;                     /* GCBench's two payload fields; i holds the height */
} node;

static int json;
static int failures;

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("trees (" IMPL "): ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void check_failed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void check_failed(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("trees (" IMPL "): FAILED: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    failures++;
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static long max_rss_kib(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return ru.ru_maxrss;          /* kilobytes on Linux */
}

static uint64_t num_nodes(int depth)
{
    return ((uint64_t) 1 << (depth + 1)) - 1;
}

/* ------------------------------------------------------------------ */
/* The runtime: allocation, references, and the collector's callbacks  */
/* ------------------------------------------------------------------ */

static uint64_t nodes_made;

#ifndef TREES_BOEHM

static cgc_heap *heap;
static uint64_t nodes_freed;

static void node_dealloc(void *obj);

static inline node *node_incref(node *n)
{
    if (n != NULL)
        n->refcnt++;
    return n;
}

static inline void node_decref(node *n)
{
    if (n != NULL && --n->refcnt == 0)
        node_dealloc(n);
}

/* Runs when a count reaches zero, which in this program only happens while
   the collector clears a dead tree (or for a tree of depth 0).  The trashcan
   bounds the nesting of deallocations whatever the shape of the garbage. */
static void node_dealloc(void *obj)
{
    node *n = obj;
    node *l, *r, *p;

    if (!cgc_trashcan_begin(heap, n))
        return;                   /* queued: comes back through ops.dealloc */
    cgc_untrack(heap, n);
    l = n->left;
    r = n->right;
    p = n->parent;
    n->left = n->right = n->parent = NULL;
    node_decref(l);
    node_decref(r);
    node_decref(p);
    nodes_freed++;
    cgc_free(heap, n);
    cgc_trashcan_end(heap);
}

static int node_traverse(void *obj, cgc_visit_fn visit, void *arg)
{
    node *n = obj;
    int r;

    if (n->left != NULL && (r = visit(n->left, arg)) != 0)
        return r;
    if (n->right != NULL && (r = visit(n->right, arg)) != 0)
        return r;
    if (n->parent != NULL && (r = visit(n->parent, arg)) != 0)
        return r;
    return 0;
}

static void node_clear(void *obj)
{
    node *n = obj;
    node *l = n->left, *r = n->right, *p = n->parent;

    n->left = n->right = n->parent = NULL;
    node_decref(l);
    node_decref(r);
    node_decref(p);
}

static void node_decref_op(void *obj)
{
    node_decref(obj);
}

static size_t node_describe(void *obj, char *buf, size_t len)
{
    node *n = obj;
    int k = snprintf(buf, len, "node of height %d (refcnt %" PRId64 ")", n->i, n->refcnt);

    if (k < 0)
        return 0;
    return (size_t) k < len ? (size_t) k : (len ? len - 1 : 0);
}

static const cgc_host_ops node_ops = {
    .refcnt_offset = offsetof(node, refcnt),
    .refcnt_width = sizeof(int64_t),
    .traverse = node_traverse,
    .clear = node_clear,
    .decref = node_decref_op,
    .dealloc = node_dealloc,
    .describe = node_describe,
};

/* A new, untracked node holding one reference (the caller's). */
static node *node_alloc(void)
{
    node *n = cgc_alloc(heap, sizeof *n);

    if (n == NULL)
        die("out of memory");
    n->refcnt = 1;
    n->left = n->right = n->parent = NULL;
    n->i = n->j = 0;
    nodes_made++;
    return n;
}

static inline void node_track(node *n)
{
    if (cgc_track(heap, n) != CGC_OK)
        die("cgc_track failed");
}

/* *slot = v, as a runtime stores into a field: take a reference to the new
   value, then release the old one. */
static inline void node_set(node **slot, node *v)
{
    node *old = *slot;

    *slot = node_incref(v);
    node_decref(old);
}

#else /* TREES_BOEHM */

#define node_incref(n) (n)
#define node_decref(n) ((void) (n))
#define node_track(n) ((void) (n))
#define node_set(slot, v) ((void) (*(slot) = (v)))

static node *node_alloc(void)
{
    node *n = GC_MALLOC(sizeof *n);

    if (n == NULL)
        die("out of memory");
    n->left = n->right = n->parent = NULL;
    n->i = n->j = 0;
    nodes_made++;
    return n;
}

#endif /* TREES_BOEHM */

/* A node with the given children (either may be NULL), which get it as
   their parent.  Returns a new reference. */
static node *node_new(node *l, node *r, int height)
{
    node *n = node_alloc();

    n->i = height;
    if (l != NULL) {
        node_set(&n->left, l);
        node_set(&l->parent, n);
    }
    if (r != NULL) {
        node_set(&n->right, r);
        node_set(&r->parent, n);
    }
    node_track(n);
    return n;
}

/* Top-down: give n (borrowed; the caller holds it) two children and
   populate them to the given depth.  The locals l and r hold their own
   references while the recursion runs. */
static void populate(int depth, node *n)
{
    node *l, *r;

    if (depth <= 0)
        return;
    depth--;
    l = node_new(NULL, NULL, depth);
    r = node_new(NULL, NULL, depth);
    node_set(&n->left, l);
    node_set(&l->parent, n);
    node_set(&n->right, r);
    node_set(&r->parent, n);
    populate(depth, l);
    populate(depth, r);
    node_decref(l);
    node_decref(r);
}

/* Bottom-up: a new tree of the given depth; returns a new reference. */
static node *make_tree(int depth)
{
    node *l, *r, *n;

    if (depth <= 0)
        return node_new(NULL, NULL, 0);
    l = make_tree(depth - 1);
    r = make_tree(depth - 1);
    n = node_new(l, r, depth);
    node_decref(l);
    node_decref(r);
    return n;
}

/* Walks the tree: every inner node has two children whose parent it is,
   heights go down by one to 0 at the leaves, and (cyclegc) every count is
   what the program's references make it: 1 from the parent (or, for the
   root, the program) plus 1 from each child's back-link.  Returns the
   number of nodes, or 0 at the first mismatch. */
static uint64_t verify_tree(const node *n, const node *parent, int height)
{
    uint64_t l, r;
    int64_t expect = height > 0 ? 3 : 1;

    if (n == NULL || n->parent != parent || n->i != height)
        return 0;
#ifndef TREES_BOEHM
    if (n->refcnt != expect || !cgc_is_tracked(n))
        return 0;
#else
    (void) expect;
#endif
    if (height == 0)
        return n->left == NULL && n->right == NULL ? 1 : 0;
    l = verify_tree(n->left, n, height - 1);
    r = verify_tree(n->right, n, height - 1);
    return l && r ? 1 + l + r : 0;
}

/* ------------------------------------------------------------------ */
/* The collector's figures                                             */
/* ------------------------------------------------------------------ */

typedef struct gc_figures {
    uint64_t collections[3];      /* per generation (Boehm: all in [0]) */
    uint64_t collected;           /* objects found unreachable and freed (cyclegc) */
    uint64_t uncollectable;
    double gc_ms;                 /* time spent collecting (Boehm: GC_get_full_gc_total_time) */
    double max_pause_ms;          /* cyclegc only */
    double gen_ms[3];             /* cyclegc only: gc_ms and max_pause_ms per generation */
    double gen_pause_ms[3];
} gc_figures;

static void gc_snapshot(gc_figures *f)
{
    memset(f, 0, sizeof *f);
#ifndef TREES_BOEHM
    for (int g = 0; g < 3; g++) {
        cgc_gen_stats st;

        if (cgc_get_stats(heap, g, &st) != CGC_OK)
            die("cgc_get_stats failed");
        f->collections[g] = st.collections;
        f->collected += st.collected;
        f->uncollectable += st.uncollectable;
        f->gen_ms[g] = (double) st.total_ns / 1e6;
        f->gen_pause_ms[g] = (double) st.max_pause_ns / 1e6;
        f->gc_ms += f->gen_ms[g];
        if (f->gen_pause_ms[g] > f->max_pause_ms)
            f->max_pause_ms = f->gen_pause_ms[g];
    }
#else
    f->collections[0] = GC_get_gc_no();
    f->gc_ms = (double) GC_get_full_gc_total_time();
#endif
}

static void gc_delta(const gc_figures *after, const gc_figures *before, gc_figures *d)
{
    for (int g = 0; g < 3; g++)
        d->collections[g] = after->collections[g] - before->collections[g];
    d->collected = after->collected - before->collected;
    d->uncollectable = after->uncollectable - before->uncollectable;
    d->gc_ms = after->gc_ms - before->gc_ms;
    d->max_pause_ms = after->max_pause_ms;
}

/* "collections":[a,b,c],"gc_ms":x (cyclegc) or "collections":n,"gc_ms":x */
static void json_gc(const gc_figures *d)
{
#ifndef TREES_BOEHM
    printf(",\"collections\":[%" PRIu64 ",%" PRIu64 ",%" PRIu64 "],\"collected\":%" PRIu64
           ",\"gc_ms\":%.3f", d->collections[0], d->collections[1], d->collections[2],
           d->collected, d->gc_ms);
#else
    printf(",\"collections\":%" PRIu64 ",\"gc_ms\":%.0f", d->collections[0], d->gc_ms);
#endif
}

static void text_gc(const gc_figures *d)
{
#ifndef TREES_BOEHM
    printf("; collections %" PRIu64 "/%" PRIu64 "/%" PRIu64 ", %.1f ms in the collector",
           d->collections[0], d->collections[1], d->collections[2], d->gc_ms);
#else
    printf("; %" PRIu64 " collections, %.0f ms in full collections", d->collections[0],
           d->gc_ms);
#endif
}

/* One line for the stretch or the long-lived phase. */
static void report_phase(int json, const char *phase, const char *what, int depth,
                         double ms, const gc_figures *d)
{
    if (json) {
        printf("{\"impl\":\"" IMPL "\",\"phase\":\"%s\",\"depth\":%d,\"nodes\":%" PRIu64
               ",\"ms\":%.3f", phase, depth, num_nodes(depth), ms);
        json_gc(d);
        printf("}\n");
    } else {
        printf(IMPL ": %s of depth %d (%" PRIu64 " nodes): %.1f ms", what, depth,
               num_nodes(depth), ms);
        text_gc(d);
        printf("\n");
    }
    fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: trees [--json] [--gc-log] [--max-depth N] [--stretch-depth N]\n"
            "             [--long-lived-depth N]\n"
            "  --max-depth N         deepest short-lived trees, from %d by 2\n"
            "                        (default 16, at least %d)\n"
            "  --stretch-depth N     depth of the stretch tree; also sets the iteration counts\n"
            "                        2 * nodes(N) / nodes(d) (default 18)\n"
            "  --long-lived-depth N  depth of the tree kept alive throughout (default 16)\n"
            "  --json                one JSON object per line instead of text\n"
            "  --gc-log              cyclegc: the collector's line per collection on stderr\n"
            "                        (CGC_DEBUG_STATS); Boehm: ignored, set GC_PRINT_STATS=1\n"
            "Depths are at most %d.\n",
            MIN_DEPTH, MIN_DEPTH, DEPTH_LIMIT);
}

/* Accepts "--name N" and "--name=N". */
static int depth_option(int argc, char **argv, int *i, const char *name, int lo, int *out)
{
    size_t len = strlen(name);
    const char *val;
    char *end;
    long v;

    if (strncmp(argv[*i], name, len) != 0)
        return 0;
    if (argv[*i][len] == '=') {
        val = argv[*i] + len + 1;
    } else if (argv[*i][len] == '\0') {
        if (*i + 1 >= argc)
            die("%s needs a value", name);
        val = argv[++*i];
    } else {
        return 0;
    }
    v = strtol(val, &end, 10);
    if (*val == '\0' || *end != '\0' || v < lo || v > DEPTH_LIMIT)
        die("%s: expected a depth from %d to %d, got '%s'", name, lo, DEPTH_LIMIT, val);
    *out = (int) v;
    return 1;
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    int max_depth = 16, stretch_depth = 18, long_lived_depth = 16;
    double t_start, t0, t1, t2, total_ms, stretch_ms, long_ms, final_ms = 0;
    uint64_t dropped = 0, long_nodes;
    gc_figures before, after, d, all;
    node *long_lived, *t;
    double *array;
    long rss;
    int i, depth, array_ok = 1, gc_log = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--gc-log") == 0) {
            gc_log = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (!depth_option(argc, argv, &i, "--max-depth", MIN_DEPTH, &max_depth) &&
                   !depth_option(argc, argv, &i, "--stretch-depth", 1, &stretch_depth) &&
                   !depth_option(argc, argv, &i, "--long-lived-depth", 1, &long_lived_depth)) {
            usage(stderr);
            return 2;
        }
    }

#ifndef TREES_BOEHM
    {
        cgc_config cfg = { .ops = &node_ops };   /* thresholds 0: defaults 700, 10, 10 */
        int th[3];

        heap = cgc_heap_new(&cfg);
        if (heap == NULL)
            die("cgc_heap_new failed");
        if (gc_log)
            cgc_set_debug(heap, CGC_DEBUG_STATS);
        cgc_get_threshold(heap, th);
        if (json)
            printf("{\"impl\":\"cyclegc\",\"phase\":\"config\",\"version\":\"%s\","
                   "\"thresholds\":[%d,%d,%d],\"node_bytes\":%zu,\"header_bytes\":%zu,",
                   cgc_version(), th[0], th[1], th[2], sizeof(node), cgc_header_size());
        else
            printf("cyclegc %s, reference counting + cycle collector, thresholds %d/%d/%d; "
                   "node %zu bytes + %zu of header\n",
                   cgc_version(), th[0], th[1], th[2], sizeof(node), cgc_header_size());
    }
#else
    GC_INIT();
    (void) gc_log;
    GC_start_performance_measurement();
    if (json)
        printf("{\"impl\":\"boehm\",\"phase\":\"config\",\"version\":\"%u.%u.%u\","
               "\"node_bytes\":%zu,",
               (unsigned) GC_VERSION_MAJOR, (unsigned) GC_VERSION_MINOR,
               (unsigned) GC_VERSION_MICRO, sizeof(node));
    else
        printf("boehm: Boehm-Demers-Weiser GC %u.%u.%u (GC_MALLOC, default settings); "
               "node %zu bytes\n",
               (unsigned) GC_VERSION_MAJOR, (unsigned) GC_VERSION_MINOR,
               (unsigned) GC_VERSION_MICRO, sizeof(node));
#endif
    if (json)
        printf("\"stretch_depth\":%d,\"long_lived_depth\":%d,\"min_depth\":%d,"
               "\"max_depth\":%d,\"array_size\":%d}\n",
               stretch_depth, long_lived_depth, MIN_DEPTH, max_depth, ARRAY_SIZE);
    else
        printf(IMPL ": stretch depth %d, long-lived depth %d, depths %d..%d, array of %d doubles\n",
               stretch_depth, long_lived_depth, MIN_DEPTH, max_depth, ARRAY_SIZE);
    fflush(stdout);

    gc_snapshot(&before);
    t_start = now_ms();

    /* 1. Stretch the heap. */
    t = make_tree(stretch_depth);
    node_decref(t);
    t = NULL;
    dropped += num_nodes(stretch_depth);
    t1 = now_ms();
    stretch_ms = t1 - t_start;
    gc_snapshot(&after);
    gc_delta(&after, &before, &d);
    report_phase(json, "stretch", "stretch tree", stretch_depth, stretch_ms, &d);

    /* 2. The long-lived data. */
    before = after;
    t0 = now_ms();
    long_lived = node_new(NULL, NULL, long_lived_depth);
    populate(long_lived_depth, long_lived);
#ifndef TREES_BOEHM
    array = malloc(ARRAY_SIZE * sizeof *array);
#else
    array = GC_MALLOC_ATOMIC(ARRAY_SIZE * sizeof *array);
#endif
    if (array == NULL)
        die("out of memory");
    for (i = 0; i < ARRAY_SIZE; i++)
        array[i] = 1.0 / (i + 1);
    t1 = now_ms();
    long_ms = t1 - t0;
    gc_snapshot(&after);
    gc_delta(&after, &before, &d);
    report_phase(json, "long_lived", "long-lived tree and array", long_lived_depth, long_ms, &d);

    /* 3. Short-lived trees, each dropped as soon as it is built. */
    for (depth = MIN_DEPTH; depth <= max_depth; depth += 2) {
        uint64_t iters = 2 * num_nodes(stretch_depth) / num_nodes(depth), k;

        if (iters == 0)
            iters = 1;
        before = after;
        t0 = now_ms();
        for (k = 0; k < iters; k++) {
            t = node_new(NULL, NULL, depth);
            populate(depth, t);
            node_decref(t);
            t = NULL;
        }
        t1 = now_ms();
        for (k = 0; k < iters; k++) {
            t = make_tree(depth);
            node_decref(t);
            t = NULL;
        }
        t2 = now_ms();
        dropped += 2 * iters * num_nodes(depth);
        gc_snapshot(&after);
        gc_delta(&after, &before, &d);
        if (json) {
            printf("{\"impl\":\"" IMPL "\",\"phase\":\"depth\",\"depth\":%d,\"iterations\":%"
                   PRIu64 ",\"nodes_per_tree\":%" PRIu64 ",\"top_down_ms\":%.3f,"
                   "\"bottom_up_ms\":%.3f", depth, iters, num_nodes(depth), t1 - t0, t2 - t1);
            json_gc(&d);
            printf("}\n");
        } else {
            printf(IMPL ": depth %2d: %7" PRIu64 " trees of %6" PRIu64
                   " nodes: top-down %7.1f ms, bottom-up %7.1f ms",
                   depth, iters, num_nodes(depth), t1 - t0, t2 - t1);
            text_gc(&d);
            printf("\n");
        }
        fflush(stdout);
    }

    total_ms = now_ms() - t_start;
    rss = max_rss_kib();
    gc_snapshot(&all);

    /* 4. Checks. */
#ifndef TREES_BOEHM
    {
        gc_figures fin;
        uint64_t pending = dropped - all.collected;

        t0 = now_ms();
        cgc_collect(heap, 2);
        final_ms = now_ms() - t0;
        gc_snapshot(&fin);
        if (fin.collected != dropped || fin.uncollectable != 0)
            check_failed("the collector found %" PRIu64 " objects (%" PRIu64
                         " uncollectable); the dropped trees had %" PRIu64 " nodes",
                         fin.collected, fin.uncollectable, dropped);
        if (nodes_freed != dropped)
            check_failed("%" PRIu64 " nodes were deallocated; the dropped trees had %" PRIu64,
                         nodes_freed, dropped);
        if (!json)
            printf("cyclegc: final full collection: %" PRIu64 " nodes were still pending, "
                   "%.1f ms; collected %" PRIu64 " in all = nodes of the dropped trees %"
                   PRIu64 ": %s\n", pending, final_ms, fin.collected, dropped,
                   fin.collected == dropped && fin.uncollectable == 0 ? "ok" : "MISMATCH");
        all.collected = fin.collected;
        all.uncollectable = fin.uncollectable;
    }
#endif

    long_nodes = verify_tree(long_lived, NULL, long_lived_depth);
    if (long_nodes != num_nodes(long_lived_depth))
        check_failed("the long-lived tree is damaged");
    for (i = 0; i < ARRAY_SIZE; i += 997) {
        if (array[i] != 1.0 / (i + 1)) {
            check_failed("the long-lived array is damaged at %d", i);
            array_ok = 0;
            break;
        }
    }
    if (!json)
        printf(IMPL ": long-lived tree %s (%" PRIu64 " nodes; children, parent links%s), "
               "array %s\n", long_nodes ? "intact" : "DAMAGED", num_nodes(long_lived_depth),
#ifndef TREES_BOEHM
               ", heights and reference counts checked",
#else
               " and heights checked",
#endif
               array_ok ? "intact" : "DAMAGED");

#ifndef TREES_BOEHM
    /* Drop the long-lived data too: the collector must find exactly the
       long-lived tree, and then no node may be left. */
    if (long_nodes != 0) {
        long found;

        node_decref(long_lived);
        long_lived = NULL;
        found = cgc_collect(heap, 2);
        if (found < 0 || (uint64_t) found != long_nodes || nodes_freed != nodes_made)
            check_failed("after dropping the long-lived tree a full collection found %ld "
                         "objects (expected %" PRIu64 "); %" PRIu64 " nodes are left alive",
                         found, long_nodes, nodes_made - nodes_freed);
    }
    free(array);
#endif

    if (json) {
        printf("{\"impl\":\"" IMPL "\",\"phase\":\"total\",\"ms\":%.3f,\"max_rss_kib\":%ld,"
               "\"nodes_allocated\":%" PRIu64 ",\"dropped_nodes\":%" PRIu64,
               total_ms, rss, nodes_made, dropped);
#ifndef TREES_BOEHM
        printf(",\"collections\":[%" PRIu64 ",%" PRIu64 ",%" PRIu64 "],\"collected\":%" PRIu64
               ",\"uncollectable\":%" PRIu64 ",\"gc_ms\":%.3f,\"max_pause_ms\":%.3f"
               ",\"final_collect_ms\":%.3f", all.collections[0], all.collections[1],
               all.collections[2], all.collected, all.uncollectable, all.gc_ms,
               all.max_pause_ms, final_ms);
        printf(",\"gc_ms_by_gen\":[%.3f,%.3f,%.3f],\"max_pause_ms_by_gen\":[%.3f,%.3f,%.3f]",
               all.gen_ms[0], all.gen_ms[1], all.gen_ms[2], all.gen_pause_ms[0],
               all.gen_pause_ms[1], all.gen_pause_ms[2]);
#else
        printf(",\"collections\":%" PRIu64 ",\"gc_ms\":%.0f,\"heap_kib\":%zu",
               all.collections[0], all.gc_ms, GC_get_heap_size() / 1024);
#endif
        printf(",\"check\":\"%s\"}\n", failures ? "FAILED" : "ok");
    } else {
        printf(IMPL ": total %.1f ms, max RSS %ld KiB, %" PRIu64 " nodes allocated\n",
               total_ms, rss, nodes_made);
#ifndef TREES_BOEHM
        printf("cyclegc: collections %" PRIu64 "/%" PRIu64 "/%" PRIu64
               " (generations 0/1/2), %.1f ms in the collector, longest pause %.1f ms\n",
               all.collections[0], all.collections[1], all.collections[2], all.gc_ms,
               all.max_pause_ms);
        for (i = 0; i < 3; i++)
            printf("cyclegc:   generation %d: %" PRIu64 " collections, %.1f ms, "
                   "longest %.1f ms\n", i, all.collections[i], all.gen_ms[i],
                   all.gen_pause_ms[i]);
#else
        printf("boehm: %" PRIu64 " collections, %.0f ms in full collections, heap %zu KiB\n",
               all.collections[0], all.gc_ms, GC_get_heap_size() / 1024);
#endif
        printf(IMPL ": %s\n", failures ? "FAILED" : "all checks passed");
    }
    fflush(stdout);

#ifndef TREES_BOEHM
    cgc_heap_free(heap);
#else
    (void) final_ms;
#endif
    return failures ? 1 : 0;
}
