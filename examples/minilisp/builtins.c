/*
 * builtins.c -- the primitive procedures.
 *
 * Each receives its evaluated arguments as borrowed references (the
 * evaluator checked their number against min_args/max_args) and returns a
 * new reference, or NULL after lisp_error.  None of them evaluates code,
 * so no collection can start inside one, except the explicit one of (gc).
 */
#include "minilisp.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>

static value *type_error(const char *who, const char *wanted, value *got)
{
    char buf[100];

    format_value(buf, sizeof buf, got, 1);
    return lisp_error("%s: expected %s, got %s", who, wanted, buf);
}

static int get_int(value *v, const char *who, int64_t *out)
{
    if (v->type != T_INT) {
        type_error(who, "an integer", v);
        return -1;
    }
    *out = AS_INT(v)->n;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Arithmetic (64-bit integers; overflow is an error)                  */
/* ------------------------------------------------------------------ */

static int add_overflows(int64_t a, int64_t b, int64_t *r)
{
#if defined(__GNUC__)
    return __builtin_add_overflow(a, b, r);
#else
    if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b))
        return 1;
    *r = a + b;
    return 0;
#endif
}

static int sub_overflows(int64_t a, int64_t b, int64_t *r)
{
#if defined(__GNUC__)
    return __builtin_sub_overflow(a, b, r);
#else
    if ((b < 0 && a > INT64_MAX + b) || (b > 0 && a < INT64_MIN + b))
        return 1;
    *r = a - b;
    return 0;
#endif
}

static int mul_overflows(int64_t a, int64_t b, int64_t *r)
{
#if defined(__GNUC__)
    return __builtin_mul_overflow(a, b, r);
#else
    if (a != 0 && b != 0) {
        if ((a == -1 && b == INT64_MIN) || (b == -1 && a == INT64_MIN))
            return 1;
        if (a != -1 && b != -1 && (a > 0 ? (b > 0 ? a > INT64_MAX / b : b < INT64_MIN / a)
                                         : (b > 0 ? a < INT64_MIN / b : a < INT64_MAX / b)))
            return 1;
    }
    *r = a * b;
    return 0;
#endif
}

static value *b_add(int argc, value **argv)
{
    int64_t acc = 0, n;
    int i;

    for (i = 0; i < argc; i++) {
        if (get_int(argv[i], "+", &n) != 0)
            return NULL;
        if (add_overflows(acc, n, &acc))
            return lisp_error("+: integer overflow");
    }
    return make_int(acc);
}

static value *b_sub(int argc, value **argv)
{
    int64_t acc, n;
    int i;

    if (get_int(argv[0], "-", &acc) != 0)
        return NULL;
    if (argc == 1) {                    /* (- x) is -x */
        if (sub_overflows(0, acc, &acc))
            return lisp_error("-: integer overflow");
        return make_int(acc);
    }
    for (i = 1; i < argc; i++) {
        if (get_int(argv[i], "-", &n) != 0)
            return NULL;
        if (sub_overflows(acc, n, &acc))
            return lisp_error("-: integer overflow");
    }
    return make_int(acc);
}

static value *b_mul(int argc, value **argv)
{
    int64_t acc = 1, n;
    int i;

    for (i = 0; i < argc; i++) {
        if (get_int(argv[i], "*", &n) != 0)
            return NULL;
        if (mul_overflows(acc, n, &acc))
            return lisp_error("*: integer overflow");
    }
    return make_int(acc);
}

static value *divide(value **argv, const char *who, int want_quotient)
{
    int64_t a, b;

    if (get_int(argv[0], who, &a) != 0 || get_int(argv[1], who, &b) != 0)
        return NULL;
    if (b == 0)
        return lisp_error("%s: division by zero", who);
    if (a == INT64_MIN && b == -1)
        return want_quotient ? lisp_error("%s: integer overflow", who) : make_int(0);
    return make_int(want_quotient ? a / b : a % b);     /* truncating, as Scheme's */
}

static value *b_quotient(int argc, value **argv)
{
    (void) argc;
    return divide(argv, "quotient", 1);
}

static value *b_remainder(int argc, value **argv)
{
    (void) argc;
    return divide(argv, "remainder", 0);
}

