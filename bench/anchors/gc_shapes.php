<?php
/*
 * gc_shapes.php -- PHP's cycle collector on the shapes of bench/gcbench.
 *
 * The PHP anchor for bench/gcbench.c: the same five shapes, the same command
 * line and the same output, so that bench/compare can put the figures side
 * by side.  A node is an object of class Node with two properties; the root
 * container is an array.  Run it as
 *
 *   php -d memory_limit=-1 bench/anchors/gc_shapes.php [--shape live|garbage|ring|churn|pauses]
 *                                                      [--n N] [--reps R] [--json]
 *
 * PHP's collector (Zend/zend_gc.c) is a synchronous Bacon-Rajan collector:
 * gc_collect_cycles() does not walk the heap, it walks the subgraphs under
 * its candidate roots, the refcounted values whose count was decremented to
 * a nonzero value since they were last examined.  There are no generations;
 * a collection runs automatically when the root buffer holds 10,000
 * candidates (gc_status()['threshold']).  So that each shape measures what
 * its name says, the graphs are built the way a PHP program would build
 * them and the number of candidates is reported ("roots"):
 *
 *   live     an array holding all N nodes; node i references node (i+1) mod N
 *            and node (7i+3) mod N, linked in a foreach over the array by
 *            value, which leaves every node in the root buffer (N roots):
 *            the timed gc_collect_cycles() walks the whole graph and frees
 *            nothing.  Without that pass it would find no candidate and take
 *            no time at all.
 *   garbage  N/2 unreachable two-cycles a <-> b; dropping each leaves both in
 *            the root buffer.  Time of gc_collect_cycles(), which must
 *            return N.
 *   ring     one unreachable N-node ring (every node is a candidate).  Time
 *            of gc_collect_cycles(), which must return N.  PHP frees the
 *            garbage by recursion (zend_objects_store_del ->
 *            zend_object_std_dtor -> the next node), about 96 bytes of C
 *            stack per node: with the default 8 MiB stack the process dies
 *            of SIGSEGV from about 87,000 nodes on.  Not worked around.
 *   churn    N/2 two-cycles made and dropped with the collector on (default
 *            threshold), then gc_collect_cycles().  Time of all of it,
 *            allocation included; "collected" from gc_status().
 *   pauses   1,000,000 live nodes as in live, then gc_collect_cycles() (which
 *            empties the root buffer), then the churn of N/2 two-cycles with
 *            every step (one pair) timed; a step during which
 *            gc_status()['runs'] grew contains an automatic collection, and
 *            its duration is the pause.  p50 / p99 / max of those.
 *
 * For live, garbage and ring the collector is disabled (gc_disable) while the
 * graph is built, and enabled again just before the timed collection.  Every
 * repetition starts from a clean heap; the figure reported is the median
 * over the repetitions (the lower middle one when R is even) and the minimum.
 */

const IMPL = 'php';
const SHAPES = ['live', 'garbage', 'ring', 'churn', 'pauses'];
const PAUSE_LIVE = 1000000;

final class Node
{
    public $a = null;
    public $b = null;
}

/* The live graph; the returned array is the root container. */
function build_live(int $n): array
{
    $nodes = [];
    for ($i = 0; $i < $n; $i++)
        $nodes[] = new Node();
    foreach ($nodes as $i => $node) {
        $node->a = $nodes[($i + 1) % $n];
        $node->b = $nodes[(7 * $i + 3) % $n];
    }
    return $nodes;
}

/* $pairs unreachable two-cycles (nothing of them is left referenced). */
function make_pairs(int $pairs): void
{
    for ($i = 0; $i < $pairs; $i++) {
        $a = new Node();
        $b = new Node();
        $a->a = $b;
        $b->a = $a;
    }
}

/* One unreachable $n-node ring through property a. */
function make_ring(int $n): void
{
    $first = new Node();
    $prev = $first;
    for ($i = 1; $i < $n; $i++) {
        $node = new Node();
        $prev->a = $node;
        $prev = $node;
    }
    $prev->a = $first;
}

/* Frees whatever the previous repetition left; the collector ends off. */
function clean_heap(): void
{
    gc_enable();
    gc_collect_cycles();
    gc_disable();
}

// One collection, with the collector on only for it: [ns, collected, roots].
function timed_collect(): array
{
    $roots = gc_status()['roots'];
    gc_enable();
    $t = hrtime(true);
    $collected = gc_collect_cycles();
    $ns = hrtime(true) - $t;
    gc_disable();
    return [$ns, $collected, $roots];
}

function run_live(int $n): array
{
    clean_heap();
    $root = build_live($n);
    $result = timed_collect();
    unset($root);
    return $result;
}

function run_garbage(int $n): array
{
    clean_heap();
    make_pairs(intdiv($n, 2));
    return timed_collect();
}

function run_ring(int $n): array
{
    clean_heap();
    make_ring($n);
    return timed_collect();
}

