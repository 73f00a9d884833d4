/*
 * check_debug.c -- the observability features: the debug log (CGC_DEBUG_*
 * flags and cgc_set_log), cgc_get_referrers, cgc_get_referents,
 * cgc_explain_alive, cgc_dump_dot and the environment variables read by
 * cgc_heap_new (CYCLEGC_THRESHOLDS, CYCLEGC_DEBUG).
 *
 * Every expectation comes from the comments of include/cyclegc.h and the
 * "Looking without collecting" section of doc/design.md: each test builds a
 * small graph whose answer is known, then compares what the collector
 * reports (log lines parsed back, visited objects, DOT output parsed back)
 * with it, node by node.
 *
 * Files (DOT dumps, captured stderr) go in a fresh mkdtemp directory under
 * /tmp that each test removes when it is done.  The environment tests rely
 * on Check's fork mode (the default) to keep setenv local to one test, and
 * unset both variables again before they return.
 */
#define _POSIX_C_SOURCE 200809L

#include "testhost.h"

#include <check.h>
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Temporary files                                                     */
/* ------------------------------------------------------------------ */

#define TMP_MAXFILES 16

typedef struct tmpdir {
    char dir[64];
    char files[TMP_MAXFILES][128];
    size_t nfiles;
} tmpdir;

static void tmp_open(tmpdir *td)
{
    memset(td, 0, sizeof *td);
    snprintf(td->dir, sizeof td->dir, "/tmp/check_debug.XXXXXX");
    TH_ASSERT(mkdtemp(td->dir) != NULL, "mkdtemp failed");
}

/* A path inside the directory, removed by tmp_close. */
static const char *tmp_path(tmpdir *td, const char *name)
{
    TH_ASSERT(td->nfiles < TMP_MAXFILES, "too many temporary files");
    char buf[sizeof td->files[0]];
    snprintf(buf, sizeof buf, "%s/%s", td->dir, name);
    char *p = td->files[td->nfiles++];
    memcpy(p, buf, sizeof buf);
    return p;
}

static void tmp_close(tmpdir *td)
{
    for (size_t i = 0; i < td->nfiles; i++)
        unlink(td->files[i]);
    rmdir(td->dir);
}

/* The whole file, NUL-terminated (malloc'd). */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    TH_ASSERT(f != NULL, "cannot open %s", path);
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    TH_ASSERT(buf != NULL, "out of memory");
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            TH_ASSERT(buf != NULL, "out of memory");
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        if (got == 0)
            break;
        n += got;
    }
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static size_t count_char(const char *s, char c)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        if (*s == c)
            n++;
    return n;
}

/* stderr (file descriptor 2) redirected to a file for a while. */
typedef struct capture {
    int saved;
    const char *path;
} capture;

static void capture_begin(capture *c, const char *path)
{
    fflush(stderr);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    TH_ASSERT(fd >= 0, "cannot create %s", path);
    c->saved = dup(2);
    TH_ASSERT(c->saved >= 0, "dup(2) failed");
    TH_ASSERT(dup2(fd, 2) == 2, "dup2 failed");
    close(fd);
    c->path = path;
}

/* Restores stderr; returns what was written meanwhile (malloc'd). */
static char *capture_end(capture *c)
{
    fflush(stderr);
    TH_ASSERT(dup2(c->saved, 2) == 2, "dup2 back failed");
    close(c->saved);
    return read_text(c->path);
}

/* ------------------------------------------------------------------ */
/* The debug log                                                       */
/* ------------------------------------------------------------------ */

#define LOG_MAX 512

typedef struct logbuf {
    size_t n;
    char *lines[LOG_MAX];
} logbuf;

static void log_fn(void *ctx, const char *line)
{
    logbuf *l = ctx;
    TH_ASSERT(line != NULL, "log line NULL");
    TH_ASSERT(strchr(line, '\n') == NULL, "log line with a newline: \"%s\"", line);
    TH_ASSERT(strncmp(line, "cyclegc: ", 9) == 0, "log line without the prefix: \"%s\"",
              line);
    TH_ASSERT(l->n < LOG_MAX, "too many log lines");
    l->lines[l->n] = strdup(line);
    TH_ASSERT(l->lines[l->n] != NULL, "out of memory");
    l->n++;
}

static void log_reset(logbuf *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->lines[i]);
    l->n = 0;
}

static size_t log_count_prefix(const logbuf *l, const char *prefix)
{
    size_t n = 0, len = strlen(prefix);
    for (size_t i = 0; i < l->n; i++)
        if (strncmp(l->lines[i], prefix, len) == 0)
            n++;
    return n;
}

static size_t log_count_exact(const logbuf *l, const char *line)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->lines[i], line) == 0)
            n++;
    return n;
}

/* The lines "cyclegc: <what> ..." must be exactly one per node of nodes[]
   (described before the collection, since those nodes may be freed). */
typedef struct expect_set {
    size_t n;
    char lines[16][128];
} expect_set;

static void expect_add(expect_set *e, const char *what, const th_node *n)
{
    char desc[96];
    TH_ASSERT(e->n < 16, "expect_set full");
    th_describe_node(n, desc, sizeof desc);
    snprintf(e->lines[e->n++], sizeof e->lines[0], "cyclegc: %s %s", what, desc);
}

static void expect_exactly(const logbuf *l, const char *what, const expect_set *e)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "cyclegc: %s ", what);
    size_t got = log_count_prefix(l, prefix);
    TH_ASSERT(got == e->n, "%zu \"%s\" lines, expected %zu", got, what, e->n);
    for (size_t i = 0; i < e->n; i++)
        TH_ASSERT(log_count_exact(l, e->lines[i]) == 1, "line \"%s\" seen %zu times",
                  e->lines[i], log_count_exact(l, e->lines[i]));
}

/* "cyclegc: gen G: examined N0 N1 N2, unreachable U, uncollectable K, T.TTTTTT s" */
typedef struct stats_line {
    int gen;
    char ex[3][24];
    size_t unreachable, uncollectable;
    double secs;
} stats_line;

static int parse_stats(const char *line, stats_line *s)
{
    int end = -1;
    if (sscanf(line, "cyclegc: gen %d: examined %23[^ ,] %23[^ ,] %23[^ ,], unreachable %zu, "
               "uncollectable %zu, %lf s%n", &s->gen, s->ex[0], s->ex[1], s->ex[2],
               &s->unreachable, &s->uncollectable, &s->secs, &end) != 7)
        return 0;
    if (end < 0 || line[end] != '\0')
        return 0;
    /* The time has the form digits '.' six digits. */
    const char *t = strrchr(line, ',');
    if (t == NULL || t[1] != ' ')
        return 0;
    t += 2;
    if (!isdigit((unsigned char)*t))
        return 0;
    while (isdigit((unsigned char)*t))
        t++;
    if (*t++ != '.')
        return 0;
    for (int i = 0; i < 6; i++)
        if (!isdigit((unsigned char)*t++))
            return 0;
    return strcmp(t, " s") == 0;
}

/* Checks one parsed stats line; n[i] < 0 means "-" is expected. */
static void expect_stats(const char *line, int gen, long n0, long n1, long n2,
                         size_t unreachable, size_t uncollectable)
{
    stats_line s;
    long n[3] = { n0, n1, n2 };
    TH_ASSERT(parse_stats(line, &s), "malformed stats line \"%s\"", line);
    TH_ASSERT(s.gen == gen, "\"%s\": generation %d, expected %d", line, s.gen, gen);
    for (int i = 0; i < 3; i++) {
        char want[24];
        if (n[i] < 0)
            snprintf(want, sizeof want, "-");
        else
            snprintf(want, sizeof want, "%ld", n[i]);
        TH_ASSERT(strcmp(s.ex[i], want) == 0, "\"%s\": examined[%d] is %s, expected %s",
                  line, i, s.ex[i], want);
    }
    TH_ASSERT(s.unreachable == unreachable, "\"%s\": unreachable %zu, expected %zu", line,
              s.unreachable, unreachable);
    TH_ASSERT(s.uncollectable == uncollectable, "\"%s\": uncollectable %zu, expected %zu",
              line, s.uncollectable, uncollectable);
    TH_ASSERT(s.secs >= 0.0 && s.secs < 60.0, "\"%s\": odd duration", line);
}

/* A node whose one slot points at itself; the caller's reference is dropped,
   so it is garbage.  Returns it (still valid until a collection). */
static th_node *self_loop(th_heap *t, int kind)
{
    th_node *n = th_new(t, kind, 1);
    TH_ASSERT(n != NULL, "cgc_alloc failed");
    th_link(n, 0, n);
    th_decref(n);
    return n;
}

/* ------------------------------------------------------------------ */
/* Recording visits                                                    */
/* ------------------------------------------------------------------ */

#define REC_MAX 64

typedef struct visits {
    size_t n;
    void *obj[REC_MAX];
    size_t stop_at;          /* return stop_rc on visit number stop_at (1-based); 0 never */
    int stop_rc;
} visits;

static int record_visit(void *obj, void *arg)
{
    visits *v = arg;
    TH_ASSERT(v->n < REC_MAX, "too many visits");
    v->obj[v->n++] = obj;
    return v->n == v->stop_at ? v->stop_rc : 0;
}

static size_t visit_count_of(const visits *v, const void *obj)
{
    size_t n = 0;
    for (size_t i = 0; i < v->n; i++)
        if (v->obj[i] == obj)
            n++;
    return n;
}

/* The visited objects are exactly want[0..k-1], in that order. */
static void expect_sequence(const visits *v, th_node *const *want, size_t k)
{
    TH_ASSERT(v->n == k, "%zu objects visited, expected %zu", v->n, k);
    for (size_t i = 0; i < k; i++)
        TH_ASSERT(v->obj[i] == want[i], "visit %zu: %p, expected node#%zu (%p)", i,
                  v->obj[i], want[i]->id, (void *)want[i]);
}

/* Explains obj and checks the chain is exactly want[0..k-1]. */
static void expect_chain(th_heap *t, th_node *obj, th_node *const *want, size_t k)
{
    visits v = { 0 };
    int rc = cgc_explain_alive(t->h, obj, record_visit, &v);
    TH_ASSERT(rc == CGC_OK, "cgc_explain_alive(node#%zu) returned %d", obj->id, rc);
    expect_sequence(&v, want, k);
}

/* ------------------------------------------------------------------ */
/* DOT output parsed back                                              */
/* ------------------------------------------------------------------ */

#define DOT_MAX 128

typedef struct dot_graph {
    size_t nnodes, nedges;
    void *node[DOT_MAX];
    char label[DOT_MAX][256];
    void *from[DOT_MAX], *to[DOT_MAX];
} dot_graph;

/* Parses the whole dump strictly: "digraph cyclegc {", attribute lines
   ("  node [", "  edge [", "  graph ["), node lines, edge lines, "}". */
static void dot_parse_text(const char *text, dot_graph *g)
{
    memset(g, 0, sizeof *g);
    const char *p = text;
    int line_no = 0, closed = 0;
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        TH_ASSERT(nl != NULL, "DOT output does not end with a newline");
        size_t len = (size_t)(nl - p);
        char line[1024];
        TH_ASSERT(len < sizeof line, "DOT line too long");
        memcpy(line, p, len);
        line[len] = '\0';
        p = nl + 1;
        line_no++;
        TH_ASSERT(!closed, "DOT text after the closing brace: \"%s\"", line);
        if (line_no == 1) {
            TH_ASSERT(strcmp(line, "digraph cyclegc {") == 0, "DOT header \"%s\"", line);
            continue;
        }
        if (strcmp(line, "}") == 0) {
            closed = 1;
            continue;
        }
        if (strncmp(line, "  node [", 8) == 0 || strncmp(line, "  edge [", 8) == 0
            || strncmp(line, "  graph [", 9) == 0)
            continue;
        void *a = NULL, *b = NULL;
        int end = -1;
        if (sscanf(line, "  o%p -> o%p;%n", &a, &b, &end) == 2 && end == (int)len) {
            TH_ASSERT(g->nedges < DOT_MAX, "too many DOT edges");
            g->from[g->nedges] = a;
            g->to[g->nedges] = b;
            g->nedges++;
            continue;
        }
        const char *lab = strstr(line, " [label=\"");
        end = -1;
        TH_ASSERT(lab != NULL && sscanf(line, "  o%p [label=%n", &a, &end) == 1
                  && line + end == lab + 8, "unexpected DOT line \"%s\"", line);
        TH_ASSERT(len >= 3 && strcmp(line + len - 3, "\"];") == 0,
                  "DOT node line does not end with \"]; \"%s\"", line);
        TH_ASSERT(g->nnodes < DOT_MAX, "too many DOT nodes");
        size_t llen = (size_t)(line + len - 3 - (lab + 9));
        TH_ASSERT(llen < sizeof g->label[0], "DOT label too long");
        memcpy(g->label[g->nnodes], lab + 9, llen);
        g->label[g->nnodes][llen] = '\0';
        g->node[g->nnodes++] = a;
    }
    TH_ASSERT(line_no >= 2 && closed, "DOT output is not closed by \"}\"");
}

