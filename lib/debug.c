/*
 * debug.c -- what the host can see of the collector: errors and version,
 * statistics, start/stop callbacks, debug flags, the garbage list, the
 * fatal handler and the object walk.
 */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 199309L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L         /* clock_gettime */
#endif
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#include "internal.h"

/* ---------------------------------------------------------------- */
/* Errors and version                                                */
/* ---------------------------------------------------------------- */

const char *cgc_strerror(int code)
{
    switch (code) {
    case CGC_OK:     return "success";
    case CGC_EINVAL: return "invalid argument";
    case CGC_ENOMEM: return "out of memory";
    case CGC_EBUSY:  return "not allowed while a collection is running";
    default:         return "unknown error code";
    }
}

const char *cgc_version(void)
{
    return CGC_VERSION_STRING;
}

uint64_t cgc__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------- */
/* Describing objects and reporting host bugs                        */
/* ---------------------------------------------------------------- */

size_t cgc__describe(cgc_heap *h, void *obj, char *buf, size_t len)
{
    size_t n = 0;
    if (len == 0)
        return 0;
    buf[0] = '\0';
    if (h->ops.describe != NULL) {
        n = h->ops.describe(obj, buf, len);
        if (n >= len)
            n = len - 1;
        buf[n] = '\0';
    }
    if (n == 0) {
        int r = snprintf(buf, len, "object at %p", obj);
        n = r < 0 ? 0 : (size_t)r >= len ? len - 1 : (size_t)r;
    }
    return n;
}

_Noreturn void cgc__fatal_msg(cgc_heap *h, const char *msg)
{
    if (h->fatal_fn != NULL) {
        h->fatal_fn(h->fatal_ctx, msg);
        fputs("cyclegc: the fatal handler returned; aborting\n", stderr);
    } else {
        fprintf(stderr, "%s\n", msg);
        fflush(stderr);
    }
    abort();
}

_Noreturn void cgc__fatal(cgc_heap *h, const char *what, void *obj)
{
    char desc[256], msg[512];
    if (obj != NULL) {
        cgc__describe(h, obj, desc, sizeof desc);
        snprintf(msg, sizeof msg, "cyclegc: host bug: %s: %s (at %p, reference count %lld)",
                 what, desc, obj, (long long)obj_refcnt(h, obj));
    } else {
        snprintf(msg, sizeof msg, "cyclegc: host bug: %s", what);
    }
    cgc__fatal_msg(h, msg);
}

void cgc_set_fatal_handler(cgc_heap *h, void (*fn)(void *ctx, const char *msg), void *ctx)
{
    if (h == NULL)
        return;
    h->fatal_fn = fn;
    h->fatal_ctx = fn != NULL ? ctx : NULL;
}

/* ---------------------------------------------------------------- */
/* Statistics: a sequence lock so any thread reads a whole snapshot  */
/* ---------------------------------------------------------------- */

static void put_u64(volatile AO_t *w, uint64_t v)
{
    for (size_t k = 0; k < U64_WORDS; k++) {
        cgc_atomic_store(&w[k], (AO_t)v);
        v >>= 4 * sizeof(AO_t);          /* two half shifts: defined for any width */
        v >>= 4 * sizeof(AO_t);
    }
}

static uint64_t get_u64(const volatile AO_t *w)
{
    uint64_t v = 0;
    for (size_t k = U64_WORDS; k-- > 0;) {
        v <<= 4 * sizeof(AO_t);
        v <<= 4 * sizeof(AO_t);
        v |= (uint64_t)cgc_atomic_load(&w[k]);
    }
    return v;
}

void cgc__stats_record(cgc_heap *h, int gen, size_t collected, size_t uncollectable,
                       uint64_t ns)
{
    cgc_stats_cell *c = &h->stats;
    cgc_gen_stats *s = &c->shadow[gen];
    AO_t seq = cgc_atomic_load(&c->seq);

    s->collections++;
    s->collected += collected;
    s->uncollectable += uncollectable;
    s->total_ns += ns;
    if (ns > s->max_pause_ns)
        s->max_pause_ns = ns;

    cgc_atomic_store(&c->seq, seq + 1);
    cgc_atomic_fence();
    put_u64(c->words[gen][0], s->collections);
    put_u64(c->words[gen][1], s->collected);
    put_u64(c->words[gen][2], s->uncollectable);
    put_u64(c->words[gen][3], s->total_ns);
    put_u64(c->words[gen][4], s->max_pause_ns);
    cgc_atomic_store_rel(&c->seq, seq + 2);
}

