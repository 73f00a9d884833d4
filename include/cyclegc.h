/*
 * cyclegc.h -- the public interface of cyclegc, a generational cycle
 * collector for reference-counted language runtimes.
 *
 * The names, types and rules below are the contract of ../shared/API.md;
 * everything beyond it is an addition and is marked as such.  Where the
 * contract is silent the behaviour follows CPython's gc module, and the
 * comment next to the declaration says what was chosen.
 *
 * Threads: a heap is used by one thread at a time (the host serialises
 * access, as a runtime lock does).  The exceptions, safe from any thread at
 * any time: cgc_request_collection, cgc_get_count, cgc_get_stats and
 * cgc_is_collecting.
 *
 * Errors: functions returning int return CGC_OK (0) or a negative CGC_E*
 * code and never abort on bad input.  A detected bug of the host (for
 * example a traverse function that reports more references than the
 * object's reference count holds) goes to the fatal handler instead.
 */
#ifndef CYCLEGC_H
#define CYCLEGC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CGC_BUILDING) && defined(__GNUC__)
#define CGC_API __attribute__((visibility("default")))
#else
#define CGC_API
#endif

/* ------------------------------------------------------------------ */
/* 1. Errors                                                           */
/* ------------------------------------------------------------------ */

enum {
    CGC_OK = 0,
    CGC_EINVAL = -1,   /* bad argument: NULL where not allowed, generation out of range,
                          negative threshold, object already tracked, ... */
    CGC_ENOMEM = -2,   /* allocation failed; nothing was changed */
    CGC_EBUSY  = -3    /* not allowed while a collection is running on this heap */
};
CGC_API const char *cgc_strerror(int code);    /* never NULL */
CGC_API const char *cgc_version(void);         /* "MAJOR.MINOR.PATCH" */

/* ------------------------------------------------------------------ */
/* 2. Describing the host                                              */
/* ------------------------------------------------------------------ */

/*
 * A tracked object is memory returned by cgc_alloc (a hidden header of
 * cgc_header_size() bytes sits right before it).  The host keeps its own
 * reference count inside the object; the collector only reads it, and
 * writes it only through the documented incref/decref points: it adds one
 * to the count (a plain write) around clear_weakrefs, finalize and clear
 * calls and for each garbage-list entry, and gives every such reference
 * back through ops->decref.
 *
 * Callback rules (additions to the contract):
 * - traverse, has_legacy_finalizer and describe must not call any cyclegc
 *   function on the same heap and must not change any reference count.
 * - finalize, clear, clear_weakrefs, decref and dealloc may do anything:
 *   free, untrack, allocate, track, collect (a nested cgc_collect returns
 *   0), change thresholds, freeze.  The collector stays consistent.
 */
typedef int (*cgc_visit_fn)(void *referent, void *arg);   /* nonzero return stops the walk */

typedef struct cgc_host_ops {
    size_t refcnt_offset;   /* byte offset of the host's reference count inside each object */
    unsigned refcnt_width;  /* 4 or 8: the count is a native-endian signed integer of that size */

    /* Required. Call visit(referent, arg) for every reference obj holds to an object
       allocated with cgc_alloc (tracked or not); never pass other pointers. Return the
       first nonzero value visit returned, or 0. */
    int  (*traverse)(void *obj, cgc_visit_fn visit, void *arg);
    /* Required. Drop the references obj holds (the host sets its fields to NULL and
       releases them); used to break unreachable cycles. */
    void (*clear)(void *obj);
    /* Required. Release one reference to obj; may deallocate it. */
    void (*decref)(void *obj);

    /* Optional (NULL = none). */
    void (*finalize)(void *obj);          /* run at most once per object, before any clear()
                                             of its cycle; may resurrect (PEP 442 semantics) */
    int  (*has_legacy_finalizer)(void *obj); /* nonzero: the object goes on the garbage
                                             list, and it and everything it reaches are left
                                             alone and counted uncollectable (CPython tp_del) */
    void (*clear_weakrefs)(void *obj);    /* called for every unreachable object before
                                             any finalizer runs */
    void (*dealloc)(void *obj);           /* used by the trashcan to run a deferred dealloc */
    size_t (*describe)(void *obj, char *buf, size_t len); /* for debug output and dumps;
                                             returns strlen written */
} cgc_host_ops;

