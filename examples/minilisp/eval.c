/*
 * eval.c -- the evaluator.
 *
 * Programs are evaluated straight from the values the reader built (no
 * compilation step).  eval() is one loop: each special form or call either
 * finishes with a result (DONE) or hands back an expression, and maybe a
 * new environment, to evaluate in its place (TAIL).  The loop then carries
 * on in the same C frame, so a call in tail position costs no C stack: a
 * 1,000,000-iteration loop written as tail recursion runs in constant
 * stack, and each iteration's frame is freed by reference counting as the
 * next one replaces it.  Only non-tail evaluations (an argument, the test
 * of an if, all but the last expression of a body) call eval() again;
 * MAX_EVAL_DEPTH (or, sooner, a nearly full C stack) bounds that nesting
 * with a clean error.
 *
 * Ownership: eval(x, e) takes its own references to x and e for as long as
 * it works on them, so callers may pass borrowed pointers.  Everything the
 * loop holds between steps is an owned reference: the current expression,
 * the current environment, the procedure being called and its evaluated
 * arguments, a frame being filled in.  Sub-expressions of the current
 * expression are borrowed from it (code is never visible to programs, so
 * nothing can change it while it runs).
 *
 * Safe point: the top of the loop calls cgc_collect_if_pending().  The heap
 * was created with CGC_DEFERRED, so an allocation that crosses the
 * generation-0 threshold only marks a collection as pending; it runs here,
 * between two evaluation steps, where every value any C frame still needs
 * is owned (so counted) by that frame.  The collector sees those counts as
 * references from outside the tracked set and keeps everything they reach.
 * The REPL and the script runner add a safe point between top-level forms.
 */
#include "minilisp.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

value *lisp_error(const char *fmt, ...)
{
    va_list ap;

    if (!L.failed) {
        va_start(ap, fmt);
        vsnprintf(L.errmsg, sizeof L.errmsg, fmt, ap);
        va_end(ap);
        L.failed = 1;
    }
    return NULL;
}

void lisp_clear_error(void)
{
    L.failed = 0;
    L.errmsg[0] = '\0';
}

/* A short printed form of v for an error message. */
static const char *show(value *v)
{
    static char buf[100];

    format_value(buf, sizeof buf, v, 1);
    return buf;
}

static value *syntax_error(const char *form, value *x)
{
    return lisp_error("bad syntax in %s: %s", form, show(x));
}

long list_length(value *list)
{
    value *slow = list;
    long n = 0;

    while (list->type == T_PAIR) {
        list = CDR(list);
        n++;
        if ((n & 1) == 0)
            slow = CDR(slow);   /* half speed: meeting it means a cycle */
        if (list == slow)
            return -1;
    }
    return list == NIL ? n : -1;
}

/* The i-th element of a list already checked to be long enough. */
static value *nth(value *list, long i)
{
    while (i-- > 0)
        list = CDR(list);
    return CAR(list);
}

/* ------------------------------------------------------------------ */
/* The shape of one step                                               */
/* ------------------------------------------------------------------ */

enum { DONE, TAIL };

typedef struct step {
    value *result;      /* DONE: a new reference, or NULL after an error */
    value *next;        /* TAIL: a new reference to the next expression */
    lenv *env;          /* TAIL: a new reference to its environment, or NULL
                           to stay in the current one */
} step;

static int done(step *st, value *result)
{
    st->result = result;
    return DONE;
}

static int tail(step *st, value *next)
{
    st->next = incref(next);
    return TAIL;
}

static value *lookup(value *sym, lenv *e)
{
    value *v = env_lookup(e, sym);

    if (v == NULL)
        return lisp_error("unbound variable: %s", SYMNAME(sym));
    return incref(v);
}

/* eval() without the frame for what cannot recurse. */
static value *eval_arg(value *x, lenv *e)
{
    if (x->type == T_SYMBOL)
        return lookup(x, e);
    if (x->type != T_PAIR)
        return incref(x);           /* numbers, strings, #t, vectors ... */
    return eval(x, e);
}

/* A body: all but the last expression now, the last one as the tail.
   body is a non-empty proper list, borrowed from an owned expression or
   procedure. */
static int eval_sequence(value *body, lenv *e, step *st)
{
    for (; CDR(body) != NIL; body = CDR(body)) {
        value *v = eval_arg(CAR(body), e);
        if (v == NULL)
            return done(st, NULL);
        decref(v);
    }
    return tail(st, CAR(body));
}

