#!/usr/bin/env bash
# Configures and builds fcn.cu into ${BUILD_DIR:-build}. CUDA code is compiled when nvcc is found.
# Extra arguments go to cmake's configure step (e.g. -DFCN_CUDA_ARCHITECTURES=80;90).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}
if [ ! -f "$build_dir/build.ninja" ] || [ $# -gt 0 ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
fi
cmake --build "$build_dir" -j "$jobs"
