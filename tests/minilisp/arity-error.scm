;! status: 1
;! stderr: arity-error.scm:6: error: wrong number of arguments to add: expected 2, got 3
;; arity-error.scm -- a procedure called with the wrong number of arguments.
(define (add a b) (+ a b))
(display (add 1 2)) (newline)
(add 1 2 3)
(display "not reached") (newline)
