# cuda.mk — the gpu build's make rules, included by the top-level Makefile
# (`include cuda/cuda.mk`) and usable alone (`make -f cuda/cuda.mk ptx`).
#
#   make ptx        compile cuda/kernels/*.cu to the committed, embedded .ptx,
#                   then regenerate the kernel tables from it (go generate)
#   make ptx-check  fail, naming the file, when a committed .ptx or a table
#                   generated from it (cuda/kernels_gen.go, the emulator's
#                   cuda/internal/emu/k_*.cc) is stale
#   make gpu-deps   install nvcc and the CUDA driver API headers (Debian)
#   make gpu-vet    go vet -tags gpu ./... with the CUDA cgo flags
#   make gpu-emu-test  the kernel checks on the CPU (tags gpu cudaemu: the
#                   .cu sources compiled as host C++ and run by the emulator
#                   in cuda/internal/emu; needs g++, no GPU, no CUDA)
#
# GPU_GO_ENV is the environment a `go build|test|vet -tags gpu` needs:
# gorgonia.org/cu links -lcuda and includes <cuda.h>. Debian's
# nvidia-cuda-dev puts cuda.h in /usr/include and the link stub of
# libcuda.so (SONAME libcuda.so.1) in /usr/lib/x86_64-linux-gnu/stubs, so a
# machine without the NVIDIA driver still links; at run time the driver's
# own libcuda.so.1 is loaded, and nothing else from CUDA.

CUDA_KERNELS_DIR := cuda/kernels
CUDA_SOURCES     := $(wildcard $(CUDA_KERNELS_DIR)/*.cu)
CUDA_HEADERS     := $(wildcard $(CUDA_KERNELS_DIR)/*.cuh)
CUDA_PTX         := $(CUDA_SOURCES:.cu=.ptx)

NVCC      ?= nvcc
# compute_70 PTX (Volta and newer): the driver JIT-compiles it for the GPU
# at hand, newer drivers and architectures included. No -G, no -lineinfo
# (both make the PTX depend on the build machine), no fast math (the
# kernels must match the CPU reference to 1e-4).
NVCCFLAGS ?= -ptx -arch=compute_70 -O3 -std=c++14

CUDA_INCLUDE_DIR ?= /usr/include
CUDA_LIB_DIRS    ?= /usr/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/stubs
GPU_CGO_CFLAGS   ?= -g -O2 -I$(CUDA_INCLUDE_DIR)
GPU_CGO_LDFLAGS  ?= $(addprefix -L,$(CUDA_LIB_DIRS))
GPU_GO_ENV       ?= CGO_ENABLED=1 CGO_CFLAGS="$(GPU_CGO_CFLAGS)" CGO_LDFLAGS="$(GPU_CGO_LDFLAGS)"

.PHONY: ptx ptx-check gpu-deps gpu-vet gpu-emu-test

ptx: $(CUDA_PTX)
	go generate ./cuda

$(CUDA_KERNELS_DIR)/%.ptx: $(CUDA_KERNELS_DIR)/%.cu $(CUDA_HEADERS)
	$(NVCC) $(NVCCFLAGS) -o $@ $<

# Rebuild every kernel into a temporary folder and compare with the
# committed PTX, ignoring comment lines (nvcc's version banner).
ptx-check:
	@command -v $(NVCC) >/dev/null || { echo "ptx-check: $(NVCC) not found (make gpu-deps installs it)" >&2; exit 1; }
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && stale=0 && \
	for src in $(CUDA_SOURCES); do \
		ptx=$${src%.cu}.ptx; \
		$(NVCC) $(NVCCFLAGS) -o "$$tmp/out.ptx" "$$src" || exit 1; \
		if [ ! -f "$$ptx" ]; then echo "ptx-check: $$ptx is missing: run make ptx" >&2; stale=1; \
		elif grep -v '^//' "$$ptx" >"$$tmp/a" && grep -v '^//' "$$tmp/out.ptx" >"$$tmp/b" && ! cmp -s "$$tmp/a" "$$tmp/b"; then \
			echo "ptx-check: $$ptx is stale (differs from nvcc's output for $$src): run make ptx" >&2; stale=1; fi; \
	done; \
	for ptx in $(wildcard $(CUDA_KERNELS_DIR)/*.ptx); do \
		[ -f "$${ptx%.ptx}.cu" ] || { echo "ptx-check: $$ptx has no source $${ptx%.ptx}.cu" >&2; stale=1; }; \
	done; \
	[ $$stale = 0 ] && echo "ptx-check: $(words $(CUDA_SOURCES)) PTX files match their sources"
	go run ./cuda/internal/kernelgen -dir cuda -check && echo "ptx-check: the generated kernel tables match the PTX"

gpu-deps:
	sh cuda/install-deps.sh

gpu-vet:
	$(GPU_GO_ENV) go vet -tags gpu ./...

gpu-emu-test:
	go vet -tags 'gpu cudaemu' ./cuda/... ./graph
	go test -tags 'gpu cudaemu' -count=1 -timeout 30m ./cuda/... ./graph
