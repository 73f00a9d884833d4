## bench/local.mk -- benchmarks (included by Makefile.am; not part of make check).

bench: bench-alloc

bench-alloc:
	$(SHELL) $(srcdir)/bench/run-alloc

.PHONY: bench bench-alloc

# bench/gcbench: collector speed per node on five shapes (bench/README.md).
# Built by make (so it never rots), run by "make bench-gc" and bench/compare.
# It links libcyclegc statically, as Debian's python3 links libpython: calls
# from the host into the library are then direct.  Through the shared
# library's PLT the churn shape costs about 4 ns/node more (bench/README.md).
noinst_PROGRAMS += bench/gcbench
bench_gcbench_SOURCES = bench/gcbench.c
bench_gcbench_CPPFLAGS = -I$(top_srcdir)/include $(AM_CPPFLAGS)
bench_gcbench_LDFLAGS = -no-install -static
bench_gcbench_LDADD = lib/libcyclegc.la

bench: bench-gc
bench-gc: bench/gcbench$(EXEEXT)
	./bench/gcbench$(EXEEXT) --n 1000000

.PHONY: bench-gc

# bench/compare runs gcbench and the CPython and PHP anchors side by side
# (python3 and php from Debian); not run by make bench.
EXTRA_DIST += bench/compare bench/anchors/gc_shapes.py bench/anchors/gc_shapes.php
