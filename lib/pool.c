/*
 * pool.c -- the built-in small-object allocator (API.md section 7).
 *
 * A pymalloc-style allocator: requests of 1..512 bytes are served from 32
 * size classes (16, 32, ..., 512 bytes; a request of 0 bytes gets a 16-byte
 * block); larger ones go to malloc.  One pool object per heap, used under
 * the heap's one-thread rule (a pool the host creates for itself is used by
 * one thread at a time too).  No global mutable state.
 *
 * Layout
 * ------
 * An arena is 1 MiB obtained with mmap and aligned to 1 MiB (a 1 MiB map
 * asked for just below the previous arena usually is; otherwise twice the
 * size is mapped and trimmed).  It is cut into 64 pools of 16 KiB, each
 * 16 KiB-aligned and holding blocks of one size class only, with no header
 * inside: the bookkeeping of an arena and of its 64 pools lives in a
 * malloc'd arena descriptor, one cache line per pool.
 *
 *   arena memory (1 MiB, 1 MiB-aligned)          arena descriptor (malloc'd)
 *   +---------+---------+---------+--  --+---------+   +------------------+
 *   | pool 0  | pool 1  | pool 2  |      | pool 63 |   | pools[0]  64 B   |
 *   +---------+---------+---------+--  --+---------+   | pools[1]  64 B   |
 *        |                                             |   ...            |
 *        v                                             | pools[63] 64 B   |
 *   pool (16 KiB, 16 KiB-aligned, one size class)      | base, freemask,  |
 *   +-------+-------+-------+--  --+-------+--------+  | dirtymask, nfree,|
 *   | block | block | block |      | block | slack  |  | list links       |
 *   +-------+-------+-------+--  --+-------+--------+  +------------------+
 *   free blocks are threaded into a list through their first word; blocks
 *   never used yet are carved lazily, a 4 KiB page's worth at a time.
 *
 *   pool descriptor: free (first free block), next/prev (the class's list
 *   of pools with free blocks), mem, arena, carve (offset of the first
 *   never-carved block), nused, capacity, stride, cls, live, index.
 *
 * Why the descriptors are not in the pools: pymalloc puts a 48-byte header
 * at the start of each pool, so all headers sit at 16 KiB-aligned
 * addresses, which map to the same few sets of the L1 and L2 caches; with a
 * few hundred pools in use the headers keep evicting one another.  Packed
 * descriptors spread over all sets (this alone took a third off the time of
 * bench/alloc at 100k blocks).
 *
 * Allocation (fast path): class = (size - 1) >> 4; the first pool on the
 * class's list; pop its free list; count.  When that empties the free list,
 * carve the next page of blocks, or, if the pool is full, unlink it.  So
 * every listed pool has a free block.  Release (fast path): find the arena
 * (below), its pool descriptor is pools[(ptr >> 14) & 63]; push the block;
 * a pool that was full goes back to the front of its class's list, a pool
 * that became empty goes back to its arena.
 *
 * Telling small blocks from large ones
 * ------------------------------------
 * Large blocks come from malloc and carry no marker that could be checked
 * without reading memory we may not own.  So release first looks the
 * address up in a per-pool two-level radix tree keyed by the arena number
 * (address >> 20), which maps each arena of this pool to its descriptor:
 * 28-bit keys cover 48-bit addresses, with a root of 4096 leaf pointers
 * inside the pool object and leaves of 64 Ki arena pointers (512 KiB,
 * mapped on first use, so only the pages holding used entries become
 * resident; one leaf covers 64 GiB of addresses).  A hit gives the arena, a miss
 * means a large block (or NULL); no memory outside this pool's own
 * structures is read before that.  An arena the OS places at or above
 * 2^48 is refused (cgc_pool_alloc returns NULL).  Large blocks carry a
 * 32-byte header linking them into a list, so that cgc_pool_destroy frees
 * them all.
 *
 * Arenas and returning memory
 * ---------------------------
 * Arenas with free pools sit in buckets by their number of free pools
 * (1..63), with a bitmap of the non-empty buckets: a new pool comes from
 * the fullest arena in O(1) (pymalloc's ordering), and within the arena
 * from a pool touched before rather than a fresh one.  An arena whose 64
 * pools are all free is unmapped at once, except that one such arena stays
 * cached against map/unmap thrashing (CGC_POOL_CACHED_ARENAS, 1).
 * cgc_pool_trim unmaps the cached arena and also decommits (madvise
 * MADV_DONTNEED) the free pools of the arenas still in use.
 * cgc_pool_destroy unmaps everything.
 *
 * Huge pages: from its second arena on (CGC_POOL_HUGE_AFTER, 1), the pool
 * maps arenas two at a time, 2 MiB-aligned, with MADV_HUGEPAGE; the second
 * of the pair is the cached arena.  Where transparent huge pages are
 * enabled ("always" or "madvise"), the first touch faults in the whole
 * 2 MiB at once: on our VMs a 4 KiB page fault costs about 1.5-2 us and a
 * 2 MiB one about 60 us, 17 times less per byte.  Since empty
 * arenas are given back, a program that frees and reallocates its objects
 * pays these faults again each time, so this is most of the speed of
 * bench/alloc.  The cost: a pool past 1 MiB may hold up to 2 MiB more
 * resident memory than it touched (the rest of its last pair).  A pool
 * that stays within one arena never uses huge pages.
 *
 * Statistics: per-class counts of blocks in use, updated on every call (on
 * the cache line of the class's list head); the rest change only in slow
 * paths.  cgc_pool_get_stats is exact at all times.  bytes_mapped counts
 * arena memory, cached arenas included (the pool object, arena descriptors
 * and radix leaves are metadata, not counted).
 *
 * Debug mode
 * ----------
 * On when built with CGC_DEBUG=1 or when CYCLEGC_POOL_DEBUG=1 (any value
 * but "" and "0") is in the environment when the pool is created.  Each
 * small block then sits in a slot with a 16-byte prefix (free-list link,
 * requested size, state) and 16 guard bytes past the class size:
 *
 *   +--------+----------------------+---------------+----------+
 *   | prefix | requested bytes 0xCD | slack 0xFD    | guard    |
 *   | 16 B   | (0xDD once freed)    | to class size | 16x 0xFD |
 *   +--------+----------------------+---------------+----------+
 *            ^ pointer handed out
 *
 * Release checks that the pointer is a block start in a live pool, the
 * state (double free) and every byte from the requested size to the end of
 * the guard (overflow); allocation checks that a free block still holds
 * only 0xDD (write after free).  Large blocks keep their size in their
 * header, get 16 guard bytes, and are kept in a hash set, so a double free
 * is found without reading freed memory.  Reports name the block and its
 * size class and go to the hook set with cgc__pool_set_report (the heap's
 * fatal handler), by default to stderr; then the process aborts.
 */