/* (< a b c ...) holds when every neighbouring pair is in order. */
static value *compare(int argc, value **argv, const char *who, int op)
{
    int64_t a, b;
    int i, ok = 1;

    if (get_int(argv[0], who, &a) != 0)
        return NULL;
    for (i = 1; i < argc; i++, a = b) {
        if (get_int(argv[i], who, &b) != 0)
            return NULL;
        if (!(op < 0 ? a < b : op > 0 ? a > b : a == b))
            ok = 0;
    }
    return incref(BOOL(ok));
}

static value *b_lt(int argc, value **argv) { return compare(argc, argv, "<", -1); }
static value *b_gt(int argc, value **argv) { return compare(argc, argv, ">", 1); }
static value *b_eq_num(int argc, value **argv) { return compare(argc, argv, "=", 0); }

/* ------------------------------------------------------------------ */
/* Pairs and lists                                                     */
/* ------------------------------------------------------------------ */

static value *b_cons(int argc, value **argv)
{
    (void) argc;
    return cons(argv[0], argv[1]);
}

static value *b_car(int argc, value **argv)
{
    (void) argc;
    if (argv[0]->type != T_PAIR)
        return type_error("car", "a pair", argv[0]);
    return incref(CAR(argv[0]));
}

static value *b_cdr(int argc, value **argv)
{
    (void) argc;
    if (argv[0]->type != T_PAIR)
        return type_error("cdr", "a pair", argv[0]);
    return incref(CDR(argv[0]));
}

static value *b_set_car(int argc, value **argv)
{
    (void) argc;
    if (argv[0]->type != T_PAIR)
        return type_error("set-car!", "a pair", argv[0]);
    set_field(&CAR(argv[0]), argv[1]);
    return incref(LVOID);
}

static value *b_set_cdr(int argc, value **argv)
{
    (void) argc;
    if (argv[0]->type != T_PAIR)
        return type_error("set-cdr!", "a pair", argv[0]);
    set_field(&CDR(argv[0]), argv[1]);
    return incref(LVOID);
}

static value *b_list(int argc, value **argv)
{
    value *list = incref(NIL), *cell;
    int i;

    for (i = argc - 1; i >= 0; i--) {
        cell = cons(argv[i], list);
        decref(list);
        list = cell;
    }
    return list;
}

static value *b_null_p(int argc, value **argv)
{
    (void) argc;
    return incref(BOOL(argv[0] == NIL));
}

static value *b_pair_p(int argc, value **argv)
{
    (void) argc;
    return incref(BOOL(argv[0]->type == T_PAIR));
}

/* Identity; integers compare by value (they are boxed, so two equal
   numbers are usually two objects). */
static value *b_eq_p(int argc, value **argv)
{
    value *a = argv[0], *b = argv[1];

    (void) argc;
    if (a->type == T_INT && b->type == T_INT)
        return incref(BOOL(AS_INT(a)->n == AS_INT(b)->n));
    return incref(BOOL(a == b));
}

static value *b_not(int argc, value **argv)
{
    (void) argc;
    return incref(BOOL(argv[0] == LFALSE));
}

/* ------------------------------------------------------------------ */
/* Vectors                                                             */
/* ------------------------------------------------------------------ */

static value *b_vector(int argc, value **argv)
{
    value *v = make_vector((size_t) argc, NIL);
    int i;

    for (i = 0; i < argc; i++)
        set_field(&AS_VECTOR(v)->items[i], argv[i]);
    return v;
}

static value *b_make_vector(int argc, value **argv)
{
    int64_t n;

    if (get_int(argv[0], "make-vector", &n) != 0)
        return NULL;
    if (n < 0 || n > 10000000)
        return lisp_error("make-vector: bad length %" PRId64, n);
    return make_vector((size_t) n, argc > 1 ? argv[1] : LFALSE);
}

static int vector_index(value **argv, const char *who, size_t *out)
{
    int64_t k;

    if (argv[0]->type != T_VECTOR) {
        type_error(who, "a vector", argv[0]);
        return -1;
    }
    if (get_int(argv[1], who, &k) != 0)
        return -1;
    if (k < 0 || (uint64_t) k >= AS_VECTOR(argv[0])->len) {
        lisp_error("%s: index %" PRId64 " out of range (length %zu)", who, k,
                   AS_VECTOR(argv[0])->len);
        return -1;
    }
    *out = (size_t) k;
    return 0;
}