/* A body in a new frame; takes over the reference to frame. */
static int run_body(value *body, lenv *frame, step *st)
{
    if (eval_sequence(body, frame, st) == TAIL) {
        st->env = frame;
        return TAIL;
    }
    decref(&frame->h);
    return DONE;
}

/* ------------------------------------------------------------------ */
/* Special forms                                                       */
/* ------------------------------------------------------------------ */

/* Checks a parameter list and makes the procedure. */
static value *make_lambda(value *params, value *body, lenv *e, value *name)
{
    value *p;
    int nreq = 0;

    for (p = params; p->type == T_PAIR; p = CDR(p)) {
        if (CAR(p)->type != T_SYMBOL)
            return lisp_error("bad parameter list: %s", show(params));
        nreq++;
    }
    if (p != NIL && p->type != T_SYMBOL)
        return lisp_error("bad parameter list: %s", show(params));
    if (list_length(body) < 1)
        return lisp_error("a procedure needs a body");
    return make_closure(params, body, e, name, nreq, p != NIL);
}

/* (if test then [else]) */
static int form_if(value *x, lenv *e, step *st)
{
    long n = list_length(x);
    value *test;
    int truth;

    if (n != 3 && n != 4)
        return done(st, syntax_error("if", x));
    if ((test = eval_arg(nth(x, 1), e)) == NULL)
        return done(st, NULL);
    truth = test != LFALSE;
    decref(test);
    if (truth)
        return tail(st, nth(x, 2));
    if (n == 4)
        return tail(st, nth(x, 3));
    return done(st, incref(LVOID));
}

/* (define name expr) or (define (name . params) body...) */
static int form_define(value *x, lenv *e, step *st)
{
    long n = list_length(x);
    value *target, *v;

    if (n < 3)
        return done(st, syntax_error("define", x));
    target = nth(x, 1);
    if (target->type == T_SYMBOL) {
        if (n != 3)
            return done(st, syntax_error("define", x));
        if ((v = eval_arg(nth(x, 2), e)) == NULL)
            return done(st, NULL);
        if (v->type == T_CLOSURE && AS_CLOSURE(v)->name == NULL)
            AS_CLOSURE(v)->name = incref(target);     /* for printing */
    } else if (target->type == T_PAIR && CAR(target)->type == T_SYMBOL) {
        target = CAR(target);
        v = make_lambda(CDR(nth(x, 1)), CDR(CDR(x)), e, target);
        if (v == NULL)
            return done(st, NULL);
    } else {
        return done(st, syntax_error("define", x));
    }
    /* Inside a body, e is the frame of the running call: that is all an
       internal define needs. */
    env_define(e, target, v);
    decref(v);
    return done(st, incref(LVOID));
}

/* (set! name expr) */
static int form_set(value *x, lenv *e, step *st)
{
    value *v, *old;
    binding *b;

    if (list_length(x) != 3 || nth(x, 1)->type != T_SYMBOL)
        return done(st, syntax_error("set!", x));
    if ((v = eval_arg(nth(x, 2), e)) == NULL)
        return done(st, NULL);
    /* Look the binding up after evaluating: the evaluation may have added
       bindings and moved the frame's array. */
    if ((b = env_find(e, nth(x, 1))) == NULL) {
        decref(v);
        return done(st, lisp_error("unbound variable: %s", SYMNAME(nth(x, 1))));
    }
    old = b->val;
    b->val = v;
    decref(old);
    return done(st, incref(LVOID));
}

/* (let ((name init) ...) body...) and the named let
   (let loop ((name init) ...) body...), which binds loop to a procedure
   over the names, in a frame of its own: that frame and the procedure
   refer to each other, a cycle that only the collector frees. */
