/*
 * check_pool.c -- the built-in pool allocator (API.md section 7), through
 * its public interface only.
 *
 * The debug-mode cases run the failing operation in a child process of
 * their own (fork), with the child's stderr captured, and check that it
 * aborted with a report naming the block and its size class.
 *
 * A few cases look at addresses: that blocks are 16-byte aligned, and, for
 * the arena-ordering case, which 1 MiB arena and 16 KiB pool a block lies
 * in (pool.c documents both alignments).
 */
#if !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE 1
#endif

#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cyclegc.h"

#define MiB ((size_t)1 << 20)
#define POOL_BYTES ((size_t)16384)

/* Check records every passing ck_assert (one write to its log each), so
   loops use these instead: silent on success. */
#define REQUIRE(cond)                                                        \
    do {                                                                     \
        if (!(cond))                                                         \
            ck_abort_msg("%s:%d: assertion '%s' failed", __FILE__, __LINE__, \
                         #cond);                                             \
    } while (0)
#define REQUIRE_EQ(a, b)                                                     \
    do {                                                                     \
        uintmax_t a_ = (uintmax_t)(a), b_ = (uintmax_t)(b);                  \
        if (a_ != b_)                                                        \
            ck_abort_msg("%s:%d: %s == %ju, expected %s == %ju", __FILE__,   \
                         __LINE__, #a, a_, #b, b_);                          \
    } while (0)

static size_t round16(size_t n)
{
    return n == 0 ? 16 : (n + 15) & ~(size_t)15;
}

static cgc_pool_stats stats(const cgc_pool *p)
{
    cgc_pool_stats s;
    REQUIRE(cgc_pool_get_stats(p, &s) == CGC_OK);
    return s;
}

static cgc_pool *new_pool(void)
{
    cgc_pool *p = cgc_pool_new();
    ck_assert_ptr_nonnull(p);
    return p;
}

/* The tests' own generator: fixed seeds, reproducible. */
static uint64_t rng(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static void fill(void *ptr, size_t n, unsigned char tag)
{
    memset(ptr, tag, n);
}

static void check_fill(const void *ptr, size_t n, unsigned char tag)
{
    const unsigned char *c = ptr;
    for (size_t i = 0; i < n; i++)
        if (c[i] != tag)
            ck_abort_msg("block %p byte %zu is 0x%02x, expected 0x%02x", ptr, i, c[i], tag);
}

/* ------------------------------------------------------------------ */
/* Basics                                                               */
/* ------------------------------------------------------------------ */

START_TEST(test_new_destroy)
{
    cgc_pool *p = new_pool();
    cgc_pool_stats s = stats(p);
    ck_assert_uint_eq(s.bytes_mapped, 0);
    ck_assert_uint_eq(s.bytes_in_use, 0);
    ck_assert_uint_eq(s.blocks_in_use, 0);
    ck_assert_uint_eq(s.arenas, 0);
    ck_assert_uint_eq(s.large_in_use, 0);
    cgc_pool_destroy(p);
    cgc_pool_destroy(NULL);
}
END_TEST

START_TEST(test_bad_arguments)
{
    cgc_pool *p = new_pool();
    cgc_pool_stats s;
    ck_assert_int_eq(cgc_pool_get_stats(NULL, &s), CGC_EINVAL);
    ck_assert_int_eq(cgc_pool_get_stats(p, NULL), CGC_EINVAL);
    ck_assert_uint_eq(cgc_pool_trim(NULL), 0);
    cgc_pool_release(p, NULL);              /* no-op */
    s = stats(p);
    ck_assert_uint_eq(s.blocks_in_use + s.large_in_use, 0);
    cgc_pool_destroy(p);
}
END_TEST

/* Every size from 0 to 1024: non-NULL, 16-byte aligned, writable in full,
   distinct; contents survive the other allocations; all come back. */
START_TEST(test_every_size_aligned)
{
    enum { MAX = 1024 };
    cgc_pool *p = new_pool();
    static void *ptr[MAX + 1];
    size_t small_bytes = 0, small_blocks = 0, large = 0;
    for (size_t n = 0; n <= MAX; n++) {
        ptr[n] = cgc_pool_alloc(p, n);
        REQUIRE(ptr[n] != NULL);
        REQUIRE_EQ((uintptr_t)ptr[n] % 16, 0);
        fill(ptr[n], n, (unsigned char)n);
        if (n <= 512) {
            small_blocks++;
            small_bytes += round16(n);
        } else {
            large++;
        }
    }
    cgc_pool_stats s = stats(p);
    ck_assert_uint_eq(s.blocks_in_use, small_blocks);
    ck_assert_uint_eq(s.bytes_in_use, small_bytes);
    ck_assert_uint_eq(s.large_in_use, large);
    for (size_t n = 0; n <= MAX; n++)
        check_fill(ptr[n], n, (unsigned char)n);
    for (size_t n = 0; n <= MAX; n += 2)
        cgc_pool_release(p, ptr[n]);
    for (size_t n = 1; n <= MAX; n += 2)
        cgc_pool_release(p, ptr[n]);
    s = stats(p);
    ck_assert_uint_eq(s.blocks_in_use, 0);
    ck_assert_uint_eq(s.bytes_in_use, 0);
    ck_assert_uint_eq(s.large_in_use, 0);
    cgc_pool_destroy(p);
}
END_TEST

START_TEST(test_size_zero_unique)
{
    cgc_pool *p = new_pool();
    void *a = cgc_pool_alloc(p, 0), *b = cgc_pool_alloc(p, 0), *c = cgc_pool_alloc(p, 1);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_ne(a, b);
    ck_assert_ptr_ne(a, c);
    ck_assert_ptr_ne(b, c);
    cgc_pool_stats s = stats(p);
    ck_assert_uint_eq(s.blocks_in_use, 3);
    ck_assert_uint_eq(s.bytes_in_use, 48);
    cgc_pool_release(p, a);
    cgc_pool_release(p, b);
    cgc_pool_release(p, c);
    ck_assert_uint_eq(stats(p).blocks_in_use, 0);
    cgc_pool_destroy(p);
}
END_TEST

/* Class boundaries: n and n+1 around each multiple of 16. */
START_TEST(test_class_rounding)
{
    cgc_pool *p = new_pool();
    for (size_t k = 16; k <= 512; k += 16) {
        void *a = cgc_pool_alloc(p, k), *b = cgc_pool_alloc(p, k + 1);
        cgc_pool_stats s = stats(p);
        REQUIRE_EQ(s.bytes_in_use, k + (k + 1 <= 512 ? k + 16 : 0));
        REQUIRE_EQ(s.blocks_in_use, k + 1 <= 512 ? 2 : 1);
        REQUIRE_EQ(s.large_in_use, k + 1 <= 512 ? 0 : 1);
        cgc_pool_release(p, a);
        cgc_pool_release(p, b);
    }
    cgc_pool_destroy(p);
}
END_TEST

/* Random sequences of allocations and releases, sizes 0..1100, checked
   against a shadow count after every step; blocks carry a tag checked on
   release, so overlapping blocks would be caught. */
START_TEST(test_stats_shadow_random)
{
    enum { SLOTS = 6000, STEPS = 150000 };
    cgc_pool *p = new_pool();
    void **ptr = calloc(SLOTS, sizeof *ptr);
    size_t *len = calloc(SLOTS, sizeof *len);
    size_t blocks = 0, bytes = 0, large = 0;
    uint64_t seed = 42 + (uint64_t)_i;
    ck_assert_ptr_nonnull(ptr);
    ck_assert_ptr_nonnull(len);
    for (int step = 0; step < STEPS; step++) {
        size_t i = (size_t)(rng(&seed) % SLOTS);
        if (ptr[i] == NULL) {
            uint64_t r = rng(&seed);
            size_t n = r % 100 < 90 ? (size_t)(r >> 8) % 513 : (size_t)(r >> 8) % 1101;
            ptr[i] = cgc_pool_alloc(p, n);
            REQUIRE(ptr[i] != NULL);
            REQUIRE_EQ((uintptr_t)ptr[i] % 16, 0);
            len[i] = n;
            fill(ptr[i], n < 32 ? n : 32, (unsigned char)i);
            if (n <= 512) {
                blocks++;
                bytes += round16(n);
            } else {
                large++;
            }
        } else {
            size_t n = len[i];
            check_fill(ptr[i], n < 32 ? n : 32, (unsigned char)i);
            cgc_pool_release(p, ptr[i]);
            ptr[i] = NULL;
            if (n <= 512) {
                blocks--;
                bytes -= round16(n);
            } else {
                large--;
            }
        }
        cgc_pool_stats s = stats(p);
        REQUIRE_EQ(s.blocks_in_use, blocks);
        REQUIRE_EQ(s.bytes_in_use, bytes);
        REQUIRE_EQ(s.large_in_use, large);
        REQUIRE_EQ(s.bytes_mapped, s.arenas * MiB);
        REQUIRE(s.bytes_mapped >= bytes);
    }
    for (size_t i = 0; i < SLOTS; i++)
        cgc_pool_release(p, ptr[i]);
    cgc_pool_stats s = stats(p);
    ck_assert_uint_eq(s.blocks_in_use, 0);
    ck_assert_uint_eq(s.bytes_in_use, 0);
    ck_assert_uint_eq(s.large_in_use, 0);
    ck_assert_uint_le(s.arenas, 1);
    free(ptr);
    free(len);
    cgc_pool_destroy(p);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Returning memory                                                     */
/* ------------------------------------------------------------------ */

/* About 40 MiB of small blocks, then all freed: the arenas go back to the
   OS except one cached, and trim returns that one. */
START_TEST(test_bytes_mapped_falls)
{
    enum { N = 400000 };
    cgc_pool *p = new_pool();
    void **ptr = malloc(N * sizeof *ptr);
    uint64_t seed = 7;
    ck_assert_ptr_nonnull(ptr);
    for (size_t i = 0; i < N; i++) {
        ptr[i] = cgc_pool_alloc(p, 16 + (size_t)(rng(&seed) % 177));
        REQUIRE(ptr[i] != NULL);
    }
    cgc_pool_stats full = stats(p);
    ck_assert_uint_ge(full.arenas, 20);
    ck_assert_uint_eq(full.bytes_mapped, full.arenas * MiB);
    /* free in a shuffled order */
    for (size_t i = N - 1; i > 0; i--) {
        size_t j = (size_t)(rng(&seed) % (i + 1));
        void *t = ptr[i];
        ptr[i] = ptr[j];
        ptr[j] = t;
    }
    for (size_t i = 0; i < N / 2; i++)
        cgc_pool_release(p, ptr[i]);
    cgc_pool_stats half = stats(p);
    ck_assert_uint_le(half.bytes_mapped, full.bytes_mapped);
    for (size_t i = N / 2; i < N; i++)
        cgc_pool_release(p, ptr[i]);
    cgc_pool_stats none = stats(p);
    ck_assert_uint_lt(none.bytes_mapped, full.bytes_mapped);
    ck_assert_uint_le(none.arenas, 1);           /* at most one cached */
    ck_assert_uint_eq(none.blocks_in_use, 0);
    ck_assert_uint_eq(cgc_pool_trim(p), none.arenas * MiB);
    cgc_pool_stats trimmed = stats(p);
    ck_assert_uint_eq(trimmed.bytes_mapped, 0);
    ck_assert_uint_eq(trimmed.arenas, 0);
    ck_assert_uint_eq(cgc_pool_trim(p), 0);
    /* and the pool still works */
    void *q = cgc_pool_alloc(p, 100);
    ck_assert_ptr_nonnull(q);
    ck_assert_uint_ge(stats(p).arenas, 1);
    cgc_pool_release(p, q);
    free(ptr);
    cgc_pool_destroy(p);
}
END_TEST

/* An arena emptied and refilled over and over is cached, not remapped:
   the arena count stays at one. */
START_TEST(test_empty_arena_cached)
{
    cgc_pool *p = new_pool();
    for (int round = 0; round < 1000; round++) {
        void *a = cgc_pool_alloc(p, 48), *b = cgc_pool_alloc(p, 200);
        REQUIRE(a != NULL && b != NULL);
        cgc_pool_release(p, a);
        cgc_pool_release(p, b);
        cgc_pool_stats s = stats(p);
        REQUIRE_EQ(s.arenas, 1);
        REQUIRE_EQ(s.blocks_in_use, 0);
    }
    ck_assert_uint_eq(cgc_pool_trim(p), MiB);
    ck_assert_uint_eq(stats(p).bytes_mapped, 0);
    cgc_pool_destroy(p);
}
END_TEST

/* Trim also gives back free pools inside arenas still in use; the memory
   is usable again afterwards. */
START_TEST(test_trim_partial_arenas)
{
    enum { N = 60000 };
    cgc_pool *p = new_pool();
    void **ptr = malloc(N * sizeof *ptr);
    ck_assert_ptr_nonnull(ptr);
    for (size_t i = 0; i < N; i++) {
        ptr[i] = cgc_pool_alloc(p, 64);
        REQUIRE(ptr[i] != NULL);
        fill(ptr[i], 64, 0x5a);
    }
    /* keep one block in 1024: every arena keeps some pools in use */
    for (size_t i = 0; i < N; i++) {
        if (i % 1024 != 0) {
            cgc_pool_release(p, ptr[i]);
            ptr[i] = NULL;
        }
    }
    cgc_pool_stats before = stats(p);
    size_t back = cgc_pool_trim(p);
    cgc_pool_stats after = stats(p);
    ck_assert_uint_gt(back, 0);
    ck_assert_uint_eq(back % POOL_BYTES, 0);
    ck_assert_uint_eq(after.blocks_in_use, before.blocks_in_use);
    ck_assert_uint_eq(before.bytes_mapped - after.bytes_mapped,
                      (before.arenas - after.arenas) * MiB);
    for (size_t i = 0; i < N; i += 1024)
        check_fill(ptr[i], 64, 0x5a);           /* blocks in use are untouched */
    ck_assert_uint_eq(cgc_pool_trim(p), 0);    /* nothing left to return */
    for (size_t i = 0; i < N; i++) {
        if (ptr[i] == NULL) {
            ptr[i] = cgc_pool_alloc(p, 64);
            REQUIRE(ptr[i] != NULL);
            fill(ptr[i], 64, 0x77);
        }
    }
    for (size_t i = 0; i < N; i++)
        cgc_pool_release(p, ptr[i]);
    ck_assert_uint_eq(stats(p).blocks_in_use, 0);
    free(ptr);
    cgc_pool_destroy(p);
}
END_TEST

/* New pools come from the fullest arena that has a free pool. */
START_TEST(test_fullest_arena_first)
{
    enum { MAXB = 20000 };
    cgc_pool *p = new_pool();
    void **ptr = malloc(MAXB * sizeof *ptr);
    size_t n = 0;
    uintptr_t arenas[4];
    size_t narenas = 0;
    ck_assert_ptr_nonnull(ptr);
    /* fill blocks of 512 bytes until a fourth arena appears */
    while (narenas < 4) {
        REQUIRE(n < MAXB);
        ptr[n] = cgc_pool_alloc(p, 512);
        REQUIRE(ptr[n] != NULL);
        uintptr_t ar = (uintptr_t)ptr[n] >> 20;
        if (narenas == 0 || arenas[narenas - 1] != ar)
            arenas[narenas++] = ar;
        n++;
    }
    /* the first three are full; give back the fourth's only block */
    cgc_pool_release(p, ptr[--n]);
    uintptr_t A = arenas[0], B = arenas[1];
    /* free 40 whole pools of A and 3 whole pools of B (all their blocks) */
    uintptr_t poolsA[40], poolsB[3];
    size_t na = 0, nb = 0;
    for (size_t i = 0; i < n; i++) {
        uintptr_t ar = (uintptr_t)ptr[i] >> 20, pl = (uintptr_t)ptr[i] / POOL_BYTES;
        if (ar == A && na < 40 && (na == 0 || poolsA[na - 1] != pl))
            poolsA[na++] = pl;
        if (ar == B && nb < 3 && (nb == 0 || poolsB[nb - 1] != pl))
            poolsB[nb++] = pl;
    }
    for (size_t i = 0; i < n; i++) {
        uintptr_t pl = (uintptr_t)ptr[i] / POOL_BYTES;
        int drop = 0;
        for (size_t k = 0; k < na; k++)
            drop |= pl == poolsA[k];
        for (size_t k = 0; k < nb; k++)
            drop |= pl == poolsB[k];
        if (drop) {
            cgc_pool_release(p, ptr[i]);
            ptr[i] = NULL;
        }
    }
    /* the next three pools' worth of blocks come from B (3 free pools),
       then from A; never from the cached empty arena */
    size_t cap = (size_t)(n / (3 * 64));       /* blocks per pool */
    for (size_t i = 0; i < 3 * cap; i++) {
        void *q = cgc_pool_alloc(p, 512);
        REQUIRE(q != NULL);
        if (((uintptr_t)q >> 20) != B)
            ck_abort_msg("block %zu of the refill is not in arena B", i);
        ptr[n++] = q;
    }
    void *q = cgc_pool_alloc(p, 512);
    ck_assert_uint_eq((uintptr_t)q >> 20, A);
    ptr[n++] = q;
    for (size_t i = 0; i < n; i++)
        cgc_pool_release(p, ptr[i]);
    ck_assert_uint_eq(stats(p).blocks_in_use, 0);
    free(ptr);
    cgc_pool_destroy(p);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Large blocks                                                         */
/* ------------------------------------------------------------------ */

START_TEST(test_large_blocks)
{
    static const size_t sizes[] = { 513, 527, 528, 1000, 4096, 65536, 1u << 20, 3u << 20 };
    enum { K = sizeof sizes / sizeof sizes[0] };
    cgc_pool *p = new_pool();
    void *ptr[K];
    void *small = cgc_pool_alloc(p, 512);
    for (size_t i = 0; i < K; i++) {
        ptr[i] = cgc_pool_alloc(p, sizes[i]);
        ck_assert_ptr_nonnull(ptr[i]);
        ck_assert_uint_eq((uintptr_t)ptr[i] % 16, 0);
        fill(ptr[i], sizes[i], (unsigned char)(i + 1));
        cgc_pool_stats s = stats(p);
        ck_assert_uint_eq(s.large_in_use, i + 1);
        ck_assert_uint_eq(s.blocks_in_use, 1);
        ck_assert_uint_eq(s.bytes_in_use, 512);
    }
    for (size_t i = 0; i < K; i++)
        check_fill(ptr[i], sizes[i], (unsigned char)(i + 1));
    for (size_t i = K; i-- > 0;) {
        cgc_pool_release(p, ptr[i]);
        ck_assert_uint_eq(stats(p).large_in_use, i);
    }
    cgc_pool_release(p, small);
    ck_assert_uint_eq(stats(p).blocks_in_use, 0);
    cgc_pool_destroy(p);
}
END_TEST

START_TEST(test_huge_request_fails)
{
    cgc_pool *p = new_pool();
    ck_assert_ptr_null(cgc_pool_alloc(p, SIZE_MAX));
    ck_assert_ptr_null(cgc_pool_alloc(p, SIZE_MAX - 16));
    ck_assert_ptr_null(cgc_pool_alloc(p, SIZE_MAX / 2));
    cgc_pool_stats s = stats(p);
    ck_assert_uint_eq(s.large_in_use, 0);
    ck_assert_uint_eq(s.blocks_in_use, 0);
    cgc_pool_destroy(p);
}
END_TEST

/* Destroy with blocks still out returns everything (ASan's leak checker
   would report any large block left behind). */
START_TEST(test_destroy_with_live_blocks)
{
    cgc_pool *p = new_pool();
    for (size_t i = 0; i < 5000; i++)
        REQUIRE(cgc_pool_alloc(p, i % 700) != NULL);
    cgc_pool_stats s = stats(p);
    ck_assert_uint_gt(s.large_in_use, 0);
    ck_assert_uint_gt(s.arenas, 0);
    cgc_pool_destroy(p);
}
END_TEST

/* Two pools side by side: blocks go back to their own pool. */
START_TEST(test_two_pools)
{
    cgc_pool *p = new_pool(), *q = new_pool();
    void *a[1000], *b[1000];
    for (int i = 0; i < 1000; i++) {
        a[i] = cgc_pool_alloc(p, (size_t)(i % 600));
        b[i] = cgc_pool_alloc(q, (size_t)(i % 600));
        REQUIRE(a[i] != NULL && b[i] != NULL);
    }
    ck_assert_uint_eq(stats(p).blocks_in_use, stats(q).blocks_in_use);
    for (int i = 0; i < 1000; i++)
        cgc_pool_release(p, a[i]);
    ck_assert_uint_eq(stats(p).blocks_in_use, 0);
    ck_assert_uint_eq(stats(p).large_in_use, 0);
    ck_assert_uint_gt(stats(q).blocks_in_use, 0);
    for (int i = 0; i < 1000; i++)
        cgc_pool_release(q, b[i]);
    ck_assert_uint_eq(stats(q).blocks_in_use, 0);
    cgc_pool_destroy(p);
    cgc_pool_destroy(q);
}
END_TEST

/* LIFO reuse: a freed block is the next one handed out in its class. */
START_TEST(test_reuse)
{
    cgc_pool *p = new_pool();
    void *keep = cgc_pool_alloc(p, 40);
    void *a = cgc_pool_alloc(p, 40);
    cgc_pool_release(p, a);
    void *b = cgc_pool_alloc(p, 33);
    ck_assert_ptr_eq(a, b);
    cgc_pool_release(p, b);
    cgc_pool_release(p, keep);
    cgc_pool_destroy(p);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Debug mode (CYCLEGC_POOL_DEBUG=1), in child processes                 */
/* ------------------------------------------------------------------ */

typedef struct child_result {
    int signaled;
    int sig;
    int exited;
    int code;
    char err[4096];
} child_result;

/* Run fn in a child with CYCLEGC_POOL_DEBUG=1 and its stderr captured. */
static child_result run_child(void (*fn)(void))
{
    child_result r;
    int fds[2];
    pid_t pid;
    int status;
    size_t got = 0;
    memset(&r, 0, sizeof r);
    ck_assert_int_eq(pipe(fds), 0);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        close(fds[1]);
        setenv("CYCLEGC_POOL_DEBUG", "1", 1);
        fn();
        _exit(0);
    }
    close(fds[1]);
    for (;;) {
        ssize_t k = read(fds[0], r.err + got, sizeof r.err - 1 - got);
        if (k <= 0)
            break;
        got += (size_t)k;
        if (got == sizeof r.err - 1)
            break;
    }
    close(fds[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    r.signaled = WIFSIGNALED(status);
    r.sig = r.signaled ? WTERMSIG(status) : 0;
    r.exited = WIFEXITED(status);
    r.code = r.exited ? WEXITSTATUS(status) : 0;
    return r;
}

static void assert_report(const child_result *r, const char *what, const char *cls)
{
    ck_assert_msg(r->signaled && r->sig == SIGABRT,
                  "child did not abort (exited=%d code=%d sig=%d): %s",
                  r->exited, r->code, r->sig, r->err);
    ck_assert_msg(strstr(r->err, what) != NULL, "no '%s' in report: %s", what, r->err);
    ck_assert_msg(strstr(r->err, cls) != NULL, "no '%s' in report: %s", cls, r->err);
}

static char addr_text[64];

static void note_addr(const void *ptr)
{
    /* the address as the report prints it, passed back through the file
       system would be overkill: the child prints it first instead */
    snprintf(addr_text, sizeof addr_text, "%p", ptr);
    fprintf(stderr, "block=%s\n", addr_text);
}

/* The block address the child announced must appear in the report too. */
static void assert_names_block(const child_result *r)
{
    const char *b = strstr(r->err, "block=");
    char addr[64];
    size_t k = 0;
    ck_assert_ptr_nonnull(b);
    b += 6;
    while (b[k] != '\n' && b[k] != '\0' && k < sizeof addr - 1) {
        addr[k] = b[k];
        k++;
    }
    addr[k] = '\0';
    ck_assert_msg(strstr(b + k, addr) != NULL, "report does not name %s: %s", addr, r->err);
}

static void child_double_free(void)
{
    cgc_pool *p = cgc_pool_new();
    void *a = cgc_pool_alloc(p, 24);
    void *b = cgc_pool_alloc(p, 24);
    void *c = cgc_pool_alloc(p, 24);  /* keeps the pool in use */
    note_addr(a);
    cgc_pool_release(p, a);
    cgc_pool_release(p, b);
    cgc_pool_release(p, a);         /* reported here */
    cgc_pool_release(p, c);
    _exit(3);
}

START_TEST(test_debug_double_free)
{
    child_result r = run_child(child_double_free);
    assert_report(&r, "double free", "size class 32");
    assert_names_block(&r);
}
END_TEST

/* The block's pool went back to its arena in between: still found. */
static void child_double_free_empty_pool(void)
{
    cgc_pool *p = cgc_pool_new();
    void *keep = cgc_pool_alloc(p, 16);   /* another class: keeps the arena mapped */
    void *a = cgc_pool_alloc(p, 200);
    (void)keep;
    note_addr(a);
    cgc_pool_release(p, a);
    cgc_pool_release(p, a);         /* reported here */
    _exit(3);
}

START_TEST(test_debug_double_free_empty_pool)
{
    child_result r = run_child(child_double_free_empty_pool);
    assert_report(&r, "double free", "size class 208");
    assert_names_block(&r);
}
END_TEST

static void child_overflow(void)
{
    cgc_pool *p = cgc_pool_new();
    unsigned char *a = cgc_pool_alloc(p, 24);
    note_addr(a);
    a[24] = 1;                      /* one past the requested size */
    cgc_pool_release(p, a);
    _exit(3);
}

START_TEST(test_debug_overflow)
{
    child_result r = run_child(child_overflow);
    assert_report(&r, "overflow", "size class 32");
    assert_names_block(&r);
}
END_TEST

static void child_overflow_full_class(void)
{
    cgc_pool *p = cgc_pool_new();
    unsigned char *a = cgc_pool_alloc(p, 64);
    note_addr(a);
    a[64 + 3] = 1;                  /* into the guard bytes after the class */
    cgc_pool_release(p, a);
    _exit(3);
}

START_TEST(test_debug_overflow_guard)
{
    child_result r = run_child(child_overflow_full_class);
    assert_report(&r, "overflow", "size class 64");
    assert_names_block(&r);
}
END_TEST

static void child_large_double_free(void)
{
    cgc_pool *p = cgc_pool_new();
    void *a = cgc_pool_alloc(p, 2000);
    note_addr(a);
    cgc_pool_release(p, a);
    cgc_pool_release(p, a);
    _exit(3);
}

START_TEST(test_debug_large_double_free)
{
    child_result r = run_child(child_large_double_free);
    assert_report(&r, "double free", "large");
    assert_names_block(&r);
}
END_TEST

static void child_large_overflow(void)
{
    cgc_pool *p = cgc_pool_new();
    unsigned char *a = cgc_pool_alloc(p, 1000);
    note_addr(a);
    a[1000] = 0;
    cgc_pool_release(p, a);
    _exit(3);
}

START_TEST(test_debug_large_overflow)
{
    child_result r = run_child(child_large_overflow);
    assert_report(&r, "overflow", "large");
    assert_names_block(&r);
}
END_TEST

static void child_write_after_free(void)
{
    cgc_pool *p = cgc_pool_new();
    unsigned char *a = cgc_pool_alloc(p, 100);
    cgc_pool_alloc(p, 100);
    note_addr(a);
    cgc_pool_release(p, a);
    a[50] = 7;                      /* the pool's own mapped memory: no crash */
    cgc_pool_alloc(p, 100);         /* hands a out again: reported here */
    _exit(3);
}

START_TEST(test_debug_write_after_free)
{
    child_result r = run_child(child_write_after_free);
    assert_report(&r, "after it was freed", "size class 112");
    assert_names_block(&r);
}
END_TEST

static void child_interior_pointer(void)
{
    cgc_pool *p = cgc_pool_new();
    unsigned char *a = cgc_pool_alloc(p, 64);
    note_addr(a + 16);
    cgc_pool_release(p, a + 16);
    _exit(3);
}

START_TEST(test_debug_interior_pointer)
{
    child_result r = run_child(child_interior_pointer);
    assert_report(&r, "not the start of a block", "size class 64");
    assert_names_block(&r);
}
END_TEST

/* Fill patterns, exact statistics and a clean exit in debug mode. */
static void child_debug_patterns(void)
{
    cgc_pool *p = cgc_pool_new();
    cgc_pool_stats s;
    unsigned char *a = cgc_pool_alloc(p, 40), *b = cgc_pool_alloc(p, 700);
    unsigned char *keep = cgc_pool_alloc(p, 40);
    for (int i = 0; i < 40; i++)
        if (a[i] != 0xCD)
            _exit(10);
    for (int i = 0; i < 700; i++)
        if (b[i] != 0xCD)
            _exit(11);
    if (cgc_pool_get_stats(p, &s) != CGC_OK || s.blocks_in_use != 2 || s.bytes_in_use != 96 ||
        s.large_in_use != 1)
        _exit(12);
    cgc_pool_release(p, a);
    for (int i = 0; i < 40; i++)
        if (a[i] != 0xDD)           /* the pool's own memory, still mapped */
            _exit(13);
    cgc_pool_release(p, b);
    cgc_pool_release(p, keep);
    if (cgc_pool_get_stats(p, &s) != CGC_OK || s.blocks_in_use != 0 || s.large_in_use != 0)
        _exit(14);
    /* many blocks of every class, freed in reverse: no false report */
    void *many[3000];
    for (int i = 0; i < 3000; i++)
        if ((many[i] = cgc_pool_alloc(p, (size_t)(i % 600))) == NULL)
            _exit(15);
    for (int i = 3000; i-- > 0;)
        cgc_pool_release(p, many[i]);
    cgc_pool_destroy(p);
    _exit(0);
}

START_TEST(test_debug_patterns)
{
    child_result r = run_child(child_debug_patterns);
    ck_assert_msg(r.exited && r.code == 0, "child failed: exited=%d code=%d sig=%d: %s",
                  r.exited, r.code, r.sig, r.err);
}
END_TEST

/* ------------------------------------------------------------------ */

/* Under AddressSanitizer a huge malloc must return NULL, as it does
   without it, rather than abort (test_huge_request_fails). */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

static Suite *pool_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("basics");
    tcase_add_test(tc, test_new_destroy);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_every_size_aligned);
    tcase_add_test(tc, test_size_zero_unique);
    tcase_add_test(tc, test_class_rounding);
    tcase_add_loop_test(tc, test_stats_shadow_random, 0, 3);
    tcase_add_test(tc, test_reuse);
    tcase_add_test(tc, test_two_pools);
    suite_add_tcase(s, tc);

    tc = tcase_create("memory");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_bytes_mapped_falls);
    tcase_add_test(tc, test_empty_arena_cached);
    tcase_add_test(tc, test_trim_partial_arenas);
    tcase_add_test(tc, test_fullest_arena_first);
    suite_add_tcase(s, tc);

    tc = tcase_create("large");
    tcase_add_test(tc, test_large_blocks);
    tcase_add_test(tc, test_huge_request_fails);
    tcase_add_test(tc, test_destroy_with_live_blocks);
    suite_add_tcase(s, tc);

    tc = tcase_create("debug");
    tcase_add_test(tc, test_debug_double_free);
    tcase_add_test(tc, test_debug_double_free_empty_pool);
    tcase_add_test(tc, test_debug_overflow);
    tcase_add_test(tc, test_debug_overflow_guard);
    tcase_add_test(tc, test_debug_large_double_free);
    tcase_add_test(tc, test_debug_large_overflow);
    tcase_add_test(tc, test_debug_write_after_free);
    tcase_add_test(tc, test_debug_interior_pointer);
    tcase_add_test(tc, test_debug_patterns);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pool_suite());
    int failed;
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
