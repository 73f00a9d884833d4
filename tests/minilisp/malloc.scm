;! args: --malloc
;; malloc.scm -- with --malloc, every block (containers with their
;; collector header, atoms, binding arrays) comes from malloc through a
;; cgc_allocator instead of the built-in pool; collection works the same.

(define (make-node id)
  (define (self msg) (if (eq? msg 'id) id self))
  self)
(define (run n)
  (if (> n 0)
      (begin
        (make-node n)
        (run (- n 1)))))
(define start (memory-in-use))
(display (> start 0)) (newline)
(run 20000)
(display "bounded: ") (display (< (- (memory-in-use) start) 1000000)) (newline)
(gc)
(display "back to the start: ") (display (< (- (memory-in-use) start) 10000)) (newline)
(define (count l n) (if (null? l) n (count (cdr l) (+ n 1))))
(define (iota n)
  (let loop ((i n) (acc '()))
    (if (= i 0) acc (loop (- i 1) (cons i acc)))))
(display (count (iota 100000) 0)) (newline)
(display ((make-node 7) (quote id))) (newline)
