//go:build !amd64 || noasm

package kernels

func adam(w, g, m, v []float32, b1, omb1, b2, omb2, step, isq, eps float32) {
	adamGo(w, g, m, v, b1, omb1, b2, omb2, step, isq, eps)
}
