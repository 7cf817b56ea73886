#!/bin/sh
# reference.sh NORMTAP OUTCSV — trains each of settings.sh's runs on the
# CPU with the CPU binary NORMTAP and writes OUTCSV (name, model, norm,
# hidden as 1024x1024, train_limit, cpu_test_acc, cpu_s): the expected accuracies the
# GPU host compares with, so that it trains nothing on its CPU.
# Results are cached under runs/gpucheck-ref/, keyed by the binary's hash
# and the run's settings, so repacking the check retrains nothing.
set -eu
normtap=$1 csv=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/settings.sh"
key=$(sha256sum "$normtap" | cut -c1-16)
cache=${GPUCHECK_REF_CACHE:-runs/gpucheck-ref}
echo "name,model,norm,hidden,train_limit,cpu_test_acc,cpu_s" > "$csv.tmp"
for run in $CHECK_RUNS; do
	IFS=: read -r name model norm hidden limit <<EOR
$run
EOR
	dir="$cache/$key-$(echo "$run $CHECK_TRAIN_FLAGS" | sha256sum | cut -c1-12)"
	if [ ! -s "$dir/metrics.csv" ] || [ "$(wc -l < "$dir/metrics.csv")" -lt 2 ]; then
		rm -rf "$dir"
		echo "reference: training $name on the CPU ($model $norm $hidden, limit $limit)" >&2
		# shellcheck disable=SC2086
		"$normtap" --quiet train --model "$model" --norm "$norm" --hidden "$hidden" --train-limit "$limit" \
			$CHECK_TRAIN_FLAGS --device cpu --out "$dir" >&2
	fi
	# metrics.csv: epoch,step,train_loss,train_acc,test_loss,test_acc,wall_s,...
	tail -1 "$dir/metrics.csv" | awk -F, -v r="$name,$model,$norm,$(echo "$hidden" | tr , x),$limit" '{ printf "%s,%s,%s\n", r, $6, $7 }' >> "$csv.tmp"
done
mv "$csv.tmp" "$csv"
cat "$csv"
