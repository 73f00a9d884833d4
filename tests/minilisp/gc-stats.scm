;; gc-stats.scm -- the table (gc-stats) prints and the list it returns:
;; ((collections collected uncollectable) ...) for generations 0, 1, 2.

(gc-threshold 0 10 10)                  ; only explicit collections
(define (make-node) (define (self) self) self)
(make-node)
(make-node)
(display (gc)) (newline)
(make-node)                             ; garbage not collected yet
(define s (gc-stats))
(display s) (newline)
(display (gc)) (newline)
(display (car (cdr (car (cdr (cdr (gc-stats))))))) (newline)
