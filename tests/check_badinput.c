/*
 * check_badinput.c -- every public function of cyclegc.h with NULL and
 * out-of-range arguments: each must return its documented error code or be
 * a documented no-op, and the heap (and its pool) must work as before.
 *
 * The public functions (every CGC_API name in include/cyclegc.h, 48; found
 * with  grep -o 'CGC_API[^(]*(' include/cyclegc.h  ), each called below:
 *
 *   cgc_strerror cgc_version cgc_heap_new cgc_heap_free cgc_header_size
 *   cgc_alloc cgc_free cgc_track cgc_untrack cgc_is_tracked cgc_is_finalized
 *   cgc_collect cgc_collect_if_pending cgc_request_collection
 *   cgc_is_collecting cgc_enable cgc_disable cgc_is_enabled cgc_set_threshold
 *   cgc_get_threshold cgc_get_count cgc_freeze cgc_unfreeze
 *   cgc_get_freeze_count cgc_get_stats cgc_add_callback cgc_remove_callback
 *   cgc_set_debug cgc_get_debug cgc_set_log cgc_set_fatal_handler
 *   cgc_garbage_count cgc_garbage_get cgc_garbage_clear cgc_get_objects
 *   cgc_get_referrers cgc_get_referents cgc_explain_alive cgc_dump_dot
 *   cgc_trashcan_begin cgc_trashcan_end cgc_pool_new cgc_pool_destroy
 *   cgc_pool_alloc cgc_pool_release cgc_pool_get_stats cgc_pool_trim
 *   cgc_heap_pool
 *
 * Not called with a NULL pool: cgc_pool_alloc and cgc_pool_release (the
 * header documents no NULL pool for them; see the report of this test).
 * check_api.c covers more of the same ground function by function; here the
 * point is the complete walk and the state check after it.
 */
#define _POSIX_C_SOURCE 200809L
#include "testhost.h"

#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int bad_gens[] = { -2, 3, 4, -1000, INT_MIN, INT_MAX, INT_MIN + 1, INT_MAX - 1 };
#define NBAD_GENS (sizeof bad_gens / sizeof bad_gens[0])

/* ------------------------------------------------------------------ */
/* What no bad call may change                                         */
/* ------------------------------------------------------------------ */

typedef struct state {
    int thr[3], cnt[3];
    cgc_gen_stats st[3];
    size_t gen[3], frozen, garbage;
    int enabled, collecting;
    unsigned debug;
    int has_pool;
    cgc_pool_stats pool;
} state;

static void take(th_heap *t, state *s)
{
    memset(s, 0, sizeof *s);
    cgc_get_threshold(t->h, s->thr);
    cgc_get_count(t->h, s->cnt);
    for (int g = 0; g < 3; g++) {
        s->st[g] = th_stats(t, g);
        s->gen[g] = th_gen_count(t, g);
    }
    s->frozen = cgc_get_freeze_count(t->h);
    s->garbage = cgc_garbage_count(t->h);
    s->enabled = cgc_is_enabled(t->h);
    s->collecting = cgc_is_collecting(t->h);
    s->debug = cgc_get_debug(t->h);
    cgc_pool *p = cgc_heap_pool(t->h);
    s->has_pool = p != NULL;
    if (p != NULL)
        ck_assert_int_eq(cgc_pool_get_stats(p, &s->pool), CGC_OK);
}