#if !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE 1              /* MAP_ANONYMOUS, madvise */
#endif

#include <stdalign.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "pool.h"

#if defined(MAP_ANONYMOUS) || defined(MAP_ANON)
#define POOL_HAVE_MMAP 1
#if !defined(MAP_ANONYMOUS)
#define MAP_ANONYMOUS MAP_ANON
#endif
#else
#define POOL_HAVE_MMAP 0
#endif

#if defined(__GNUC__)
#define LIKELY(x)   __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define NOINLINE    __attribute__((noinline))
#else
#define LIKELY(x)   (x)
#define UNLIKELY(x) (x)
#define NOINLINE
#endif

/* ---------------------------------------------------------------- */
/* Geometry                                                          */
/* ---------------------------------------------------------------- */

#define ALIGN_SHIFT      4
#define SMALL_MAX        512u
#define NCLASSES         (SMALL_MAX >> ALIGN_SHIFT)     /* 32 */
#define CLASS_SIZE(c)    (((size_t)(c) + 1) << ALIGN_SHIFT)

#define POOL_SHIFT       14
#define POOL_SIZE        ((size_t)1 << POOL_SHIFT)      /* 16 KiB */
#define CARVE_CHUNK      4096u                          /* carve a page at a time */

#define ARENA_SHIFT      20
#define ARENA_SIZE       ((size_t)1 << ARENA_SHIFT)     /* 1 MiB */
#define POOLS_PER_ARENA  64u                            /* one uint64_t bitmap */

_Static_assert(ARENA_SIZE / POOL_SIZE == POOLS_PER_ARENA, "64 pools per arena");

/* Radix tree over arena numbers (address >> ARENA_SHIFT). */
#if UINTPTR_MAX > 0xffffffffu
#define KEY_BITS         28      /* addresses below 2^48 */
#define LEAF_BITS        16      /* leaves of 64 Ki pointers (512 KiB, mapped lazily) */
#else
#define KEY_BITS         12      /* the whole 32-bit address space */
#define LEAF_BITS        12
#endif
#define ROOT_LEN         ((size_t)1 << (KEY_BITS - LEAF_BITS))
#define LEAF_LEN         ((size_t)1 << LEAF_BITS)
#define LEAF_MASK        (((uintptr_t)1 << LEAF_BITS) - 1)

/* Debug mode. */
#define DBG_PREFIX       16u
#define DBG_GUARD        16u
#define CLEANBYTE        0xCD     /* fresh memory */
#define DEADBYTE         0xDD     /* freed memory */
#define GUARDBYTE        0xFD     /* slack and guard */
#define STATE_ALLOC      0xA110CA7Eu
#define STATE_FREE       0xF4EEB10Cu

#define LARGE_HDR        32u

/* Completely free arenas kept mapped: one by design.  A build may raise it
   to trade memory for fewer page faults; trim returns them all. */
#ifndef CGC_POOL_CACHED_ARENAS
#define CGC_POOL_CACHED_ARENAS 1
#endif
/* Arenas mapped before the pool starts mapping them in huge-page pairs
   (see arena_new); -DCGC_POOL_HUGE_AFTER=SIZE_MAX turns pairs off. */
#ifndef CGC_POOL_HUGE_AFTER
#define CGC_POOL_HUGE_AFTER 1
#endif

/* ---------------------------------------------------------------- */
/* Types                                                             */
/* ---------------------------------------------------------------- */

typedef struct block {
    struct block *next;
} block;

struct arena;

#define CACHE_LINE 64

/* The descriptor of one pool: one cache line, in its arena's descriptor. */
typedef struct pool_desc {
    alignas(CACHE_LINE) block *free; /* never NULL while on a class list */
    struct pool_desc *next, *prev;   /* the class's list of pools with free blocks */
    char *mem;                       /* the pool's 16 KiB */
    struct arena *arena;
    uint32_t carve;                  /* offset of the first never-carved slot */
    uint32_t nused;                  /* blocks handed out */
    uint16_t capacity;               /* slots in the pool */
    uint16_t stride;                 /* bytes per slot */
    uint8_t cls;                     /* size class index */
    uint8_t live;                    /* 1 while the pool serves a class */
    uint8_t index;                   /* position in the arena */
} pool_desc;