int cgc_get_stats(const cgc_heap *h, int generation, cgc_gen_stats *out)
{
    const cgc_stats_cell *c;
    cgc_gen_stats s;
    AO_t before, after;

    if (h == NULL || out == NULL || generation < 0 || generation >= NUM_GENERATIONS)
        return CGC_EINVAL;
    c = &h->stats;
    do {
        before = cgc_atomic_load_acq(&c->seq);
        s.collections = get_u64(c->words[generation][0]);
        s.collected = get_u64(c->words[generation][1]);
        s.uncollectable = get_u64(c->words[generation][2]);
        s.total_ns = get_u64(c->words[generation][3]);
        s.max_pause_ns = get_u64(c->words[generation][4]);
        cgc_atomic_fence();
        after = cgc_atomic_load(&c->seq);
    } while ((before & 1) || before != after);
    *out = s;
    return CGC_OK;
}

/* ---------------------------------------------------------------- */
/* Callbacks                                                         */
/* ---------------------------------------------------------------- */

int cgc_add_callback(cgc_heap *h, cgc_callback_fn fn, void *ctx)
{
    if (h == NULL || fn == NULL)
        return CGC_EINVAL;
    if (cgc_atomic_load(&h->collecting))
        return CGC_EBUSY;
    if (h->ncallbacks == h->callbacks_cap) {
        size_t cap = h->callbacks_cap ? 2 * h->callbacks_cap : 4;
        cgc_callback *cb = realloc(h->callbacks, cap * sizeof *cb);
        if (cb == NULL)
            return CGC_ENOMEM;
        h->callbacks = cb;
        h->callbacks_cap = cap;
    }
    h->callbacks[h->ncallbacks].fn = fn;
    h->callbacks[h->ncallbacks].ctx = ctx;
    h->ncallbacks++;
    return CGC_OK;
}

int cgc_remove_callback(cgc_heap *h, cgc_callback_fn fn, void *ctx)
{
    if (h == NULL || fn == NULL)
        return CGC_EINVAL;
    if (cgc_atomic_load(&h->collecting))
        return CGC_EBUSY;
    for (size_t i = 0; i < h->ncallbacks; i++) {
        if (h->callbacks[i].fn == fn && h->callbacks[i].ctx == ctx) {
            memmove(&h->callbacks[i], &h->callbacks[i + 1],
                    (h->ncallbacks - i - 1) * sizeof *h->callbacks);
            h->ncallbacks--;
            return CGC_OK;
        }
    }
    return CGC_EINVAL;
}

void cgc__run_callbacks(cgc_heap *h, cgc_phase phase, const cgc_collect_info *info)
{
    /* The list cannot change meanwhile: add/remove answer CGC_EBUSY. */
    for (size_t i = 0; i < h->ncallbacks; i++)
        h->callbacks[i].fn(h, phase, info, h->callbacks[i].ctx);
}

/* ---------------------------------------------------------------- */
/* Debug flags                                                       */
/* ---------------------------------------------------------------- */

void cgc_set_debug(cgc_heap *h, unsigned flags)
{
    if (h != NULL)
        h->debug = flags;
}

unsigned cgc_get_debug(const cgc_heap *h)
{
    return h == NULL ? 0 : h->debug;
}

/* ---------------------------------------------------------------- */
/* The debug log                                                     */
/* ---------------------------------------------------------------- */

void cgc_set_log(cgc_heap *h, void (*fn)(void *ctx, const char *line), void *ctx)
{
    if (h == NULL)
        return;
    h->log_fn = fn;
    h->log_ctx = fn != NULL ? ctx : NULL;
}

void cgc__log(cgc_heap *h, const char *fmt, ...)
{
    char line[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (h->log_fn != NULL) {
        h->log_fn(h->log_ctx, line);
    } else {
        fprintf(stderr, "%s\n", line);
        fflush(stderr);
    }
}

void cgc__log_object(cgc_heap *h, const char *what, void *obj)
{
    char desc[512];
    cgc__describe(h, obj, desc, sizeof desc);
    cgc__log(h, "cyclegc: %s %s", what, desc);
}

void cgc__log_stats(cgc_heap *h, int gen, const size_t examined[], size_t unreachable,
                    size_t uncollectable, uint64_t ns)
{
    char ex[NUM_GENERATIONS][24];
    for (int i = 0; i < NUM_GENERATIONS; i++) {
        if (i <= gen)
            snprintf(ex[i], sizeof ex[i], "%zu", examined[i]);
        else
            snprintf(ex[i], sizeof ex[i], "-");
    }
    cgc__log(h, "cyclegc: gen %d: examined %s %s %s, unreachable %zu, uncollectable %zu, "
             "%.6f s", gen, ex[0], ex[1], ex[2], unreachable, uncollectable, (double)ns / 1e9);
}

/* ---------------------------------------------------------------- */
/* Environment tuning, read once by cgc_heap_new                     */
/* ---------------------------------------------------------------- */

/* CYCLEGC_THRESHOLDS="t0[,t1[,t2]]": non-negative integers; missing ones keep
   the configured value.  Returns 0 when malformed (nothing is changed). */
static int parse_thresholds(const char *s, int out[NUM_GENERATIONS])
{
    int vals[NUM_GENERATIONS], n = 0;
    for (;;) {
        char *end;
        long v;
        while (isspace((unsigned char)*s))
            s++;
        if (!isdigit((unsigned char)*s) || n == NUM_GENERATIONS)
            return 0;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || v > INT32_MAX)
            return 0;
        vals[n++] = (int)v;
        s = end;
        while (isspace((unsigned char)*s))
            s++;
        if (*s == '\0')
            break;
        if (*s++ != ',')
            return 0;
    }
    for (int i = 0; i < n; i++)
        out[i] = vals[i];
    return 1;
}

