/*
 * testhost.c -- the reference-counted test runtime shared by the suites.
 * See testhost.h.
 */
#include "testhost.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[TH_NKINDS] = {
    "plain", "finalizer", "resurrect", "legacy"
};

const char *th_kind_name(int kind)
{
    return (kind >= 0 && kind < TH_NKINDS) ? kind_names[kind] : "?";
}

/* ------------------------------------------------------------------ */
/* Checks every host op makes                                          */
/* ------------------------------------------------------------------ */

static th_node *node_of(void *obj, const char *where)
{
    th_node *n = obj;
    TH_ASSERT(n != NULL, "%s: called with NULL", where);
    TH_ASSERT(n->magic == TH_NODE_MAGIC,
                  "%s: called on a freed or foreign object %p (magic %#x)",
                  where, obj, (unsigned)n->magic);
    TH_ASSERT(n->canary == TH_CANARY, "%s: node#%zu: the word after the 4-byte "
                  "count was overwritten (%#x)", where, n->id, (unsigned)n->canary);
    return n;
}

static th_rec *rec_of(th_node *n)
{
    TH_ASSERT(n->id > 0 && n->id < n->t->nrecs, "bad node id %zu", n->id);
    return &n->t->recs[n->id];
}

int64_t th_refcnt(const th_node *n)
{
    return n->t->width == 4 ? (int64_t)n->refcnt32 : n->refcnt;
}

void th_set_refcnt(th_node *n, int64_t v)
{
    if (n->t->width == 4)
        n->refcnt32 = (int32_t)v;
    else
        n->refcnt = v;
}

static void bump(uint32_t *first_seq, th_heap *t)
{
    t->seq++;
    if (*first_seq == 0)
        *first_seq = t->seq;
}

/* ------------------------------------------------------------------ */
/* Host ops                                                            */
/* ------------------------------------------------------------------ */

static int op_traverse(void *obj, cgc_visit_fn visit, void *arg)
{
    th_node *n = node_of(obj, "traverse");
    n->t->traverse_calls++;
    for (size_t i = 0; i < n->nslots; i++) {
        if (n->slots[i] != NULL) {
            int r = visit(n->slots[i], arg);
            if (r != 0)
                return r;
        }
    }
    return 0;
}

static void op_clear(void *obj)
{
    th_node *n = node_of(obj, "clear");
    th_heap *t = n->t;
    th_rec *r = rec_of(n);
    int64_t rc = th_refcnt(n);
    t->clear_calls++;
    if (rc < t->min_rc_in_clear)
        t->min_rc_in_clear = rc;
    if (r->cleared < 255)
        r->cleared++;
    bump(&r->seq_clear, t);
    if (t->on_clear)
        t->on_clear(t, n);
    for (size_t i = 0; i < n->nslots; i++) {
        th_node *old = n->slots[i];
        if (old != NULL) {
            n->slots[i] = NULL;
            th_decref(old);
        }
    }
}

static void op_decref(void *obj)
{
    th_node *n = node_of(obj, "decref");
    n->t->decref_op_calls++;
    th_decref(n);
}

static void op_finalize(void *obj)
{
    th_node *n = node_of(obj, "finalize");
    th_heap *t = n->t;
    th_rec *r = rec_of(n);
    int64_t rc = th_refcnt(n);
    t->finalize_calls++;
    if (rc < t->min_rc_in_finalize)
        t->min_rc_in_finalize = rc;
    if (r->finalized < 255)
        r->finalized++;
    bump(&r->seq_finalize, t);
    if (n->kind == TH_RESURRECT) {
        if (t->nres == t->capres) {
            size_t cap = t->capres ? 2 * t->capres : 16;
            th_node **p = realloc(t->res, cap * sizeof *p);
            TH_ASSERT(p != NULL, "out of memory");
            t->res = p;
            t->capres = cap;
        }
        th_incref(n);
        t->res[t->nres++] = n;
    }
    if (t->on_finalize)
        t->on_finalize(t, n);
}

static int op_has_legacy(void *obj)
{
    th_node *n = node_of(obj, "has_legacy_finalizer");
    th_rec *r = rec_of(n);
    n->t->legacy_calls++;
    if (r->legacy_q < 255)
        r->legacy_q++;
    return n->kind == TH_LEGACY;
}