_Static_assert(sizeof(pool_desc) == CACHE_LINE, "a pool descriptor is one cache line");

typedef struct arena {
    pool_desc pools[POOLS_PER_ARENA];
    uintptr_t base;
    uint64_t freemask;               /* bit i: pool i is free */
    uint64_t dirtymask;              /* bit i: pool i was touched since mapped/decommitted */
    unsigned nfree;
    struct arena *next, *prev;       /* bucket of arenas with nfree free pools */
    struct arena *anext, *aprev;     /* every arena of the pool */
} arena;

typedef struct large_hdr {
    struct large_hdr *next, *prev;
    size_t size;                     /* requested size */
    uint32_t state;
} large_hdr;

_Static_assert(sizeof(large_hdr) <= LARGE_HDR, "large header fits in 32 bytes");

typedef struct dbg_prefix {
    block *next;                     /* free-list link (aliases block.next) */
    uint32_t size;                   /* requested size */
    uint32_t state;                  /* STATE_ALLOC or STATE_FREE */
} dbg_prefix;

_Static_assert(sizeof(dbg_prefix) <= DBG_PREFIX, "debug prefix fits in 16 bytes");

typedef struct cls_state {
    pool_desc *head;                 /* pools of this class that have a free block */
    size_t inuse;                    /* blocks of this class handed out */
} cls_state;

typedef struct ptrset {              /* debug mode: live large blocks */
    uintptr_t *slot;                 /* 0 = empty */
    size_t mask;                     /* capacity - 1, capacity a power of two */
    size_t count;
} ptrset;

struct cgc_pool {
    /* hot: read on every call */
    size_t nfast;                    /* NCLASSES; 0 in debug mode (all allocs go slow) */
    int debug;
    cls_state cls[NCLASSES];
    arena **root[ROOT_LEN];          /* radix tree: arena number -> arena */

    /* arenas */
    arena *bucket[POOLS_PER_ARENA];  /* [n]: arenas with n free pools, 1 <= n <= 63 */
    uint64_t bucketmask;             /* bit n: bucket[n] is not empty */
    arena *cached;                   /* completely free arenas kept mapped (linked by next) */
    size_t ncached;                  /* at most CGC_POOL_CACHED_ARENAS */
    arena *all;                      /* every arena, cached ones included */
    size_t narenas;
    uintptr_t low;                   /* lowest arena mapped lately: next one goes below */

    /* large blocks */
    large_hdr large;                 /* sentinel of the list of large blocks */
    size_t nlarge;
    ptrset lset;

    void (*report_fn)(void *ctx, const char *msg);
    void *report_ctx;
    unsigned page_pools;             /* pools per OS page (1 unless pages exceed 16 KiB) */
};

/* ---------------------------------------------------------------- */
/* Small helpers                                                     */
/* ---------------------------------------------------------------- */

static inline unsigned ctz64(uint64_t x)
{
#if defined(__GNUC__)
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned n = 0;
    while (!(x & 1)) {
        x >>= 1;
        n++;
    }
    return n;
#endif
}

static inline uint32_t pool_end(const pool_desc *pl)
{
    return (uint32_t)pl->capacity * pl->stride;
}

/* ---------------------------------------------------------------- */
/* Reports (debug mode)                                              */
/* ---------------------------------------------------------------- */

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static _Noreturn NOINLINE void report(const cgc_pool *p, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->report_fn != NULL) {
        p->report_fn(p->report_ctx, msg);
        fputs("cyclegc pool: the report handler returned; aborting\n", stderr);
    } else {
        fprintf(stderr, "%s\n", msg);
    }
    fflush(stderr);
    abort();
}

void cgc__pool_set_report(cgc_pool *p, void (*fn)(void *ctx, const char *msg), void *ctx)
{
    if (p == NULL)
        return;
    p->report_fn = fn;
    p->report_ctx = fn != NULL ? ctx : NULL;
}

/* ---------------------------------------------------------------- */
/* The radix tree                                                    */
/* ---------------------------------------------------------------- */

/* The arena of this pool that holds addr, or NULL (then addr is not a small
   block of this pool: it may be a large block, or NULL). */
static inline arena *radix_get(const cgc_pool *p, uintptr_t addr)
{
    uintptr_t k = addr >> ARENA_SHIFT;
    arena *const *leaf;
    if (UNLIKELY((k >> KEY_BITS) != 0))
        return NULL;
    leaf = p->root[k >> LEAF_BITS];
    if (UNLIKELY(leaf == NULL))
        return NULL;
    return leaf[k & LEAF_MASK];
}

static arena **leaf_new(void);
static void leaf_free(arena **leaf);

/* 0, or -1 when a leaf cannot be allocated. */
static int radix_set(cgc_pool *p, uintptr_t base, arena *a)
{
    uintptr_t k = base >> ARENA_SHIFT;
    arena ***slot = &p->root[k >> LEAF_BITS];
    if (*slot == NULL) {
        if (a == NULL)
            return 0;
        *slot = leaf_new();
        if (*slot == NULL)
            return -1;
    }
    (*slot)[k & LEAF_MASK] = a;
    return 0;
}

/* ---------------------------------------------------------------- */
/* Memory from the OS                                                */
/* ---------------------------------------------------------------- */

