/*
 * fuzz_ops.c -- libFuzzer target: random API operation sequences checked
 * against an oracle.
 *
 * Each input is decoded (tests/fuzz/README.md has the format) into a heap
 * configuration and a sequence of operations on a small reference-counted
 * host runtime that lives in this file: nodes of four kinds (plain,
 * finalizer, resurrecting, legacy), each with up to MAXSLOTS references to
 * other nodes.  Every input runs on a fresh heap, created and freed here; the
 * only state surviving between inputs is the static model below, which is
 * reset at the start of each input.
 *
 * Two independent oracles:
 *
 * 1. The roots check (after every collection): everything reachable through
 *    the real nodes' slots from the roots -- the nodes the program holds
 *    references to, the resurrection list and the garbage list -- is alive
 *    and intact.
 *
 * 2. An exact model of the heap (the one of tests/check_random.c, extended
 *    with untracked and frozen nodes, SAVEALL, several holds per node and
 *    optional host ops): reference counts are mirrored step by step, and
 *    every collection (explicit, automatic from cgc_alloc, or run by
 *    cgc_collect_if_pending) is simulated from its START callback by an
 *    independent implementation of the rules:
 *
 *      young   = live tracked nodes of generations 0..g (frozen and untracked
 *                nodes are outside, and their references count as external)
 *      roots   = young nodes with references from outside young
 *      U       = young nodes not reachable from roots
 *      Lreach  = nodes of U reachable from a legacy node of U -> left alone,
 *                counted uncollectable; legacy ones (all under SAVEALL) go
 *                on the garbage list
 *      U'      = U - Lreach: each node not finalized yet is finalized; a
 *                resurrecting one stores a reference in the resurrection list
 *      RS      = nodes of U' reachable from a node of U' that is referenced
 *                from outside U' after the finalizers        -> survive
 *      F       = U' - RS -> cleared and freed (SAVEALL: put on the garbage
 *                list); freeing F may free nodes of Lreach that only F held,
 *                which are then not counted
 *      result  = |F| + |Lreach still alive|; every young survivor moves to
 *                generation min(g+1, 2)
 *
 *    After each collection the heap and the model must agree on which nodes
 *    live, their counts, slots, generations and tracked/frozen state, how
 *    often each was finalized (at most once, ever) and cleared (never while
 *    alive), the garbage and resurrection lists, the return value, the STOP
 *    callback's info and the statistics.
 *
 * Introspection (cgc_explain_alive, cgc_get_referrers, cgc_get_referents,
 * cgc_dump_dot) is checked against the model too.  Any violation prints a
 * message and calls abort().
 */
#define _GNU_SOURCE
#include <cyclegc.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXSLOTS 4
#define MAXNODES 1024          /* ids per input (1..MAXNODES-1) */
#define MAXRES   (MAXNODES * 2)

enum { K_PLAIN = 0, K_FINALIZER, K_RESURRECT, K_LEGACY };
static const char *const kind_name[4] = { "plain", "finalizer", "resurrect", "legacy" };

/* model generation values besides 0..2 */
#define G_UNTRACKED (-1)
#define G_FROZEN    3

#define NODE_MAGIC 0x466e6f64u   /* "Fnod" */
#define DEAD_MAGIC 0xdeadf00du

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz_ops: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

#define CHECK(cond, ...) do { if (!(cond)) fail(__VA_ARGS__); } while (0)

/* ------------------------------------------------------------------ */
/* The host runtime                                                    */
/* ------------------------------------------------------------------ */

typedef struct node {
    uint32_t magic;
    int32_t rc32;              /* the count the collector reads on a 4-byte heap */
    int64_t rc64;              /* ... on an 8-byte heap */
    uint32_t id;
    uint8_t kind, nslots;
    uint8_t pad_[2];
    struct node *slots[];
} node;

/* host allocator blocks: a 32-byte prefix linking live blocks */
typedef struct ablock {
    struct ablock *prev, *next;
    uint64_t magic, pad_;
} ablock;

typedef struct state {
    cgc_heap *h;
    cgc_host_ops ops;
    cgc_allocator alloc;
    int width;                 /* 4 or 8 */
    int has_finalize, has_legacy;
    int nested;                /* finalize/clear try a nested collection */
    int deferred;
    unsigned debug;            /* what cgc_set_debug was last given */

    /* the real heap, per id */
    size_t maxid;
    node *ptr[MAXNODES];       /* valid while real_alive */
    unsigned char real_alive[MAXNODES];
    unsigned char fin_calls[MAXNODES], clear_calls[MAXNODES];
    long live;                 /* real live nodes */
    node *res[MAXRES];         /* the resurrection list, one reference each */
    size_t nres;
    ablock *blocks;            /* host allocator live blocks */
    long ablocks;

    /* the model, per id */
    unsigned char alive[MAXNODES], kind[MAXNODES], nslots[MAXNODES], finalized[MAXNODES];
    signed char gen[MAXNODES];
    int held[MAXNODES];        /* references the program holds */
    uint16_t slots[MAXNODES][MAXSLOTS];
    long rc[MAXNODES];
    int res_refs[MAXNODES], garbage_refs[MAXNODES];
    uint64_t stats[3][3];      /* collections, collected, uncollectable */

    /* live ids, dense, for picking */
    uint16_t alist[MAXNODES];
    uint16_t apos[MAXNODES];
    size_t nalive;

    /* scratch */
    long gcr[MAXNODES];
    unsigned char young[MAXNODES], reach[MAXNODES], inu[MAXNODES], lreach[MAXNODES],
        inu2[MAXNODES], rs[MAXNODES], dead[MAXNODES], seen[MAXNODES];
    signed char realgen[MAXNODES];
    int tally[MAXNODES];
    uint16_t stack[MAXNODES * (MAXSLOTS + 4)];

    /* the collection in progress */
    int in_collect, cur_gen;
    size_t exp_collected, exp_uncollectable;
    long collections;
    long nested_calls;
} state;

