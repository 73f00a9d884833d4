;; long-list.scm -- 1,000,000-long chains are built and freed: reference
;; counting frees them, and the trashcan keeps the C stack bounded while it
;; does (each pair's dealloc releases the next pair).

;; The chains are data, not garbage: a higher generation-0 threshold means
;; fewer collections examine them while they grow (tuning through
;; cgc_set_threshold; it also keeps --enable-debug builds, which validate
;; the older generation after every collection, quick).
(gc-threshold 10000 10 10)

(define (iota n)
  (let loop ((i n) (acc '()))
    (if (= i 0) acc (loop (- i 1) (cons i acc)))))
(define (count l n)
  (if (null? l) n (count (cdr l) (+ n 1))))
(define (nest n)                        ; (((...))) through the car
  (let loop ((i 0) (x '()))
    (if (= i n) x (loop (+ i 1) (list x)))))
(define (vector-chain n)                ; #(#(#(...)))
  (let loop ((i 0) (x #f))
    (if (= i n) x (loop (+ i 1) (vector x)))))
(define (closure-chain n)               ; procedure -> frame -> procedure ...
  (let loop ((i 0) (f #f))
    (if (= i n) f (loop (+ i 1) (let ((g f)) (lambda () g))))))
(define (length-named l)
  (let loop ((l l) (n 0))
    (if (null? l) n (loop (cdr l) (+ n 1)))))
(define big #f)
(define before (memory-in-use))

(set! big (iota 1000000))
(display (count big 0)) (newline)
(display (car big)) (newline)
(display (> (- (memory-in-use) before) 40000000)) (newline)
(set! big '())
(display (< (- (memory-in-use) before) 100000)) (newline)

;; a list that only lives during a call
(display (count (iota 1000000) 0)) (newline)

;; chains through the car, through vectors, through procedures and frames
(set! big (nest 1000000))
(set! big (vector-chain 1000000))
(set! big (closure-chain 1000000))
(set! big #f)
(display (< (- (memory-in-use) before) 100000)) (newline)

;; A named let inside a procedure makes a cycle (the loop's frame and
;; procedure) whose parent frame is the call's frame: here the one that
;; binds l to the whole list.  Once big lets go, the list lives on until
;; the collector frees that cycle -- and the list with it, through the
;; trashcan again.  (Automatic collection is off meanwhile, so that the
;; memory figure is checked before any collection.)
(gc-threshold 0 10 10)
(set! big (iota 1000000))
(display (length-named big)) (newline)
(set! big #f)
(display (> (- (memory-in-use) before) 40000000)) (newline)
(display (> (gc) 0)) (newline)
(display (< (- (memory-in-use) before) 100000)) (newline)
(gc-threshold 10000 10 10)
(display "freed") (newline)
