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

void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha,
	const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);

enum { maxHelpers = 63, rowMajor = 101, noTrans = 111, trans = 112, spinNanos = 30000 };

typedef struct {
	int ta, tb, k, lda, ldb, ldc;
	float alpha, beta;
	const float *a, *b;
	float *c;
	const int *parts; // per part: m, n, offset into a, into b, into c
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

static void runPart(const gemmJob *j, int i) {
	const int *p = j->parts + 5 * i;
	if (p[0] > 0 && p[1] > 0) {
		cblas_sgemm(rowMajor, j->ta ? trans : noTrans, j->tb ? trans : noTrans, p[0], p[1], j->k,
			j->alpha, j->a + p[2], j->lda, j->b + p[3], j->ldb, j->beta, j->c + p[4], j->ldc);
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
		if (part < job.parts[-1]) runPart(&job, part);
		if (atomic_fetch_sub(&remaining, 1) == 1 && atomic_load(&mainAsleep)) {
			pthread_mutex_lock(&mu);
			pthread_cond_signal(&finished);
			pthread_mutex_unlock(&mu);
		}
	}
	return 0;
}

// normtapGemmParts returns 0, or -1 when it ran every part on the calling
// thread (another call was running, or no thread could be started).
static int normtapGemmParts(int ta, int tb, int k, float alpha, const float *a, int lda,
	const float *b, int ldb, float beta, float *c, int ldc, const int *parts, int nparts) {
	gemmJob local = {ta, tb, k, lda, ldb, ldc, alpha, beta, a, b, c, parts + 1};
	if (nparts > maxHelpers + 1 || pthread_mutex_trylock(&busy) != 0) {
		for (int i = 0; i < nparts; i++) runPart(&local, i);
		return -1;
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
		for (int i = 0; i < nparts; i++) runPart(&local, i);
		return -1;
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
	return 0;
}
*/
import "C"

import "unsafe"

// GemmParts computes the row-major GEMM C = alpha·op(A)·op(B) + beta·C in
// parts: parts[0] is the part count p, then per part its m, n and the
// offsets of its corner in a, b and c (5 ints each); every part shares k,
// the leading dimensions, alpha and beta. Part 0 runs on the calling
// thread. It reports false when it ran every part on the calling thread
// (another GemmParts was running).
func GemmParts(transA, transB bool, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, parts []C.int) bool {
	return C.normtapGemmParts(cbool(transA), cbool(transB), C.int(k), C.float(alpha),
		(*C.float)(unsafe.Pointer(&a[0])), C.int(lda), (*C.float)(unsafe.Pointer(&b[0])), C.int(ldb),
		C.float(beta), (*C.float)(unsafe.Pointer(&c[0])), C.int(ldc), &parts[0], parts[0]) == 0
}

// PartsTable is GemmParts' parts argument.
type PartsTable []C.int

// NewPartsTable makes a table for n parts; Set fills part i.
func NewPartsTable(n int) PartsTable {
	t := make(PartsTable, 1+5*n)
	t[0] = C.int(n)
	return t
}

// Set records part i: an m×n block of C whose corner is at offsets aOff,
// bOff and cOff of a, b and c.
func (t PartsTable) Set(i, m, n, aOff, bOff, cOff int) {
	copy(t[1+5*i:], []C.int{C.int(m), C.int(n), C.int(aOff), C.int(bOff), C.int(cOff)})
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
