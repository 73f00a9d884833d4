/*
 * check_random.c -- randomized graphs checked against an oracle.
 *
 * The test keeps its own model of the heap: for every node its kind, slots,
 * reference count (slots pointing at it + the test's own reference + the
 * resurrection list + the garbage list), generation and whether it was
 * finalized.  Plain reference counting (a count dropping to 0 frees the
 * node and releases its slots) is mirrored step by step.  Every collection,
 * explicit or automatic, is mirrored in the START callback by an independent
 * implementation of the rules:
 *
 *   young   = live nodes in generations 0..g
 *   roots   = young nodes with references from outside young
 *   U       = young nodes not reachable from roots
 *   Lreach  = nodes of U reachable from a legacy node of U  -> uncollectable,
 *             legacy ones onto the garbage list
 *   U'      = U - Lreach: every node not finalized yet is finalized (a
 *             resurrecting one adds a reference from the resurrection list)
 *   RS      = nodes of U' reachable from a node of U' with a reference from
 *             outside U' (after the finalizers)                -> survive
 *   F       = U' - RS                                          -> freed
 *             (clearing F may free nodes of Lreach that only F referred to:
 *             CPython counts the uncollectable ones after delete_garbage)
 *   result  = |F| + |Lreach still alive|; survivors of young move to
 *             min(g+1, 2)
 *
 * After each collection the model and the heap must agree exactly: which
 * nodes live, their counts, slots and generations, the finalize counts (so a
 * finalizer never runs twice), the garbage and resurrection lists, the
 * return value, the STOP callback info and the statistics.
 */
#include "testhost.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define MAXSLOTS 4
#define MAXNODES 12000

typedef struct model {
    th_heap *t;
    uint64_t rng;
    int legacy;                  /* legacy nodes in this variant */
    size_t maxid;                /* ids 1..maxid exist */

    /* per id */
    unsigned char alive[MAXNODES], kind[MAXNODES], nslots[MAXNODES], finalized[MAXNODES];
    unsigned char held[MAXNODES];
    signed char gen[MAXNODES];
    size_t slots[MAXNODES][MAXSLOTS];
    long rc[MAXNODES];
    int res_refs[MAXNODES], garbage_refs[MAXNODES];

    /* scratch */
    long gcr[MAXNODES];
    unsigned char young[MAXNODES], reach[MAXNODES], lreach[MAXNODES], inu2[MAXNODES],
        rs[MAXNODES], dead[MAXNODES];
    signed char realgen[MAXNODES];
    size_t stack[MAXNODES * (MAXSLOTS + 1)];
    size_t pick[MAXNODES];

    /* the collection in progress */
    int in_collect;
    int cur_gen;
    size_t exp_collected, exp_uncollectable;
    long collections;
    uint64_t stats[3][3];        /* collections, collected, uncollectable */
} model;

static uint64_t rnd(model *m)
{
    /* xorshift64* */
    m->rng ^= m->rng >> 12;
    m->rng ^= m->rng << 25;
    m->rng ^= m->rng >> 27;
    return m->rng * 0x2545F4914F6CDD1DULL;
}

static unsigned below(model *m, unsigned n)
{
    return (unsigned)((rnd(m) >> 33) % n);
}

static th_node *real(model *m, size_t id)
{
    th_node *n = m->t->recs[id].node;
    TH_ASSERT(n != NULL && m->t->recs[id].alive, "node#%zu is not alive in the heap", id);
    return n;
}

/* ------------------------------------------------------------------ */
/* Reference counting in the model                                     */
/* ------------------------------------------------------------------ */

static void m_dec(model *m, size_t id)
{
    size_t sp = 0;
    m->stack[sp++] = id;
    while (sp > 0) {
        size_t x = m->stack[--sp];
        TH_ASSERT(m->alive[x], "model: decref of dead node#%zu", x);
        TH_ASSERT(m->rc[x] > 0, "model: node#%zu count below 0", x);
        if (--m->rc[x] > 0)
            continue;
        m->alive[x] = 0;
        for (int s = 0; s < m->nslots[x]; s++) {
            if (m->slots[x][s] != 0) {
                m->stack[sp++] = m->slots[x][s];
                m->slots[x][s] = 0;
            }
        }
    }
}