static void unchanged(th_heap *t, const state *a, const char *what)
{
    state b;
    take(t, &b);
    for (int g = 0; g < 3; g++) {
        ck_assert_msg(a->thr[g] == b.thr[g], "%s: threshold %d %d -> %d", what, g,
                      a->thr[g], b.thr[g]);
        ck_assert_msg(a->cnt[g] == b.cnt[g], "%s: count %d %d -> %d", what, g,
                      a->cnt[g], b.cnt[g]);
        ck_assert_msg(a->gen[g] == b.gen[g], "%s: generation %d %zu -> %zu objects", what,
                      g, a->gen[g], b.gen[g]);
        ck_assert_msg(memcmp(&a->st[g], &b.st[g], sizeof a->st[g]) == 0,
                      "%s: the statistics of generation %d changed", what, g);
    }
    ck_assert_msg(a->frozen == b.frozen, "%s: freeze count %zu -> %zu", what, a->frozen,
                  b.frozen);
    ck_assert_msg(a->garbage == b.garbage, "%s: garbage %zu -> %zu", what, a->garbage,
                  b.garbage);
    ck_assert_msg(a->enabled == b.enabled, "%s: enabled changed", what);
    ck_assert_msg(b.collecting == 0, "%s: left the heap collecting", what);
    ck_assert_msg(a->debug == b.debug, "%s: debug flags %#x -> %#x", what, a->debug,
                  b.debug);
    ck_assert_msg(a->has_pool == b.has_pool, "%s: the heap's pool changed", what);
    if (a->has_pool) {
        ck_assert_msg(a->pool.blocks_in_use == b.pool.blocks_in_use &&
                      a->pool.bytes_in_use == b.pool.bytes_in_use &&
                      a->pool.large_in_use == b.pool.large_in_use &&
                      a->pool.arenas == b.pool.arenas &&
                      a->pool.bytes_mapped == b.pool.bytes_mapped,
                      "%s: the pool's statistics changed: blocks %zu -> %zu, bytes %zu -> "
                      "%zu, large %zu -> %zu, arenas %zu -> %zu", what,
                      a->pool.blocks_in_use, b.pool.blocks_in_use, a->pool.bytes_in_use,
                      b.pool.bytes_in_use, a->pool.large_in_use, b.pool.large_in_use,
                      a->pool.arenas, b.pool.arenas);
    }
}

/* ------------------------------------------------------------------ */
/* Host functions that must never run                                  */
/* ------------------------------------------------------------------ */

static void never_log(void *ctx, const char *line)
{
    (void)ctx;
    ck_abort_msg("a log function set on a NULL heap ran: %s", line);
}

static void never_fatal(void *ctx, const char *msg)
{
    (void)ctx;
    ck_abort_msg("a fatal handler set on a NULL heap ran: %s", msg);
}

typedef struct lines {
    int n;
    char last[256];
} lines;

static void keep_line(void *ctx, const char *line)
{
    lines *l = ctx;
    l->n++;
    snprintf(l->last, sizeof l->last, "%s", line);
}

/* A heap with something everywhere: every generation, the permanent one, a
   legacy object on the garbage list, live cycles, odd thresholds, a debug
   flag, a callback that counts. */
static th_heap *loaded_heap(unsigned flags, th_cblog *log)
{
    th_heap *t = th_heap_new(flags | TH_F_DISABLE, 0, 0, 0);
    ck_assert_ptr_nonnull(t);
    th_ring(t, TH_PLAIN, 3, NULL);                 /* live, frozen */
    cgc_freeze(t->h);
    th_node *l = th_new(t, TH_LEGACY, 1);
    th_link(l, 0, l);
    th_decref(l);
    th_ring(t, TH_FINALIZER, 4, NULL);             /* live, generation 2 */
    ck_assert_int_eq(cgc_collect(t->h, 1), 1);
    th_ring(t, TH_PLAIN, 2, NULL);                 /* live, generation 1 */
    ck_assert_int_eq(cgc_collect(t->h, 0), 0);
    th_ring(t, TH_PLAIN, 5, NULL);                 /* live, generation 0 */
    ck_assert_int_eq(cgc_set_threshold(t->h, 321, 7, 3), CGC_OK);
    cgc_set_debug(t->h, CGC_DEBUG_UNCOLLECTABLE);
    if (log != NULL)
        ck_assert_int_eq(cgc_add_callback(t->h, th_cblog_fn, log), CGC_OK);
    ck_assert_uint_eq(cgc_garbage_count(t->h), 1);
    ck_assert_uint_eq(cgc_get_freeze_count(t->h), 3);
    return t;
}

/* A whole cycle is still found and freed afterwards; the pool still hands
   out and takes back blocks; the trashcan still bounds a long chain. */