static void op_clear_weakrefs(void *obj)
{
    th_node *n = node_of(obj, "clear_weakrefs");
    th_heap *t = n->t;
    th_rec *r = rec_of(n);
    t->weakref_calls++;
    if (r->weakrefs < 255)
        r->weakrefs++;
    bump(&r->seq_weakref, t);
    if (t->on_weakref)
        t->on_weakref(t, n);
}

static void op_dealloc(void *obj)
{
    th_node *n = node_of(obj, "dealloc");
    th_heap *t = n->t;
    cgc_heap *h = t->h;
    /* Only the refcount path (refcount 0) may deallocate. */
    TH_ASSERT(th_refcnt(n) == 0, "dealloc of node#%zu with refcount %lld",
                  n->id, (long long)th_refcnt(n));
    t->dealloc_depth++;
    if (t->dealloc_depth > t->max_dealloc_depth)
        t->max_dealloc_depth = t->dealloc_depth;
    if (!cgc_trashcan_begin(h, n)) {
        TH_ASSERT(!cgc_is_tracked(n), "trashcan queued node#%zu but left it tracked",
                      n->id);
        t->dealloc_depth--;
        return;
    }
    cgc_untrack(h, n);
    if (t->on_dealloc)
        t->on_dealloc(t, n);
    for (size_t i = 0; i < n->nslots; i++) {
        th_node *old = n->slots[i];
        if (old != NULL) {
            n->slots[i] = NULL;
            th_decref(old);
        }
    }
    th_rec *r = rec_of(n);
    TH_ASSERT(r->alive, "node#%zu deallocated twice", n->id);
    r->alive = 0;
    r->node = NULL;
    t->deallocs++;
    t->live--;
    n->magic = TH_DEAD_MAGIC;
    cgc_free(h, n);
    cgc_trashcan_end(h);
    t->dealloc_depth--;
}

void th_describe_node(const th_node *n, char *buf, size_t len)
{
    snprintf(buf, len, "node#%zu(%s)", n->id, th_kind_name((int)n->kind));
}

static size_t op_describe(void *obj, char *buf, size_t len)
{
    th_node *n = node_of(obj, "describe");
    n->t->describe_calls++;
    if (len == 0)
        return 0;
    if (n->t->describe_hook != NULL)
        return n->t->describe_hook(n, buf, len);
    th_describe_node(n, buf, len);
    return strlen(buf);
}

/* ------------------------------------------------------------------ */
/* The counting host allocator                                         */
/* ------------------------------------------------------------------ */

/* Each block carries a 32-byte prefix (keeping 16-byte alignment): a magic
   word and the links of the list of live blocks, so that th_heap_free can
   return whatever the heap left to the host. */
typedef struct al_prefix {
    uint64_t magic;
    uint64_t pad_;
    struct al_prefix *prev, *next;
} al_prefix;

#define AL_PREFIX sizeof(al_prefix)
#define AL_MAGIC  0x416c6c6f63ULL   /* "Alloc" */

static void *al_malloc(void *ctx, size_t size)
{
    th_heap *t = ctx;
    t->al_malloc_calls++;
    t->al_last_size = size;
    if (t->al_fail_after == 0)
        return NULL;
    if (t->al_fail_after > 0)
        t->al_fail_after--;
    if (size > ((size_t)1 << (sizeof(size_t) > 4 ? 40 : 30)))  /* absurd: refuse, as malloc would */
        return NULL;
    size_t sz = (size + 15) & ~(size_t)15;
    al_prefix *p = aligned_alloc(16, sz + AL_PREFIX);
    if (p == NULL)
        return NULL;
    p->magic = AL_MAGIC;
    p->prev = NULL;
    p->next = t->al_blocks;
    if (p->next)
        p->next->prev = p;
    t->al_blocks = p;
    t->al_live++;
    return (char *)p + AL_PREFIX;
}