static size_t m_new(model *m, int kind, int nslots)
{
    th_node *n = th_new(m->t, kind, (size_t)nslots);   /* may collect first */
    TH_ASSERT(n != NULL, "th_new failed");
    size_t id = n->id;
    TH_ASSERT(id == m->maxid + 1 && id < MAXNODES, "unexpected id %zu", id);
    m->maxid = id;
    m->alive[id] = 1;
    m->kind[id] = (unsigned char)kind;
    m->nslots[id] = (unsigned char)nslots;
    m->finalized[id] = 0;
    m->held[id] = 1;
    m->gen[id] = 0;
    memset(m->slots[id], 0, sizeof m->slots[id]);
    m->rc[id] = 1;
    m->res_refs[id] = 0;
    m->garbage_refs[id] = 0;
    return id;
}

static void m_link(model *m, size_t a, int slot, size_t b)
{
    th_link(real(m, a), (size_t)slot, b ? real(m, b) : NULL);
    if (b)
        m->rc[b]++;
    size_t old = m->slots[a][slot];
    m->slots[a][slot] = b;
    if (old)
        m_dec(m, old);
}

static void m_drop(model *m, size_t id)
{
    TH_ASSERT(m->held[id] && m->alive[id], "model: drop of node#%zu not held", id);
    th_node *n = real(m, id);
    m->held[id] = 0;
    th_decref(n);
    m_dec(m, id);
}

static void m_drop_resurrected(model *m)
{
    th_drop_resurrected(m->t);
    for (size_t id = 1; id <= m->maxid; id++)
        while (m->res_refs[id] > 0) {
            m->res_refs[id]--;
            m_dec(m, id);
        }
}

static void m_garbage_clear(model *m)
{
    cgc_garbage_clear(m->t->h);
    for (size_t id = 1; id <= m->maxid; id++)
        while (m->garbage_refs[id] > 0) {
            m->garbage_refs[id]--;
            m_dec(m, id);
        }
}

/* ------------------------------------------------------------------ */
/* The collection rules in the model                                   */
/* ------------------------------------------------------------------ */

/* Marks (in mark[]) everything reachable within set[] from the ids on the
   stack. */
static void closure(model *m, size_t sp, const unsigned char *set, unsigned char *mark)
{
    while (sp > 0) {
        size_t x = m->stack[--sp];
        for (int s = 0; s < m->nslots[x]; s++) {
            size_t y = m->slots[x][s];
            if (y && set[y] && !mark[y]) {
                mark[y] = 1;
                m->stack[sp++] = y;
            }
        }
    }
}

