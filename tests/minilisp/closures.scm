;; closures.scm -- procedures that capture their environment.

;; counters: each call of make-counter makes a frame of its own
(define (make-counter)
  (let ((n 0))
    (lambda () (set! n (+ n 1)) n)))
(define c1 (make-counter))
(define c2 (make-counter))
(c1)
(c1)
(display (list (c1) (c2))) (newline)

;; higher-order procedures
(define (make-adder k) (lambda (x) (+ x k)))
(define add5 (make-adder 5))
(display (add5 10)) (newline)
(define (map1 f l) (if (null? l) '() (cons (f (car l)) (map1 f (cdr l)))))
(display (map1 add5 '(1 2 3))) (newline)
(display (map1 (lambda (x) (* x x)) '(1 2 3 4))) (newline)
(define (compose f g) (lambda (x) (f (g x))))
(display ((compose add5 (make-adder 1)) 0)) (newline)

;; several procedures sharing one frame (and referring to each other)
(define (make-account balance)
  (define (deposit n) (set! balance (+ balance n)) balance)
  (define (withdraw n) (set! balance (- balance n)) balance)
  (lambda (msg n)
    (cond ((eq? msg 'deposit) (deposit n))
          ((eq? msg 'withdraw) (withdraw n))
          (else 'unknown))))
(define acc (make-account 100))
(acc 'deposit 50)
(display (acc 'withdraw 30)) (newline)
(display (acc 'transfer 1)) (newline)

;; mutual recursion
(define (my-even? n) (if (= n 0) #t (my-odd? (- n 1))))
(define (my-odd? n) (if (= n 0) #f (my-even? (- n 1))))
(display (list (my-even? 10) (my-odd? 7) (my-even? 7))) (newline)

;; one closure per iteration of a named let, each with its own i
(define fs
  (let loop ((i 0) (acc '()))
    (if (= i 3) acc (loop (+ i 1) (cons (lambda () i) acc)))))
(display (map1 (lambda (f) (f)) fs)) (newline)

;; a procedure reaching itself through a vector
(define v (make-vector 1 #f))
(vector-set! v 0 (lambda (n) (if (= n 0) 'done ((vector-ref v 0) (- n 1)))))
(display ((vector-ref v 0) 10)) (newline)

;; everything above is still in use: a full collection frees none of it
(display (gc)) (newline)
(display (list (c1) (c2) (add5 1) (acc 'deposit 0) ((vector-ref v 0) 3))) (newline)