typedef struct cgc_allocator {            /* the host's pool allocator, if it has one */
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);  /* 16-byte aligned memory or NULL */
    void  (*free)(void *ctx, void *ptr);
} cgc_allocator;

enum {                                    /* cgc_config.flags */
    CGC_DEFERRED = 1u << 0  /* never collect inside cgc_alloc: set a pending flag instead,
                               and the host runs it with cgc_collect_if_pending() */
};

typedef struct cgc_config {
    const cgc_host_ops *ops;              /* required; copied by cgc_heap_new */
    const cgc_allocator *allocator;       /* NULL: the built-in pool allocator; copied */
    int thresholds[3];                    /* all 0: defaults 700, 10, 10; otherwise used as given;
                                             any negative value is a bad config */
    unsigned flags;
} cgc_config;

typedef struct cgc_heap cgc_heap;
/* NULL on bad config (NULL cfg or ops, a required op missing, refcnt_width not 4 or 8,
   a negative threshold, unknown flag bits) or no memory.  Addition: an allocator whose
   malloc or free is NULL is a bad config too. */
CGC_API cgc_heap *cgc_heap_new(const cgc_config *cfg);
/* NULL is a no-op. Releases the heap's own memory and, with the built-in allocator,
   every block it handed out: objects still alive become invalid. It does not call host
   callbacks.  Calling it from inside a collection, a cgc_get_objects walk or a
   trashcan-bracketed dealloc of the same heap is a host bug and goes to the fatal
   handler. */
CGC_API void      cgc_heap_free(cgc_heap *h);

/* ------------------------------------------------------------------ */
/* 3. Objects                                                          */
/* ------------------------------------------------------------------ */

CGC_API size_t cgc_header_size(void);           /* bytes hidden before each object (16) */
/* Untracked object, 16-byte aligned, or NULL; counts one allocation toward generation 0
   and, unless CGC_DEFERRED or disabled or already collecting, may run a collection
   BEFORE returning (as CPython's allocator does).  The new object is not tracked yet,
   so that collection never examines it. */
CGC_API void  *cgc_alloc(cgc_heap *h, size_t size);
/* Untracks if still tracked; NULL is a no-op; counts one deallocation (generation 0
   count never goes below 0). */
CGC_API void   cgc_free(cgc_heap *h, void *obj);
/* Into generation 0; CGC_EINVAL if h or obj is NULL or obj is already tracked. */
CGC_API int    cgc_track(cgc_heap *h, void *obj);
CGC_API void   cgc_untrack(cgc_heap *h, void *obj);  /* no-op if not tracked (or NULL) */
CGC_API int    cgc_is_tracked(const void *obj);      /* 1 or 0 (0 for NULL) */
CGC_API int    cgc_is_finalized(const void *obj);    /* 1 once finalize ran on it (0 for NULL) */

/* ------------------------------------------------------------------ */
/* 4. Collecting and tuning                                            */
/* ------------------------------------------------------------------ */

/* 0, 1 or 2 (-1 means 2). Collects that generation and all younger ones. Returns the
   number of unreachable objects found (collectable + uncollectable), 0 if a collection
   is already running on this heap (re-entrant call from a finalizer or callback), or
   CGC_EINVAL.  Objects a finalizer resurrected are not counted (as CPython). */
CGC_API long cgc_collect(cgc_heap *h, int generation);
/* Runs what the thresholds asked for, if anything; returns as cgc_collect, 0 when
   nothing was pending.  The generation is chosen when it runs, from the counts at that
   moment (as CPython 3.12's scheduled collections).  A cgc_request_collection since the
   last call makes it collect generation 0 at least, even while automatic collection is
   disabled (a request is an explicit call). */
CGC_API long cgc_collect_if_pending(cgc_heap *h);
/* Safe from any thread or a signal handler: makes the next cgc_collect_if_pending run a
   collection of generation 0 at least.  NULL is a no-op. */
CGC_API void cgc_request_collection(cgc_heap *h);
CGC_API int  cgc_is_collecting(const cgc_heap *h);   /* 1 or 0 (0 for NULL) */