static void sim_collect(model *m, int g)
{
    size_t n = m->maxid, sp;
    /* young, gc_refs, roots */
    for (size_t x = 1; x <= n; x++) {
        m->young[x] = m->alive[x] && m->gen[x] <= g;
        m->gcr[x] = m->young[x] ? m->rc[x] : 0;
        m->reach[x] = m->lreach[x] = m->inu2[x] = m->rs[x] = m->dead[x] = 0;
    }
    for (size_t x = 1; x <= n; x++)
        if (m->young[x])
            for (int s = 0; s < m->nslots[x]; s++)
                if (m->slots[x][s] && m->young[m->slots[x][s]])
                    m->gcr[m->slots[x][s]]--;
    sp = 0;
    for (size_t x = 1; x <= n; x++) {
        TH_ASSERT(m->gcr[x] >= 0, "model: negative gc_refs for node#%zu", x);
        if (m->young[x] && m->gcr[x] > 0) {
            m->reach[x] = 1;
            m->stack[sp++] = x;
        }
    }
    closure(m, sp, m->young, m->reach);

    /* U = young - reach; legacy closure */
    static unsigned char inu[MAXNODES];
    sp = 0;
    for (size_t x = 1; x <= n; x++) {
        inu[x] = m->young[x] && !m->reach[x];
        if (inu[x] && m->kind[x] == TH_LEGACY) {
            m->lreach[x] = 1;
            m->stack[sp++] = x;
        }
    }
    closure(m, sp, inu, m->lreach);

    /* U': finalize */
    for (size_t x = 1; x <= n; x++) {
        m->inu2[x] = inu[x] && !m->lreach[x];
        if (m->inu2[x] && !m->finalized[x]) {
            m->finalized[x] = 1;
            if (m->kind[x] == TH_RESURRECT) {
                m->res_refs[x]++;
                m->rc[x]++;
            }
        }
    }
    /* RS: reachable from outside U' after the finalizers */
    for (size_t x = 1; x <= n; x++)
        m->gcr[x] = m->inu2[x] ? m->rc[x] : 0;
    for (size_t x = 1; x <= n; x++)
        if (m->inu2[x])
            for (int s = 0; s < m->nslots[x]; s++)
                if (m->slots[x][s] && m->inu2[m->slots[x][s]])
                    m->gcr[m->slots[x][s]]--;
    sp = 0;
    for (size_t x = 1; x <= n; x++)
        if (m->inu2[x] && m->gcr[x] > 0) {
            m->rs[x] = 1;
            m->stack[sp++] = x;
        }
    closure(m, sp, m->inu2, m->rs);

    size_t collected = 0, uncollectable = 0;
    for (size_t x = 1; x <= n; x++) {
        if (m->inu2[x] && !m->rs[x]) {
            collected++;
            m->dead[x] = 1;
        }
        if (m->young[x] && !m->dead[x])
            m->gen[x] = (signed char)(g < 2 ? g + 1 : 2);
    }
    /* free F: release what F refers to outside F.  As in CPython, this may
       free objects of Lreach that only F referred to (they are not part of
       a cycle of their own); they are then not counted. */
    for (size_t x = 1; x <= n; x++)
        if (m->dead[x])
            m->alive[x] = 0;
    for (size_t x = 1; x <= n; x++) {
        if (!m->dead[x])
            continue;
        for (int s = 0; s < m->nslots[x]; s++) {
            size_t y = m->slots[x][s];
            m->slots[x][s] = 0;
            if (y && !m->dead[y])
                m_dec(m, y);
        }
    }
    /* what is left of Lreach is uncollectable; legacy ones go on the list */
    for (size_t x = 1; x <= n; x++) {
        if (m->lreach[x] && m->alive[x]) {
            uncollectable++;
            if (m->kind[x] == TH_LEGACY) {
                m->garbage_refs[x]++;
                m->rc[x]++;
            }
        }
    }
    m->exp_collected = collected;
    m->exp_uncollectable = uncollectable;
    m->stats[g][0]++;
    m->stats[g][1] += collected;
    m->stats[g][2] += uncollectable;
}

static void model_cb(cgc_heap *h, cgc_phase phase, const cgc_collect_info *info, void *ctx)
{
    model *m = ctx;
    (void)h;
    if (phase == CGC_PHASE_START) {
        TH_ASSERT(!m->in_collect, "START inside a collection");
        TH_ASSERT(info->generation >= 0 && info->generation <= 2, "START generation %d",
                  info->generation);
        m->in_collect = 1;
        m->cur_gen = info->generation;
        m->collections++;
        sim_collect(m, info->generation);
    } else {
        TH_ASSERT(m->in_collect, "STOP without START");
        m->in_collect = 0;
        TH_ASSERT(info->generation == m->cur_gen, "STOP generation %d, START said %d",
                  info->generation, m->cur_gen);
        TH_ASSERT(info->collected == m->exp_collected,
                  "collection %ld of generation %d: collected %zu, expected %zu",
                  m->collections, m->cur_gen, info->collected, m->exp_collected);
        TH_ASSERT(info->uncollectable == m->exp_uncollectable,
                  "collection %ld of generation %d: uncollectable %zu, expected %zu",
                  m->collections, m->cur_gen, info->uncollectable, m->exp_uncollectable);
    }
}

