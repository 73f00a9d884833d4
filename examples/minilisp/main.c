/*
 * main.c -- minilisp's command line: run a script, or read-eval-print.
 *
 *   minilisp [OPTIONS] FILE   run FILE; the first error ends it (status 1)
 *   minilisp [OPTIONS]        a REPL on standard input: prints each result,
 *                             reports errors and carries on
 *
 * --no-gc turns automatic collection off (cgc_disable): reference counting
 * still frees everything that is not in a cycle, and an explicit (gc) still
 * collects, but cyclic garbage piles up in between.
 * --malloc takes every block from malloc through a cgc_allocator instead of
 * the built-in pool allocator (doc/embedding.md, section 8, "Where memory
 * comes from").
 *
 * Exit status: 0, 1 after an error in a script, 2 for a usage error or an
 * unreadable file, 3 when values were still allocated after the final
 * teardown (a reference-count leak in the interpreter), 70 out of memory.
 */
#define _POSIX_C_SOURCE 200809L
#include "minilisp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void report(const char *file, long line)
{
    fflush(stdout);
    if (file != NULL)
        fprintf(stderr, "%s:%ld: error: %s\n", file, line, L.errmsg);
    else
        fprintf(stderr, "error: %s\n", L.errmsg);
    lisp_clear_error();
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "r");
    reader r;
    value *x, *v;
    int rc, status = 0;

    if (f == NULL) {
        fprintf(stderr, "minilisp: cannot open %s: %s\n", path, strerror(errno));
        return 2;
    }
    reader_init(&r, f);
    while ((rc = read_datum(&r, &x)) != 0) {
        if (rc < 0) {
            report(path, r.line);
            status = 1;
            break;
        }
        v = eval(x, L.global);
        decref(x);
        if (v == NULL) {
            report(path, r.start_line);
            status = 1;
            break;
        }
        decref(v);
        cgc_collect_if_pending(L.heap);     /* a safe point between forms */
    }
    fclose(f);
    return status;
}

static int run_repl(void)
{
    int tty = isatty(fileno(stdin));
    reader r;
    value *x, *v;
    int rc;

    reader_init(&r, stdin);
    for (;;) {
        if (tty) {
            fputs("> ", stdout);
            fflush(stdout);
        }
        if ((rc = read_datum(&r, &x)) == 0)
            break;
        if (rc < 0) {
            report(NULL, 0);
            reader_skip_line(&r);
            continue;
        }
        v = eval(x, L.global);
        decref(x);
        if (v == NULL) {
            report(NULL, 0);
            continue;
        }
        if (v != LVOID) {
            print_value(stdout, v, 1);
            putchar('\n');
        }
        decref(v);
        cgc_collect_if_pending(L.heap);     /* a safe point between forms */
    }
    if (tty)
        putchar('\n');
    return 0;
}

static void usage(FILE *out)
{
    fputs("usage: minilisp [--no-gc] [--malloc] [FILE]\n"
          "  FILE      run a script (without it: a REPL on standard input)\n"
          "  --no-gc   no automatic cycle collection ((gc) still collects)\n"
          "  --malloc  allocate through malloc instead of cyclegc's pool\n", out);
}

int main(int argc, char **argv)
{
    const char *file = NULL;
    int gc = 1, host_malloc = 0, status, i;
    size_t left;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-gc") == 0) {
            gc = 0;
        } else if (strcmp(argv[i], "--malloc") == 0) {
            host_malloc = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' || file != NULL) {
            usage(stderr);
            return 2;
        } else {
            file = argv[i];
        }
    }
    if (lisp_init(gc, host_malloc) != 0) {
        fputs("minilisp: cannot create the heap\n", stderr);
        return 70;
    }
    status = file != NULL ? run_file(file) : run_repl();
    fflush(stdout);
    /* Free everything, then check that nothing was left: a block still in
       use would be a reference the interpreter forgot to give back. */
    left = lisp_shutdown();
    if (left != 0) {
        fprintf(stderr, "minilisp: %zu blocks still in use at exit (a reference count leak)\n",
                left);
        if (status == 0)
            status = 3;
    }
    return status;
}
