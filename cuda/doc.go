// Package cuda runs normtap's kernels on an NVIDIA GPU through the CUDA
// driver API (gorgonia.org/cu): one device, one context, one stream, a pool
// of float32 device buffers, host↔device copies, and typed launches of the
// kernels in kernels/*.cu (GEMM, bias, activations, BatchNorm, LayerNorm,
// softmax cross-entropy, optimizer updates), compiled to PTX by `make ptx`
// and embedded in the binary.
//
// Everything but this file builds only with the `gpu` tag (never `cuda`,
// which switches on gorgonia's cuDNN code), because gorgonia.org/cu links
// libcuda and exits the process in its init when no device is present. The
// CPU binary therefore never imports this package.
//
// Each kernel computes exactly the function of its CPU reference in package
// kernels (the optimizers included), with the same argument
// order and row-major layouts; the kernel checks in kernels_gpu_test.go
// compare the two on random inputs. Kernels are launched asynchronously on
// the device's stream; the host waits only in Download, Sync and the timing
// helpers. Set NORMTAP_CUDA_DEBUG=1 (or Device.Debug) to wait for and check
// every launch, with the kernel's name in the error.
//
// Every launch names a kernel by a generated constant (kernels_gen.go, from
// the PTX) and is checked before it is queued: its arguments against the
// kernel's parameters in number and kind, its grid and block against
// CUDA's limits and the kernel's __launch_bounds__ (256 threads for a
// kernel without). Open checks the embedded PTX against the generated
// table, and a PTX the driver cannot compile fails with the JIT's log.
//
// With the extra tag cudaemu (`make gpu-emu-test`), the kernels run on the
// CPU instead, compiled as host C++ by cuda/internal/emu: the same checks,
// no GPU needed, for their logic (not their speed). The emulator also
// catches what a GPU would not report: writes into the guard zones around
// every allocation, copies outside an allocation, and (since memory starts
// filled with NaNs) reads of memory nothing wrote.
//
// CUDA contexts are current per OS thread while Go moves goroutines between
// threads: every driver call of a Device therefore runs with its goroutine
// locked to its thread (runtime.LockOSThread) and the context made current
// there, so a Device can be used from any goroutine — one at a time, as it
// is not safe for concurrent use.
package cuda

// kernels_gen.go and the emulator's registrations are generated from the
// committed PTX (this directive sits here, in the one file without the gpu
// tag, so that a plain `go generate ./cuda` runs it).
//
//go:generate go run ./internal/kernelgen
