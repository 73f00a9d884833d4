/*
 * alloc.c -- the built-in block allocator behind every heap that names no
 * allocator of its own.
 *
 * For now it is malloc with a link in front of each block, so that
 * cgc_heap_free can hand back every block the heap ever gave out, as the
 * contract requires.  The pymalloc-style pool allocator (API.md section 7)
 * will replace it behind the same cgc_blockalloc interface.
 *
 *      +-----------------+------------------------------------+
 *      | next | prev     | block handed to the heap (16-byte  |
 *      | (16 bytes)      | aligned: header + host object)     |
 *      +-----------------+------------------------------------+
 */
#include <stdalign.h>
#include <stdlib.h>

#include "internal.h"

typedef struct link {
    struct link *next, *prev;
#if UINTPTR_MAX == 0xffffffffu
    void *pad_[2];
#endif
} link;

_Static_assert(sizeof(link) == 16, "the block link keeps 16-byte alignment");

typedef struct sysalloc {
    link all;                           /* every block handed out */
} sysalloc;

static void *raw_alloc(size_t size)
{
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
    if (alignof(max_align_t) < 16)
        return aligned_alloc(16, (size + 15) & ~(size_t)15);
#endif
    return malloc(size);
}

static void *sys_alloc(void *ctx, size_t size)
{
    sysalloc *a = ctx;
    link *l;
    if (size > SIZE_MAX - sizeof(link))
        return NULL;
    l = raw_alloc(sizeof(link) + size);
    if (l == NULL)
        return NULL;
    l->next = a->all.next;
    l->prev = &a->all;
    a->all.next->prev = l;
    a->all.next = l;
    return l + 1;
}

static void sys_release(void *ctx, void *ptr)
{
    link *l = (link *)ptr - 1;
    (void)ctx;
    l->prev->next = l->next;
    l->next->prev = l->prev;
    free(l);
}

static void sys_destroy(void *ctx)
{
    sysalloc *a = ctx;
    link *l = a->all.next;
    while (l != &a->all) {
        link *next = l->next;
        free(l);
        l = next;
    }
    free(a);
}

int cgc_default_alloc_init(cgc_blockalloc *out)
{
    sysalloc *a = malloc(sizeof *a);
    if (a == NULL)
        return CGC_ENOMEM;
    a->all.next = a->all.prev = &a->all;
    out->ctx = a;
    out->alloc = sys_alloc;
    out->release = sys_release;
    out->destroy = sys_destroy;
    return CGC_OK;
}
