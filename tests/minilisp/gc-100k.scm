;; gc-100k.scm -- 100,000 cyclic structures (nodes and rings in turn),
;; each dropped as soon as it is made: automatic collections at the safe points keep memory in use
;; bounded, and (gc) and (gc-stats) account for every one of them.

;; two containers each: a frame and the procedure it binds
(define (make-node id)
  (define (self msg) (if (eq? msg 'id) id self))
  self)
;; two containers each: two pairs pointing at each other
(define (make-ring id)
  (let ((a (list id)) (b (list id)))
    (set-cdr! a b)
    (set-cdr! b a)
    a))

(define start (memory-in-use))
(define peak 0)
(define (note-memory)
  (let ((m (- (memory-in-use) start)))
    (if (> m peak) (set! peak m))))
(define (run n)
  (if (> n 0)
      (begin
        (if (= (remainder n 2) 1) (make-node n) (make-ring n))
        (if (= (remainder n 1000) 0) (note-memory))
        (run (- n 1)))))

(display (gc)) (newline)
(run 100000)
;; without the collector this would be about 14 MB (see no-gc.scm)
(display "peak growth below 1 MB: ") (display (< peak 1000000)) (newline)
(define found (gc))
(display "left for the final (gc): ") (display (< found 5000)) (newline)

(define stats (gc-stats))
(define (collected row) (car (cdr row)))
(define (collections row) (car row))
(display "generation-0 collections ran: ")
(display (> (collections (car stats)) 100)) (newline)
(display "containers collected in all: ")
(display (+ (collected (car stats))
            (collected (car (cdr stats)))
            (collected (car (cdr (cdr stats))))))
(newline)
(display "nothing uncollectable: ")
(display (= 0 (car (cdr (cdr (car stats)))))) (newline)
(display "memory back to the start: ")
(display (< (- (memory-in-use) start) 10000)) (newline)
