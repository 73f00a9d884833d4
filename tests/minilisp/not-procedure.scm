;! status: 1
;! stderr: not-procedure.scm:5: error: not a procedure: (1 2)
;; not-procedure.scm -- calling something that is not a procedure.
(define lst '(1 2))
(lst 0)
