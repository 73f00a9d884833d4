/*
 * alloc.c -- allocation benchmark: the built-in pool against other
 * allocators on the same workload (see bench/README.md).
 *
 *     bench/alloc --allocator=pool|malloc|pymalloc [--n=N]... [--rounds=R]
 *                 [--label=TEXT]
 *
 * For each N (default 1000000 and 100000) a child process is forked; it
 * repeats R rounds of: allocate N blocks of mixed sizes (60 % uniform in
 * 32..64 bytes, 30 % in 16..128, 10 % in 16..512), write every byte of each,
 * then free them all in a shuffled order.  Sizes and orders come from a
 * fixed-seed generator, the same for every allocator, and are drawn between
 * rounds, outside the timed part.  The child prints one line:
 *
 *     LABEL N ns_per_pair_median ns_per_pair_best max_rss_MiB base_rss_MiB
 *
 * where ns per pair is the timed part of a round divided by N (one
 * allocation, its writes and one release), max RSS is getrusage's
 * ru_maxrss of the child, and base RSS is the child's resident size just
 * before the first round (the benchmark's own arrays: about 14 bytes per
 * block), so max - base is what the allocator used at its peak.
 *
 * --allocator=malloc calls malloc/free: run it under LD_PRELOAD to measure
 * mimalloc or jemalloc.  --allocator=pymalloc calls CPython's
 * PyObject_Malloc/PyObject_Free (built with -DBENCH_PYMALLOC and linked
 * with libpython3).  bench/run-alloc builds and runs everything.
 */
#if !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE 1
#endif

#ifdef BENCH_PYMALLOC
#include <Python.h>
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cyclegc.h"

/* ---------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng_next(void)        /* splitmix64 */
{
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint32_t rng_below(uint32_t n)  /* uniform in [0, n) */
{
    return (uint32_t)(((rng_next() >> 32) * (uint64_t)n) >> 32);
}

static uint16_t draw_size(void)
{
    uint32_t r = rng_below(100);
    if (r < 60)
        return (uint16_t)(32 + rng_below(33));
    if (r < 90)
        return (uint16_t)(16 + rng_below(113));
    return (uint16_t)(16 + rng_below(497));
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double rss_now_mib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

enum { A_POOL, A_MALLOC, A_PYMALLOC };

static cgc_pool *the_pool;

/* One timed round with direct calls to the allocator under test. */
#define ROUND(ALLOC, FREE)                                              \
    do {                                                                \
        for (size_t i = 0; i < n; i++) {                                \
            unsigned char *q = ALLOC(sizes[i]);                         \
            if (q == NULL) {                                            \
                fprintf(stderr, "alloc: out of memory\n");              \
                exit(1);                                                \
            }                                                           \
            memset(q, (int)i, sizes[i]);                                \
            ptrs[i] = q;                                                \
        }                                                               \
        for (size_t i = 0; i < n; i++)                                  \
            FREE(ptrs[order[i]]);                                       \
    } while (0)

#define POOL_ALLOC(s)   cgc_pool_alloc(the_pool, (s))
#define POOL_FREE(q)    cgc_pool_release(the_pool, (q))
#ifdef BENCH_PYMALLOC
#define PY_ALLOC(s)     PyObject_Malloc(s)
#define PY_FREE(q)      PyObject_Free(q)
#endif

static void run(int which, const char *label, size_t n, unsigned rounds)
{
    uint16_t *sizes = malloc(n * sizeof *sizes);
    uint32_t *order = malloc(n * sizeof *order);
    void **ptrs = malloc(n * sizeof *ptrs);
    uint64_t *ns = malloc(rounds * sizeof *ns);
    double base;
    struct rusage ru;

    if (sizes == NULL || order == NULL || ptrs == NULL || ns == NULL) {
        fprintf(stderr, "alloc: out of memory for the benchmark's arrays\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        order[i] = (uint32_t)i;
    memset(ptrs, 0, n * sizeof *ptrs);
    if (which == A_POOL) {
        the_pool = cgc_pool_new();
        if (the_pool == NULL) {
            fprintf(stderr, "alloc: cgc_pool_new failed\n");
            exit(1);
        }
    }
    rng_state = 12345;
    base = rss_now_mib();

    for (unsigned r = 0; r < rounds; r++) {
        uint64_t t0;
        /* untimed: this round's sizes and free order */
        for (size_t i = 0; i < n; i++)
            sizes[i] = draw_size();
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = rng_below((uint32_t)(i + 1));
            uint32_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        t0 = now_ns();
        switch (which) {
        case A_POOL:
            ROUND(POOL_ALLOC, POOL_FREE);
            break;
        case A_MALLOC:
            ROUND(malloc, free);
            break;
#ifdef BENCH_PYMALLOC
        case A_PYMALLOC:
            ROUND(PY_ALLOC, PY_FREE);
            break;
#endif
        default:
            break;
        }
        ns[r] = now_ns() - t0;
    }

    getrusage(RUSAGE_SELF, &ru);
    qsort(ns, rounds, sizeof *ns, cmp_u64);
    printf("%s %zu %.1f %.1f %.1f %.1f\n", label, n,
           (double)ns[rounds / 2] / (double)n, (double)ns[0] / (double)n,
           (double)ru.ru_maxrss / 1024.0, base);
    fflush(stdout);
    if (which == A_POOL)
        cgc_pool_destroy(the_pool);
    free(sizes);
    free(order);
    free(ptrs);
    free(ns);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: alloc --allocator=pool|malloc|pymalloc [--n=N]... [--rounds=R] "
            "[--label=TEXT]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int which = -1;
    const char *label = NULL;
    size_t ns[8];
    unsigned nn = 0, rounds = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--allocator=", 12) == 0) {
            const char *v = a + 12;
            which = strcmp(v, "pool") == 0 ? A_POOL
                  : strcmp(v, "malloc") == 0 ? A_MALLOC
                  : strcmp(v, "pymalloc") == 0 ? A_PYMALLOC : -2;
            if (which == -2)
                usage();
            if (label == NULL)
                label = v;
        } else if (strncmp(a, "--n=", 4) == 0 && nn < 8) {
            ns[nn++] = (size_t)strtoull(a + 4, NULL, 10);
        } else if (strncmp(a, "--rounds=", 9) == 0) {
            rounds = (unsigned)strtoul(a + 9, NULL, 10);
        } else if (strncmp(a, "--label=", 8) == 0) {
            label = a + 8;
        } else {
            usage();
        }
    }
    if (which < 0)
        usage();
#ifndef BENCH_PYMALLOC
    if (which == A_PYMALLOC) {
        fprintf(stderr, "alloc: built without CPython (-DBENCH_PYMALLOC)\n");
        return 2;
    }
#endif
    if (nn == 0) {
        ns[nn++] = 1000000;
        ns[nn++] = 100000;
    }
    for (unsigned k = 0; k < nn; k++) {
        size_t n = ns[k];
        /* about 0.5 s of work per size, at least 5 rounds */
        unsigned r = rounds != 0 ? rounds : (unsigned)(n >= 1000000 ? 9 : 5000000 / n + 1);
        pid_t pid;
        int status;
        if (n < 2 || n > UINT32_MAX) {
            fprintf(stderr, "alloc: N must be in 2..%u\n", (unsigned)UINT32_MAX);
            return 2;
        }
        fflush(stdout);
        pid = fork();        /* one process per N, so that max RSS is per N */
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            run(which, label, n, r);
            _exit(0);
        }
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "alloc: the run for N=%zu failed\n", n);
            return 1;
        }
    }
    return 0;
}
