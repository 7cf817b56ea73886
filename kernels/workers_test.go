package kernels

import (
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// TestWorkersRunEveryPart: each part runs once per Run, on every pool size,
// and Span covers [0, n) with aligned, disjoint ranges.
func TestWorkersRunEveryPart(t *testing.T) {
	for _, n := range []int{1, 2, 3, 8} {
		w := NewWorkers(n)
		var seen [8]atomic.Int32
		fn := func(p, parts int) {
			if parts != n {
				t.Errorf("parts %d, want %d", parts, n)
			}
			seen[p].Add(1)
		}
		for range 100 {
			w.Run(fn)
		}
		for p := range n {
			if got := seen[p].Load(); got != 100 {
				t.Errorf("pool of %d: part %d ran %d times, want 100", n, p, got)
			}
		}
		if a := testing.AllocsPerRun(50, func() { w.Run(fn) }); a != 0 {
			t.Errorf("pool of %d: Run allocates %v times", n, a)
		}
		w.Close()
		w.Run(func(p, parts int) { // after Close: serial, one part
			if p != 0 || parts != 1 {
				t.Errorf("closed pool ran part %d of %d", p, parts)
			}
		})
	}
	for _, c := range []struct{ n, parts, align int }{{1000, 2, 16}, {17, 4, 16}, {3, 8, 1}, {0, 2, 16}, {1024, 3, 16}} {
		next := 0
		for p := range c.parts {
			lo, hi := Span(c.n, p, c.parts, c.align)
			if lo != next || hi < lo || (hi != c.n && hi%c.align != 0) {
				t.Fatalf("Span(%d, %d, %d, %d) = [%d, %d), want to start at %d, aligned", c.n, p, c.parts, c.align, lo, hi, next)
			}
			next = hi
		}
		if next != c.n {
			t.Fatalf("Span(%d, …, %d parts) ends at %d", c.n, c.parts, next)
		}
	}
}

func BenchmarkWorkersRun(b *testing.B) {
	w := NewWorkers(2)
	defer w.Close()
	fn := func(p, parts int) {}
	for b.Loop() {
		w.Run(fn)
	}
}

// BenchmarkWorkersWake measures a Run that finds the helper watching
// (back to back) and one that must wake it: after Park and a 2 ms gap, as
// after each GEMM of a step, whose parts run on OpenBLAS-side threads
// while the Go helpers park. wake-µs is the delay until the helper starts
// its part, run-µs the whole Run (medians). The woken goroutine waits in
// the waker's run-next slot until another processor takes it after a
// usleep(3), which Linux's default 50 µs timer slack stretches: on the
// project's 2-core KVM VM (AMD EPYC, 1 Dec 2026) the helper started
// 108-124 µs late and the Run took 110-220 µs with that default, 62-74 and
// 64-76 µs with the openblas build's 1 ns slack
// (kernels/internal/openblas/slack.go); a futex wake-up between two C
// threads takes 10-47 µs there.
func BenchmarkWorkersWake(b *testing.B) {
	for _, parked := range []bool{false, true} {
		name := "watching"
		if parked {
			name = "parked-2ms"
		}
		b.Run(name, func(b *testing.B) {
			w := NewWorkers(2)
			defer w.Close()
			var wake, run []float64
			var started time.Time
			fn := func(p, parts int) {
				if p == 1 {
					started = time.Now()
				}
			}
			for b.Loop() {
				if parked {
					w.Park()
					for s := time.Now(); time.Since(s) < 2*time.Millisecond; {
					}
				}
				t0 := time.Now()
				w.Run(fn)
				run = append(run, time.Since(t0).Seconds()*1e6)
				wake = append(wake, started.Sub(t0).Seconds()*1e6)
			}
			b.ReportMetric(medianOf(wake), "wake-µs")
			b.ReportMetric(medianOf(run), "run-µs")
		})
	}
}

func medianOf(x []float64) float64 {
	y := slices.Clone(x)
	slices.Sort(y)
	return y[len(y)/2]
}

// TestWorkersHandOff drives every hand-off between Run and the helpers: a
// Run before the helper goroutines have started, back-to-back Runs (the
// helpers catch them while watching), Runs after gaps longer than
// spinWait (the helpers have parked and must be woken), helpers slower
// than the caller (Run parks waiting for them) and one processor shared
// by four parts. A lost wake-up hangs; the watchdog turns that into a
// failure.
func TestWorkersHandOff(t *testing.T) {
	defer func(old time.Duration) { spinWait = old }(spinWait)
	spinWait = 20 * time.Microsecond
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, procs := range []int{1, 2} {
			old := runtime.GOMAXPROCS(procs)
			for _, n := range []int{2, 4} {
				for range 50 {
					w := NewWorkers(n) // Run at once, before the helpers run
					var sum atomic.Int64
					w.Run(func(p, parts int) { sum.Add(int64(p + 1)) })
					for i := range 30 {
						slow := i%3 == 0
						w.Run(func(p, parts int) {
							if slow && p > 0 {
								time.Sleep(50 * time.Microsecond)
							}
							sum.Add(int64(p + 1))
						})
						if i%5 == 0 {
							time.Sleep(100 * time.Microsecond) // past spinWait: the helpers park
						}
					}
					if want := int64(31 * n * (n + 1) / 2); sum.Load() != want {
						t.Errorf("%d parts, GOMAXPROCS %d: parts summed to %d, want %d", n, procs, sum.Load(), want)
					}
					w.Close()
				}
			}
			runtime.GOMAXPROCS(old)
		}
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("a Run never returned: a lost wake-up")
	}
}