static state S;

static int64_t rc_get(const node *n)
{
    return S.width == 4 ? (int64_t)n->rc32 : n->rc64;
}

static void rc_set(node *n, int64_t v)
{
    if (S.width == 4)
        n->rc32 = (int32_t)v;
    else
        n->rc64 = v;
}

static node *check_node(void *obj, const char *where)
{
    node *n = obj;
    CHECK(n != NULL, "%s: NULL object", where);
    CHECK(n->magic == NODE_MAGIC, "%s: freed or foreign object %p (magic %#x)", where,
          obj, (unsigned)n->magic);
    CHECK(n->id > 0 && n->id <= S.maxid && S.ptr[n->id] == n && S.real_alive[n->id],
          "%s: object %p is not a live node", where, obj);
    return n;
}

static void h_dealloc(node *n);

static void h_incref(node *n)
{
    check_node(n, "incref");
    rc_set(n, rc_get(n) + 1);
}

static void h_decref(node *n)
{
    check_node(n, "decref");
    int64_t rc = rc_get(n);
    CHECK(rc > 0, "decref of node#%u whose count is %lld", n->id, (long long)rc);
    rc_set(n, rc - 1);
    if (rc == 1)
        h_dealloc(n);
}

static void h_dealloc(node *n)
{
    cgc_heap *h = S.h;
    CHECK(rc_get(n) == 0, "dealloc of node#%u with count %lld", n->id,
          (long long)rc_get(n));
    if (!cgc_trashcan_begin(h, n)) {
        CHECK(!cgc_is_tracked(n), "trashcan queued node#%u but left it tracked", n->id);
        return;
    }
    cgc_untrack(h, n);
    for (unsigned i = 0; i < n->nslots; i++) {
        node *old = n->slots[i];
        if (old != NULL) {
            n->slots[i] = NULL;
            h_decref(old);
        }
    }
    CHECK(S.real_alive[n->id], "node#%u deallocated twice", n->id);
    S.real_alive[n->id] = 0;
    S.ptr[n->id] = NULL;
    S.live--;
    n->magic = DEAD_MAGIC;
    cgc_free(h, n);
    cgc_trashcan_end(h);
}

static int op_traverse(void *obj, cgc_visit_fn visit, void *arg)
{
    node *n = check_node(obj, "traverse");
    for (unsigned i = 0; i < n->nslots; i++) {
        if (n->slots[i] != NULL) {
            int r = visit(n->slots[i], arg);
            if (r != 0)
                return r;
        }
    }
    return 0;
}

static void nested_cb(cgc_heap *h, cgc_phase phase, const cgc_collect_info *info,
                      void *ctx)
{
    (void)h; (void)phase; (void)info; (void)ctx;
    fail("a callback added during a collection ran");
}

static void try_nested(void)
{
    if (!S.nested)
        return;
    S.nested_calls++;
    CHECK(cgc_is_collecting(S.h) == 1, "callback outside a collection");
    long r = cgc_collect(S.h, 2);
    CHECK(r == 0, "nested cgc_collect returned %ld", r);
    CHECK(cgc_add_callback(S.h, nested_cb, NULL) == CGC_EBUSY,
          "add_callback inside a collection did not return CGC_EBUSY");
    CHECK(cgc_remove_callback(S.h, nested_cb, NULL) == CGC_EBUSY,
          "remove_callback inside a collection did not return CGC_EBUSY");
}

static void op_clear(void *obj)
{
    node *n = check_node(obj, "clear");
    if (S.clear_calls[n->id] < 255)
        S.clear_calls[n->id]++;
    try_nested();
    for (unsigned i = 0; i < n->nslots; i++) {
        node *old = n->slots[i];
        if (old != NULL) {
            n->slots[i] = NULL;
            h_decref(old);
        }
    }
}

static void op_decref(void *obj)
{
    h_decref(check_node(obj, "ops.decref"));
}

static void op_finalize(void *obj)
{
    node *n = check_node(obj, "finalize");
    CHECK(S.fin_calls[n->id] == 0, "node#%u finalized twice", n->id);
    S.fin_calls[n->id]++;
    CHECK(rc_get(n) > 0, "finalize of node#%u with count %lld", n->id,
          (long long)rc_get(n));
    if (n->kind == K_RESURRECT) {
        CHECK(S.nres < MAXRES, "resurrection list full");
        h_incref(n);
        S.res[S.nres++] = n;
    }
    try_nested();
}

static int op_has_legacy(void *obj)
{
    return check_node(obj, "has_legacy_finalizer")->kind == K_LEGACY;
}

static void op_clear_weakrefs(void *obj)
{
    check_node(obj, "clear_weakrefs");
}

static void op_dealloc(void *obj)
{
    node *n = obj;
    CHECK(n != NULL && n->magic == NODE_MAGIC, "ops.dealloc on a bad object");
    h_dealloc(n);
}

static size_t op_describe(void *obj, char *buf, size_t len)
{
    node *n = check_node(obj, "describe");
    if (len == 0)
        return 0;
    int k = snprintf(buf, len, "node#%u(%s)", n->id, kind_name[n->kind & 3]);
    if (k < 0)
        return 0;
    return (size_t)k < len ? (size_t)k : len - 1;
}

static void *al_malloc(void *ctx, size_t size)
{
    (void)ctx;
    ablock *b = aligned_alloc(16, sizeof(ablock) + ((size + 15) & ~(size_t)15));
    if (b == NULL)
        return NULL;
    b->magic = 0x426c6f636bULL;
    b->prev = NULL;
    b->next = S.blocks;
    if (b->next)
        b->next->prev = b;
    S.blocks = b;
    S.ablocks++;
    return b + 1;
}

