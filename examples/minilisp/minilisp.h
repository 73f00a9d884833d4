/*
 * minilisp.h -- the shared declarations of minilisp, a small Scheme-like
 * interpreter whose values are reference counted and whose containers are
 * tracked by cyclegc.  doc/embedding.md walks through the integration;
 * examples/minilisp/README.md describes the language.
 *
 * Files:
 *   value.c     the object layer: layout, reference counting, the cyclegc
 *               host operations, constructors, symbols, environments
 *   print.c     printing values
 *   reader.c    reading text into values
 *   eval.c      the evaluator (special forms, calls, proper tail calls)
 *   builtins.c  the primitive procedures
 *   main.c      command line, script runner, REPL
 *
 * Reference counting convention (as CPython's): a function that returns a
 * value* returns a NEW reference, which the caller must give back with
 * decref() (or hand on); arguments are BORROWED unless the comment says
 * otherwise.  NULL as a result means an error was raised (lisp_error).
 */
#ifndef MINILISP_H
#define MINILISP_H

#include <cyclegc.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ------------------------------------------------------------------ */
/* Object layout                                                       */
/* ------------------------------------------------------------------ */

/* Value types.  The order matters: every type from T_PAIR on is a
   container (see is_container). */
typedef enum vtype {
    /* Constants: statically allocated, one of each, never freed. */
    T_NIL,          /* the empty list '() */
    T_BOOL,         /* #t and #f */
    T_VOID,         /* the "unspecified" result of define, set!, display ... */
    /* Atoms: allocated straight from the heap's pool (cgc_pool_alloc), with
       no collector header (see lisp_alloc); they hold no references to
       containers, so the collector never needs to see them. */
    T_INT,
    T_STRING,
    T_SYMBOL,
    T_BUILTIN,
    /* Containers: allocated with cgc_alloc (16 hidden header bytes before
       the object) and tracked, because they can take part in cycles. */
    T_PAIR,
    T_VECTOR,
    T_CLOSURE,
    T_ENV
} vtype;

/* The head of every value.  The reference count comes first, so
   cgc_host_ops.refcnt_offset is 0 and refcnt_width is 8. */
typedef struct value {
    int64_t refcnt;
    uint32_t type;      /* a vtype */
    uint32_t aux;       /* per type: a symbol's special-form number, 1 on the
                           global environment, 0 otherwise */
} value;

typedef struct lint {
    value h;
    int64_t n;
} lint;

typedef struct lstring {
    value h;
    size_t len;
    char s[];           /* len bytes and a NUL */
} lstring;

typedef struct lsymbol {
    value h;
    uint64_t hash;
    size_t len;
    char name[];        /* len bytes and a NUL */
} lsymbol;

/* A primitive procedure.  argv holds argc borrowed references; the result
   is a new reference, or NULL after lisp_error. */
typedef value *(*builtin_fn)(int argc, value **argv);

typedef struct lbuiltin {
    value h;
    const char *name;
    builtin_fn fn;
    int min_args, max_args;   /* max_args -1: any number */
} lbuiltin;

typedef struct lpair {
    value h;
    value *car, *cdr;
} lpair;

typedef struct lvector {
    value h;
    size_t len;
    value *items[];
} lvector;

typedef struct lenv lenv;

typedef struct lclosure {
    value h;
    value *params;      /* the parameter list as written: (a b), (a . rest) or args */
    value *body;        /* a non-empty list of expressions */
    lenv *env;          /* the defining environment (NULL once cleared) */
    value *name;        /* a symbol, or NULL for an anonymous lambda */
    int nreq;           /* required parameters */
    int rest;           /* 1 when the rest of the arguments go into a list */
} lclosure;

typedef struct binding {
    value *sym;         /* a symbol (an atom) */
    value *val;         /* any value */
} binding;

/* An environment frame: the bindings of one call, let, or the global frame.
   Small frames keep their bindings inline; a frame that grows past its
   inline capacity moves them to a separate block (lisp_alloc). */
struct lenv {
    value h;
    lenv *parent;       /* NULL for the global frame (and once cleared) */
    size_t n, cap;
    binding *b;         /* inl, or a block from lisp_alloc */
    binding inl[];
};

#define AS_INT(v)     ((lint *) (v))
#define AS_STRING(v)  ((lstring *) (v))
#define AS_SYMBOL(v)  ((lsymbol *) (v))
#define AS_BUILTIN(v) ((lbuiltin *) (v))
#define AS_PAIR(v)    ((lpair *) (v))
#define AS_VECTOR(v)  ((lvector *) (v))
#define AS_CLOSURE(v) ((lclosure *) (v))
#define AS_ENV(v)     ((lenv *) (v))
#define CAR(v)        (AS_PAIR(v)->car)
#define CDR(v)        (AS_PAIR(v)->cdr)
#define SYMNAME(v)    (AS_SYMBOL(v)->name)

static inline int is_container(const value *v)
{
    return v != NULL && v->type >= T_PAIR;
}

/* The constants.  Their counts start so high that they never reach 0. */
extern value lisp_nil, lisp_true, lisp_false, lisp_void;
#define NIL    (&lisp_nil)
#define LTRUE  (&lisp_true)
#define LFALSE (&lisp_false)
#define LVOID  (&lisp_void)
#define BOOL(c) ((c) ? LTRUE : LFALSE)

/* ------------------------------------------------------------------ */
/* Reference counting                                                  */
/* ------------------------------------------------------------------ */

void value_dealloc(value *v);   /* the count reached 0 */

static inline value *incref(value *v)
{
    v->refcnt++;
    return v;
}

static inline void decref(value *v)
{
    if (--v->refcnt == 0)
        value_dealloc(v);
}