static void still_works(th_heap *t)
{
    long live = t->live;
    size_t ids[4];
    th_decref(th_ring(t, TH_FINALIZER, 4, ids));
    ck_assert_int_eq(cgc_collect(t->h, 0), 4);
    for (int i = 0; i < 4; i++)
        ck_assert(!th_alive(t, ids[i]));
    ck_assert_int_eq(t->live, live);

    cgc_pool *p = cgc_heap_pool(t->h);
    if (p != NULL) {
        cgc_pool_stats a, b;
        ck_assert_int_eq(cgc_pool_get_stats(p, &a), CGC_OK);
        void *x = cgc_pool_alloc(p, 100), *y = cgc_pool_alloc(p, 5000);
        ck_assert_ptr_nonnull(x);
        ck_assert_ptr_nonnull(y);
        memset(x, 1, 100);
        memset(y, 2, 5000);
        ck_assert_int_eq(cgc_pool_get_stats(p, &b), CGC_OK);
        ck_assert_uint_eq(b.blocks_in_use, a.blocks_in_use + 1);
        ck_assert_uint_eq(b.large_in_use, a.large_in_use + 1);
        cgc_pool_release(p, x);
        cgc_pool_release(p, y);
        ck_assert_int_eq(cgc_pool_get_stats(p, &b), CGC_OK);
        ck_assert_uint_eq(b.blocks_in_use, a.blocks_in_use);
        ck_assert_uint_eq(b.large_in_use, a.large_in_use);
    }

    /* a chain of 20000 nodes freed through the trashcan, depth bounded */
    th_node *head = th_new(t, TH_PLAIN, 1), *n = head;
    for (int i = 1; i < 20000; i++) {
        th_node *m = th_new(t, TH_PLAIN, 1);
        th_link(n, 0, m);
        th_decref(m);
        n = m;
    }
    t->max_dealloc_depth = 0;
    th_decref(head);
    ck_assert_int_eq(t->live, live);
    ck_assert_int_le(t->max_dealloc_depth, CGC_TRASHCAN_DEPTH + 2);
}

/* ------------------------------------------------------------------ */
/* The walks                                                           */
/* ------------------------------------------------------------------ */

/* Errors and constants: no heap involved. */
START_TEST(test_strerror_version_header)
{
    const int unknown[] = { INT_MIN, INT_MAX, INT_MIN + 1, -4, 1, 3 };
    const char *ok = cgc_strerror(CGC_OK);
    ck_assert_ptr_nonnull(ok);
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *s = cgc_strerror(unknown[i]);
        ck_assert_msg(s != NULL && s[0] != '\0', "cgc_strerror(%d)", unknown[i]);
        /* an unknown code never reads as success or as one of the known errors */
        ck_assert_str_ne(s, ok);
        ck_assert_str_ne(s, cgc_strerror(CGC_EINVAL));
        ck_assert_str_ne(s, cgc_strerror(CGC_ENOMEM));
        ck_assert_str_ne(s, cgc_strerror(CGC_EBUSY));
        ck_assert_str_eq(s, cgc_strerror(INT_MIN));
    }
    ck_assert_ptr_nonnull(cgc_version());
    ck_assert_uint_eq(cgc_header_size(), 16);
}
END_TEST

/* cgc_heap_new with out-of-range configs (INT_MIN/INT_MAX thresholds,
   every flag bit); cgc_heap_free(NULL). */
START_TEST(test_heap_new_out_of_range)
{
    th_heap *t = th_heap_new(0, 0, 0, 0);          /* for its ops */
    ck_assert_ptr_nonnull(t);
    cgc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.ops = &t->ops;
    ck_assert_ptr_null(cgc_heap_new(NULL));
    const int thr[][3] = { { INT_MIN, 0, 0 }, { 0, INT_MIN, 0 }, { 0, 0, INT_MIN },
                           { -1, -1, -1 }, { INT_MAX, INT_MAX, -1 } };
    for (size_t i = 0; i < sizeof thr / sizeof thr[0]; i++) {
        memcpy(cfg.thresholds, thr[i], sizeof cfg.thresholds);
        ck_assert_msg(cgc_heap_new(&cfg) == NULL, "thresholds %d %d %d accepted",
                      thr[i][0], thr[i][1], thr[i][2]);
    }
    memset(cfg.thresholds, 0, sizeof cfg.thresholds);
    cfg.flags = UINT_MAX;
    ck_assert_ptr_null(cgc_heap_new(&cfg));
    cfg.flags = ~(unsigned)CGC_DEFERRED;
    ck_assert_ptr_null(cgc_heap_new(&cfg));
    /* the largest thresholds are fine */
    cfg.flags = CGC_DEFERRED;
    cfg.thresholds[0] = cfg.thresholds[1] = cfg.thresholds[2] = INT_MAX;
    cgc_heap *h = cgc_heap_new(&cfg);
    ck_assert_ptr_nonnull(h);
    int got[3];
    cgc_get_threshold(h, got);
    ck_assert(got[0] == INT_MAX && got[1] == INT_MAX && got[2] == INT_MAX);
    cgc_heap_free(h);
    cgc_heap_free(NULL);
    th_heap_free(t);
}
END_TEST

