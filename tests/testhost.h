/*
 * testhost.h -- a small reference-counted "runtime" used by the Check suites.
 *
 * Every object is a th_node: a reference count the collector reads, a kind,
 * an id and a fixed number of slots (references to other nodes), allocated
 * in one block with cgc_alloc.  The host operations given to the collector
 * (traverse, clear, decref, finalize, ...) are implemented here and record
 * what happens to every node in a per-id record, so that a test can ask
 * "was node 17 freed / finalized / cleared?" without touching freed memory.
 *
 * One th_heap wraps one cgc_heap; every node points back to its th_heap, so
 * several heaps can coexist in one test.
 */
#ifndef TESTHOST_H
#define TESTHOST_H

#include <stddef.h>
#include <stdint.h>

#include <check.h>
#include <cyclegc.h>

/* Like ck_assert_msg, but silent when it holds: Check's own assertions report
   every passing check to the runner (a write per call), far too slow for the
   host ops and for loops over a million nodes. */
#define TH_ASSERT(expr, ...) \
    do { if (!(expr)) ck_abort_msg(__VA_ARGS__); } while (0)

/* Node kinds. */
enum {
    TH_PLAIN = 0,     /* finalize does nothing special */
    TH_FINALIZER,     /* same as plain for the collector; names a node with a "__del__" */
    TH_RESURRECT,     /* finalize stores a new reference in the resurrection list */
    TH_LEGACY,        /* has_legacy_finalizer returns 1 */
    TH_NKINDS
};

/* th_heap_new flags. */
enum {
    TH_F_WIDTH4      = 1u << 0,  /* the collector sees a 4-byte reference count */
    TH_F_NO_FINALIZE = 1u << 1,  /* ops.finalize = NULL */
    TH_F_NO_WEAKREFS = 1u << 2,  /* ops.clear_weakrefs = NULL */
    TH_F_NO_LEGACY   = 1u << 3,  /* ops.has_legacy_finalizer = NULL */
    TH_F_NO_DEALLOC  = 1u << 4,  /* ops.dealloc = NULL (trashcan never defers) */
    TH_F_DEFERRED    = 1u << 5,  /* cgc_config.flags = CGC_DEFERRED */
    TH_F_HOST_ALLOC  = 1u << 6,  /* use the counting host allocator */
    TH_F_DISABLE     = 1u << 7,  /* cgc_disable right after creation */
    TH_F_NO_DESCRIBE = 1u << 8   /* ops.describe = NULL */
};

#define TH_NODE_MAGIC 0x4e6f6465u   /* "Node" */
#define TH_DEAD_MAGIC 0xdeadbeefu
#define TH_CANARY     0x7ead0000

typedef struct th_heap th_heap;
typedef struct th_node th_node;

struct th_node {
    uint32_t magic;
    int32_t refcnt32;    /* the count the collector sees on a TH_F_WIDTH4 heap */
    int32_t canary;      /* right after refcnt32: an 8-byte read there sees it */
    uint32_t kind;
    int64_t refcnt;      /* the count the collector sees otherwise */
    th_heap *t;
    size_t id;
    size_t nslots;
    void *user;          /* free for the test */
    th_node *slots[];
};

/* What happened to one node (indexed by id; survives the node). */
typedef struct th_rec {
    unsigned char alive;
    unsigned char kind;
    unsigned char finalized;   /* finalize calls */
    unsigned char cleared;     /* clear calls */
    unsigned char weakrefs;    /* clear_weakrefs calls */
    unsigned char legacy_q;    /* has_legacy_finalizer calls */
    unsigned short pad_;
    uint32_t seq_weakref;      /* event sequence number of the first such call, 0 none */
    uint32_t seq_finalize;
    uint32_t seq_clear;
    th_node *node;             /* valid while alive */
} th_rec;

typedef void (*th_hook)(th_heap *t, th_node *n);

struct th_heap {
    cgc_heap *h;
    cgc_host_ops ops;
    cgc_allocator alloc;
    unsigned flags;
    unsigned width;

    /* counters */
    long created;            /* nodes made by th_new / th_new_untracked */
    long live;               /* created minus deallocated */
    long deallocs;
    long finalize_calls;
    long clear_calls;
    long weakref_calls;
    long legacy_calls;
    long traverse_calls;
    long describe_calls;
    int64_t min_rc_in_clear;     /* smallest count seen on entry to clear */
    int64_t min_rc_in_finalize;  /* smallest count seen on entry to finalize */
    uint32_t seq;                /* event counter */