/* CYCLEGC_DEBUG="stats,collectable,uncollectable,saveall,leak" (any case). */
static int parse_debug(const char *s, unsigned *out)
{
    static const struct { const char *name; unsigned flag; } names[] = {
        { "stats", CGC_DEBUG_STATS }, { "collectable", CGC_DEBUG_COLLECTABLE },
        { "uncollectable", CGC_DEBUG_UNCOLLECTABLE }, { "saveall", CGC_DEBUG_SAVEALL },
        { "leak", CGC_DEBUG_LEAK },
    };
    unsigned flags = 0;
    for (;;) {
        const char *start, *stop;
        size_t i, len;
        while (isspace((unsigned char)*s))
            s++;
        start = s;
        while (*s != '\0' && *s != ',')
            s++;
        stop = s;
        while (stop > start && isspace((unsigned char)stop[-1]))
            stop--;
        len = (size_t)(stop - start);
        for (i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strlen(names[i].name) == len && strncasecmp(names[i].name, start, len) == 0)
                break;
        if (i == sizeof names / sizeof names[0])
            return 0;
        flags |= names[i].flag;
        if (*s == '\0')
            break;
        s++;
    }
    *out = flags;
    return 1;
}

/* An unset or blank variable changes nothing. */
static const char *env_value(const char *name)
{
    const char *v = getenv(name), *p = v;
    while (p != NULL && isspace((unsigned char)*p))
        p++;
    return p == NULL || *p == '\0' ? NULL : v;
}

void cgc__apply_env(cgc_heap *h)
{
    const char *v = env_value("CYCLEGC_THRESHOLDS");
    if (v != NULL && !parse_thresholds(v, h->threshold))
        cgc__log(h, "cyclegc: ignoring malformed CYCLEGC_THRESHOLDS=\"%.100s\" "
                    "(expected up to three non-negative integers, e.g. \"700,10,10\")", v);
    v = env_value("CYCLEGC_DEBUG");
    if (v != NULL && !parse_debug(v, &h->debug))
        cgc__log(h, "cyclegc: ignoring malformed CYCLEGC_DEBUG=\"%.100s\" (expected a "
                    "comma-separated list of stats, collectable, uncollectable, saveall, leak)", v);
}

/* ---------------------------------------------------------------- */
/* The garbage list                                                  */
/* ---------------------------------------------------------------- */

/* Make room for more entries; the collector calls this before pushing, at a
   point where no host callback can run until the pushes are done. */
int cgc__garbage_reserve(cgc_heap *h, size_t more)
{
    size_t need, cap;
    void **g;
    if (more > SIZE_MAX / sizeof(void *) - h->ngarbage)
        return CGC_ENOMEM;
    need = h->ngarbage + more;
    if (need <= h->garbage_cap)
        return CGC_OK;
    cap = h->garbage_cap ? h->garbage_cap : 16;
    while (cap < need)
        cap = cap > SIZE_MAX / (2 * sizeof(void *)) ? need : 2 * cap;
    g = realloc(h->garbage, cap * sizeof *g);
    if (g == NULL)
        return CGC_ENOMEM;
    h->garbage = g;
    h->garbage_cap = cap;
    return CGC_OK;
}

void cgc__garbage_push(cgc_heap *h, void *obj)
{
    obj_incref(h, obj);
    h->garbage[h->ngarbage++] = obj;
}

size_t cgc_garbage_count(const cgc_heap *h)
{
    return h == NULL ? 0 : h->ngarbage;
}

void *cgc_garbage_get(const cgc_heap *h, size_t i)
{
    return h == NULL || i >= h->ngarbage ? NULL : h->garbage[i];
}

void cgc_garbage_clear(cgc_heap *h)
{
    if (h == NULL)
        return;
    /* Pop one entry at a time: a decref may run any host code, even a
       collection that appends to the list, and the capacity stays. */
    while (h->ngarbage > 0) {
        void *obj = h->garbage[--h->ngarbage];
        h->ops.decref(obj);
    }
}
