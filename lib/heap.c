/*
 * heap.c -- heaps, objects, generations, thresholds and scheduling.
 *
 * A heap owns three generation lists and a permanent one (internal.h draws
 * the object header).  Allocation counts toward generation 0; when a count
 * passes its threshold an automatic collection runs, or, with CGC_DEFERRED,
 * is left pending for cgc_collect_if_pending.  The algorithm itself lives in
 * collect.c.
 */
#include <limits.h>
#include <stdlib.h>

#include "internal.h"
#include "pool.h"

static const int default_thresholds[NUM_GENERATIONS] = { 700, 10, 10 };

/* ---------------------------------------------------------------- */
/* Counts: written by the owner, readable from any thread            */
/* ---------------------------------------------------------------- */

static long count_get(const cgc_heap *h, int gen)
{
    return (long)(intptr_t)cgc_atomic_load(&h->count[gen]);
}

void cgc__count_set(cgc_heap *h, int gen, long value)
{
    cgc_atomic_store(&h->count[gen], (AO_t)(intptr_t)value);
}

void cgc__count_add(cgc_heap *h, int gen, long delta)
{
    cgc__count_set(h, gen, count_get(h, gen) + delta);
}

/* ---------------------------------------------------------------- */
/* Creating and destroying a heap                                    */
/* ---------------------------------------------------------------- */

static int config_is_valid(const cgc_config *cfg)
{
    const cgc_host_ops *ops;
    int i;
    if (cfg == NULL || (ops = cfg->ops) == NULL)
        return 0;
    if (ops->traverse == NULL || ops->clear == NULL || ops->decref == NULL)
        return 0;
    if (ops->refcnt_width != 4 && ops->refcnt_width != 8)
        return 0;
    for (i = 0; i < NUM_GENERATIONS; i++)
        if (cfg->thresholds[i] < 0)
            return 0;
    if (cfg->flags & ~(unsigned)CGC_DEFERRED)
        return 0;
    if (cfg->allocator != NULL && (cfg->allocator->malloc == NULL || cfg->allocator->free == NULL))
        return 0;
    return 1;
}

/* Pool debug reports (double free, overflow) are host bugs too. */
static void pool_report(void *ctx, const char *msg)
{
    cgc__fatal_msg(ctx, msg);
}

cgc_heap *cgc_heap_new(const cgc_config *cfg)
{
    cgc_heap *h;
    int i, all_zero = 1;

    if (!config_is_valid(cfg))
        return NULL;
    h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->ops = *cfg->ops;
    if (cfg->allocator != NULL) {
        h->mem.ctx = cfg->allocator->ctx;
        h->mem.alloc = cfg->allocator->malloc;
        h->mem.release = cfg->allocator->free;
        h->mem.destroy = NULL;
        h->host_allocator = 1;
    } else if (cgc__pool_blockalloc_init(&h->mem) != CGC_OK) {
        free(h);
        return NULL;
    } else {
        cgc__pool_set_report(h->mem.ctx, pool_report, h);
    }
    for (i = 0; i < NUM_GENERATIONS; i++) {
        list_init(&h->gen[i]);
        if (cfg->thresholds[i] != 0)
            all_zero = 0;
    }
    for (i = 0; i < NUM_GENERATIONS; i++)
        h->threshold[i] = all_zero ? default_thresholds[i] : cfg->thresholds[i];
    list_init(&h->permanent);
    h->flags = cfg->flags;
    h->enabled = 1;
    cgc__apply_env(h);
    return h;
}

void cgc_heap_free(cgc_heap *h)
{
    if (h == NULL)
        return;
    if (cgc_atomic_load(&h->collecting) || h->walking || h->trash_depth > 0 || h->trash_draining)
        cgc__fatal(h, "cgc_heap_free called while this heap is collecting, walking its "
                      "objects or running a dealloc bracketed by the trashcan", NULL);
    if (h->mem.destroy != NULL)
        h->mem.destroy(h->mem.ctx);
    free(h->callbacks);
    free(h->garbage);
    free(h);
}

cgc_pool *cgc_heap_pool(cgc_heap *h)
{
    return h == NULL || h->host_allocator ? NULL : h->mem.ctx;
}

/* ---------------------------------------------------------------- */
/* Objects                                                           */
/* ---------------------------------------------------------------- */

size_t cgc_header_size(void)
{
    return CGC_HDR_SIZE;
}

/* Would an allocation now start an automatic collection? */
static int threshold_reached(const cgc_heap *h)
{
    return h->enabled && h->threshold[0] != 0 && count_get(h, 0) > h->threshold[0];
}

void *cgc_alloc(cgc_heap *h, size_t size)
{
    cgc_hdr *g;
    if (h == NULL || size > SIZE_MAX - CGC_HDR_SIZE)
        return NULL;
    /* The built-in pool is called directly: one indirect call less. */
    g = h->host_allocator ? h->mem.alloc(h->mem.ctx, size + CGC_HDR_SIZE)
                          : cgc_pool_alloc(h->mem.ctx, size + CGC_HDR_SIZE);
    if (g == NULL)
        return NULL;
    g->next = 0;
    g->prev = 0;
    cgc__count_add(h, 0, 1);
    if (threshold_reached(h) && !cgc_atomic_load(&h->collecting)) {
        if ((h->flags & CGC_DEFERRED) || h->walking)
            h->pending = 1;
        else
            cgc__collect_generations(h);
    }
    return OBJ(g);
}