static void al_free(void *ctx, void *ptr)
{
    th_heap *t = ctx;
    t->al_free_calls++;
    if (ptr == NULL)
        return;
    al_prefix *p = (al_prefix *)(void *)((char *)ptr - AL_PREFIX);
    TH_ASSERT(p->magic == AL_MAGIC, "host allocator: free of %p, not a live block of ours",
              ptr);
    p->magic = 0;
    if (p->prev)
        p->prev->next = p->next;
    else
        t->al_blocks = p->next;
    if (p->next)
        p->next->prev = p->prev;
    t->al_live--;
    free(p);
}

/* ------------------------------------------------------------------ */
/* Heaps                                                               */
/* ------------------------------------------------------------------ */

th_heap *th_heap_new(unsigned flags, int t0, int t1, int t2)
{
    th_heap *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->flags = flags;
    t->width = (flags & TH_F_WIDTH4) ? 4 : 8;
    t->min_rc_in_clear = INT64_MAX;
    t->min_rc_in_finalize = INT64_MAX;
    t->al_fail_after = -1;
    t->caprecs = 1024;
    t->recs = calloc(t->caprecs, sizeof *t->recs);
    t->nrecs = 1;                      /* id 0 is never used */
    if (t->recs == NULL) {
        free(t);
        return NULL;
    }

    t->ops.refcnt_offset = (flags & TH_F_WIDTH4) ? offsetof(th_node, refcnt32)
                                                 : offsetof(th_node, refcnt);
    t->ops.refcnt_width = t->width;
    t->ops.traverse = op_traverse;
    t->ops.clear = op_clear;
    t->ops.decref = op_decref;
    t->ops.finalize = (flags & TH_F_NO_FINALIZE) ? NULL : op_finalize;
    t->ops.has_legacy_finalizer = (flags & TH_F_NO_LEGACY) ? NULL : op_has_legacy;
    t->ops.clear_weakrefs = (flags & TH_F_NO_WEAKREFS) ? NULL : op_clear_weakrefs;
    t->ops.dealloc = (flags & TH_F_NO_DEALLOC) ? NULL : op_dealloc;
    t->ops.describe = (flags & TH_F_NO_DESCRIBE) ? NULL : op_describe;

    t->alloc.ctx = t;
    t->alloc.malloc = al_malloc;
    t->alloc.free = al_free;

    cgc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.ops = &t->ops;
    cfg.allocator = (flags & TH_F_HOST_ALLOC) ? &t->alloc : NULL;
    cfg.thresholds[0] = t0;
    cfg.thresholds[1] = t1;
    cfg.thresholds[2] = t2;
    cfg.flags = (flags & TH_F_DEFERRED) ? CGC_DEFERRED : 0;
    t->h = cgc_heap_new(&cfg);
    if (t->h == NULL) {
        free(t->recs);
        free(t);
        return NULL;
    }
    if (flags & TH_F_DISABLE)
        cgc_disable(t->h);
    return t;
}

void th_heap_free(th_heap *t)
{
    if (t == NULL)
        return;
    cgc_heap_free(t->h);
    /* blocks of the host allocator still live (objects never freed) */
    while (t->al_blocks != NULL) {
        al_prefix *p = t->al_blocks;
        t->al_blocks = p->next;
        free(p);
    }
    free(t->recs);
    free(t->res);
    free(t);
}

/* ------------------------------------------------------------------ */
/* Nodes                                                               */
/* ------------------------------------------------------------------ */

th_node *th_new_untracked(th_heap *t, int kind, size_t nslots)
{
    TH_ASSERT(kind >= 0 && kind < TH_NKINDS, "bad kind %d", kind);
    th_node *n = cgc_alloc(t->h, sizeof(th_node) + nslots * sizeof(th_node *));
    if (n == NULL)
        return NULL;
    if (t->nrecs == t->caprecs) {
        size_t cap = 2 * t->caprecs;
        th_rec *r = realloc(t->recs, cap * sizeof *r);
        TH_ASSERT(r != NULL, "out of memory");
        memset(r + t->caprecs, 0, (cap - t->caprecs) * sizeof *r);
        t->recs = r;
        t->caprecs = cap;
    }
    memset(n, 0, sizeof *n);
    n->magic = TH_NODE_MAGIC;
    n->canary = TH_CANARY;
    n->kind = (uint32_t)kind;
    n->t = t;
    n->id = t->nrecs++;
    n->nslots = nslots;
    for (size_t i = 0; i < nslots; i++)
        n->slots[i] = NULL;
    th_set_refcnt(n, 1);
    th_rec *r = &t->recs[n->id];
    memset(r, 0, sizeof *r);
    r->alive = 1;
    r->kind = (unsigned char)kind;
    r->node = n;
    t->created++;
    t->live++;
    return n;
}

