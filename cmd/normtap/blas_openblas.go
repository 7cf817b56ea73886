//go:build openblas

package main

const blasName = "OpenBLAS"