/* ------------------------------------------------------------------ */
/* Comparing model and heap                                            */
/* ------------------------------------------------------------------ */

static int gen_visit(void *obj, void *arg)
{
    model *m = arg;
    th_node *n = obj;
    TH_ASSERT(n->magic == TH_NODE_MAGIC && n->id <= m->maxid, "get_objects: bad object");
    TH_ASSERT(m->realgen[n->id] == -1, "node#%zu seen twice", n->id);
    m->realgen[n->id] = (signed char)m->cur_gen;
    return 0;
}

static void verify(model *m)
{
    th_heap *t = m->t;
    size_t n = m->maxid;
    for (size_t x = 1; x <= n; x++)
        m->realgen[x] = -1;
    for (int g = 0; g < 3; g++) {
        m->cur_gen = g;
        TH_ASSERT(cgc_get_objects(t->h, g, gen_visit, m) == 0, "get_objects failed");
    }
    size_t live = 0;
    for (size_t x = 1; x <= n; x++) {
        const th_rec *r = &t->recs[x];
        TH_ASSERT(r->alive == m->alive[x], "node#%zu (%s): heap says %s, model says %s", x,
                  th_kind_name(m->kind[x]), r->alive ? "alive" : "freed",
                  m->alive[x] ? "alive" : "freed");
        TH_ASSERT(r->finalized == m->finalized[x], "node#%zu (%s): finalized %d times, "
                  "expected %d", x, th_kind_name(m->kind[x]), r->finalized, m->finalized[x]);
        if (!m->alive[x]) {
            TH_ASSERT(m->realgen[x] == -1, "freed node#%zu still listed", x);
            continue;
        }
        live++;
        th_node *node = r->node;
        TH_ASSERT(r->cleared == 0, "live node#%zu was cleared", x);
        TH_ASSERT(th_refcnt(node) == m->rc[x], "node#%zu: count %lld, expected %ld", x,
                  (long long)th_refcnt(node), m->rc[x]);
        TH_ASSERT(m->realgen[x] == m->gen[x], "node#%zu (%s): generation %d, expected %d",
                  x, th_kind_name(m->kind[x]), m->realgen[x], m->gen[x]);
        for (int s = 0; s < m->nslots[x]; s++) {
            size_t want = m->slots[x][s];
            size_t got = node->slots[s] ? node->slots[s]->id : 0;
            TH_ASSERT(want == got, "node#%zu slot %d: node#%zu, expected node#%zu", x, s,
                      got, want);
        }
    }
    TH_ASSERT((long)live == t->live, "heap has %ld live nodes, model %zu", t->live, live);

    /* the garbage and resurrection lists, as multisets */
    static int tally[MAXNODES];
    memset(tally, 0, sizeof(int) * (n + 1));
    size_t gc = cgc_garbage_count(t->h), want = 0;
    for (size_t i = 0; i < gc; i++) {
        th_node *g = cgc_garbage_get(t->h, i);
        TH_ASSERT(g != NULL && g->magic == TH_NODE_MAGIC, "bad garbage entry %zu", i);
        tally[g->id]++;
    }
    for (size_t x = 1; x <= n; x++) {
        TH_ASSERT(tally[x] == m->garbage_refs[x], "node#%zu on the garbage list %d times, "
                  "expected %d", x, tally[x], m->garbage_refs[x]);
        want += (size_t)m->garbage_refs[x];
    }
    TH_ASSERT(gc == want, "garbage count %zu, expected %zu", gc, want);
    memset(tally, 0, sizeof(int) * (n + 1));
    for (size_t i = 0; i < t->nres; i++)
        tally[t->res[i]->id]++;
    for (size_t x = 1; x <= n; x++)
        TH_ASSERT(tally[x] == m->res_refs[x], "node#%zu resurrected %d times, expected %d",
                  x, tally[x], m->res_refs[x]);

    /* statistics */
    for (int g = 0; g < 3; g++) {
        cgc_gen_stats st;
        TH_ASSERT(cgc_get_stats(t->h, g, &st) == CGC_OK, "get_stats failed");
        TH_ASSERT(st.collections == m->stats[g][0] && st.collected == m->stats[g][1] &&
                  st.uncollectable == m->stats[g][2],
                  "stats of generation %d: (%llu, %llu, %llu), expected (%llu, %llu, %llu)",
                  g, (unsigned long long)st.collections, (unsigned long long)st.collected,
                  (unsigned long long)st.uncollectable, (unsigned long long)m->stats[g][0],
                  (unsigned long long)m->stats[g][1], (unsigned long long)m->stats[g][2]);
    }
    th_check_consistent(t);
}

