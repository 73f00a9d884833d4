## bench/trees.mk -- the GCBench-style back-linked trees benchmark (included by Makefile.am).
#
# "make bench-trees" builds bench/trees.c twice -- bench/trees_cgc (cyclegc:
# reference counting plus the cycle collector) and bench/trees_boehm (the
# Boehm-Demers-Weiser collector, -DTREES_BOEHM) -- runs both with
# TREES_ARGS (default: the full sizes) and prints them side by side with
# bench/run-trees.  The JSON lines of each run stay in
# bench/trees-cyclegc.json and bench/trees-boehm.json.  Without Debian's
# libgc-dev (pkg-config bdw-gc) the Boehm side is skipped.  bench/README.md
# says what the benchmark measures.

TREES_ARGS =

EXTRA_PROGRAMS += bench/trees_cgc
bench_trees_cgc_SOURCES = bench/trees.c
bench_trees_cgc_CPPFLAGS = -I$(top_srcdir)/include $(AM_CPPFLAGS)
bench_trees_cgc_CFLAGS = $(AM_CFLAGS) -O2
bench_trees_cgc_LDFLAGS = -no-install
bench_trees_cgc_LDADD = lib/libcyclegc.la

# The Boehm variant is not an automake program: its flags come from
# pkg-config when it is built, not from configure.
bench/trees_boehm$(EXEEXT): $(srcdir)/bench/trees.c
	@$(MKDIR_P) bench
	@pc='$(PKG_CONFIG)'; test -n "$$pc" || pc=pkg-config; \
	  gc=`$$pc --cflags --libs bdw-gc` || { \
	    echo "bench/trees_boehm: pkg-config does not find bdw-gc (install libgc-dev)" >&2; \
	    exit 1; }; \
	  echo "  CCLD     $@ (-DTREES_BOEHM $$gc)"; \
	  $(CC) -DTREES_BOEHM $(CPPFLAGS) $(AM_CFLAGS) -O2 $(CFLAGS) $(LDFLAGS) \
	    -o $@ $(srcdir)/bench/trees.c $$gc

# bench-trees-boehm builds the Boehm variant when pkg-config finds bdw-gc.
# It is a target of its own so that the line running $(MAKE) is not the one
# running the benchmark ("make -n" executes lines that mention $(MAKE)).
bench-trees-boehm:
	@pc='$(PKG_CONFIG)'; test -n "$$pc" || pc=pkg-config; \
	  if $$pc --exists bdw-gc >/dev/null 2>&1; then \
	    $(MAKE) $(AM_MAKEFLAGS) bench/trees_boehm$(EXEEXT); \
	  else \
	    echo "bench-trees: libgc-dev not installed, Boehm side skipped"; \
	  fi

bench: bench-trees
bench-trees: bench/trees_cgc$(EXEEXT) bench-trees-boehm
	@pc='$(PKG_CONFIG)'; test -n "$$pc" || pc=pkg-config; \
	  boehm=; \
	  if $$pc --exists bdw-gc >/dev/null 2>&1; then boehm=bench/trees_boehm$(EXEEXT); fi; \
	  TREES_OUT=bench $(SHELL) $(srcdir)/bench/run-trees \
	    bench/trees_cgc$(EXEEXT) $$boehm -- $(TREES_ARGS)

.PHONY: bench-trees bench-trees-boehm

EXTRA_DIST += bench/trees.c bench/run-trees
CLEANFILES += \
	bench/trees_cgc$(EXEEXT) \
	bench/trees_boehm$(EXEEXT) \
	bench/trees-cyclegc.json \
	bench/trees-boehm.json