static int form_let(value *x, lenv *e, step *st)
{
    long n = list_length(x), nb;
    value *name = NULL, *bindings, *body, *p, *params = NULL, *proc = NULL;
    lenv *frame, *loop_env = NULL;

    if (n < 3)
        return done(st, syntax_error("let", x));
    bindings = nth(x, 1);
    body = CDR(CDR(x));
    if (bindings->type == T_SYMBOL) {
        if (n < 4)
            return done(st, syntax_error("let", x));
        name = bindings;
        bindings = nth(x, 2);
        body = CDR(body);
    }
    if ((nb = list_length(bindings)) < 0)
        return done(st, syntax_error("let", x));
    for (p = bindings; p != NIL; p = CDR(p)) {
        if (list_length(CAR(p)) != 2 || CAR(CAR(p))->type != T_SYMBOL)
            return done(st, syntax_error("let", x));
    }

    if (name != NULL) {
        value *tailp = NIL, *cell;
        long i;
        /* The parameter list: the binding names, in order. */
        incref(tailp);
        for (i = nb - 1; i >= 0; i--) {
            cell = cons(CAR(nth(bindings, i)), tailp);
            decref(tailp);
            tailp = cell;
        }
        params = tailp;
        loop_env = env_new(e, 1);
        proc = make_closure(params, body, loop_env, name, (int) nb, 0);
        env_define(loop_env, name, proc);
        decref(params);
        decref(proc);           /* loop_env holds it */
        frame = env_new(loop_env, (size_t) nb);
        decref(&loop_env->h);   /* frame holds it */
    } else {
        frame = env_new(e, (size_t) nb);
    }
    /* The inits are evaluated in the outer environment. */
    for (p = bindings; p != NIL; p = CDR(p)) {
        value *v = eval_arg(nth(CAR(p), 1), e);
        if (v == NULL) {
            decref(&frame->h);
            return done(st, NULL);
        }
        env_define(frame, CAR(CAR(p)), v);
        decref(v);
    }
    return run_body(body, frame, st);
}

/* (cond (test expr...) ... (else expr...)) */
static int form_cond(value *x, lenv *e, step *st)
{
    value *c, *clause, *t;
    long cl;

    if (list_length(x) < 0)
        return done(st, syntax_error("cond", x));
    for (c = CDR(x); c != NIL; c = CDR(c)) {
        clause = CAR(c);
        if ((cl = list_length(clause)) < 1)
            return done(st, syntax_error("cond", x));
        if (CAR(clause)->type == T_SYMBOL && CAR(clause)->aux == SF_ELSE) {
            if (cl < 2)
                return done(st, syntax_error("cond", x));
            return eval_sequence(CDR(clause), e, st);
        }
        if ((t = eval_arg(CAR(clause), e)) == NULL)
            return done(st, NULL);
        if (t != LFALSE) {
            if (cl == 1)
                return done(st, t);     /* (cond (x)) gives x's value */
            decref(t);
            return eval_sequence(CDR(clause), e, st);
        }
        decref(t);
    }
    return done(st, incref(LVOID));
}

/* (and e...) and (or e...): the last expression is in tail position. */
static int form_and_or(value *x, lenv *e, step *st, int is_and)
{
    value *p, *v;
    long n = list_length(x);

    if (n < 0)
        return done(st, syntax_error(is_and ? "and" : "or", x));
    if (n == 1)
        return done(st, incref(is_and ? LTRUE : LFALSE));
    for (p = CDR(x); CDR(p) != NIL; p = CDR(p)) {
        if ((v = eval_arg(CAR(p), e)) == NULL)
            return done(st, NULL);
        if (is_and ? v == LFALSE : v != LFALSE)
            return done(st, v);
        decref(v);
    }
    return tail(st, CAR(p));
}

static int special_form(uint32_t form, value *x, lenv *e, step *st)
{
    switch (form) {
    case SF_QUOTE:
        if (list_length(x) != 2)
            return done(st, syntax_error("quote", x));
        return done(st, incref(nth(x, 1)));
    case SF_IF:
        return form_if(x, e, st);
    case SF_DEFINE:
        return form_define(x, e, st);
    case SF_LAMBDA:
        if (list_length(x) < 3)
            return done(st, syntax_error("lambda", x));
        return done(st, make_lambda(nth(x, 1), CDR(CDR(x)), e, NULL));
    case SF_LET:
        return form_let(x, e, st);
    case SF_SET:
        return form_set(x, e, st);
    case SF_BEGIN:
        if (list_length(x) < 0)
            return done(st, syntax_error("begin", x));
        if (CDR(x) == NIL)
            return done(st, incref(LVOID));
        return eval_sequence(CDR(x), e, st);
    case SF_COND:
        return form_cond(x, e, st);
    case SF_AND:
    case SF_OR:
        return form_and_or(x, e, st, form == SF_AND);
    default:
        return done(st, lisp_error("else outside cond"));
    }
}