th_node *th_new(th_heap *t, int kind, size_t nslots)
{
    th_node *n = th_new_untracked(t, kind, nslots);
    if (n == NULL)
        return NULL;
    int rc = cgc_track(t->h, n);
    TH_ASSERT(rc == CGC_OK, "cgc_track of a new node returned %d", rc);
    return n;
}

void th_incref(th_node *n)
{
    node_of(n, "incref");
    th_set_refcnt(n, th_refcnt(n) + 1);
}

void th_decref(th_node *n)
{
    node_of(n, "th_decref");
    int64_t rc = th_refcnt(n);
    TH_ASSERT(rc > 0, "decref of node#%zu whose count is already %lld",
                  n->id, (long long)rc);
    th_set_refcnt(n, rc - 1);
    if (rc == 1)
        op_dealloc(n);
}

void th_link(th_node *a, size_t slot, th_node *b)
{
    node_of(a, "th_link");
    TH_ASSERT(slot < a->nslots, "node#%zu has no slot %zu", a->id, slot);
    if (b != NULL)
        th_incref(b);
    th_node *old = a->slots[slot];
    a->slots[slot] = b;
    if (old != NULL)
        th_decref(old);
}

th_node *th_ring(th_heap *t, int kind, size_t k, size_t *ids)
{
    th_node *first = th_new(t, kind, 1), *prev = first;
    TH_ASSERT(first != NULL, "cgc_alloc failed");
    if (ids)
        ids[0] = first->id;
    for (size_t i = 1; i < k; i++) {
        th_node *n = th_new(t, kind, 1);
        TH_ASSERT(n != NULL, "cgc_alloc failed");
        if (ids)
            ids[i] = n->id;
        th_link(prev, 0, n);
        th_decref(n);            /* now owned by prev */
        prev = n;
    }
    th_link(prev, 0, first);
    return first;
}

int th_alive(const th_heap *t, size_t id)
{
    TH_ASSERT(id > 0 && id < t->nrecs, "unknown node id %zu", id);
    return t->recs[id].alive;
}

const th_rec *th_record(const th_heap *t, size_t id)
{
    TH_ASSERT(id > 0 && id < t->nrecs, "unknown node id %zu", id);
    return &t->recs[id];
}

