;! status: 1
;! stderr: unbound.scm:6: error: unbound variable: no-such-variable
;; unbound.scm -- an error ends a script with status 1; what was printed
;; before stays, nothing after runs.
(display "before") (newline)
(display no-such-variable)
(display "after") (newline)