/* ------------------------------------------------------------------ */
/* Calls                                                               */
/* ------------------------------------------------------------------ */

static int call(value *f, int argc, value **argv, step *st)
{
    if (f->type == T_BUILTIN) {
        lbuiltin *b = AS_BUILTIN(f);
        if (argc < b->min_args || (b->max_args >= 0 && argc > b->max_args)) {
            if (b->min_args == b->max_args)
                return done(st, lisp_error("wrong number of arguments to %s: expected %d, got %d",
                                           b->name, b->min_args, argc));
            if (b->max_args < 0)
                return done(st, lisp_error("wrong number of arguments to %s: expected at least %d, got %d",
                                           b->name, b->min_args, argc));
            return done(st, lisp_error("wrong number of arguments to %s: expected %d to %d, got %d",
                                       b->name, b->min_args, b->max_args, argc));
        }
        return done(st, b->fn(argc, argv));
    }
    if (f->type == T_CLOSURE) {
        lclosure *c = AS_CLOSURE(f);
        value *p = c->params;
        lenv *frame;
        int i;
        if (argc < c->nreq || (!c->rest && argc > c->nreq))
            return done(st, lisp_error("wrong number of arguments to %s: expected %s%d, got %d",
                                       c->name ? SYMNAME(c->name) : "a procedure",
                                       c->rest ? "at least " : "", c->nreq, argc));
        frame = env_new(c->env, (size_t) (c->nreq + c->rest));
        for (i = 0; i < c->nreq; i++, p = CDR(p))
            env_define(frame, CAR(p), argv[i]);
        if (c->rest) {
            value *rest = incref(NIL), *cell;
            for (i = argc - 1; i >= c->nreq; i--) {
                cell = cons(argv[i], rest);
                decref(rest);
                rest = cell;
            }
            env_define(frame, p, rest);
            decref(rest);
        }
        /* The caller keeps f alive until this returns; the tail
           expression run_body hands back is a reference of its own. */
        return run_body(c->body, frame, st);
    }
    return done(st, lisp_error("not a procedure: %s", show(f)));
}

/* (f arg...): the operator, then the arguments left to right, each an
   owned reference until the call is over. */
static int apply_form(value *x, lenv *e, step *st)
{
    value *small[8], **argv = small, *f, *a;
    long argc = list_length(CDR(x)), i = 0;
    int r;

    if (argc < 0)
        return done(st, syntax_error("a call", x));
    if (argc > (long) (sizeof small / sizeof small[0])) {
        if (argc > 1000000 || (argv = malloc((size_t) argc * sizeof *argv)) == NULL)
            return done(st, lisp_error("too many arguments"));
    }
    r = DONE;
    st->result = NULL;
    if ((f = eval_arg(CAR(x), e)) == NULL)
        goto out;
    for (a = CDR(x); i < argc; a = CDR(a), i++) {
        if ((argv[i] = eval_arg(CAR(a), e)) == NULL)
            goto out;
    }
    r = call(f, (int) argc, argv, st);
out:
    while (i-- > 0)
        decref(argv[i]);
    xdecref(f);
    if (argv != small)
        free(argv);
    return r;
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */
/* ------------------------------------------------------------------ */

value *eval(value *x, lenv *e)
{
    step st;
    value *op;
    int r;

    if (L.depth >= MAX_EVAL_DEPTH || stack_exhausted())
        return lisp_error("recursion too deep (%d nested evaluations)", L.depth);
    L.depth++;
    incref(x);
    incref(&e->h);
    for (;;) {
        /* The safe point: see the top of this file. */
        cgc_collect_if_pending(L.heap);

        if (x->type == T_SYMBOL) {
            st.result = lookup(x, e);
            break;
        }
        if (x->type != T_PAIR) {
            st.result = incref(x);
            break;
        }
        st.result = st.next = NULL;
        st.env = NULL;
        op = CAR(x);
        if (op->type == T_SYMBOL && op->aux != SF_NONE)
            r = special_form(op->aux, x, e, &st);
        else
            r = apply_form(x, e, &st);
        if (r == DONE)
            break;
        /* TAIL: continue with st.next (and st.env) in this same frame. */
        decref(x);
        x = st.next;
        if (st.env != NULL) {
            decref(&e->h);
            e = st.env;
        }
    }
    decref(x);
    decref(&e->h);
    L.depth--;
    return st.result;
}
