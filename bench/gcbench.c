/*
 * gcbench.c -- how fast cyclegc collects, per node, on five graph shapes.
 *
 * A minimal host: every node is a tracked container holding a reference
 * count and two reference slots (CPython's anchor uses 2-slot lists, PHP's
 * objects with two properties; bench/anchors/ has both).  The root is a
 * tracked container of N references, as a Python list would be.
 *
 *   live     the root holds all N nodes; node i references i+1 and
 *            (7i+3) mod N.  Time of a full collection that frees nothing.
 *   garbage  N/2 unreachable two-cycles.  Time of the full collection that
 *            finds and frees them.
 *   ring     one unreachable N-node ring.  Time of the full collection.
 *   churn    N/2 two-cycles allocated and dropped with automatic collection
 *            at the default thresholds, then one full collection.  Time of
 *            all of it, allocation included.
 *   pauses   1,000,000 live nodes (as in live) moved to the oldest
 *            generation, then churn of N/2 two-cycles: p50 / p99 / max of
 *            the generation-0 collections.
 *
 * Every repetition builds its graph on a fresh heap; the figure reported is
 * the median (and the minimum) over the repetitions.  Usage:
 *
 *   gcbench [--shape live|garbage|ring|churn|pauses] [--n N] [--reps R] [--json]
 *
 * The output format is shared with bench/anchors/gc_shapes.{py,php}, and
 * bench/compare runs all three side by side.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cyclegc.h"

/* ---------------------------------------------------------------- */
/* The host                                                          */
/* ---------------------------------------------------------------- */

typedef struct node {
    int64_t refcnt;
    struct node *slot[2];
} node;

typedef struct root {
    int64_t refcnt;
    size_t n;
    node **items;                       /* malloc'd: N references */
} root;

static cgc_heap *heap;

static void die(const char *msg)
{
    fprintf(stderr, "gcbench: %s\n", msg);
    exit(1);
}

static void node_decref(void *obj);

static void node_dealloc(void *obj)
{
    node *n = obj;
    if (!cgc_trashcan_begin(heap, n))
        return;                         /* queued; comes back through ops.dealloc */
    cgc_untrack(heap, n);
    for (int i = 0; i < 2; i++) {
        node *c = n->slot[i];
        n->slot[i] = NULL;
        if (c != NULL)
            node_decref(c);
    }
    cgc_free(heap, n);
    cgc_trashcan_end(heap);
}

static void node_decref(void *obj)
{
    node *n = obj;
    if (--n->refcnt == 0)
        node_dealloc(n);
}

static int node_traverse(void *obj, cgc_visit_fn visit, void *arg)
{
    node *n = obj;
    int r;
    if (n->slot[0] != NULL && (r = visit(n->slot[0], arg)) != 0)
        return r;
    if (n->slot[1] != NULL && (r = visit(n->slot[1], arg)) != 0)
        return r;
    return 0;
}

static void node_clear(void *obj)
{
    node *n = obj;
    for (int i = 0; i < 2; i++) {
        node *c = n->slot[i];
        n->slot[i] = NULL;
        if (c != NULL)
            node_decref(c);
    }
}

/* The root is the only object of its kind; the ops tell it apart by address. */
static root *the_root;

static int any_traverse(void *obj, cgc_visit_fn visit, void *arg)
{
    if (obj == the_root) {
        for (size_t i = 0; i < the_root->n; i++) {
            int r;
            if (the_root->items[i] != NULL && (r = visit(the_root->items[i], arg)) != 0)
                return r;
        }
        return 0;
    }
    return node_traverse(obj, visit, arg);
}

static const cgc_host_ops host_ops = {
    .refcnt_offset = offsetof(node, refcnt),
    .refcnt_width = 8,
    .traverse = any_traverse,
    .clear = node_clear,                /* the root is never garbage */
    .decref = node_decref,
    .dealloc = node_dealloc,
};

static node *node_new(void)
{
    node *n = cgc_alloc(heap, sizeof *n);
    if (n == NULL)
        die("out of memory");
    n->refcnt = 1;
    n->slot[0] = n->slot[1] = NULL;
    cgc_track(heap, n);
    return n;
}

static void link_to(node *from, int slot, node *to)
{
    to->refcnt++;
    from->slot[slot] = to;
}