#if POOL_HAVE_MMAP
static void *os_map(void *hint, size_t size)
{
    void *m = mmap(hint, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

static void os_unmap(void *addr, size_t size)
{
    munmap(addr, size);
}

/* size bytes (1 or 2 arenas) aligned to size, or NULL. */
static void *os_map_arenas(cgc_pool *p, size_t size)
{
    uintptr_t lo, al, hint = 0;
    char *m;
    /* The kernel places new mappings top-down: ask for the space just below
       the last arenas, which keeps later ones aligned with a single mmap. */
    if (p->low >= size)
        hint = (p->low - size) & ~(uintptr_t)(size - 1);
    m = os_map((void *)hint, size);
    if (m != NULL && ((uintptr_t)m & (size - 1)) == 0)
        goto done;
    if (m != NULL)
        os_unmap(m, size);
    m = os_map(NULL, 2 * size);
    if (m == NULL)
        return NULL;
    lo = (uintptr_t)m;
    al = (lo + size - 1) & ~(uintptr_t)(size - 1);
    if (al > lo)
        os_unmap(m, al - lo);
    if (al + size < lo + 2 * size)
        os_unmap((void *)(al + size), lo + size - al);
    m = (char *)al;
done:
    p->low = (uintptr_t)m;
    return m;
}

static void os_unmap_arena(uintptr_t base)
{
    os_unmap((void *)base, ARENA_SIZE);
}

/* Leaves are mapped, so that only the pages holding used entries become
   resident, and kept out of transparent huge pages for the same reason. */
static arena **leaf_new(void)
{
    void *m = os_map(NULL, LEAF_LEN * sizeof(arena *));
#if defined(MADV_NOHUGEPAGE)
    if (m != NULL)
        madvise(m, LEAF_LEN * sizeof(arena *), MADV_NOHUGEPAGE);
#endif
    return m;
}

static void leaf_free(arena **leaf)
{
    if (leaf != NULL)
        os_unmap(leaf, LEAF_LEN * sizeof(arena *));
}
#else
static void *os_map_arenas(cgc_pool *p, size_t size)
{
    (void)p;
    return aligned_alloc(size, size);      /* size is always ARENA_SIZE here */
}

static void os_unmap_arena(uintptr_t base)
{
    free((void *)base);
}

static arena **leaf_new(void)
{
    return calloc(LEAF_LEN, sizeof(arena *));
}

static void leaf_free(arena **leaf)
{
    free(leaf);
}
#endif

/* ---------------------------------------------------------------- */
/* Arenas                                                            */
/* ---------------------------------------------------------------- */

static void bucket_insert(cgc_pool *p, arena *a)
{
    unsigned n = a->nfree;
    a->prev = NULL;
    a->next = p->bucket[n];
    if (a->next != NULL)
        a->next->prev = a;
    p->bucket[n] = a;
    p->bucketmask |= (uint64_t)1 << n;
}

static void bucket_remove(cgc_pool *p, arena *a)
{
    unsigned n = a->nfree;
    if (a->prev != NULL)
        a->prev->next = a->next;
    else
        p->bucket[n] = a->next;
    if (a->next != NULL)
        a->next->prev = a->prev;
    if (p->bucket[n] == NULL)
        p->bucketmask &= ~((uint64_t)1 << n);
}

/* A descriptor for the arena at base, registered; NULL without memory. */
static arena *arena_make(cgc_pool *p, uintptr_t base)
{
    arena *a;
    if (((base >> ARENA_SHIFT) >> KEY_BITS) != 0)
        return NULL;
    a = aligned_alloc(CACHE_LINE, sizeof *a);
    if (a == NULL)
        return NULL;
    if (radix_set(p, base, a) != 0) {
        free(a);
        return NULL;
    }
    for (unsigned i = 0; i < POOLS_PER_ARENA; i++) {
        a->pools[i].mem = (char *)base + ((size_t)i << POOL_SHIFT);
        a->pools[i].arena = a;
        a->pools[i].index = (uint8_t)i;
        a->pools[i].live = 0;
        a->pools[i].stride = 0;
        a->pools[i].cls = 0;
        a->pools[i].carve = 0;
    }
    a->base = base;
    a->freemask = ~(uint64_t)0;
    a->dirtymask = 0;
    a->nfree = POOLS_PER_ARENA;
    a->next = a->prev = NULL;
    a->aprev = NULL;
    a->anext = p->all;
    if (p->all != NULL)
        p->all->aprev = a;
    p->all = a;
    p->narenas++;
    return a;
}

/* A new arena, called when no arena has a free pool and none is cached.
   Once the pool has CGC_POOL_HUGE_AFTER arenas, two arenas are mapped at a
   time, 2 MiB-aligned and marked for transparent huge pages: the first touch
   then faults in the whole 2 MiB at once, about 17 times cheaper per byte
   than 512 small-page faults (see the top of the file).  The second arena of the
   pair becomes the cached free arena.  Either half is unmapped on its own
   when it becomes free (the kernel splits the huge page). */
static arena *arena_new(cgc_pool *p)
{
    arena *a;
    char *m;
    int pair = 0;
#if POOL_HAVE_MMAP && defined(MADV_HUGEPAGE)
    pair = CGC_POOL_CACHED_ARENAS > 0 && p->ncached == 0 && p->narenas + 1 > (size_t)CGC_POOL_HUGE_AFTER;
#endif
    m = os_map_arenas(p, pair ? 2 * ARENA_SIZE : ARENA_SIZE);
    if (m == NULL)
        return NULL;
#if POOL_HAVE_MMAP && defined(MADV_HUGEPAGE)
    if (pair)
        madvise(m, 2 * ARENA_SIZE, MADV_HUGEPAGE);
#endif
    a = arena_make(p, (uintptr_t)m);
    if (a == NULL) {
        os_unmap_arena((uintptr_t)m);
        if (pair)
            os_unmap_arena((uintptr_t)m + ARENA_SIZE);
        return NULL;
    }
    if (pair) {
        arena *b = arena_make(p, (uintptr_t)m + ARENA_SIZE);
        if (b != NULL) {
            b->next = p->cached;
            p->cached = b;
            p->ncached++;
        } else {
            os_unmap_arena((uintptr_t)m + ARENA_SIZE);
        }
    }
    return a;
}

static void arena_free(cgc_pool *p, arena *a)
{
    radix_set(p, a->base, NULL);
    if (a->aprev != NULL)
        a->aprev->anext = a->anext;
    else
        p->all = a->anext;
    if (a->anext != NULL)
        a->anext->aprev = a->aprev;
    p->narenas--;
    os_unmap_arena(a->base);
    free(a);
}

/* ---------------------------------------------------------------- */
/* Pools                                                             */
/* ---------------------------------------------------------------- */

static inline void cls_push(cgc_pool *p, pool_desc *pl)
{
    pool_desc **head = &p->cls[pl->cls].head;
    pl->prev = NULL;
    pl->next = *head;
    if (*head != NULL)
        (*head)->prev = pl;
    *head = pl;
}

static inline void cls_unlink(cgc_pool *p, pool_desc *pl)
{
    if (pl->prev != NULL)
        pl->prev->next = pl->next;
    else
        p->cls[pl->cls].head = pl->next;
    if (pl->next != NULL)
        pl->next->prev = pl->prev;
}

/* The pool's free list is empty and slots remain uncarved: thread the next
   page's worth of slots (at least one) into the free list. */
static void pool_carve(const cgc_pool *p, pool_desc *pl)
{
    char *base = pl->mem;
    uint32_t stride = pl->stride, off = pl->carve, end = pool_end(pl);
    uint32_t stop = (off | (CARVE_CHUNK - 1)) + 1;
    block *first = (block *)(base + off), *b = first;
    if (stop > end)
        stop = end;
    if (UNLIKELY(p->debug)) {
        for (; off < stop; off += stride) {
            dbg_prefix *d = (dbg_prefix *)(base + off);
            d->next = off + stride < stop ? (block *)(base + off + stride) : NULL;
            d->size = 0;
            d->state = STATE_FREE;
            memset(base + off + DBG_PREFIX, DEADBYTE, stride - DBG_PREFIX);
        }
    } else {
        for (off += stride; off < stop; off += stride) {
            block *nb = (block *)(base + off);
            b->next = nb;
            b = nb;
        }
        b->next = NULL;
    }
    pl->carve = off;
    pl->free = first;
}

/* A fresh pool of class c from the fullest arena that has one, linked at the
   front of the class's list with a non-empty free list; NULL without memory. */
static NOINLINE pool_desc *pool_take(cgc_pool *p, unsigned c)
{
    arena *a;
    pool_desc *pl;
    uint64_t pick;
    unsigned i;
    if (p->bucketmask != 0) {
        a = p->bucket[ctz64(p->bucketmask)];
        bucket_remove(p, a);
    } else if (p->cached != NULL) {
        a = p->cached;
        p->cached = a->next;
        p->ncached--;
    } else {
        a = arena_new(p);
        if (a == NULL)
            return NULL;
    }
    pick = a->freemask & a->dirtymask;      /* reuse touched memory first */
    if (pick == 0)
        pick = a->freemask;
    i = ctz64(pick);
    a->freemask &= ~((uint64_t)1 << i);
    a->dirtymask |= (uint64_t)1 << i;
    a->nfree--;
    if (a->nfree != 0)
        bucket_insert(p, a);

    pl = &a->pools[i];
    pl->cls = (uint8_t)c;
    pl->stride = (uint16_t)(CLASS_SIZE(c) + (p->debug ? DBG_PREFIX + DBG_GUARD : 0));
    pl->capacity = (uint16_t)(POOL_SIZE / pl->stride);
    pl->carve = 0;
    pl->nused = 0;
    pl->live = 1;
    pool_carve(p, pl);
    cls_push(p, pl);
    return pl;
}

/* An empty pool goes back to its arena; an arena left with no pool in use is
   cached (if fewer than CGC_POOL_CACHED_ARENAS are) or unmapped. */
static void pool_give_back(cgc_pool *p, pool_desc *pl)
{
    arena *a = pl->arena;
    unsigned i = pl->index;
    pl->live = 0;
    if (a->nfree != 0)
        bucket_remove(p, a);
    a->freemask |= (uint64_t)1 << i;
    a->nfree++;
    if (a->nfree < POOLS_PER_ARENA)
        bucket_insert(p, a);
    else if (p->ncached + 1 <= (size_t)CGC_POOL_CACHED_ARENAS) {
        a->next = p->cached;
        p->cached = a;
        p->ncached++;
    }
    else
        arena_free(p, a);
}

/* The allocation emptied the head pool's free list: carve more, or unlink the
   pool if it is full. */
static void pool_dry(cgc_pool *p, pool_desc *pl)
{
    if (pl->carve < pool_end(pl))
        pool_carve(p, pl);
    else
        cls_unlink(p, pl);
}

/* pool_dry for the fast path, which hands b out after it (a tail call there). */
static NOINLINE void *pool_dry_then(cgc_pool *p, pool_desc *pl, block *b)
{
    pool_dry(p, pl);
    return b;
}

/* The release made a full pool non-full (before == capacity) or a pool empty
   (before == 1). */
static NOINLINE void pool_transition(cgc_pool *p, pool_desc *pl, uint32_t before)
{
    if (before == pl->capacity) {
        cls_push(p, pl);
    } else {
        cls_unlink(p, pl);
        pool_give_back(p, pl);
    }
}

/* ---------------------------------------------------------------- */
/* Debug mode: small blocks                                          */
/* ---------------------------------------------------------------- */

static NOINLINE void *dbg_on_alloc(cgc_pool *p, pool_desc *pl, block *slot, size_t size)
{
    dbg_prefix *d = (dbg_prefix *)slot;
    unsigned char *u = (unsigned char *)slot + DBG_PREFIX;
    size_t csize = CLASS_SIZE(pl->cls), i;
    if (d->state != STATE_FREE)
        report(p, "cyclegc pool: free block %p (size class %zu bytes) has a corrupted "
               "header: written after it was freed", (void *)u, csize);
    for (i = 0; i < csize + DBG_GUARD; i++) {
        if (u[i] != DEADBYTE)
            report(p, "cyclegc pool: free block %p (size class %zu bytes) was written "
                   "after it was freed (byte at offset %zu is 0x%02x, not 0x%02x)",
                   (void *)u, csize, i, u[i], DEADBYTE);
    }
    d->state = STATE_ALLOC;
    d->size = (uint32_t)size;
    memset(u, CLEANBYTE, size);
    memset(u + size, GUARDBYTE, csize + DBG_GUARD - size);
    return u;
}

/* Before the free list follows a free slot's link: an overflow of more than
   the guard bytes may have overwritten it.  A sound link is NULL or another
   free slot of the same pool, already carved. */
static NOINLINE void dbg_check_link(cgc_pool *p, pool_desc *pl, block *slot)
{
    dbg_prefix *d = (dbg_prefix *)slot;
    uintptr_t next = (uintptr_t)d->next, mem = (uintptr_t)pl->mem;
    if (next == 0)
        return;
    if (next < mem || next - mem >= pl->carve || (next - mem) % pl->stride != 0
        || ((dbg_prefix *)next)->state != STATE_FREE)
        report(p, "cyclegc pool: free block %p (size class %zu bytes) has a corrupted "
               "header (overflow of the block before it?)",
               (void *)((unsigned char *)slot + DBG_PREFIX), CLASS_SIZE(pl->cls));
}

/* Checks a small block being released; returns its slot. */
static NOINLINE block *dbg_on_release(cgc_pool *p, pool_desc *pl, void *ptr)
{
    unsigned char *u = ptr;
    uintptr_t first = (uintptr_t)pl->mem + DBG_PREFIX, off;
    size_t csize, i;
    dbg_prefix *d;
    if (!pl->live) {
        /* A pool whose last block was freed went back to its arena: a second
           release of that block lands here.  The slot is still mapped. */
        if (pl->stride != 0 && (uintptr_t)ptr >= first &&
            ((uintptr_t)ptr - first) % pl->stride == 0 &&
            ((uintptr_t)ptr - first) < pl->carve &&
            ((dbg_prefix *)(u - DBG_PREFIX))->state == STATE_FREE)
            report(p, "cyclegc pool: double free of block %p (size class %zu bytes)",
                   ptr, CLASS_SIZE(pl->cls));
        report(p, "cyclegc pool: release of %p, which is not a block in use "
               "(it lies in a free pool)", ptr);
    }
    csize = CLASS_SIZE(pl->cls);
    off = (uintptr_t)ptr - first;
    if ((uintptr_t)ptr < first || off % pl->stride != 0 ||
        off >= pl->carve)
        report(p, "cyclegc pool: release of %p, which is not the start of a block "
               "(size class %zu bytes)", ptr, csize);
    d = (dbg_prefix *)(u - DBG_PREFIX);
    if (d->state == STATE_FREE)
        report(p, "cyclegc pool: double free of block %p (size class %zu bytes)",
               ptr, csize);
    if (d->state != STATE_ALLOC || d->size > csize)
        report(p, "cyclegc pool: block %p (size class %zu bytes) has a corrupted header "
               "(buffer underflow of the block before it?)", ptr, csize);
    for (i = d->size; i < csize + DBG_GUARD; i++) {
        if (u[i] != GUARDBYTE)
            report(p, "cyclegc pool: buffer overflow: block %p (size class %zu bytes, "
                   "%u requested) has guard byte at offset %zu overwritten (0x%02x)",
                   ptr, csize, (unsigned)d->size, i, u[i]);
    }
    memset(u, DEADBYTE, csize + DBG_GUARD);
    d->state = STATE_FREE;
    d->size = 0;
    return (block *)d;
}

/* ---------------------------------------------------------------- */
/* Debug mode: the set of live large blocks                          */
/* ---------------------------------------------------------------- */

static inline size_t ps_hash(uintptr_t x, size_t mask)
{
    uint64_t h = (uint64_t)(x >> 4) * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 32) & mask;
}

static int ps_add(ptrset *s, uintptr_t x);

static int ps_grow(ptrset *s)
{
    size_t cap = s->slot != NULL ? (s->mask + 1) * 2 : 64, i;
    ptrset n = { calloc(cap, sizeof(uintptr_t)), cap - 1, 0 };
    if (n.slot == NULL)
        return -1;
    if (s->slot != NULL) {
        for (i = 0; i <= s->mask; i++)
            if (s->slot[i] != 0)
                ps_add(&n, s->slot[i]);
        free(s->slot);
    }
    *s = n;
    return 0;
}

static int ps_add(ptrset *s, uintptr_t x)
{
    size_t i;
    if (s->slot == NULL || (s->count + 1) * 2 > s->mask + 1)
        if (ps_grow(s) != 0)
            return -1;
    for (i = ps_hash(x, s->mask); s->slot[i] != 0; i = (i + 1) & s->mask)
        ;
    s->slot[i] = x;
    s->count++;
    return 0;
}

/* 1 if x was in the set (and is no more), else 0. */
static int ps_remove(ptrset *s, uintptr_t x)
{
    size_t i, j;
    if (s->slot == NULL)
        return 0;
    for (i = ps_hash(x, s->mask); s->slot[i] != x; i = (i + 1) & s->mask)
        if (s->slot[i] == 0)
            return 0;
    /* backward-shift deletion keeps every probe chain unbroken */
    for (j = i;;) {
        size_t k;
        j = (j + 1) & s->mask;
        if (s->slot[j] == 0)
            break;
        k = ps_hash(s->slot[j], s->mask);
        /* move slot j to the hole at i unless its home k lies cyclically in (i, j] */
        if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
            s->slot[i] = s->slot[j];
            i = j;
        }
    }
    s->slot[i] = 0;
    s->count--;
    return 1;
}