static void al_free(void *ctx, void *ptr)
{
    (void)ctx;
    if (ptr == NULL)
        return;
    ablock *b = (ablock *)ptr - 1;
    CHECK(b->magic == 0x426c6f636bULL, "host allocator: bad free of %p", ptr);
    b->magic = 0;
    if (b->prev)
        b->prev->next = b->next;
    else
        S.blocks = b->next;
    if (b->next)
        b->next->prev = b->prev;
    S.ablocks--;
    free(b);
}

static void log_sink(void *ctx, const char *line)
{
    (void)ctx;
    CHECK(strncmp(line, "cyclegc: ", 9) == 0, "log line without prefix: %s", line);
}

static void fatal_handler(void *ctx, const char *msg)
{
    (void)ctx;
    fail("fatal handler: %s", msg);
}

/* ------------------------------------------------------------------ */
/* The model                                                           */
/* ------------------------------------------------------------------ */

static void alist_add(size_t id)
{
    S.apos[id] = (uint16_t)S.nalive;
    S.alist[S.nalive++] = (uint16_t)id;
}

static void alist_del(size_t id)
{
    size_t p = S.apos[id];
    uint16_t last = S.alist[--S.nalive];
    S.alist[p] = last;
    S.apos[last] = (uint16_t)p;
}

static void m_kill(size_t x)
{
    S.alive[x] = 0;
    S.gen[x] = G_UNTRACKED;
    alist_del(x);
}

/* one reference to id goes away: plain reference counting */
static void m_dec(size_t id)
{
    size_t sp = 0;
    S.stack[sp++] = (uint16_t)id;
    while (sp > 0) {
        size_t x = S.stack[--sp];
        CHECK(S.alive[x], "model: decref of dead node#%zu", x);
        CHECK(S.rc[x] > 0, "model: node#%zu count below 0", x);
        if (--S.rc[x] > 0)
            continue;
        m_kill(x);
        for (int s = 0; s < S.nslots[x]; s++) {
            if (S.slots[x][s] != 0) {
                S.stack[sp++] = S.slots[x][s];
                S.slots[x][s] = 0;
            }
        }
    }
}

/* everything reachable within set[] from the ids on the stack */
static void closure(size_t sp, const unsigned char *set, unsigned char *mark)
{
    while (sp > 0) {
        size_t x = S.stack[--sp];
        for (int s = 0; s < S.nslots[x]; s++) {
            size_t y = S.slots[x][s];
            if (y && set[y] && !mark[y]) {
                mark[y] = 1;
                S.stack[sp++] = (uint16_t)y;
            }
        }
    }
}

/* gcr[x] = references to x from outside set[] (for x in set) */
static void external_refs(const unsigned char *set)
{
    size_t n = S.maxid;
    for (size_t x = 1; x <= n; x++)
        S.gcr[x] = set[x] ? S.rc[x] : 0;
    for (size_t x = 1; x <= n; x++)
        if (set[x])
            for (int s = 0; s < S.nslots[x]; s++) {
                size_t y = S.slots[x][s];
                if (y && set[y])
                    S.gcr[y]--;
            }
    for (size_t x = 1; x <= n; x++)
        CHECK(S.gcr[x] >= 0, "model: negative external count for node#%zu", x);
}

static void sim_collect(int g)
{
    size_t n = S.maxid, sp;
    int saveall = (S.debug & CGC_DEBUG_SAVEALL) != 0;

    memset(S.young, 0, n + 1);
    memset(S.reach, 0, n + 1);
    memset(S.lreach, 0, n + 1);
    memset(S.rs, 0, n + 1);
    memset(S.dead, 0, n + 1);
    for (size_t x = 1; x <= n; x++)
        S.young[x] = S.alive[x] && S.gen[x] >= 0 && S.gen[x] <= g;

    external_refs(S.young);
    sp = 0;
    for (size_t x = 1; x <= n; x++)
        if (S.young[x] && S.gcr[x] > 0) {
            S.reach[x] = 1;
            S.stack[sp++] = (uint16_t)x;
        }
    closure(sp, S.young, S.reach);

    /* U, then the legacy closure inside it */
    sp = 0;
    for (size_t x = 1; x <= n; x++) {
        S.inu[x] = S.young[x] && !S.reach[x];
        if (S.inu[x] && S.has_legacy && S.kind[x] == K_LEGACY) {
            S.lreach[x] = 1;
            S.stack[sp++] = (uint16_t)x;
        }
    }
    closure(sp, S.inu, S.lreach);

    /* U': finalizers */
    for (size_t x = 1; x <= n; x++) {
        S.inu2[x] = S.inu[x] && !S.lreach[x];
        if (S.inu2[x] && S.has_finalize && !S.finalized[x]) {
            S.finalized[x] = 1;
            if (S.kind[x] == K_RESURRECT) {
                S.res_refs[x]++;
                S.rc[x]++;
            }
        }
    }

    /* RS: what the finalizers made reachable from outside U' */
    external_refs(S.inu2);
    sp = 0;
    for (size_t x = 1; x <= n; x++)
        if (S.inu2[x] && S.gcr[x] > 0) {
            S.rs[x] = 1;
            S.stack[sp++] = (uint16_t)x;
        }
    closure(sp, S.inu2, S.rs);

    size_t collected = 0, uncollectable = 0;
    for (size_t x = 1; x <= n; x++) {
        if (S.inu2[x] && !S.rs[x]) {
            collected++;
            if (saveall) {
                S.garbage_refs[x]++;
                S.rc[x]++;
            } else {
                S.dead[x] = 1;
            }
        }
        if (S.young[x] && !S.dead[x])
            S.gen[x] = (signed char)(g < 2 ? g + 1 : 2);
    }
    /* free F: its references to nodes outside F go away */
    for (size_t x = 1; x <= n; x++)
        if (S.dead[x])
            m_kill(x);
    for (size_t x = 1; x <= n; x++) {
        if (!S.dead[x])
            continue;
        for (int s = 0; s < S.nslots[x]; s++) {
            size_t y = S.slots[x][s];
            S.slots[x][s] = 0;
            if (y && !S.dead[y])
                m_dec(y);
        }
    }
    for (size_t x = 1; x <= n; x++) {
        if (S.lreach[x] && S.alive[x]) {
            uncollectable++;
            if (saveall || S.kind[x] == K_LEGACY) {
                S.garbage_refs[x]++;
                S.rc[x]++;
            }
        }
    }
    S.exp_collected = collected;
    S.exp_uncollectable = uncollectable;
    S.stats[g][0]++;
    S.stats[g][1] += collected;
    S.stats[g][2] += uncollectable;
}

