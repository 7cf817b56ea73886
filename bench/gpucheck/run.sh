#!/usr/bin/env bash
# The GPU check, run on a GPU host from the folder `make gpu-check-build`
# made (no Go needed; the driver may be a newer CUDA major version than the
# 11.8 headers the binaries were built against: the embedded PTX is JIT-
# compiled by the driver). Usage: ./run.sh [OUTDIR] (default $OUT or ./out).
# Writes check.log, kernels.txt, machine.txt, accuracy.csv, bench-*.json,
# peer-*.json and summary.txt into OUTDIR, and prints the summary last.
# Budget: about four minutes on an H100.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-${OUT:-$here/out}}
mkdir -p "$out"
exec > >(tee -a "$out/check.log") 2>&1
export NORMTAP_MNIST="$here/data"
# the binaries travel gzipped (the folder stays under 60 MB): unpack them
# into the output folder, so that this folder may be read-only
bin="$out/bin"
mkdir -p "$bin"
for f in normtap-gpu cuda.test graph.test; do
	gunzip -c "$here/$f.gz" > "$bin/$f" && chmod +x "$bin/$f"
done
cp -r "$here/peer" "$bin/" 2>/dev/null || true
cd "$bin"
summary="$out/summary.txt"
# GPUCHECK_QUICK=1 shrinks every workload (a dry run of this script, e.g.
# on the CPU emulator build); the real check leaves it unset.
if [ "${GPUCHECK_QUICK:-}" = 1 ]; then
	H1=64,64 H2=128,128 LIMIT="--train-limit 2000" B2=128 STEPS=3 WARM=1 ROUNDS=1 MICRO=--no-micro
else
	H1=1024,1024 H2=4096,4096 LIMIT="" B2=1024 STEPS="" WARM="" ROUNDS=3 MICRO=--micro
fi
: > "$summary"
status=0

# step NAME TIMEOUT CMD...: runs CMD, records PASS/FAIL and its seconds.
step() {
	local name=$1 limit=$2; shift 2
	local t0=$SECONDS
	echo "== $name: $*"
	if timeout "$limit" "$@"; then r=PASS; else r="FAIL(rc=$?)"; status=1; fi
	printf '%-34s %-10s %4ds\n' "$name" "$r" $((SECONDS - t0)) >> "$summary"
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$out/nvidia-smi.csv" 2>&1 || true
cat "$out/nvidia-smi.csv"

# 1. every kernel against the CPU reference (forward and backward)
step "kernels vs CPU reference" 150 sh -c "./cuda.test -test.v -test.timeout 140s > '$out/kernels.txt' 2>&1"
grep -E '^(--- |FAIL|ok|PASS)' "$out/kernels.txt" | tail -40

# 2. the GPU machine against the CPU machine on the same graph
step "GPU machine vs CPU machine" 120 sh -c "./graph.test -test.v -test.run GPUMachine -test.timeout 110s > '$out/machine.txt' 2>&1"
tail -5 "$out/machine.txt"

# 3. one epoch of 784-1024-1024-10 per norm, GPU vs CPU, same seed
echo "norm,cpu_test_acc,gpu_test_acc,diff_points,cpu_s,gpu_s" > "$out/accuracy.csv"
for norm in none batch layer; do
	for dev in cuda cpu; do
		step "1 epoch $norm on $dev" 150 ./normtap-gpu --quiet train --hidden "$H1" --norm "$norm" --epochs 1 $LIMIT \
			--batch 128 --opt adam --lr 0.001 --seed 1 --device "$dev" --out "$out/runs/$dev-$norm"
	done
	c=$(tail -1 "$out/runs/cpu-$norm/metrics.csv" 2>/dev/null | cut -d, -f6,7)
	g=$(tail -1 "$out/runs/cuda-$norm/metrics.csv" 2>/dev/null | cut -d, -f6,7)
	awk -v n="$norm" -v c="$c" -v g="$g" 'BEGIN { split(c, a, ","); split(g, b, ",");
		d = (b[1] - a[1]) * 100; printf "%s,%s,%s,%.2f,%s,%s\n", n, a[1], b[1], d, a[2], b[2];
		if (a[1] == "" || b[1] == "" || d > 0.5 || d < -0.5) exit 1 }' >> "$out/accuracy.csv" ||
		{ status=1; echo "accuracy $norm: GPU and CPU differ by more than 0.5 points" >> "$summary"; }
done
# the CNN (conv3x3 + BatchNorm + max-pool blocks) on both devices (not in
# a quick dry run: the emulator's convolutions are slow)
[ "${GPUCHECK_QUICK:-}" = 1 ] || for dev in cuda cpu; do
	step "1 epoch cnn batch on $dev" 150 ./normtap-gpu --quiet train --model cnn --norm batch --epochs 1 $LIMIT \
		--batch 128 --opt adam --lr 0.001 --seed 1 --device "$dev" --out "$out/runs/$dev-cnn"
done
c=$(tail -1 "$out/runs/cpu-cnn/metrics.csv" 2>/dev/null | cut -d, -f6,7)
g=$(tail -1 "$out/runs/cuda-cnn/metrics.csv" 2>/dev/null | cut -d, -f6,7)
[ "${GPUCHECK_QUICK:-}" = 1 ] || awk -v c="$c" -v g="$g" 'BEGIN { split(c, a, ","); split(g, b, ","); d = (b[1] - a[1]) * 100;
	printf "cnn-batch,%s,%s,%.2f,%s,%s\n", a[1], b[1], d, a[2], b[2];
	if (a[1] == "" || b[1] == "" || d > 0.5 || d < -0.5) exit 1 }' >> "$out/accuracy.csv" ||
	{ status=1; echo "accuracy cnn: GPU and CPU differ by more than 0.5 points" >> "$summary"; }
cat "$out/accuracy.csv"

# 4. benchmarks: normtap and the PyTorch peer on the same GPU, alternating
# rounds in one invocation (bench --peer); the norm kernels' GB/s next to a
# device-to-device copy measured in the same run
# the peer runs under the first Python whose PyTorch sees the GPU
peer=()
for py in python3 /usr/bin/python3 python; do
	if command -v "$py" >/dev/null && "$py" -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null && [ -f peer/peer.py ]; then
		peer=(--peer "$py peer/peer.py"); echo "peer: $("$py" -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda)')"; break
	fi
done
[ ${#peer[@]} -gt 0 ] || echo "peer: no Python whose PyTorch sees the GPU; normtap alone" >> "$summary"
step "bench b128 784-$H1-10" 150 ./normtap-gpu --quiet bench --device cuda --batch 128 --hidden "$H1" \
	--rounds "$ROUNDS" --steps "${STEPS:-100}" --warmup "${WARM:-20}" --no-tap "$MICRO" "${peer[@]}" --json "$out/bench-b128.json"
step "bench b$B2 784-$H2-10" 150 ./normtap-gpu --quiet bench --device cuda --batch "$B2" --hidden "$H2" \
	--rounds "$ROUNDS" --steps "${STEPS:-30}" --warmup "${WARM:-5}" --no-tap --no-micro "${peer[@]}" --json "$out/bench-b1024.json"

# 5. the short table, last
echo
echo "== GPU check summary ($(head -2 "$out/nvidia-smi.csv" | tail -1))"
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
exit $status
