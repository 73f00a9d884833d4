/*
 * check_threads.c -- the four entry points that are safe from any thread
 * (cyclegc.h section 8: cgc_request_collection, cgc_get_count, cgc_get_stats,
 * cgc_is_collecting), called in tight loops by three other threads while the
 * owner thread allocates, builds and drops cycles and collects.
 *
 * Other threads never call a Check assertion (Check's assertions leave the
 * test through longjmp or exit, which only the test's own thread may do):
 * each reader records its first failure and the owner reports it after
 * joining.  The same file is built with -fsanitize=thread by "make
 * check-tsan".
 */
#define _POSIX_C_SOURCE 200809L
#include "testhost.h"

#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NREADERS 3
#define NKEEP 64                  /* rings the owner keeps alive at a time */
#define SPIN_LIMIT_NS (20ull * 1000000000ull)   /* any wait for another thread */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* The readers                                                         */
/* ------------------------------------------------------------------ */

/* What the owner shares with the readers. */
typedef struct shared {
    _Atomic(cgc_heap *) heap;     /* NULL until the owner publishes it */
    atomic_int stop;              /* readers leave their loop */
    atomic_int ready;             /* readers that took a first snapshot of the heap */
    atomic_int null_rounds;       /* reader rounds made while heap was NULL */
    int request;                  /* readers call cgc_request_collection */
    int fresh;                    /* the first snapshot must be of an untouched heap */
    long count_bound;             /* no count may exceed this */
    int exact;                    /* every snapshot of gen g: collected == k[g] *
                                     collections, uncollectable == collections */
    uint64_t k[3];

    /* The collection handshake (test_observed_during_collection).  Each
       callback the owner waits in has a token of its own: 2i + 1 for the
       START of its collection i, 2i + 2 for its STOP (0: none), so a stale
       token is never mistaken for a new one. */
    atomic_int hs_token;
    atomic_int hs_ack;            /* the last token the watcher answered */
    int hs_gen;                   /* written before the token is published */
    uint64_t hs_before;           /* collections of hs_gen before this collection */
} shared;

typedef struct reader {
    shared *sh;
    int index;
    int watcher;                  /* answers the collection handshake */
    long rounds, requests, collecting_seen, handshakes;
    int last_token;
    cgc_gen_stats last[3];
    int failed;
    char err[512];
} reader;

static void rfail(reader *r, const char *fmt, ...)
{
    va_list ap;
    if (r->failed)
        return;
    r->failed = 1;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
}

/* One snapshot of a generation must be consistent in itself. */
static void check_snapshot(reader *r, int g, const cgc_gen_stats *s)
{
    const shared *sh = r->sh;
    if (s->max_pause_ns > s->total_ns)
        rfail(r, "reader %d, gen %d: max_pause_ns %llu > total_ns %llu", r->index, g,
              (unsigned long long)s->max_pause_ns, (unsigned long long)s->total_ns);
    /* the longest pause is at least the average one */
    if (s->total_ns > s->max_pause_ns * s->collections)
        rfail(r, "reader %d, gen %d: total_ns %llu > %llu collections * max_pause_ns %llu",
              r->index, g, (unsigned long long)s->total_ns,
              (unsigned long long)s->collections, (unsigned long long)s->max_pause_ns);
    if (s->collections == 0 && (s->collected | s->uncollectable | s->total_ns) != 0)
        rfail(r, "reader %d, gen %d: no collection but collected %llu, uncollectable "
              "%llu, total_ns %llu", r->index, g, (unsigned long long)s->collected,
              (unsigned long long)s->uncollectable, (unsigned long long)s->total_ns);
    if (sh->exact && (s->collected != sh->k[g] * s->collections ||
                      s->uncollectable != s->collections))
        rfail(r, "reader %d, gen %d: torn snapshot: %llu collections, %llu collected "
              "(expected %llu), %llu uncollectable", r->index, g,
              (unsigned long long)s->collections, (unsigned long long)s->collected,
              (unsigned long long)(sh->k[g] * s->collections),
              (unsigned long long)s->uncollectable);
}