static void model_cb(cgc_heap *h, cgc_phase phase, const cgc_collect_info *info, void *ctx)
{
    (void)ctx;
    CHECK(h == S.h, "callback for another heap");
    CHECK(cgc_is_collecting(h) == 1, "callback with cgc_is_collecting 0");
    if (phase == CGC_PHASE_START) {
        CHECK(!S.in_collect, "START inside a collection");
        CHECK(info->generation >= 0 && info->generation <= 2, "START generation %d",
              info->generation);
        CHECK(info->collected == 0 && info->uncollectable == 0 && info->duration_ns == 0,
              "START info not zero");
        S.in_collect = 1;
        S.cur_gen = info->generation;
        S.collections++;
        sim_collect(info->generation);
    } else {
        CHECK(S.in_collect, "STOP without START");
        S.in_collect = 0;
        CHECK(info->generation == S.cur_gen, "STOP generation %d, START said %d",
              info->generation, S.cur_gen);
        CHECK(info->collected == S.exp_collected && info->uncollectable == S.exp_uncollectable,
              "collection %ld of generation %d: collected %zu + uncollectable %zu, "
              "model says %zu + %zu", S.collections, S.cur_gen, info->collected,
              info->uncollectable, S.exp_collected, S.exp_uncollectable);
    }
}

/* ------------------------------------------------------------------ */
/* Checking heap against model                                         */
/* ------------------------------------------------------------------ */

static int gen_visit(void *obj, void *arg)
{
    int g = *(int *)arg;
    node *n = check_node(obj, "get_objects");
    CHECK(S.realgen[n->id] == -1, "node#%u listed twice by get_objects", n->id);
    S.realgen[n->id] = (signed char)g;
    return 0;
}

/* Oracle 1: everything reachable from the roots is alive and intact. */
static void verify_roots(void)
{
    size_t n = S.maxid, sp = 0;
    memset(S.seen, 0, n + 1);
#define PUSH(id) do { size_t id_ = (id); if (!S.seen[id_]) { S.seen[id_] = 1; \
        S.stack[sp++] = (uint16_t)id_; } } while (0)
    for (size_t x = 1; x <= n; x++)
        if (S.held[x] > 0) {
            CHECK(S.real_alive[x], "held node#%zu was freed", x);
            PUSH(x);
        }
    for (size_t i = 0; i < S.nres; i++)
        PUSH(check_node(S.res[i], "resurrection list")->id);
    size_t gc = cgc_garbage_count(S.h);
    for (size_t i = 0; i < gc; i++)
        PUSH(check_node(cgc_garbage_get(S.h, i), "garbage list")->id);
    CHECK(cgc_garbage_get(S.h, gc) == NULL, "garbage_get past the end is not NULL");
    while (sp > 0) {
        size_t x = S.stack[--sp];
        CHECK(S.real_alive[x], "node#%zu is reachable from a root but was freed", x);
        node *nd = check_node(S.ptr[x], "reachable node");
        CHECK(S.clear_calls[x] == 0, "reachable node#%zu was cleared", x);
        for (unsigned s = 0; s < nd->nslots; s++)
            if (nd->slots[s] != NULL)
                PUSH(check_node(nd->slots[s], "slot")->id);
    }
#undef PUSH
}