function run_churn(int $n): array
{
    clean_heap();
    $before = gc_status()['collected'];
    gc_enable();
    $t = hrtime(true);
    make_pairs(intdiv($n, 2));
    gc_collect_cycles();
    $ns = hrtime(true) - $t;
    gc_disable();
    return [$ns, gc_status()['collected'] - $before, null];
}

/* Durations (ns) of the churn steps that ran an automatic collection. */
function run_pauses(int $n): array
{
    clean_heap();
    $root = build_live(PAUSE_LIVE);
    gc_enable();
    gc_collect_cycles();                /* walks the live graph, empties the buffer */
    $pauses = [];
    $runs = gc_status()['runs'];
    $pairs = intdiv($n, 2);
    for ($i = 0; $i < $pairs; $i++) {
        $t = hrtime(true);
        $a = new Node();                /* drops the previous pair's a ... */
        $b = new Node();                /* ... and b: each a candidate root */
        $a->a = $b;
        $b->a = $a;
        $t = hrtime(true) - $t;
        $r = gc_status()['runs'];
        if ($r !== $runs) {
            $pauses[] = $t;
            $runs = $r;
        }
    }
    unset($a, $b, $root);
    clean_heap();
    return $pauses;
}

function expected(string $shape, int $n): int
{
    return $shape === 'live' ? 0 : ($shape === 'ring' ? $n : intdiv($n, 2) * 2);
}

function emit_json(array $fields): void
{
    echo json_encode($fields, JSON_PRESERVE_ZERO_FRACTION), "\n";
}

function report_shape(string $shape, int $n, int $reps, bool $json): void
{
    $times = [];
    $collected = 0;
    $roots = null;
    for ($i = 0; $i < $reps; $i++) {
        [$ns, $collected, $roots] = ('run_' . $shape)($n);
        $times[] = $ns / 1e6;
        if ($collected !== expected($shape, $n))
            fprintf(STDERR, "gc_shapes.php: %s collected %d, expected %d\n",
                    $shape, $collected, expected($shape, $n));
    }
    sort($times);
    $med = $times[intdiv($reps - 1, 2)];
    if ($json) {
        $out = ['impl' => IMPL, 'shape' => $shape, 'n' => $n, 'reps' => $reps,
                'ms' => round($med, 3), 'ms_min' => round($times[0], 3),
                'ns_per_node' => round($med * 1e6 / $n, 2),
                'collected' => $collected];
        if ($roots !== null)
            $out['roots'] = $roots;
        emit_json($out);
    } else {
        printf("%-8s %9d %10.3f ms %8.2f ns/node  (min %.3f ms, collected %d%s)\n",
               $shape, $n, $med, $med * 1e6 / $n, $times[0], $collected,
               $roots === null ? '' : ", roots $roots");
    }
    fflush(STDOUT);
}

function report_pauses(int $n, bool $json): void
{
    $pauses = run_pauses($n);
    sort($pauses);
    $count = count($pauses);
    $p50 = $p99 = $max = 0.0;
    if ($count > 0) {
        $p50 = $pauses[intdiv($count - 1, 2)] / 1e3;
        $p99 = $pauses[(int)(($count - 1) * 0.99)] / 1e3;
        $max = $pauses[$count - 1] / 1e3;
    }
    if ($json)
        emit_json(['impl' => IMPL, 'shape' => 'pauses', 'n' => $n,
                   'live' => PAUSE_LIVE, 'count' => $count,
                   'p50_us' => round($p50, 2), 'p99_us' => round($p99, 2),
                   'max_us' => round($max, 2)]);
    else
        printf("%-8s %9d %7d gc runs        p50 %8.2f us  p99 %8.2f us  max %8.2f us\n",
               'pauses', $n, $count, $p50, $p99, $max);
    fflush(STDOUT);
}

function usage(): void
{
    fwrite(STDERR, "usage: gc_shapes.php [--shape live|garbage|ring|churn|pauses] [--n N] [--reps R] [--json]\n");
    exit(2);
}

function main(array $argv): int
{
    $only = null;
    $n = 1000000;
    $reps = 3;
    $json = false;
    for ($i = 1; $i < count($argv); $i++) {
        $arg = $argv[$i];
        if ($arg === '--shape' && $i + 1 < count($argv))
            $only = $argv[++$i];
        elseif ($arg === '--n' && $i + 1 < count($argv) && ctype_digit($argv[$i + 1]))
            $n = (int)$argv[++$i];
        elseif ($arg === '--reps' && $i + 1 < count($argv) && ctype_digit($argv[$i + 1]))
            $reps = (int)$argv[++$i];
        elseif ($arg === '--json')
            $json = true;
        else
            usage();
    }
    if ($n < 2 || $reps < 1 || ($only !== null && !in_array($only, SHAPES, true)))
        usage();

    gc_disable();
    foreach (SHAPES as $shape) {
        if ($only !== null && $only !== $shape)
            continue;
        if ($shape === 'pauses')
            report_pauses($n, $json);
        else
            report_shape($shape, $n, $reps, $json);
    }
    return 0;
}

exit(main($argv));