    /* dealloc nesting (stack depth bound checks) */
    long dealloc_depth;
    long max_dealloc_depth;

    /* per-id records; ids start at 1 */
    th_rec *recs;
    size_t nrecs, caprecs;

    /* the resurrection list: one reference to each node */
    th_node **res;
    size_t nres, capres;

    /* hooks: run inside the host ops after the host's own work (clear: before) */
    th_hook on_finalize, on_clear, on_weakref, on_dealloc;
    void *hook_arg;

    /* the counting host allocator (TH_F_HOST_ALLOC) */
    long al_malloc_calls, al_free_calls, al_live, al_fail_after;
    size_t al_last_size;
    struct al_prefix *al_blocks;   /* live blocks (freed by th_heap_free) */

    /* ops.decref calls (the collector giving back a reference it took) */
    long decref_op_calls;
    /* When set, the describe op writes what this returns instead of
       "node#ID(kind)" (describe_calls still counts); NULL by default. */
    size_t (*describe_hook)(const th_node *n, char *buf, size_t len);
};

/* Heaps.  Thresholds as cgc_config.thresholds (all 0: defaults). */
th_heap *th_heap_new(unsigned flags, int t0, int t1, int t2);
/* A visit function and a collection callback that fail the test if they
   ever run (passed with bad arguments that must be refused). */
int th_never_visit(void *obj, void *arg);
void th_never_cb(cgc_heap *h, cgc_phase phase, const cgc_collect_info *info, void *ctx);
/* Runs a suite (CK_ENV verbosity); EXIT_SUCCESS when every check passed. */
int th_run_suite(Suite *s);
/* A heap with automatic collection off and nothing tracked yet (asserts). */
th_heap *th_quiet_heap(unsigned flags);
/* The statistics of one generation (asserts the call succeeds). */
cgc_gen_stats th_stats(th_heap *t, int gen);
void th_heap_free(th_heap *t);

/* Nodes.  th_new returns a tracked node with one reference owned by the caller
   (NULL when cgc_alloc fails). */
th_node *th_new(th_heap *t, int kind, size_t nslots);
th_node *th_new_untracked(th_heap *t, int kind, size_t nslots);
void th_link(th_node *a, size_t slot, th_node *b);   /* a->slots[slot] = b, counts adjusted */
void th_incref(th_node *n);
void th_decref(th_node *n);
/* A ring of k nodes (one slot each, node i -> node i+1, last -> first); the
   caller owns one reference to the returned first node.  ids[] (may be NULL)
   receives the k ids in ring order. */
th_node *th_ring(th_heap *t, int kind, size_t k, size_t *ids);
int64_t th_refcnt(const th_node *n);
void th_set_refcnt(th_node *n, int64_t v);           /* for host-bug tests only */

/* Records.  Valid for any id ever handed out, alive or not. */
int th_alive(const th_heap *t, size_t id);
const th_rec *th_record(const th_heap *t, size_t id);

/* Drops every reference of the resurrection list; returns how many. */
size_t th_drop_resurrected(th_heap *t);

/* Generations, through cgc_get_objects. */
size_t th_gen_count(th_heap *t, int gen);         /* -1: all three */
int th_in_gen(th_heap *t, const th_node *n, int gen);
int th_gen_of(th_heap *t, const th_node *n);      /* 0..2, or -1 when in none */

/* Checks that the collector's view matches the host's: every object
   get_objects visits is a live node, each once, the generation counts add up,
   and every live tracked node is either in a generation or frozen. */
void th_check_consistent(th_heap *t);

/* A callback that records collections. */
#define TH_MAX_EVENTS 4096
typedef struct th_event {
    int phase;
    int generation;
    size_t collected, uncollectable;
    uint64_t duration_ns;
    int collecting;           /* cgc_is_collecting seen inside the callback */
} th_event;
typedef struct th_cblog {
    size_t n;                 /* events seen (only the first TH_MAX_EVENTS are kept) */
    size_t starts, stops;
    th_event ev[TH_MAX_EVENTS];
} th_cblog;
th_cblog *th_cblog_new(void);      /* calloc'd; free with free() */
void th_cblog_fn(cgc_heap *h, cgc_phase phase, const cgc_collect_info *info, void *ctx);
/* Number of STOP events of the given generation (-1: any). */
size_t th_cblog_stops(const th_cblog *log, int generation);

/* Describe text of a node, as the host's describe op writes it. */
void th_describe_node(const th_node *n, char *buf, size_t len);
const char *th_kind_name(int kind);

#endif /* TESTHOST_H */