/* Oracle 2: heap and model agree exactly. */
static void verify(void)
{
    size_t n = S.maxid;
    verify_roots();
    for (size_t x = 1; x <= n; x++)
        S.realgen[x] = -1;
    for (int g = 0; g < 3; g++)
        CHECK(cgc_get_objects(S.h, g, gen_visit, &g) == 0, "get_objects failed");
    long live = 0;
    size_t frozen = 0;
    for (size_t x = 1; x <= n; x++) {
        CHECK(S.real_alive[x] == S.alive[x], "node#%zu (%s): heap says %s, model says %s", x,
              kind_name[S.kind[x]], S.real_alive[x] ? "alive" : "freed",
              S.alive[x] ? "alive" : "freed");
        CHECK(S.fin_calls[x] == S.finalized[x], "node#%zu (%s): finalized %d times, model %d",
              x, kind_name[S.kind[x]], S.fin_calls[x], S.finalized[x]);
        if (!S.alive[x]) {
            CHECK(S.realgen[x] == -1, "freed node#%zu still listed", x);
            continue;
        }
        live++;
        node *nd = check_node(S.ptr[x], "verify");
        CHECK(S.clear_calls[x] == 0, "live node#%zu was cleared", x);
        CHECK(rc_get(nd) == S.rc[x], "node#%zu (%s): count %lld, model %ld", x,
              kind_name[S.kind[x]], (long long)rc_get(nd), S.rc[x]);
        CHECK(cgc_is_finalized(nd) == S.finalized[x], "node#%zu: is_finalized %d, model %d",
              x, cgc_is_finalized(nd), S.finalized[x]);
        int g = S.gen[x];
        int tracked = cgc_is_tracked(nd);
        if (g == G_FROZEN) {
            frozen++;
            CHECK(tracked && S.realgen[x] == -1, "frozen node#%zu: tracked %d, generation %d",
                  x, tracked, S.realgen[x]);
        } else {
            CHECK(S.realgen[x] == g && tracked == (g >= 0),
                  "node#%zu (%s): generation %d tracked %d, model generation %d", x,
                  kind_name[S.kind[x]], S.realgen[x], tracked, g);
        }
        for (int s = 0; s < S.nslots[x]; s++) {
            size_t want = S.slots[x][s];
            size_t got = nd->slots[s] ? nd->slots[s]->id : 0;
            CHECK(want == got, "node#%zu slot %d: node#%zu, model node#%zu", x, s, got, want);
        }
    }
    CHECK(live == S.live, "heap has %ld live nodes, model %ld", S.live, live);
    CHECK(cgc_get_freeze_count(S.h) == frozen, "freeze count %zu, model %zu",
          cgc_get_freeze_count(S.h), frozen);

    /* garbage and resurrection lists, as multisets */
    memset(S.tally, 0, sizeof(int) * (n + 1));
    size_t gc = cgc_garbage_count(S.h);
    for (size_t i = 0; i < gc; i++)
        S.tally[check_node(cgc_garbage_get(S.h, i), "garbage")->id]++;
    for (size_t x = 1; x <= n; x++)
        CHECK(S.tally[x] == S.garbage_refs[x], "node#%zu on the garbage list %d times, "
              "model %d", x, S.tally[x], S.garbage_refs[x]);
    memset(S.tally, 0, sizeof(int) * (n + 1));
    for (size_t i = 0; i < S.nres; i++)
        S.tally[S.res[i]->id]++;
    for (size_t x = 1; x <= n; x++)
        CHECK(S.tally[x] == S.res_refs[x], "node#%zu resurrected %d times, model %d", x,
              S.tally[x], S.res_refs[x]);

    for (int g = 0; g < 3; g++) {
        cgc_gen_stats st;
        CHECK(cgc_get_stats(S.h, g, &st) == CGC_OK, "get_stats failed");
        CHECK(st.collections == S.stats[g][0] && st.collected == S.stats[g][1] &&
              st.uncollectable == S.stats[g][2],
              "stats of generation %d: (%llu, %llu, %llu), model (%llu, %llu, %llu)", g,
              (unsigned long long)st.collections, (unsigned long long)st.collected,
              (unsigned long long)st.uncollectable, (unsigned long long)S.stats[g][0],
              (unsigned long long)S.stats[g][1], (unsigned long long)S.stats[g][2]);
        CHECK(st.max_pause_ns <= st.total_ns, "max pause above total");
    }
    int cnt[3];
    cgc_get_count(S.h, cnt);
    CHECK(cnt[0] >= 0 && cnt[1] >= 0 && cnt[2] >= 0, "negative count");
}

/* ------------------------------------------------------------------ */
/* Operations: heap and model together                                 */
/* ------------------------------------------------------------------ */

static long ran_before;

static void begin_op(void)
{
    ran_before = S.collections;
    CHECK(!S.in_collect, "collection still running");
}

/* after an operation that may have collected: verify if it did */
static long end_op(void)
{
    long ran = S.collections - ran_before;
    if (ran > 0)
        verify();
    return ran;
}

static size_t m_new(int kind, int nslots, int track)
{
    if (S.maxid + 1 >= MAXNODES)
        return 0;
    begin_op();
    node *n = cgc_alloc(S.h, sizeof(node) + (size_t)nslots * sizeof(node *));
    CHECK(n != NULL, "cgc_alloc failed");
    CHECK(((uintptr_t)n & 15) == 0, "cgc_alloc: misaligned object");
    CHECK(!cgc_is_tracked(n) && !cgc_is_finalized(n), "new object tracked or finalized");
    size_t id = ++S.maxid;
    memset(n, 0, sizeof *n);
    n->magic = NODE_MAGIC;
    n->id = (uint32_t)id;
    n->kind = (uint8_t)kind;
    n->nslots = (uint8_t)nslots;
    for (int i = 0; i < nslots; i++)
        n->slots[i] = NULL;
    rc_set(n, 1);
    S.ptr[id] = n;
    S.real_alive[id] = 1;
    S.live++;

    S.alive[id] = 1;
    S.kind[id] = (unsigned char)kind;
    S.nslots[id] = (unsigned char)nslots;
    S.held[id] = 1;
    S.rc[id] = 1;
    S.gen[id] = G_UNTRACKED;
    alist_add(id);
    if (track) {
        CHECK(cgc_track(S.h, n) == CGC_OK, "cgc_track of a new node failed");
        S.gen[id] = 0;
    }
    end_op();        /* a collection inside cgc_alloc never sees the new node */
    return id;
}

static void m_link(size_t a, int slot, size_t b)
{
    node *na = check_node(S.ptr[a], "link");
    node *nb = b ? check_node(S.ptr[b], "link target") : NULL;
    if (nb)
        h_incref(nb);
    node *old = na->slots[slot];
    na->slots[slot] = nb;
    if (old)
        h_decref(old);

    if (b)
        S.rc[b]++;
    size_t mold = S.slots[a][slot];
    S.slots[a][slot] = (uint16_t)b;
    if (mold)
        m_dec(mold);
}

static void m_hold(size_t x)
{
    h_incref(check_node(S.ptr[x], "hold"));
    S.held[x]++;
    S.rc[x]++;
}

static void m_drop(size_t x)
{
    CHECK(S.held[x] > 0 && S.alive[x], "model: drop of node#%zu not held", x);
    S.held[x]--;
    h_decref(check_node(S.ptr[x], "drop"));
    m_dec(x);
}

static void m_drop_resurrected(void)
{
    while (S.nres > 0)
        h_decref(S.res[--S.nres]);
    for (size_t x = 1; x <= S.maxid; x++)
        while (S.res_refs[x] > 0) {
            S.res_refs[x]--;
            m_dec(x);
        }
}

