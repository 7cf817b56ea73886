package bench

import (
	"time"
)

// CopyBytesLarge is the buffer size of the reference copy bandwidth: large
// enough (64 MiB each way) that the copy runs from and to main memory.
const CopyBytesLarge = 64 << 20

// CopyGBPerSec is the single-core bandwidth of copy() between two buffers
// of the given size in bytes, counting the bytes read and the bytes
// written (2·size per copy), in GB/s (1e9 bytes): the median of several
// timed batches of copies, each batch about minTime long.
func CopyGBPerSec(size int, minTime time.Duration) float64 {
	n := max(size/4, 16)
	src, dst := make([]float32, n), make([]float32, n)
	for i := range src {
		src[i] = float32(i)
	}
	ns := timeIt(func() { copy(dst, src) }, minTime, 5)
	return float64(8*n) / ns
}

// timeIt returns the median over samples batches of fn's nanoseconds per
// call, each batch repeating fn for at least minTime after one warm-up call.
func timeIt(fn func(), minTime time.Duration, samples int) float64 {
	fn()
	reps := 1
	for {
		start := time.Now()
		for range reps {
			fn()
		}
		if el := time.Since(start); el >= minTime/4 || reps > 1<<24 {
			if el > 0 {
				reps = max(1, int(float64(reps)*float64(minTime)/float64(el)))
			}
			break
		}
		reps *= 4
	}
	ns := make([]float64, samples)
	for s := range ns {
		start := time.Now()
		for range reps {
			fn()
		}
		ns[s] = float64(time.Since(start).Nanoseconds()) / float64(reps)
	}
	return median(ns)
}