/* Dumps to path and parses it back; returns cgc_dump_dot's result. */
static int dot_dump(th_heap *t, int what, const char *path, dot_graph *g)
{
    FILE *f = fopen(path, "w");
    TH_ASSERT(f != NULL, "cannot create %s", path);
    int rc = cgc_dump_dot(t->h, f, what);
    TH_ASSERT(fclose(f) == 0, "fclose failed");
    if (rc == CGC_OK) {
        char *text = read_text(path);
        dot_parse_text(text, g);
        free(text);
    }
    return rc;
}

static size_t dot_node_count(const dot_graph *g, const void *obj)
{
    size_t n = 0;
    for (size_t i = 0; i < g->nnodes; i++)
        if (g->node[i] == obj)
            n++;
    return n;
}

static size_t dot_edge_count(const dot_graph *g, const void *a, const void *b)
{
    size_t n = 0;
    for (size_t i = 0; i < g->nedges; i++)
        if (g->from[i] == a && g->to[i] == b)
            n++;
    return n;
}

static const char *dot_label(const dot_graph *g, const void *obj)
{
    for (size_t i = 0; i < g->nnodes; i++)
        if (g->node[i] == obj)
            return g->label[i];
    return NULL;
}

/* The drawn nodes are exactly nodes[0..k-1], each once, each labelled with
   the host's describe text. */
static void dot_expect_nodes(const dot_graph *g, th_node *const *nodes, size_t k)
{
    TH_ASSERT(g->nnodes == k, "%zu DOT nodes, expected %zu", g->nnodes, k);
    for (size_t i = 0; i < k; i++) {
        char desc[96];
        TH_ASSERT(dot_node_count(g, nodes[i]) == 1, "node#%zu drawn %zu times",
                  nodes[i]->id, dot_node_count(g, nodes[i]));
        th_describe_node(nodes[i], desc, sizeof desc);
        TH_ASSERT(strcmp(dot_label(g, nodes[i]), desc) == 0, "node#%zu labelled \"%s\"",
                  nodes[i]->id, dot_label(g, nodes[i]));
    }
}

/* The edges are exactly the pairs (from[i], to[i]), each once. */
static void dot_expect_edges(const dot_graph *g, th_node *const *from, th_node *const *to,
                             size_t k)
{
    TH_ASSERT(g->nedges == k, "%zu DOT edges, expected %zu", g->nedges, k);
    for (size_t i = 0; i < k; i++)
        TH_ASSERT(dot_edge_count(g, from[i], to[i]) == 1, "edge node#%zu -> node#%zu "
                  "drawn %zu times", from[i]->id, to[i]->id,
                  dot_edge_count(g, from[i], to[i]));
    for (size_t i = 0; i < g->nedges; i++)
        TH_ASSERT(dot_node_count(g, g->from[i]) == 1 && dot_node_count(g, g->to[i]) == 1,
                  "an edge between objects that are not drawn");
}

static int have_dot(void)
{
    return system("command -v dot >/dev/null 2>&1") == 0;
}

/* Renders path with Graphviz when it is installed: exit status 0 and an
   SVG document. */
static void dot_render(tmpdir *td, const char *path)
{
    if (!have_dot())
        return;
    const char *svg = tmp_path(td, "render.svg");
    const char *err = tmp_path(td, "render.err");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "dot -Tsvg '%s' > '%s' 2> '%s'", path, svg, err);
    int st = system(cmd);
    char *errtext = read_text(err);
    TH_ASSERT(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "dot -Tsvg %s failed (status %d): %s", path, st, errtext);
    free(errtext);
    char *out = read_text(svg);
    TH_ASSERT(strstr(out, "<svg") != NULL, "dot -Tsvg wrote no SVG");
    free(out);
}

/* ------------------------------------------------------------------ */
/* A snapshot of everything the host can observe                       */
/* ------------------------------------------------------------------ */

typedef struct objlist {
    size_t n, cap;
    void **v;
} objlist;

static int collect_obj(void *obj, void *arg)
{
    objlist *l = arg;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        TH_ASSERT(l->v != NULL, "out of memory");
    }
    l->v[l->n++] = obj;
    return 0;
}

enum { SN_COUNTERS = 8 };

typedef struct snapshot {
    int count[3], threshold[3];
    unsigned debug;
    int enabled;
    cgc_gen_stats stats[3];
    objlist gen[3];
    size_t frozen, ngarbage;
    void **garbage;
    size_t nrecs;
    unsigned char *alive, *tracked, *finalized;
    int64_t *refcnt;
    long counters[SN_COUNTERS];
} snapshot;

static const char *const counter_names[SN_COUNTERS] = {
    "finalize_calls", "clear_calls", "weakref_calls", "decref_op_calls",
    "legacy_calls", "deallocs", "live", "created"
};

static void snap_take(th_heap *t, snapshot *s)
{
    memset(s, 0, sizeof *s);
    cgc_get_count(t->h, s->count);
    cgc_get_threshold(t->h, s->threshold);
    s->debug = cgc_get_debug(t->h);
    s->enabled = cgc_is_enabled(t->h);
    for (int g = 0; g < 3; g++) {
        TH_ASSERT(cgc_get_stats(t->h, g, &s->stats[g]) == CGC_OK, "cgc_get_stats");
        TH_ASSERT(cgc_get_objects(t->h, g, collect_obj, &s->gen[g]) == 0, "get_objects");
    }
    s->frozen = cgc_get_freeze_count(t->h);
    s->ngarbage = cgc_garbage_count(t->h);
    s->garbage = calloc(s->ngarbage + 1, sizeof *s->garbage);
    TH_ASSERT(s->garbage != NULL, "out of memory");
    for (size_t i = 0; i < s->ngarbage; i++)
        s->garbage[i] = cgc_garbage_get(t->h, i);
    s->nrecs = t->nrecs;
    s->alive = calloc(s->nrecs, 1);
    s->tracked = calloc(s->nrecs, 1);
    s->finalized = calloc(s->nrecs, 1);
    s->refcnt = calloc(s->nrecs, sizeof *s->refcnt);
    TH_ASSERT(s->alive && s->tracked && s->finalized && s->refcnt, "out of memory");
    for (size_t id = 1; id < s->nrecs; id++) {
        const th_rec *r = th_record(t, id);
        s->alive[id] = r->alive;
        if (r->alive) {
            s->tracked[id] = (unsigned char)cgc_is_tracked(r->node);
            s->finalized[id] = (unsigned char)cgc_is_finalized(r->node);
            s->refcnt[id] = th_refcnt(r->node);
        }
    }
    long c[SN_COUNTERS] = { t->finalize_calls, t->clear_calls, t->weakref_calls,
                            t->decref_op_calls, t->legacy_calls, t->deallocs, t->live,
                            t->created };
    memcpy(s->counters, c, sizeof c);
}

static void snap_free(snapshot *s)
{
    for (int g = 0; g < 3; g++)
        free(s->gen[g].v);
    free(s->garbage);
    free(s->alive);
    free(s->tracked);
    free(s->finalized);
    free(s->refcnt);
}

static void snap_expect_same(const snapshot *a, const snapshot *b, const char *after)
{
    for (int g = 0; g < 3; g++) {
        TH_ASSERT(a->count[g] == b->count[g], "%s: count[%d] %d -> %d", after, g,
                  a->count[g], b->count[g]);
        TH_ASSERT(a->threshold[g] == b->threshold[g], "%s: threshold[%d] changed", after, g);
        TH_ASSERT(memcmp(&a->stats[g], &b->stats[g], sizeof a->stats[g]) == 0,
                  "%s: the statistics of generation %d changed", after, g);
        TH_ASSERT(a->gen[g].n == b->gen[g].n, "%s: generation %d held %zu objects, now %zu",
                  after, g, a->gen[g].n, b->gen[g].n);
        for (size_t i = 0; i < a->gen[g].n; i++)
            TH_ASSERT(a->gen[g].v[i] == b->gen[g].v[i], "%s: generation %d, position %zu: "
                      "another object (order or membership changed)", after, g, i);
    }
    TH_ASSERT(a->debug == b->debug && a->enabled == b->enabled, "%s: debug/enabled", after);
    TH_ASSERT(a->frozen == b->frozen, "%s: freeze count %zu -> %zu", after, a->frozen,
              b->frozen);
    TH_ASSERT(a->ngarbage == b->ngarbage, "%s: garbage count changed", after);
    for (size_t i = 0; i < a->ngarbage; i++)
        TH_ASSERT(a->garbage[i] == b->garbage[i], "%s: garbage entry %zu changed", after, i);
    TH_ASSERT(a->nrecs == b->nrecs, "%s: nodes were created", after);
    for (size_t id = 1; id < a->nrecs; id++) {
        TH_ASSERT(a->alive[id] == b->alive[id], "%s: node#%zu alive %d -> %d", after, id,
                  a->alive[id], b->alive[id]);
        TH_ASSERT(a->tracked[id] == b->tracked[id], "%s: node#%zu is_tracked %d -> %d",
                  after, id, a->tracked[id], b->tracked[id]);
        TH_ASSERT(a->finalized[id] == b->finalized[id], "%s: node#%zu is_finalized %d -> %d",
                  after, id, a->finalized[id], b->finalized[id]);
        TH_ASSERT(a->refcnt[id] == b->refcnt[id], "%s: node#%zu count %lld -> %lld", after,
                  id, (long long)a->refcnt[id], (long long)b->refcnt[id]);
    }
    for (int i = 0; i < SN_COUNTERS; i++)
        TH_ASSERT(a->counters[i] == b->counters[i], "%s: host counter %s %ld -> %ld", after,
                  counter_names[i], a->counters[i], b->counters[i]);
}

/* ================================================================== */
/* The debug log                                                       */
/* ================================================================== */

/* One STATS line per collection, with the sizes of the examined
   generations at the start, "-" for the others, and the totals. */
START_TEST(test_stats_lines)
{
    th_heap *t = th_quiet_heap(0);
    logbuf log = { 0 };
    cgc_set_log(t->h, log_fn, &log);

    /* Generation 2: a1, a2 (held) and a3 (a self loop, held for now). */
    th_node *a1 = th_new(t, TH_PLAIN, 1), *a2 = th_new(t, TH_PLAIN, 1);
    th_node *a3 = th_new(t, TH_PLAIN, 1);
    th_link(a3, 0, a3);
    ck_assert_int_eq(cgc_collect(t->h, 1), 0);
    /* Generation 1: b1, b2 (held). */
    th_node *b1 = th_new(t, TH_PLAIN, 1), *b2 = th_new(t, TH_PLAIN, 1);
    ck_assert_int_eq(cgc_collect(t->h, 0), 0);
    ck_assert_uint_eq(log.n, 0);               /* no flag, no line */
    /* Generation 0: c1, c2 (held) and a garbage 2-ring. */
    th_node *c1 = th_new(t, TH_PLAIN, 1), *c2 = th_new(t, TH_PLAIN, 1);
    th_decref(th_ring(t, TH_PLAIN, 2, NULL));
    ck_assert_uint_eq(th_gen_count(t, 0), 4);
    ck_assert_uint_eq(th_gen_count(t, 1), 2);
    ck_assert_uint_eq(th_gen_count(t, 2), 3);

    cgc_set_debug(t->h, CGC_DEBUG_STATS);
    ck_assert_int_eq(cgc_collect(t->h, 0), 2);
    ck_assert_uint_eq(log.n, 1);
    expect_stats(log.lines[0], 0, 4, -1, -1, 2, 0);

    /* Generation 1 now holds b1, b2, c1, c2; make b1 <-> b2 garbage there.
       Generation 0: d1 (held) and a legacy self loop. */
    th_link(b1, 0, b2);
    th_link(b2, 0, b1);
    th_decref(b1);
    th_decref(b2);
    th_node *d1 = th_new(t, TH_PLAIN, 1);
    self_loop(t, TH_LEGACY);
    ck_assert_int_eq(cgc_collect(t->h, 1), 3);
    ck_assert_uint_eq(log.n, 2);
    expect_stats(log.lines[1], 1, 2, 4, -1, 3, 1);
    ck_assert_uint_eq(cgc_garbage_count(t->h), 1);

    /* Generation 2: a1, a2, a3 + c1, c2, d1 and the legacy node (kept by
       the garbage list).  Dropping a3 makes it garbage. */
    th_decref(a3);
    ck_assert_uint_eq(th_gen_count(t, 2), 7);
    ck_assert_int_eq(cgc_collect(t->h, 2), 1);
    ck_assert_uint_eq(log.n, 3);
    expect_stats(log.lines[2], 2, 0, 0, 7, 1, 0);

    /* An empty collection still logs its line. */
    ck_assert_int_eq(cgc_collect(t->h, 0), 0);
    ck_assert_uint_eq(log.n, 4);
    expect_stats(log.lines[3], 0, 0, -1, -1, 0, 0);

    /* Flag off again: no more lines. */
    cgc_set_debug(t->h, 0);
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    ck_assert_uint_eq(log.n, 4);

    th_decref(a1);
    th_decref(a2);
    th_decref(c1);
    th_decref(c2);
    th_decref(d1);
    log_reset(&log);
    th_heap_free(t);
}
END_TEST

