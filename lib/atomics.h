/*
 * atomics.h -- the one place cyclegc includes libatomic_ops.
 *
 * The collector itself is single-threaded (a heap belongs to one thread at a
 * time).  Four entry points may be called from any thread: they read or set
 * words through the AO_ primitives below, and the owner thread writes those
 * same words through them too.  Nothing else in lib/ touches atomic_ops.h.
 */
#ifndef CGC_ATOMICS_H
#define CGC_ATOMICS_H

#include <atomic_ops.h>

#if !defined(AO_HAVE_load) || !defined(AO_HAVE_store)
#error "libatomic_ops lacks AO_load/AO_store on this target"
#endif

typedef AO_t cgc_atomic_word;

/* Plain (relaxed) atomic load/store: no tearing, no ordering. */
#define cgc_atomic_load(p)        AO_load(p)
#define cgc_atomic_store(p, v)    AO_store((p), (AO_t)(v))
/* Publish / observe with ordering. */
#define cgc_atomic_load_acq(p)    AO_load_acquire(p)
#define cgc_atomic_store_rel(p, v) AO_store_release((p), (AO_t)(v))

/* Take a flag: returns 1 if it was set (and clears it), 0 otherwise. */
static inline int cgc_atomic_take(volatile AO_t *p)
{
#if defined(AO_HAVE_fetch_compare_and_swap_full)
    return AO_fetch_compare_and_swap_full(p, 1, 0) == 1;
#else
    return AO_compare_and_swap_full(p, 1, 0) != 0;
#endif
}

/* A write barrier between the two halves of a seqlock update. */
#define cgc_atomic_fence()        AO_nop_full()

#endif /* CGC_ATOMICS_H */
