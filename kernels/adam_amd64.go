//go:build amd64 && !noasm

package kernels

import "golang.org/x/sys/cpu"

// hasAVX: the CPU runs adam_amd64.s, which uses AVX instructions only
// (no AVX2, no FMA: it rounds every product as adamGo does).
var hasAVX = cpu.X86.HasAVX

//go:noescape
func adamAVX(w, grad, m, v *float32, n int, b1, omb1, b2, omb2, step, isq, eps float32)

// adam runs adamGo's arithmetic with AVX on the largest multiple of 8
// elements and adamGo on the rest.
func adam(w, g, m, v []float32, b1, omb1, b2, omb2, step, isq, eps float32) {
	n := len(w)
	g, m, v = g[:n], m[:n], v[:n]
	k := n &^ 7
	if hasAVX && k > 0 {
		adamAVX(&w[0], &g[0], &m[0], &v[0], k, b1, omb1, b2, omb2, step, isq, eps)
	} else {
		k = 0
	}
	adamGo(w[k:], g[k:], m[k:], v[k:], b1, omb1, b2, omb2, step, isq, eps)
}