/* Every function that takes a heap, with NULL. */
static void walk_null_heap(th_heap *t, FILE *f)
{
    th_node *some = cgc_garbage_get(t->h, 0);       /* a tracked object of t */
    int out[3] = { -9, -9, -9 };
    cgc_gen_stats st;
    memset(&st, 0x5a, sizeof st);
    cgc_gen_stats st0 = st;

    ck_assert_ptr_null(cgc_alloc(NULL, 0));
    ck_assert_ptr_null(cgc_alloc(NULL, 64));
    ck_assert_ptr_null(cgc_alloc(NULL, SIZE_MAX));
    cgc_free(NULL, NULL);
    ck_assert_int_eq(cgc_track(NULL, NULL), CGC_EINVAL);
    ck_assert_int_eq(cgc_track(NULL, some), CGC_EINVAL);
    cgc_untrack(NULL, NULL);
    ck_assert_int_eq(cgc_collect(NULL, -1), CGC_EINVAL);
    ck_assert_int_eq(cgc_collect(NULL, 2), CGC_EINVAL);
    ck_assert_int_eq(cgc_collect(NULL, INT_MIN), CGC_EINVAL);
    ck_assert_int_eq(cgc_collect_if_pending(NULL), CGC_EINVAL);
    cgc_request_collection(NULL);
    ck_assert_int_eq(cgc_is_collecting(NULL), 0);
    cgc_enable(NULL);
    cgc_disable(NULL);
    ck_assert_int_eq(cgc_is_enabled(NULL), 0);
    ck_assert_int_eq(cgc_set_threshold(NULL, 1, 2, 3), CGC_EINVAL);
    ck_assert_int_eq(cgc_set_threshold(NULL, -1, -1, -1), CGC_EINVAL);
    cgc_get_threshold(NULL, out);
    cgc_get_threshold(NULL, NULL);
    cgc_get_count(NULL, out);
    cgc_get_count(NULL, NULL);
    ck_assert(out[0] == -9 && out[1] == -9 && out[2] == -9);
    cgc_freeze(NULL);
    cgc_unfreeze(NULL);
    ck_assert_uint_eq(cgc_get_freeze_count(NULL), 0);
    for (int g = 0; g < 3; g++)
        ck_assert_int_eq(cgc_get_stats(NULL, g, &st), CGC_EINVAL);
    ck_assert_int_eq(cgc_get_stats(NULL, 0, NULL), CGC_EINVAL);
    ck_assert(memcmp(&st, &st0, sizeof st) == 0);
    ck_assert_int_eq(cgc_add_callback(NULL, th_never_cb, NULL), CGC_EINVAL);
    ck_assert_int_eq(cgc_add_callback(NULL, NULL, NULL), CGC_EINVAL);
    ck_assert_int_eq(cgc_remove_callback(NULL, th_never_cb, NULL), CGC_EINVAL);
    cgc_set_debug(NULL, CGC_DEBUG_LEAK | CGC_DEBUG_STATS);
    ck_assert_uint_eq(cgc_get_debug(NULL), 0);
    cgc_set_log(NULL, never_log, NULL);
    cgc_set_log(NULL, NULL, NULL);
    cgc_set_fatal_handler(NULL, never_fatal, NULL);
    cgc_set_fatal_handler(NULL, NULL, NULL);
    ck_assert_uint_eq(cgc_garbage_count(NULL), 0);
    ck_assert_ptr_null(cgc_garbage_get(NULL, 0));
    ck_assert_ptr_null(cgc_garbage_get(NULL, SIZE_MAX));
    cgc_garbage_clear(NULL);
    ck_assert_int_eq(cgc_get_objects(NULL, -1, th_never_visit, NULL), CGC_EINVAL);
    ck_assert_int_eq(cgc_get_objects(NULL, 0, th_never_visit, NULL), CGC_EINVAL);
    ck_assert_int_eq(cgc_get_referrers(NULL, some, th_never_visit, NULL), CGC_EINVAL);
    ck_assert_int_eq(cgc_get_referents(NULL, some, th_never_visit, NULL), CGC_EINVAL);
    ck_assert_int_eq(cgc_explain_alive(NULL, some, th_never_visit, NULL), CGC_EINVAL);
    for (int what = CGC_DOT_ALL; what <= CGC_DOT_UNREACHABLE; what++)
        ck_assert_int_eq(cgc_dump_dot(NULL, f, what), CGC_EINVAL);
    ck_assert_int_eq(cgc_dump_dot(NULL, NULL, CGC_DOT_ALL), CGC_EINVAL);
    /* No heap, no trashcan: nothing is queued (1), and the matching end is a no-op. */
    ck_assert_int_ne(cgc_trashcan_begin(NULL, some), 0);
    cgc_trashcan_end(NULL);
    ck_assert_ptr_null(cgc_heap_pool(NULL));
    cgc_heap_free(NULL);
}

