## examples/minilisp/local.mk -- the minilisp example (included by Makefile.am).