/* ---------------------------------------------------------------- */
/* Large blocks                                                      */
/* ---------------------------------------------------------------- */

static void *raw_alloc(size_t size)
{
    if (alignof(max_align_t) < 16)
        return aligned_alloc(16, (size + 15) & ~(size_t)15);
    return malloc(size);
}

static NOINLINE void *large_alloc(cgc_pool *p, size_t size)
{
    size_t extra = LARGE_HDR + (p->debug ? DBG_GUARD : 0);
    large_hdr *h;
    unsigned char *u;
    if (size > (size_t)PTRDIFF_MAX - extra - 16)     /* no object may be that big */
        return NULL;
    h = raw_alloc(size + extra);
    if (h == NULL)
        return NULL;
    u = (unsigned char *)h + LARGE_HDR;
    if (p->debug) {
        if (ps_add(&p->lset, (uintptr_t)u) != 0) {
            free(h);
            return NULL;
        }
        memset(u, CLEANBYTE, size);
        memset(u + size, GUARDBYTE, DBG_GUARD);
    }
    h->size = size;
    h->state = STATE_ALLOC;
    h->prev = &p->large;
    h->next = p->large.next;
    p->large.next->prev = h;
    p->large.next = h;
    p->nlarge++;
    return u;
}

static NOINLINE void large_release(cgc_pool *p, void *ptr)
{
    unsigned char *u = ptr;
    large_hdr *h = (large_hdr *)(u - LARGE_HDR);
    if (p->debug) {
        size_t i;
        if (!ps_remove(&p->lset, (uintptr_t)u))
            report(p, "cyclegc pool: release of %p, which is not a block in use: "
                   "a double free (of a large block, or of a small one whose arena "
                   "has been unmapped since), or a pointer this pool never handed out",
                   ptr);
        for (i = 0; i < DBG_GUARD; i++) {
            if (u[h->size + i] != GUARDBYTE)
                report(p, "cyclegc pool: buffer overflow: large block %p (%zu bytes "
                       "requested) has guard byte at offset %zu overwritten (0x%02x)",
                       ptr, h->size, h->size + i, u[h->size + i]);
        }
        memset(u, DEADBYTE, h->size + DBG_GUARD);
        h->state = STATE_FREE;
    }
    h->prev->next = h->next;
    h->next->prev = h->prev;
    p->nlarge--;
    free(h);
}

