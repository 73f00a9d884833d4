;! status: 1
;! stderr: deep-recursion.scm:12: error: recursion too deep
;; deep-recursion.scm -- recursion that is not in tail position uses the C
;; stack: a few thousand levels work, a runaway recursion is stopped with
;; a clean error (and, in a script, exit status 1).

(define (depth n) (if (= n 0) 0 (+ 1 (depth (- n 1)))))
(display (depth 2000)) (newline)
(define (build n) (if (= n 0) '() (cons n (build (- n 1)))))
(display (car (build 2000))) (newline)
(display "now a recursion 1,000,000 deep:") (newline)
(depth
  1000000)
(display "not reached") (newline)
