package kernels

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Workers is a fixed set of goroutines that run one function split into
// parts (fork-join), for the executor's parallel kernels. The caller's
// goroutine runs part 0 and Run returns when every part is done. Run
// allocates nothing, so a bound kernel called every training step stays
// allocation-free; the goroutines live until Close.
//
// A training step forks and joins a few dozen times, with short serial
// stretches between. Waking a parked goroutine costs ~100 µs on the
// project's VM (the futex wake-up goes through the hypervisor, and the Go
// scheduler's hand-over sleeps; kernels/internal/openblas/slack.go,
// BenchmarkWorkersWake), so a helper that has finished its part watches
// for the next Run for up to spinWait before it parks, and Run waits for
// the helpers the same way (see spinning).
//
// A nil *Workers runs everything serially as one part.
type Workers struct {
	fn      func(part, parts int)
	gen     atomic.Uint64 // Run's count: a helper runs its part once per increment
	pending atomic.Int32  // helper parts of the current Run not yet done
	helpers []*helper
	closed  atomic.Bool
	done    chan struct{} // a helper's part finished while Run was parked
	waiting atomic.Bool   // Run is parked on done
	yield   bool          // more parts than processors: spin by yielding
	parkNow atomic.Bool   // Park was called: stop watching, sleep
}

type helper struct {
	part     int
	sleeping atomic.Bool   // parked on wake; Run must send to it
	wake     chan struct{} // capacity 1
}

// spinWait is how long a goroutine of the pool watches for work (or for
// the helpers to finish) before it parks.
var spinWait = 100 * time.Microsecond

// NewWorkers starts a pool that splits work into n parts (n−1 helper
// goroutines). n < 1 is taken as 1.
func NewWorkers(n int) *Workers {
	w := &Workers{done: make(chan struct{}, 1), yield: n > runtime.GOMAXPROCS(0)}
	for i := 1; i < n; i++ {
		h := &helper{part: i, wake: make(chan struct{}, 1)}
		w.helpers = append(w.helpers, h)
		go w.loop(h)
	}
	return w
}

// spinning is one goroutine's watch: how long it has watched, and whether
// spinWait has passed. Check it after each look. Between looks it pauses
// the core (cpuRelax) without entering the Go scheduler: a yield there
// (runtime.Gosched) wakes idle processors to look for work, and while the
// other goroutine of a GEMM is in a cgo call its processor is idle, so
// each yield would cost an OS thread wake-up (30 context switches per
// GEMM, measured). Only a pool with more parts than processors yields.
type spinning struct {
	i     int
	start time.Time
}

func (s *spinning) more(w *Workers) bool {
	if w.parkNow.Load() {
		return false
	}
	if s.i&63 == 0 {
		if s.i == 0 {
			s.start = time.Now()
		} else if time.Since(s.start) > spinWait {
			return false
		}
	}
	s.i++
	if w.yield {
		runtime.Gosched()
	} else {
		cpuRelax()
	}
	return true
}

func (w *Workers) loop(h *helper) {
	var seen uint64 // Run may come before this goroutine starts
	for {
		for w.gen.Load() == seen {
			var sp spinning
			for w.gen.Load() == seen && sp.more(w) {
			}
			if w.gen.Load() != seen {
				break
			}
			h.sleeping.Store(true)
			if w.gen.Load() != seen && h.sleeping.CompareAndSwap(true, false) {
				break // Run came between the check and the flag and sends nothing
			}
			// Run (or Close) cleared the flag and sends one token. It may
			// be late: a Run whose part this goroutine ran while it was
			// still waking the others. The loop looks again.
			<-h.wake
		}
		seen = w.gen.Load()
		if w.closed.Load() {
			return
		}
		w.fn(h.part, len(w.helpers)+1)
		if w.pending.Add(-1) == 0 && w.waiting.CompareAndSwap(true, false) {
			w.done <- struct{}{}
		}
	}
}

// Park tells helpers watching for work to sleep now rather than at the end
// of spinWait: the caller is about to keep the cores busy with threads of
// its own (kernels.GemmPlan's OpenBLAS calls). The next Run wakes them.
func (w *Workers) Park() {
	if w != nil {
		w.parkNow.Store(true)
	}
}

// Parts is how many parts Run splits work into (1 for a nil pool).
func (w *Workers) Parts() int {
	if w == nil {
		return 1
	}
	return len(w.helpers) + 1
}

// Run calls fn(part, parts) for every part in [0, parts) concurrently and
// waits for all of them. fn must not call Run on the same pool.
func (w *Workers) Run(fn func(part, parts int)) {
	if w == nil || len(w.helpers) == 0 || w.closed.Load() {
		fn(0, 1)
		return
	}
	w.fn = fn
	w.parkNow.Store(false)
	w.pending.Store(int32(len(w.helpers)))
	w.gen.Add(1)
	w.wakeSleepers()
	fn(0, len(w.helpers)+1)
	var sp spinning
	for w.pending.Load() != 0 && sp.more(w) {
	}
	for w.pending.Load() != 0 {
		w.waiting.Store(true)
		if w.pending.Load() == 0 && w.waiting.CompareAndSwap(true, false) {
			break // the last helper finished between the check and the flag
		}
		// A helper cleared the flag and sends one token. It may be the
		// last helper of the previous Run, which finished it (this Run
		// saw pending reach 0) before it took the flag: the loop looks
		// again.
		<-w.done
	}
	w.fn = nil
}

// Close stops the helper goroutines; the pool runs serially after.
func (w *Workers) Close() {
	if w == nil || w.closed.Swap(true) {
		return
	}
	w.gen.Add(1)
	w.wakeSleepers()
}

// wakeSleepers sends each parked helper its token, after gen moved on.
func (w *Workers) wakeSleepers() {
	for _, h := range w.helpers {
		if h.sleeping.CompareAndSwap(true, false) {
			h.wake <- struct{}{}
		}
	}
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
