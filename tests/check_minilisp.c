/*
 * check_minilisp.c -- runs the minilisp example interpreter on the scripts
 * of tests/minilisp and checks what it prints.
 *
 * For each NAME.scm in MINILISP_TESTDIR (compiled in, as is MINILISP_BIN,
 * by examples/minilisp/local.mk), the interpreter runs the script and its
 * standard output must match NAME.out line by line.  A line of NAME.out
 * that starts with "~ " is a shell pattern (fnmatch) for the line instead
 * of its exact text: the timing columns of (gc-stats) use it.
 *
 * Lines at the top of a script that start with ";!" set up the run:
 *   ;! args: A B ...   extra command-line arguments, before the script
 *   ;! stdin           run the REPL with the script as standard input
 *                      (instead of passing it as FILE)
 *   ;! status: N       the expected exit status (default 0)
 *   ;! stderr: TEXT    standard error must contain TEXT (may repeat);
 *                      without one, standard error must be empty
 * Whatever the script, standard error must not show a sanitizer report or
 * minilisp's reference-leak message.
 *
 * A few cases below run the interpreter directly: usage errors, a missing
 * file, input nested 100,000 deep, and the DOT dump.
 *
 * The interpreter runs with CYCLEGC_THRESHOLDS and CYCLEGC_DEBUG removed
 * from its environment, so the numbers it prints do not depend on them.
 */
#define _POSIX_C_SOURCE 200809L
#include "testhost.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#if !defined(MINILISP_BIN) || !defined(MINILISP_TESTDIR)
#error "MINILISP_BIN and MINILISP_TESTDIR must be defined (see examples/minilisp/local.mk)"
#endif

#define MAX_SCRIPTS 64
#define MAX_ARGS 16
#define MAX_STDERR 8

static char *scripts[MAX_SCRIPTS];
static int nscripts;

/* ------------------------------------------------------------------ */
/* Running the interpreter                                             */
/* ------------------------------------------------------------------ */

typedef struct run_result {
    int status;         /* exit status, or 128 + signal number */
    char *out, *err;    /* NUL-terminated */
} run_result;

static char *slurp(FILE *f)
{
    size_t len = 0, cap = 4096, n;
    char *buf = malloc(cap);

    ck_assert_ptr_nonnull(buf);
    rewind(f);
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            buf = realloc(buf, cap *= 2);
            ck_assert_ptr_nonnull(buf);
        }
    }
    buf[len] = '\0';
    return buf;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *s;

    if (f == NULL)
        return NULL;
    s = slurp(f);
    fclose(f);
    return s;
}

/* Runs argv[0] (NULL-terminated argv) with stdin from the file stdin_path,
   or holding stdin_data, or empty. */
static void run(char *const argv[], const char *stdin_path, const char *stdin_data,
                run_result *r)
{
    FILE *out = tmpfile(), *err = tmpfile(), *in = NULL;
    pid_t pid;
    int st;

    ck_assert_msg(out != NULL && err != NULL, "tmpfile: %s", strerror(errno));
    if (stdin_data != NULL) {
        in = tmpfile();
        ck_assert_ptr_nonnull(in);
        fputs(stdin_data, in);
        fflush(in);
        rewind(in);
    }
    fflush(NULL);
    pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = in != NULL ? fileno(in)
                 : open(stdin_path != NULL ? stdin_path : "/dev/null", O_RDONLY);
        if (fd < 0 || dup2(fd, 0) < 0 || dup2(fileno(out), 1) < 0 || dup2(fileno(err), 2) < 0)
            _exit(126);
        unsetenv("CYCLEGC_THRESHOLDS");
        unsetenv("CYCLEGC_DEBUG");
        execv(argv[0], argv);
        _exit(127);
    }
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r->out = slurp(out);
    r->err = slurp(err);
    fclose(out);
    fclose(err);
    if (in != NULL)
        fclose(in);
}

static void free_result(run_result *r)
{
    free(r->out);
    free(r->err);
}

