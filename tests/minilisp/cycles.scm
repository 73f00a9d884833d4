;; cycles.scm -- what (gc) finds: unreachable cycles through pairs,
;; vectors, procedures and environments, and nothing still in use.
;; Automatic collection is off (threshold 0), so every count is exact.

(gc-threshold 0 10 10)
(display (gc)) (newline)

;; a pair whose cdr is itself: 1
(let ((p (list 'self)))
  (set-cdr! p p))
(display (gc)) (newline)

;; two pairs pointing at each other: 2
(let ((a (list 1)) (b (list 2)))
  (set-cdr! a b)
  (set-cdr! b a))
(display (gc)) (newline)

;; a vector holding itself: 1
(let ((v (make-vector 2 0)))
  (vector-set! v 0 v))
(display (gc)) (newline)

;; a procedure and the frame it was made in, which binds it: 2
(define (make-node) (define (self) self) self)
(make-node)
(display (gc)) (newline)

;; the same through a let frame, whose parent is the call's frame: 3
(define (make-obj)
  (let ((me #f))
    (set! me (lambda () me))
    me))
(make-obj)
(display (gc)) (newline)

;; a named let: its frame, its procedure, the parameter list, and the code
;; of its body, which only that procedure held (12 pairs): 15
(let loop ((i 0)) (if (< i 3) (loop (+ i 1))))
(display (gc)) (newline)

;; a vector and a pair in a cycle, left behind by a procedure that itself
;; was freed by reference counting: 2
(define (tangle)
  (let ((v (make-vector 1 #f)) (p (list 'x)))
    (vector-set! v 0 p)
    (set-car! p v)
    (lambda () v)))
(tangle)
(display (gc)) (newline)

;; 1000 nodes at once: 2000
(define (many n) (if (> n 0) (begin (make-node) (many (- n 1)))))
(many 1000)
(display (gc)) (newline)

;; cycles still in use survive, intact
(define ring (list 1 2 3))
(set-cdr! (cdr (cdr ring)) ring)
(define node (make-node))
(display (gc)) (newline)
(display (car (cdr (cdr (cdr ring))))) (newline)
(display (eq? (node) node)) (newline)
(display ring) (newline)

;; dropped, they are garbage: 3 + 2
(set! ring #f)
(set! node #f)
(display (gc)) (newline)
(display (gc)) (newline)