/* ---------------------------------------------------------------- */
/* The public interface                                              */
/* ---------------------------------------------------------------- */

static int debug_from_env(void)
{
#if defined(CGC_DEBUG) && CGC_DEBUG
    return 1;
#else
    const char *v = getenv("CYCLEGC_POOL_DEBUG");
    return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
#endif
}

CGC_API cgc_pool *cgc_pool_new(void)
{
    cgc_pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->debug = debug_from_env();
    p->nfast = p->debug ? 0 : NCLASSES;
    p->page_pools = 1;
#if POOL_HAVE_MMAP
    {
        long page = sysconf(_SC_PAGESIZE);
        if (page > (long)POOL_SIZE)
            p->page_pools = (unsigned)((unsigned long)page >> POOL_SHIFT);
    }
#endif
    p->large.next = p->large.prev = &p->large;
    return p;
}

CGC_API void cgc_pool_destroy(cgc_pool *p)
{
    size_t i;
    if (p == NULL)
        return;
    while (p->all != NULL) {
        arena *a = p->all;
        p->all = a->anext;
        os_unmap_arena(a->base);
        free(a);
    }
    while (p->large.next != &p->large) {
        large_hdr *h = p->large.next;
        p->large.next = h->next;
        free(h);
    }
    for (i = 0; i < ROOT_LEN; i++)
        leaf_free(p->root[i]);
    free(p->lset.slot);
    free(p);
}

