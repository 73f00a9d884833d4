/*
 * value.c -- minilisp's object layer: allocation, reference counting, the
 * host operations cyclegc calls, symbols and environments.
 *
 * Two kinds of heap values (minilisp.h draws the layouts):
 *
 *   atoms       integers, strings, symbols, builtins.  They reference no
 *               container, so they can never be part of a cycle: they come
 *               straight from the heap's pool (cgc_pool_alloc) and carry no
 *               collector header.  Reference counting alone frees them.
 *   containers  pairs, vectors, closures, environments.  They come from
 *               cgc_alloc (16 hidden header bytes) and are tracked as soon
 *               as their fields are filled in, so the collector can find
 *               cycles among them.
 *
 * Both kinds share the pool (or, with --malloc, the host allocator), so
 * lisp_memory_in_use() sees all of them.
 */
#define _POSIX_C_SOURCE 200809L     /* getrlimit */
#include "minilisp.h"

#include <sys/resource.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

lisp L;

/* The constants live outside the heap.  A count this high never reaches
   zero, and the collector never reads it: constants are atoms, which no
   traverse function reports. */
#define IMMORTAL ((int64_t) 1 << 60)
value lisp_nil = { IMMORTAL, T_NIL, 0 };
value lisp_true = { IMMORTAL, T_BOOL, 1 };
value lisp_false = { IMMORTAL, T_BOOL, 0 };
value lisp_void = { IMMORTAL, T_VOID, 0 };

_Noreturn void out_of_memory(void)
{
    fflush(stdout);
    fputs("minilisp: out of memory\n", stderr);
    exit(70);
}

/* ------------------------------------------------------------------ */
/* Allocation                                                          */
/* ------------------------------------------------------------------ */

/* Memory without a collector header: atoms and binding arrays.  It comes
   from the heap's own pool, so one memory figure covers every value; with
   --malloc there is no pool (cgc_heap_pool returns NULL) and it comes from
   the host allocator the heap uses too. */
static void *host_malloc(void *ctx, size_t size);
static void host_free(void *ctx, void *ptr);

void *lisp_alloc(size_t size)
{
    void *p = L.pool != NULL ? cgc_pool_alloc(L.pool, size) : host_malloc(&L.host, size);

    if (p == NULL)
        out_of_memory();
    return p;
}

void lisp_release(void *p)
{
    if (L.pool != NULL)
        cgc_pool_release(L.pool, p);
    else
        host_free(&L.host, p);
}

static void *atom_alloc(size_t size, vtype type)
{
    value *v = lisp_alloc(size);

    v->refcnt = 1;
    v->type = type;
    v->aux = 0;
    return v;
}

/* A container is allocated untracked; the constructor fills in every
   field and only then calls track(), so traverse never sees a half-built
   object.  (With CGC_DEFERRED no collection starts inside cgc_alloc
   anyway: they start at the evaluator's safe points, see eval.c.) */
static void *container_alloc(size_t size, vtype type)
{
    value *v = cgc_alloc(L.heap, size);

    if (v == NULL)
        out_of_memory();
    v->refcnt = 1;
    v->type = type;
    v->aux = 0;
    return v;
}

static value *track(void *obj)
{
    if (cgc_track(L.heap, obj) != CGC_OK)
        abort();                /* cannot happen: a fresh, untracked object */
    return obj;
}

void set_field(value **slot, value *v)
{
    value *old = *slot;

    *slot = incref(v);          /* store first, release after: see lisp_clear */
    xdecref(old);
}

/* ------------------------------------------------------------------ */
/* The host operations                                                 */
/* ------------------------------------------------------------------ */

/* traverse: report every reference the container holds to another
   container.  Atoms are skipped: they were not allocated with cgc_alloc,
   and the contract forbids passing such pointers to visit.  The collector
   calls this only during a collection, i.e. at a safe point. */
static int visit_value(value *v, cgc_visit_fn visit, void *arg)
{
    return is_container(v) ? visit(v, arg) : 0;
}

#define VISIT(v)                                        \
    do {                                                \
        int r_ = visit_value((value *) (v), visit, arg); \
        if (r_ != 0)                                    \
            return r_;                                  \
    } while (0)

