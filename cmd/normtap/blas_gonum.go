//go:build !openblas

package main

const blasName = "gonum (pure Go)"
