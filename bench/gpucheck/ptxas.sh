#!/bin/sh
# ptxas.sh PTX... — compiles each committed PTX for the H200 (sm_90) with
# ptxas -v and prints one line per kernel: registers, stack frame and
# spills. Fails when any kernel spills: every kernel is on a training
# step's path, and a spill there is local-memory traffic on every launch.
# Falls back to the newest sm_ ptxas knows when it lacks sm_90, and says so.
set -eu
arch=sm_90
if ! ptxas --help 2>/dev/null | grep -q sm_90 && ! echo | ptxas -arch=sm_90 -o /dev/null - 2>/dev/null; then
	arch=$(ptxas --help | grep -o 'sm_[0-9]*' | sort -t_ -k2 -n | tail -1)
	echo "ptxas: no sm_90 in this ptxas; using $arch" >&2
fi
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
echo "ptxas $(ptxas --version | grep -o "release [0-9.]*") -arch=$arch -v"
printf '%-24s %5s %6s %7s %7s\n' kernel regs stack spill-st spill-ld
bad=0
for ptx in "$@"; do
	ptxas -arch="$arch" -v -o /dev/null "$ptx" 2>"$tmp" || { cat "$tmp" >&2; exit 1; }
	awk -v file="$(basename "$ptx")" '
		/Compiling entry function/ { k = $7; gsub(/\047/, "", k) }
		/bytes stack frame/ { stack = $1; st = $5; ld = $9 }
		/Used [0-9]+ registers/ { printf "%-24s %5s %6s %7s %7s\n", k, $5, stack, st, ld; if (st + ld > 0) bad = 1 }
		END { exit bad }' "$tmp" || bad=1
done
if [ $bad = 1 ]; then
	echo "ptxas: a kernel spills registers (spill-st/spill-ld above): fix it before a GPU run" >&2
	exit 1
fi
