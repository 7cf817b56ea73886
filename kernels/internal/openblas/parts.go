//go:build openblas

package openblas

// GemmParts runs one GEMM split into parts, each a single-threaded OpenBLAS
// call: part 0 on the calling thread, the others on helper threads of
// this file's own (C threads, started on first use). This is how the CPU
// machine splits its large GEMMs over the cores. Split over goroutines
// instead, each part is a cgo call of a millisecond or two, and with every
// processor of the Go runtime in a cgo call its monitor thread (sysmon)
// retakes one each 20 µs and never backs off: ~30 context switches per
// GEMM on a busy 2-core machine, each a timer interrupt into the GEMM
// (measured: 105-115 GFLOP/s split over goroutines, 125-138 in one call).
// One cgo call per GEMM leaves the other processor idle, and sysmon quiet.
// OpenBLAS's own threads would do the same, but after each call they spin
// (sched_yield) for up to 2^28 cycles, taking the cores from the Go
// kernels that come next; these helpers spin for spinNanos only, then
// sleep.

/*
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <signal.h>
#include <string.h>

void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha,
	const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);

enum { maxHelpers = 63, rowMajor = 101, noTrans = 111, trans = 112, spinNanos = 30000 };

// A job is up to two GEMMs (groups), each split into parts. The table,
// all ints: [0] the part count; per group (at 1 and 9) transA, transB, k,
// lda, ldb, ldc and the bits of alpha and beta; from 17, per part its
// group, m, n and the offsets of its corner in the group's a, b and c.
enum { groupAt = 1, groupInts = 8, partAt = 17, partInts = 6 };

typedef struct {
	const float *a[2], *b[2];
	float *c[2];
	const int *t;
} gemmJob;

static gemmJob job;
static pthread_mutex_t busy = PTHREAD_MUTEX_INITIALIZER; // one GemmParts at a time
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER, finished = PTHREAD_COND_INITIALIZER;
static atomic_uint gen;       // GemmParts calls so far
static atomic_int remaining;  // helper parts of this call not yet done
static atomic_int mainAsleep; // the caller waits on finished
static int helpers;           // helper threads started
static unsigned startGen[maxHelpers + 1]; // gen when each helper was started

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static long long nanos(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static float bitsFloat(int v) {
	float f;
	memcpy(&f, &v, sizeof f);
	return f;
}

static void runPart(const gemmJob *j, int i) {
	const int *p = j->t + partAt + partInts * i;
	int g = p[0];
	const int *d = j->t + groupAt + groupInts * g;
	if (p[1] > 0 && p[2] > 0) {
		cblas_sgemm(rowMajor, d[0] ? trans : noTrans, d[1] ? trans : noTrans, p[1], p[2], d[2],
			bitsFloat(d[6]), j->a[g] + p[3], d[3], j->b[g] + p[4], d[4], bitsFloat(d[7]), j->c[g] + p[5], d[5]);
	}
}

static void *helperMain(void *arg) {
	int part = (int)(long)arg;
	unsigned seen = startGen[part]; // a helper added by a later call starts at its generation
	for (;;) {
		long long start = nanos();
		for (int i = 1; atomic_load(&gen) == seen; i++) {
			relax();
			if ((i & 63) == 0 && nanos() - start > spinNanos) {
				pthread_mutex_lock(&mu);
				while (atomic_load(&gen) == seen) pthread_cond_wait(&work, &mu);
				pthread_mutex_unlock(&mu);
			}
		}
		seen = atomic_load(&gen);
		if (part < job.t[0]) runPart(&job, part);
		if (atomic_fetch_sub(&remaining, 1) == 1 && atomic_load(&mainAsleep)) {
			pthread_mutex_lock(&mu);
			pthread_cond_signal(&finished);
			pthread_mutex_unlock(&mu);
		}
	}
	return 0;
}

// runAll runs every part of j on the calling thread.
static void runAll(const gemmJob *j) {
	for (int i = 0; i < j->t[0]; i++) runPart(j, i);
}

// normtapGemmParts runs every part on the calling thread instead when
// another call is running or no helper thread could be started.
static void normtapGemmParts(const float *a0, const float *b0, float *c0,
	const float *a1, const float *b1, float *c1, const int *t) {
	int nparts = t[0];
	gemmJob local = {{a0, a1}, {b0, b1}, {c0, c1}, t};
	if (nparts > maxHelpers + 1 || pthread_mutex_trylock(&busy) != 0) {
		runAll(&local);
		return;
	}
	if (helpers < nparts - 1) {
		// Helpers take no signals: the Go runtime's go to its own threads.
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		while (helpers < nparts - 1) {
			pthread_t t;
			startGen[helpers + 1] = atomic_load(&gen);
			if (pthread_create(&t, 0, helperMain, (void *)(long)(helpers + 1)) != 0) break;
			pthread_detach(t);
			helpers++;
		}
		pthread_sigmask(SIG_SETMASK, &old, 0);
	}
	if (helpers < nparts - 1) {
		pthread_mutex_unlock(&busy);
		runAll(&local);
		return;
	}
	job = local;
	atomic_store(&remaining, helpers);
	pthread_mutex_lock(&mu);
	atomic_fetch_add(&gen, 1);
	pthread_cond_broadcast(&work);
	pthread_mutex_unlock(&mu);
	runPart(&job, 0);
	long long start = nanos();
	for (int i = 1; atomic_load(&remaining) > 0; i++) {
		relax();
		if ((i & 63) == 0 && nanos() - start > spinNanos) {
			pthread_mutex_lock(&mu);
			atomic_store(&mainAsleep, 1);
			while (atomic_load(&remaining) > 0) pthread_cond_wait(&finished, &mu);
			atomic_store(&mainAsleep, 0);
			pthread_mutex_unlock(&mu);
		}
	}
	job = (gemmJob){0}; // keep no Go pointer past the call (cgo's rule)
	pthread_mutex_unlock(&busy);
}
*/
import "C"