static void m_garbage_clear(void)
{
    cgc_garbage_clear(S.h);
    CHECK(cgc_garbage_count(S.h) == 0, "garbage list not empty after clear");
    for (size_t x = 1; x <= S.maxid; x++)
        while (S.garbage_refs[x] > 0) {
            S.garbage_refs[x]--;
            m_dec(x);
        }
}

static long m_collect(int g)
{
    begin_op();
    long r = cgc_collect(S.h, g);
    long ran = S.collections - ran_before;
    CHECK(ran == 1, "cgc_collect(%d) ran %ld collections", g, ran);
    CHECK(r == (long)(S.exp_collected + S.exp_uncollectable),
          "cgc_collect(%d) returned %ld, model %zu + %zu", g, r, S.exp_collected,
          S.exp_uncollectable);
    verify();
    return r;
}

static void m_freeze(void)
{
    cgc_freeze(S.h);
    for (size_t i = 0; i < S.nalive; i++) {
        size_t x = S.alist[i];
        if (S.gen[x] >= 0 && S.gen[x] <= 2)
            S.gen[x] = G_FROZEN;
    }
    int cnt[3];
    cgc_get_count(S.h, cnt);
    CHECK(cnt[0] == 0 && cnt[1] == 0 && cnt[2] == 0, "counts not 0 after freeze");
}

static void m_unfreeze(void)
{
    cgc_unfreeze(S.h);
    for (size_t i = 0; i < S.nalive; i++) {
        size_t x = S.alist[i];
        if (S.gen[x] == G_FROZEN)
            S.gen[x] = 2;
    }
    CHECK(cgc_get_freeze_count(S.h) == 0, "freeze count not 0 after unfreeze");
}

/* ------------------------------------------------------------------ */
/* Introspection checks                                                */
/* ------------------------------------------------------------------ */

typedef struct chain {
    size_t ids[MAXNODES];
    size_t n;
} chain;
static chain C;

static int chain_visit(void *obj, void *arg)
{
    (void)arg;
    CHECK(C.n < MAXNODES, "explain_alive: chain too long");
    C.ids[C.n++] = check_node(obj, "explain_alive visit")->id;
    return 0;
}

static void check_explain(size_t x)
{
    node *nd = check_node(S.ptr[x], "explain");
    C.n = 0;
    int r = cgc_explain_alive(S.h, nd, chain_visit, NULL);
    if (S.gen[x] == G_UNTRACKED) {
        CHECK(r == CGC_EINVAL, "explain_alive of untracked node#%zu returned %d", x, r);
        return;
    }
    /* the model: the tracked set is generations 0..2 and the frozen one */
    size_t n = S.maxid, sp = 0;
    for (size_t y = 1; y <= n; y++)
        S.young[y] = S.alive[y] && S.gen[y] != G_UNTRACKED;
    external_refs(S.young);
    memset(S.reach, 0, n + 1);
    for (size_t y = 1; y <= n; y++)
        if (S.young[y] && S.gcr[y] > 0) {
            S.reach[y] = 1;
            S.stack[sp++] = (uint16_t)y;
        }
    closure(sp, S.young, S.reach);
    CHECK(r == (S.reach[x] ? CGC_OK : 1), "explain_alive(node#%zu) returned %d, model %s",
          x, r, S.reach[x] ? "reachable" : "garbage");
    if (r != CGC_OK) {
        CHECK(C.n == 0, "explain_alive visited a chain for garbage");
        return;
    }
    CHECK(C.n >= 1 && C.ids[C.n - 1] == x, "explain_alive: chain does not end at node#%zu", x);
    CHECK(S.gcr[C.ids[0]] > 0, "explain_alive: chain starts at node#%zu, not a root",
          C.ids[0]);
    for (size_t i = 0; i + 1 < C.n; i++) {
        size_t a = C.ids[i], b = C.ids[i + 1];
        int linked = 0;
        for (int s = 0; s < S.nslots[a]; s++)
            linked |= S.slots[a][s] == b;
        CHECK(linked && S.young[b], "explain_alive: no reference node#%zu -> node#%zu", a, b);
    }
    /* shortest: no root may appear after the first element */
    for (size_t i = 1; i < C.n; i++)
        CHECK(S.gcr[C.ids[i]] == 0, "explain_alive: chain not shortest (root node#%zu at %zu)",
              C.ids[i], i);
}

static int tally_visit(void *obj, void *arg)
{
    (void)arg;
    S.tally[check_node(obj, "referrers/referents visit")->id]++;
    return 0;
}

static void check_referrers(size_t x)
{
    node *nd = check_node(S.ptr[x], "referrers");
    memset(S.tally, 0, sizeof(int) * (S.maxid + 1));
    CHECK(cgc_get_referrers(S.h, nd, tally_visit, NULL) == 0, "get_referrers failed");
    for (size_t y = 1; y <= S.maxid; y++) {
        int want = 0;
        if (S.alive[y] && S.gen[y] >= 0 && S.gen[y] <= 2)
            for (int s = 0; s < S.nslots[y]; s++)
                if (S.slots[y][s] == x)
                    want = 1;
        CHECK(S.tally[y] == want, "get_referrers(node#%zu): node#%zu visited %d times, "
              "model %d", x, y, S.tally[y], want);
    }
    memset(S.tally, 0, sizeof(int) * (S.maxid + 1));
    CHECK(cgc_get_referents(S.h, nd, tally_visit, NULL) == 0, "get_referents failed");
    int want_total = 0, got_total = 0;
    for (int s = 0; s < S.nslots[x]; s++)
        want_total += S.slots[x][s] != 0;
    for (size_t y = 1; y <= S.maxid; y++)
        got_total += S.tally[y];
    CHECK(want_total == got_total, "get_referents(node#%zu): %d visits, model %d", x,
          got_total, want_total);
}

