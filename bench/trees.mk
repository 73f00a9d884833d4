## bench/trees.mk -- the GCBench-style back-linked trees benchmark (included by Makefile.am).
