;! stdin
;! stderr: error: unbound variable: nope
;! stderr: error: car: expected a pair, got ()
;! stderr: error: wrong number of arguments to cons: expected 2, got 1
;! stderr: error: unexpected ')'
;! stderr: error: not a procedure: 1
;! stderr: error: unbound variable: g
;! stderr: error: recursion too deep
;; repl.scm -- the REPL (this file is its standard input): it prints each
;; result (nothing for define, display and the like), reports errors on
;; standard error and carries on.
(+ 1 2)
"a string"
'sym
'(1 "two" #(3) (quote x))
(define x 5)
x
nope
(car '())
(cons 1)
) (+ 10 10)
(1 2)
(set! nope 1)
(display "display returns nothing")
(newline)
(if #f #f)
(lambda (x) x)
car
x
(define (f) (g))
(f)
(define (g) 'g-defined-now)
(f)
(define (loop n) (if (= n 0) 'loop-done (loop (- n 1))))
(loop 100000)
(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1)))))
(deep 1000000)
(deep 100)
(gc)
'bye