static int lisp_traverse(void *obj, cgc_visit_fn visit, void *arg)
{
    value *v = obj;
    size_t i;

    switch ((vtype) v->type) {
    case T_PAIR:
        VISIT(CAR(v));
        VISIT(CDR(v));
        break;
    case T_VECTOR:
        for (i = 0; i < AS_VECTOR(v)->len; i++)
            VISIT(AS_VECTOR(v)->items[i]);
        break;
    case T_CLOSURE:
        VISIT(AS_CLOSURE(v)->params);
        VISIT(AS_CLOSURE(v)->body);
        VISIT(AS_CLOSURE(v)->env);
        break;                  /* name is a symbol: an atom */
    case T_ENV:
        VISIT(AS_ENV(v)->parent);
        for (i = 0; i < AS_ENV(v)->n; i++)
            VISIT(AS_ENV(v)->b[i].val);
        break;
    default:
        break;                  /* atoms are never tracked */
    }
    return 0;
}

/* clear: drop every reference the container holds.  The collector calls it
   on unreachable containers to break their cycles; dealloc uses it too.
   Each field is overwritten BEFORE the old value is released: releasing
   may free other members of the cycle, whose own deallocation may look at
   this object again, and must then find it consistent.  Pairs and vectors
   get NIL rather than NULL, so they stay printable. */
static void lisp_clear(void *obj)
{
    value *v = obj, *old;
    size_t i;

    switch ((vtype) v->type) {
    case T_PAIR:
        old = CAR(v);
        CAR(v) = NIL;
        decref(old);
        old = CDR(v);
        CDR(v) = NIL;
        decref(old);
        break;
    case T_VECTOR:
        for (i = 0; i < AS_VECTOR(v)->len; i++) {
            old = AS_VECTOR(v)->items[i];
            AS_VECTOR(v)->items[i] = NIL;
            decref(old);
        }
        break;
    case T_CLOSURE: {
        lclosure *c = AS_CLOSURE(v);
        lenv *env = c->env;
        value *name = c->name;
        old = c->params;
        c->params = NIL;
        decref(old);
        old = c->body;
        c->body = NIL;
        decref(old);
        c->env = NULL;
        c->name = NULL;
        xdecref((value *) env);
        xdecref(name);
        break;
    }
    case T_ENV: {
        lenv *e = AS_ENV(v);
        lenv *parent = e->parent;
        e->parent = NULL;
        xdecref((value *) parent);
        while (e->n > 0) {          /* shrink first, then release */
            binding b = e->b[--e->n];
            decref(b.val);
            decref(b.sym);
        }
        break;
    }
    default:
        break;
    }
}

/* dealloc of a container, bracketed by the trashcan: freeing a 1,000,000
   pair list would otherwise recurse 1,000,000 deep (each pair releases its
   cdr, which frees the next pair...).  Past CGC_TRASHCAN_DEPTH nested
   calls, cgc_trashcan_begin queues the object and returns 0; the library
   calls this function again for it (ops.dealloc) once the stack unwound. */
static void container_dealloc(value *v)
{
    if (!cgc_trashcan_begin(L.heap, v))
        return;
    cgc_untrack(L.heap, v);
    lisp_clear(v);
    if (v->type == T_ENV && AS_ENV(v)->b != AS_ENV(v)->inl)
        lisp_release(AS_ENV(v)->b);
    cgc_free(L.heap, v);
    cgc_trashcan_end(L.heap);
}

void value_dealloc(value *v)
{
    switch ((vtype) v->type) {
    case T_INT:
    case T_STRING:
    case T_SYMBOL:
    case T_BUILTIN:
        lisp_release(v);
        break;
    case T_PAIR:
    case T_VECTOR:
    case T_CLOSURE:
    case T_ENV:
        container_dealloc(v);
        break;
    default:
        fputs("minilisp: a constant's reference count reached 0\n", stderr);
        abort();
    }
}

static void lisp_decref_op(void *obj)
{
    decref(obj);
}

static void lisp_dealloc_op(void *obj)
{
    container_dealloc(obj);
}

/* describe: what debug lines, DOT dumps and gc-explain show for an
   object.  It must not touch reference counts or call cyclegc. */
