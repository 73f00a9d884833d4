;! args: --no-gc
;; no-gc.scm -- the loop of gc-100k.scm with automatic collection off:
;; memory in use grows with every structure, no collection runs until the
;; explicit (gc), which then finds all 200,000 containers.

(define (make-node id)
  (define (self msg) (if (eq? msg 'id) id self))
  self)
(define (make-ring id)
  (let ((a (list id)) (b (list id)))
    (set-cdr! a b)
    (set-cdr! b a)
    a))
(define (run n)
  (if (> n 0)
      (begin
        (if (= (remainder n 2) 1) (make-node n) (make-ring n))
        (run (- n 1)))))

(define start (memory-in-use))
(run 50000)
(define half (- (memory-in-use) start))
(run 50000)
(define full (- (memory-in-use) start))
(display "grew by more than 10 MB: ") (display (> full 10000000)) (newline)
(display "linearly: ") (display (< (- full (* 2 half)) 10000)) (newline)
(gc-stats)
(display (gc)) (newline)
(display "memory back to the start: ")
(display (< (- (memory-in-use) start) 10000)) (newline)
