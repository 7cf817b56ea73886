//go:build !gpu

package main

import (
	"context"

	"normtap/bench"
)

// cpuOnlyBuild: this binary has no CUDA code and never links the driver.
const cpuOnlyBuild = true

// pickDevice resolves --device. In the CPU build, auto and cuda were
// handed over before parsing when a GPU build was there; what is left runs
// on the CPU.
func pickDevice(device string) (devicePick, error) {
	why := "asked for with --device cpu"
	if device != "cpu" {
		why = "no GPU visible"
		if gpuVisible() {
			why = "a GPU is visible but " + gpuBinary + " is not installed beside this binary (make gpu)"
		}
	}
	return devicePick{newMachine: cpuMachine, desc: cpuDescription(why)}, nil
}

// deviceMicro is the device kernels' measurement for bench: none in the
// CPU build.
func deviceMicro() func(context.Context) (float64, []bench.Micro, error) { return nil }