/* Independent of the model's bookkeeping: everything reachable from what
   the test, the resurrection list or the garbage list holds is alive. */
static void verify_roots(model *m)
{
    size_t sp = 0;
    static unsigned char seen[MAXNODES];
    memset(seen, 0, m->maxid + 1);
    th_heap *t = m->t;
    for (size_t x = 1; x <= m->maxid; x++) {
        if (t->recs[x].alive && m->held[x]) {
            seen[x] = 1;
            m->stack[sp++] = x;
        }
    }
    for (size_t i = 0; i < t->nres; i++)
        if (!seen[t->res[i]->id]) {
            seen[t->res[i]->id] = 1;
            m->stack[sp++] = t->res[i]->id;
        }
    for (size_t i = 0; i < cgc_garbage_count(t->h); i++) {
        th_node *g = cgc_garbage_get(t->h, i);
        if (!seen[g->id]) {
            seen[g->id] = 1;
            m->stack[sp++] = g->id;
        }
    }
    while (sp > 0) {
        size_t x = m->stack[--sp];
        TH_ASSERT(t->recs[x].alive, "node#%zu is reachable but was freed", x);
        th_node *node = t->recs[x].node;
        TH_ASSERT(node->magic == TH_NODE_MAGIC, "reachable node#%zu is corrupt", x);
        for (size_t s = 0; s < node->nslots; s++) {
            th_node *y = node->slots[s];
            if (y && !seen[y->id]) {
                seen[y->id] = 1;
                m->stack[sp++] = y->id;
            }
        }
    }
}

static void collect(model *m, int g)
{
    long before = m->collections;
    long r = cgc_collect(m->t->h, g);
    TH_ASSERT(m->collections == before + 1, "collect(%d) ran %ld collections", g,
              m->collections - before);
    TH_ASSERT(r == (long)(m->exp_collected + m->exp_uncollectable),
              "collect(%d) returned %ld, expected %zu + %zu", g, r, m->exp_collected,
              m->exp_uncollectable);
    verify_roots(m);
    verify(m);
}

/* ------------------------------------------------------------------ */
/* The random workload                                                 */
/* ------------------------------------------------------------------ */

static int random_kind(model *m)
{
    unsigned r = below(m, 100);
    if (m->legacy && r < 6)
        return TH_LEGACY;
    if (r < 20)
        return TH_RESURRECT;
    if (r < 50)
        return TH_FINALIZER;
    return TH_PLAIN;
}

static size_t alive_list(model *m, size_t from)
{
    size_t k = 0;
    for (size_t x = from; x <= m->maxid; x++)
        if (m->alive[x])
            m->pick[k++] = x;
    return k;
}

static void add_edges(model *m, size_t first_new, size_t count)
{
    size_t nall = alive_list(m, 1);
    if (nall == 0)
        return;
    for (size_t e = 0; e < count; e++) {
        size_t a, b;
        /* mostly from new nodes, sometimes from old ones to anything */
        if (below(m, 4) != 0 && first_new <= m->maxid)
            a = first_new + below(m, (unsigned)(m->maxid - first_new + 1));
        else
            a = m->pick[below(m, (unsigned)nall)];
        b = below(m, 10) == 0 ? 0 : m->pick[below(m, (unsigned)nall)];
        if (!m->alive[a] || m->nslots[a] == 0 || (b && !m->alive[b]))
            continue;
        m_link(m, a, (int)below(m, m->nslots[a]), b);
    }
}

