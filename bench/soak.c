/*
 * soak.c -- a long random workload against one cyclegc heap, with automatic
 * collection on, checked against a reachability oracle.
 *
 *     bench/soak [--ops N] [--seed S] [--deferred] [--check-every K]
 *                [--max-live M] [--quiet]
 *
 * The program is a small reference-counted runtime: nodes of four kinds
 * (plain, finalizer, resurrecting, legacy), each with up to four references
 * to other nodes, allocated with cgc_alloc from the built-in pool and
 * tracked (most of them).  It performs N random operations -- allocate,
 * link, unlink, drop a reference it holds, take another one, untrack,
 * track, and now and then an explicit collection, a collection request, a
 * release of the resurrection list or of the garbage list -- with the
 * default thresholds (700, 10, 10), so the collector runs from cgc_alloc as
 * it would in a real runtime.  With --deferred the heap is created with
 * CGC_DEFERRED and the program calls cgc_collect_if_pending at its "safe
 * points" (every 32 operations).
 *
 * Every K operations (default 100000) it checks:
 *   - every live node's reference count equals the references the program
 *     can see (its holds, slots of live nodes, the resurrection list, the
 *     garbage list);
 *   - everything reachable from the roots (holds, resurrection list,
 *     garbage list) is alive and was never cleared, and no live node was
 *     cleared or finalized twice;
 * and every fifth check it runs a full collection and then checks that
 * nothing unreachable is left: every live node is reachable from the roots
 * or from an untracked node.  Untracked nodes are tracked again after each
 * check (a runtime untracks objects only for a while).
 *
 * At the end it drops every reference, breaks the legacy cycles the garbage
 * list holds (as a program clearing gc.garbage would), collects until
 * nothing is left, and checks that no node is alive, that the heap's pool
 * has no block in use and that its mapped memory fell back to at most one
 * cached arena.
 *
 * Exit status 0 when every check passed; a failed check prints a message
 * and aborts.
 */
#define _POSIX_C_SOURCE 200809L
#include <cyclegc.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAXSLOTS 4
#define ARENA_BYTES ((size_t)1 << 20)

enum { K_PLAIN = 0, K_FINALIZER, K_RESURRECT, K_LEGACY };

#define NODE_MAGIC 0x536f616bu   /* "Soak" */
#define DEAD_MAGIC 0xdeadd00du

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("soak: FAILED: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

#define CHECK(cond, ...) do { if (!(cond)) fail(__VA_ARGS__); } while (0)

typedef struct node {
    uint32_t magic;
    uint8_t kind, nslots, finalized, cleared;
    int64_t rc;
    uint64_t serial;
    size_t idx;                /* position in the live table */
    uint32_t mark;             /* check epoch that reached it */
    int32_t expect;            /* scratch: references counted by the check */
    struct node *slots[];
} node;

/* growable arrays of node pointers */
typedef struct vec {
    node **v;
    size_t n, cap;
} vec;

static void vec_push(vec *a, node *x)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 1024;
        node **p = realloc(a->v, cap * sizeof *p);
        CHECK(p != NULL, "out of memory");
        a->v = p;
        a->cap = cap;
    }
    a->v[a->n++] = x;
}

static cgc_heap *H;
static vec live;               /* every live node, node->idx its position */
static vec holds;              /* one entry per reference the program holds */
static vec res;                /* the resurrection list, one reference each */
static vec stack;              /* scratch for the checks */
static uint64_t serials;
static size_t peak_live;
static uint64_t rng;
static uint32_t epoch;

/* statistics of the run */
static uint64_t n_alloc, n_link, n_unlink, n_drop, n_hold, n_track, n_untrack, n_explicit,
    n_pending_runs, n_requests, n_checks, n_full_checks, n_finalized, n_resurrected,
    n_cleared, n_freed, n_garbage_broken;