void cgc_free(cgc_heap *h, void *obj)
{
    long c0;
    if (h == NULL || obj == NULL)
        return;
    hdr_untrack(HDR(obj));
    c0 = count_get(h, 0);
    if (c0 > 0)
        cgc__count_set(h, 0, c0 - 1);
    if (h->host_allocator)
        h->mem.release(h->mem.ctx, HDR(obj));
    else
        cgc_pool_release(h->mem.ctx, HDR(obj));
}

int cgc_track(cgc_heap *h, void *obj)
{
    if (h == NULL || obj == NULL || hdr_is_tracked(HDR(obj)))
        return CGC_EINVAL;
    list_append(HDR(obj), &h->gen[0]);
    return CGC_OK;
}

void cgc_untrack(cgc_heap *h, void *obj)
{
    (void)h;
    if (obj != NULL)
        hdr_untrack(HDR(obj));
}

int cgc_is_tracked(const void *obj)
{
    return obj != NULL && hdr_is_tracked(HDR(obj));
}

int cgc_is_finalized(const void *obj)
{
    return obj != NULL && hdr_is_finalized(HDR(obj));
}

/* ---------------------------------------------------------------- */
/* Collecting                                                        */
/* ---------------------------------------------------------------- */

static int may_collect(const cgc_heap *h)
{
    return !cgc_atomic_load(&h->collecting) && h->walking == 0;
}

long cgc_collect(cgc_heap *h, int generation)
{
    if (h == NULL || generation < -1 || generation >= NUM_GENERATIONS)
        return CGC_EINVAL;
    if (generation == -1)
        generation = NUM_GENERATIONS - 1;
    if (!may_collect(h))
        return 0;
    return cgc__collect_main(h, generation);
}

/*
 * Pick the oldest generation whose count exceeds its threshold, and collect
 * it; a full collection waits until the objects promoted into generation 2
 * since the last one reach 25% of those that survived it.  Returns -1 when
 * no generation qualifies.
 */
static int choose_generation(const cgc_heap *h)
{
    for (int i = NUM_GENERATIONS - 1; i >= 0; i--) {
        if (count_get(h, i) > h->threshold[i]) {
            if (i == NUM_GENERATIONS - 1 && h->long_lived_pending < h->long_lived_total / 4)
                continue;
            return i;
        }
    }
    return -1;
}

long cgc__collect_generations(cgc_heap *h)
{
    int gen = choose_generation(h);
    return gen < 0 ? 0 : cgc__collect_main(h, gen);
}

long cgc_collect_if_pending(cgc_heap *h)
{
    int requested, pending, gen;
    if (h == NULL)
        return CGC_EINVAL;
    if (!may_collect(h))
        return 0;
    requested = cgc_atomic_take(&h->requested);
    pending = h->pending && threshold_reached(h);
    h->pending = 0;
    if (!requested && !pending)
        return 0;
    gen = choose_generation(h);
    if (gen < 0)
        gen = 0;
    return cgc__collect_main(h, gen);
}

void cgc_request_collection(cgc_heap *h)
{
    if (h != NULL)
        cgc_atomic_store_rel(&h->requested, 1);
}

int cgc_is_collecting(const cgc_heap *h)
{
    return h != NULL && cgc_atomic_load(&h->collecting) != 0;
}

/* ---------------------------------------------------------------- */
/* Tuning                                                            */
/* ---------------------------------------------------------------- */

void cgc_enable(cgc_heap *h)
{
    if (h != NULL)
        h->enabled = 1;
}

void cgc_disable(cgc_heap *h)
{
    if (h != NULL)
        h->enabled = 0;
}

int cgc_is_enabled(const cgc_heap *h)
{
    return h != NULL && h->enabled;
}

int cgc_set_threshold(cgc_heap *h, int t0, int t1, int t2)
{
    if (h == NULL || t0 < 0 || t1 < 0 || t2 < 0)
        return CGC_EINVAL;
    h->threshold[0] = t0;
    h->threshold[1] = t1;
    h->threshold[2] = t2;
    return CGC_OK;
}

void cgc_get_threshold(const cgc_heap *h, int out[3])
{
    if (h == NULL || out == NULL)
        return;
    for (int i = 0; i < NUM_GENERATIONS; i++)
        out[i] = h->threshold[i];
}

void cgc_get_count(const cgc_heap *h, int out[3])
{
    if (h == NULL || out == NULL)
        return;
    for (int i = 0; i < NUM_GENERATIONS; i++) {
        long c = count_get(h, i);
        out[i] = c > INT_MAX ? INT_MAX : (int)c;
    }
}

void cgc_freeze(cgc_heap *h)
{
    if (h == NULL)
        return;
    for (int i = 0; i < NUM_GENERATIONS; i++) {
        list_merge(&h->gen[i], &h->permanent);
        cgc__count_set(h, i, 0);
    }
    if (h->walk_todo != NULL) {         /* called from a cgc_get_objects callback */
        list_merge(h->walk_seen, &h->permanent);
        list_merge(h->walk_todo, &h->permanent);
    }
}

void cgc_unfreeze(cgc_heap *h)
{
    if (h != NULL)
        list_merge(&h->permanent, &h->gen[NUM_GENERATIONS - 1]);
}

size_t cgc_get_freeze_count(const cgc_heap *h)
{
    return h == NULL ? 0 : list_size(&h->permanent);
}
