#!/usr/bin/env python3
"""make-corpus.py -- writes the hand-made seed inputs of tests/fuzz/corpus.

The input format is described in tests/fuzz/README.md.  Run from anywhere:
    python3 tests/fuzz/make-corpus.py
"""
import os

(ALLOC, LINK, UNLINK, DROP, HOLD, TRACK, UNTRACK, COLLECT, FREEZE, UNFREEZE,
 THRESHOLD, DEBUG, GARBAGE_CLEAR, DROP_RES, ENABLE, PENDING, EXPLAIN, REFERRERS,
 RING, DUMP, DROP_ALL) = range(21)
PLAIN, FINALIZER, RESURRECT, LEGACY = range(4)
# header flag bits
WIDTH4, DEFERRED, HOSTALLOC, NESTED, DISABLED, NOFINALIZE, NOLEGACY, SAVEALL = \
    (1 << i for i in range(8))


def header(flags=0, t0=0, t1=0, t2=0):
    return [flags, t0, t1, t2]


def alloc(kind, slots, untracked=False):
    return [ALLOC, kind | (slots << 2) | (0x80 if untracked else 0)]


def link(a, slot, b):        # a, b: index into the live list (creation order)
    return [LINK, a, slot, b]


def ring(k, kind, two_slots=False):
    return [RING, (k - 2) | (kind << 3) | (0x20 if two_slots else 0)]


def collect(g):
    return [COLLECT, 3 if g == -1 else g]


def pair(kind):
    """two nodes of one slot each pointing at each other, then dropped"""
    return alloc(kind, 1) + alloc(kind, 1) + link(0, 0, 1) + link(1, 0, 0) + \
        [DROP, 0, DROP, 0]


seeds = {
    "00-empty": header(),
    "01-plain-cycle": header() + pair(PLAIN) + collect(2),
    "02-finalizer-cycle": header() + pair(FINALIZER) + collect(0) + collect(2),
    "03-resurrect": header() + ring(5, RESURRECT) + [DROP_ALL] + collect(2) +
        [DROP_RES] + collect(2),
    "04-legacy": header() + ring(3, LEGACY) + alloc(PLAIN, 2) + link(1, 0, 0) +
        [DROP_ALL] + collect(2) + [GARBAGE_CLEAR] + collect(2),
    "05-track-untrack": header() + alloc(PLAIN, 1, True) + alloc(FINALIZER, 1, True) +
        link(0, 0, 1) + link(1, 0, 0) + [TRACK, 0, TRACK, 1, TRACK, 1, UNTRACK, 0] +
        [DROP_ALL] + collect(2) + [TRACK, 0] + collect(2),
    "06-freeze": header() + ring(4, FINALIZER) + ring(3, PLAIN) + [FREEZE] +
        [DROP_ALL] + collect(2) + [EXPLAIN, 0, UNFREEZE] + collect(1) + collect(2),
    "07-automatic": header(0, 5, 2, 2) + ring(6, PLAIN) * 6 + [DROP_ALL] +
        ring(9, FINALIZER) * 4 + [DROP_ALL] + ring(7, RESURRECT) * 3 + [DROP_ALL] +
        alloc(PLAIN, 0) * 20,
    "08-saveall": header(SAVEALL) + ring(3, FINALIZER) + [DROP_ALL] + collect(2) +
        [DEBUG, 0, GARBAGE_CLEAR] + collect(2) + ring(4, PLAIN) + [DEBUG, 1, DROP_ALL] +
        collect(-1) + [GARBAGE_CLEAR, DEBUG, 0] + collect(2),
    "09-deferred": header(DEFERRED, 3, 2, 2) + ring(5, PLAIN) * 3 + [PENDING, 0] +
        [DROP_ALL] + alloc(PLAIN, 1) * 10 + [PENDING, 0, PENDING, 1],
    "10-width4-hostalloc": header(WIDTH4 | HOSTALLOC) + pair(RESURRECT) + ring(4, LEGACY) +
        [DROP_ALL] + collect(2) + [DROP_RES] + collect(2),
    "11-nested": header(NESTED) + ring(4, FINALIZER) + pair(RESURRECT) + [DROP_ALL] +
        collect(2) + [DROP_RES] + collect(2),
    "12-introspect": header() + ring(3, PLAIN) + ring(3, PLAIN) + alloc(PLAIN, 2) +
        link(6, 0, 0) + link(6, 1, 3) + [DROP, 0, EXPLAIN, 1, EXPLAIN, 6, REFERRERS, 0,
        REFERRERS, 3, DUMP, 0, DUMP, 1, DUMP, 2, DROP_ALL, EXPLAIN, 2, DUMP, 2],
    "13-debug-log": header() + [DEBUG, 14] + ring(3, LEGACY) + ring(3, FINALIZER) +
        [DROP_ALL] + collect(0) + collect(2) + [DEBUG, 15] + collect(2),
    "14-generations": header(DISABLED) + ring(3, PLAIN) + collect(0) + ring(3, PLAIN) +
        collect(0) + collect(1) + ring(3, FINALIZER) + [DROP_ALL] + collect(0) +
        collect(1) + collect(2),
    "15-no-finalize-no-legacy": header(NOFINALIZE | NOLEGACY) + ring(3, RESURRECT) +
        ring(3, LEGACY) + [DROP_ALL] + collect(2),
    "16-enable-threshold": header(DISABLED, 4, 1, 1) + ring(5, PLAIN) * 2 +
        [ENABLE, 1] + ring(5, PLAIN) * 2 + [THRESHOLD, 0, 0, 0, THRESHOLD, 3, 5, 1,
        THRESHOLD, 2, 1, 1] + [DROP_ALL] + ring(4, FINALIZER) * 3 + [ENABLE, 0, UNLINK, 0, 0],
    "17-hold-unlink": header() + alloc(PLAIN, 3) + alloc(FINALIZER, 2) + alloc(PLAIN, 1) +
        link(0, 0, 1) + link(1, 0, 2) + link(2, 0, 0) + [HOLD, 1, HOLD, 1] +
        [DROP_ALL] + collect(2) + [UNLINK, 0, 0, DROP_ALL] + collect(2),
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes(data))
