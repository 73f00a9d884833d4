;; demo.scm -- why a reference-counted runtime needs a cycle collector.
;;
;; Each round builds 10,000 "nodes" and 10,000 "rings" and drops them at
;; once.  Both are cycles, so reference counting alone never frees them:
;;
;;   minilisp demo.scm           the collector runs at safe points whenever
;;                               700 more containers exist than at the last
;;                               collection: memory in use stays flat
;;   minilisp --no-gc demo.scm   no automatic collection: memory grows by
;;                               the same amount every round, until the
;;                               explicit (gc) at the end
;;
;; "make demo" runs both.

;; A node is a procedure that knows itself: the frame of the call to
;; make-node binds self, and self's environment is that frame.  Frame and
;; procedure refer to each other -- the cycle a Python function makes when
;; its closure refers back to it.
(define (make-node id)
  (define (self msg)
    (if (eq? msg 'id) id self))
  self)

;; A ring: two pairs whose cdrs point at each other.
(define (make-ring id)
  (let ((a (list id))
        (b (list id)))
    (set-cdr! a b)
    (set-cdr! b a)
    a))

;; n nodes and n rings, each dropped as soon as it is made.
(define (build n)
  (if (> n 0)
      (begin
        (make-node n)
        (make-ring n)
        (build (- n 1)))))

(define (kib bytes) (quotient (+ bytes 1023) 1024))

(define (show-memory what)
  (display what)
  (display (kib (memory-in-use)))
  (display " KiB")
  (newline))

(show-memory "memory in use at the start:  ")
(let loop ((round 1))
  (if (< round 11)
      (begin
        (build 10000)
        (display "round ")
        (display round)
        (display (if (< round 10) ":  " ": "))
        (display (* round 10000))
        (show-memory " nodes and rings made, memory in use ")
        (loop (+ round 1)))))

(display "explicit (gc) found ")
(display (gc))
(display " unreachable objects")
(newline)
(show-memory "memory in use after it:      ")
(newline)
(gc-stats)
