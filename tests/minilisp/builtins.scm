;; builtins.scm -- every builtin procedure.

;; pairs and lists
(display (cons 1 2)) (newline)
(display (cons 1 '(2))) (newline)
(display (car '(a b))) (display " ") (display (cdr '(a b))) (newline)
(define p (cons 1 2))
(set-car! p 10)
(set-cdr! p '(20))
(display p) (newline)
(display (list)) (display " ") (display (list 1 (list 2 3) "x")) (newline)
(display (list (null? '()) (null? '(1)) (null? 0) (pair? '(1)) (pair? '()) (pair? 5)))
(newline)

;; vectors
(define v (vector 1 2 3))
(display v) (newline)
(display (vector-ref v 0)) (newline)
(vector-set! v 1 'two)
(display v) (newline)
(display (vector)) (newline)
(display (make-vector 3 0)) (display " ") (display (make-vector 2)) (newline)
(display (vector-length v)) (newline)

;; arithmetic
(display (list (+) (+ 1) (+ 1 2 3) (- 5) (- 10 1 2) (*) (* 2 3 4))) (newline)
(display (list (quotient 17 5) (remainder 17 5) (quotient -17 5) (remainder -17 5)))
(newline)
(display (* 4611686018427387904 -2)) (newline)

;; comparisons
(display (list (< 1 2) (< 2 1) (< 1 2 3) (< 1 3 2) (> 3 2 1) (> 1 2)
               (= 1 1) (= 1 2) (= 5 5 5) (< 7)))
(newline)

;; identity
(display (list (eq? 'a 'a) (eq? 'a 'b) (eq? 100000 100000) (eq? '() '())
               (eq? car car) (eq? (list 1) (list 1)) (eq? p p) (eq? "s" "s")))
(newline)
(display (list (not #f) (not 0) (not '()))) (newline)

;; output
(display "display, then newline:")
(newline)
(display (display "")) (newline)
(display (newline))
(newline)
