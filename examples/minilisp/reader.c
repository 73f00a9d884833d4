/*
 * reader.c -- turning text into values.
 *
 * Syntax: integers (-12), #t and #f, strings ("a\n" with escapes \" \\ \n
 * \t), symbols (any other run of characters up to a delimiter), lists
 * (a b c) and dotted pairs (a . b), vectors #(1 2 3), 'x for (quote x),
 * and comments from ; to the end of the line.
 *
 * The reader recurses once per level of parentheses; MAX_READ_DEPTH turns
 * absurdly nested input into an error instead of a stack overflow.  It
 * allocates pairs and vectors but never evaluates, so no collection can run
 * while it works (collections only run at the evaluator's safe points).
 */
#include "minilisp.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void reader_init(reader *r, FILE *in)
{
    r->in = in;
    r->line = 1;
    r->start_line = 1;
    r->depth = 0;
}

static int next_char(reader *r)
{
    int c = getc(r->in);

    if (c == '\n')
        r->line++;
    return c;
}

static void unread_char(reader *r, int c)
{
    if (c == EOF)
        return;
    if (c == '\n')
        r->line--;
    ungetc(c, r->in);
}

static int is_delimiter(int c)
{
    return c == EOF || isspace(c) || c == '(' || c == ')' || c == '"' || c == ';' || c == '\'';
}

/* Skips white space and comments; returns the next character, unread. */
static int peek_significant(reader *r)
{
    int c;

    for (;;) {
        c = next_char(r);
        if (c == ';') {
            while ((c = next_char(r)) != EOF && c != '\n')
                ;
            continue;
        }
        if (c == EOF || !isspace(c))
            break;
    }
    unread_char(r, c);
    return c;
}

void reader_skip_line(reader *r)
{
    int c;

    while ((c = next_char(r)) != EOF && c != '\n')
        ;
}

/* Reads a run of non-delimiter characters into buf (NUL-terminated). */
static int read_token(reader *r, char *buf)
{
    size_t n = 0;
    int c;

    while (!is_delimiter(c = next_char(r))) {
        if (n == MAX_TOKEN - 1) {
            lisp_error("token too long (more than %d characters)", MAX_TOKEN - 1);
            return -1;
        }
        buf[n++] = (char) c;
    }
    unread_char(r, c);
    buf[n] = '\0';
    return 0;
}

/* An integer if the whole token is [+-]digits, otherwise a symbol. */
static value *parse_atom(const char *tok)
{
    const char *p = tok;
    char *end;
    long long n;

    if (*p == '+' || *p == '-')
        p++;
    if (isdigit((unsigned char) *p)) {
        while (isdigit((unsigned char) *p))
            p++;
        if (*p == '\0') {
            errno = 0;
            n = strtoll(tok, &end, 10);
            if (errno == ERANGE)
                return lisp_error("integer out of range: %s", tok);
            return make_int((int64_t) n);
        }
    }
    return intern(tok, strlen(tok));
}

static value *read_string(reader *r)
{
    size_t len = 0, cap = 64;
    char *buf = malloc(cap);
    value *v;
    int c;

    if (buf == NULL)
        out_of_memory();
    next_char(r);                               /* the opening quote */
    while ((c = next_char(r)) != '"') {
        if (c == EOF) {
            free(buf);
            return lisp_error("unexpected end of input in a string");
        }
        if (c == '\\') {
            c = next_char(r);
            switch (c) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case '\\': case '"': break;
            default:
                free(buf);
                return lisp_error("unknown escape \\%c in a string", c == EOF ? ' ' : c);
            }
        }
        if (len + 1 == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (nb == NULL)
                out_of_memory();
            buf = nb;
        }
        buf[len++] = (char) c;
    }
    v = make_string(buf, len);
    free(buf);
    return v;
}

static value *read_item(reader *r);

/* After the opening parenthesis: elements up to ')', with an optional
   ". tail".  The list is built front to back: head owns the first pair,
   every pair owns the next through its cdr. */
static value *read_list_tail(reader *r)
{
    value *head = NIL, *last = NULL, *item;
    int c;

    for (;;) {
        c = peek_significant(r);
        if (c == EOF) {
            lisp_error("unexpected end of input (a ')' is missing)");
            goto fail;
        }
        if (c == ')') {
            next_char(r);
            return head;
        }
        if (c == '.') {
            if (read_token(r, r->tok) != 0)
                goto fail;
            if (strcmp(r->tok, ".") == 0) {        /* (a b . tail) */
                if (last == NULL) {
                    lisp_error("nothing before '.' in a list");
                    goto fail;
                }
                if ((item = read_item(r)) == NULL)
                    goto fail;
                CDR(last) = item;               /* replaces NIL: nothing to release */
                if (peek_significant(r) != ')') {
                    lisp_error("more than one datum after '.' in a list");
                    goto fail;
                }
                next_char(r);
                return head;
            }
            item = parse_atom(r->tok);          /* a symbol such as ... */
        } else {
            item = read_item(r);
        }
        if (item == NULL)
            goto fail;
        {
            value *cell = cons(item, NIL);
            decref(item);
            if (last == NULL)
                head = cell;
            else
                CDR(last) = cell;               /* the previous pair owns it */
            last = cell;
        }
    }
fail:
    decref(head);
    return NULL;
}

static value *list_to_vector(value *list)
{
    long n = list_length(list), i;
    value *v;

    if (n < 0)
        return lisp_error("bad vector syntax");
    v = make_vector((size_t) n, NIL);
    for (i = 0; i < n; i++, list = CDR(list))
        set_field(&AS_VECTOR(v)->items[i], CAR(list));
    return v;
}

/* The next character, left unread. */
static int peek_char(reader *r)
{
    int c = next_char(r);

    unread_char(r, c);
    return c;
}

/* One datum. */
static value *read_item(reader *r)
{
    value *v, *q;
    int c = peek_significant(r);

    if (c == EOF)
        return lisp_error("unexpected end of input");
    if (c == ')') {
        next_char(r);
        return lisp_error("unexpected ')'");
    }
    if (c == '"')
        return read_string(r);
    if (c == '#') {
        next_char(r);
        c = next_char(r);
        if ((c == 't' || c == 'f') && is_delimiter(peek_char(r)))
            return incref(c == 't' ? LTRUE : LFALSE);
        if (c != '(')
            return lisp_error("bad syntax after '#'");
        c = '#';                        /* a vector: #( consumed */
    } else if (c == '(' || c == '\'') {
        next_char(r);
    } else {
        if (read_token(r, r->tok) != 0)
            return NULL;
        if (strcmp(r->tok, ".") == 0)
            return lisp_error("unexpected '.'");
        return parse_atom(r->tok);
    }

    /* Nested data: a list, a vector or a quote. */
    if (r->depth >= MAX_READ_DEPTH || stack_exhausted())
        return lisp_error("input nested too deeply (more than %d levels)", r->depth);
    r->depth++;
    if (c == '\'') {                    /* 'x is (quote x) */
        v = read_item(r);
        if (v != NULL) {
            q = cons(v, NIL);
            decref(v);
            v = cons(L.sym_quote, q);
            decref(q);
        }
    } else {
        v = read_list_tail(r);
        if (v != NULL && c == '#') {
            q = list_to_vector(v);
            decref(v);
            v = q;
        }
    }
    r->depth--;
    return v;
}

int read_datum(reader *r, value **out)
{
    r->depth = 0;
    if (peek_significant(r) == EOF)
        return 0;
    r->start_line = r->line;
    *out = read_item(r);
    return *out != NULL ? 1 : -1;
}