/* The STATS line agrees with cgc_collect's result, the STOP callback and
   the statistics, on an automatic collection too. */
START_TEST(test_stats_line_matches_callback)
{
    th_heap *t = th_heap_new(0, 5, 10, 10);
    ck_assert_ptr_nonnull(t);
    logbuf log = { 0 };
    th_cblog *cb = th_cblog_new();
    cgc_set_log(t->h, log_fn, &log);
    ck_assert_int_eq(cgc_add_callback(t->h, th_cblog_fn, cb), CGC_OK);
    cgc_set_debug(t->h, CGC_DEBUG_STATS);

    /* Each 2-ring takes two allocations: a collection of generation 0 runs
       automatically on the sixth allocation, before that node exists. */
    for (int i = 0; i < 3; i++)
        th_decref(th_ring(t, TH_PLAIN, 2, NULL));
    ck_assert_uint_eq(cb->stops, 1);
    ck_assert_uint_eq(log.n, 1);
    stats_line s;
    ck_assert(parse_stats(log.lines[0], &s));
    ck_assert_int_eq(s.gen, cb->ev[1].generation);
    ck_assert_uint_eq(s.unreachable, cb->ev[1].collected + cb->ev[1].uncollectable);
    ck_assert_uint_eq(s.uncollectable, cb->ev[1].uncollectable);
    ck_assert_str_eq(s.ex[0], "5");       /* two rings and the first node of the third */
    ck_assert_uint_eq(s.unreachable, 4);

    th_decref(th_ring(t, TH_LEGACY, 3, NULL));
    long r = cgc_collect(t->h, 2);
    ck_assert_uint_eq(log.n, 2);
    ck_assert(parse_stats(log.lines[1], &s));
    ck_assert_uint_eq(s.unreachable, (size_t)r);
    ck_assert_uint_eq(s.uncollectable, 3);
    ck_assert_uint_eq(s.unreachable, 5);          /* the rest of the third ring, 3 legacy */
    cgc_gen_stats st = th_stats(t, 2);
    ck_assert_uint_eq(st.collected + st.uncollectable, s.unreachable);

    free(cb);
    log_reset(&log);
    th_heap_free(t);
}
END_TEST

/* COLLECTABLE and UNCOLLECTABLE lines name exactly the objects cleared and
   the objects set aside: resurrected ones are in neither, legacy ones and
   what they reach are uncollectable. */
START_TEST(test_collectable_uncollectable_lines)
{
    th_heap *t = th_quiet_heap(0);
    logbuf log = { 0 };
    expect_set coll = { 0 }, uncoll = { 0 };
    cgc_set_log(t->h, log_fn, &log);

    /* Plain garbage: p1 <-> p2, and z -> p1 (z unreachable too, a self
       loop so that reference counting leaves it to the collector). */
    th_node *p1 = th_new(t, TH_PLAIN, 1), *p2 = th_new(t, TH_PLAIN, 1);
    th_node *z = th_new(t, TH_PLAIN, 2);
    th_link(p1, 0, p2);
    th_link(p2, 0, p1);
    th_link(z, 0, p1);
    th_link(z, 1, z);
    expect_add(&coll, "collectable", p1);
    expect_add(&coll, "collectable", p2);
    expect_add(&coll, "collectable", z);
    /* Resurrected: r <-> q, r's finalizer stores r away. */
    th_node *r = th_new(t, TH_RESURRECT, 1), *q = th_new(t, TH_PLAIN, 1);
    th_link(r, 0, q);
    th_link(q, 0, r);
    /* Legacy: l -> m -> n -> l, and x -> l from plain garbage x. */
    th_node *l = th_new(t, TH_LEGACY, 1), *m = th_new(t, TH_PLAIN, 1);
    th_node *n = th_new(t, TH_FINALIZER, 1), *x = th_new(t, TH_PLAIN, 2);
    th_link(l, 0, m);
    th_link(m, 0, n);
    th_link(n, 0, l);
    th_link(x, 0, l);
    th_link(x, 1, x);
    expect_add(&uncoll, "uncollectable", l);
    expect_add(&uncoll, "uncollectable", m);
    expect_add(&uncoll, "uncollectable", n);
    expect_add(&coll, "collectable", x);
    /* A live node, not garbage. */
    th_node *live = th_new(t, TH_PLAIN, 1);
    th_link(live, 0, live);
    size_t ids[] = { p1->id, p2->id, z->id, x->id };
    th_node *drop[] = { p1, p2, z, r, q, l, m, n, x };
    for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
        th_decref(drop[i]);

    cgc_set_debug(t->h, CGC_DEBUG_COLLECTABLE | CGC_DEBUG_UNCOLLECTABLE | CGC_DEBUG_STATS);
    ck_assert_int_eq(cgc_collect(t->h, 2), 4 + 3);
    expect_exactly(&log, "collectable", &coll);
    expect_exactly(&log, "uncollectable", &uncoll);
    ck_assert_uint_eq(log_count_prefix(&log, "cyclegc: gen "), 1);
    ck_assert_uint_eq(log.n, 4 + 3 + 1);
    expect_stats(log.lines[log.n - 1], 2, 10, 0, 0, 7, 3);
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        ck_assert(!th_alive(t, ids[i]));
    ck_assert(cgc_is_finalized(r) && cgc_is_tracked(r));
    ck_assert_uint_eq(cgc_garbage_count(t->h), 1);
    ck_assert_ptr_eq(cgc_garbage_get(t->h, 0), l);

    /* Only one of the two flags: only its lines. */
    log_reset(&log);
    expect_set none = { 0 }, one = { 0 };
    self_loop(t, TH_PLAIN);        /* collectable, but that flag is off */
    th_node *w = self_loop(t, TH_LEGACY);
    expect_add(&one, "uncollectable", w);
    cgc_set_debug(t->h, CGC_DEBUG_UNCOLLECTABLE);
    ck_assert_int_eq(cgc_collect(t->h, 2), 2);
    expect_exactly(&log, "collectable", &none);
    expect_exactly(&log, "uncollectable", &one);
    ck_assert_uint_eq(log.n, 1);

    log_reset(&log);
    th_node *v = self_loop(t, TH_PLAIN);
    expect_set vset = { 0 };
    expect_add(&vset, "collectable", v);
    cgc_set_debug(t->h, CGC_DEBUG_COLLECTABLE);
    ck_assert_int_eq(cgc_collect(t->h, 2), 1);
    expect_exactly(&log, "collectable", &vset);
    ck_assert_uint_eq(log.n, 1);

    /* A resurrected object that later dies again is collectable then. */
    log_reset(&log);
    expect_set rset = { 0 };
    expect_add(&rset, "collectable", r);
    expect_add(&rset, "collectable", q);
    ck_assert_uint_eq(th_drop_resurrected(t), 1);
    ck_assert_int_eq(cgc_collect(t->h, 2), 2);
    expect_exactly(&log, "collectable", &rset);
    ck_assert_uint_eq(log.n, 2);

    th_decref(live);
    log_reset(&log);
    th_heap_free(t);
}
END_TEST

/* Without ops.describe the text is "object at 0x...", for both kinds of
   lines. */
START_TEST(test_log_without_describe)
{
    th_heap *t = th_quiet_heap(TH_F_NO_DESCRIBE);
    logbuf log = { 0 };
    char want_c[96], want_u[96];
    cgc_set_log(t->h, log_fn, &log);
    th_node *a = self_loop(t, TH_PLAIN);
    th_node *b = self_loop(t, TH_LEGACY);
    snprintf(want_c, sizeof want_c, "cyclegc: collectable object at %p", (void *)a);
    snprintf(want_u, sizeof want_u, "cyclegc: uncollectable object at %p", (void *)b);
    ck_assert(strstr(want_c, "object at 0x") != NULL);
    cgc_set_debug(t->h, CGC_DEBUG_COLLECTABLE | CGC_DEBUG_UNCOLLECTABLE);
    ck_assert_int_eq(cgc_collect(t->h, 2), 2);
    ck_assert_uint_eq(log.n, 2);
    ck_assert_uint_eq(log_count_exact(&log, want_c), 1);
    ck_assert_uint_eq(log_count_exact(&log, want_u), 1);
    ck_assert_int_eq(t->describe_calls, 0);
    log_reset(&log);
    th_heap_free(t);
}
END_TEST

/* CGC_DEBUG_LEAK: saved objects count as collected (doc/design.md), so
   each is logged once as collectable, as CPython's DEBUG_LEAK does; the
   legacy ones once as uncollectable; all go on the garbage list. */
START_TEST(test_log_leak)
{
    th_heap *t = th_quiet_heap(0);
    logbuf log = { 0 };
    expect_set coll = { 0 }, uncoll = { 0 };
    cgc_set_log(t->h, log_fn, &log);
    size_t ids[2];
    th_node *r = th_ring(t, TH_PLAIN, 2, ids);
    expect_add(&coll, "collectable", r);
    expect_add(&coll, "collectable", r->slots[0]);
    th_decref(r);
    th_node *l = self_loop(t, TH_LEGACY);
    expect_add(&uncoll, "uncollectable", l);
    cgc_set_debug(t->h, CGC_DEBUG_LEAK | CGC_DEBUG_STATS);
    ck_assert_int_eq(cgc_collect(t->h, 2), 3);
    expect_exactly(&log, "collectable", &coll);
    expect_exactly(&log, "uncollectable", &uncoll);
    ck_assert_uint_eq(log.n, 4);
    expect_stats(log.lines[3], 2, 3, 0, 0, 3, 1);
    ck_assert_uint_eq(cgc_garbage_count(t->h), 3);
    ck_assert_int_eq(t->clear_calls, 0);
    ck_assert(th_alive(t, ids[0]) && th_alive(t, ids[1]));
    log_reset(&log);
    th_heap_free(t);
}
END_TEST

/* The default sink is stderr, one line per message followed by a newline;
   cgc_set_log(h, NULL, ...) restores it. */
START_TEST(test_log_default_stderr)
{
    tmpdir td;
    tmp_open(&td);
    th_heap *t = th_quiet_heap(0);
    logbuf log = { 0 };
    capture cap;

    cgc_set_debug(t->h, CGC_DEBUG_STATS | CGC_DEBUG_COLLECTABLE);
    self_loop(t, TH_PLAIN);
    capture_begin(&cap, tmp_path(&td, "stderr1"));
    long r = cgc_collect(t->h, 2);
    char *err = capture_end(&cap);
    ck_assert_int_eq(r, 1);
    ck_assert_uint_eq(count_char(err, '\n'), 2);
    ck_assert(strncmp(err, "cyclegc: collectable node#", 26) == 0);
    char *second = strchr(err, '\n') + 1;
    const char *want = "cyclegc: gen 2: examined 1 0 0, unreachable 1, uncollectable 0, ";
    ck_assert_msg(strncmp(second, want, strlen(want)) == 0, "stderr: \"%s\"", err);
    ck_assert(err[strlen(err) - 1] == '\n');
    free(err);

    /* A custom sink takes the lines away from stderr ... */
    cgc_set_log(t->h, log_fn, &log);
    self_loop(t, TH_PLAIN);
    capture_begin(&cap, tmp_path(&td, "stderr2"));
    r = cgc_collect(t->h, 2);
    err = capture_end(&cap);
    ck_assert_int_eq(r, 1);
    ck_assert_str_eq(err, "");
    ck_assert_uint_eq(log.n, 2);
    free(err);

    /* ... and NULL gives them back. */
    cgc_set_log(t->h, NULL, &log);
    cgc_set_debug(t->h, CGC_DEBUG_STATS);
    capture_begin(&cap, tmp_path(&td, "stderr3"));
    r = cgc_collect(t->h, 0);
    err = capture_end(&cap);
    ck_assert_int_eq(r, 0);
    ck_assert_uint_eq(log.n, 2);
    ck_assert_uint_eq(count_char(err, '\n'), 1);
    err[strlen(err) - 1] = '\0';
    expect_stats(err, 0, 0, -1, -1, 0, 0);
    free(err);

    log_reset(&log);
    th_heap_free(t);
    tmp_close(&td);
}
END_TEST