size_t describe_value(value *v, char *buf, size_t len)
{
    char preview[80];
    int n = 0;

    if (len == 0)
        return 0;
    switch ((vtype) v->type) {
    case T_PAIR:
        format_value(preview, sizeof preview, v, 1);
        n = snprintf(buf, len, "pair %s", preview);
        break;
    case T_VECTOR:
        format_value(preview, sizeof preview, v, 1);
        n = snprintf(buf, len, "vector %s", preview);
        break;
    case T_CLOSURE:
        n = snprintf(buf, len, "procedure %s",
                     AS_CLOSURE(v)->name ? SYMNAME(AS_CLOSURE(v)->name) : "(lambda)");
        break;
    case T_ENV: {
        lenv *e = AS_ENV(v);
        size_t i, used;
        if (v->aux == 1) {
            n = snprintf(buf, len, "global environment (%zu bindings)", e->n);
            break;
        }
        n = snprintf(buf, len, "environment {");
        for (i = 0; i < e->n && n >= 0 && (size_t) n < len; i++) {
            used = (size_t) n;
            n += snprintf(buf + used, len - used, "%s%s", i ? " " : "", SYMNAME(e->b[i].sym));
        }
        if (n >= 0 && (size_t) n < len)
            n += snprintf(buf + n, len - (size_t) n, "}");
        break;
    }
    default:
        format_value(preview, sizeof preview, v, 1);
        n = snprintf(buf, len, "%s", preview);
        break;
    }
    if (n < 0)
        n = 0;
    return (size_t) n < len ? (size_t) n : len - 1;
}

static size_t lisp_describe(void *obj, char *buf, size_t len)
{
    return describe_value(obj, buf, len);
}

static const cgc_host_ops lisp_ops = {
    .refcnt_offset = offsetof(value, refcnt),
    .refcnt_width = sizeof(int64_t),
    .traverse = lisp_traverse,
    .clear = lisp_clear,
    .decref = lisp_decref_op,
    /* No finalize and no has_legacy_finalizer: minilisp has no finalizers
       (doc/embedding.md says what a runtime with them would do). */
    .dealloc = lisp_dealloc_op,
    .describe = lisp_describe,
};

/* ------------------------------------------------------------------ */
/* Constructors                                                        */
/* ------------------------------------------------------------------ */

value *make_int(int64_t n)
{
    lint *v = atom_alloc(sizeof *v, T_INT);

    v->n = n;
    return &v->h;
}

value *make_string(const char *s, size_t len)
{
    lstring *v = atom_alloc(sizeof *v + len + 1, T_STRING);

    v->len = len;
    memcpy(v->s, s, len);
    v->s[len] = '\0';
    return &v->h;
}

value *make_builtin(const char *name, builtin_fn fn, int min_args, int max_args)
{
    lbuiltin *v = atom_alloc(sizeof *v, T_BUILTIN);

    v->name = name;
    v->fn = fn;
    v->min_args = min_args;
    v->max_args = max_args;
    return &v->h;
}

value *cons(value *car, value *cdr)
{
    lpair *p = container_alloc(sizeof *p, T_PAIR);

    p->car = incref(car);
    p->cdr = incref(cdr);
    return track(p);
}

value *make_vector(size_t len, value *fill)
{
    lvector *v;
    size_t i;

    if (len > ((size_t) 1 << 28))
        out_of_memory();
    v = container_alloc(sizeof *v + len * sizeof(value *), T_VECTOR);
    v->len = len;
    for (i = 0; i < len; i++)
        v->items[i] = incref(fill);
    return track(v);
}

value *make_closure(value *params, value *body, lenv *env, value *name, int nreq, int rest)
{
    lclosure *c = container_alloc(sizeof *c, T_CLOSURE);

    c->params = incref(params);
    c->body = incref(body);
    c->env = (lenv *) incref(&env->h);
    c->name = name ? incref(name) : NULL;
    c->nreq = nreq;
    c->rest = rest;
    return track(c);
}

/* ------------------------------------------------------------------ */
/* Symbols                                                             */
/* ------------------------------------------------------------------ */

static uint64_t hash_name(const char *s, size_t len)
{
    uint64_t h = 14695981039346656037u;     /* FNV-1a */
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char) s[i];
        h *= 1099511628211u;
    }
    return h;
}

static int symtab_grow(void)
{
    size_t cap = L.symtab_cap ? 2 * L.symtab_cap : 256, i;
    lsymbol **t = calloc(cap, sizeof *t);

    if (t == NULL)
        return -1;
    for (i = 0; i < L.symtab_cap; i++) {
        lsymbol *s = L.symtab[i];
        size_t j;
        if (s == NULL)
            continue;
        for (j = s->hash & (cap - 1); t[j] != NULL; j = (j + 1) & (cap - 1))
            ;
        t[j] = s;
    }
    free(L.symtab);
    L.symtab = t;
    L.symtab_cap = cap;
    return 0;
}

