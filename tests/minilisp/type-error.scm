;! status: 1
;! stderr: type-error.scm:5: error: car: expected a pair, got 5
;; type-error.scm -- a builtin given the wrong type.
(display (+ 1 2)) (newline)
(car 5)
(display "not reached") (newline)