/* Everything but the fast path: size 0, large sizes, an empty class list,
   debug mode. */
static NOINLINE void *alloc_slow(cgc_pool *p, size_t size)
{
    size_t c;
    pool_desc *pl;
    block *b;
    if (size > SMALL_MAX)
        return large_alloc(p, size);
    c = size != 0 ? (size - 1) >> ALIGN_SHIFT : 0;
    pl = p->cls[c].head;
    if (pl == NULL) {
        pl = pool_take(p, (unsigned)c);
        if (pl == NULL)
            return NULL;
    }
    b = pl->free;
    if (UNLIKELY(p->debug))
        dbg_check_link(p, pl, b);
    pl->free = b->next;
    pl->nused++;
    p->cls[c].inuse++;
    if (pl->free == NULL)
        pool_dry(p, pl);
    if (UNLIKELY(p->debug))
        return dbg_on_alloc(p, pl, b, size);
    return b;
}

CGC_API void *cgc_pool_alloc(cgc_pool *p, size_t size)
{
    size_t c = (size - 1) >> ALIGN_SHIFT;      /* size 0 wraps: slow path */
    if (UNLIKELY(p == NULL))
        return NULL;
    if (LIKELY(c < p->nfast)) {
        pool_desc *pl = p->cls[c].head;
        if (LIKELY(pl != NULL)) {
            block *b = pl->free, *n = b->next;
            pl->free = n;
            pl->nused++;
            p->cls[c].inuse++;
            if (UNLIKELY(n == NULL))
                return pool_dry_then(p, pl, b);
            return b;
        }
    }
    return alloc_slow(p, size);
}

