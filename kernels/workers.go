package kernels

// Workers is a fixed set of goroutines that run one function split into
// parts (fork-join), for the executor's parallel kernels. The caller's
// goroutine runs part 0 and Run returns when every part is done. Run
// allocates nothing, so a bound kernel called every training step stays
// allocation-free; the goroutines live until Close.
//
// A nil *Workers runs everything serially as one part.
type Workers struct {
	fn    func(part, parts int)
	start []chan struct{} // one per helper goroutine
	done  chan struct{}
}

// NewWorkers starts a pool that splits work into n parts (n−1 helper
// goroutines). n < 1 is taken as 1.
func NewWorkers(n int) *Workers {
	w := &Workers{done: make(chan struct{}, max(n-1, 1))}
	for i := 1; i < n; i++ {
		c := make(chan struct{}, 1)
		w.start = append(w.start, c)
		go w.helper(i, c)
	}
	return w
}

func (w *Workers) helper(part int, start chan struct{}) {
	for range start {
		w.fn(part, len(w.start)+1)
		w.done <- struct{}{}
	}
}

// Parts is how many parts Run splits work into (1 for a nil pool).
func (w *Workers) Parts() int {
	if w == nil {
		return 1
	}
	return len(w.start) + 1
}

// Run calls fn(part, parts) for every part in [0, parts) concurrently and
// waits for all of them. fn must not call Run on the same pool.
func (w *Workers) Run(fn func(part, parts int)) {
	if w == nil || len(w.start) == 0 {
		fn(0, 1)
		return
	}
	w.fn = fn
	for _, c := range w.start {
		c <- struct{}{}
	}
	fn(0, len(w.start)+1)
	for range w.start {
		<-w.done
	}
	w.fn = nil
}

// Close stops the helper goroutines; the pool must not be used after.
func (w *Workers) Close() {
	if w == nil {
		return
	}
	for _, c := range w.start {
		close(c)
	}
	w.start = nil
}

// Span is part's share [lo, hi) of n items split into parts contiguous
// ranges whose boundaries are multiples of align (except the last).
func Span(n, part, parts, align int) (lo, hi int) {
	if align < 1 {
		align = 1
	}
	units := (n + align - 1) / align
	lo = min(units*part/parts*align, n)
	hi = min(units*(part+1)/parts*align, n)
	return lo, hi
}
