package bench

import "normtap/kernels"

// NormBytes is the number of bytes a norm kernel's pass must move over an
// n×d input: kernels.NormBytes, the one definition.
func NormBytes(kind, pass string, n, d int) (int64, error) {
	return kernels.NormBytes(kind, pass, n, d)
}

// NormBytesGroups is kernels.NormBytesGroups (GroupNorm's count needs its
// groups).
func NormBytesGroups(kind, pass string, n, d, groups int) (int64, error) {
	return kernels.NormBytesGroups(kind, pass, n, d, groups)
}
