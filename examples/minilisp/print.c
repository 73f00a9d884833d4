/*
 * print.c -- printing values, to a stream or into a buffer.
 *
 * The printer never changes a reference count and never allocates from the
 * heap, so describe (a cyclegc callback) may use it.  It stays finite on
 * any structure: a pair or vector that contains itself prints as "..."
 * where it recurs, a list whose cdr chain loops back on itself is cut with
 * " ...", and nesting deeper than MAX_PRINT_DEPTH prints "...".
 */
#include "minilisp.h"

#include <inttypes.h>
#include <string.h>

/* Where output goes: a stream, or a buffer that silently stops filling. */
typedef struct sink {
    FILE *f;
    char *buf;
    size_t cap, pos;
    int full;
} sink;

static void put(sink *s, const char *p, size_t n)
{
    if (s->f != NULL) {
        fwrite(p, 1, n, s->f);
        return;
    }
    if (s->pos + n >= s->cap) {
        n = s->cap - 1 - s->pos;
        s->full = 1;
    }
    memcpy(s->buf + s->pos, p, n);
    s->pos += n;
}

static void puts_(sink *s, const char *p)
{
    put(s, p, strlen(p));
}

static void put_string(sink *s, const lstring *str, int write)
{
    size_t i, start = 0;

    if (!write) {
        put(s, str->s, str->len);
        return;
    }
    put(s, "\"", 1);
    for (i = 0; i < str->len; i++) {
        const char *esc = NULL;
        switch (str->s[i]) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\t': esc = "\\t"; break;
        default: break;
        }
        if (esc != NULL) {
            put(s, str->s + start, i - start);
            puts_(s, esc);
            start = i + 1;
        }
    }
    put(s, str->s + start, i - start);
    put(s, "\"", 1);
}

/* The containers being printed, innermost first: a chain on the C stack. */
typedef struct outer {
    const value *v;
    const struct outer *up;
    int depth;
} outer;

static int is_outer(const outer *o, const value *v)
{
    for (; o != NULL; o = o->up) {
        if (o->v == v)
            return 1;
    }
    return 0;
}

static void print_rec(sink *s, value *v, int write, const outer *up)
{
    int depth = up != NULL ? up->depth + 1 : 0;
    outer here;
    char num[32];

    if (s->full)
        return;
    if ((v->type == T_PAIR || v->type == T_VECTOR) && (depth >= MAX_PRINT_DEPTH || is_outer(up, v))) {
        puts_(s, "...");
        return;
    }
    here.v = v;
    here.up = up;
    here.depth = depth;
    switch ((vtype) v->type) {
    case T_NIL:
        puts_(s, "()");
        break;
    case T_BOOL:
        puts_(s, v == LTRUE ? "#t" : "#f");
        break;
    case T_VOID:
        puts_(s, "#<void>");
        break;
    case T_INT:
        snprintf(num, sizeof num, "%" PRId64, AS_INT(v)->n);
        puts_(s, num);
        break;
    case T_STRING:
        put_string(s, AS_STRING(v), write);
        break;
    case T_SYMBOL:
        put(s, SYMNAME(v), AS_SYMBOL(v)->len);
        break;
    case T_BUILTIN:
        puts_(s, "#<builtin ");
        puts_(s, AS_BUILTIN(v)->name);
        puts_(s, ">");
        break;
    case T_CLOSURE:
        puts_(s, "#<procedure");
        if (AS_CLOSURE(v)->name != NULL) {
            puts_(s, " ");
            puts_(s, SYMNAME(AS_CLOSURE(v)->name));
        }
        puts_(s, ">");
        break;
    case T_ENV:
        puts_(s, "#<environment>");
        break;
    case T_VECTOR: {
        size_t i;
        puts_(s, "#(");
        for (i = 0; i < AS_VECTOR(v)->len && !s->full; i++) {
            if (i > 0)
                puts_(s, " ");
            print_rec(s, AS_VECTOR(v)->items[i], write, &here);
        }
        puts_(s, ")");
        break;
    }
    case T_PAIR: {
        /* The cdr chain is walked in a loop (a long list costs no stack);
           "slow" moves at half speed, and meeting it means a cycle. */
        value *slow = v;
        int step = 0;
        puts_(s, "(");
        for (;;) {
            print_rec(s, CAR(v), write, &here);
            v = CDR(v);
            if (v->type != T_PAIR || s->full)
                break;
            if ((step++ & 1) != 0)
                slow = CDR(slow);
            if (v == slow) {
                puts_(s, " ...");
                v = NIL;
                break;
            }
            puts_(s, " ");
        }
        if (v != NIL) {
            puts_(s, " . ");
            print_rec(s, v, write, &here);
        }
        puts_(s, ")");
        break;
    }
    }
}

void print_value(FILE *f, value *v, int write)
{
    sink s = { f, NULL, 0, 0, 0 };

    print_rec(&s, v, write, NULL);
}

size_t format_value(char *buf, size_t len, value *v, int write)
{
    sink s = { NULL, buf, len, 0, 0 };

    if (len == 0)
        return 0;
    if (len < 4) {
        buf[0] = '\0';
        return 0;
    }
    s.cap = len - 3;            /* room for "..." */
    print_rec(&s, v, write, NULL);
    if (s.full) {
        memcpy(buf + s.pos, "...", 3);
        s.pos += 3;
    }
    buf[s.pos] = '\0';
    return s.pos;
}
