/*
 * internal.h -- the object header, the intrusive lists and the heap.
 *
 * Every object the host gets from cgc_alloc is preceded by a 16-byte header
 * (two words on a 64-bit machine; 8 bytes on a 32-bit one, rounded up to 16
 * so that objects stay 16-byte aligned):
 *
 *      block from the allocator
 *      |
 *      v
 *      +------------------------+------------------------+-----------------
 *      | next                   | prev                   | host object ...
 *      +------------------------+------------------------+-----------------
 *      ^ cgc_hdr                                         ^ pointer the host sees
 *
 *   next  0 when the object is untracked: that is the "is tracked" test.
 *         Otherwise the next header of a circular doubly linked list (one
 *         list per generation, each with a sentinel head in the heap).
 *
 *   prev  the previous header, with two flags in the low bits:
 *           bit 0 PREV_FINALIZED   finalize() ran; kept for the object's life
 *           bit 1 PREV_COLLECTING  the object is in the set being collected
 *         From update_refs until move_unreachable has seen an object, the
 *         bits above the flags hold gc_refs (the copied reference count
 *         minus references from inside the set) instead of a pointer, or,
 *         once mark_reachable has marked the object, the link of its
 *         marking stack; the list is only singly linked meanwhile.
 *         move_unreachable restores the pointers.  No host callback other
 *         than traverse runs meanwhile.
 *
 *         While an object waits in the trashcan queue it is untracked
 *         (next == 0) and prev links the queue.
 *
 * All other state hangs off struct cgc_heap: no global mutable state.
 */
#ifndef CGC_INTERNAL_H
#define CGC_INTERNAL_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "cyclegc.h"
#include "atomics.h"

#define CGC_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------- */
/* Header and flags                                                  */
/* ---------------------------------------------------------------- */

typedef struct cgc_hdr {
    uintptr_t next;
    uintptr_t prev;
#if UINTPTR_MAX == 0xffffffffu
    uintptr_t pad_[2];                 /* keep objects 16-byte aligned */
#endif
} cgc_hdr;

#define CGC_HDR_SIZE       16u
#define PREV_FINALIZED     ((uintptr_t)1)
#define PREV_COLLECTING    ((uintptr_t)2)
#define PREV_FLAGS         ((uintptr_t)3)
#define REFS_SHIFT         2
#define REFS_MAX           (UINTPTR_MAX >> REFS_SHIFT)   /* larger counts are clamped */

#define HDR(obj)   ((cgc_hdr *)((char *)(obj) - CGC_HDR_SIZE))
#define OBJ(g)     ((void *)((char *)(g) + CGC_HDR_SIZE))

static inline cgc_hdr *hdr_next(const cgc_hdr *g)
{
    return (cgc_hdr *)g->next;
}
static inline cgc_hdr *hdr_prev(const cgc_hdr *g)
{
    return (cgc_hdr *)(g->prev & ~PREV_FLAGS);
}
static inline void hdr_set_prev(cgc_hdr *g, cgc_hdr *p)
{
    g->prev = (uintptr_t)p | (g->prev & PREV_FLAGS);
}
static inline int hdr_is_tracked(const cgc_hdr *g) { return g->next != 0; }
static inline int hdr_is_finalized(const cgc_hdr *g) { return (g->prev & PREV_FINALIZED) != 0; }
static inline int hdr_is_collecting(const cgc_hdr *g) { return (g->prev & PREV_COLLECTING) != 0; }
static inline void hdr_clear_collecting(cgc_hdr *g) { g->prev &= ~PREV_COLLECTING; }

/* gc_refs lives in prev while an object is being examined. */
static inline uintptr_t hdr_refs(const cgc_hdr *g) { return g->prev >> REFS_SHIFT; }
static inline void hdr_set_refs(cgc_hdr *g, uintptr_t refs)
{
    g->prev = (refs << REFS_SHIFT) | (g->prev & PREV_FLAGS);
}
static inline void hdr_reset_refs(cgc_hdr *g, uintptr_t refs)
{
    g->prev = (refs << REFS_SHIFT) | (g->prev & PREV_FINALIZED) | PREV_COLLECTING;
}

/* ---------------------------------------------------------------- */
/* Circular doubly linked lists with a sentinel head                 */
/* ---------------------------------------------------------------- */

static inline void list_init(cgc_hdr *head)
{
    head->next = (uintptr_t)head;
    head->prev = (uintptr_t)head;
}
static inline int list_is_empty(const cgc_hdr *head) { return hdr_next(head) == head; }

static inline void list_append(cgc_hdr *node, cgc_hdr *head)
{
    cgc_hdr *last = hdr_prev(head);
    last->next = (uintptr_t)node;
    hdr_set_prev(node, last);
    node->next = (uintptr_t)head;
    head->prev = (uintptr_t)node;
}
static inline void list_unlink(cgc_hdr *node)
{
    cgc_hdr *prev = hdr_prev(node), *next = hdr_next(node);
    prev->next = (uintptr_t)next;
    hdr_set_prev(next, prev);
}
static inline void list_move(cgc_hdr *node, cgc_hdr *head)
{
    list_unlink(node);
    list_append(node, head);
}
/* Append every node of from to the tail of to; from becomes empty. */
static inline void list_merge(cgc_hdr *from, cgc_hdr *to)
{
    if (!list_is_empty(from)) {
        cgc_hdr *to_tail = hdr_prev(to);
        cgc_hdr *first = hdr_next(from), *last = hdr_prev(from);
        to_tail->next = (uintptr_t)first;
        hdr_set_prev(first, to_tail);
        last->next = (uintptr_t)to;
        to->prev = (uintptr_t)last;
    }
    list_init(from);
}
/* Untracking: out of its list, keeping only the FINALIZED flag. */
static inline void hdr_untrack(cgc_hdr *g)
{
    if (hdr_is_tracked(g)) {
        list_unlink(g);
        g->next = 0;
        g->prev &= PREV_FINALIZED;
    }
}

