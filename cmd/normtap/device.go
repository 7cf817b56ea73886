package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"syscall"

	"normtap/graph"
	"normtap/kernels"
)

// gpuBinary is the GPU build's name; `make gpu` puts it beside normtap.
const gpuBinary = "normtap-gpu"

// gpuVisible reports whether the NVIDIA driver shows a device, without
// linking it: the CPU binary never loads libcuda.
func gpuVisible() bool {
	if _, err := os.Stat("/dev/nvidia0"); err == nil {
		return true
	}
	if _, err := os.Stat("/proc/driver/nvidia/gpus"); err == nil {
		return true
	}
	return false
}

// gpuBuildPath is the GPU binary installed beside this one, or "".
func gpuBuildPath() string {
	self, err := os.Executable()
	if err != nil {
		return ""
	}
	p := filepath.Join(filepath.Dir(self), gpuBinary)
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
		return p
	}
	return ""
}

// handOver replaces this process with the GPU build when --device auto
// finds a GPU and the GPU build, or --device cuda asks for it. It returns
// only when this (CPU) binary should go on, or with an error.
func handOver(args []string) error {
	device := deviceFlag(args)
	if cpuOnlyBuild && (device == "auto" || device == "cuda") {
		path := gpuBuildPath()
		switch {
		case device == "cuda" && path == "":
			return fmt.Errorf("--device cuda: this is the CPU build and no %s is installed beside it; build it with make gpu (needs the CUDA 11/12 headers: make gpu-deps)", gpuBinary)
		case device == "cuda" && !gpuVisible():
			return fmt.Errorf("--device cuda: no NVIDIA GPU is visible (no /dev/nvidia0); use --device cpu")
		case path != "" && gpuVisible():
			fmt.Fprintf(os.Stderr, "normtap: GPU visible; handing over to %s\n", path)
			return syscall.Exec(path, append([]string{path}, args...), os.Environ())
		}
	}
	return nil
}

// deviceFlag finds --device's value in args ("auto" when absent).
func deviceFlag(args []string) string {
	for i, a := range args {
		if a == "--device" && i+1 < len(args) {
			return args[i+1]
		}
		if len(a) > 9 && a[:9] == "--device=" {
			return a[9:]
		}
	}
	return "auto"
}

// devicePick is what --device resolved to.
type devicePick struct {
	newMachine func(*graph.Model, graph.OptSpec) (graph.Machine, error)
	desc       string // one line for the user and config.json
	gpu        bool   // the machines run on a CUDA device
}

// cpuMachine is the CPU machine constructor.
func cpuMachine(m *graph.Model, o graph.OptSpec) (graph.Machine, error) {
	return graph.NewCPUMachine(m, o)
}

// cpuDescription says what the CPU machine runs on.
func cpuDescription(why string) string {
	return fmt.Sprintf("cpu (%d cores, %s; %s)", runtime.NumCPU(), blasDescription(), why)
}

// buildMeta is what config.json records about the binary and the device.
func buildMeta(device string) map[string]any {
	meta := map[string]any{"device_description": device, "go": runtime.Version(), "blas": blasName, "blas_kernel": kernels.BLASKernel()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		deps := map[string]string{}
		for _, d := range bi.Deps {
			switch d.Path {
			case "gorgonia.org/gorgonia", "gorgonia.org/tensor", "gorgonia.org/cu", "gonum.org/v1/gonum", "gonum.org/v1/plot":
				deps[d.Path] = d.Version
			}
		}
		meta["versions"] = deps
		meta["normtap"] = bi.Main.Version
	}
	return meta
}

// interruptCode is 130 after SIGINT and 143 after SIGTERM.
func interruptCode(ctx interface{ Value(any) any }) int {
	if s, ok := ctx.Value(signalKey{}).(*caughtSignal); ok && s.get() == syscall.SIGTERM {
		return 143
	}
	return 130
}