/* Shows the whole run in the test log before failing. */
static void dump_run(const char *name, const run_result *r)
{
    fprintf(stderr, "---- %s: exit status %d; stdout:\n%s---- stderr:\n%s----\n", name,
            r->status, r->out, r->err);
}

/* Fails on what must never be on stderr. */
static void check_clean_stderr(const char *name, const run_result *r)
{
    static const char *const bad[] = {
        "AddressSanitizer", "LeakSanitizer", "runtime error:", "still in use at exit"
    };
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (strstr(r->err, bad[i]) != NULL) {
            dump_run(name, r);
            ck_abort_msg("%s: standard error shows \"%s\"", name, bad[i]);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Comparing output                                                    */
/* ------------------------------------------------------------------ */

/* Splits s in place into lines (without their newline); returns the count. */
static size_t split_lines(char *s, char ***lines)
{
    size_t n = 0, cap = 64;
    char **v = malloc(cap * sizeof *v);

    ck_assert_ptr_nonnull(v);
    while (*s != '\0') {
        char *nl = strchr(s, '\n');
        if (n == cap) {
            v = realloc(v, (cap *= 2) * sizeof *v);
            ck_assert_ptr_nonnull(v);
        }
        v[n++] = s;
        if (nl == NULL)
            break;
        *nl = '\0';
        s = nl + 1;
    }
    *lines = v;
    return n;
}

static int ends_line(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && s[n - 1] == '\n';
}

static int line_matches(const char *expected, const char *actual)
{
    if (strncmp(expected, "~ ", 2) == 0)
        return fnmatch(expected + 2, actual, 0) == 0;
    return strcmp(expected, actual) == 0;
}

/* ck_abort_msg on the first difference between expected and actual. */
static void compare_output(const char *name, const char *expected_text, const run_result *r)
{
    char *exp = strdup(expected_text), *act = strdup(r->out);
    char **el, **al;
    size_t ne, na, i;

    ck_assert(exp != NULL && act != NULL);
    ne = split_lines(exp, &el);
    na = split_lines(act, &al);
    for (i = 0; i < ne && i < na; i++) {
        if (!line_matches(el[i], al[i])) {
            dump_run(name, r);
            ck_abort_msg("%s: stdout line %zu is \"%s\", expected \"%s\"", name, i + 1, al[i],
                         el[i]);
        }
    }
    if (ne != na) {
        dump_run(name, r);
        ck_abort_msg("%s: stdout has %zu lines, expected %zu (first difference at line %zu: "
                     "\"%s\")", name, na, ne, i + 1, i < na ? al[i] : el[i]);
    }
    if (ends_line(expected_text) != ends_line(r->out)) {
        dump_run(name, r);
        ck_abort_msg("%s: stdout %s with a newline, expected otherwise", name,
                     ends_line(r->out) ? "ends" : "does not end");
    }
    free(el);
    free(al);
    free(exp);
    free(act);
}

/* ------------------------------------------------------------------ */
/* The script cases                                                    */
/* ------------------------------------------------------------------ */

typedef struct directives {
    char *args[MAX_ARGS];
    int nargs;
    int use_stdin;
    int status;
    char *stderr_has[MAX_STDERR];
    int nstderr;
} directives;

static void parse_directives(const char *name, char *text, directives *d)
{
    char *line = text;

    memset(d, 0, sizeof *d);
    while (line != NULL && line[0] == ';') {
        char *nl = strchr(line, '\n'), *next = nl ? nl + 1 : NULL;
        if (nl != NULL)
            *nl = '\0';
        if (strncmp(line, ";! args:", 8) == 0) {
            char *save = NULL, *tok;
            for (tok = strtok_r(line + 8, " \t", &save); tok != NULL;
                 tok = strtok_r(NULL, " \t", &save)) {
                ck_assert_msg(d->nargs < MAX_ARGS, "%s: too many args", name);
                d->args[d->nargs++] = tok;
            }
        } else if (strcmp(line, ";! stdin") == 0) {
            d->use_stdin = 1;
        } else if (strncmp(line, ";! status:", 10) == 0) {
            d->status = atoi(line + 10);
        } else if (strncmp(line, ";! stderr: ", 11) == 0) {
            ck_assert_msg(d->nstderr < MAX_STDERR, "%s: too many stderr lines", name);
            d->stderr_has[d->nstderr++] = line + 11;
        } else {
            ck_assert_msg(strncmp(line, ";!", 2) != 0, "%s: unknown directive %s", name, line);
        }
        line = next;
    }
}

START_TEST(test_script)
{
    const char *name = scripts[_i];
    char path[4096], outpath[4096], *text, *expected;
    char *argv[MAX_ARGS + 3];
    directives d;
    run_result r;
    int i, argc = 0;

    snprintf(path, sizeof path, "%s/%s.scm", MINILISP_TESTDIR, name);
    snprintf(outpath, sizeof outpath, "%s/%s.out", MINILISP_TESTDIR, name);
    text = read_file(path);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    expected = read_file(outpath);
    ck_assert_msg(expected != NULL, "cannot read %s (every script needs one)", outpath);
    parse_directives(name, text, &d);

    argv[argc++] = (char *) MINILISP_BIN;
    for (i = 0; i < d.nargs; i++)
        argv[argc++] = d.args[i];
    if (!d.use_stdin)
        argv[argc++] = path;
    argv[argc] = NULL;
    run(argv, d.use_stdin ? path : NULL, NULL, &r);

    check_clean_stderr(name, &r);
    if (r.status != d.status) {
        dump_run(name, &r);
        ck_abort_msg("%s: exit status %d, expected %d", name, r.status, d.status);
    }
    for (i = 0; i < d.nstderr; i++) {
        if (strstr(r.err, d.stderr_has[i]) == NULL) {
            dump_run(name, &r);
            ck_abort_msg("%s: standard error lacks \"%s\"", name, d.stderr_has[i]);
        }
    }
    if (d.nstderr == 0 && r.err[0] != '\0') {
        dump_run(name, &r);
        ck_abort_msg("%s: unexpected output on standard error", name);
    }
    compare_output(name, expected, &r);
    free_result(&r);
    free(expected);
    free(text);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Direct cases                                                        */
/* ------------------------------------------------------------------ */

START_TEST(test_usage)
{
    char *bad_opt[] = { (char *) MINILISP_BIN, (char *) "--bogus", NULL };
    char *two_files[] = { (char *) MINILISP_BIN, (char *) "a.scm", (char *) "b.scm", NULL };
    char *help[] = { (char *) MINILISP_BIN, (char *) "--help", NULL };
    run_result r;

    run(bad_opt, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "usage: minilisp"));
    free_result(&r);

    run(two_files, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "usage: minilisp"));
    free_result(&r);

    run(help, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "usage: minilisp"));
    ck_assert_str_eq(r.err, "");
    free_result(&r);
}
END_TEST