CGC_API void cgc_enable(cgc_heap *h);                /* automatic collection on (the default) */
CGC_API void cgc_disable(cgc_heap *h);               /* explicit cgc_collect still works */
CGC_API int  cgc_is_enabled(const cgc_heap *h);      /* 1 or 0 (0 for NULL) */

/* CGC_EINVAL if any < 0 (nothing changed); t0 == 0 disables automatic collection. */
CGC_API int  cgc_set_threshold(cgc_heap *h, int t0, int t1, int t2);
CGC_API void cgc_get_threshold(const cgc_heap *h, int out[3]);  /* NULL h or out: no-op */
/* out[0]: allocations minus deallocations since the last collection of generation 0;
   out[1]: collections of generation 0 since the last of generation 1;
   out[2]: collections of generation 1 since the last of generation 2.
   NULL h or out: no-op. */
CGC_API void cgc_get_count(const cgc_heap *h, int out[3]);

/* Move every tracked object to a permanent generation that no collection examines;
   the three counts drop to 0. */
CGC_API void   cgc_freeze(cgc_heap *h);
CGC_API void   cgc_unfreeze(cgc_heap *h);            /* move them back into the oldest generation */
CGC_API size_t cgc_get_freeze_count(const cgc_heap *h);

/*
 * Generation rules (as CPython 3.11): a collection of generation N examines
 * generations 0..N and moves survivors to N+1 (generation 2 survivors stay).
 * An automatic collection picks the oldest generation whose count exceeds its
 * threshold, except that generation 2 is only collected when the objects that
 * survived since the last full collection exceed 25% of those that survived it.
 */

/* ------------------------------------------------------------------ */
/* 5. Statistics, callbacks, debugging                                 */
/* ------------------------------------------------------------------ */

typedef struct cgc_gen_stats {
    uint64_t collections;     /* collections of exactly this generation */
    uint64_t collected;       /* unreachable objects found that were collectable */
    uint64_t uncollectable;   /* unreachable objects put on the garbage list */
    uint64_t total_ns;        /* wall time spent in those collections */
    uint64_t max_pause_ns;    /* longest single one */
} cgc_gen_stats;
/* CGC_EINVAL for NULL h or out or a generation outside 0..2.  The five values are
   read as one consistent snapshot, from any thread. */
CGC_API int cgc_get_stats(const cgc_heap *h, int generation, cgc_gen_stats *out);

typedef enum { CGC_PHASE_START = 0, CGC_PHASE_STOP = 1 } cgc_phase;
typedef struct cgc_collect_info {
    int generation;
    size_t collected;          /* 0 at START */
    size_t uncollectable;      /* 0 at START */
    uint64_t duration_ns;      /* 0 at START */
} cgc_collect_info;
typedef void (*cgc_callback_fn)(cgc_heap *h, cgc_phase phase,
                                const cgc_collect_info *info, void *ctx);
/* Callbacks run in the order they were added, for every collection (explicit or
   automatic).  Adding or removing one while a collection runs returns CGC_EBUSY.
   The same (fn, ctx) pair may be added twice; remove takes away the first. */
CGC_API int cgc_add_callback(cgc_heap *h, cgc_callback_fn fn, void *ctx);     /* CGC_ENOMEM */
CGC_API int cgc_remove_callback(cgc_heap *h, cgc_callback_fn fn, void *ctx);  /* CGC_EINVAL if absent */

enum {
    CGC_DEBUG_STATS         = 1 << 0,  /* one log line per collection */
    CGC_DEBUG_COLLECTABLE   = 1 << 1,  /* log each collectable object (uses describe) */
    CGC_DEBUG_UNCOLLECTABLE = 1 << 2,  /* log each uncollectable object */
    CGC_DEBUG_SAVEALL       = 1 << 5,  /* put every unreachable object on the garbage list
                                          instead of clearing it */
    CGC_DEBUG_LEAK = CGC_DEBUG_COLLECTABLE | CGC_DEBUG_UNCOLLECTABLE | CGC_DEBUG_SAVEALL
};
CGC_API void     cgc_set_debug(cgc_heap *h, unsigned flags);
CGC_API unsigned cgc_get_debug(const cgc_heap *h);
/* Where debug lines go (default: stderr, each followed by a newline); fn NULL restores
   the default.  Lines have no trailing newline and start with "cyclegc: ".
   CGC_DEBUG_STATS:         "cyclegc: gen G: examined N0 N1 N2, unreachable U,
                             uncollectable K, T.TTTTTT s"  (one per collection;
                             Ni = objects generation i held when the collection began,
                             for the generations it examined, "-" for the others)
   CGC_DEBUG_COLLECTABLE:   "cyclegc: collectable <describe>"   (one per object)
   CGC_DEBUG_UNCOLLECTABLE: "cyclegc: uncollectable <describe>" (one per object)
   <describe> is the host's describe() text, or "object at 0x..." without one. */
