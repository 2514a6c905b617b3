#!/usr/bin/env bash
# The test command: installs what the build needs, builds, and runs every test with ctest.
# GPU tests (label "gpu") report "Skipped" when no CUDA device is usable; the reason is printed after.
# Then the emulated CUDA device's suite once more under AddressSanitizer (every kernel access checked
# against exact-size allocations), in a second build folder (${ASAN_BUILD_DIR:-build-asan}; skip it with
# FCN_TEST_ASAN=0).
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

if [ "${FCN_TEST_ASAN:-1}" = 1 ]; then
  asan_dir=${ASAN_BUILD_DIR:-build-asan}
  echo "== the emulated CUDA device under AddressSanitizer ($asan_dir)"
  if [ ! -f "$asan_dir/build.ninja" ]; then
    cmake -S . -B "$asan_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFCN_ENABLE_CUDA=OFF \
      -DCMAKE_CXX_FLAGS="-fsanitize=address -fno-omit-frame-pointer" \
      -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address" >/dev/null
  fi
  cmake --build "$asan_dir" -j "${JOBS:-$(nproc)}" --target fcn_gpu_tests_emu
  # detect_leaks=0: the emulated device is a process-wide singleton that is never torn down. The tuner
  # and benchmark cases are left out here (they run the same kernels as [conv], at 3x the time).
  ASAN_OPTIONS=detect_leaks=0 "$asan_dir/tests/fcn_gpu_tests_emu" "~[.]~[device-only]~[coverage]~[tuner]~[bench]"
fi
