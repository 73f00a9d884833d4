;; gc-tools.scm -- thresholds through cgc_set_threshold, and gc-explain
;; (cgc_explain_alive): why is an object still alive?

(display (gc-threshold)) (newline)
(display (gc-threshold 100 5 5)) (newline)
(display (gc-threshold)) (newline)
(gc-threshold 700 10 10)

;; A request refers to itself (a cycle), and a cache keeps it by mistake.
(define cache (list 'cache))
(define (make-request id)
  (let ((req (list 'request id)))
    (set-cdr! (cdr req) (list req))
    req))
(define r1 (make-request 1))
(set-cdr! cache (list r1))
(set! r1 #f)
;; The chain starts at a root: the global environment, which the
;; interpreter itself holds.
(display (gc-explain (car (cdr cache)))) (newline)

;; Inside a running procedure, its frame is a root: the evaluator holds it.
(define (probe)
  (let ((local (list 'local)))
    (gc-explain local)))
(display (probe)) (newline)

;; A cycle that nothing else holds is garbage: no chain, #f.  The (gc)
;; after finds it: the three pairs of request 2.
(display (gc-explain (make-request 2))) (newline)
(display (gc-explain (list 'fresh))) (newline)
(display (gc)) (newline)
