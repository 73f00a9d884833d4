;; tail-calls.scm -- calls in tail position run in bounded stack and
;; memory: 1,000,000 iterations of self-recursive loops.

(define (count-down n) (if (= n 0) 'done (count-down (- n 1))))
(display (count-down 1000000)) (newline)

(define (sum-to n acc) (if (= n 0) acc (sum-to (- n 1) (+ acc n))))
(display (sum-to 1000000 0)) (newline)

;; mutual recursion in tail position
(define (ev? n) (if (= n 0) #t (od? (- n 1))))
(define (od? n) (if (= n 0) #f (ev? (- n 1))))
(display (list (ev? 1000000) (od? 1000001))) (newline)

;; tail position through cond, and, or, let, begin and a named let
(define (loop-cond n) (cond ((= n 0) 'cond) (else (loop-cond (- n 1)))))
(define (loop-and n) (and #t (if (= n 0) 'and (loop-and (- n 1)))))
(define (loop-or n) (or #f (if (= n 0) 'or (loop-or (- n 1)))))
(define (loop-let n) (let ((m (- n 1))) (if (< m 0) 'let (loop-let m))))
(define (loop-begin n) (begin 1 (if (= n 0) 'begin (loop-begin (- n 1)))))
(display (list (loop-cond 1000000) (loop-and 1000000) (loop-or 1000000)
               (loop-let 1000000) (loop-begin 1000000)
               (let loop ((i 0)) (if (= i 1000000) 'named-let (loop (+ i 1))))))
(newline)

;; memory: each iteration's frame is freed when the next replaces it
(define before (memory-in-use))
(define (spin n) (if (= n 0) (memory-in-use) (spin (- n 1))))
(display (< (- (spin 1000000) before) 10000)) (newline)

;; 1,000,000 iterations that each leave a cycle behind: the collector
;; keeps up, at the safe points between evaluation steps
(define (churn n)
  (if (= n 0)
      (memory-in-use)
      (begin
        (let ((p (list n)))
          (set-cdr! p p))
        (churn (- n 1)))))
(display (< (- (churn 1000000) before) 1000000)) (newline)