size_t th_drop_resurrected(th_heap *t)
{
    size_t n = 0;
    /* A decref below may run a finalizer that appends; loop until empty. */
    while (t->nres > 0) {
        th_node *x = t->res[--t->nres];
        th_decref(x);
        n++;
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* Generations                                                         */
/* ------------------------------------------------------------------ */

static int count_visit(void *obj, void *arg)
{
    (void)obj;
    (*(size_t *)arg)++;
    return 0;
}

size_t th_gen_count(th_heap *t, int gen)
{
    size_t n = 0;
    int rc = cgc_get_objects(t->h, gen, count_visit, &n);
    TH_ASSERT(rc == 0, "cgc_get_objects(%d) returned %d", gen, rc);
    return n;
}

static int find_visit(void *obj, void *arg)
{
    return obj == arg ? 1 : 0;
}

int th_in_gen(th_heap *t, const th_node *n, int gen)
{
    int rc = cgc_get_objects(t->h, gen, find_visit, (void *)n);
    TH_ASSERT(rc == 0 || rc == 1, "cgc_get_objects returned %d", rc);
    return rc;
}

int th_gen_of(th_heap *t, const th_node *n)
{
    int found = -1;
    for (int g = 0; g < 3; g++) {
        if (th_in_gen(t, n, g)) {
            TH_ASSERT(found == -1, "node#%zu is in generations %d and %d",
                          n->id, found, g);
            found = g;
        }
    }
    return found;
}

typedef struct consist_ctx {
    th_heap *t;
    unsigned char *seen;
    size_t n;
} consist_ctx;

static int consist_visit(void *obj, void *arg)
{
    consist_ctx *c = arg;
    th_node *n = node_of(obj, "get_objects visit");
    TH_ASSERT(n->t == c->t, "get_objects visited a node of another heap");
    TH_ASSERT(c->t->recs[n->id].alive, "get_objects visited dead node#%zu", n->id);
    TH_ASSERT(cgc_is_tracked(n), "get_objects visited untracked node#%zu", n->id);
    TH_ASSERT(c->seen[n->id] == 0, "get_objects visited node#%zu twice", n->id);
    c->seen[n->id] = 1;
    c->n++;
    return 0;
}

void th_check_consistent(th_heap *t)
{
    consist_ctx c = { t, calloc(t->nrecs, 1), 0 };
    TH_ASSERT(c.seen != NULL, "out of memory");
    int rc = cgc_get_objects(t->h, -1, consist_visit, &c);
    TH_ASSERT(rc == 0, "cgc_get_objects returned %d", rc);
    size_t sum = 0;
    for (int g = 0; g < 3; g++)
        sum += th_gen_count(t, g);
    TH_ASSERT(sum == c.n, "generations hold %zu objects, get_objects(-1) saw %zu", sum, c.n);
    size_t tracked = 0;
    for (size_t id = 1; id < t->nrecs; id++) {
        th_rec *r = &t->recs[id];
        if (r->alive) {
            th_node *n = node_of(r->node, "consistency check");
            TH_ASSERT(n->id == id, "record %zu points to node#%zu", id, n->id);
            TH_ASSERT(th_refcnt(n) > 0, "live node#%zu has count %lld", id,
                          (long long)th_refcnt(n));
            if (cgc_is_tracked(n))
                tracked++;
        }
    }
    size_t frozen = cgc_get_freeze_count(t->h);
    TH_ASSERT(tracked == c.n + frozen, "%zu live tracked nodes, but %zu in generations "
              "and %zu frozen", tracked, c.n, frozen);
    free(c.seen);
}

/* ------------------------------------------------------------------ */
/* Callback log                                                        */
/* ------------------------------------------------------------------ */

th_cblog *th_cblog_new(void)
{
    th_cblog *log = calloc(1, sizeof *log);
    TH_ASSERT(log != NULL, "out of memory");
    return log;
}

void th_cblog_fn(cgc_heap *h, cgc_phase phase, const cgc_collect_info *info, void *ctx)
{
    th_cblog *log = ctx;
    TH_ASSERT(info != NULL, "callback without info");
    if (log->n < TH_MAX_EVENTS) {
        th_event *e = &log->ev[log->n];
        e->phase = (int)phase;
        e->generation = info->generation;
        e->collected = info->collected;
        e->uncollectable = info->uncollectable;
        e->duration_ns = info->duration_ns;
        e->collecting = cgc_is_collecting(h);
    }
    log->n++;
    if (phase == CGC_PHASE_START)
        log->starts++;
    else
        log->stops++;
}

size_t th_cblog_stops(const th_cblog *log, int generation)
{
    size_t n = 0, lim = log->n < TH_MAX_EVENTS ? log->n : TH_MAX_EVENTS;
    for (size_t i = 0; i < lim; i++)
        if (log->ev[i].phase == CGC_PHASE_STOP &&
            (generation < 0 || log->ev[i].generation == generation))
            n++;
    return n;
}

th_heap *th_quiet_heap(unsigned flags)
{
    th_heap *t = th_heap_new(flags | TH_F_DISABLE, 0, 0, 0);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    return t;
}

cgc_gen_stats th_stats(th_heap *t, int gen)
{
    cgc_gen_stats s;
    ck_assert_int_eq(cgc_get_stats(t->h, gen, &s), CGC_OK);
    return s;
}

int th_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int th_never_visit(void *obj, void *arg)
{
    (void)obj;
    (void)arg;
    ck_abort_msg("a visit function ran on a call that should have been refused");
    return 0;
}

void th_never_cb(cgc_heap *h, cgc_phase phase, const cgc_collect_info *info, void *ctx)
{
    (void)h;
    (void)phase;
    (void)info;
    (void)ctx;
    ck_abort_msg("a callback registered by a refused call ran");
}