static inline size_t list_size(const cgc_hdr *head)
{
    size_t n = 0;
    for (const cgc_hdr *g = hdr_next(head); g != head; g = hdr_next(g))
        n++;
    return n;
}

/* ---------------------------------------------------------------- */
/* Allocator interface (built-in default or the host's)              */
/* ---------------------------------------------------------------- */

typedef struct cgc_blockalloc {
    void *ctx;
    void *(*alloc)(void *ctx, size_t size);
    void  (*release)(void *ctx, void *ptr);
    void  (*destroy)(void *ctx);       /* NULL for a host allocator */
} cgc_blockalloc;

/* The built-in allocator is the pool (pool.c, pool.h). */

/* ---------------------------------------------------------------- */
/* The heap                                                          */
/* ---------------------------------------------------------------- */

#define NUM_GENERATIONS 3

/* Statistics are written by the owner thread and read from any thread
   through a sequence lock; each 64-bit value is kept in whole AO_t words. */
#define STAT_FIELDS   5
#define U64_WORDS     ((8 + sizeof(AO_t) - 1) / sizeof(AO_t))

typedef struct cgc_stats_cell {
    volatile AO_t seq;                  /* odd while an update is in progress */
    volatile AO_t words[NUM_GENERATIONS][STAT_FIELDS][U64_WORDS];
    cgc_gen_stats shadow[NUM_GENERATIONS];   /* the owner's own copy */
} cgc_stats_cell;

typedef struct cgc_callback {
    cgc_callback_fn fn;
    void *ctx;
} cgc_callback;

struct cgc_heap {
    cgc_hdr gen[NUM_GENERATIONS];        /* generation list heads */
    cgc_hdr permanent;                   /* frozen objects */
    int threshold[NUM_GENERATIONS];
    volatile AO_t count[NUM_GENERATIONS];  /* signed values stored as words */

    cgc_host_ops ops;
    cgc_blockalloc mem;
    int host_allocator;                  /* 1: mem is the host's allocator */
    unsigned flags;                      /* cgc_config.flags */
    unsigned debug;
    int enabled;

    volatile AO_t collecting;            /* 1 while a collection runs */
    volatile AO_t requested;             /* set by cgc_request_collection */
    int pending;                         /* CGC_DEFERRED: thresholds asked */
    int walking;                         /* cgc_get_objects in progress */
    cgc_hdr *walk_todo, *walk_seen;      /* its private lists (see introspect.c) */

    size_t long_lived_total;             /* survivors of the last full collection */
    size_t long_lived_pending;           /* promoted into gen 2 since then */

    cgc_stats_cell stats;

    cgc_callback *callbacks;
    size_t ncallbacks, callbacks_cap;

    void **garbage;
    size_t ngarbage, garbage_cap;

    void (*fatal_fn)(void *ctx, const char *msg);
    void *fatal_ctx;
    void (*log_fn)(void *ctx, const char *line);
    void *log_ctx;

    /* trashcan */
    unsigned trash_depth;
    int trash_draining;
    cgc_hdr *trash_head;                 /* queue of deferred deallocs */
};

/* Reading and adjusting the host's reference count. */
static inline int64_t obj_refcnt(const cgc_heap *h, const void *obj)
{
    const char *p = (const char *)obj + h->ops.refcnt_offset;
    if (h->ops.refcnt_width == 4) {
        int32_t v;
        memcpy(&v, p, 4);
        return v;
    } else {
        int64_t v;
        memcpy(&v, p, 8);
        return v;
    }
}
static inline void obj_incref(const cgc_heap *h, void *obj)
{
    char *p = (char *)obj + h->ops.refcnt_offset;
    if (h->ops.refcnt_width == 4) {
        int32_t v;
        memcpy(&v, p, 4);
        v++;
        memcpy(p, &v, 4);
    } else {
        int64_t v;
        memcpy(&v, p, 8);
        v++;
        memcpy(p, &v, 8);
    }
}

/* heap.c */
long cgc__collect_generations(cgc_heap *h);
void cgc__count_add(cgc_heap *h, int gen, long delta);
void cgc__count_set(cgc_heap *h, int gen, long value);

/* collect.c */
long cgc__collect_main(cgc_heap *h, int generation);
void cgc__external_refs(cgc_heap *h, cgc_hdr *const *lists, int nlists);
void cgc__restore_prev(cgc_hdr *head);

/* debug.c */
_Noreturn void cgc__fatal(cgc_heap *h, const char *what, void *obj);
_Noreturn void cgc__fatal_msg(cgc_heap *h, const char *msg);
size_t cgc__describe(cgc_heap *h, void *obj, char *buf, size_t len);
void cgc__stats_record(cgc_heap *h, int gen, size_t collected, size_t uncollectable,
                       uint64_t ns);
void cgc__run_callbacks(cgc_heap *h, cgc_phase phase, const cgc_collect_info *info);
int  cgc__garbage_reserve(cgc_heap *h, size_t more);
void cgc__garbage_push(cgc_heap *h, void *obj);
uint64_t cgc__now_ns(void);
void cgc__log(cgc_heap *h, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void cgc__log_object(cgc_heap *h, const char *what, void *obj);
void cgc__log_stats(cgc_heap *h, int gen, const size_t examined[], size_t unreachable,
                    size_t uncollectable, uint64_t ns);
void cgc__apply_env(cgc_heap *h);

#endif /* CGC_INTERNAL_H */