/* Symbols are interned: one object per name, so eq? and the evaluator
   compare them by address.  The table keeps one reference to each symbol
   until lisp_shutdown. */
value *intern(const char *name, size_t len)
{
    uint64_t h = hash_name(name, len);
    lsymbol *s;
    size_t i;

    if (2 * (L.symtab_n + 1) > L.symtab_cap && symtab_grow() != 0)
        out_of_memory();
    for (i = h & (L.symtab_cap - 1); (s = L.symtab[i]) != NULL; i = (i + 1) & (L.symtab_cap - 1)) {
        if (s->hash == h && s->len == len && memcmp(s->name, name, len) == 0)
            return incref(&s->h);
    }
    s = atom_alloc(sizeof *s + len + 1, T_SYMBOL);
    s->hash = h;
    s->len = len;
    memcpy(s->name, name, len);
    s->name[len] = '\0';
    L.symtab[i] = s;
    L.symtab_n++;
    return incref(&s->h);       /* one for the table, one for the caller */
}

/* ------------------------------------------------------------------ */
/* Environments                                                        */
/* ------------------------------------------------------------------ */

lenv *env_new(lenv *parent, size_t cap)
{
    lenv *e;

    if (cap < 2)
        cap = 2;
    e = container_alloc(sizeof *e + cap * sizeof(binding), T_ENV);
    e->parent = parent ? (lenv *) incref(&parent->h) : NULL;
    e->n = 0;
    e->cap = cap;
    e->b = e->inl;
    track(e);
    return e;
}

static binding *find_local(lenv *e, value *sym)
{
    size_t i;

    for (i = e->n; i-- > 0;) {
        if (e->b[i].sym == sym)
            return &e->b[i];
    }
    return NULL;
}

binding *env_find(lenv *e, value *sym)
{
    for (; e != NULL; e = e->parent) {
        binding *b = find_local(e, sym);
        if (b != NULL)
            return b;
    }
    return NULL;
}

value *env_lookup(lenv *e, value *sym)
{
    binding *b = env_find(e, sym);

    return b ? b->val : NULL;
}

void env_define(lenv *e, value *sym, value *val)
{
    binding *b = find_local(e, sym);

    if (b != NULL) {
        set_field(&b->val, val);
        return;
    }
    if (e->n == e->cap) {
        /* Move the bindings to a bigger block.  No collection can run
           here (collections only run at safe points, see eval.c), so the
           collector never sees a half-moved array. */
        size_t cap = 2 * e->cap;
        binding *nb = lisp_alloc(cap * sizeof *nb);
        memcpy(nb, e->b, e->n * sizeof *nb);
        if (e->b != e->inl)
            lisp_release(e->b);
        e->b = nb;
        e->cap = cap;
    }
    e->b[e->n].sym = incref(sym);
    e->b[e->n].val = incref(val);
    e->n++;
}

/* ------------------------------------------------------------------ */
/* Start and end                                                       */
/* ------------------------------------------------------------------ */

static const struct { const char *name; int form; } special_forms[] = {
    { "quote", SF_QUOTE }, { "if", SF_IF }, { "define", SF_DEFINE },
    { "lambda", SF_LAMBDA }, { "let", SF_LET }, { "set!", SF_SET },
    { "begin", SF_BEGIN }, { "cond", SF_COND }, { "and", SF_AND },
    { "or", SF_OR }, { "else", SF_ELSE },
};

/* The address of the current stack frame.  __builtin_frame_address gives
   the real one even when AddressSanitizer moves locals to the heap. */
static uintptr_t stack_here(void)
{
#if defined(__GNUC__)
    return (uintptr_t) __builtin_frame_address(0);
#else
    char here;
    return (uintptr_t) &here;
#endif
}

int stack_exhausted(void)
{
    uintptr_t now = stack_here();
    size_t used = L.stack_base > now ? L.stack_base - now : now - L.stack_base;

    return used > L.stack_budget;
}