/* Every function that takes an object, a function or an output pointer,
   with NULL, on a real heap. */
static void walk_null_args(th_heap *t, FILE *f)
{
    cgc_heap *h = t->h;
    th_node *some = cgc_garbage_get(h, 0);

    ck_assert_int_eq(cgc_track(h, NULL), CGC_EINVAL);
    cgc_untrack(h, NULL);
    cgc_free(h, NULL);
    ck_assert_int_eq(cgc_is_tracked(NULL), 0);
    ck_assert_int_eq(cgc_is_finalized(NULL), 0);
    cgc_get_threshold(h, NULL);
    cgc_get_count(h, NULL);
    for (int g = 0; g < 3; g++)
        ck_assert_int_eq(cgc_get_stats(h, g, NULL), CGC_EINVAL);
    ck_assert_int_eq(cgc_add_callback(h, NULL, NULL), CGC_EINVAL);
    ck_assert_int_eq(cgc_add_callback(h, NULL, h), CGC_EINVAL);
    ck_assert_int_eq(cgc_remove_callback(h, NULL, NULL), CGC_EINVAL);
    ck_assert_int_eq(cgc_remove_callback(h, th_never_cb, NULL), CGC_EINVAL);   /* absent */
    for (int g = -1; g < 3; g++)
        ck_assert_int_eq(cgc_get_objects(h, g, NULL, NULL), CGC_EINVAL);
    ck_assert_int_eq(cgc_get_referrers(h, NULL, th_never_visit, NULL), CGC_EINVAL);
    ck_assert_int_eq(cgc_get_referrers(h, some, NULL, NULL), CGC_EINVAL);
    ck_assert_int_eq(cgc_get_referents(h, NULL, th_never_visit, NULL), CGC_EINVAL);
    ck_assert_int_eq(cgc_get_referents(h, some, NULL, NULL), CGC_EINVAL);
    ck_assert_int_eq(cgc_explain_alive(h, NULL, th_never_visit, NULL), CGC_EINVAL);
    ck_assert_int_eq(cgc_explain_alive(h, some, NULL, NULL), CGC_EINVAL);
    for (int what = CGC_DOT_ALL; what <= CGC_DOT_UNREACHABLE; what++)
        ck_assert_int_eq(cgc_dump_dot(h, NULL, what), CGC_EINVAL);
    (void)f;
}

