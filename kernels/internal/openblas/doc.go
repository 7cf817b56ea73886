// Package openblas links OpenBLAS (build tag openblas): its thread count,
// the name of the kernel it loaded, and which kernel normtap would rather
// have on this CPU (Choose, plain Go, in every build). Without the tag the
// cgo half is absent and Loaded is "".
package openblas