static void heap_start(void)
{
    cgc_config cfg = { .ops = &host_ops };
    heap = cgc_heap_new(&cfg);
    if (heap == NULL)
        die("cgc_heap_new failed");
}

static void heap_end(void)
{
    cgc_heap_free(heap);                /* also returns every node still alive */
    heap = NULL;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------- */
/* Shapes                                                            */
/* ---------------------------------------------------------------- */

/* Builds the live graph under a tracked root (collection is disabled). */
static void build_live(size_t n)
{
    node **nodes = malloc(n * sizeof *nodes);
    if (nodes == NULL)
        die("out of memory");
    for (size_t i = 0; i < n; i++)
        nodes[i] = node_new();
    for (size_t i = 0; i < n; i++) {
        link_to(nodes[i], 0, nodes[(i + 1) % n]);
        link_to(nodes[i], 1, nodes[(7 * i + 3) % n]);
    }
    /* The root owns the creation references.  It is a container of its own,
       tracked like a Python list: it lives in a pool block with a header. */
    root *r = cgc_alloc(heap, sizeof *r);
    if (r == NULL)
        die("out of memory");
    the_root = r;
    r->refcnt = 1;                      /* the benchmark's own reference */
    r->n = n;
    r->items = nodes;
    cgc_track(heap, r);
}

static void free_live(void)
{
    /* Drop the root's references so that heap_end sees a quiet heap. */
    cgc_untrack(heap, the_root);
    cgc_disable(heap);
    for (size_t i = 0; i < the_root->n; i++) {
        node *c = the_root->items[i];
        the_root->items[i] = NULL;
        node_decref(c);
    }
    cgc_collect(heap, 2);
    free(the_root->items);
    cgc_free(heap, the_root);
    the_root = NULL;
}

static void build_pairs(size_t pairs)
{
    for (size_t i = 0; i < pairs; i++) {
        node *a = node_new(), *b = node_new();
        link_to(a, 0, b);
        link_to(b, 0, a);
        node_decref(a);
        node_decref(b);
    }
}

static void build_ring(size_t n)
{
    node *first = node_new(), *prev = first;
    for (size_t i = 1; i < n; i++) {
        node *c = node_new();
        link_to(prev, 0, c);
        node_decref(c);                 /* prev holds it now */
        prev = c;
    }
    link_to(prev, 0, first);
    node_decref(first);
}

typedef struct result {
    double ms;
    long collected;
} result;

/* The timed part of live, garbage and ring: one full collection. */
static result timed_full_collection(void)
{
    result r;
    uint64_t t = now_ns();
    r.collected = cgc_collect(heap, 2);
    r.ms = (double)(now_ns() - t) / 1e6;
    return r;
}

static result run_live(size_t n)
{
    result r;
    heap_start();
    cgc_disable(heap);
    build_live(n);
    r = timed_full_collection();
    free_live();
    heap_end();
    return r;
}

static result run_garbage(size_t n)
{
    result r;
    heap_start();
    cgc_disable(heap);
    build_pairs(n / 2);
    r = timed_full_collection();
    heap_end();
    return r;
}

static result run_ring(size_t n)
{
    result r;
    heap_start();
    cgc_disable(heap);
    build_ring(n);
    r = timed_full_collection();
    heap_end();
    return r;
}

static long total_collected(void)
{
    long sum = 0;
    for (int g = 0; g < 3; g++) {
        cgc_gen_stats s;
        cgc_get_stats(heap, g, &s);
        sum += (long)s.collected;
    }
    return sum;
}

static result run_churn(size_t n)
{
    result r;
    uint64_t t;
    heap_start();
    t = now_ns();
    build_pairs(n / 2);
    cgc_collect(heap, 2);
    r.ms = (double)(now_ns() - t) / 1e6;
    r.collected = total_collected();
    heap_end();
    return r;
}

/* Pauses: generation-0 collections timed by a callback. */
typedef struct pause_log {
    uint64_t start;
    uint64_t *ns;
    size_t count, cap;
} pause_log;

static void on_collect(cgc_heap *h, cgc_phase phase, const cgc_collect_info *info, void *ctx)
{
    pause_log *log = ctx;
    (void)h;
    if (info->generation != 0)
        return;
    if (phase == CGC_PHASE_START) {
        log->start = now_ns();
        return;
    }
    if (log->count == log->cap) {
        log->cap = log->cap ? 2 * log->cap : 1024;
        log->ns = realloc(log->ns, log->cap * sizeof *log->ns);
        if (log->ns == NULL)
            die("out of memory");
    }
    log->ns[log->count++] = now_ns() - log->start;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define PAUSE_LIVE 1000000u

static void run_pauses(size_t n, int json)
{
    pause_log log = { 0 };
    double p50 = 0, p99 = 0, max = 0;

    heap_start();
    cgc_disable(heap);
    build_live(PAUSE_LIVE);
    cgc_collect(heap, 2);               /* the live nodes move to generation 2 */
    cgc_enable(heap);
    if (cgc_add_callback(heap, on_collect, &log) != CGC_OK)
        die("cgc_add_callback failed");
    build_pairs(n / 2);
    cgc_remove_callback(heap, on_collect, &log);
    free_live();
    heap_end();

    if (log.count > 0) {
        qsort(log.ns, log.count, sizeof *log.ns, cmp_u64);
        p50 = (double)log.ns[(log.count - 1) / 2] / 1e3;
        p99 = (double)log.ns[(size_t)((double)(log.count - 1) * 0.99)] / 1e3;
        max = (double)log.ns[log.count - 1] / 1e3;
    }
    if (json)
        printf("{\"impl\":\"cyclegc\",\"shape\":\"pauses\",\"n\":%zu,\"live\":%u,"
               "\"count\":%zu,\"p50_us\":%.2f,\"p99_us\":%.2f,\"max_us\":%.2f}\n",
               n, PAUSE_LIVE, log.count, p50, p99, max);
    else
        printf("%-8s %9zu %7zu gen-0 pauses  p50 %8.2f us  p99 %8.2f us  max %8.2f us\n",
               "pauses", n, log.count, p50, p99, max);
    free(log.ns);
}

/* ---------------------------------------------------------------- */
/* Driver                                                            */
/* ---------------------------------------------------------------- */

static const struct shape {
    const char *name;
    result (*run)(size_t n);
    int expect;                         /* collected: 0 none, 1 all N */
} shapes[] = {
    { "live", run_live, 0 },
    { "garbage", run_garbage, 1 },
    { "ring", run_ring, 1 },
    { "churn", run_churn, 1 },
};

static void run_shape(const struct shape *s, size_t n, int reps, int json)
{
    double ms[64];
    long collected = 0;
    for (int i = 0; i < reps; i++) {
        result r = s->run(n);
        ms[i] = r.ms;
        collected = r.collected;
        if (collected != (s->expect ? (long)(n / 2 * 2) : 0)) {
            fprintf(stderr, "gcbench: %s collected %ld, expected %zu\n", s->name, collected,
                    s->expect ? n / 2 * 2 : 0);
            exit(1);
        }
    }
    qsort(ms, (size_t)reps, sizeof ms[0], cmp_double);
    double med = ms[(reps - 1) / 2];
    if (json)
        printf("{\"impl\":\"cyclegc\",\"shape\":\"%s\",\"n\":%zu,\"reps\":%d,\"ms\":%.3f,"
               "\"ms_min\":%.3f,\"ns_per_node\":%.2f,\"collected\":%ld}\n",
               s->name, n, reps, med, ms[0], med * 1e6 / (double)n, collected);
    else
        printf("%-8s %9zu %10.3f ms %8.2f ns/node  (min %.3f ms, collected %ld)\n", s->name, n,
               med, med * 1e6 / (double)n, ms[0], collected);
    fflush(stdout);
}

static void usage(void)
{
    fputs("usage: gcbench [--shape live|garbage|ring|churn|pauses] [--n N] [--reps R] [--json]\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *only = NULL;
    size_t n = 1000000;
    int reps = 3, json = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--shape") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--n") == 0 && i + 1 < argc)
            n = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else
            usage();
    }
    if (n < 2 || reps < 1 || reps > 64)
        usage();

    int found = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        if (only == NULL || strcmp(only, shapes[i].name) == 0) {
            run_shape(&shapes[i], n, reps, json);
            found = 1;
        }
    if (only == NULL || strcmp(only, "pauses") == 0) {
        run_pauses(n, json);
        found = 1;
    }
    if (!found)
        usage();
    return 0;
}