static void check_dump(int what)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f != NULL, "open_memstream failed");
    int r = cgc_dump_dot(S.h, f, what);
    fclose(f);
    CHECK(r == CGC_OK, "cgc_dump_dot(%d) returned %d", what, r);
    CHECK(len > 0 && strstr(buf, "digraph") != NULL, "cgc_dump_dot(%d): no digraph", what);
    free(buf);
}

/* ------------------------------------------------------------------ */
/* Input decoding                                                      */
/* ------------------------------------------------------------------ */

typedef struct reader {
    const uint8_t *p;
    size_t n, i;
} reader;

static unsigned next(reader *r)
{
    return r->i < r->n ? r->p[r->i++] : 0;
}

/* a live node chosen by one byte, or 0 when there is none */
static size_t pick(reader *r)
{
    unsigned b = next(r);
    return S.nalive ? S.alist[b % S.nalive] : 0;
}

/* a node the program holds, or 0 */
static size_t pick_held(reader *r)
{
    unsigned b = next(r);
    for (size_t k = 0; k < S.nalive; k++) {
        size_t x = S.alist[(b + k) % S.nalive];
        if (S.held[x] > 0)
            return x;
    }
    return 0;
}

enum {
    OP_ALLOC, OP_LINK, OP_UNLINK, OP_DROP, OP_HOLD, OP_TRACK, OP_UNTRACK, OP_COLLECT,
    OP_FREEZE, OP_UNFREEZE, OP_THRESHOLD, OP_DEBUG, OP_GARBAGE_CLEAR, OP_DROP_RES,
    OP_ENABLE, OP_PENDING, OP_EXPLAIN, OP_REFERRERS, OP_RING, OP_DUMP, OP_DROP_ALL,
    OP_COUNT
};

static void run_op(reader *r)
{
    unsigned op = next(r) % OP_COUNT;
    size_t a, b;
    unsigned v;

    switch (op) {
    case OP_ALLOC:
        v = next(r);
        /* bits 0-1 kind, 2-4 slots (0..4), 7 untracked */
        m_new((int)(v & 3), (int)(((v >> 2) & 7) % (MAXSLOTS + 1)), !(v & 0x80));
        break;
    case OP_LINK:
    case OP_UNLINK:
        a = pick(r);
        v = next(r);
        b = op == OP_LINK ? pick(r) : 0;
        if (a && S.nslots[a] > 0)
            m_link(a, (int)(v % S.nslots[a]), b);
        break;
    case OP_DROP:
        a = pick_held(r);
        if (a)
            m_drop(a);
        break;
    case OP_HOLD:
        a = pick(r);
        if (a)
            m_hold(a);
        break;
    case OP_TRACK:
        a = pick(r);
        if (a) {
            int rc = cgc_track(S.h, S.ptr[a]);
            if (S.gen[a] == G_UNTRACKED) {
                CHECK(rc == CGC_OK, "cgc_track(node#%zu) returned %d", a, rc);
                S.gen[a] = 0;
            } else {
                CHECK(rc == CGC_EINVAL, "cgc_track of tracked node#%zu returned %d", a, rc);
            }
        }
        break;
    case OP_UNTRACK:
        a = pick(r);
        if (a) {
            cgc_untrack(S.h, S.ptr[a]);
            S.gen[a] = G_UNTRACKED;
            CHECK(!cgc_is_tracked(S.ptr[a]), "node#%zu tracked after untrack", a);
        }
        break;
    case OP_COLLECT:
        v = next(r) % 4;
        m_collect(v == 3 ? -1 : (int)v);
        break;
    case OP_FREEZE:
        m_freeze();
        break;
    case OP_UNFREEZE:
        m_unfreeze();
        break;
    case OP_THRESHOLD: {
        int t[3] = { (int)(next(r) % 24), (int)(next(r) % 6), (int)(next(r) % 6) }, old[3],
            now[3];
        cgc_get_threshold(S.h, old);
        if (t[1] == 5) {             /* sometimes a bad one: nothing changes */
            CHECK(cgc_set_threshold(S.h, t[0], -1, t[2]) == CGC_EINVAL,
                  "negative threshold accepted");
            cgc_get_threshold(S.h, now);
            CHECK(memcmp(old, now, sizeof now) == 0, "bad threshold changed something");
        } else {
            CHECK(cgc_set_threshold(S.h, t[0], t[1], t[2]) == CGC_OK, "set_threshold failed");
            cgc_get_threshold(S.h, now);
            CHECK(memcmp(t, now, sizeof now) == 0, "get_threshold differs from what was set");
        }
        break;
    }
    case OP_DEBUG:
        v = next(r);
        S.debug = ((v & 1) ? CGC_DEBUG_SAVEALL : 0) | ((v & 2) ? CGC_DEBUG_STATS : 0) |
                  ((v & 4) ? CGC_DEBUG_COLLECTABLE : 0) | ((v & 8) ? CGC_DEBUG_UNCOLLECTABLE : 0);
        cgc_set_debug(S.h, S.debug);
        CHECK(cgc_get_debug(S.h) == S.debug, "get_debug differs");
        break;
    case OP_GARBAGE_CLEAR:
        m_garbage_clear();
        break;
    case OP_DROP_RES:
        m_drop_resurrected();
        break;
    case OP_ENABLE:
        if (next(r) & 1) {
            cgc_enable(S.h);
            CHECK(cgc_is_enabled(S.h) == 1, "not enabled after cgc_enable");
        } else {
            cgc_disable(S.h);
            CHECK(cgc_is_enabled(S.h) == 0, "enabled after cgc_disable");
        }
        break;
    case OP_PENDING: {
        v = next(r);
        if (v & 1)
            cgc_request_collection(S.h);
        begin_op();
        long ret = cgc_collect_if_pending(S.h);
        long ran = S.collections - ran_before;
        CHECK(ran <= 1, "collect_if_pending ran %ld collections", ran);
        if (v & 1)
            CHECK(ran == 1, "a requested collection did not run");
        CHECK(ret == (ran ? (long)(S.exp_collected + S.exp_uncollectable) : 0),
              "collect_if_pending returned %ld, model %ld", ret,
              ran ? (long)(S.exp_collected + S.exp_uncollectable) : 0L);
        end_op();
        /* nothing is pending any more */
        begin_op();
        CHECK(cgc_collect_if_pending(S.h) == 0 && S.collections == ran_before,
              "second collect_if_pending collected");
        break;
    }
    case OP_EXPLAIN:
        a = pick(r);
        if (a)
            check_explain(a);
        break;
    case OP_REFERRERS:
        a = pick(r);
        if (a)
            check_referrers(a);
        break;
    case OP_RING: {
        v = next(r);
        int k = 2 + (int)(v % 8), kind = (int)((v >> 3) & 3);
        size_t first = m_new(kind, 1 + (int)((v >> 5) & 1), 1), prev = first;
        if (!first)
            break;
        for (int i = 1; i < k; i++) {
            size_t x = m_new(kind, 1, 1);
            if (!x || !S.alive[prev])
                break;
            m_link(prev, 0, x);
            m_drop(x);
            prev = x;
        }
        if (S.alive[prev] && S.alive[first])
            m_link(prev, 0, first);
        break;
    }
    case OP_DUMP:
        check_dump((int)(next(r) % 3));
        break;
    case OP_DROP_ALL:
        for (size_t x = 1; x <= S.maxid; x++)
            while (S.alive[x] && S.held[x] > 0)
                m_drop(x);
        break;
    }
}

