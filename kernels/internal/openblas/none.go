//go:build !openblas

package openblas

// Loaded is "" without OpenBLAS.
func Loaded() string { return "" }

// Vendor is "" without OpenBLAS (only its kernel choice needs it).
func Vendor() string { return "" }
