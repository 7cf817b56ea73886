#!/usr/bin/env bash
# The GPU check, run on a GPU host from the folder `make gpu-check-build`
# made (no Go needed; the driver may be of a newer CUDA major version than
# the 11.8 headers the binaries were built against: the embedded PTX is
# JIT-compiled by the driver).
#
#   ./run.sh OUTDIR        (default $OUT, else ./out)
#
# Works in a scratch folder and leaves at most 8 files, flat, in OUTDIR:
# summary.txt, check.log, kernels.txt, machine.txt, accuracy.csv,
# bench-b128.json, bench-b1024.json, memcheck.txt. Each is copied there as
# soon as its step ends, so a check cut short still brings back what it did.
#
# One overall deadline, GPUCHECK_DEADLINE seconds (default 500), and the
# steps in order of value: preflight, kernels vs CPU, GPU machine vs CPU
# machine, one GPU epoch per model (against the CPU accuracies computed
# when the check was packed: expected.csv), bench at batch 128, bench at
# batch 1024 with 4096-wide layers, then a compute-sanitizer memcheck of
# the kernel checks if the host has it. A step is given what is left of the
# deadline, at most its own limit; a step whose estimate no longer fits is
# skipped, and the summary says so. GPUCHECK_QUICK=1 shrinks every workload
# (a dry run, e.g. of the CPU emulator build).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-${OUT:-$here/out}}
mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)
start=$SECONDS
deadline=$((start + ${GPUCHECK_DEADLINE:-500}))
scratch=$(mktemp -d "${TMPDIR:-/tmp}/gpucheck.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT
summary="$out/summary.txt"
: > "$summary"
exec > >(tee "$out/check.log") 2>&1
. "$here/settings.sh"
export NORMTAP_MNIST="$here/data"
quick=${GPUCHECK_QUICK:-}
expected="$here/expected.csv"
[ "$quick" = 1 ] && expected="$here/expected-quick.csv"

# the binaries travel gzipped (the folder stays under 60 MB); this folder
# may be read-only, so they are unpacked into the scratch folder
for f in normtap-gpu cuda.test graph.test; do
	gunzip -c "$here/$f.gz" > "$scratch/$f" && chmod +x "$scratch/$f" || { echo "unpack $f failed" | tee -a "$summary"; exit 1; }
done
cp -r "$here/peer" "$scratch/" 2>/dev/null || true
cd "$scratch" || exit 1

if [ "$quick" = 1 ]; then
	H1=64,64 H2=128,128 B2=128 STEPS1=3 STEPS2=3 WARM=1 ROUNDS=1 MICRO=--no-micro
	# the emulator's GEMM and LayerNorm checks take minutes: a dry run
	# checks the rest (and the emulator's own checks)
	KERNEL_TESTS="-test.run='Conv|MaxPool|BatchNorm|Softmax|Optimizers|BiasAdd|Activations|Gather|Pool|AddCopy|Emulator|Launch|KernelResources'"
else
	KERNEL_TESTS=
	H1=1024,1024 H2=4096,4096 B2=1024 STEPS1=100 STEPS2=30 WARM=10 ROUNDS=3 MICRO=--micro
fi
status=0

left() { echo $((deadline - SECONDS)); }

# note LINE: a line in the summary (and the log)
note() { echo "$*" | tee -a "$summary"; }

# step NAME ESTIMATE LIMIT CMD...: runs CMD under timeout min(LIMIT, what
# is left), recording PASS/FAIL and its seconds; skipped when fewer than
# ESTIMATE seconds are left (the estimate is for the real check on an H200;
# a quick run scales it down).
step() {
	local name=$1 est=$2 limit=$3; shift 3
	[ "$quick" = 1 ] && est=$((est / 10))
	local rem; rem=$(left)
	if [ "$rem" -lt "$est" ]; then
		printf '%-34s %-10s needs ~%ds, %ds left\n' "$name" SKIPPED "$est" "$rem" | tee -a "$summary"
		return 2
	fi
	local t0=$SECONDS r rc
	echo "== $name (limit $((limit < rem ? limit : rem))s): $*"
	timeout --kill-after=5 "$((limit < rem ? limit : rem))" "$@"
	rc=$?
	case $rc in
	0) r=PASS ;;
	124 | 137) r="TIMEOUT"; status=1 ;;
	*) r="FAIL(rc=$rc)"; status=1 ;;
	esac
	printf '%-34s %-10s %4ds\n' "$name" "$r" $((SECONDS - t0)) >> "$summary"
	return $rc
}