START_TEST(test_missing_file)
{
    char *argv[] = { (char *) MINILISP_BIN, (char *) MINILISP_TESTDIR "/no-such-file.scm",
                     NULL };
    run_result r;

    run(argv, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "cannot open"));
    ck_assert_str_eq(r.out, "");
    check_clean_stderr("missing file", &r);
    free_result(&r);
}
END_TEST

/* 100,000 open parentheses on one line: the reader refuses them cleanly,
   the REPL drops the line and evaluates the next one.  A script with the
   same text fails with status 1. */
START_TEST(test_deep_input)
{
    const size_t depth = 100000;
    char *input = malloc(depth + 64), *path;
    char *repl[] = { (char *) MINILISP_BIN, NULL };
    char *script[] = { (char *) MINILISP_BIN, NULL, NULL };
    char tmpl[] = "/tmp/check_minilisp.XXXXXX";
    run_result r;
    FILE *f;
    int fd;

    ck_assert_ptr_nonnull(input);
    memset(input, '(', depth);
    strcpy(input + depth, "\n(+ 40 2)\n");
    run(repl, NULL, input, &r);
    check_clean_stderr("deep input (REPL)", &r);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.err, "error: input nested too deeply"));
    ck_assert_str_eq(r.out, "42\n");
    free_result(&r);

    fd = mkstemp(tmpl);
    ck_assert_int_ge(fd, 0);
    path = tmpl;
    f = fdopen(fd, "w");
    ck_assert_ptr_nonnull(f);
    fputs(input, f);
    fclose(f);
    script[1] = path;
    run(script, NULL, NULL, &r);
    unlink(path);
    check_clean_stderr("deep input (script)", &r);
    ck_assert_int_eq(r.status, 1);
    ck_assert_ptr_nonnull(strstr(r.err, ":1: error: input nested too deeply"));
    ck_assert_str_eq(r.out, "");
    free_result(&r);
    free(input);
}
END_TEST

