#!/bin/sh
# install-deps.sh installs what the gpu build needs on Debian (bookworm):
# nvcc 11.8 and the CUDA driver API headers and libcuda from the contrib and
# non-free components (packages nvidia-cuda-toolkit, nvidia-cuda-dev).
# It is idempotent: it does nothing when nvcc, cuda.h and libcuda.so are
# already there, and it adds the non-free source only once. Run as root
# (or through sudo); `make gpu-deps` runs it.
set -eu

have() {
	command -v nvcc >/dev/null 2>&1 &&
		[ -f /usr/include/cuda.h ] &&
		{ [ -e /usr/lib/x86_64-linux-gnu/libcuda.so ] || [ -e /usr/lib/x86_64-linux-gnu/stubs/libcuda.so ]; }
}

if have; then
	echo "gpu-deps: nvcc, cuda.h and libcuda.so are installed"
	exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi

main=/etc/apt/sources.list.d/debian.sources
nonfree=/etc/apt/sources.list.d/nonfree.sources
if [ ! -f "$nonfree" ]; then
	if [ ! -f "$main" ]; then
		echo "gpu-deps: $main not found: add contrib and non-free to your APT sources, then install nvidia-cuda-toolkit nvidia-cuda-dev" >&2
		exit 1
	fi
	# Same mirror, suites and key as the first (main) entry of debian.sources,
	# with the contrib and non-free components.
	awk '
		/^[[:space:]]*$/ { if (seen) exit; next }
		/^(URIs|Suites|Signed-By):/ { print; seen = 1 }
	' "$main" >/tmp/nonfree.sources.$$
	{
		echo "Types: deb"
		cat /tmp/nonfree.sources.$$
		echo "Components: contrib non-free"
	} | $SUDO tee "$nonfree" >/dev/null
	rm -f /tmp/nonfree.sources.$$
	echo "gpu-deps: added $nonfree"
fi

# Wait for another apt/dpkg run to finish rather than failing on its lock.
while command -v fuser >/dev/null 2>&1 && { fuser /var/lib/dpkg/lock-frontend >/dev/null 2>&1 || fuser /var/lib/dpkg/lock >/dev/null 2>&1; }; do
	echo "gpu-deps: waiting for the dpkg lock"
	sleep 5
done

$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y nvidia-cuda-toolkit nvidia-cuda-dev

if ! have; then
	echo "gpu-deps: installed, but nvcc, /usr/include/cuda.h or libcuda.so is still missing" >&2
	exit 1
fi
echo "gpu-deps: done"