/* ... and no value may go down between two snapshots. */
static void check_monotonic(reader *r, int g, const cgc_gen_stats *a, const cgc_gen_stats *b)
{
    if (b->collections < a->collections || b->collected < a->collected ||
        b->uncollectable < a->uncollectable || b->total_ns < a->total_ns ||
        b->max_pause_ns < a->max_pause_ns ||
        b->collected + b->uncollectable < a->collected + a->uncollectable)
        rfail(r, "reader %d, gen %d: statistics went down: collections %llu -> %llu, "
              "collected %llu -> %llu, uncollectable %llu -> %llu, total_ns %llu -> %llu, "
              "max_pause_ns %llu -> %llu", r->index, g,
              (unsigned long long)a->collections, (unsigned long long)b->collections,
              (unsigned long long)a->collected, (unsigned long long)b->collected,
              (unsigned long long)a->uncollectable, (unsigned long long)b->uncollectable,
              (unsigned long long)a->total_ns, (unsigned long long)b->total_ns,
              (unsigned long long)a->max_pause_ns, (unsigned long long)b->max_pause_ns);
}

/* The four calls on a NULL heap: documented no-ops. */
static void null_round(reader *r)
{
    int c[3] = { -7, -7, -7 };
    cgc_gen_stats s;
    cgc_request_collection(NULL);
    cgc_get_count(NULL, c);
    if (c[0] != -7 || c[1] != -7 || c[2] != -7)
        rfail(r, "cgc_get_count(NULL) wrote its output");
    for (int g = 0; g < 3; g++)
        if (cgc_get_stats(NULL, g, &s) != CGC_EINVAL)
            rfail(r, "cgc_get_stats(NULL, %d) is not CGC_EINVAL", g);
    if (cgc_is_collecting(NULL) != 0)
        rfail(r, "cgc_is_collecting(NULL) is not 0");
}

/* The watcher's side of the handshake: the owner sits inside a collection
   (in a START or STOP callback) until this is acknowledged. */
static void handshake(reader *r, cgc_heap *h)
{
    shared *sh = r->sh;
    int token = atomic_load(&sh->hs_token);
    if (token == 0 || token == r->last_token)
        return;
    int phase = token % 2 == 1 ? 1 : 2;      /* 1: START, 2: STOP */
    cgc_gen_stats s;
    if (cgc_is_collecting(h) != 1)
        rfail(r, "phase %d: cgc_is_collecting is %d during a collection", phase,
              cgc_is_collecting(h));
    if (cgc_get_stats(h, sh->hs_gen, &s) != CGC_OK)
        rfail(r, "cgc_get_stats during a collection failed");
    /* START: this collection is not counted yet; STOP: it is. */
    uint64_t want = sh->hs_before + (phase == 2 ? 1 : 0);
    if (s.collections != want)
        rfail(r, "phase %d of a collection of gen %d: %llu collections seen, expected %llu",
              phase, sh->hs_gen, (unsigned long long)s.collections,
              (unsigned long long)want);
    r->handshakes++;
    r->last_token = token;
    atomic_store(&sh->hs_ack, token);
}