static inline void xdecref(value *v)
{
    if (v != NULL)
        decref(v);
}

/* ------------------------------------------------------------------ */
/* The interpreter's state                                             */
/* ------------------------------------------------------------------ */

/* Special forms, stored in the aux field of their symbols.  They are
   recognised in operator position whatever the bindings say. */
enum {
    SF_NONE = 0, SF_QUOTE, SF_IF, SF_DEFINE, SF_LAMBDA, SF_LET, SF_SET,
    SF_BEGIN, SF_COND, SF_AND, SF_OR, SF_ELSE
};

/* --malloc: the host's own allocator, plugged in through cgc_allocator. */
typedef struct host_allocator {
    size_t bytes;           /* requested and not yet freed */
    size_t blocks;
} host_allocator;

/* One interpreter per process: the host operations cyclegc calls receive
   only the object, and find the heap here. */
typedef struct lisp {
    cgc_heap *heap;
    cgc_pool *pool;         /* cgc_heap_pool(heap): atoms come from it;
                               NULL with --malloc */
    host_allocator host;    /* with --malloc: everything comes from here */
    lenv *global;           /* the global frame: one reference, held here */
    value *sym_quote;       /* for the reader's 'x */
    int depth;              /* nested eval() calls (non-tail recursion) */
    uintptr_t stack_base;   /* the C stack's address at lisp_init */
    size_t stack_budget;    /* how much of it eval and read may use */
    int failed;             /* an error was raised and not yet reported */
    char errmsg[512];
    /* The symbol table: open addressing, one reference to each symbol. */
    lsymbol **symtab;
    size_t symtab_cap, symtab_n;
} lisp;

extern lisp L;

/* Limits that turn runaway recursion into a clean error.  The depth
   limits are what a program normally meets; stack_exhausted() is a second
   guard for small stacks and builds with large frames (sanitizers, -O0). */
#define MAX_EVAL_DEPTH  10000   /* nested non-tail evaluations */
#define MAX_READ_DEPTH  10000   /* nested parentheses in the input */
#define MAX_PRINT_DEPTH 1000    /* nested lists printed before "..." */

/* ------------------------------------------------------------------ */
/* value.c                                                             */
/* ------------------------------------------------------------------ */

/* gc_enabled 0: automatic collection off (--no-gc); host_malloc 1: blocks
   from malloc through a cgc_allocator instead of the built-in pool
   (--malloc).  Returns 0, or -1 when the heap cannot be made. */
int lisp_init(int gc_enabled, int host_malloc);
/* Drops every value and the heap; returns how many blocks were still in
   use after everything should have been freed (0 unless a reference count
   leaked). */
size_t lisp_shutdown(void);
/* Bytes of memory blocks in use: the pool's small blocks, or what the
   --malloc allocator handed out. */
size_t lisp_memory_in_use(void);
void *lisp_alloc(size_t size);          /* memory for an atom or a binding array */
void lisp_release(void *p);
int stack_exhausted(void);              /* 1 when the C stack is nearly used up */

value *make_int(int64_t n);
value *make_string(const char *s, size_t len);
value *intern(const char *name, size_t len);
value *make_builtin(const char *name, builtin_fn fn, int min_args, int max_args);
value *cons(value *car, value *cdr);
value *make_vector(size_t len, value *fill);
value *make_closure(value *params, value *body, lenv *env, value *name,
                    int nreq, int rest);
lenv *env_new(lenv *parent, size_t cap);
value *env_lookup(lenv *e, value *sym);   /* borrowed, NULL when unbound */
binding *env_find(lenv *e, value *sym);   /* the nearest binding, or NULL */
void env_define(lenv *e, value *sym, value *val);  /* binds or rebinds sym in e */
void set_field(value **slot, value *v);   /* *slot = v, counts adjusted */
/* Writes a short description of a container (as cyclegc's describe op). */
size_t describe_value(value *v, char *buf, size_t len);
_Noreturn void out_of_memory(void);

/* ------------------------------------------------------------------ */
/* print.c                                                             */
/* ------------------------------------------------------------------ */

/* write != 0: strings in quotes with escapes (the REPL's echo);
   write == 0: as display prints them. */
void print_value(FILE *f, value *v, int write);
/* The same into buf (always NUL-terminated), truncated with "..." when it
   does not fit.  Returns strlen(buf). */
size_t format_value(char *buf, size_t len, value *v, int write);

/* ------------------------------------------------------------------ */
/* reader.c                                                            */
/* ------------------------------------------------------------------ */

#define MAX_TOKEN 1024

typedef struct reader {
    FILE *in;
    char tok[MAX_TOKEN];    /* the token being read (not on the C stack:
                               the reader recurses) */
    long line;          /* current line, from 1 */
    long start_line;    /* where the last datum read began */
    int depth;          /* nesting of the datum being read */
} reader;

void reader_init(reader *r, FILE *in);
/* 1: *out holds a new reference to the next datum; 0: end of input;
   -1: a syntax error was raised (lisp_error). */
int read_datum(reader *r, value **out);
void reader_skip_line(reader *r);   /* after an error in the REPL */

/* ------------------------------------------------------------------ */
/* eval.c                                                              */
/* ------------------------------------------------------------------ */

value *eval(value *x, lenv *e);
/* Raises an error (the first one wins until lisp_clear_error) and
   returns NULL, so that callers can write "return lisp_error(...)". */
value *lisp_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
void lisp_clear_error(void);
/* A proper list's length, or -1 for an improper or cyclic one. */
long list_length(value *list);

/* ------------------------------------------------------------------ */
/* builtins.c                                                          */
/* ------------------------------------------------------------------ */

int define_builtins(lenv *global);   /* 0, or -1 when out of memory */

#endif /* MINILISP_H */