CGC_API void     cgc_set_log(cgc_heap *h, void (*fn)(void *ctx, const char *line), void *ctx);
/* Called on a detected host bug (e.g. traverse reports more references to an object
   than its reference count holds) with a message naming the object via describe; the
   default prints the message to stderr and aborts.  Execution does not continue past
   the handler: if it returns, the collector aborts.  fn NULL restores the default. */
CGC_API void     cgc_set_fatal_handler(cgc_heap *h, void (*fn)(void *ctx, const char *msg),
                                       void *ctx);

/* The garbage list holds one reference (incref) to each object on it.  Objects on it
   stay tracked (in the generation they survived into), as CPython's gc.garbage. */
CGC_API size_t cgc_garbage_count(const cgc_heap *h);
CGC_API void  *cgc_garbage_get(const cgc_heap *h, size_t i);   /* NULL if out of range */
CGC_API void   cgc_garbage_clear(cgc_heap *h);                 /* drops those references (decref) */

/* Introspection: visit stops early on a nonzero return, which is returned.
   generation -1: all three generations (never the permanent one); otherwise 0..2, else
   CGC_EINVAL.  fn may untrack or free objects, track new ones (not visited) and freeze;
   a collection asked for while the walk runs returns 0; a second walk started from fn
   (cgc_get_objects, cgc_get_referrers) returns CGC_EBUSY. */
CGC_API int cgc_get_objects(cgc_heap *h, int generation, cgc_visit_fn fn, void *arg);
/* As gc.get_referrers: visits, once each, every object of generations 0..2 whose traverse
   reports target.  CGC_EINVAL for NULL h, target or fn; CGC_EBUSY inside a walk.  fn may
   do what cgc_get_objects' fn may. */
CGC_API int cgc_get_referrers(cgc_heap *h, void *target, cgc_visit_fn fn, void *arg);
/* As gc.get_referents: visits what obj's traverse reports (obj may be untracked).
   CGC_EINVAL for NULL h, obj or fn. */
CGC_API int cgc_get_referents(cgc_heap *h, void *obj, cgc_visit_fn fn, void *arg);
/* Why is obj alive? Visits a shortest chain of references that starts at a tracked object
   referenced from outside the tracked set (a root) and ends at obj, root first. Returns
   CGC_OK when a chain was visited, 1 when none exists (obj is garbage), CGC_EINVAL when obj
   is not tracked. Changes nothing.  Additions: the tracked set here is every tracked
   object, the permanent generation included; a root's chain is the root alone; the
   chain is computed first and visited afterwards, and a nonzero visit return stops the
   walk and is returned; CGC_ENOMEM if the search's queue (one pointer per tracked
   object) cannot be allocated; CGC_EBUSY during a collection or a cgc_get_objects walk. */
CGC_API int cgc_explain_alive(cgc_heap *h, void *obj, cgc_visit_fn fn, void *arg);

/* Graphviz dump of tracked objects and their references (DOT language).
   ALL: every tracked object (the permanent generation included) and the references
   between them;
   GARBAGE: the objects on the garbage list and their references to each other;
   UNREACHABLE: what a full collection would find now, computed without collecting
   anything (no host callback but traverse and describe runs, nothing moves, counts and
   statistics stay as they were).  Node labels come from describe, escaped for DOT.
   Returns CGC_OK, CGC_EINVAL (NULL h or out, unknown what, or a write to out failed),
   CGC_ENOMEM, or CGC_EBUSY
   during a collection or a cgc_get_objects walk. */