static void *reader_main(void *arg)
{
    reader *r = arg;
    shared *sh = r->sh;
    int first = 1;
    while (!atomic_load(&sh->stop)) {
        cgc_heap *h = atomic_load_explicit(&sh->heap, memory_order_acquire);
        if (h == NULL) {
            null_round(r);
            atomic_fetch_add(&sh->null_rounds, 1);
            sched_yield();
            continue;
        }
        if (sh->request && (r->rounds + r->index) % 4 == 0) {
            cgc_request_collection(h);
            r->requests++;
        }
        int c[3] = { -1, -1, -1 };
        cgc_get_count(h, c);
        for (int g = 0; g < 3; g++)
            if (c[g] < 0 || c[g] > sh->count_bound)
                rfail(r, "reader %d: count[%d] = %d (bound %ld)", r->index, g, c[g],
                      sh->count_bound);
        int col = cgc_is_collecting(h);
        if (col != 0 && col != 1)
            rfail(r, "cgc_is_collecting returned %d", col);
        r->collecting_seen += col;
        if (r->watcher)
            handshake(r, h);
        for (int g = 0; g < 3; g++) {
            cgc_gen_stats s;
            memset(&s, 0xa5, sizeof s);
            if (cgc_get_stats(h, g, &s) != CGC_OK) {
                rfail(r, "reader %d: cgc_get_stats(%d) failed", r->index, g);
                continue;
            }
            check_snapshot(r, g, &s);
            if (first) {
                if (sh->fresh && (s.collections | s.collected | s.uncollectable |
                                  s.total_ns | s.max_pause_ns) != 0)
                    rfail(r, "reader %d: a new heap has statistics in gen %d", r->index, g);
            } else {
                check_monotonic(r, g, &r->last[g], &s);
            }
            r->last[g] = s;
        }
        if (first) {
            if (sh->fresh && (c[0] | c[1] | c[2] | col) != 0)
                rfail(r, "reader %d: a new heap: counts %d %d %d, collecting %d", r->index,
                      c[0], c[1], c[2], col);
            first = 0;
            atomic_fetch_add(&sh->ready, 1);
        }
        r->rounds++;
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* The owner's side                                                    */
/* ------------------------------------------------------------------ */

/* Collections seen by a callback of the owner's. */
typedef struct tally {
    uint64_t stops[3], collected[3], uncollectable[3];
    uint64_t all;
    shared *sh;                   /* handshake, when hs is set */
    int hs;                       /* 1: wait for the watcher; -1: it did not answer */
    int hs_index;                 /* collections made with the handshake */
} tally;

static int wait_for(atomic_int *v, int want)
{
    uint64_t t0 = now_ns();
    while (atomic_load(v) < want) {
        if (now_ns() - t0 > SPIN_LIMIT_NS)
            return 0;
        sched_yield();
    }
    return 1;
}

static void tally_fn(cgc_heap *h, cgc_phase phase, const cgc_collect_info *info, void *ctx)
{
    tally *t = ctx;
    (void)h;
    if (phase == CGC_PHASE_STOP) {
        TH_ASSERT(info->generation >= 0 && info->generation < 3, "generation %d",
                  info->generation);
        t->stops[info->generation]++;
        t->collected[info->generation] += info->collected;
        t->uncollectable[info->generation] += info->uncollectable;
        t->all++;
    }
    if (t->hs) {
        /* Stay inside the collection until the watcher has looked. */
        int token = 2 * t->hs_index + (phase == CGC_PHASE_START ? 1 : 2);
        if (phase == CGC_PHASE_STOP)
            t->hs_index++;
        t->sh->hs_gen = info->generation;
        atomic_store(&t->sh->hs_token, token);
        if (!wait_for(&t->sh->hs_ack, token))
            t->hs = -1;          /* reported by the test */
        atomic_store(&t->sh->hs_token, 0);
    }
}

typedef struct run {
    shared sh;
    reader rd[NREADERS];
    pthread_t th[NREADERS];
    int nstarted;
    int joined;
} run;

static void run_init(run *r, int request, long count_bound)
{
    memset(r, 0, sizeof *r);
    atomic_init(&r->sh.heap, NULL);
    atomic_init(&r->sh.stop, 0);
    atomic_init(&r->sh.ready, 0);
    atomic_init(&r->sh.null_rounds, 0);
    atomic_init(&r->sh.hs_token, 0);
    atomic_init(&r->sh.hs_ack, 0);
    r->sh.request = request;
    r->sh.count_bound = count_bound;
    for (int i = 0; i < NREADERS; i++) {
        r->rd[i].sh = &r->sh;
        r->rd[i].index = i;
    }
}

static void run_start(run *r)
{
    for (int i = 0; i < NREADERS; i++) {
        int rc = pthread_create(&r->th[i], NULL, reader_main, &r->rd[i]);
        ck_assert_int_eq(rc, 0);
        r->nstarted++;
    }
}

static void publish(run *r, cgc_heap *h)
{
    atomic_store_explicit(&r->sh.heap, h, memory_order_release);
}

/* Stops and joins the readers (once); then reports their failures. */
static void run_join(run *r)
{
    if (r->joined)
        return;
    r->joined = 1;
    atomic_store(&r->sh.stop, 1);
    for (int i = 0; i < r->nstarted; i++)
        pthread_join(r->th[i], NULL);
}

static void run_finish(run *r)
{
    run_join(r);
    for (int i = 0; i < r->nstarted; i++) {
        ck_assert_msg(!r->rd[i].failed, "%s", r->rd[i].err);
        ck_assert_msg(r->rd[i].rounds > 0, "reader %d never read the heap", i);
    }
}

/* A failing check of the owner while readers run: stop them first, so no
   thread is left spinning on a heap that goes away. */
#define OWN_CHECK(r, expr, ...) \
    do { if (!(expr)) { run_join(r); ck_abort_msg(__VA_ARGS__); } } while (0)

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Cuts the cycles of the garbage list (legacy self-loops) and lets it go. */
static void break_garbage(th_heap *t)
{
    size_t n = cgc_garbage_count(t->h);
    for (size_t i = 0; i < n; i++) {
        th_node *g = cgc_garbage_get(t->h, i);
        for (size_t s = 0; s < g->nslots; s++)
            th_link(g, s, NULL);
    }
    cgc_garbage_clear(t->h);
}

typedef struct work {
    long iters;                   /* iterations made */
    long requested;               /* collections run by cgc_collect_if_pending */
    long in_alloc;                /* collections run while allocating */
    long explicit_;               /* cgc_collect calls */
    long found;                   /* sum of what the collect calls returned */
} work;

/* The owner's mutator: rings of every kind, some kept, most dropped; a
   holder node in a self-cycle that keeps a kept ring alive; collections. */
static void mutate(run *r, th_heap *t, tally *ty, long iters, uint64_t max_ns, work *w)
{
    th_node *keep[NKEEP] = { NULL };
    uint32_t seed = 0x9e3779b9u;
    uint64_t t0 = now_ns();
    memset(w, 0, sizeof *w);
    for (long i = 0; i < iters; i++) {
        uint64_t before = ty->all;
        uint32_t x = rnd(&seed);
        int kind = (i % 61 == 0) ? TH_LEGACY : (int)(x % 3);   /* plain, finalizer, resurrect */
        th_node *ring = th_ring(t, kind, 1 + (x >> 8) % 6, NULL);
        size_t slot = (x >> 16) % NKEEP;
        if (x & 1) {
            th_node *holder = th_new(t, TH_PLAIN, 2);
            OWN_CHECK(r, holder != NULL, "cgc_alloc failed");
            if (keep[slot] != NULL)
                th_link(holder, 0, keep[slot]);
            th_link(holder, 1, holder);
            th_decref(holder);               /* garbage keeping keep[slot] alive */
        }
        if (keep[slot] != NULL)
            th_decref(keep[slot]);
        if (x & 2) {
            keep[slot] = ring;
        } else {
            keep[slot] = NULL;
            th_decref(ring);
        }
        w->in_alloc += (long)(ty->all - before);

        before = ty->all;
        long got = cgc_collect_if_pending(t->h);
        OWN_CHECK(r, got >= 0, "cgc_collect_if_pending returned %ld", got);
        w->found += got;
        if (ty->all > before)
            w->requested++;
        if (i % 37 == 0) {
            got = cgc_collect(t->h, (int)(i / 37 % 3));
            OWN_CHECK(r, got >= 0, "cgc_collect returned %ld", got);
            w->found += got;
            w->explicit_++;
        }
        if (i % 101 == 0) {
            th_drop_resurrected(t);
            break_garbage(t);
        }
        w->iters++;
        if (now_ns() - t0 > max_ns)
            break;                           /* a slow build (sanitizer, valgrind) */
    }
    for (size_t s = 0; s < NKEEP; s++)
        if (keep[s] != NULL)
            th_decref(keep[s]);
}

/* After the readers are gone: everything the mutator left is garbage. */
static void final_cleanup(th_heap *t, tally *ty)
{
    for (int round = 0; round < 10 && t->live > 0; round++) {
        th_drop_resurrected(t);
        break_garbage(t);
        long got = cgc_collect(t->h, 2);
        ck_assert_int_ge(got, 0);
    }
    ck_assert_int_eq(t->live, 0);
    ck_assert_uint_eq(cgc_garbage_count(t->h), 0);
    ck_assert_uint_eq(th_gen_count(t, -1), 0);
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    int c[3];
    cgc_get_count(t->h, c);
    ck_assert_int_eq(c[0], 0);
    ck_assert_int_eq(c[1], 0);
    ck_assert_int_eq(c[2], 0);
    ck_assert_int_eq(cgc_is_collecting(t->h), 0);
    /* the statistics agree with what the callback saw */
    for (int g = 0; g < 3; g++) {
        cgc_gen_stats s = th_stats(t, g);
        ck_assert_uint_eq(s.collections, ty->stops[g]);
        ck_assert_uint_eq(s.collected, ty->collected[g]);
        ck_assert_uint_eq(s.uncollectable, ty->uncollectable[g]);
        ck_assert(s.max_pause_ns <= s.total_ns);
    }
}

/* The readers' last snapshots are not ahead of the final statistics. */
static void check_last_snapshots(run *r, th_heap *t)
{
    for (int g = 0; g < 3; g++) {
        cgc_gen_stats s = th_stats(t, g);
        for (int i = 0; i < r->nstarted; i++) {
            const cgc_gen_stats *l = &r->rd[i].last[g];
            ck_assert_uint_le(l->collections, s.collections);
            ck_assert_uint_le(l->collected, s.collected);
            ck_assert_uint_le(l->uncollectable, s.uncollectable);
            ck_assert_uint_le(l->total_ns, s.total_ns);
            ck_assert_uint_le(l->max_pause_ns, s.max_pause_ns);
        }
    }
}

/* Keep calling cgc_collect_if_pending until a request makes it collect
   (readers request every fourth round). */
static void await_requested(run *r, th_heap *t, tally *ty, work *w)
{
    uint64_t t0 = now_ns();
    while (w->requested == 0 && now_ns() - t0 < SPIN_LIMIT_NS) {
        uint64_t before = ty->all;
        long got = cgc_collect_if_pending(t->h);
        OWN_CHECK(r, got >= 0, "cgc_collect_if_pending returned %ld", got);
        if (ty->all > before)
            w->requested++;
        else
            sched_yield();
    }
}

#define ITERS 100000L
#define MAX_NS (3ull * 1000000000ull)
#define COUNT_BOUND (ITERS * 16 + 1000)

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

/* CGC_DEFERRED with automatic collection off (threshold 0): cgc_alloc
   never collects, so every collection cgc_collect_if_pending runs was asked
   for by a reader's cgc_request_collection. */
START_TEST(test_deferred_requests)
{
    run r;
    tally ty;
    work w;
    memset(&ty, 0, sizeof ty);
    run_init(&r, 1, COUNT_BOUND);
    th_heap *t = th_heap_new(TH_F_DEFERRED, 0, 10, 10);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(cgc_add_callback(t->h, tally_fn, &ty), CGC_OK);
    publish(&r, t->h);
    run_start(&r);
    OWN_CHECK(&r, wait_for(&r.sh.ready, NREADERS), "the readers did not start");

    mutate(&r, t, &ty, ITERS, MAX_NS, &w);
    await_requested(&r, t, &ty, &w);
    run_finish(&r);

    ck_assert_int_eq(w.in_alloc, 0);                 /* deferred: never inside cgc_alloc */
    ck_assert_int_ge(w.requested, 1);
    ck_assert_int_ge(w.iters, 100);
    long requests = 0;
    for (int i = 0; i < NREADERS; i++)
        requests += r.rd[i].requests;
    ck_assert_int_ge(requests, w.requested);         /* at most one collection a request */
    ck_assert_uint_eq(ty.all, (uint64_t)(w.requested + w.explicit_));
    check_last_snapshots(&r, t);
    final_cleanup(t, &ty);
    th_heap_free(t);
}
END_TEST

/* A heap that collects by itself inside cgc_alloc (small thresholds), with
   requests on top. */
START_TEST(test_automatic_collections)
{
    run r;
    tally ty;
    work w;
    memset(&ty, 0, sizeof ty);
    run_init(&r, 1, COUNT_BOUND);
    th_heap *t = th_heap_new(0, 50, 5, 5);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(cgc_add_callback(t->h, tally_fn, &ty), CGC_OK);
    publish(&r, t->h);
    run_start(&r);
    OWN_CHECK(&r, wait_for(&r.sh.ready, NREADERS), "the readers did not start");

    mutate(&r, t, &ty, ITERS, MAX_NS, &w);
    await_requested(&r, t, &ty, &w);
    run_finish(&r);

    ck_assert_int_ge(w.in_alloc, 10);                /* automatic ones */
    ck_assert_int_ge(w.requested, 1);
    ck_assert_uint_eq(ty.all, (uint64_t)(w.in_alloc + w.requested + w.explicit_));
    ck_assert_uint_gt(ty.stops[1], 0);
    ck_assert_uint_gt(ty.stops[2], 0);
    int thr[3];
    cgc_get_threshold(t->h, thr);
    ck_assert(thr[0] == 50 && thr[1] == 5 && thr[2] == 5);
    check_last_snapshots(&r, t);
    final_cleanup(t, &ty);
    th_heap_free(t);
}
END_TEST

/* The readers start before the heap exists (the four calls on NULL are
   no-ops), see the new heap untouched, then follow it through the work. */
START_TEST(test_readers_before_heap)
{
    run r;
    tally ty;
    work w;
    memset(&ty, 0, sizeof ty);
    run_init(&r, 1, COUNT_BOUND);
    r.sh.fresh = 1;
    run_start(&r);
    OWN_CHECK(&r, wait_for(&r.sh.null_rounds, NREADERS * 10),
              "the readers made no rounds on a NULL heap");
    th_heap *t = th_heap_new(TH_F_DEFERRED, 0, 0, 0);   /* defaults 700, 10, 10 */
    OWN_CHECK(&r, t != NULL, "th_heap_new failed");
    OWN_CHECK(&r, cgc_add_callback(t->h, tally_fn, &ty) == CGC_OK, "cgc_add_callback failed");
    publish(&r, t->h);
    OWN_CHECK(&r, wait_for(&r.sh.ready, NREADERS), "the readers did not see the heap");
    /* requests made before any object existed: a collection of nothing */
    uint64_t before = ty.all;
    long got = cgc_collect_if_pending(t->h);
    OWN_CHECK(&r, got == 0, "collecting an empty heap found %ld", got);
    OWN_CHECK(&r, ty.all == before + 1, "the readers' requests were lost");

    mutate(&r, t, &ty, ITERS, MAX_NS, &w);
    await_requested(&r, t, &ty, &w);
    run_finish(&r);

    ck_assert_int_eq(w.in_alloc, 0);
    ck_assert_int_ge(w.requested, 1);
    check_last_snapshots(&r, t);
    final_cleanup(t, &ty);
    th_heap_free(t);
}
END_TEST

/* Every collection of generation g finds exactly g + 2 collectable objects
   and one uncollectable one, so any snapshot a reader takes must say
   collected == (g + 2) * collections and uncollectable == collections: a torn
   read of the five values shows. */
START_TEST(test_stats_snapshots)
{
    run r;
    tally ty;
    memset(&ty, 0, sizeof ty);
    run_init(&r, 1, COUNT_BOUND);
    r.sh.exact = 1;
    for (int g = 0; g < 3; g++)
        r.sh.k[g] = (uint64_t)g + 2;
    /* No automatic collection; the owner never calls cgc_collect_if_pending
       while the readers run, so their requests only set the flag. */
    th_heap *t = th_heap_new(0, 0, 10, 10);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(cgc_add_callback(t->h, tally_fn, &ty), CGC_OK);
    publish(&r, t->h);
    run_start(&r);
    OWN_CHECK(&r, wait_for(&r.sh.ready, NREADERS), "the readers did not start");

    th_node *keep = th_ring(t, TH_PLAIN, 50, NULL);
    uint64_t t0 = now_ns();
    long n;
    for (n = 0; n < ITERS; n++) {
        int g = (int)(n % 3);
        th_decref(th_ring(t, (int)(n % 2) ? TH_FINALIZER : TH_PLAIN, (size_t)g + 2, NULL));
        th_node *l = th_new(t, TH_LEGACY, 1);
        OWN_CHECK(&r, l != NULL, "cgc_alloc failed");
        th_link(l, 0, l);
        th_decref(l);
        long got = cgc_collect(t->h, g);
        OWN_CHECK(&r, got == g + 3, "collection %ld of gen %d found %ld, expected %d", n, g,
                  got, g + 3);
        if (n % 50 == 49)
            break_garbage(t);                 /* frees through refcounts only */
        if (now_ns() - t0 > MAX_NS)
            break;
    }
    run_finish(&r);

    ck_assert_int_ge(n, 30);
    for (int g = 0; g < 3; g++) {
        cgc_gen_stats s = th_stats(t, g);
        ck_assert_uint_eq(s.collections, ty.stops[g]);
        ck_assert_uint_eq(s.collected, r.sh.k[g] * s.collections);
        ck_assert_uint_eq(s.uncollectable, s.collections);
    }
    check_last_snapshots(&r, t);
    th_decref(keep);
    break_garbage(t);
    ck_assert_int_eq(cgc_collect(t->h, 2), 50);
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
}
END_TEST

/* The owner stops inside collections (in its START and STOP callbacks)
   until a reader has seen cgc_is_collecting == 1 and the statistics before
   (START) and after (STOP) the collection; the two other readers keep
   reading and requesting all the while. */
START_TEST(test_observed_during_collection)
{
    run r;
    tally ty;
    memset(&ty, 0, sizeof ty);
    run_init(&r, 1, COUNT_BOUND);
    r.rd[0].watcher = 1;
    th_heap *t = th_heap_new(TH_F_DEFERRED, 0, 10, 10);
    ck_assert_ptr_nonnull(t);
    ty.sh = &r.sh;
    ck_assert_int_eq(cgc_add_callback(t->h, tally_fn, &ty), CGC_OK);
    publish(&r, t->h);
    run_start(&r);
    OWN_CHECK(&r, wait_for(&r.sh.ready, NREADERS), "the readers did not start");

    int rounds = 0;
    for (int i = 0; i < 30; i++) {
        int g = i % 3;
        th_decref(th_ring(t, TH_PLAIN, 3, NULL));
        cgc_gen_stats s = th_stats(t, g);
        r.sh.hs_before = s.collections;
        ty.hs = 1;
        long got = cgc_collect(t->h, g);
        int hs = ty.hs;
        ty.hs = 0;
        OWN_CHECK(&r, hs == 1, "the watcher did not answer during collection %d", i);
        OWN_CHECK(&r, got == 3, "collection %d found %ld", i, got);
        OWN_CHECK(&r, cgc_is_collecting(t->h) == 0, "still collecting after cgc_collect");
        rounds++;
    }
    run_finish(&r);

    ck_assert_int_eq(rounds, 30);
    ck_assert_int_eq(r.rd[0].handshakes, 60);
    ck_assert_int_ge(r.rd[0].collecting_seen, 1);
    /* the requests were never consumed: the next call collects */
    uint64_t before = ty.all;
    ck_assert_int_eq(cgc_collect_if_pending(t->h), 0);
    ck_assert_uint_eq(ty.all, before + 1);
    check_last_snapshots(&r, t);
    final_cleanup(t, &ty);
    th_heap_free(t);
}
END_TEST

static Suite *threads_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("readers");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_deferred_requests);
    tcase_add_test(tc, test_automatic_collections);
    tcase_add_test(tc, test_readers_before_heap);
    tcase_add_test(tc, test_stats_snapshots);
    tcase_add_test(tc, test_observed_during_collection);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(threads_suite());
}
