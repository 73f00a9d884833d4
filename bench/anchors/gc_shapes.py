#!/usr/bin/python3
"""gc_shapes.py -- CPython's cycle collector on the shapes of bench/gcbench.

The CPython anchor for bench/gcbench.c: the same five shapes, the same
command line and the same output, so that bench/compare can put the figures
side by side.  A node is a 2-slot list [None, None]; the root container is
a list.  Run it with Debian's interpreter (3.11):

    /usr/bin/python3 bench/anchors/gc_shapes.py [--shape live|garbage|ring|churn|pauses]
                                                [--n N] [--reps R] [--json]

  live     a list holding all N nodes; node i references node (i+1) mod N
           and node (7i+3) mod N.  Time of gc.collect() (frees nothing).
  garbage  N/2 unreachable two-cycles a <-> b.  Time of gc.collect().
  ring     one unreachable N-node ring.  Time of gc.collect().
  churn    N/2 two-cycles made and dropped with the collector on at the
           default thresholds (700, 10, 10), then gc.collect().  Time of
           all of it, allocation included.
  pauses   1,000,000 live nodes as in live, moved to the oldest generation
           by gc.collect(), then the churn of N/2 two-cycles: p50 / p99 /
           max of the generation-0 collections, timed by gc.callbacks.

For live, garbage and ring the collector is disabled while the graph is
built, so only the collection is timed.  Every repetition starts from a
clean heap (the previous one's graph is dropped and collected untimed), and
what the interpreter itself allocated before the first repetition is moved
out of the collector's view with gc.freeze(), so that every collection sees
the benchmark's objects only (some 9,000 fewer objects to traverse in each
full collection).  The figure reported is the median over the repetitions
(the lower middle one when R is even) and the minimum.
"""

import argparse
import gc
import json
import sys
import time

IMPL = "cpython"
SHAPES = ("live", "garbage", "ring", "churn", "pauses")
PAUSE_LIVE = 1000000
clock = time.perf_counter_ns


def build_live(n):
    """The live graph; the returned list is the root container."""
    nodes = [[None, None] for _ in range(n)]
    for i in range(n):
        node = nodes[i]
        node[0] = nodes[(i + 1) % n]
        node[1] = nodes[(7 * i + 3) % n]
    return nodes


def make_pairs(pairs):
    """pairs unreachable two-cycles (nothing of them is left referenced)."""
    for _ in range(pairs):
        a = [None, None]
        b = [None, None]
        a[0] = b
        b[0] = a


def make_ring(n):
    """One unreachable n-node ring through slot 0."""
    first = [None, None]
    prev = first
    for _ in range(n - 1):
        node = [None, None]
        prev[0] = node
        prev = node
    prev[0] = first


def clean_heap():
    """Frees whatever the previous repetition left; the collector ends off."""
    gc.disable()
    gc.collect()
    gc.set_threshold(700, 10, 10)


def total_collected():
    return sum(s["collected"] for s in gc.get_stats())


def timed_collect():
    """One full collection: (ns, collected)."""
    t = clock()
    collected = gc.collect()
    return clock() - t, collected


def run_live(n):
    clean_heap()
    root = build_live(n)
    result = timed_collect()
    del root
    return result


def run_garbage(n):
    clean_heap()
    make_pairs(n // 2)
    return timed_collect()


def run_ring(n):
    clean_heap()
    make_ring(n)
    return timed_collect()


def run_churn(n):
    clean_heap()
    before = total_collected()
    gc.enable()
    t = clock()
    make_pairs(n // 2)
    gc.collect()
    ns = clock() - t
    gc.disable()
    return ns, total_collected() - before


def run_pauses(n):
    """Generation-0 pause durations (ns) during a churn over a live heap."""
    clean_heap()
    root = build_live(PAUSE_LIVE)
    gc.collect()                        # the live nodes move to generation 2
    pauses = []
    start = [0]

    def on_gc(phase, info):
        if info["generation"] != 0:
            return
        if phase == "start":
            start[0] = clock()
        else:
            pauses.append(clock() - start[0])

    gc.callbacks.append(on_gc)
    gc.enable()
    make_pairs(n // 2)
    gc.disable()
    gc.callbacks.remove(on_gc)
    del root
    clean_heap()
    return pauses


EXPECTED = {"live": lambda n: 0, "garbage": lambda n: n // 2 * 2,
            "ring": lambda n: n, "churn": lambda n: n // 2 * 2}
RUNNERS = {"live": run_live, "garbage": run_garbage, "ring": run_ring,
           "churn": run_churn}


def report_shape(shape, n, reps, as_json):
    times = []
    collected = 0
    for _ in range(reps):
        ns, collected = RUNNERS[shape](n)
        times.append(ns / 1e6)
        if collected != EXPECTED[shape](n):
            print("gc_shapes.py: %s collected %d, expected %d"
                  % (shape, collected, EXPECTED[shape](n)), file=sys.stderr)
    times.sort()
    med = times[(reps - 1) // 2]
    if as_json:
        print(json.dumps({"impl": IMPL, "shape": shape, "n": n, "reps": reps,
                          "ms": round(med, 3), "ms_min": round(times[0], 3),
                          "ns_per_node": round(med * 1e6 / n, 2),
                          "collected": collected}, separators=(",", ":")))
    else:
        print("%-8s %9d %10.3f ms %8.2f ns/node  (min %.3f ms, collected %d)"
              % (shape, n, med, med * 1e6 / n, times[0], collected))
    sys.stdout.flush()


def report_pauses(n, as_json):
    pauses = sorted(run_pauses(n))
    count = len(pauses)
    p50 = p99 = mx = 0.0
    if count:
        p50 = pauses[(count - 1) // 2] / 1e3
        p99 = pauses[int((count - 1) * 0.99)] / 1e3
        mx = pauses[-1] / 1e3
    if as_json:
        print(json.dumps({"impl": IMPL, "shape": "pauses", "n": n,
                          "live": PAUSE_LIVE, "count": count,
                          "p50_us": round(p50, 2), "p99_us": round(p99, 2),
                          "max_us": round(mx, 2)}, separators=(",", ":")))
    else:
        print("%-8s %9d %7d gen-0 pauses  p50 %8.2f us  p99 %8.2f us  max %8.2f us"
              % ("pauses", n, count, p50, p99, mx))
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description="CPython's collector on the gcbench shapes")
    ap.add_argument("--shape", choices=SHAPES)
    ap.add_argument("--n", type=int, default=1000000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.n < 2 or args.reps < 1:
        ap.error("need --n >= 2 and --reps >= 1")

    gc.disable()
    gc.collect()
    gc.freeze()                         # the interpreter's own objects
    for shape in SHAPES:
        if args.shape not in (None, shape):
            continue
        if shape == "pauses":
            report_pauses(args.n, args.json)
        else:
            report_shape(shape, args.n, args.reps, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