/* ------------------------------------------------------------------ */
/* One input                                                           */
/* ------------------------------------------------------------------ */

static void setup(reader *r)
{
    memset(&S, 0, sizeof S);
    unsigned f = next(r);
    S.width = (f & 1) ? 4 : 8;
    S.deferred = (f & 2) != 0;
    S.nested = (f & 8) != 0;
    S.has_finalize = !(f & 32);
    S.has_legacy = !(f & 64);

    S.ops.refcnt_offset = S.width == 4 ? offsetof(node, rc32) : offsetof(node, rc64);
    S.ops.refcnt_width = (unsigned)S.width;
    S.ops.traverse = op_traverse;
    S.ops.clear = op_clear;
    S.ops.decref = op_decref;
    S.ops.finalize = S.has_finalize ? op_finalize : NULL;
    S.ops.has_legacy_finalizer = S.has_legacy ? op_has_legacy : NULL;
    S.ops.clear_weakrefs = op_clear_weakrefs;
    S.ops.dealloc = op_dealloc;
    S.ops.describe = op_describe;
    S.alloc.malloc = al_malloc;
    S.alloc.free = al_free;

    cgc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.ops = &S.ops;
    cfg.allocator = (f & 4) ? &S.alloc : NULL;
    cfg.thresholds[0] = (int)next(r);
    cfg.thresholds[1] = (int)(next(r) % 16);
    cfg.thresholds[2] = (int)(next(r) % 16);
    cfg.flags = S.deferred ? CGC_DEFERRED : 0;
    S.h = cgc_heap_new(&cfg);
    CHECK(S.h != NULL, "cgc_heap_new failed");
    CHECK((cgc_heap_pool(S.h) == NULL) == ((f & 4) != 0), "cgc_heap_pool wrong");
    cgc_set_fatal_handler(S.h, fatal_handler, NULL);
    cgc_set_log(S.h, log_sink, NULL);
    /* the environment may have set debug flags: start from none */
    cgc_set_debug(S.h, 0);
    if (f & 16)
        cgc_disable(S.h);
    if (f & 128) {
        S.debug = CGC_DEBUG_SAVEALL;
        cgc_set_debug(S.h, S.debug);
    }
    CHECK(cgc_add_callback(S.h, model_cb, NULL) == CGC_OK, "add_callback failed");
}

/* Drop everything and collect until nothing changes; then only nodes an
   untracked node or a legacy cycle keeps can be left. */
static void teardown(void)
{
    m_unfreeze();
    S.debug = 0;
    cgc_set_debug(S.h, 0);
    for (size_t x = 1; x <= S.maxid; x++)
        while (S.alive[x] && S.held[x] > 0)
            m_drop(x);
    for (int round = 0; round < 4; round++) {
        m_drop_resurrected();
        m_garbage_clear();
        m_collect(2);
    }
    CHECK(S.exp_collected == 0, "a full collection still found garbage after four rounds");
    /* whatever lives is kept by an untracked node, the resurrection list
       or a legacy node */
    int any_untracked = 0, any_legacy = 0;
    for (size_t i = 0; i < S.nalive; i++) {
        size_t x = S.alist[i];
        any_untracked |= S.gen[x] == G_UNTRACKED;
        any_legacy |= S.kind[x] == K_LEGACY && S.has_legacy;
    }
    if (!any_untracked && !any_legacy)
        CHECK(S.live == 0 && S.nres == 0, "%ld nodes left after dropping everything", S.live);

    CHECK(cgc_remove_callback(S.h, model_cb, NULL) == CGC_OK, "remove_callback failed");
    m_drop_resurrected();      /* outside the model's view now: plain refcounting */
    cgc_heap_free(S.h);
    S.h = NULL;
    while (S.blocks != NULL) {  /* host allocator blocks of nodes never freed */
        ablock *b = S.blocks;
        S.blocks = b->next;
        free(b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = { data, size, 0 };
    setup(&r);
    long nops = 0;
    while (r.i < r.n) {
        run_op(&r);
        if (++nops % 64 == 0)
            verify();
    }
    verify();
    teardown();
    return 0;
}