/* ================================================================== */
/* Referrers and referents                                             */
/* ================================================================== */

START_TEST(test_referrers)
{
    th_heap *t = th_quiet_heap(0);
    th_node *f = th_new(t, TH_PLAIN, 1);         /* frozen, refers to target */
    cgc_freeze(t->h);
    th_node *target = th_new(t, TH_PLAIN, 1);
    th_node *a = th_new(t, TH_PLAIN, 3);         /* refers to target twice */
    th_node *other = th_new(t, TH_PLAIN, 2);     /* refers to something else */
    ck_assert_int_eq(cgc_collect(t->h, 1), 0);   /* target, a, other: generation 2 */
    th_node *b = th_new(t, TH_PLAIN, 1);
    ck_assert_int_eq(cgc_collect(t->h, 0), 0);   /* b: generation 1 */
    th_node *c = th_new(t, TH_PLAIN, 2);         /* generation 0 */
    th_node *u = th_new_untracked(t, TH_PLAIN, 1);   /* untracked: never a referrer */
    th_link(f, 0, target);
    th_link(a, 0, target);
    th_link(a, 2, target);
    th_link(a, 1, other);
    th_link(other, 1, b);
    th_link(b, 0, target);
    th_link(c, 1, target);
    th_link(target, 0, target);                  /* its own referrer */
    th_link(u, 0, target);

    visits v = { 0 };
    ck_assert_int_eq(cgc_get_referrers(t->h, target, record_visit, &v), 0);
    ck_assert_uint_eq(v.n, 4);
    ck_assert_uint_eq(visit_count_of(&v, a), 1);
    ck_assert_uint_eq(visit_count_of(&v, b), 1);
    ck_assert_uint_eq(visit_count_of(&v, c), 1);
    ck_assert_uint_eq(visit_count_of(&v, target), 1);

    /* Referrers of b: other only; of c: nobody. */
    memset(&v, 0, sizeof v);
    ck_assert_int_eq(cgc_get_referrers(t->h, b, record_visit, &v), 0);
    ck_assert_uint_eq(v.n, 1);
    ck_assert_ptr_eq(v.obj[0], other);
    memset(&v, 0, sizeof v);
    ck_assert_int_eq(cgc_get_referrers(t->h, c, record_visit, &v), 0);
    ck_assert_uint_eq(v.n, 0);
    /* An untracked target works too. */
    memset(&v, 0, sizeof v);
    ck_assert_int_eq(cgc_get_referrers(t->h, u, record_visit, &v), 0);
    ck_assert_uint_eq(v.n, 0);

    /* Early stop: the visit's value comes back at once. */
    memset(&v, 0, sizeof v);
    v.stop_at = 1;
    v.stop_rc = 42;
    ck_assert_int_eq(cgc_get_referrers(t->h, target, record_visit, &v), 42);
    ck_assert_uint_eq(v.n, 1);
    memset(&v, 0, sizeof v);
    v.stop_at = 3;
    v.stop_rc = -7;
    ck_assert_int_eq(cgc_get_referrers(t->h, target, record_visit, &v), -7);
    ck_assert_uint_eq(v.n, 3);
    /* The walk left the generations intact. */
    th_check_consistent(t);
    ck_assert_int_eq(th_gen_of(t, a), 2);
    ck_assert_int_eq(th_gen_of(t, b), 1);
    ck_assert_int_eq(th_gen_of(t, c), 0);

    /* Bad arguments. */
    memset(&v, 0, sizeof v);
    ck_assert_int_eq(cgc_get_referrers(NULL, target, record_visit, &v), CGC_EINVAL);
    ck_assert_int_eq(cgc_get_referrers(t->h, NULL, record_visit, &v), CGC_EINVAL);
    ck_assert_int_eq(cgc_get_referrers(t->h, target, NULL, &v), CGC_EINVAL);
    ck_assert_uint_eq(v.n, 0);

    th_decref(u);
    th_decref(a);
    th_decref(b);
    th_decref(c);
    th_decref(target);
    th_heap_free(t);
}
END_TEST

START_TEST(test_referents)
{
    th_heap *t = th_quiet_heap(0);
    th_node *a = th_new(t, TH_PLAIN, 5);
    th_node *x = th_new(t, TH_PLAIN, 0), *y = th_new(t, TH_PLAIN, 0);
    th_node *u = th_new_untracked(t, TH_PLAIN, 2);
    th_link(a, 0, x);
    th_link(a, 2, x);               /* twice: reported twice */
    th_link(a, 3, u);               /* an untracked referent is reported too */
    th_link(a, 4, y);
    th_link(u, 1, a);

    visits v = { 0 };
    ck_assert_int_eq(cgc_get_referents(t->h, a, record_visit, &v), 0);
    th_node *want[] = { x, x, u, y };
    expect_sequence(&v, want, 4);

    /* obj may be untracked. */
    memset(&v, 0, sizeof v);
    ck_assert_int_eq(cgc_get_referents(t->h, u, record_visit, &v), 0);
    th_node *want_u[] = { a };
    expect_sequence(&v, want_u, 1);
    /* Nothing to report. */
    memset(&v, 0, sizeof v);
    ck_assert_int_eq(cgc_get_referents(t->h, x, record_visit, &v), 0);
    ck_assert_uint_eq(v.n, 0);
    /* Early stop. */
    memset(&v, 0, sizeof v);
    v.stop_at = 2;
    v.stop_rc = 13;
    ck_assert_int_eq(cgc_get_referents(t->h, a, record_visit, &v), 13);
    ck_assert_uint_eq(v.n, 2);
    /* Bad arguments. */
    ck_assert_int_eq(cgc_get_referents(NULL, a, record_visit, &v), CGC_EINVAL);
    ck_assert_int_eq(cgc_get_referents(t->h, NULL, record_visit, &v), CGC_EINVAL);
    ck_assert_int_eq(cgc_get_referents(t->h, a, NULL, &v), CGC_EINVAL);
    ck_assert_uint_eq(v.n, 2);

    th_link(u, 1, NULL);
    th_decref(u);
    th_decref(x);
    th_decref(y);
    th_decref(a);
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
}
END_TEST

/* A get_referrers visit may collect (0: a walk is running), allocate and
   track; explain_alive and dump_dot answer CGC_EBUSY meanwhile. */
typedef struct reent_ctx {
    th_heap *t;
    th_node *target;
    th_node *made[8];
    size_t nmade;
    size_t visited;
    long collect_rc[8];
    int explain_rc[8], dot_rc[8];
    FILE *out;
} reent_ctx;

static int reent_visit(void *obj, void *arg)
{
    reent_ctx *c = arg;
    TH_ASSERT(c->visited < 8, "too many visits");
    c->collect_rc[c->visited] = cgc_collect(c->t->h, 2);
    visits v = { 0 };
    c->explain_rc[c->visited] = cgc_explain_alive(c->t->h, obj, record_visit, &v);
    TH_ASSERT(v.n == 0, "explain_alive visited objects during a walk");
    c->dot_rc[c->visited] = cgc_dump_dot(c->t->h, c->out, CGC_DOT_UNREACHABLE);
    c->visited++;
    th_node *n = th_new(c->t, TH_PLAIN, 1);
    TH_ASSERT(n != NULL, "cgc_alloc failed in a visit");
    th_link(n, 0, c->target);         /* a referrer too: it may or may not be visited */
    c->made[c->nmade++] = n;
    return 0;
}

START_TEST(test_referrers_reentrant)
{
    tmpdir td;
    tmp_open(&td);
    th_heap *t = th_quiet_heap(0);
    reent_ctx c = { 0 };
    const char *path = tmp_path(&td, "busy.dot");
    c.out = fopen(path, "w");
    ck_assert_ptr_nonnull(c.out);
    c.t = t;
    c.target = th_new(t, TH_PLAIN, 0);
    th_node *r1 = th_new(t, TH_PLAIN, 1);
    ck_assert_int_eq(cgc_collect(t->h, 0), 0);
    th_node *r2 = th_new(t, TH_PLAIN, 1);
    th_link(r1, 0, c.target);
    th_link(r2, 0, c.target);
    th_node *g = th_ring(t, TH_PLAIN, 3, NULL);   /* garbage, kept until after the walk */
    size_t ring_id = g->id;
    th_decref(g);
    cgc_gen_stats before = th_stats(t, 2);

    ck_assert_int_eq(cgc_get_referrers(t->h, c.target, reent_visit, &c), 0);
    ck_assert_uint_eq(c.visited, c.nmade);
    ck_assert_uint_ge(c.visited, 2);
    for (size_t i = 0; i < c.visited; i++) {
        ck_assert_int_eq(c.collect_rc[i], 0);
        ck_assert_int_eq(c.explain_rc[i], CGC_EBUSY);
        ck_assert_int_eq(c.dot_rc[i], CGC_EBUSY);
    }
    fclose(c.out);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, 0);           /* a refused dump writes nothing */
    cgc_gen_stats after = th_stats(t, 2);
    ck_assert_uint_eq(after.collections, before.collections);
    ck_assert(th_alive(t, ring_id));
    th_check_consistent(t);
    for (size_t i = 0; i < c.nmade; i++) {
        ck_assert(cgc_is_tracked(c.made[i]));
        ck_assert_int_eq(th_gen_of(t, c.made[i]), 0);
    }

    /* Afterwards the referrers are r1, r2 and every new node, once each. */
    visits v = { 0 };
    ck_assert_int_eq(cgc_get_referrers(t->h, c.target, record_visit, &v), 0);
    ck_assert_uint_eq(v.n, 2 + c.nmade);
    ck_assert_uint_eq(visit_count_of(&v, r1), 1);
    ck_assert_uint_eq(visit_count_of(&v, r2), 1);
    for (size_t i = 0; i < c.nmade; i++)
        ck_assert_uint_eq(visit_count_of(&v, c.made[i]), 1);
    /* Collections work again: the ring goes. */
    ck_assert_int_eq(cgc_collect(t->h, 2), 3);
    for (size_t i = 0; i < c.nmade; i++)
        th_decref(c.made[i]);
    th_decref(r1);
    th_decref(r2);
    th_decref(c.target);
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
    tmp_close(&td);
}
END_TEST

/* ================================================================== */
/* cgc_explain_alive                                                   */
/* ================================================================== */

START_TEST(test_explain_chain)
{
    th_heap *t = th_quiet_heap(0);
    th_node *root = th_new(t, TH_PLAIN, 1), *a = th_new(t, TH_PLAIN, 2);
    ck_assert_int_eq(cgc_collect(t->h, 1), 0);             /* root, a: generation 2 */
    th_node *b = th_new(t, TH_PLAIN, 1);
    ck_assert_int_eq(cgc_collect(t->h, 0), 0);             /* b: generation 1 */
    th_node *c = th_new(t, TH_PLAIN, 1);                   /* generation 0 */
    th_node *other = th_new(t, TH_PLAIN, 1), *d = th_new(t, TH_PLAIN, 1);
    th_link(root, 0, a);
    th_link(a, 0, b);
    th_link(b, 0, c);
    th_link(c, 0, a);              /* a cycle back: still one shortest chain */
    th_link(a, 1, a);
    th_link(other, 0, d);
    th_decref(a);
    th_decref(b);
    th_decref(c);
    th_decref(d);

    th_node *want[] = { root, a, b, c };
    expect_chain(t, c, want, 4);
    expect_chain(t, b, want, 3);
    expect_chain(t, a, want, 2);
    expect_chain(t, root, want, 1);
    th_node *want_d[] = { other, d };
    expect_chain(t, d, want_d, 2);
    th_check_consistent(t);

    th_decref(root);
    th_decref(other);
    ck_assert_int_eq(cgc_collect(t->h, 2), 3);
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
}
END_TEST

