//go:build !gpu

package main

import (
	"context"

	"normtap/bench"
	"normtap/graph"
)

// cpuOnlyBuild: this binary has no CUDA code and never links the driver.
const cpuOnlyBuild = true

// pickDevice returns the machine constructor for --device and a one-line
// description. In the CPU build, auto and cuda were handed over before
// parsing when a GPU build was there; what is left runs on the CPU.
func pickDevice(device string) (func(*graph.Model, graph.OptSpec) (graph.Machine, error), string, error) {
	why := "asked for with --device cpu"
	if device != "cpu" {
		why = "no GPU visible"
		if gpuVisible() {
			why = "a GPU is visible but " + gpuBinary + " is not installed beside this binary (make gpu)"
		}
	}
	return cpuMachine, cpuDescription(why), nil
}

// deviceMicro is the device kernels' measurement for bench: none in the
// CPU build.
func deviceMicro() func(context.Context) (float64, []bench.Micro, error) { return nil }
