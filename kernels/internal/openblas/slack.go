//go:build openblas && linux

package openblas

// The timer slack of every thread of the process is 1 ns instead of Linux's
// default 50 µs. The Go runtime wakes a parked goroutine by putting it in
// the waker's run-next slot; another processor takes it from there only
// after a usleep(3), and the default slack makes that sleep ~50 µs. The CPU
// machine's pool parks its helpers during each GEMM (OpenBLAS has the
// cores), so every Run after a GEMM paid it: kernels.BenchmarkWorkersWake,
// after Park and a 2 ms gap, went from 117 to 62-74 µs until the helper
// starts and from 200 to 64-76 µs for the whole Run on the project's 2-core
// VM, and a training step from 1.0 to 0.972-0.989 of its time (MLP, none /
// batch / layer, paired in one process; CNN 0.983-1.005). bench/RESULTS.md,
// "Round 4". A constructor sets it on the main thread before the Go runtime
// starts its own threads, which inherit it (only OpenBLAS's thread pool,
// started by the library's own constructor and idle at one thread, keeps
// the default).

/*
#include <sys/prctl.h>

__attribute__((constructor)) static void normtapTimerSlack(void) { prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); }
*/
import "C"