keep() { cp "$@" "$out/" 2>/dev/null || true; }

# 0. preflight: the GPU, the driver's libcuda, every kernel's registers and
# local memory against the block size it is launched with (fails early:
# nothing after it could pass)
echo "== GPU check $(date -u +%FT%TZ), deadline ${GPUCHECK_DEADLINE:-500}s${quick:+, quick}"
nvidia-smi 2>&1 | head -20 || echo "nvidia-smi: not found"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /' | tee -a "$summary"
libcuda=$( (ldconfig -p 2>/dev/null | awk '/libcuda\.so\.1 /{print $NF; exit}') || true)
note "libcuda: ${libcuda:-not in ldconfig} -> $(readlink -f "${libcuda:-/nonexistent}" 2>/dev/null || echo '?')"
[ -f "$here/ptxas.txt" ] && { echo "ptxas report from the build:"; cat "$here/ptxas.txt"; }
if ! step "preflight (kernel resources)" 20 60 ./cuda.test -test.run 'TestKernelResources$' -test.v; then
	note "preflight failed: a kernel cannot run as launched, or no GPU; stopping"
	cat "$summary"
	exit 1
fi

# 1. every kernel against the CPU reference (forward and backward)
step "kernels vs CPU reference" 60 200 sh -c "./cuda.test -test.v -test.timeout 190s $KERNEL_TESTS > kernels.txt 2>&1"
keep kernels.txt
grep -E '^(--- FAIL|FAIL|ok|PASS)' kernels.txt | tail -20

# 2. the GPU machine against the CPU machine on the same graphs
step "GPU machine vs CPU machine" 40 150 sh -c "./graph.test -test.v -test.run GPUMachine -test.timeout 140s > machine.txt 2>&1"
keep machine.txt
grep -E '^(--- FAIL|FAIL|ok|PASS)' machine.txt | tail -10

# 3. one epoch per model on the GPU, with every launch checked
# (NORMTAP_CUDA_DEBUG=1), against the CPU accuracy of the same run
echo "name,model,norm,hidden,cpu_test_acc,gpu_test_acc,diff_points,cpu_s,gpu_s,result" > accuracy.csv
for run in $CHECK_RUNS; do
	IFS=: read -r name model norm hidden limit <<< "$run"
	est=15
	[ "$model" = cnn ] && est=40
	# shellcheck disable=SC2086
	step "1 epoch $name on the GPU" "$est" 150 env NORMTAP_CUDA_DEBUG=1 ./normtap-gpu --quiet train --model "$model" --norm "$norm" \
		--hidden "$hidden" --train-limit "$limit" $CHECK_TRAIN_FLAGS --device cuda --out "runs/$name"
	g=$(tail -1 "runs/$name/metrics.csv" 2>/dev/null | cut -d, -f6,7)
	c=$(awk -F, -v n="$name" '$1 == n { print $6 "," $7 }' "$expected" 2>/dev/null)
	awk -v row="$name,$model,$norm,$(echo "$hidden" | tr , x)" -v c="$c" -v g="$g" -v tol="$CHECK_ACC_POINTS" 'BEGIN {
		split(c, a, ","); split(g, b, ",");
		if (a[1] == "" || b[1] == "") { printf "%s,%s,%s,,%s,%s,MISSING\n", row, a[1], b[1], a[2], b[2]; exit 1 }
		d = (b[1] - a[1]) * 100; ok = d <= tol && d >= -tol;
		printf "%s,%s,%s,%.2f,%s,%s,%s\n", row, a[1], b[1], d, a[2], b[2], ok ? "PASS" : "FAIL"; exit !ok }' >> accuracy.csv ||
		{ status=1; note "accuracy $name: GPU and CPU differ by more than $CHECK_ACC_POINTS points, or a run is missing"; }
	keep accuracy.csv
