/*
 * check_generations.c -- generations, counts, thresholds, the 25% rule,
 * freeze, enable/disable, deferred collection and requests from threads.
 */
#include "testhost.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void get_count(th_heap *t, int c[3])
{
    c[0] = c[1] = c[2] = -12345;
    cgc_get_count(t->h, c);
}

#define ASSERT_COUNT(t, a, b, c) do {                                         \
        int cnt_[3];                                                          \
        get_count((t), cnt_);                                                 \
        ck_assert_msg(cnt_[0] == (a) && cnt_[1] == (b) && cnt_[2] == (c),     \
                      "count is (%d, %d, %d), expected (%d, %d, %d)",         \
                      cnt_[0], cnt_[1], cnt_[2], (a), (b), (c));              \
    } while (0)

/* ------------------------------------------------------------------ */
/* Movement between generations                                        */
/* ------------------------------------------------------------------ */

START_TEST(test_generation_movement)
{
    th_heap *t = th_quiet_heap(0);
    th_node *a = th_new(t, TH_PLAIN, 0);
    ck_assert_int_eq(th_gen_of(t, a), 0);
    cgc_collect(t->h, 0);
    th_node *b = th_new(t, TH_PLAIN, 0);
    ck_assert_int_eq(th_gen_of(t, a), 1);
    ck_assert_int_eq(th_gen_of(t, b), 0);
    cgc_collect(t->h, 0);                  /* a stays in 1, b -> 1 */
    ck_assert_int_eq(th_gen_of(t, a), 1);
    ck_assert_int_eq(th_gen_of(t, b), 1);
    cgc_collect(t->h, 1);
    th_node *c = th_new(t, TH_PLAIN, 0);
    ck_assert_int_eq(th_gen_of(t, a), 2);
    ck_assert_int_eq(th_gen_of(t, b), 2);
    ck_assert_int_eq(th_gen_of(t, c), 0);
    cgc_collect(t->h, 1);                  /* straight from 0 to 2 */
    ck_assert_int_eq(th_gen_of(t, c), 2);
    th_node *d = th_new(t, TH_PLAIN, 0);
    cgc_collect(t->h, 0);
    th_node *e = th_new(t, TH_PLAIN, 0);
    ck_assert_int_eq(th_gen_of(t, d), 1);
    cgc_collect(t->h, 2);                  /* everything to 2 */
    ck_assert_int_eq(th_gen_of(t, a), 2);
    ck_assert_int_eq(th_gen_of(t, d), 2);
    ck_assert_int_eq(th_gen_of(t, e), 2);
    ck_assert_uint_eq(th_gen_count(t, 0), 0);
    ck_assert_uint_eq(th_gen_count(t, 1), 0);
    ck_assert_uint_eq(th_gen_count(t, 2), 5);
    /* collect(0) leaves the older generations alone */
    th_node *f = th_new(t, TH_PLAIN, 0);
    cgc_collect(t->h, 0);
    ck_assert_uint_eq(th_gen_count(t, 1), 1);
    ck_assert_uint_eq(th_gen_count(t, 2), 5);
    ck_assert_int_eq(th_gen_of(t, f), 1);
    th_heap_free(t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Counts                                                              */
/* ------------------------------------------------------------------ */

START_TEST(test_get_count)
{
    th_heap *t = th_quiet_heap(0);
    ASSERT_COUNT(t, 0, 0, 0);
    void *p = cgc_alloc(t->h, 32);
    ck_assert_ptr_nonnull(p);
    ASSERT_COUNT(t, 1, 0, 0);
    th_node *a = th_new(t, TH_PLAIN, 0);
    th_node *u = th_new_untracked(t, TH_PLAIN, 0);
    ASSERT_COUNT(t, 3, 0, 0);
    cgc_free(t->h, p);
    ASSERT_COUNT(t, 2, 0, 0);
    th_decref(a);                          /* dealloc -> cgc_free */
    ASSERT_COUNT(t, 1, 0, 0);
    th_decref(u);
    ASSERT_COUNT(t, 0, 0, 0);
    /* free of objects allocated before the last collection: never below 0 */
    th_node *keep[5];
    for (int i = 0; i < 5; i++)
        keep[i] = th_new(t, TH_PLAIN, 0);
    ASSERT_COUNT(t, 5, 0, 0);
    cgc_collect(t->h, 0);
    ASSERT_COUNT(t, 0, 1, 0);
    th_node *x = th_new(t, TH_PLAIN, 0);
    ASSERT_COUNT(t, 1, 1, 0);
    for (int i = 0; i < 5; i++)
        th_decref(keep[i]);
    ASSERT_COUNT(t, 0, 1, 0);
    th_decref(x);
    ASSERT_COUNT(t, 0, 1, 0);
    cgc_free(t->h, NULL);
    ASSERT_COUNT(t, 0, 1, 0);
    th_heap_free(t);
}
END_TEST

/* test_collect_generations */
START_TEST(test_collect_generations)
{
    th_heap *t = th_quiet_heap(0);
    th_node *keep = th_new(t, TH_PLAIN, 0);
    cgc_collect(t->h, 2);
    ASSERT_COUNT(t, 0, 0, 0);
    cgc_collect(t->h, 0);
    ASSERT_COUNT(t, 0, 1, 0);
    cgc_collect(t->h, 0);
    ASSERT_COUNT(t, 0, 2, 0);
    cgc_collect(t->h, 1);
    ASSERT_COUNT(t, 0, 0, 1);
    cgc_collect(t->h, 0);
    cgc_collect(t->h, 1);
    ASSERT_COUNT(t, 0, 0, 2);
    cgc_collect(t->h, 2);
    ASSERT_COUNT(t, 0, 0, 0);
    (void)keep;
    th_heap_free(t);
}
END_TEST

/* A failed allocation (host allocator out of memory) changes nothing. */
START_TEST(test_count_alloc_failure)
{
    th_heap *t = th_quiet_heap(TH_F_HOST_ALLOC);
    th_node *a = th_new(t, TH_PLAIN, 0);
    ASSERT_COUNT(t, 1, 0, 0);
    long calls = t->al_malloc_calls;
    t->al_fail_after = 0;
    ck_assert_ptr_null(cgc_alloc(t->h, 64));
    ck_assert(t->al_malloc_calls > calls);
    ASSERT_COUNT(t, 1, 0, 0);
    ck_assert_uint_eq(th_gen_count(t, -1), 1);
    t->al_fail_after = -1;
    void *p = cgc_alloc(t->h, 64);
    ck_assert_ptr_nonnull(p);
    ASSERT_COUNT(t, 2, 0, 0);
    cgc_free(t->h, p);
    th_decref(a);
    th_heap_free(t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Thresholds and automatic collection                                 */
/* ------------------------------------------------------------------ */

START_TEST(test_threshold_trigger)
{
    th_heap *t = th_heap_new(0, 5, 10, 10);
    ck_assert_ptr_nonnull(t);
    th_cblog *log = th_cblog_new();
    ck_assert_int_eq(cgc_add_callback(t->h, th_cblog_fn, log), CGC_OK);
    int th[3];
    cgc_get_threshold(t->h, th);
    ck_assert_int_eq(th[0], 5);
    ck_assert_int_eq(th[1], 10);
    ck_assert_int_eq(th[2], 10);
    ck_assert_int_eq(cgc_is_enabled(t->h), 1);
    th_node *n[6];
    for (int i = 0; i < 5; i++) {
        n[i] = th_new(t, TH_PLAIN, 1);
        th_link(n[i], 0, n[i]);
        th_decref(n[i]);                   /* garbage */
    }
    ck_assert_uint_eq(log->n, 0);
    ck_assert_int_eq(t->live, 5);
    n[5] = th_new(t, TH_PLAIN, 0);         /* the 6th allocation collects generation 0 */
    ck_assert_uint_eq(log->n, 2);
    ck_assert_int_eq(log->ev[0].phase, CGC_PHASE_START);
    ck_assert_int_eq(log->ev[0].generation, 0);
    ck_assert_int_eq(log->ev[1].phase, CGC_PHASE_STOP);
    ck_assert_uint_eq(log->ev[1].collected, 5);
    ck_assert_int_eq(t->live, 1);
    ck_assert(cgc_is_tracked(n[5]));
    ck_assert_int_eq(th_gen_of(t, n[5]), 0);   /* not part of that collection */
    int c[3];
    get_count(t, c);
    ck_assert(c[0] <= 1);
    ck_assert_int_eq(c[1], 1);
    th_heap_free(t);
    free(log);
}
END_TEST

START_TEST(test_threshold_zero)
{
    th_heap *t = th_heap_new(0, 5, 10, 10);
    th_cblog *log = th_cblog_new();
    cgc_add_callback(t->h, th_cblog_fn, log);
    ck_assert_int_eq(cgc_set_threshold(t->h, 0, 10, 10), CGC_OK);
    for (int i = 0; i < 2000; i++)
        th_new(t, TH_PLAIN, 0);
    ck_assert_uint_eq(log->n, 0);
    int c[3];
    get_count(t, c);
    ck_assert_int_eq(c[0], 2000);
    /* Setting a threshold again turns it back on. */
    ck_assert_int_eq(cgc_set_threshold(t->h, 5, 10, 10), CGC_OK);
    for (int i = 0; i < 6 && log->n == 0; i++)
        th_new(t, TH_PLAIN, 0);
    ck_assert_uint_eq(log->n, 2);
    th_heap_free(t);
    free(log);
}
END_TEST

/*
 * The scheduling model (CPython 3.11): an allocation that makes count[0]
 * exceed threshold[0] collects the oldest generation whose count exceeds its
 * threshold, except that generation 2 is skipped while the objects promoted
 * into it since the last full collection (pending) are fewer than a quarter
 * of those that survived it (total).  The model follows what the collections
 * do to the counts and to the (all surviving) tracked objects, and checks
 * every automatic collection against it.
 */
typedef struct sched_model {
    th_heap *t;
    int thr[3];
    long c1, c2;                  /* count[1], count[2] */
    long m[3];                    /* tracked objects per generation */
    long pending, total;
    long gens[3];                 /* automatic collections seen per generation */
    long skips;                   /* times generation 2 was due but skipped */
    long ambiguous;
    long first_full_at;           /* allocation index of the first full collection */
    long alloc_index;
    signed char seq[400];         /* generations of the first automatic collections */
    long nseq;
    int bad;
    char msg[200];
} sched_model;

static void sched_cb(cgc_heap *h, cgc_phase phase, const cgc_collect_info *info, void *ctx)
{
    sched_model *s = ctx;
    (void)h;
    if (phase != CGC_PHASE_START)
        return;
    int g = info->generation;
    /* expected choice */
    int expect = 0, either = -1;
    if (s->c2 > s->thr[2]) {
        long lhs = s->pending * 4, rhs = s->total;
        if (lhs > rhs + 4) {
            expect = 2;
        } else if (lhs < rhs - 4) {
            s->skips++;
            expect = s->c1 > s->thr[1] ? 1 : 0;
        } else {
            either = 2;
            expect = s->c1 > s->thr[1] ? 1 : 0;
            s->ambiguous++;
        }
    } else if (s->c1 > s->thr[1]) {
        expect = 1;
    }
    if (g != expect && g != either && !s->bad) {
        s->bad = 1;
        snprintf(s->msg, sizeof s->msg,
                 "allocation %ld: collected generation %d, expected %d "
                 "(count1 %ld count2 %ld pending %ld total %ld)",
                 s->alloc_index, g, expect, s->c1, s->c2, s->pending, s->total);
    }
    if (g < 0 || g > 2)
        return;
    if (s->nseq < 400)
        s->seq[s->nseq] = (signed char)g;
    s->nseq++;
    s->gens[g]++;
    /* apply the collection to the model */
    if (g < 2) {
        long moved = 0;
        for (int i = 0; i <= g; i++) {
            moved += s->m[i];
            s->m[i] = 0;
        }
        s->m[g + 1] += moved;
        if (g == 1)
            s->pending += moved;
        if (g == 0)
            s->c1++;
        else {
            s->c1 = 0;
            s->c2++;
        }
    } else {
        s->m[2] += s->m[0] + s->m[1];
        s->m[0] = s->m[1] = 0;
        s->total = s->m[2];
        s->pending = 0;
        s->c1 = s->c2 = 0;
        if (s->first_full_at < 0)
            s->first_full_at = s->alloc_index;
    }
}

static void run_schedule(long long_lived, long trickle, sched_model *s)
{
    th_heap *t = th_quiet_heap(0);
    memset(s, 0, sizeof *s);
    s->t = t;
    s->first_full_at = -1;
    for (long i = 0; i < long_lived; i++)
        th_new(t, TH_PLAIN, 0);
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    ASSERT_COUNT(t, 0, 0, 0);
    s->m[2] = long_lived;
    s->total = long_lived;
    s->thr[0] = 5;
    s->thr[1] = 10;
    s->thr[2] = 10;
    ck_assert_int_eq(cgc_set_threshold(t->h, 5, 10, 10), CGC_OK);
    ck_assert_int_eq(cgc_add_callback(t->h, sched_cb, s), CGC_OK);
    cgc_enable(t->h);
    for (long i = 0; i < trickle; i++) {
        s->alloc_index = i;
        th_node *n = th_new(t, TH_PLAIN, 0);
        ck_assert_ptr_nonnull(n);
        s->m[0]++;
        ck_assert_msg(!s->bad, "%s", s->msg);
        if (i % 97 == 0) {
            int c[3];
            get_count(t, c);
            ck_assert_msg(c[1] == s->c1 && c[2] == s->c2,
                          "count (%d, %d, %d), model (_, %ld, %ld)", c[0], c[1], c[2],
                          s->c1, s->c2);
        }
    }
    ck_assert_uint_eq(th_gen_count(t, 0), (size_t)s->m[0]);
    ck_assert_uint_eq(th_gen_count(t, 1), (size_t)s->m[1]);
    ck_assert_uint_eq(th_gen_count(t, 2), (size_t)s->m[2]);
    th_heap_free(t);
}

/* No long-lived objects: generation 1 after 11 generation-0 collections,
   generation 2 after 11 generation-1 ones. */
START_TEST(test_schedule_plain)
{
    sched_model s;
    run_schedule(0, 2000, &s);
    ck_assert(s.gens[0] > 0 && s.gens[1] > 0 && s.gens[2] > 0);
    ck_assert_int_eq(s.skips, 0);
    /* thresholds (5, 10, 10): a generation-1 collection after every 11
       generation-0 ones, and the first generation-2 collection once 11
       generation-1 collections have run: collection number 12 * 11 = 132 */
    ck_assert_int_ge(s.nseq, 200);
    for (int i = 0; i < 200; i++) {
        int want = i == 132 ? 2 : (i % 12 == 11 && i < 132) ? 1 : 0;
        if (i > 132)
            want = ((i - 133) % 12 == 11) ? 1 : 0;
        ck_assert_msg(s.seq[i] == want, "automatic collection %d was of generation %d, "
                      "expected %d", i, s.seq[i], want);
    }
    ck_assert(s.first_full_at > 0);
}
END_TEST

/* 4000 long-lived objects: generation 2 is skipped until a quarter of that
   has been promoted, then it runs. */
START_TEST(test_schedule_25_percent)
{
    sched_model s;
    run_schedule(4000, 3000, &s);
    ck_assert_msg(s.skips > 0, "generation 2 was never skipped");
    ck_assert_msg(s.gens[2] > 0, "generation 2 never ran");
    /* it could not run before 1000 objects were promoted */
    ck_assert_msg(s.first_full_at >= 1000 - 10, "first full collection at allocation %ld",
                  s.first_full_at);
}
END_TEST

/* Many garbage cycles made with automatic collection on are found by it. */
START_TEST(test_automatic_collects_garbage)
{
    th_heap *t = th_heap_new(0, 10, 10, 10);
    th_cblog *log = th_cblog_new();
    cgc_add_callback(t->h, th_cblog_fn, log);
    for (int i = 0; i < 1000; i++) {
        th_node *n = th_new(t, i % 2 ? TH_FINALIZER : TH_PLAIN, 1);
        th_link(n, 0, n);
        th_decref(n);
    }
    size_t collected = 0, lim = log->n < TH_MAX_EVENTS ? log->n : TH_MAX_EVENTS;
    for (size_t i = 0; i < lim; i++)
        if (log->ev[i].phase == CGC_PHASE_STOP)
            collected += log->ev[i].collected;
    ck_assert(log->stops >= 90);
    ck_assert_uint_eq(collected, 1000 - (size_t)t->live);
    ck_assert(t->live <= 11);
    long left = t->live;
    ck_assert_int_eq(cgc_collect(t->h, 2), left);
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
    free(log);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Freeze                                                              */
/* ------------------------------------------------------------------ */

START_TEST(test_freeze)
{
    th_heap *t = th_quiet_heap(0);
    th_node *held[10];
    for (int i = 0; i < 10; i++) {
        held[i] = th_new(t, TH_PLAIN, 1);
        if (i % 3 == 0)
            cgc_collect(t->h, i % 2);
    }
    th_node *g = th_ring(t, TH_FINALIZER, 2, NULL);
    size_t gid = g->id;
    th_decref(g);                          /* garbage before the freeze */
    cgc_collect(t->h, 0);                  /* (found: freed) */
    ck_assert(!th_alive(t, gid));
    th_node *c = th_ring(t, TH_FINALIZER, 3, NULL);
    size_t cid = c->id;
    ck_assert_uint_eq(cgc_get_freeze_count(t->h), 0);
    cgc_freeze(t->h);
    ck_assert_uint_eq(cgc_get_freeze_count(t->h), 13);
    ck_assert_uint_eq(th_gen_count(t, -1), 0);
    for (int gg = 0; gg < 3; gg++)
        ck_assert_uint_eq(th_gen_count(t, gg), 0);
    ASSERT_COUNT(t, 0, 0, 0);
    ck_assert_int_eq(cgc_is_tracked(held[0]), 1);
    th_decref(c);                          /* garbage in the permanent generation */
    for (int gg = 0; gg < 3; gg++)
        ck_assert_int_eq(cgc_collect(t->h, gg), 0);
    ck_assert(th_alive(t, cid));
    ck_assert_int_eq(th_record(t, cid)->finalized, 0);
    /* New objects go to generation 0 as usual. */
    th_node *n = th_new(t, TH_PLAIN, 0);
    ck_assert_int_eq(th_gen_of(t, n), 0);
    ck_assert_uint_eq(cgc_get_freeze_count(t->h), 13);
    /* Untracking a frozen object takes it out. */
    cgc_untrack(t->h, held[9]);
    ck_assert_uint_eq(cgc_get_freeze_count(t->h), 12);
    cgc_unfreeze(t->h);
    ck_assert_uint_eq(cgc_get_freeze_count(t->h), 0);
    ck_assert_uint_eq(th_gen_count(t, 2), 12);
    ck_assert_int_eq(th_gen_of(t, held[0]), 2);
    ck_assert_int_eq(th_gen_of(t, n), 0);
    ck_assert_int_eq(cgc_collect(t->h, 1), 0);   /* generation 2 not examined */
    ck_assert(th_alive(t, cid));
    ck_assert_int_eq(cgc_collect(t->h, 2), 3);
    ck_assert(!th_alive(t, cid));
    th_check_consistent(t);
    th_heap_free(t);
}
END_TEST

/* Freezing twice, and freeing frozen objects. */
START_TEST(test_freeze_free)
{
    th_heap *t = th_quiet_heap(0);
    th_node *a = th_new(t, TH_PLAIN, 0), *b = th_new(t, TH_PLAIN, 0);
    cgc_freeze(t->h);
    th_node *c = th_new(t, TH_PLAIN, 0);
    cgc_freeze(t->h);
    ck_assert_uint_eq(cgc_get_freeze_count(t->h), 3);
    th_decref(b);
    ck_assert_uint_eq(cgc_get_freeze_count(t->h), 2);
    cgc_unfreeze(t->h);
    cgc_unfreeze(t->h);
    ck_assert_uint_eq(th_gen_count(t, 2), 2);
    th_decref(a);
    th_decref(c);
    ck_assert_uint_eq(th_gen_count(t, -1), 0);
    th_heap_free(t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Enable / disable / deferred / requests                              */
/* ------------------------------------------------------------------ */

START_TEST(test_disable_enable)
{
    th_heap *t = th_heap_new(0, 5, 10, 10);
    th_cblog *log = th_cblog_new();
    cgc_add_callback(t->h, th_cblog_fn, log);
    cgc_disable(t->h);
    ck_assert_int_eq(cgc_is_enabled(t->h), 0);
    for (int i = 0; i < 100; i++) {
        th_node *n = th_new(t, TH_PLAIN, 1);
        th_link(n, 0, n);
        th_decref(n);
    }
    ck_assert_uint_eq(log->n, 0);
    ck_assert_int_eq(t->live, 100);
    ck_assert_int_eq(cgc_collect(t->h, 0), 100);   /* explicit still works */
    ck_assert_uint_eq(log->n, 2);
    cgc_enable(t->h);
    ck_assert_int_eq(cgc_is_enabled(t->h), 1);
    for (int i = 0; i < 6; i++)
        th_new(t, TH_PLAIN, 0);
    ck_assert_uint_eq(log->n, 4);
    ck_assert_int_eq(log->ev[2].generation, 0);
    th_heap_free(t);
    free(log);
}
END_TEST

START_TEST(test_deferred)
{
    th_heap *t = th_heap_new(TH_F_DEFERRED, 5, 10, 10);
    ck_assert_ptr_nonnull(t);
    th_cblog *log = th_cblog_new();
    cgc_add_callback(t->h, th_cblog_fn, log);
    ck_assert_int_eq(cgc_collect_if_pending(t->h), 0);   /* nothing yet */
    ck_assert_uint_eq(log->n, 0);
    for (int i = 0; i < 3; i++) {
        th_node *n = th_new(t, TH_PLAIN, 1);
        th_link(n, 0, n);
        th_decref(n);
    }
    ck_assert_int_eq(cgc_collect_if_pending(t->h), 0);   /* below the threshold */
    ck_assert_uint_eq(log->n, 0);
    th_node *keep[20];
    for (int i = 0; i < 20; i++)
        keep[i] = th_new(t, TH_PLAIN, 0);
    ck_assert_uint_eq(log->n, 0);                        /* cgc_alloc never collects */
    ck_assert_int_eq(t->live, 23);
    ck_assert_int_eq(cgc_collect_if_pending(t->h), 3);
    ck_assert_uint_eq(log->n, 2);
    ck_assert_int_eq(log->ev[0].generation, 0);
    ck_assert_int_eq(t->live, 20);
    ck_assert_int_eq(cgc_collect_if_pending(t->h), 0);
    ck_assert_uint_eq(log->n, 2);
    ck_assert_int_eq(th_gen_of(t, keep[0]), 1);
    th_heap_free(t);
    free(log);
}
END_TEST

/* The generation is chosen when the pending collection runs. */
START_TEST(test_deferred_generation_choice)
{
    th_heap *t = th_heap_new(TH_F_DEFERRED, 5, 1, 10);
    th_cblog *log = th_cblog_new();
    cgc_add_callback(t->h, th_cblog_fn, log);
    for (int i = 0; i < 6; i++)
        th_new(t, TH_PLAIN, 0);
    cgc_collect(t->h, 0);
    cgc_collect(t->h, 0);                  /* count[1] = 2 > 1 */
    for (int i = 0; i < 6; i++)
        th_new(t, TH_PLAIN, 0);
    ck_assert_int_eq(cgc_collect_if_pending(t->h), 0);
    ck_assert_uint_eq(log->n, 6);
    ck_assert_int_eq(log->ev[4].generation, 1);
    th_heap_free(t);
    free(log);
}
END_TEST

static void *request_thread(void *arg)
{
    cgc_request_collection(arg);
    return NULL;
}

static void run_request(int disabled)
{
    th_heap *t = th_heap_new(disabled ? TH_F_DISABLE : 0, 0, 0, 0);   /* 700, 10, 10 */
    th_cblog *log = th_cblog_new();
    cgc_add_callback(t->h, th_cblog_fn, log);
    th_node *a = th_new(t, TH_PLAIN, 1), *b = th_new(t, TH_PLAIN, 1);
    th_link(a, 0, b);
    th_link(b, 0, a);
    th_decref(a);
    th_decref(b);
    th_new(t, TH_PLAIN, 0);
    ck_assert_int_eq(cgc_collect_if_pending(t->h), 0);
    ck_assert_uint_eq(log->n, 0);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, request_thread, t->h), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_uint_eq(log->n, 0);
    ck_assert_int_eq(cgc_collect_if_pending(t->h), 2);
    ck_assert_uint_eq(log->n, 2);
    ck_assert_int_eq(t->live, 1);
    ck_assert_int_eq(cgc_collect_if_pending(t->h), 0);   /* the request was consumed */
    ck_assert_uint_eq(log->n, 2);
    th_heap_free(t);
    free(log);
}

START_TEST(test_request_from_thread)
{
    run_request(0);
}
END_TEST

START_TEST(test_request_while_disabled)
{
    run_request(1);
}
END_TEST

/* Requests from several threads at once, while the owner keeps working. */
static void *request_many(void *arg)
{
    for (int i = 0; i < 10000; i++)
        cgc_request_collection(arg);
    return NULL;
}

START_TEST(test_request_concurrent)
{
    th_heap *t = th_heap_new(TH_F_DEFERRED, 0, 0, 0);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, request_many, t->h), 0);
    long found = 0;
    for (int i = 0; i < 200; i++) {
        th_node *n = th_new(t, TH_PLAIN, 1);
        th_link(n, 0, n);
        th_decref(n);
        long r = cgc_collect_if_pending(t->h);
        ck_assert(r >= 0);
        found += r;
        int c[3];
        cgc_get_count(t->h, c);
        ck_assert(c[0] >= 0);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    cgc_request_collection(t->h);
    found += cgc_collect_if_pending(t->h);
    ck_assert_int_eq(found + t->live, 200);
    ck_assert_int_eq(t->live, 0);          /* all garbage was in generation 0 */
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    th_heap_free(t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* During a collection                                                 */
/* ------------------------------------------------------------------ */

static int fin_collecting = -1;
static void collecting_hook(th_heap *t, th_node *n)
{
    (void)n;
    fin_collecting = cgc_is_collecting(t->h);
}

START_TEST(test_is_collecting)
{
    th_heap *t = th_quiet_heap(0);
    th_cblog *log = th_cblog_new();
    cgc_add_callback(t->h, th_cblog_fn, log);
    t->on_finalize = collecting_hook;
    ck_assert_int_eq(cgc_is_collecting(t->h), 0);
    th_node *n = th_new(t, TH_FINALIZER, 1);
    th_link(n, 0, n);
    th_decref(n);
    ck_assert_int_eq(cgc_collect(t->h, 1), 1);
    ck_assert_int_eq(cgc_is_collecting(t->h), 0);
    ck_assert_int_eq(fin_collecting, 1);
    ck_assert_uint_eq(log->n, 2);
    ck_assert_int_eq(log->ev[0].collecting, 1);
    ck_assert_int_eq(log->ev[1].collecting, 1);
    ck_assert_int_eq(cgc_is_collecting(NULL), 0);
    th_heap_free(t);
    free(log);
}
END_TEST

/* Objects allocated and tracked inside callbacks and clear land in gen 0. */
static th_node *cb_made[4];
static int ncb_made;
static void alloc_cb(cgc_heap *h, cgc_phase phase, const cgc_collect_info *info, void *ctx)
{
    (void)h;
    (void)info;
    th_heap *t = ctx;
    if (ncb_made < 4 && (phase == CGC_PHASE_START || phase == CGC_PHASE_STOP))
        cb_made[ncb_made++] = th_new(t, TH_PLAIN, 0);
}

static th_node *clear_made;
static void alloc_in_clear(th_heap *t, th_node *n)
{
    (void)n;
    if (clear_made == NULL)
        clear_made = th_new(t, TH_PLAIN, 0);
}

START_TEST(test_alloc_during_collection)
{
    th_heap *t = th_quiet_heap(0);
    th_node *old = th_new(t, TH_PLAIN, 0);
    cgc_collect(t->h, 2);
    cgc_add_callback(t->h, alloc_cb, t);
    t->on_clear = alloc_in_clear;
    th_decref(th_ring(t, TH_PLAIN, 3, NULL));
    ck_assert_int_eq(cgc_collect(t->h, 2), 3);
    ck_assert_int_eq(ncb_made, 2);
    ck_assert_ptr_nonnull(clear_made);
    /* START runs before the collection: that object may have been part of it */
    ck_assert(th_gen_of(t, cb_made[0]) >= 0);
    ck_assert_int_eq(th_gen_of(t, cb_made[1]), 0);
    ck_assert_int_eq(th_gen_of(t, clear_made), 0);
    ck_assert_int_eq(th_gen_of(t, old), 2);
    ck_assert_int_eq(t->live, 4);
    th_check_consistent(t);
    th_heap_free(t);
}
END_TEST

static Suite *generations_suite(void)
{
    Suite *s = suite_create("generations");
    TCase *tc = tcase_create("movement");
    tcase_add_test(tc, test_generation_movement);
    tcase_add_test(tc, test_get_count);
    tcase_add_test(tc, test_collect_generations);
    tcase_add_test(tc, test_count_alloc_failure);
    suite_add_tcase(s, tc);

    tc = tcase_create("thresholds");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_threshold_trigger);
    tcase_add_test(tc, test_threshold_zero);
    tcase_add_test(tc, test_schedule_plain);
    tcase_add_test(tc, test_schedule_25_percent);
    tcase_add_test(tc, test_automatic_collects_garbage);
    suite_add_tcase(s, tc);

    tc = tcase_create("freeze");
    tcase_add_test(tc, test_freeze);
    tcase_add_test(tc, test_freeze_free);
    suite_add_tcase(s, tc);

    tc = tcase_create("scheduling");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_disable_enable);
    tcase_add_test(tc, test_deferred);
    tcase_add_test(tc, test_deferred_generation_choice);
    tcase_add_test(tc, test_request_from_thread);
    tcase_add_test(tc, test_request_while_disabled);
    tcase_add_test(tc, test_request_concurrent);
    tcase_add_test(tc, test_is_collecting);
    tcase_add_test(tc, test_alloc_during_collection);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(generations_suite());
}