static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static size_t below(size_t n)
{
    return (size_t)((rnd() >> 11) % n);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------ */
/* The host runtime                                                    */
/* ------------------------------------------------------------------ */

static node *check_node(void *obj, const char *where)
{
    node *n = obj;
    CHECK(n != NULL, "%s: NULL object", where);
    CHECK(n->magic == NODE_MAGIC, "%s: freed or foreign object %p (magic %#x)", where, obj,
          (unsigned)n->magic);
    CHECK(n->idx < live.n && live.v[n->idx] == n, "%s: node %p not in the live table",
          where, obj);
    return n;
}

static void dealloc(node *n);

static void incref(node *n)
{
    n->rc++;
}

static void decref(node *n)
{
    CHECK(n->rc > 0, "decref of node #%" PRIu64 " whose count is %" PRId64, n->serial, n->rc);
    if (--n->rc == 0)
        dealloc(n);
}

static void dealloc(node *n)
{
    check_node(n, "dealloc");
    CHECK(n->rc == 0, "dealloc of node #%" PRIu64 " with count %" PRId64, n->serial, n->rc);
    if (!cgc_trashcan_begin(H, n))
        return;
    cgc_untrack(H, n);
    for (unsigned i = 0; i < n->nslots; i++) {
        node *old = n->slots[i];
        if (old != NULL) {
            n->slots[i] = NULL;
            decref(old);
        }
    }
    /* out of the live table */
    node *last = live.v[--live.n];
    live.v[n->idx] = last;
    last->idx = n->idx;
    n->magic = DEAD_MAGIC;
    n_freed++;
    cgc_free(H, n);
    cgc_trashcan_end(H);
}

static int op_traverse(void *obj, cgc_visit_fn visit, void *arg)
{
    node *n = obj;
    for (unsigned i = 0; i < n->nslots; i++)
        if (n->slots[i] != NULL) {
            int r = visit(n->slots[i], arg);
            if (r != 0)
                return r;
        }
    return 0;
}

static void op_clear(void *obj)
{
    node *n = check_node(obj, "clear");
    n->cleared = 1;
    n_cleared++;
    for (unsigned i = 0; i < n->nslots; i++) {
        node *old = n->slots[i];
        if (old != NULL) {
            n->slots[i] = NULL;
            decref(old);
        }
    }
}

static void op_decref(void *obj)
{
    decref(check_node(obj, "ops.decref"));
}

static void op_finalize(void *obj)
{
    node *n = check_node(obj, "finalize");
    CHECK(!n->finalized, "node #%" PRIu64 " finalized twice", n->serial);
    n->finalized = 1;
    n_finalized++;
    if (n->kind == K_RESURRECT) {
        incref(n);
        vec_push(&res, n);
        n_resurrected++;
    }
}

static int op_has_legacy(void *obj)
{
    return ((node *)obj)->kind == K_LEGACY;
}

static void op_dealloc(void *obj)
{
    dealloc(obj);
}

static size_t op_describe(void *obj, char *buf, size_t len)
{
    node *n = obj;
    if (len == 0)
        return 0;
    int k = snprintf(buf, len, "node#%" PRIu64 "(kind %u)", n->serial, n->kind);
    return k < 0 ? 0 : ((size_t)k < len ? (size_t)k : len - 1);
}

static void fatal_handler(void *ctx, const char *msg)
{
    (void)ctx;
    fail("fatal handler: %s", msg);
}

/* ------------------------------------------------------------------ */
/* Operations                                                          */
/* ------------------------------------------------------------------ */

static node *new_node(int kind, unsigned nslots, int track)
{
    node *n = cgc_alloc(H, sizeof(node) + nslots * sizeof(node *));
    CHECK(n != NULL, "cgc_alloc failed");
    memset(n, 0, sizeof *n);
    n->magic = NODE_MAGIC;
    n->kind = (uint8_t)kind;
    n->nslots = (uint8_t)nslots;
    for (unsigned i = 0; i < nslots; i++)
        n->slots[i] = NULL;
    n->rc = 1;
    n->serial = ++serials;
    n->idx = live.n;
    vec_push(&live, n);
    if (live.n > peak_live)
        peak_live = live.n;
    vec_push(&holds, n);
    if (track)
        CHECK(cgc_track(H, n) == CGC_OK, "cgc_track of a new node failed");
    n_alloc++;
    return n;
}

static void set_slot(node *a, unsigned s, node *b)
{
    if (b)
        incref(b);
    node *old = a->slots[s];
    a->slots[s] = b;
    if (old)
        decref(old);
}

static node *random_live(void)
{
    return live.n ? live.v[below(live.n)] : NULL;
}

/* Mostly a recently allocated node (the end of the live table): programs
   link mostly what they just made, so most cycles die young; sometimes any
   node. */
static node *random_target(void)
{
    if (live.n == 0)
        return NULL;
    if (below(100) < 85) {
        size_t w = live.n < 256 ? live.n : 256;
        return live.v[live.n - 1 - below(w)];
    }
    return random_live();
}

static void drop_hold(size_t i)
{
    node *n = holds.v[i];
    holds.v[i] = holds.v[--holds.n];
    decref(n);
    n_drop++;
}

static void drop_resurrected(void)
{
    while (res.n > 0)
        decref(res.v[--res.n]);
}

/* The program looks at gc.garbage, breaks the cycles there and lets go. */
static void break_garbage(void)
{
    size_t n = cgc_garbage_count(H);
    for (size_t i = 0; i < n; i++) {
        node *g = check_node(cgc_garbage_get(H, i), "garbage list");
        incref(g);
        for (unsigned s = 0; s < g->nslots; s++)
            set_slot(g, s, NULL);
        decref(g);
    }
    n_garbage_broken += n;
    cgc_garbage_clear(H);
}

static void retrack_all(void)
{
    for (size_t i = 0; i < live.n; i++)
        if (!cgc_is_tracked(live.v[i]))
            CHECK(cgc_track(H, live.v[i]) == CGC_OK, "cgc_track failed");
}

/* ------------------------------------------------------------------ */
/* The oracle                                                          */
/* ------------------------------------------------------------------ */

static void reach(node *n)
{
    check_node(n, "reachable node");
    if (n->mark == epoch)
        return;
    n->mark = epoch;
    vec_push(&stack, n);
}

/* Marks what the roots reach; with untracked_roots, untracked nodes are
   roots too.  Returns how many nodes were reached. */
static size_t mark_reachable(int untracked_roots)
{
    size_t reached = 0;
    epoch++;
    stack.n = 0;
    for (size_t i = 0; i < holds.n; i++)
        reach(holds.v[i]);
    for (size_t i = 0; i < res.n; i++)
        reach(res.v[i]);
    size_t gc = cgc_garbage_count(H);
    for (size_t i = 0; i < gc; i++)
        reach(cgc_garbage_get(H, i));
    if (untracked_roots)
        for (size_t i = 0; i < live.n; i++)
            if (!cgc_is_tracked(live.v[i]))
                reach(live.v[i]);
    while (stack.n > 0) {
        node *n = stack.v[--stack.n];
        reached++;
        CHECK(!n->cleared, "reachable node #%" PRIu64 " was cleared", n->serial);
        for (unsigned s = 0; s < n->nslots; s++)
            if (n->slots[s] != NULL)
                reach(n->slots[s]);
    }
    return reached;
}

static void check_counts(void)
{
    for (size_t i = 0; i < live.n; i++) {
        node *n = live.v[i];
        CHECK(n->magic == NODE_MAGIC && n->idx == i, "live table corrupt at %zu", i);
        CHECK(!n->cleared, "live node #%" PRIu64 " was cleared", n->serial);
        n->expect = 0;
    }
    for (size_t i = 0; i < holds.n; i++)
        check_node(holds.v[i], "held")->expect++;
    for (size_t i = 0; i < res.n; i++)
        check_node(res.v[i], "resurrection list")->expect++;
    size_t gc = cgc_garbage_count(H);
    for (size_t i = 0; i < gc; i++)
        check_node(cgc_garbage_get(H, i), "garbage list")->expect++;
    for (size_t i = 0; i < live.n; i++) {
        node *n = live.v[i];
        for (unsigned s = 0; s < n->nslots; s++)
            if (n->slots[s] != NULL)
                check_node(n->slots[s], "slot")->expect++;
    }
    for (size_t i = 0; i < live.n; i++)
        CHECK(live.v[i]->rc == live.v[i]->expect, "node #%" PRIu64 ": count %" PRId64
              ", but %d references exist", live.v[i]->serial, live.v[i]->rc,
              live.v[i]->expect);
}

static void check(int full)
{
    n_checks++;
    check_counts();
    mark_reachable(0);
    if (full) {
        n_full_checks++;
        long before = (long)live.n;
        long r = cgc_collect(H, 2);
        CHECK(r >= 0, "cgc_collect(2) returned %ld", r);
        (void)before;
        check_counts();
        size_t reached = mark_reachable(1);
        if (reached != live.n) {
            for (size_t i = 0; i < live.n; i++)
                if (live.v[i]->mark != epoch)
                    fail("after a full collection node #%" PRIu64 " (kind %u, tracked %d) "
                         "is alive but unreachable (%zu of %zu live nodes reachable)",
                         live.v[i]->serial, live.v[i]->kind, cgc_is_tracked(live.v[i]),
                         reached, live.n);
        }
    }
    retrack_all();
}

/* ------------------------------------------------------------------ */
/* Main                                                                */
/* ------------------------------------------------------------------ */

static uint64_t max_pause(void)
{
    uint64_t m = 0;
    for (int g = 0; g < 3; g++) {
        cgc_gen_stats st;
        CHECK(cgc_get_stats(H, g, &st) == CGC_OK, "cgc_get_stats failed");
        if (st.max_pause_ns > m)
            m = st.max_pause_ns;
    }
    return m;
}

static void usage(void)
{
    fprintf(stderr, "usage: soak [--ops N] [--seed S] [--deferred] [--check-every K] "
                    "[--max-live M] [--quiet]\n");
    exit(2);
}

static uint64_t num_arg(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc)
        usage();
    char *end;
    unsigned long long v = strtoull(argv[++*i], &end, 0);
    if (*end != '\0')
        usage();
    return (uint64_t)v;
}

