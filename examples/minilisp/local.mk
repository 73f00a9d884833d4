## examples/minilisp/local.mk -- the minilisp example (included by Makefile.am).
#
# minilisp is a small Scheme-like interpreter built on cyclegc, the example
# doc/embedding.md walks through; examples/minilisp/README.md describes the
# language.  "make" builds it, "make demo" runs examples/minilisp/demo.scm
# with and without the collector, and "make check" runs the scripts of
# tests/minilisp through tests/check_minilisp.  Paths are relative to the
# top directory: this is a fragment of the top-level Makefile.

noinst_PROGRAMS += examples/minilisp/minilisp
examples_minilisp_minilisp_SOURCES = \
	examples/minilisp/minilisp.h \
	examples/minilisp/value.c \
	examples/minilisp/print.c \
	examples/minilisp/reader.c \
	examples/minilisp/eval.c \
	examples/minilisp/builtins.c \
	examples/minilisp/main.c
examples_minilisp_minilisp_CPPFLAGS = -I$(top_srcdir)/include $(AM_CPPFLAGS)
examples_minilisp_minilisp_LDFLAGS = -no-install
examples_minilisp_minilisp_LDADD = lib/libcyclegc.la

EXTRA_DIST += \
	doc/embedding.md \
	examples/minilisp/README.md \
	examples/minilisp/demo.scm

# ---------------------------------------------------------------------------
# Tests: tests/check_minilisp runs the interpreter on every script of
# tests/minilisp and compares what it prints with the .out file next to it
# (the header of tests/check_minilisp.c describes the format).  It finds the
# interpreter and the scripts through the two paths compiled in below, so
# it works in a VPATH build (make distcheck) too.

check_PROGRAMS += tests/check_minilisp
tests_check_minilisp_SOURCES = tests/check_minilisp.c $(test_host)
tests_check_minilisp_CPPFLAGS = $(test_cppflags) \
	-DMINILISP_BIN=\"$(abs_top_builddir)/examples/minilisp/minilisp$(EXEEXT)\" \
	-DMINILISP_TESTDIR=\"$(abs_top_srcdir)/tests/minilisp\"
tests_check_minilisp_CFLAGS = $(test_cflags)
tests_check_minilisp_LDFLAGS = $(test_ldflags)
tests_check_minilisp_LDADD = $(test_ldadd)
# The interpreter must exist before the suite runs.
EXTRA_tests_check_minilisp_DEPENDENCIES = examples/minilisp/minilisp$(EXEEXT)

minilisp_scripts = \
	tests/minilisp/arity-error.scm \
	tests/minilisp/basics.scm \
	tests/minilisp/builtins.scm \
	tests/minilisp/closures.scm \
	tests/minilisp/cycles.scm \
	tests/minilisp/deep-recursion.scm \
	tests/minilisp/gc-100k.scm \
	tests/minilisp/gc-stats.scm \
	tests/minilisp/gc-tools.scm \
	tests/minilisp/long-list.scm \
	tests/minilisp/malloc.scm \
	tests/minilisp/no-gc.scm \
	tests/minilisp/not-procedure.scm \
	tests/minilisp/repl.scm \
	tests/minilisp/special-forms.scm \
	tests/minilisp/syntax-error.scm \
	tests/minilisp/tail-calls.scm \
	tests/minilisp/type-error.scm \
	tests/minilisp/unbound.scm
EXTRA_DIST += $(minilisp_scripts) $(minilisp_scripts:.scm=.out)
