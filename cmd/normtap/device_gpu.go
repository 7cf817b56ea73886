//go:build gpu

package main

import (
	"context"
	"fmt"

	"normtap/bench"

	"normtap/cuda"
	"normtap/graph"
)

// cpuOnlyBuild is false: this is normtap-gpu, linked with the CUDA driver.
// gorgonia.org/cu initialises CUDA before main and ends the process when no
// device is there, which is why normtap (the CPU build) only hands over to
// this binary when a GPU is visible.
const cpuOnlyBuild = false

// pickDevice resolves --device.
func pickDevice(device string) (devicePick, error) {
	if device == "cpu" {
		return devicePick{newMachine: cpuMachine, desc: cpuDescription("asked for with --device cpu")}, nil
	}
	n, err := cuda.Count()
	if err != nil || n == 0 {
		if device == "cuda" {
			return devicePick{}, fmt.Errorf("--device cuda: no CUDA device (%v); use --device cpu", err)
		}
		return devicePick{newMachine: cpuMachine, desc: cpuDescription("no CUDA device")}, nil
	}
	gpu := func(m *graph.Model, o graph.OptSpec) (graph.Machine, error) {
		gm, err := graph.NewGPUMachine(m, o)
		if err != nil {
			return nil, fmt.Errorf("--device %s: %w", device, err)
		}
		return gm, nil
	}
	return devicePick{newMachine: gpu, desc: fmt.Sprintf("cuda (%d device(s), normtap kernels)", n), gpu: true}, nil
}

// deviceMicro times the GPU's norm kernels next to a device-to-device copy.
func deviceMicro() func(context.Context) (float64, []bench.Micro, error) { return bench.GPUMicro }
