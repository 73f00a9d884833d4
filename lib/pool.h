/*
 * pool.h -- the built-in pool allocator as seen from inside the library.
 *
 * The public half (cgc_pool_new, cgc_pool_alloc, ...) is declared in
 * cyclegc.h; this header adds what the heap needs to
 * use a pool as its block allocator.  A heap owns one pool and uses it under
 * the heap's one-thread rule.
 */
#ifndef CGC_POOL_H
#define CGC_POOL_H

#include "internal.h"

/* Create a pool and fill out with it: alloc and release are cgc_pool_alloc
   and cgc_pool_release, destroy is cgc_pool_destroy, ctx is the pool (so
   cgc_heap_pool can return (cgc_pool *)h->mem.ctx when !h->host_allocator).
   CGC_OK or CGC_ENOMEM (out untouched). */
int cgc__pool_blockalloc_init(cgc_blockalloc *out);

/* Where debug-mode reports go (double free, overflow, bad pointer).  fn gets
   one line naming the block address and its size class; if it returns, the
   pool aborts.  fn NULL restores the default: the line on stderr, then
   abort().  The heap connects this to its fatal handler. */
void cgc__pool_set_report(cgc_pool *p, void (*fn)(void *ctx, const char *msg), void *ctx);

#endif /* CGC_POOL_H */
