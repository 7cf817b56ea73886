#!/usr/bin/env bash
# Installs the Debian packages normtap's tests and benchmarks use, when
# missing: OpenBLAS (fast CPU GEMM), numpy and PyTorch (CPU) for the peer
# benchmark and the golden-value script, and Fashion-MNIST (train --dataset
# fashion; 30 MB, its tests skip without it). Idempotent. With --ci, only
# what the test suite uses (OpenBLAS, numpy, Fashion-MNIST): PyTorch is
# large and only the peer benchmark and the golden-value script need it.
set -euo pipefail
need=()
dpkg -s libopenblas-dev >/dev/null 2>&1 || need+=(libopenblas-dev)
dpkg -s python3-numpy >/dev/null 2>&1 || need+=(python3-numpy)
dpkg -s dataset-fashion-mnist >/dev/null 2>&1 || need+=(dataset-fashion-mnist)
if [ "${1:-}" != "--ci" ]; then
  dpkg -s python3-torch >/dev/null 2>&1 || need+=(python3-torch)
fi
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