done
cat accuracy.csv

# 4. benchmarks: normtap and the PyTorch peer on the same GPU, alternating
# rounds in one invocation (bench --peer); the norm kernels' GB/s next to a
# device-to-device copy measured in the same run. The peer runs under the
# first Python whose PyTorch sees the GPU.
peer=()
for py in python3 /usr/bin/python3 python; do
	if command -v "$py" >/dev/null && "$py" -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null && [ -f peer/peer.py ]; then
		peer=(--peer "$py peer/peer.py"); echo "peer: $("$py" -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda)')"; break
	fi
done
[ ${#peer[@]} -gt 0 ] || note "peer: no Python whose PyTorch sees the GPU; normtap alone"
step "bench b128 784-$H1-10" 60 150 ./normtap-gpu --quiet bench --device cuda --batch 128 --hidden "$H1" \
	--rounds "$ROUNDS" --steps "$STEPS1" --warmup "$WARM" --no-tap "$MICRO" "${peer[@]}" --json bench-b128.json
keep bench-b128.json
step "bench b$B2 784-$H2-10" 60 150 ./normtap-gpu --quiet bench --device cuda --batch "$B2" --hidden "$H2" \
	--rounds "$ROUNDS" --steps "$STEPS2" --warmup "$WARM" --no-tap --no-micro "${peer[@]}" --json bench-b1024.json
keep bench-b1024.json

# 5. compute-sanitizer's memcheck over the kernel checks, when the host has
# it (out-of-bounds and misaligned accesses the emulator cannot see)
if command -v compute-sanitizer >/dev/null; then
	step "memcheck of the kernel checks" 60 120 sh -c "compute-sanitizer --tool memcheck --print-limit 20 ./cuda.test \
		-test.run 'Conv|MaxPool|BatchNorm|Softmax|Optimizers|BiasAdd|Activations|Gather' -test.timeout 110s > memcheck.txt 2>&1"
	keep memcheck.txt
	tail -5 memcheck.txt
else
	note "memcheck: compute-sanitizer not on this host; skipped"
fi

# 6. the short table, last
echo
echo "== GPU check summary ($((SECONDS - start))s of ${GPUCHECK_DEADLINE:-500}s)"
cat "$summary"
if command -v python3 >/dev/null; then
	python3 - "$out" <<'PY' || true
import json, sys, os
out = sys.argv[1]
print(f"{'batch':>6} {'norm':>6} {'normtap ex/s':>13} {'R':>6} {'pytorch ex/s':>13} {'normtap/pytorch':>16}")
for b in ("128", "1024"):
    try:
        rep = json.load(open(os.path.join(out, f"bench-b{b}.json")))
    except Exception as e:
        print(f"{b:>6} (no bench: {e})"); continue
    peer = {r["norm"]: r for r in (rep.get("peer") or {}).get("results", [])}
    ratio = {r["norm"]: r["examples_per_sec_ratio"] for r in (rep.get("peer") or {}).get("ratios", [])}
    for r in rep["results"]:
        n = r["norm"]
        R = r.get("norm_overhead") or float("nan")
        p = peer.get(n, {}).get("examples_per_sec", 0)
        print(f"{b:>6} {n:>6} {r['examples_per_sec']:13.0f} {R:6.3f} {p:13.0f} {ratio.get(n, float('nan')):16.2f}")
    for m in rep.get("micro") or []:
        print(f"       {m['kind']:>5} {m['pass']:<8} {m['n']}x{m['d']}: {m['gb_per_sec']:7.1f} GB/s = {100*m['copy_fraction']:5.1f}% of copy ({rep['copy_gb_per_sec']:.0f} GB/s)")
PY
fi
echo "files in $out: $(ls "$out" | wc -l) ($(ls "$out" | tr '\n' ' '))"
# let tee finish writing check.log
exec >&- 2>&-
wait "$!" 2>/dev/null
exit $status