/* Generations outside 0..2 (and -1 where only 0..2 is allowed). */
static void walk_bad_generations(th_heap *t)
{
    cgc_heap *h = t->h;
    for (size_t i = 0; i < NBAD_GENS; i++) {
        int g = bad_gens[i];
        cgc_gen_stats st, st0;
        memset(&st, 0x77, sizeof st);
        st0 = st;
        ck_assert_int_eq(cgc_collect(h, g), CGC_EINVAL);
        ck_assert_int_eq(cgc_get_objects(h, g, th_never_visit, NULL), CGC_EINVAL);
        ck_assert_int_eq(cgc_get_stats(h, g, &st), CGC_EINVAL);
        ck_assert_msg(memcmp(&st, &st0, sizeof st) == 0,
                      "cgc_get_stats(%d) wrote its output", g);
    }
    cgc_gen_stats st;
    ck_assert_int_eq(cgc_get_stats(h, -1, &st), CGC_EINVAL);
}

/* Negative thresholds, in every position and every combination. */
static void walk_bad_thresholds(th_heap *t)
{
    const int neg[] = { -1, -2, INT_MIN };
    for (int mask = 1; mask < 8; mask++) {
        for (size_t k = 0; k < sizeof neg / sizeof neg[0]; k++) {
            int v[3] = { 5, INT_MAX, 0 };
            for (int b = 0; b < 3; b++)
                if (mask & (1 << b))
                    v[b] = neg[k];
            ck_assert_msg(cgc_set_threshold(t->h, v[0], v[1], v[2]) == CGC_EINVAL,
                          "cgc_set_threshold(%d, %d, %d) accepted", v[0], v[1], v[2]);
        }
    }
}

/* cgc_dump_dot with an unknown what: nothing is written. */
static void walk_bad_dump(th_heap *t, FILE *f)
{
    const int bad[] = { -1, 3, 4, -100, INT_MIN, INT_MAX };
    long before = ftell(f);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(cgc_dump_dot(t->h, f, bad[i]), CGC_EINVAL);
        ck_assert_int_eq(cgc_dump_dot(t->h, NULL, bad[i]), CGC_EINVAL);
        ck_assert_int_eq(cgc_dump_dot(NULL, f, bad[i]), CGC_EINVAL);
    }
    fflush(f);
    ck_assert_int_eq(ftell(f), before);
}

/* Garbage indexes past the end. */
static void walk_garbage_range(th_heap *t)
{
    size_t n = cgc_garbage_count(t->h);
    ck_assert_uint_ge(n, 1);
    const size_t bad[] = { n, n + 1, n * 1000, SIZE_MAX / 2, SIZE_MAX - 1, SIZE_MAX };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(cgc_garbage_get(t->h, bad[i]) == NULL, "garbage index %zu", bad[i]);
    for (size_t i = 0; i < n; i++)
        ck_assert_ptr_nonnull(cgc_garbage_get(t->h, i));
}

/* Objects the heap cannot use: an untracked one where a tracked one is
   needed; one already tracked; sizes no allocator can serve. */
static void walk_bad_objects(th_heap *t)
{
    th_node *tracked = cgc_garbage_get(t->h, 0);
    ck_assert_int_eq(cgc_track(t->h, tracked), CGC_EINVAL);
    th_node *u = th_new_untracked(t, TH_PLAIN, 1);
    ck_assert_ptr_nonnull(u);
    int c0[3], c1[3];
    cgc_get_count(t->h, c0);
    ck_assert_int_eq(cgc_explain_alive(t->h, u, th_never_visit, NULL), CGC_EINVAL);
    cgc_untrack(t->h, u);                        /* not tracked: no-op */
    ck_assert_int_eq(cgc_is_tracked(u), 0);
    ck_assert_int_eq(cgc_is_finalized(u), 0);
    ck_assert_ptr_null(cgc_alloc(t->h, SIZE_MAX));
    ck_assert_ptr_null(cgc_alloc(t->h, SIZE_MAX - 15));
    if (cgc_heap_pool(t->h) != NULL) {
        /* (The test host's counting allocator rounds SIZE_MAX up to 0, so
           only the built-in pool gets this one.) */
        ck_assert_ptr_null(cgc_alloc(t->h, SIZE_MAX - 16));
    }
    ck_assert_ptr_null(cgc_alloc(t->h, SIZE_MAX / 2));
    cgc_get_count(t->h, c1);
    ck_assert_int_eq(c0[0], c1[0]);              /* failed allocations count nothing */
    th_decref(u);                                /* cgc_free: the count goes back */
}

/* The trashcan with a NULL object: it answers 1 (the body runs), and the
   end that the header asks for after each 1 is then called. */
