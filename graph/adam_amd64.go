//go:build amd64

package graph

import "golang.org/x/sys/cpu"

var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func adamAVX(w, grad, m, v *float32, n int, b1, omb1, b2, omb2, step, isq, eps float32)

// adam runs adamGo's arithmetic with AVX2 on the largest multiple of 8
// elements and adamGo on the rest.
func adam(w, g, m, v []float32, b1, omb1, b2, omb2, step, isq, eps float32) {
	n := len(w)
	g, m, v = g[:n], m[:n], v[:n]
	k := n &^ 7
	if useAVX2 && k > 0 {
		adamAVX(&w[0], &g[0], &m[0], &v[0], k, b1, omb1, b2, omb2, step, isq, eps)
	} else {
		k = 0
	}
	adamGo(w[k:], g[k:], m[k:], v[k:], b1, omb1, b2, omb2, step, isq, eps)
}