/* Of two paths the shorter one, wherever the roots are. */
START_TEST(test_explain_shortest)
{
    th_heap *t = th_quiet_heap(0);
    /* Long path first, so that list order favours it. */
    th_node *root = th_new(t, TH_PLAIN, 2);
    th_node *x1 = th_new(t, TH_PLAIN, 1), *x2 = th_new(t, TH_PLAIN, 1);
    th_node *x3 = th_new(t, TH_PLAIN, 1);
    th_node *target = th_new(t, TH_PLAIN, 1);
    th_node *y = th_new(t, TH_PLAIN, 1);
    th_node *r2 = th_new(t, TH_PLAIN, 1), *z1 = th_new(t, TH_PLAIN, 1);
    th_node *z2 = th_new(t, TH_PLAIN, 1);
    th_link(root, 0, x1);
    th_link(x1, 0, x2);
    th_link(x2, 0, x3);
    th_link(x3, 0, target);
    th_link(root, 1, y);
    th_link(y, 0, target);
    th_link(r2, 0, z1);
    th_link(z1, 0, z2);
    th_link(z2, 0, target);
    th_link(target, 0, root);      /* target reaches back to root */
    th_node *drop[] = { x1, x2, x3, target, y, z1, z2 };
    for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
        th_decref(drop[i]);

    th_node *want[] = { root, y, target };
    expect_chain(t, target, want, 3);
    th_node *want_x3[] = { root, x1, x2, x3 };
    expect_chain(t, x3, want_x3, 4);

    /* A third root pointing straight at target wins. */
    th_node *r3 = th_new(t, TH_PLAIN, 1);
    th_link(r3, 0, target);
    th_node *want3[] = { r3, target };
    expect_chain(t, target, want3, 2);
    th_link(r3, 0, NULL);
    expect_chain(t, target, want, 3);

    /* Once y is gone, the shortest is through r2 (3 hops from r2 vs 4 from root). */
    size_t yid = y->id;
    th_link(root, 1, NULL);
    ck_assert(!th_alive(t, yid));
    th_node *want2[] = { r2, z1, z2, target };
    expect_chain(t, target, want2, 4);

    th_decref(r3);
    th_decref(r2);                 /* frees r2, z1, z2 */
    th_decref(root);
    ck_assert_int_eq(cgc_collect(t->h, 2), 5);     /* root, x1, x2, x3, target */
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
}
END_TEST

/* A root's chain is the root alone; a reference from an untracked object
   (outside the tracked set) makes a root. */
START_TEST(test_explain_roots)
{
    th_heap *t = th_quiet_heap(0);
    th_node *root = th_new(t, TH_PLAIN, 1), *a = th_new(t, TH_PLAIN, 1);
    th_link(root, 0, a);            /* a is held by the test AND by root */
    th_node *want_a[] = { a };
    expect_chain(t, a, want_a, 1);

    th_node *u = th_new_untracked(t, TH_PLAIN, 1);
    th_node *k = th_new(t, TH_PLAIN, 1), *m = th_new(t, TH_PLAIN, 1);
    th_link(u, 0, k);
    th_link(k, 0, m);
    th_link(m, 0, k);
    th_decref(k);
    th_decref(m);
    th_node *want_k[] = { k, m };
    expect_chain(t, m, want_k, 2);
    expect_chain(t, k, want_k, 1);

    th_decref(a);
    th_node *want_ra[] = { root, a };
    expect_chain(t, a, want_ra, 2);

    th_decref(u);                  /* frees u, then k <-> m is garbage */
    visits v = { 0 };
    ck_assert_int_eq(cgc_explain_alive(t->h, m, record_visit, &v), 1);
    ck_assert_uint_eq(v.n, 0);
    th_decref(root);
    ck_assert_int_eq(cgc_collect(t->h, 2), 2);
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
}
END_TEST

/* Garbage: 1, and the visit never runs; untracked or NULL: CGC_EINVAL. */
START_TEST(test_explain_garbage_and_einval)
{
    th_heap *t = th_quiet_heap(0);
    th_node *g1 = th_new(t, TH_PLAIN, 2), *g2 = th_new(t, TH_PLAIN, 1);
    th_node *leaf = th_new(t, TH_PLAIN, 0);
    th_link(g1, 0, g2);
    th_link(g2, 0, g1);
    th_link(g1, 1, leaf);          /* leaf is reachable only from garbage */
    th_decref(g1);
    th_decref(g2);
    th_decref(leaf);
    th_node *loop = self_loop(t, TH_PLAIN);

    visits v = { 0 };
    ck_assert_int_eq(cgc_explain_alive(t->h, g1, record_visit, &v), 1);
    ck_assert_int_eq(cgc_explain_alive(t->h, g2, record_visit, &v), 1);
    ck_assert_int_eq(cgc_explain_alive(t->h, leaf, record_visit, &v), 1);
    ck_assert_int_eq(cgc_explain_alive(t->h, loop, record_visit, &v), 1);
    ck_assert_uint_eq(v.n, 0);

    /* Untracked objects and NULL arguments. */
    th_node *u = th_new_untracked(t, TH_PLAIN, 0);
    ck_assert_int_eq(cgc_explain_alive(t->h, u, record_visit, &v), CGC_EINVAL);
    th_node *live = th_new(t, TH_PLAIN, 0);
    ck_assert_int_eq(cgc_explain_alive(NULL, live, record_visit, &v), CGC_EINVAL);
    ck_assert_int_eq(cgc_explain_alive(t->h, NULL, record_visit, &v), CGC_EINVAL);
    ck_assert_int_eq(cgc_explain_alive(t->h, live, NULL, &v), CGC_EINVAL);
    cgc_untrack(t->h, live);
    ck_assert_int_eq(cgc_explain_alive(t->h, live, record_visit, &v), CGC_EINVAL);
    ck_assert_uint_eq(v.n, 0);
    ck_assert_int_eq(cgc_track(t->h, live), CGC_OK);
    ck_assert_int_eq(cgc_explain_alive(t->h, live, record_visit, &v), CGC_OK);
    ck_assert_uint_eq(v.n, 1);
    ck_assert_ptr_eq(v.obj[0], live);
    th_check_consistent(t);

    ck_assert_int_eq(cgc_collect(t->h, 2), 4);     /* g1, g2, leaf, loop */
    th_decref(u);
    th_decref(live);
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
}
END_TEST

/* The permanent generation is part of the tracked set: a frozen object the
   host holds is a root, and what only it refers to is explained through it. */
START_TEST(test_explain_frozen)
{
    th_heap *t = th_quiet_heap(0);
    th_node *f = th_new(t, TH_PLAIN, 1);
    th_node *f2 = th_new(t, TH_PLAIN, 1), *g2 = th_new(t, TH_PLAIN, 2);
    th_link(f2, 0, g2);
    th_link(g2, 0, f2);
    th_decref(f2);
    th_decref(g2);                 /* a frozen cycle nobody holds */
    cgc_freeze(t->h);
    ck_assert_uint_eq(cgc_get_freeze_count(t->h), 3);
    th_node *x = th_new(t, TH_PLAIN, 1), *y = th_new(t, TH_PLAIN, 0);
    th_link(f, 0, x);
    th_link(x, 0, y);
    th_decref(x);
    th_decref(y);
    th_node *w = th_new(t, TH_PLAIN, 0);
    th_link(g2, 1, w);
    th_decref(w);

    th_node *want[] = { f, x, y };
    expect_chain(t, y, want, 3);
    expect_chain(t, x, want, 2);
    expect_chain(t, f, want, 1);      /* a frozen root alone */
    visits v = { 0 };
    /* w hangs off a frozen cycle with no outside reference: no chain. */
    ck_assert_int_eq(cgc_explain_alive(t->h, w, record_visit, &v), 1);
    ck_assert_int_eq(cgc_explain_alive(t->h, g2, record_visit, &v), 1);
    ck_assert_uint_eq(v.n, 0);
    ck_assert_uint_eq(cgc_get_freeze_count(t->h), 3);

    /* A tracked root reaching into the frozen cycle explains w through it. */
    th_node *r = th_new(t, TH_PLAIN, 1);
    th_link(r, 0, f2);
    th_node *want_w[] = { r, f2, g2, w };
    expect_chain(t, w, want_w, 4);
    th_link(r, 0, NULL);
    ck_assert_int_eq(cgc_explain_alive(t->h, w, record_visit, &v), 1);
    th_decref(r);

    /* A full collection keeps x and y: the frozen f refers to them. */
    size_t xid = x->id, yid = y->id;
    ck_assert_int_eq(cgc_collect(t->h, 2), 0);
    ck_assert(th_alive(t, xid) && th_alive(t, yid));
    expect_chain(t, y, want, 3);
    th_heap_free(t);
}
END_TEST

START_TEST(test_explain_early_stop)
{
    th_heap *t = th_quiet_heap(0);
    th_node *root = th_new(t, TH_PLAIN, 1), *a = th_new(t, TH_PLAIN, 1);
    th_node *b = th_new(t, TH_PLAIN, 0);
    th_link(root, 0, a);
    th_link(a, 0, b);
    th_decref(a);
    th_decref(b);
    visits v = { 0 };
    v.stop_at = 2;
    v.stop_rc = 9;
    ck_assert_int_eq(cgc_explain_alive(t->h, b, record_visit, &v), 9);
    th_node *want[] = { root, a };
    expect_sequence(&v, want, 2);
    memset(&v, 0, sizeof v);
    v.stop_at = 1;
    v.stop_rc = -5;
    ck_assert_int_eq(cgc_explain_alive(t->h, b, record_visit, &v), -5);
    ck_assert_uint_eq(v.n, 1);
    memset(&v, 0, sizeof v);
    v.stop_at = 3;                 /* the last visit stops: its value is returned */
    v.stop_rc = 1;
    ck_assert_int_eq(cgc_explain_alive(t->h, b, record_visit, &v), 1);
    ck_assert_uint_eq(v.n, 3);
    th_check_consistent(t);
    th_decref(root);
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
}
END_TEST

/* The chain is computed first and visited afterwards, on a consistent
   heap: the visit may look again, and even collect. */
typedef struct nested_ctx {
    th_heap *t;
    FILE *out;
    size_t n;
    int inner_rc[8], dot_rc[8];
    size_t inner_len[8];
    long collected[8];
} nested_ctx;

static int nested_visit(void *obj, void *arg)
{
    nested_ctx *c = arg;
    visits v = { 0 };
    TH_ASSERT(c->n < 8, "too many visits");
    c->inner_rc[c->n] = cgc_explain_alive(c->t->h, obj, record_visit, &v);
    c->inner_len[c->n] = v.n;
    c->dot_rc[c->n] = cgc_dump_dot(c->t->h, c->out, CGC_DOT_UNREACHABLE);
    c->collected[c->n] = cgc_collect(c->t->h, 2);
    c->n++;
    return 0;
}

START_TEST(test_explain_nested)
{
    th_heap *t = th_quiet_heap(0);
    nested_ctx c = { 0 };
    c.t = t;
    c.out = tmpfile();
    ck_assert_ptr_nonnull(c.out);
    th_node *root = th_new(t, TH_PLAIN, 1), *a = th_new(t, TH_PLAIN, 1);
    th_node *b = th_new(t, TH_PLAIN, 0);
    th_link(root, 0, a);
    th_link(a, 0, b);
    th_decref(a);
    th_decref(b);
    self_loop(t, TH_PLAIN);        /* garbage: the first nested collection finds it */
    ck_assert_int_eq(cgc_explain_alive(t->h, b, nested_visit, &c), CGC_OK);
    ck_assert_uint_eq(c.n, 3);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(c.inner_rc[i], CGC_OK);
        ck_assert_uint_eq(c.inner_len[i], i + 1);
        ck_assert_int_eq(c.dot_rc[i], CGC_OK);
        ck_assert_int_eq(c.collected[i], i == 0 ? 1 : 0);
    }
    fclose(c.out);
    th_check_consistent(t);
    th_decref(root);
    ck_assert_int_eq(t->live, 0);
    th_heap_free(t);
}
END_TEST

/* ================================================================== */
/* cgc_dump_dot                                                        */
/* ================================================================== */

