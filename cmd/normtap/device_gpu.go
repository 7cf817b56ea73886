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

// pickDevice returns the machine constructor for --device and a one-line
// description.
func pickDevice(device string) (func(*graph.Model, graph.OptSpec) (graph.Machine, error), string, error) {
	if device == "cpu" {
		return cpuMachine, cpuDescription("asked for with --device cpu"), nil
	}
	n, err := cuda.Count()
	if err != nil || n == 0 {
		if device == "cuda" {
			return nil, "", fmt.Errorf("--device cuda: no CUDA device (%v); use --device cpu", err)
		}
		return cpuMachine, cpuDescription("no CUDA device"), nil
	}
	gpu := func(m *graph.Model, o graph.OptSpec) (graph.Machine, error) {
		gm, err := graph.NewGPUMachine(m, o)
		if err != nil {
			return nil, fmt.Errorf("--device %s: %w", device, err)
		}
		return gm, nil
	}
	return gpu, fmt.Sprintf("cuda (%d device(s), normtap kernels)", n), nil
}

// deviceMicro times the GPU's norm kernels next to a device-to-device copy.
func deviceMicro() func(context.Context) (float64, []bench.Micro, error) { return bench.GPUMicro }
