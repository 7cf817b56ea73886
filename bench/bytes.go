package bench

import "normtap/layers"

// NormBytes is the number of bytes a norm kernel's pass must move over an
// n×d input: layers.NormBytes, the one definition.
func NormBytes(kind, pass string, n, d int) (int64, error) { return layers.NormBytes(kind, pass, n, d) }