START_TEST(test_dot_all)
{
    tmpdir td;
    tmp_open(&td);
    th_heap *t = th_quiet_heap(0);
    dot_graph g;
    const char *path = tmp_path(&td, "all.dot");

    /* Empty heap: a valid, empty graph. */
    ck_assert_int_eq(dot_dump(t, CGC_DOT_ALL, path, &g), CGC_OK);
    ck_assert_uint_eq(g.nnodes, 0);
    ck_assert_uint_eq(g.nedges, 0);
    dot_render(&td, path);

    th_node *f = th_new(t, TH_PLAIN, 1);
    cgc_freeze(t->h);
    th_node *a = th_new(t, TH_PLAIN, 2), *b = th_new(t, TH_PLAIN, 1);
    ck_assert_int_eq(cgc_collect(t->h, 1), 0);
    th_node *c = th_new(t, TH_PLAIN, 1);
    ck_assert_int_eq(cgc_collect(t->h, 0), 0);
    th_node *d = th_new(t, TH_PLAIN, 1);
    th_node *u = th_new_untracked(t, TH_PLAIN, 1);
    th_node *garbage = self_loop(t, TH_PLAIN);
    th_link(a, 0, b);
    th_link(b, 0, a);
    th_link(a, 1, c);
    th_link(f, 0, a);
    th_link(c, 0, u);              /* to an untracked object: no edge */
    th_link(u, 0, d);              /* from an untracked object: no edge */
    th_link(d, 0, f);              /* into the permanent generation */

    ck_assert_int_eq(dot_dump(t, CGC_DOT_ALL, path, &g), CGC_OK);
    th_node *nodes[] = { f, a, b, c, d, garbage };
    dot_expect_nodes(&g, nodes, 6);
    th_node *from[] = { a, b, a, f, d, garbage };
    th_node *to[] = { b, a, c, a, f, garbage };
    dot_expect_edges(&g, from, to, 6);
    dot_render(&td, path);

    ck_assert_int_eq(cgc_collect(t->h, 2), 1);
    th_link(c, 0, NULL);
    th_decref(u);
    th_decref(a);
    th_decref(b);
    th_decref(c);
    th_decref(d);
    th_heap_free(t);
    tmp_close(&td);
}
END_TEST

/* GARBAGE: the objects on the garbage list and the references among them. */
START_TEST(test_dot_garbage)
{
    tmpdir td;
    tmp_open(&td);
    th_heap *t = th_quiet_heap(0);
    dot_graph g;
    const char *path = tmp_path(&td, "garbage.dot");

    ck_assert_int_eq(dot_dump(t, CGC_DOT_GARBAGE, path, &g), CGC_OK);
    ck_assert_uint_eq(g.nnodes, 0);
    dot_render(&td, path);

    /* Legacy objects l1 <-> l2 and the plain m they reach: uncollectable, but
       only l1 and l2 go on the list. */
    th_node *keep = th_new(t, TH_PLAIN, 0);
    th_node *l1 = th_new(t, TH_LEGACY, 2), *l2 = th_new(t, TH_LEGACY, 2);
    th_node *m = th_new(t, TH_PLAIN, 1);
    th_link(l1, 0, l2);
    th_link(l2, 0, l1);
    th_link(l2, 1, m);
    th_link(m, 0, l1);
    th_link(l1, 1, keep);          /* to a live object: no edge */
    th_decref(l1);
    th_decref(l2);
    th_decref(m);
    ck_assert_int_eq(cgc_collect(t->h, 2), 3);
    ck_assert_uint_eq(cgc_garbage_count(t->h), 2);
    ck_assert_int_eq(dot_dump(t, CGC_DOT_GARBAGE, path, &g), CGC_OK);
    th_node *nodes[] = { l1, l2 };
    dot_expect_nodes(&g, nodes, 2);
    th_node *from[] = { l1, l2 };
    th_node *to[] = { l2, l1 };
    dot_expect_edges(&g, from, to, 2);
    dot_render(&td, path);

    /* SAVEALL: a plain ring of 3 and a node pointing into it join them. */
    cgc_set_debug(t->h, CGC_DEBUG_SAVEALL);
    size_t ids[3];
    th_node *r0 = th_ring(t, TH_PLAIN, 3, ids);
    th_node *r1 = r0->slots[0], *r2 = r1->slots[0];
    th_node *x = th_new(t, TH_PLAIN, 2);
    th_link(x, 0, r1);
    th_link(x, 1, x);
    th_decref(x);
    th_decref(r0);
    ck_assert_int_eq(cgc_collect(t->h, 2), 4);
    ck_assert_uint_eq(cgc_garbage_count(t->h), 6);
    ck_assert_int_eq(dot_dump(t, CGC_DOT_GARBAGE, path, &g), CGC_OK);
    th_node *nodes2[] = { l1, l2, r0, r1, r2, x };
    dot_expect_nodes(&g, nodes2, 6);
    th_node *from2[] = { l1, l2, r0, r1, r2, x, x };
    th_node *to2[] = { l2, l1, r1, r2, r0, r1, x };
    dot_expect_edges(&g, from2, to2, 7);
    dot_render(&td, path);

    /* ALL shows the same objects and m, keep as well. */
    ck_assert_int_eq(dot_dump(t, CGC_DOT_ALL, path, &g), CGC_OK);
    ck_assert_uint_eq(g.nnodes, 8);

    cgc_set_debug(t->h, 0);
    cgc_garbage_clear(t->h);       /* the ring, x and l1, l2, m are garbage again */
    ck_assert_int_eq(cgc_collect(t->h, 2), 7);
    ck_assert_int_eq(dot_dump(t, CGC_DOT_GARBAGE, path, &g), CGC_OK);
    dot_expect_nodes(&g, nodes, 2);
    th_decref(keep);
    th_heap_free(t);
    tmp_close(&td);
}
END_TEST

/* UNREACHABLE: what a full collection would find, references among those
   only; then the collection finds exactly that many. */
START_TEST(test_dot_unreachable)
{
    tmpdir td;
    tmp_open(&td);
    th_heap *t = th_quiet_heap(0);
    dot_graph g;
    const char *path = tmp_path(&td, "unreachable.dot");

    ck_assert_int_eq(dot_dump(t, CGC_DOT_UNREACHABLE, path, &g), CGC_OK);
    ck_assert_uint_eq(g.nnodes, 0);

    th_node *root = th_new(t, TH_PLAIN, 1), *a = th_new(t, TH_PLAIN, 1);
    th_link(root, 0, a);
    th_decref(a);
    ck_assert_int_eq(cgc_collect(t->h, 1), 0);     /* root, a: generation 2 */
    th_node *r0 = th_ring(t, TH_PLAIN, 3, NULL);
    th_node *r1 = r0->slots[0], *r2 = r1->slots[0];
    ck_assert_int_eq(cgc_collect(t->h, 0), 0);     /* the ring: generation 1 */
    th_node *gx = th_new(t, TH_PLAIN, 3);          /* generation 0 */
    th_link(gx, 0, r0);
    th_link(gx, 1, a);                             /* to a live object: no edge */
    th_link(gx, 2, gx);
    th_node *leg = th_new(t, TH_LEGACY, 1);
    th_link(leg, 0, leg);
    th_node *live = th_new(t, TH_PLAIN, 1);        /* live, refers to the root */
    th_link(live, 0, root);

    /* All still held by the test: nothing unreachable. */
    ck_assert_int_eq(dot_dump(t, CGC_DOT_UNREACHABLE, path, &g), CGC_OK);
    ck_assert_uint_eq(g.nnodes, 0);
    th_decref(r0);
    th_decref(gx);
    th_decref(leg);

    ck_assert_int_eq(dot_dump(t, CGC_DOT_UNREACHABLE, path, &g), CGC_OK);
    th_node *nodes[] = { r0, r1, r2, gx, leg };
    dot_expect_nodes(&g, nodes, 5);
    th_node *from[] = { r0, r1, r2, gx, gx, leg };
    th_node *to[] = { r1, r2, r0, r0, gx, leg };
    dot_expect_edges(&g, from, to, 6);
    dot_render(&td, path);

    ck_assert_int_eq(cgc_collect(t->h, 2), 5);     /* 4 collectable, leg uncollectable */
    ck_assert_int_eq(dot_dump(t, CGC_DOT_UNREACHABLE, path, &g), CGC_OK);
    ck_assert_uint_eq(g.nnodes, 0);
    th_decref(live);
    th_decref(root);
    ck_assert_int_eq(t->live, 1);                  /* leg, on the garbage list */
    th_heap_free(t);
    tmp_close(&td);
}
END_TEST

/* Only the permanent generation keeps an object: it is not in the
   UNREACHABLE dump, since no collection examines the frozen referrer. */
START_TEST(test_dot_unreachable_frozen_referrer)
{
    tmpdir td;
    tmp_open(&td);
    th_heap *t = th_quiet_heap(0);
    dot_graph g;
    const char *path = tmp_path(&td, "frozen.dot");
    th_node *f = th_new(t, TH_PLAIN, 2), *fc = th_new(t, TH_PLAIN, 1);
    th_link(f, 0, fc);
    th_link(fc, 0, f);
    th_decref(fc);
    th_decref(f);                  /* frozen garbage: never collected */
    cgc_freeze(t->h);
    th_node *z = th_new(t, TH_PLAIN, 1);
    th_link(f, 1, z);
    th_link(z, 0, z);
    th_decref(z);                  /* z: kept only by the frozen f (and itself) */
    th_node *lone = self_loop(t, TH_PLAIN);
    ck_assert_int_eq(dot_dump(t, CGC_DOT_UNREACHABLE, path, &g), CGC_OK);
    th_node *nodes[] = { lone };
    dot_expect_nodes(&g, nodes, 1);
    dot_expect_edges(&g, nodes, nodes, 1);
    size_t zid = z->id, lone_id = lone->id;
    ck_assert_int_eq(cgc_collect(t->h, 2), 1);
    ck_assert(th_alive(t, zid));
    ck_assert(!th_alive(t, lone_id));
    ck_assert_int_eq(dot_dump(t, CGC_DOT_ALL, path, &g), CGC_OK);
    th_node *all[] = { f, fc, z };
    dot_expect_nodes(&g, all, 3);
    th_node *from[] = { f, fc, f, z };
    th_node *to[] = { fc, f, z, z };
    dot_expect_edges(&g, from, to, 4);
    th_heap_free(t);
    tmp_close(&td);
}
END_TEST

/* Labels: describe's text, with '"' and '\\' escaped and a newline as "\n";
   without describe: "object at 0x...". */
static size_t tricky_describe(const th_node *n, char *buf, size_t len)
{
    snprintf(buf, len, "say \"hi\" \\o/ #%zu\nnext line", n->id);
    return strlen(buf);
}

START_TEST(test_dot_labels)
{
    tmpdir td;
    tmp_open(&td);
    th_heap *t = th_quiet_heap(0);
    dot_graph g;
    const char *path = tmp_path(&td, "labels.dot");
    t->describe_hook = tricky_describe;
    th_node *a = th_new(t, TH_PLAIN, 1);
    th_link(a, 0, a);
    ck_assert_int_eq(dot_dump(t, CGC_DOT_ALL, path, &g), CGC_OK);
    ck_assert_uint_eq(g.nnodes, 1);
    char want[128];
    snprintf(want, sizeof want, "say \\\"hi\\\" \\\\o/ #%zu\\nnext line", a->id);
    ck_assert_str_eq(dot_label(&g, a), want);
    ck_assert_uint_eq(dot_edge_count(&g, a, a), 1);
    ck_assert_int_gt(t->describe_calls, 0);
    dot_render(&td, path);
    th_decref(a);
    ck_assert_int_eq(cgc_collect(t->h, 2), 1);
    th_heap_free(t);

    t = th_quiet_heap(TH_F_NO_DESCRIBE);
    th_node *b = th_new(t, TH_PLAIN, 0);
    ck_assert_int_eq(dot_dump(t, CGC_DOT_ALL, path, &g), CGC_OK);
    snprintf(want, sizeof want, "object at %p", (void *)b);
    ck_assert_uint_eq(g.nnodes, 1);
    ck_assert_str_eq(dot_label(&g, b), want);
    ck_assert(strncmp(want, "object at 0x", 12) == 0);
    dot_render(&td, path);
    th_decref(b);
    th_heap_free(t);
    tmp_close(&td);
}
END_TEST

START_TEST(test_dot_einval)
{
    tmpdir td;
    tmp_open(&td);
    th_heap *t = th_quiet_heap(0);
    th_node *a = th_new(t, TH_PLAIN, 0);
    const char *path = tmp_path(&td, "einval.dot");
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(cgc_dump_dot(NULL, f, CGC_DOT_ALL), CGC_EINVAL);
    ck_assert_int_eq(cgc_dump_dot(t->h, NULL, CGC_DOT_ALL), CGC_EINVAL);
    ck_assert_int_eq(cgc_dump_dot(t->h, f, -1), CGC_EINVAL);
    ck_assert_int_eq(cgc_dump_dot(t->h, f, 3), CGC_EINVAL);
    ck_assert_int_eq(fclose(f), 0);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, 0);

    /* A stream that cannot be written: CGC_EINVAL. */
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(cgc_dump_dot(t->h, f, CGC_DOT_ALL), CGC_EINVAL);
    fclose(f);
    th_decref(a);
    th_heap_free(t);
    tmp_close(&td);
}
END_TEST