enum { CGC_DOT_ALL = 0, CGC_DOT_GARBAGE = 1, CGC_DOT_UNREACHABLE = 2 };
CGC_API int cgc_dump_dot(cgc_heap *h, FILE *out, int what);

/* ------------------------------------------------------------------ */
/* 6. Deep deallocation (trashcan)                                     */
/* ------------------------------------------------------------------ */

/*
 * Freeing a long chain recursively overflows the C stack.  The host's
 * dealloc brackets its body:
 *
 *     void node_dealloc(void *obj) {
 *         if (!cgc_trashcan_begin(heap, obj)) return;   // queued: return at once
 *         cgc_untrack(heap, obj);
 *         ... decref the children, cgc_free(heap, obj) ...
 *         cgc_trashcan_end(heap);
 *     }
 *
 * Past a fixed nesting depth (CGC_TRASHCAN_DEPTH) the object is untracked,
 * queued, and later passed to ops->dealloc once the stack has unwound to the
 * outermost cgc_trashcan_end.  Any chain length is freed in bounded stack.
 * ops->dealloc is required for queuing: without it cgc_trashcan_begin always
 * returns 1 (no deferral).  cgc_trashcan_end must be called once for every
 * cgc_trashcan_begin that returned 1 (with a NULL heap, begin returns 1 and
 * end does nothing; a NULL obj is never queued but still counts a level).
 */
#define CGC_TRASHCAN_DEPTH 50
CGC_API int  cgc_trashcan_begin(cgc_heap *h, void *obj);  /* 0: obj was queued, return at once */
CGC_API void cgc_trashcan_end(cgc_heap *h);

/* ------------------------------------------------------------------ */
/* 7. The built-in pool allocator                                      */
/* ------------------------------------------------------------------ */

/*
 * Used when cgc_config.allocator is NULL, and usable on its own by the host
 * for its non-container objects (which then carry no collector header at all).
 * Threads: a pool is used by one thread at a time.  A heap's built-in pool
 * follows the heap's one-thread rule; a pool the host creates itself is the
 * host's to serialise.  lib/pool.c draws the memory layout.
 */
typedef struct cgc_pool cgc_pool;
typedef struct cgc_pool_stats {
    size_t bytes_mapped;      /* obtained from the OS and not yet returned */
    size_t bytes_in_use;      /* small blocks handed out and not yet freed, rounded up to
                                 their size class */
    size_t blocks_in_use;     /* small blocks handed out and not yet freed */
    size_t arenas;            /* arenas currently mapped */
    size_t large_in_use;      /* requests above the small-object limit (512 bytes), passed to
                                 malloc and not yet freed: a count of blocks */
} cgc_pool_stats;
/* NULL when memory runs out.  Debug mode (fill bytes, guard bytes, double-free
   detection) is on when the library was built with CGC_DEBUG=1 or when the
   environment holds CYCLEGC_POOL_DEBUG=1 at the time of the call. */
CGC_API cgc_pool *cgc_pool_new(void);
CGC_API void      cgc_pool_destroy(cgc_pool *p);          /* returns all its memory to the OS */
CGC_API void     *cgc_pool_alloc(cgc_pool *p, size_t size);   /* 16-byte aligned; size 0 gives a unique
                                                 minimal block; NULL only when memory runs out
                                                 (or p is NULL) */
CGC_API void      cgc_pool_release(cgc_pool *p, void *ptr);   /* NULL is a no-op (ptr or p) */
CGC_API int       cgc_pool_get_stats(const cgc_pool *p, cgc_pool_stats *out);
CGC_API size_t    cgc_pool_trim(cgc_pool *p);             /* return free memory to the OS; bytes returned */
CGC_API cgc_pool *cgc_heap_pool(cgc_heap *h);             /* the heap's built-in pool, NULL with a host allocator */

/* ------------------------------------------------------------------ */
/* 8. Threads                                                          */
/* ------------------------------------------------------------------ */

/* A heap is used by one thread at a time (the host serialises access, as a
   runtime lock does).  The exceptions, safe from any thread at any time and
   implemented with libatomic_ops: cgc_request_collection, cgc_get_count,
   cgc_get_stats, cgc_is_collecting. */

#ifdef __cplusplus
}
#endif

#endif /* CYCLEGC_H */