int main(int argc, char **argv)
{
    uint64_t ops = 20000000, seed = 1, check_every = 100000, max_live = 100000;
    int deferred = 0, quiet = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--ops") == 0)
            ops = num_arg(argc, argv, &i);
        else if (strcmp(argv[i], "--seed") == 0)
            seed = num_arg(argc, argv, &i);
        else if (strcmp(argv[i], "--check-every") == 0)
            check_every = num_arg(argc, argv, &i);
        else if (strcmp(argv[i], "--max-live") == 0)
            max_live = num_arg(argc, argv, &i);
        else if (strcmp(argv[i], "--deferred") == 0)
            deferred = 1;
        else if (strcmp(argv[i], "--quiet") == 0)
            quiet = 1;
        else
            usage();
    }
    if (check_every == 0 || max_live < 10)
        usage();
    rng = seed * 0x2545F4914F6CDD1DULL + 12345;

    static cgc_host_ops host;
    host.refcnt_offset = offsetof(node, rc);
    host.refcnt_width = 8;
    host.traverse = op_traverse;
    host.clear = op_clear;
    host.decref = op_decref;
    host.finalize = op_finalize;
    host.has_legacy_finalizer = op_has_legacy;
    host.dealloc = op_dealloc;
    host.describe = op_describe;
    cgc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.ops = &host;
    cfg.flags = deferred ? CGC_DEFERRED : 0;
    H = cgc_heap_new(&cfg);
    CHECK(H != NULL, "cgc_heap_new failed");
    cgc_set_fatal_handler(H, fatal_handler, NULL);
    cgc_pool *pool = cgc_heap_pool(H);
    CHECK(pool != NULL, "no built-in pool");
    int th[3];
    cgc_get_threshold(H, th);

    printf("soak: %" PRIu64 " ops, seed %" PRIu64 ", %s, thresholds %d %d %d, check every %"
           PRIu64 ", max live %" PRIu64 "\n", ops, seed,
           deferred ? "CGC_DEFERRED (cgc_collect_if_pending every 32 ops)" : "automatic",
           th[0], th[1], th[2], check_every, max_live);
    fflush(stdout);

    double t0 = now_s();
    size_t peak_mapped = 0;
    uint64_t progress_every = ops / 20 ? ops / 20 : 1;
    for (uint64_t op = 1; op <= ops; op++) {
        size_t r = below(1000);
        /* keep the live nodes under max_live and the references held near a
           quarter of it: drop more when above */
        int crowded = live.n >= max_live;
        size_t drop_end = crowded ? 970 : holds.n > max_live / 4 ? 955 : 890;
        if (r < (crowded ? 150u : 300u)) {
            /* allocate, usually wiring the new node into the graph */
            size_t k = below(100);
            int kind = k < 62 ? K_PLAIN : k < 83 ? K_FINALIZER : k < 98 ? K_RESURRECT : K_LEGACY;
            node *n = new_node(kind, (unsigned)below(MAXSLOTS + 1), below(100) < 97);
            for (unsigned s = 0; s < n->nslots; s++)
                if (below(3) != 0)
                    set_slot(n, s, random_target());
            if (below(2) == 0) {
                node *a = random_target();
                if (a && a->nslots)
                    set_slot(a, (unsigned)below(a->nslots), n);
            }
        } else if (r < 560) {
            node *a = random_target();
            if (a && a->nslots) {
                set_slot(a, (unsigned)below(a->nslots), random_target());
                n_link++;
            }
        } else if (r < 600) {
            node *a = random_live();
            if (a && a->nslots) {
                set_slot(a, (unsigned)below(a->nslots), NULL);
                n_unlink++;
            }
        } else if (r < drop_end) {
            /* mostly a recent reference (a local going out of scope) */
            if (holds.n)
                drop_hold(below(100) < 75 ? holds.n - 1 - below(holds.n < 16 ? holds.n : 16)
                                          : below(holds.n));
        } else if (r < drop_end + 15) {
            node *a = random_live();
            if (a) {
                incref(a);
                vec_push(&holds, a);
                n_hold++;
            }
        } else if (r < drop_end + 25) {
            node *a = random_live();
            if (a && !cgc_is_tracked(a)) {
                CHECK(cgc_track(H, a) == CGC_OK, "cgc_track failed");
                n_track++;
            }
        } else if (r < drop_end + 27) {
            node *a = random_live();
            if (a) {
                cgc_untrack(H, a);
                n_untrack++;
            }
        } else if (r >= 985) {
            /* rare events */
            size_t e = below(10000);
            if (e < 20) {
                long c = cgc_collect(H, (int)below(3));
                CHECK(c >= 0, "cgc_collect returned %ld", c);
                n_explicit++;
            } else if (e < 60) {
                cgc_request_collection(H);
                n_requests++;
            } else if (e < 160 || res.n > 20000) {
                drop_resurrected();
            } else if (e < 260 || cgc_garbage_count(H) > 5000) {
                break_garbage();
            }
        }
        if (deferred && op % 32 == 0) {
            long c = cgc_collect_if_pending(H);
            CHECK(c >= 0, "cgc_collect_if_pending returned %ld", c);
            n_pending_runs++;
        } else if (!deferred && op % 4096 == 0) {
            /* requests are honoured by collect_if_pending in both modes */
            CHECK(cgc_collect_if_pending(H) >= 0, "cgc_collect_if_pending failed");
        }
        if (op % check_every == 0)
            check((op / check_every) % 5 == 0);
        if (op % 1024 == 0) {
            cgc_pool_stats ps;
            cgc_pool_get_stats(pool, &ps);
            if (ps.bytes_mapped > peak_mapped)
                peak_mapped = ps.bytes_mapped;
        }
        if (!quiet && op % progress_every == 0) {
            cgc_gen_stats st[3];
            for (int g = 0; g < 3; g++)
                cgc_get_stats(H, g, &st[g]);
            cgc_pool_stats ps;
            cgc_pool_get_stats(pool, &ps);
            printf("%12" PRIu64 " ops %7.1f s  live %7zu  held %7zu  garbage %5zu  "
                   "collections %" PRIu64 "/%" PRIu64 "/%" PRIu64 "  mapped %6.1f MiB  "
                   "blocks %zu\n", op, now_s() - t0, live.n, holds.n, cgc_garbage_count(H),
                   st[0].collections, st[1].collections, st[2].collections,
                   (double)ps.bytes_mapped / 1048576.0, ps.blocks_in_use);
            fflush(stdout);
        }
    }
    double t_ops = now_s() - t0;
    check(1);

    /* ---- the end: drop everything, collect, check memory ---- */
    size_t live_before_end = live.n;
    while (holds.n)
        drop_hold(holds.n - 1);
    int rounds = 0;
    while (live.n > 0 && rounds < 10) {
        drop_resurrected();
        break_garbage();
        long c = cgc_collect(H, 2);
        CHECK(c >= 0, "cgc_collect(2) returned %ld", c);
        rounds++;
    }
    CHECK(live.n == 0, "%zu nodes still alive after dropping everything and %d full "
          "collections", live.n, rounds);
    CHECK(res.n == 0 && cgc_garbage_count(H) == 0, "lists not empty at the end");
    cgc_pool_stats ps;
    CHECK(cgc_pool_get_stats(pool, &ps) == CGC_OK, "cgc_pool_get_stats failed");
    CHECK(ps.blocks_in_use == 0 && ps.bytes_in_use == 0 && ps.large_in_use == 0,
          "pool still has %zu blocks (%zu bytes, %zu large) in use", ps.blocks_in_use,
          ps.bytes_in_use, ps.large_in_use);
    CHECK(ps.bytes_mapped <= ARENA_BYTES && ps.arenas <= 1,
          "pool still maps %zu bytes in %zu arenas with nothing in use (peak %zu)",
          ps.bytes_mapped, ps.arenas, peak_mapped);
    size_t end_mapped = ps.bytes_mapped;
    size_t trimmed = cgc_pool_trim(pool);
    cgc_pool_get_stats(pool, &ps);

    cgc_gen_stats st[3];
    for (int g = 0; g < 3; g++)
        cgc_get_stats(H, g, &st[g]);
    uint64_t pause = max_pause();
    printf("\nsoak: PASSED in %.1f s (%.1f s of operations, %.2f M ops/s)\n", now_s() - t0,
           t_ops, (double)ops / t_ops / 1e6);
    printf("  operations        %" PRIu64 ": alloc %" PRIu64 ", link %" PRIu64 ", unlink %"
           PRIu64 ", drop %" PRIu64 ", hold %" PRIu64 ", track %" PRIu64 ", untrack %"
           PRIu64 ", explicit collect %" PRIu64 ", request %" PRIu64 "%s\n", ops, n_alloc,
           n_link, n_unlink, n_drop, n_hold, n_track, n_untrack, n_explicit, n_requests,
           deferred ? "" : " (automatic)");
    if (deferred)
        printf("  safe points       %" PRIu64 " cgc_collect_if_pending calls\n",
               n_pending_runs);
    for (int g = 0; g < 3; g++)
        printf("  generation %d      %" PRIu64 " collections, %" PRIu64 " collected, %" PRIu64
               " uncollectable, %.3f s total, max pause %.3f ms\n", g, st[g].collections,
               st[g].collected, st[g].uncollectable, (double)st[g].total_ns / 1e9,
               (double)st[g].max_pause_ns / 1e6);
    printf("  max pause         %.3f ms\n", (double)pause / 1e6);
    printf("  nodes             %" PRIu64 " created, peak live %zu, %zu live before the end, "
           "%" PRIu64 " finalized, %" PRIu64 " resurrected, %" PRIu64 " cleared, %" PRIu64
           " garbage entries broken\n", serials, peak_live, live_before_end, n_finalized,
           n_resurrected, n_cleared, n_garbage_broken);
    printf("  checks            %" PRIu64 " (%" PRIu64 " with a full collection), %d final "
           "rounds\n", n_checks, n_full_checks, rounds);
    printf("  memory            peak mapped %.1f MiB; at the end: 0 blocks in use, %zu bytes "
           "mapped in %zu arena(s) (%zu returned by cgc_pool_trim, %zu left)\n",
           (double)peak_mapped / 1048576.0, end_mapped, end_mapped / ARENA_BYTES, trimmed,
           ps.bytes_mapped);

    cgc_heap_free(H);
    free(live.v);
    free(holds.v);
    free(res.v);
    free(stack.v);
    return 0;
}
