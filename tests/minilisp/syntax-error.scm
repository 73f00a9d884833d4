;! status: 1
;! stderr: syntax-error.scm:7: error: unexpected ')'
;; syntax-error.scm -- forms run one by one as they are read, so the first
;; form runs before the reader finds the stray parenthesis.
(display "read and run")
(newline)
(display (+ 1 2)) (newline))
(display "not reached")