/* Push a small block (a slot, in debug mode) back on its pool's free list. */
static inline void small_push(cgc_pool *p, pool_desc *pl, block *b)
{
    uint32_t before = pl->nused;
    b->next = pl->free;
    pl->free = b;
    pl->nused = before - 1;
    p->cls[pl->cls].inuse--;
    /* one compare for "was full" (before == capacity) or "now empty"
       (before == 1): before - 2 wraps around when before is 1 */
    if (UNLIKELY(before - 2u >= (uint32_t)pl->capacity - 2u))
        pool_transition(p, pl, before);
}

static NOINLINE void dbg_release_small(cgc_pool *p, pool_desc *pl, void *ptr)
{
    small_push(p, pl, dbg_on_release(p, pl, ptr));
}

CGC_API void cgc_pool_release(cgc_pool *p, void *ptr)
{
    arena *a;
    if (UNLIKELY(p == NULL))
        return;
    a = radix_get(p, (uintptr_t)ptr);
    if (LIKELY(a != NULL)) {
        pool_desc *pl = &a->pools[((uintptr_t)ptr >> POOL_SHIFT) & (POOLS_PER_ARENA - 1)];
        if (UNLIKELY(p->debug))
            dbg_release_small(p, pl, ptr);
        else
            small_push(p, pl, ptr);
        return;
    }
    if (ptr != NULL)
        large_release(p, ptr);
}

CGC_API int cgc_pool_get_stats(const cgc_pool *p, cgc_pool_stats *out)
{
    size_t c, blocks = 0, bytes = 0;
    if (p == NULL || out == NULL)
        return CGC_EINVAL;
    for (c = 0; c < NCLASSES; c++) {
        blocks += p->cls[c].inuse;
        bytes += p->cls[c].inuse * CLASS_SIZE(c);
    }
    out->bytes_mapped = p->narenas * ARENA_SIZE;
    out->bytes_in_use = bytes;
    out->blocks_in_use = blocks;
    out->arenas = p->narenas;
    out->large_in_use = p->nlarge;
    return CGC_OK;
}

/* Unmaps the cached free arena and decommits the free pools of the arenas in
   use that were touched since they were mapped or last decommitted.  Returns
   the bytes unmapped plus the bytes decommitted. */
CGC_API size_t cgc_pool_trim(cgc_pool *p)
{
    size_t n = 0;
    if (p == NULL)
        return 0;
    while (p->cached != NULL) {
        arena *a = p->cached;
        p->cached = a->next;
        p->ncached--;
        arena_free(p, a);
        n += ARENA_SIZE;
    }
#if POOL_HAVE_MMAP && defined(MADV_DONTNEED)
    for (arena *a = p->all; a != NULL; a = a->anext) {
        uint64_t m = a->freemask & a->dirtymask;
        while (m != 0) {
            unsigned i = ctz64(m), len, k = p->page_pools, lo, hi;
            uint64_t rest = ~(m >> i), run, done;
            len = rest == 0 ? POOLS_PER_ARENA - i : ctz64(rest);
            run = (len == 64 ? ~(uint64_t)0 : (((uint64_t)1 << len) - 1)) << i;
            m &= ~run;
            /* madvise works on whole pages: with pages larger than a pool,
               decommit only the pages that hold nothing but free pools. */
            lo = (i + k - 1) / k * k;
            hi = (i + len) / k * k;
            if (hi <= lo)
                continue;
            done = (hi - lo == 64 ? ~(uint64_t)0 : (((uint64_t)1 << (hi - lo)) - 1)) << lo;
            if (madvise((void *)(a->base + ((uintptr_t)lo << POOL_SHIFT)),
                        (size_t)(hi - lo) << POOL_SHIFT, MADV_DONTNEED) == 0) {
                a->dirtymask &= ~done;
                n += (size_t)(hi - lo) << POOL_SHIFT;
            }
        }
    }
#endif
    return n;
}

/* ---------------------------------------------------------------- */
/* The pool as a heap's block allocator                              */
/* ---------------------------------------------------------------- */

static void *blockalloc_alloc(void *ctx, size_t size)
{
    return cgc_pool_alloc(ctx, size);
}

static void blockalloc_release(void *ctx, void *ptr)
{
    cgc_pool_release(ctx, ptr);
}

static void blockalloc_destroy(void *ctx)
{
    cgc_pool_destroy(ctx);
}

int cgc__pool_blockalloc_init(cgc_blockalloc *out)
{
    cgc_pool *p = cgc_pool_new();
    if (p == NULL)
        return CGC_ENOMEM;
    out->ctx = p;
    out->alloc = blockalloc_alloc;
    out->release = blockalloc_release;
    out->destroy = blockalloc_destroy;
    return CGC_OK;
}