/* (gc-dump FILE 'unreachable) writes what a full collection would find:
   the node's frame and procedure, and not the live list. */
START_TEST(test_dump)
{
    char dir[] = "/tmp/check_minilisp.XXXXXX", dot[4200], input[8600], *text;
    char *repl[] = { (char *) MINILISP_BIN, NULL };
    run_result r;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(dot, sizeof dot, "%s/unreachable.dot", dir);
    snprintf(input, sizeof input,
             "(define (make-node) (define (self) self) self)\n"
             "(define live (list 'kept-alive))\n"
             "(make-node)\n"
             "(gc-dump \"%s\" 'unreachable)\n"
             "(gc)\n", dot);
    run(repl, NULL, input, &r);
    check_clean_stderr("dump", &r);
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, "#<procedure self>\n2\n");
    free_result(&r);

    text = read_file(dot);
    ck_assert_msg(text != NULL, "%s was not written", dot);
    ck_assert_ptr_nonnull(strstr(text, "digraph"));
    ck_assert_ptr_nonnull(strstr(text, "procedure self"));
    ck_assert_ptr_nonnull(strstr(text, "environment {self}"));
    ck_assert_ptr_null(strstr(text, "kept-alive"));
    free(text);
    unlink(dot);
    rmdir(dir);
}
END_TEST

/* ------------------------------------------------------------------ */

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The NAME of every MINILISP_TESTDIR/NAME.scm, sorted. */
static void find_scripts(void)
{
    glob_t g;
    size_t i;

    if (glob(MINILISP_TESTDIR "/*.scm", 0, NULL, &g) != 0) {
        fprintf(stderr, "check_minilisp: no scripts in %s\n", MINILISP_TESTDIR);
        exit(EXIT_FAILURE);
    }
    for (i = 0; i < g.gl_pathc && nscripts < MAX_SCRIPTS; i++) {
        const char *base = strrchr(g.gl_pathv[i], '/') + 1;
        scripts[nscripts] = strdup(base);
        if (scripts[nscripts] == NULL)
            exit(EXIT_FAILURE);
        scripts[nscripts][strlen(base) - 4] = '\0';       /* drop ".scm" */
        nscripts++;
    }
    globfree(&g);
    qsort(scripts, (size_t) nscripts, sizeof scripts[0], by_name);
}

static Suite *minilisp_suite(void)
{
    Suite *s = suite_create("minilisp");
    TCase *tc = tcase_create("scripts");
    TCase *direct = tcase_create("direct");

    /* Each script is a loop iteration; the 1,000,000-step ones take about
       a second each (more under sanitizers). */
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_script, 0, nscripts);
    suite_add_tcase(s, tc);

    tcase_set_timeout(direct, 60);
    tcase_add_test(direct, test_usage);
    tcase_add_test(direct, test_missing_file);
    tcase_add_test(direct, test_deep_input);
    tcase_add_test(direct, test_dump);
    suite_add_tcase(s, direct);
    return s;
}

int main(void)
{
    find_scripts();
    return th_run_suite(minilisp_suite());
}