/* Three quarters of the stack limit (RLIMIT_STACK, 8 MiB if unknown). */
static void stack_init(void)
{
    struct rlimit rl;
    size_t limit = (size_t) 8 << 20;

    if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < ((rlim_t) 1 << 30))
        limit = (size_t) rl.rlim_cur;
    L.stack_base = stack_here();
    L.stack_budget = limit / 4 * 3;
}

/* The host allocator of --malloc: malloc with a 16-byte prefix that
   remembers the size, so that memory in use can be counted.  A runtime
   with an allocator of its own plugs it in the same way. */
#define HOST_PREFIX 16

static void *host_malloc(void *ctx, size_t size)
{
    host_allocator *a = ctx;
    size_t total = (size + HOST_PREFIX + 15) & ~(size_t) 15;
    unsigned char *p;

    if (size > ((size_t) 1 << 40) || (p = aligned_alloc(16, total)) == NULL)
        return NULL;
    memcpy(p, &size, sizeof size);
    a->bytes += size;
    a->blocks++;
    return p + HOST_PREFIX;         /* 16-byte aligned, as cgc_allocator requires */
}

static void host_free(void *ctx, void *ptr)
{
    host_allocator *a = ctx;
    unsigned char *p;
    size_t size;

    if (ptr == NULL)
        return;
    p = (unsigned char *) ptr - HOST_PREFIX;
    memcpy(&size, p, sizeof size);
    a->bytes -= size;
    a->blocks--;
    free(p);
}

int lisp_init(int gc_enabled, int host_malloc_wanted)
{
    cgc_allocator host;             /* cgc_heap_new copies it */
    cgc_config cfg;
    size_t i;

    memset(&L, 0, sizeof L);
    stack_init();
    memset(&cfg, 0, sizeof cfg);
    cfg.ops = &lisp_ops;
    cfg.allocator = NULL;           /* the built-in pool allocator ... */
    if (host_malloc_wanted) {       /* ... or ours */
        host.ctx = &L.host;
        host.malloc = host_malloc;
        host.free = host_free;
        cfg.allocator = &host;
    }
    /* CPython's thresholds, set explicitly (all zeros would mean the same).
       (gc-threshold t0 t1 t2) changes them at run time. */
    cfg.thresholds[0] = 700;
    cfg.thresholds[1] = 10;
    cfg.thresholds[2] = 10;
    /* Collections never run inside cgc_alloc: only at the evaluator's
       safe points (cgc_collect_if_pending in eval.c). */
    cfg.flags = CGC_DEFERRED;
    L.heap = cgc_heap_new(&cfg);
    if (L.heap == NULL)
        return -1;
    L.pool = cgc_heap_pool(L.heap);     /* NULL with a host allocator */
    if (!gc_enabled)
        cgc_disable(L.heap);        /* --no-gc: (gc) still works */

    for (i = 0; i < sizeof special_forms / sizeof special_forms[0]; i++) {
        value *s = intern(special_forms[i].name, strlen(special_forms[i].name));
        s->aux = (uint32_t) special_forms[i].form;
        decref(s);                  /* the symbol table keeps it */
    }
    L.sym_quote = intern("quote", 5);
    decref(L.sym_quote);            /* borrowed from the table from now on */

    L.global = env_new(NULL, 64);
    L.global->h.aux = 1;
    return define_builtins(L.global);
}

size_t lisp_memory_in_use(void)
{
    cgc_pool_stats st;

    if (L.pool == NULL)
        return L.host.bytes;
    if (cgc_pool_get_stats(L.pool, &st) != CGC_OK)
        return 0;
    return st.bytes_in_use;
}

size_t lisp_shutdown(void)
{
    cgc_pool_stats st;
    size_t i, left = 0;

    /* The global frame and the procedures defined in it form cycles:
       dropping the last outside reference leaves them to the collector. */
    decref(&L.global->h);
    L.global = NULL;
    cgc_collect(L.heap, 2);
    for (i = 0; i < L.symtab_cap; i++) {
        if (L.symtab[i] != NULL)
            decref(&L.symtab[i]->h);
    }
    free(L.symtab);
    L.symtab = NULL;
    if (L.pool == NULL)
        left = L.host.blocks;
    else if (cgc_pool_get_stats(L.pool, &st) == CGC_OK)
        left = st.blocks_in_use + st.large_in_use;
    cgc_heap_free(L.heap);
    L.heap = NULL;
    return left;
}