/* ================================================================== */
/* Looking changes nothing                                             */
/* ================================================================== */

START_TEST(test_looking_changes_nothing)
{
    tmpdir td;
    tmp_open(&td);
    th_heap *t = th_quiet_heap(0);
    const char *path = tmp_path(&td, "look.dot");
    dot_graph g;

    /* Permanent generation: f alone. */
    th_node *f = th_new(t, TH_PLAIN, 1);
    cgc_freeze(t->h);
    /* Generation 2: root -> a, a finalized (resurrected) node, a legacy node
       kept by the garbage list, half of a ring spanning two generations. */
    th_node *root = th_new(t, TH_PLAIN, 2), *a = th_new(t, TH_FINALIZER, 2);
    th_link(root, 0, a);
    th_decref(a);
    th_node *res = self_loop(t, TH_RESURRECT);
    th_node *leg = self_loop(t, TH_LEGACY);
    th_node *span2 = th_new(t, TH_PLAIN, 1);
    ck_assert_int_eq(cgc_collect(t->h, 1), 1);     /* leg uncollectable; res survives */
    ck_assert(cgc_is_finalized(res));
    ck_assert_uint_eq(cgc_garbage_count(t->h), 1);
    /* Generation 1: span1, b (held by a). */
    th_node *span1 = th_new(t, TH_PLAIN, 1), *b = th_new(t, TH_PLAIN, 1);
    th_link(span2, 0, span1);
    th_link(span1, 0, span2);
    th_link(a, 0, b);
    th_decref(b);
    ck_assert_int_eq(cgc_collect(t->h, 0), 0);
    /* Generation 0. */
    th_node *c = th_new(t, TH_PLAIN, 1);          /* held by the frozen f only */
    th_link(f, 0, c);
    th_decref(c);
    th_node *u = th_new_untracked(t, TH_PLAIN, 1);
    th_node *held = th_new(t, TH_PLAIN, 1);       /* held by the untracked u only */
    th_link(u, 0, held);
    th_decref(held);
    th_decref(th_ring(t, TH_PLAIN, 3, NULL));     /* garbage */
    th_node *leg2 = self_loop(t, TH_LEGACY);      /* garbage, uncollectable */
    th_decref(span2);
    th_decref(span1);              /* span1 <-> span2: garbage across generations */
    ck_assert_uint_eq(th_drop_resurrected(t), 1); /* res: garbage, already finalized */
    th_node *n1 = th_new(t, TH_RESURRECT, 1);
    th_link(n1, 0, n1);            /* would resurrect, but held: alive */

    snapshot before, after;
    snap_take(t, &before);
    ck_assert_uint_gt(before.gen[0].n, 0);
    ck_assert_uint_gt(before.gen[1].n, 0);
    ck_assert_uint_gt(before.gen[2].n, 0);
    ck_assert_uint_eq(before.frozen, 1);

    /* The unreachable dump. */
    ck_assert_int_eq(dot_dump(t, CGC_DOT_UNREACHABLE, path, &g), CGC_OK);
    size_t unreachable = g.nnodes;
    ck_assert_uint_eq(unreachable, 3 + 1 + 2 + 1);  /* ring, leg2, span1/2, res */
    ck_assert_uint_eq(dot_node_count(&g, res), 1);
    ck_assert_uint_eq(dot_node_count(&g, span1), 1);
    ck_assert_uint_eq(dot_node_count(&g, span2), 1);
    ck_assert_uint_eq(dot_node_count(&g, leg2), 1);
    ck_assert_uint_eq(dot_node_count(&g, leg), 0);
    ck_assert_uint_eq(dot_node_count(&g, c), 0);
    ck_assert_uint_eq(dot_node_count(&g, held), 0);
    ck_assert_uint_eq(dot_node_count(&g, n1), 0);
    snap_take(t, &after);
    snap_expect_same(&before, &after, "dump_dot(UNREACHABLE)");
    snap_free(&after);
    dot_render(&td, path);

    /* explain_alive, on live objects and on garbage. */
    visits v = { 0 };
    ck_assert_int_eq(cgc_explain_alive(t->h, b, record_visit, &v), CGC_OK);
    th_node *want_b[] = { root, a, b };
    expect_sequence(&v, want_b, 3);
    memset(&v, 0, sizeof v);
    ck_assert_int_eq(cgc_explain_alive(t->h, c, record_visit, &v), CGC_OK);
    th_node *want_c[] = { f, c };
    expect_sequence(&v, want_c, 2);
    memset(&v, 0, sizeof v);
    ck_assert_int_eq(cgc_explain_alive(t->h, held, record_visit, &v), CGC_OK);
    th_node *want_h[] = { held };
    expect_sequence(&v, want_h, 1);
    memset(&v, 0, sizeof v);
    ck_assert_int_eq(cgc_explain_alive(t->h, leg, record_visit, &v), CGC_OK);
    th_node *want_l[] = { leg };
    expect_sequence(&v, want_l, 1);
    memset(&v, 0, sizeof v);
    ck_assert_int_eq(cgc_explain_alive(t->h, span1, record_visit, &v), 1);
    ck_assert_int_eq(cgc_explain_alive(t->h, res, record_visit, &v), 1);
    ck_assert_int_eq(cgc_explain_alive(t->h, leg2, record_visit, &v), 1);
    ck_assert_uint_eq(v.n, 0);
    snap_take(t, &after);
    snap_expect_same(&before, &after, "explain_alive");
    snap_free(&after);

    /* The other ways of looking. */
    ck_assert_int_eq(dot_dump(t, CGC_DOT_ALL, path, &g), CGC_OK);
    ck_assert_uint_eq(g.nnodes, before.gen[0].n + before.gen[1].n + before.gen[2].n + 1);
    ck_assert_int_eq(dot_dump(t, CGC_DOT_GARBAGE, path, &g), CGC_OK);
    th_node *garb[] = { leg };
    dot_expect_nodes(&g, garb, 1);
    ck_assert_int_eq(cgc_get_referrers(t->h, b, record_visit, &v), 0);
    ck_assert_int_eq(cgc_get_referents(t->h, root, record_visit, &v), 0);
    ck_assert_int_eq(dot_dump(t, CGC_DOT_UNREACHABLE, path, &g), CGC_OK);
    ck_assert_uint_eq(g.nnodes, unreachable);
    snap_take(t, &after);
    snap_expect_same(&before, &after, "dump_dot(ALL/GARBAGE), referrers, referents");
    snap_free(&after);
    snap_free(&before);

    /* The collection finds exactly what the dump showed. */
    size_t dead_ids[] = { span1->id, span2->id, res->id };
    ck_assert_int_eq(cgc_collect(t->h, 2), (long)unreachable);
    ck_assert(!th_alive(t, dead_ids[0]) && !th_alive(t, dead_ids[1]));
    ck_assert(!th_alive(t, dead_ids[2]));
    ck_assert_uint_eq(cgc_garbage_count(t->h), 2);          /* leg and leg2 */
    ck_assert_ptr_eq(cgc_garbage_get(t->h, 1), leg2);
    ck_assert(th_alive(t, c->id) && th_alive(t, held->id) && th_alive(t, b->id));
    ck_assert_int_eq(dot_dump(t, CGC_DOT_UNREACHABLE, path, &g), CGC_OK);
    ck_assert_uint_eq(g.nnodes, 0);

    th_decref(n1);
    th_decref(u);
    th_decref(root);
    th_heap_free(t);
    tmp_close(&td);
}
END_TEST

/* ================================================================== */
/* Busy during a collection or a walk                                  */
/* ================================================================== */

typedef struct busy_ctx {
    FILE *out;
    void *obj;
    int calls;
    int explain_rc[4], dot_rc[4][3];
} busy_ctx;

static void busy_try(cgc_heap *h, busy_ctx *c, void *obj)
{
    TH_ASSERT(c->calls < 4, "too many busy calls");
    visits v = { 0 };
    c->explain_rc[c->calls] = cgc_explain_alive(h, obj, record_visit, &v);
    TH_ASSERT(v.n == 0, "explain_alive visited %zu objects while busy", v.n);
    for (int w = 0; w < 3; w++)
        c->dot_rc[c->calls][w] = cgc_dump_dot(h, c->out, w);
    c->calls++;
}

static void busy_expect(const busy_ctx *c, int calls)
{
    TH_ASSERT(c->calls == calls, "%d busy calls, expected %d", c->calls, calls);
    for (int i = 0; i < c->calls; i++) {
        TH_ASSERT(c->explain_rc[i] == CGC_EBUSY, "explain_alive returned %d, not CGC_EBUSY",
                  c->explain_rc[i]);
        for (int w = 0; w < 3; w++)
            TH_ASSERT(c->dot_rc[i][w] == CGC_EBUSY, "dump_dot(%d) returned %d, not "
                      "CGC_EBUSY", w, c->dot_rc[i][w]);
    }
}

static void busy_finalize(th_heap *t, th_node *n)
{
    busy_try(t->h, t->hook_arg, n);
}

static void busy_callback(cgc_heap *h, cgc_phase phase, const cgc_collect_info *info,
                          void *ctx)
{
    busy_ctx *c = ctx;
    (void)phase;
    (void)info;
    busy_try(h, c, c->obj);
}

static void busy_log(void *ctx, const char *line)
{
    busy_ctx *c = ctx;
    TH_ASSERT(strncmp(line, "cyclegc: gen ", 13) == 0, "unexpected line \"%s\"", line);
    busy_try(((th_node *)c->obj)->t->h, c, c->obj);
}

static int busy_walk(void *obj, void *arg)
{
    busy_ctx *c = arg;
    busy_try(((th_node *)obj)->t->h, c, obj);
    return 0;
}

START_TEST(test_busy)
{
    tmpdir td;
    tmp_open(&td);
    th_heap *t = th_quiet_heap(0);
    const char *path = tmp_path(&td, "busy.dot");
    busy_ctx c = { 0 };
    c.out = fopen(path, "w");
    ck_assert_ptr_nonnull(c.out);

    /* From a finalizer. */
    t->on_finalize = busy_finalize;
    t->hook_arg = &c;
    self_loop(t, TH_FINALIZER);
    ck_assert_int_eq(cgc_collect(t->h, 2), 1);
    busy_expect(&c, 1);
    t->on_finalize = NULL;

    /* From START and STOP callbacks. */
    fclose(c.out);
    memset(&c, 0, sizeof c);
    c.out = fopen(path, "w");
    ck_assert_ptr_nonnull(c.out);
    th_node *live = th_new(t, TH_PLAIN, 0);
    c.obj = live;
    ck_assert_int_eq(cgc_add_callback(t->h, busy_callback, &c), CGC_OK);
    ck_assert_int_eq(cgc_collect(t->h, 0), 0);
    busy_expect(&c, 2);
    ck_assert_int_eq(cgc_remove_callback(t->h, busy_callback, &c), CGC_OK);

    /* From the log sink, called during a collection. */
    fclose(c.out);
    memset(&c, 0, sizeof c);
    c.out = fopen(path, "w");
    ck_assert_ptr_nonnull(c.out);
    c.obj = live;
    cgc_set_log(t->h, busy_log, &c);
    cgc_set_debug(t->h, CGC_DEBUG_STATS);
    ck_assert_int_eq(cgc_collect(t->h, 0), 0);
    busy_expect(&c, 1);
    cgc_set_debug(t->h, 0);

    /* From a cgc_get_objects walk. */
    fclose(c.out);
    memset(&c, 0, sizeof c);
    c.out = fopen(path, "w");
    ck_assert_ptr_nonnull(c.out);
    ck_assert_int_eq(cgc_get_objects(t->h, -1, busy_walk, &c), 0);
    busy_expect(&c, 1);
    fclose(c.out);

    /* Nothing was written by the refused dumps. */
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, 0);

    /* Afterwards all is allowed again. */
    visits v = { 0 };
    ck_assert_int_eq(cgc_explain_alive(t->h, live, record_visit, &v), CGC_OK);
    dot_graph g;
    ck_assert_int_eq(dot_dump(t, CGC_DOT_UNREACHABLE, path, &g), CGC_OK);
    th_decref(live);
    th_heap_free(t);
    tmp_close(&td);
}
END_TEST