static void walk_trashcan(th_heap *t)
{
    ck_assert_int_ne(cgc_trashcan_begin(t->h, NULL), 0);
    cgc_trashcan_end(t->h);
    cgc_trashcan_end(t->h);                      /* unmatched end: depth 0, no-op */
}

/* Pools: a NULL pool where the header allows it, NULL and impossible blocks. */
static void walk_pool(cgc_pool *p)
{
    cgc_pool_stats s, s0;
    memset(&s, 0x3c, sizeof s);
    s0 = s;
    ck_assert_int_eq(cgc_pool_get_stats(NULL, &s), CGC_EINVAL);
    ck_assert(memcmp(&s, &s0, sizeof s) == 0);
    ck_assert_int_eq(cgc_pool_get_stats(NULL, NULL), CGC_EINVAL);
    ck_assert_int_eq(cgc_pool_get_stats(p, NULL), CGC_EINVAL);
    ck_assert_uint_eq(cgc_pool_trim(NULL), 0);
    cgc_pool_destroy(NULL);
    cgc_pool_release(p, NULL);
    ck_assert_ptr_null(cgc_pool_alloc(p, SIZE_MAX));
    ck_assert_ptr_null(cgc_pool_alloc(p, SIZE_MAX - 15));
    ck_assert_ptr_null(cgc_pool_alloc(p, SIZE_MAX / 2 + 1));
}

static void walk_everything(th_heap *t, FILE *f)
{
    walk_null_heap(t, f);
    walk_null_args(t, f);
    walk_bad_generations(t);
    walk_bad_thresholds(t);
    walk_bad_dump(t, f);
    walk_garbage_range(t);
    walk_bad_objects(t);
    walk_trashcan(t);
    if (cgc_heap_pool(t->h) != NULL)
        walk_pool(cgc_heap_pool(t->h));
}

static FILE *scratch_file(void)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    return f;
}

