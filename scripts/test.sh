#!/usr/bin/env bash
# The test command: installs what the build needs, builds, and runs every test with ctest.
# GPU tests (label "gpu") report "Skipped" when no CUDA device is usable; the reason is printed after.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
bash scripts/setup.sh
bash scripts/build.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
ctest --test-dir "$build_dir" --output-on-failure -j "${JOBS:-$(nproc)}" 2>&1 | tee "$log"
if grep -q "gpu_kernels (Skipped)" "$log"; then
  echo "gpu_kernels skipped: $("$build_dir/tests/fcn_gpu_tests" 2>&1 | head -n 1)"
fi