static value *b_vector_ref(int argc, value **argv)
{
    size_t k;

    (void) argc;
    if (vector_index(argv, "vector-ref", &k) != 0)
        return NULL;
    return incref(AS_VECTOR(argv[0])->items[k]);
}

static value *b_vector_set(int argc, value **argv)
{
    size_t k;

    (void) argc;
    if (vector_index(argv, "vector-set!", &k) != 0)
        return NULL;
    set_field(&AS_VECTOR(argv[0])->items[k], argv[2]);
    return incref(LVOID);
}

static value *b_vector_length(int argc, value **argv)
{
    (void) argc;
    if (argv[0]->type != T_VECTOR)
        return type_error("vector-length", "a vector", argv[0]);
    return make_int((int64_t) AS_VECTOR(argv[0])->len);
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

static value *b_display(int argc, value **argv)
{
    (void) argc;
    print_value(stdout, argv[0], 0);
    return incref(LVOID);
}

static value *b_newline(int argc, value **argv)
{
    (void) argc;
    (void) argv;
    putchar('\n');
    return incref(LVOID);
}

/* ------------------------------------------------------------------ */
/* The collector                                                       */
/* ------------------------------------------------------------------ */

/* (gc): a full collection; returns what it found unreachable. */
static value *b_gc(int argc, value **argv)
{
    (void) argc;
    (void) argv;
    return make_int(cgc_collect(L.heap, 2));
}

static value *int_list3(int64_t a, int64_t b, int64_t c)
{
    value *v[3], *list;

    v[0] = make_int(a);
    v[1] = make_int(b);
    v[2] = make_int(c);
    list = b_list(3, v);
    decref(v[0]);
    decref(v[1]);
    decref(v[2]);
    return list;
}

/* (gc-stats): prints cgc_get_stats for each generation as a table (the
   format is in examples/minilisp/README.md) and returns the counts as
   ((collections collected uncollectable) ...), generation 0 first. */
static value *b_gc_stats(int argc, value **argv)
{
    value *rows[3], *result;
    int gen;

    (void) argc;
    (void) argv;
    printf("%-10s %11s %9s %13s %10s %12s\n", "generation", "collections", "collected",
           "uncollectable", "total ms", "max pause ms");
    for (gen = 0; gen < 3; gen++) {
        cgc_gen_stats st;
        memset(&st, 0, sizeof st);
        cgc_get_stats(L.heap, gen, &st);
        printf("%-10d %11" PRIu64 " %9" PRIu64 " %13" PRIu64 " %10.3f %12.3f\n", gen,
               st.collections, st.collected, st.uncollectable, (double) st.total_ns / 1e6,
               (double) st.max_pause_ns / 1e6);
        rows[gen] = int_list3((int64_t) st.collections, (int64_t) st.collected,
                              (int64_t) st.uncollectable);
    }
    result = b_list(3, rows);
    for (gen = 0; gen < 3; gen++)
        decref(rows[gen]);
    return result;
}

/* (gc-threshold) returns (t0 t1 t2); (gc-threshold t0 t1 t2) sets them
   with cgc_set_threshold and returns the previous ones. */
static value *b_gc_threshold(int argc, value **argv)
{
    int old[3], t[3], i;
    int64_t n;

    cgc_get_threshold(L.heap, old);
    if (argc == 3) {
        for (i = 0; i < 3; i++) {
            if (get_int(argv[i], "gc-threshold", &n) != 0)
                return NULL;
            if (n < 0 || n > INT_MAX)
                return lisp_error("gc-threshold: %" PRId64 " is out of range", n);
            t[i] = (int) n;
        }
        cgc_set_threshold(L.heap, t[0], t[1], t[2]);
    } else if (argc != 0) {
        return lisp_error("wrong number of arguments to gc-threshold: expected 0 or 3, got %d",
                          argc);
    }
    return int_list3(old[0], old[1], old[2]);
}

static value *b_memory_in_use(int argc, value **argv)
{
    (void) argc;
    (void) argv;
    return make_int((int64_t) lisp_memory_in_use());
}

/* (gc-dump "file.dot" ['all | 'unreachable | 'garbage]): cgc_dump_dot. */
static value *b_gc_dump(int argc, value **argv)
{
    int what = CGC_DOT_ALL, rc;
    FILE *f;

    if (argv[0]->type != T_STRING)
        return type_error("gc-dump", "a file name", argv[0]);
    if (argc > 1) {
        const char *w = argv[1]->type == T_SYMBOL ? SYMNAME(argv[1]) : "";
        if (strcmp(w, "all") == 0)
            what = CGC_DOT_ALL;
        else if (strcmp(w, "unreachable") == 0)
            what = CGC_DOT_UNREACHABLE;
        else if (strcmp(w, "garbage") == 0)
            what = CGC_DOT_GARBAGE;
        else
            return type_error("gc-dump", "all, unreachable or garbage", argv[1]);
    }
    if ((f = fopen(AS_STRING(argv[0])->s, "w")) == NULL)
        return lisp_error("gc-dump: cannot write %s: %s", AS_STRING(argv[0])->s,
                          strerror(errno));
    rc = cgc_dump_dot(L.heap, f, what);
    if (fclose(f) != 0 && rc == CGC_OK)
        rc = CGC_EINVAL;
    if (rc != CGC_OK)
        return lisp_error("gc-dump: %s", cgc_strerror(rc));
    return incref(LVOID);
}

static int print_link(void *obj, void *arg)
{
    char buf[160];
    int *step = arg;

    describe_value(obj, buf, sizeof buf);
    printf("%s%s\n", (*step)++ ? "  -> " : "", buf);
    return 0;
}

/* (gc-explain obj): prints a shortest chain of references from a root to
   obj (cgc_explain_alive) and returns #t, or returns #f when nothing but
   the argument itself keeps obj alive. */
static value *b_gc_explain(int argc, value **argv)
{
    value *obj = argv[0];
    int step = 0, rc;

    (void) argc;
    if (!is_container(obj))
        return type_error("gc-explain", "a pair, vector or procedure", obj);
    /* The evaluator's argument array holds one reference, which would make
       obj a root of its own.  Lend it back for the call: cgc_explain_alive
       runs only traverse and describe, so nothing can free obj meanwhile. */
    if (obj->refcnt == 1)
        return incref(LFALSE);
    obj->refcnt--;
    rc = cgc_explain_alive(L.heap, obj, print_link, &step);
    obj->refcnt++;
    if (rc < 0)
        return lisp_error("gc-explain: %s", cgc_strerror(rc));
    return incref(BOOL(rc == CGC_OK));
}

/* ------------------------------------------------------------------ */

static const struct {
    const char *name;
    builtin_fn fn;
    int min_args, max_args;
} builtins[] = {
    { "+", b_add, 0, -1 },
    { "-", b_sub, 1, -1 },
    { "*", b_mul, 0, -1 },
    { "quotient", b_quotient, 2, 2 },
    { "remainder", b_remainder, 2, 2 },
    { "<", b_lt, 1, -1 },
    { ">", b_gt, 1, -1 },
    { "=", b_eq_num, 1, -1 },
    { "cons", b_cons, 2, 2 },
    { "car", b_car, 1, 1 },
    { "cdr", b_cdr, 1, 1 },
    { "set-car!", b_set_car, 2, 2 },
    { "set-cdr!", b_set_cdr, 2, 2 },
    { "list", b_list, 0, -1 },
    { "null?", b_null_p, 1, 1 },
    { "pair?", b_pair_p, 1, 1 },
    { "eq?", b_eq_p, 2, 2 },
    { "not", b_not, 1, 1 },
    { "vector", b_vector, 0, -1 },
    { "make-vector", b_make_vector, 1, 2 },
    { "vector-ref", b_vector_ref, 2, 2 },
    { "vector-set!", b_vector_set, 3, 3 },
    { "vector-length", b_vector_length, 1, 1 },
    { "display", b_display, 1, 1 },
    { "newline", b_newline, 0, 0 },
    { "gc", b_gc, 0, 0 },
    { "gc-stats", b_gc_stats, 0, 0 },
    { "gc-threshold", b_gc_threshold, 0, 3 },
    { "gc-dump", b_gc_dump, 1, 2 },
    { "gc-explain", b_gc_explain, 1, 1 },
    { "memory-in-use", b_memory_in_use, 0, 0 },
};

int define_builtins(lenv *global)
{
    size_t i;

    for (i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
        value *b = make_builtin(builtins[i].name, builtins[i].fn, builtins[i].min_args,
                                builtins[i].max_args);
        value *s = intern(builtins[i].name, strlen(builtins[i].name));
        env_define(global, s, b);
        decref(s);
        decref(b);
    }
    return 0;
}
