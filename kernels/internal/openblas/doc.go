// Package openblas links OpenBLAS (build tag openblas) and sets its thread
// count; without the tag it is empty.
package openblas