import (
	"math"
	"unsafe"
)

// GemmParts runs the job of table t (NewTable): one GEMM, or two
// independent ones, C = alpha·op(A)·op(B) + beta·C row-major, split into
// parts, part 0 on the calling thread. a0, b0, c0 are group 0's matrices,
// a1, b1, c1 group 1's (group 0's again for a single GEMM). While another
// GemmParts is running it runs every part on the calling thread.
func GemmParts(a0, b0, c0, a1, b1, c1 []float32, t Table) {
	C.normtapGemmParts(fptr(a0), fptr(b0), fptr(c0), fptr(a1), fptr(b1), fptr(c1), &t[0])
}

func fptr(x []float32) *C.float { return (*C.float)(unsafe.Pointer(&x[0])) }

// Table is GemmParts' job: up to two GEMMs' shapes and their parts.
type Table []C.int

// NewTable makes a table of n parts; SetGroup and SetPart fill it.
func NewTable(n int) Table {
	t := make(Table, 17+6*n)
	t[0] = C.int(n)
	return t
}

// SetGroup records GEMM g (0 or 1): its transposes, k, leading dimensions,
// alpha and beta.
func (t Table) SetGroup(g int, transA, transB bool, k, lda, ldb, ldc int, alpha, beta float32) {
	copy(t[1+8*g:], []C.int{cbool(transA), cbool(transB), C.int(k), C.int(lda), C.int(ldb), C.int(ldc),
		C.int(int32(math.Float32bits(alpha))), C.int(int32(math.Float32bits(beta)))})
}

// SetPart records part i: an m×n block of group g's C whose corner is at
// offsets aOff, bOff and cOff of its a, b and c.
func (t Table) SetPart(i, g, m, n, aOff, bOff, cOff int) {
	copy(t[17+6*i:], []C.int{C.int(g), C.int(m), C.int(n), C.int(aOff), C.int(bOff), C.int(cOff)})
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