static void run_random(unsigned seed, int legacy, int automatic)
{
    model *m = calloc(1, sizeof *m);
    ck_assert_ptr_nonnull(m);
    m->rng = 0x9E3779B97F4A7C15ULL * (seed + 1) + (legacy ? 77 : 0);
    m->legacy = legacy;
    unsigned flags = (seed % 3 == 0) ? TH_F_WIDTH4 : 0;
    th_heap *t;
    if (automatic) {
        t = th_heap_new(flags, 40 + (int)below(m, 200), 2 + (int)below(m, 6),
                        2 + (int)below(m, 6));
    } else {
        t = th_heap_new(flags | TH_F_DISABLE, 0, 0, 0);
    }
    ck_assert_ptr_nonnull(t);
    m->t = t;
    ck_assert_int_eq(cgc_add_callback(t->h, model_cb, m), CGC_OK);

    int rounds = 6;
    for (int round = 0; round < rounds; round++) {
        /* create */
        size_t first_new = m->maxid + 1;
        size_t count = 100 + below(m, 700);
        for (size_t i = 0; i < count && m->maxid + 1 < MAXNODES; i++) {
            long before = m->collections;
            m_new(m, random_kind(m), (int)below(m, MAXSLOTS + 1));
            if (m->collections != before)          /* an automatic one ran */
                verify(m);
        }
        /* link */
        add_edges(m, first_new, count * 2);
        /* drop most new nodes, some old ones */
        for (size_t x = 1; x <= m->maxid; x++) {
            if (!m->held[x] || !m->alive[x])
                continue;
            unsigned p = x >= first_new ? 70 : 15;
            if (below(m, 100) < p)
                m_drop(m, x);
        }
        verify(m);
        /* a partial collection, a full one now and then */
        int g = (int)below(m, 3);
        if (g == 2 && round % 2 == 0)
            g = 1;
        collect(m, g);
        /* sometimes let go of the resurrected / the garbage list */
        if (below(m, 3) == 0)
            m_drop_resurrected(m);
        if (legacy && below(m, 3) == 0)
            m_garbage_clear(m);
        verify(m);
    }
    /* full collection: everything unreachable goes */
    collect(m, 2);
    collect(m, 2);                                 /* nothing new */
    ck_assert_uint_eq(m->exp_collected, 0);
    m_drop_resurrected(m);
    collect(m, 2);                                 /* no second finalization */
    /* drop everything */
    for (size_t x = 1; x <= m->maxid; x++)
        if (m->held[x] && m->alive[x])
            m_drop(m, x);
    collect(m, 0);
    collect(m, 2);
    m_drop_resurrected(m);
    m_garbage_clear(m);
    collect(m, 2);
    m_drop_resurrected(m);
    collect(m, 2);
    if (!legacy) {
        ck_assert_int_eq(t->live, 0);
    } else {
        /* only the legacy closures remain, all behind the garbage list */
        size_t left = 0;
        for (size_t x = 1; x <= m->maxid; x++)
            left += m->alive[x];
        ck_assert_int_eq(t->live, (long)left);
        m_garbage_clear(m);
        verify(m);
    }
    ck_assert_int_ge(m->collections, 13);
    th_heap_free(t);
    free(m);
}

START_TEST(test_random)
{
    run_random((unsigned)_i, 0, 0);
}
END_TEST

START_TEST(test_random_automatic)
{
    run_random((unsigned)_i, 0, 1);
}
END_TEST

START_TEST(test_random_legacy)
{
    run_random((unsigned)_i, 1, (_i % 2) == 0);
}
END_TEST

static Suite *random_suite(void)
{
    Suite *s = suite_create("random");
    TCase *tc = tcase_create("oracle");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_random, 1, 21);
    suite_add_tcase(s, tc);

    tc = tcase_create("automatic");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_random_automatic, 1, 11);
    suite_add_tcase(s, tc);

    tc = tcase_create("legacy");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_random_legacy, 1, 11);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(random_suite());
}