/* One group at a time, each followed by the state check. */
#define ONE_WALK(name, call)                                            \
    START_TEST(name)                                                    \
    {                                                                   \
        th_cblog *log = th_cblog_new();                                 \
        th_heap *t = loaded_heap(0, log);                               \
        FILE *f = scratch_file();                                       \
        state s;                                                        \
        take(t, &s);                                                    \
        call;                                                           \
        unchanged(t, &s, #call);                                        \
        ck_assert_uint_eq(log->n, 0);                                   \
        still_works(t);                                                 \
        ck_assert_uint_eq(log->n, 2);                                   \
        fclose(f);                                                      \
        th_heap_free(t);                                                \
        free(log);                                                      \
    }                                                                   \
    END_TEST

ONE_WALK(test_null_heap_walk, walk_null_heap(t, f))
ONE_WALK(test_null_args_walk, walk_null_args(t, f))
ONE_WALK(test_bad_generations_walk, walk_bad_generations(t))
ONE_WALK(test_bad_thresholds_walk, walk_bad_thresholds(t))
ONE_WALK(test_bad_dump_walk, walk_bad_dump(t, f))
ONE_WALK(test_garbage_range_walk, walk_garbage_range(t))
ONE_WALK(test_bad_objects_walk, walk_bad_objects(t))
ONE_WALK(test_trashcan_walk, walk_trashcan(t))
ONE_WALK(test_pool_walk, walk_pool(cgc_heap_pool(t->h)))

/* All of it, three times over, on the built-in pool; then the heap still
   collects, logs and reports as before. */
START_TEST(test_everything_builtin_pool)
{
    th_cblog *log = th_cblog_new();
    th_heap *t = loaded_heap(0, log);
    FILE *f = scratch_file();
    state s;
    take(t, &s);
    ck_assert(s.has_pool);
    for (int i = 0; i < 3; i++)
        walk_everything(t, f);
    unchanged(t, &s, "the whole walk");
    ck_assert_uint_eq(log->n, 0);
    /* the log function of the heap is still the one set on it */
    lines l;
    memset(&l, 0, sizeof l);
    cgc_set_log(t->h, keep_line, &l);
    cgc_set_debug(t->h, CGC_DEBUG_STATS);
    still_works(t);
    ck_assert_int_eq(l.n, 1);
    ck_assert(strncmp(l.last, "cyclegc: gen 0:", 15) == 0);
    ck_assert_uint_eq(log->n, 2);
    /* and the dump still works on the same file */
    ck_assert_int_eq(cgc_dump_dot(t->h, f, CGC_DOT_ALL), CGC_OK);
    fflush(f);
    ck_assert_int_gt(ftell(f), 0);
    fclose(f);
    th_heap_free(t);
    free(log);
}
END_TEST

/* The same on a deferred heap with a host allocator (no built-in pool),
   with automatic collection on: the bad calls start no collection either. */
START_TEST(test_everything_host_allocator)
{
    th_cblog *log = th_cblog_new();
    th_heap *t = loaded_heap(TH_F_HOST_ALLOC | TH_F_DEFERRED, log);
    cgc_enable(t->h);
    ck_assert_int_eq(cgc_set_threshold(t->h, 1, 1, 1), CGC_OK);
    FILE *f = scratch_file();
    long al_live = t->al_live;
    state s;
    take(t, &s);
    ck_assert(!s.has_pool);
    ck_assert_ptr_null(cgc_heap_pool(t->h));
    walk_everything(t, f);
    unchanged(t, &s, "the whole walk");
    ck_assert_uint_eq(log->n, 0);
    /* walk_bad_objects made and freed one node: no block is left over */
    ck_assert_int_eq(t->al_live, al_live);
    ck_assert_int_eq(cgc_collect_if_pending(t->h), 0);
    ck_assert_int_eq(cgc_set_threshold(t->h, 0, 10, 10), CGC_OK);
    still_works(t);
    fclose(f);
    th_heap_free(t);
    free(log);
}
END_TEST

/* A pool of the host's own, with the NULL and impossible arguments. */
START_TEST(test_own_pool)
{
    cgc_pool *p = cgc_pool_new();
    ck_assert_ptr_nonnull(p);
    void *keep = cgc_pool_alloc(p, 48);
    ck_assert_ptr_nonnull(keep);
    cgc_pool_stats a, b;
    ck_assert_int_eq(cgc_pool_get_stats(p, &a), CGC_OK);
    for (int i = 0; i < 3; i++)
        walk_pool(p);
    ck_assert_int_eq(cgc_pool_get_stats(p, &b), CGC_OK);
    ck_assert_uint_eq(b.blocks_in_use, a.blocks_in_use);
    ck_assert_uint_eq(b.bytes_in_use, a.bytes_in_use);
    ck_assert_uint_eq(b.large_in_use, a.large_in_use);
    ck_assert_uint_eq(b.arenas, a.arenas);
    void *more = cgc_pool_alloc(p, 0);
    ck_assert_ptr_nonnull(more);
    ck_assert_ptr_ne(more, keep);
    cgc_pool_release(p, more);
    cgc_pool_release(p, keep);
    ck_assert_int_eq(cgc_pool_get_stats(p, &b), CGC_OK);
    ck_assert_uint_eq(b.blocks_in_use, 0);
    cgc_pool_trim(p);
    cgc_pool_destroy(p);
}
END_TEST

static Suite *badinput_suite(void)
{
    Suite *s = suite_create("badinput");
    TCase *tc = tcase_create("walks");
    tcase_add_test(tc, test_strerror_version_header);
    tcase_add_test(tc, test_heap_new_out_of_range);
    tcase_add_test(tc, test_null_heap_walk);
    tcase_add_test(tc, test_null_args_walk);
    tcase_add_test(tc, test_bad_generations_walk);
    tcase_add_test(tc, test_bad_thresholds_walk);
    tcase_add_test(tc, test_bad_dump_walk);
    tcase_add_test(tc, test_garbage_range_walk);
    tcase_add_test(tc, test_bad_objects_walk);
    tcase_add_test(tc, test_trashcan_walk);
    tcase_add_test(tc, test_pool_walk);
    suite_add_tcase(s, tc);

    tc = tcase_create("after");
    tcase_add_test(tc, test_everything_builtin_pool);
    tcase_add_test(tc, test_everything_host_allocator);
    tcase_add_test(tc, test_own_pool);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(badinput_suite());
}
