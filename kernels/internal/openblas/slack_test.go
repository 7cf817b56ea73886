//go:build openblas && linux

package openblas

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// TestTimerSlack: the threads the Go runtime runs goroutines on have a timer
// slack of 1 ns (slack.go says why), including one started for this test.
func TestTimerSlack(t *testing.T) {
	got := make(chan int, 1)
	go func() {
		runtime.LockOSThread() // a thread of its own: the runtime starts another for the others
		s, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
		if err != nil {
			s = -1
		}
		got <- s
	}()
	s, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if s != 1 {
		t.Errorf("timer slack of the test's thread: %d ns, want 1", s)
	}
	if s := <-got; s != 1 {
		t.Errorf("timer slack of a locked goroutine's thread: %d ns, want 1", s)
	}
}