/* ================================================================== */
/* Environment variables                                               */
/* ================================================================== */

/* Creates a heap (thresholds 100, 20, 30; automatic collection off) with the
   two variables set as given (NULL: unset), capturing stderr meanwhile. */
static th_heap *heap_with_env(tmpdir *td, const char *thresholds, const char *debug,
                              char **err)
{
    capture cap;
    if (thresholds != NULL)
        ck_assert_int_eq(setenv("CYCLEGC_THRESHOLDS", thresholds, 1), 0);
    else
        unsetenv("CYCLEGC_THRESHOLDS");
    if (debug != NULL)
        ck_assert_int_eq(setenv("CYCLEGC_DEBUG", debug, 1), 0);
    else
        unsetenv("CYCLEGC_DEBUG");
    capture_begin(&cap, tmp_path(td, "heap_new.err"));
    th_heap *t = th_heap_new(TH_F_DISABLE, 100, 20, 30);
    *err = capture_end(&cap);
    unsetenv("CYCLEGC_THRESHOLDS");
    unsetenv("CYCLEGC_DEBUG");
    TH_ASSERT(t != NULL, "th_heap_new failed");
    return t;
}

static void expect_thresholds(th_heap *t, int t0, int t1, int t2, const char *value)
{
    int th[3];
    cgc_get_threshold(t->h, th);
    TH_ASSERT(th[0] == t0 && th[1] == t1 && th[2] == t2, "CYCLEGC_THRESHOLDS=\"%s\": "
              "thresholds %d %d %d, expected %d %d %d", value, th[0], th[1], th[2],
              t0, t1, t2);
}

static const struct {
    const char *value;
    int t[3];
} good_thresholds[] = {
    { "5", { 5, 20, 30 } },
    { "5,6", { 5, 6, 30 } },
    { "1, 2 ,3", { 1, 2, 3 } },
    { "  7  ", { 7, 20, 30 } },
    { "0,0,0", { 0, 0, 0 } },
    { "2147483647", { 2147483647, 20, 30 } },
};

START_TEST(test_env_thresholds_good)
{
    tmpdir td;
    tmp_open(&td);
    char *err;
    const char *value = good_thresholds[_i].value;
    th_heap *t = heap_with_env(&td, value, NULL, &err);
    ck_assert_msg(err[0] == '\0', "CYCLEGC_THRESHOLDS=\"%s\" wrote \"%s\"", value, err);
    expect_thresholds(t, good_thresholds[_i].t[0], good_thresholds[_i].t[1],
                      good_thresholds[_i].t[2], value);
    ck_assert_uint_eq(cgc_get_debug(t->h), 0);
    free(err);
    th_heap_free(t);
    tmp_close(&td);
}
END_TEST

static const char *const bad_thresholds[] = {
    "abc", "1,2,3,4", "-1", "5,", ",5", "5;6", "1 2", "5,,6", "+5", "5x",
    "99999999999", "1,-2"
};

START_TEST(test_env_thresholds_bad)
{
    tmpdir td;
    tmp_open(&td);
    char *err;
    const char *value = bad_thresholds[_i];
    th_heap *t = heap_with_env(&td, value, NULL, &err);
    ck_assert_msg(count_char(err, '\n') == 1, "CYCLEGC_THRESHOLDS=\"%s\": %zu lines on "
                  "stderr: \"%s\"", value, count_char(err, '\n'), err);
    ck_assert_msg(strncmp(err, "cyclegc: ignoring malformed CYCLEGC_THRESHOLDS", 46) == 0,
                  "unexpected message \"%s\"", err);
    ck_assert(err[strlen(err) - 1] == '\n');
    expect_thresholds(t, 100, 20, 30, value);      /* ignored as a whole */
    ck_assert_uint_eq(cgc_get_debug(t->h), 0);
    free(err);
    th_heap_free(t);
    tmp_close(&td);
}
END_TEST

static const struct {
    const char *value;
    unsigned flags;
} good_debug[] = {
    { "Stats,LEAK", CGC_DEBUG_STATS | CGC_DEBUG_LEAK },
    { "stats", CGC_DEBUG_STATS },
    { "COLLECTABLE , uncollectable", CGC_DEBUG_COLLECTABLE | CGC_DEBUG_UNCOLLECTABLE },
    { "saveall", CGC_DEBUG_SAVEALL },
    { "leak,stats,leak", CGC_DEBUG_LEAK | CGC_DEBUG_STATS },
};

START_TEST(test_env_debug_good)
{
    tmpdir td;
    tmp_open(&td);
    char *err;
    const char *value = good_debug[_i].value;
    th_heap *t = heap_with_env(&td, NULL, value, &err);
    ck_assert_msg(err[0] == '\0', "CYCLEGC_DEBUG=\"%s\" wrote \"%s\"", value, err);
    ck_assert_msg(cgc_get_debug(t->h) == good_debug[_i].flags, "CYCLEGC_DEBUG=\"%s\": "
                  "flags %#x, expected %#x", value, cgc_get_debug(t->h), good_debug[_i].flags);
    expect_thresholds(t, 100, 20, 30, "(unset)");
    free(err);
    th_heap_free(t);
    tmp_close(&td);
}
END_TEST

static const char *const bad_debug[] = {
    "stats,bogus", "bogus", "stats,", ",stats", "stats;leak", "stat", "stats leak",
    "stats,,leak"
};

START_TEST(test_env_debug_bad)
{
    tmpdir td;
    tmp_open(&td);
    char *err;
    const char *value = bad_debug[_i];
    th_heap *t = heap_with_env(&td, NULL, value, &err);
    ck_assert_msg(count_char(err, '\n') == 1, "CYCLEGC_DEBUG=\"%s\": %zu lines on stderr: "
                  "\"%s\"", value, count_char(err, '\n'), err);
    ck_assert_msg(strncmp(err, "cyclegc: ignoring malformed CYCLEGC_DEBUG", 41) == 0,
                  "unexpected message \"%s\"", err);
    ck_assert_uint_eq(cgc_get_debug(t->h), 0);     /* ignored as a whole */
    expect_thresholds(t, 100, 20, 30, "(unset)");
    free(err);
    th_heap_free(t);
    tmp_close(&td);
}
END_TEST

/* Blank values are ignored silently; both variables malformed: one line
   each; a good one next to a bad one still applies. */
START_TEST(test_env_blank_and_both)
{
    tmpdir td;
    tmp_open(&td);
    char *err;
    th_heap *t = heap_with_env(&td, "", "", &err);
    ck_assert_str_eq(err, "");
    expect_thresholds(t, 100, 20, 30, "");
    ck_assert_uint_eq(cgc_get_debug(t->h), 0);
    free(err);
    th_heap_free(t);

    t = heap_with_env(&td, "   ", " \t ", &err);
    ck_assert_str_eq(err, "");
    expect_thresholds(t, 100, 20, 30, "   ");
    ck_assert_uint_eq(cgc_get_debug(t->h), 0);
    free(err);
    th_heap_free(t);

    t = heap_with_env(&td, "x", "y", &err);
    ck_assert_uint_eq(count_char(err, '\n'), 2);
    ck_assert_ptr_nonnull(strstr(err, "cyclegc: ignoring malformed CYCLEGC_THRESHOLDS"));
    ck_assert_ptr_nonnull(strstr(err, "cyclegc: ignoring malformed CYCLEGC_DEBUG"));
    free(err);
    th_heap_free(t);

    t = heap_with_env(&td, "1,2", "nope", &err);
    ck_assert_uint_eq(count_char(err, '\n'), 1);
    expect_thresholds(t, 1, 2, 30, "1,2");
    ck_assert_uint_eq(cgc_get_debug(t->h), 0);
    free(err);
    th_heap_free(t);
    tmp_close(&td);
}
END_TEST

/* With all-zero config thresholds the defaults (700, 10, 10) are what the
   missing values keep. */
START_TEST(test_env_thresholds_defaults)
{
    tmpdir td;
    tmp_open(&td);
    capture cap;
    ck_assert_int_eq(setenv("CYCLEGC_THRESHOLDS", "5", 1), 0);
    capture_begin(&cap, tmp_path(&td, "defaults.err"));
    th_heap *t = th_heap_new(TH_F_DISABLE, 0, 0, 0);
    char *err = capture_end(&cap);
    unsetenv("CYCLEGC_THRESHOLDS");
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(err, "");
    expect_thresholds(t, 5, 10, 10, "5");
    free(err);
    th_heap_free(t);
    tmp_close(&td);
}
END_TEST

/* CYCLEGC_DEBUG=stats alone produces STATS lines on stderr, and the
   variables are read once, at creation. */
START_TEST(test_env_debug_effect)
{
    tmpdir td;
    tmp_open(&td);
    char *err;
    capture cap;
    th_heap *t = heap_with_env(&td, "3", "stats", &err);
    ck_assert_str_eq(err, "");
    free(err);
    ck_assert_int_eq(setenv("CYCLEGC_DEBUG", "bogus", 1), 0);
    ck_assert_int_eq(setenv("CYCLEGC_THRESHOLDS", "9", 1), 0);
    self_loop(t, TH_PLAIN);
    capture_begin(&cap, tmp_path(&td, "collect.err"));
    long r = cgc_collect(t->h, 0);
    err = capture_end(&cap);
    ck_assert_int_eq(r, 1);
    ck_assert_uint_eq(count_char(err, '\n'), 1);
    err[strlen(err) - 1] = '\0';
    expect_stats(err, 0, 1, -1, -1, 1, 0);
    free(err);
    ck_assert_uint_eq(cgc_get_debug(t->h), CGC_DEBUG_STATS);
    expect_thresholds(t, 3, 20, 30, "3");
    unsetenv("CYCLEGC_DEBUG");
    unsetenv("CYCLEGC_THRESHOLDS");
    th_heap_free(t);
    tmp_close(&td);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *debug_suite(void)
{
    /* The suite decides the variables itself; the caller's must not leak in. */
    unsetenv("CYCLEGC_THRESHOLDS");
    unsetenv("CYCLEGC_DEBUG");

    Suite *s = suite_create("debug");
    TCase *tc = tcase_create("log");
    tcase_add_test(tc, test_stats_lines);
    tcase_add_test(tc, test_stats_line_matches_callback);
    tcase_add_test(tc, test_collectable_uncollectable_lines);
    tcase_add_test(tc, test_log_without_describe);
    tcase_add_test(tc, test_log_leak);
    tcase_add_test(tc, test_log_default_stderr);
    suite_add_tcase(s, tc);

    tc = tcase_create("referrers");
    tcase_add_test(tc, test_referrers);
    tcase_add_test(tc, test_referents);
    tcase_add_test(tc, test_referrers_reentrant);
    suite_add_tcase(s, tc);

    tc = tcase_create("explain");
    tcase_add_test(tc, test_explain_chain);
    tcase_add_test(tc, test_explain_shortest);
    tcase_add_test(tc, test_explain_roots);
    tcase_add_test(tc, test_explain_garbage_and_einval);
    tcase_add_test(tc, test_explain_frozen);
    tcase_add_test(tc, test_explain_early_stop);
    tcase_add_test(tc, test_explain_nested);
    suite_add_tcase(s, tc);

    tc = tcase_create("dot");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_dot_all);
    tcase_add_test(tc, test_dot_garbage);
    tcase_add_test(tc, test_dot_unreachable);
    tcase_add_test(tc, test_dot_unreachable_frozen_referrer);
    tcase_add_test(tc, test_dot_labels);
    tcase_add_test(tc, test_dot_einval);
    tcase_add_test(tc, test_looking_changes_nothing);
    tcase_add_test(tc, test_busy);
    suite_add_tcase(s, tc);

    tc = tcase_create("environment");
    tcase_add_loop_test(tc, test_env_thresholds_good, 0,
                        (int)(sizeof good_thresholds / sizeof good_thresholds[0]));
    tcase_add_loop_test(tc, test_env_thresholds_bad, 0,
                        (int)(sizeof bad_thresholds / sizeof bad_thresholds[0]));
    tcase_add_loop_test(tc, test_env_debug_good, 0,
                        (int)(sizeof good_debug / sizeof good_debug[0]));
    tcase_add_loop_test(tc, test_env_debug_bad, 0,
                        (int)(sizeof bad_debug / sizeof bad_debug[0]));
    tcase_add_test(tc, test_env_blank_and_both);
    tcase_add_test(tc, test_env_thresholds_defaults);
    tcase_add_test(tc, test_env_debug_effect);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return th_run_suite(debug_suite()); }
