package rundir

import (
	"fmt"
	"testing"
)

// BenchmarkWriteNpy times one tap file, fsync included: a CNN node's
// 25088 columns over 1000 probe examples (100 MB).
func BenchmarkWriteNpy(b *testing.B) {
	rows, cols := 1000, 25088
	b.Run(fmt.Sprintf("%dx%d", rows, cols), func(b *testing.B) {
		data := make([]float32, rows*cols)
		dir := b.TempDir()
		b.SetBytes(int64(4 * len(data)))
		for b.Loop() {
			if err := writeNpy(dir+"/x.npy", data, rows, cols); err != nil {
				b.Fatal(err)
			}
		}
	})
}
