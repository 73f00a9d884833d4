;; special-forms.scm -- define, lambda, if, let, set!, begin, cond, and, or,
;; quote.

;; define: a variable, a procedure, internal defines, redefinition
(define x 10)
(display x) (newline)
(define (square n) (* n n))
(display (square 12)) (newline)
(define (hypot2 a b)
  (define a2 (square a))
  (define (b2) (square b))
  (+ a2 (b2)))
(display (hypot2 3 4)) (newline)
(define x 11)
(display x) (newline)

;; lambda: fixed, variadic and dotted parameter lists; several body forms
(display ((lambda (a b) (- a b)) 10 3)) (newline)
(display ((lambda args args) 1 2 3)) (newline)
(display ((lambda args args))) (newline)
(display ((lambda (a . rest) (list a rest)) 1 2 3)) (newline)
(display ((lambda (a . rest) rest) 1)) (newline)
(display ((lambda () (display "first ") 'last))) (newline)

;; if: only #f is false
(display (list (if #t 'yes 'no) (if #f 'yes 'no) (if '() 'yes 'no) (if 0 'yes 'no)))
(newline)
(display (if #f #f)) (newline)

;; let: the inits see the outer bindings; named let loops
(display (let ((a 1) (b 2)) (+ a b))) (newline)
(display (let ((x 1) (y x)) (list x y))) (newline)
(display (let () 5)) (newline)
(display (let loop ((i 0) (acc '()))
           (if (= i 5) acc (loop (+ i 1) (cons i acc)))))
(newline)

;; set!: the nearest binding
(define counter 0)
(set! counter (+ counter 1))
(display counter) (newline)
(define (bump!) (set! counter (+ counter 10)))
(bump!)
(display counter) (newline)
(let ((counter 100))
  (set! counter 5)
  (display counter)
  (newline))
(display counter) (newline)

;; begin
(display (begin 1 2 3)) (newline)
(display (begin)) (newline)
(begin (display "a") (display "b") (newline))

;; cond: else, a clause with only a test, no clause taken
(define (classify n)
  (cond ((< n 0) 'negative)
        ((= n 0) 'zero)
        ((< n 10) 'small)
        (else 'big)))
(display (list (classify -5) (classify 0) (classify 3) (classify 99))) (newline)
(display (cond ((eq? 'a 'b) 1))) (newline)
(display (cond (#f 1) (42))) (newline)
(display (cond (#f 1) (else (display "else ") 2))) (newline)

;; and, or: values, and short-circuit (car of '() would be an error)
(display (list (and) (and 1 2) (and 1 #f 3) (or) (or #f 2) (or #f #f))) (newline)
(display (and #f (car '()))) (newline)
(display (or 1 (car '()))) (newline)

;; quote
(display (quote (a b))) (newline)
(display 'sym) (newline)
(display (car ''x)) (newline)
