/*
 * trashcan.c -- freeing chains of any length in bounded stack.
 *
 * A host's dealloc releases its children, whose deallocs release theirs:
 * a chain of N objects nests N calls deep.  The host brackets its dealloc
 * body with cgc_trashcan_begin/end.  Past CGC_TRASHCAN_DEPTH nested bodies,
 * begin untracks the object, queues it and answers 0 (return at once); when
 * the outermost body ends, the queue is drained by calling ops->dealloc on
 * each object, whose own nesting starts again from one.  A chain of N
 * objects thus runs in pieces of at most CGC_TRASHCAN_DEPTH frames.
 *
 * The queue is threaded through the prev word of the (untracked) headers,
 * so queuing never allocates.  (CPython's trashcan works the same way.)
 */
#include "internal.h"

int cgc_trashcan_begin(cgc_heap *h, void *obj)
{
    cgc_hdr *g;
    if (h == NULL)
        return 1;                       /* nothing to count: cgc_trashcan_end(NULL) is a no-op */
    if (obj == NULL || h->trash_depth < CGC_TRASHCAN_DEPTH || h->ops.dealloc == NULL) {
        h->trash_depth++;
        return 1;
    }
    g = HDR(obj);
    hdr_untrack(g);
    g->prev = (uintptr_t)h->trash_head | (g->prev & PREV_FINALIZED);
    h->trash_head = g;
    return 0;
}

void cgc_trashcan_end(cgc_heap *h)
{
    if (h == NULL || h->trash_depth == 0)
        return;
    if (h->trash_depth > 1 || h->trash_draining) {
        h->trash_depth--;
        return;
    }
    /* The outermost body ends: run the deferred deallocs, each at depth 1
       again (this frame still counts as the one level in use). */
    h->trash_draining = 1;
    h->trash_depth = 0;
    while (h->trash_head != NULL) {
        cgc_hdr *g = h->trash_head;
        h->trash_head = hdr_prev(g);
        g->prev &= PREV_FINALIZED;
        h->ops.dealloc(OBJ(g));
    }
    h->trash_draining = 0;
}
