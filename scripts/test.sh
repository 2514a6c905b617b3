#!/usr/bin/env bash
# The test command: installs what the build needs, builds, and runs every test with ctest.
# GPU tests (label "gpu") report "Skipped" when no CUDA device is usable; the reason is printed after.
# Then three stages, each with a switch to skip it:
#   FCN_TEST_ASAN=0       the emulated CUDA device's suite once more under AddressSanitizer (every kernel
#                         access checked against exact-size allocations), in a second build folder
#                         (${ASAN_BUILD_DIR:-build-asan}); FCN_TEST_ASAN_UBSAN=1 adds UBSan to it;
#   FCN_TEST_ASAN_UNIT=0  the whole unit suite (fcn_tests, the CLI it runs included) under ASan and UBSan,
#                         built with clang in ${FUZZ_BUILD_DIR:-build-fuzz} (the emulated device is off there:
#                         the stage above covers it);
#   FCN_TEST_FUZZ=0       the fuzz harnesses (tests/fuzz), built in that same folder, each run for
#                         ${FCN_FUZZ_SECONDS:-30} seconds on its committed corpus; any finding fails the run
#                         (tests/fuzz/README.md says how to reproduce it).
# Each stage's wall time is printed at the end (the stages add up to the CI time).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
stage_times=()
stage_start=$SECONDS
# Ends the stage that began at stage_start: its name and seconds go to the summary.
end_stage() {
  stage_times+=("$(printf '%-44s %5d s' "$1" $((SECONDS - stage_start)))")
  stage_start=$SECONDS
}
print_stage_times() {
  echo "== stage times"
  printf '  %s\n' "${stage_times[@]}"
}
trap print_stage_times EXIT

bash scripts/setup.sh
bash scripts/build.sh
end_stage "setup and build ($build_dir)"
log=$(mktemp)
trap 'rm -f "$log"; print_stage_times' EXIT
ctest --test-dir "$build_dir" --output-on-failure -j "${JOBS:-$(nproc)}" 2>&1 | tee "$log"
if grep -q "gpu_kernels (Skipped)" "$log"; then
  echo "gpu_kernels skipped: $("$build_dir/tests/fcn_gpu_tests" 2>&1 | head -n 1)"
fi
end_stage "ctest"

if [ "${FCN_TEST_ASAN:-1}" = 1 ]; then
  asan_dir=${ASAN_BUILD_DIR:-build-asan}
  sanitize="-fsanitize=address"
  if [ "${FCN_TEST_ASAN_UBSAN:-0}" = 1 ]; then sanitize="-fsanitize=address,undefined -fno-sanitize-recover=undefined"; fi
  echo "== the emulated CUDA device under $sanitize ($asan_dir)"
  # Configured every time, so that a folder made with the other flags is brought to these (a no-op otherwise).
  cmake -S . -B "$asan_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFCN_ENABLE_CUDA=OFF \
    -DCMAKE_CXX_FLAGS="$sanitize -fno-omit-frame-pointer" -DCMAKE_EXE_LINKER_FLAGS="${sanitize%% *}" >/dev/null
  cmake --build "$asan_dir" -j "${JOBS:-$(nproc)}" --target fcn_gpu_tests_emu
  # detect_leaks=0: the emulated device is a process-wide singleton that is never torn down. The tuner
  # and benchmark cases are left out here (they run the same kernels as [conv], at 3x the time).
  ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
    "$asan_dir/tests/fcn_gpu_tests_emu" "~[.]~[device-only]~[coverage]~[tuner]~[bench]"
  end_stage "emulated device under ASan (build and run)"
fi

# The clang folder: every target under ASan and UBSan with libFuzzer's coverage (FCN_BUILD_FUZZERS), built
# once for the fuzz harnesses and for the unit suite, which links the same instrumented libraries.
san_targets=()
if [ "${FCN_TEST_ASAN_UNIT:-1}" = 1 ]; then san_targets+=(fcn_tests fcn); fi
if [ "${FCN_TEST_FUZZ:-1}" = 1 ]; then san_targets+=(fuzzers); fi
fuzz_dir=${FUZZ_BUILD_DIR:-build-fuzz}
if [ ${#san_targets[@]} -gt 0 ]; then
  bash scripts/setup.sh clang libclang-rt-dev
  cmake -S . -B "$fuzz_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang \
    -DCMAKE_CXX_COMPILER=clang++ -DFCN_BUILD_FUZZERS=ON -DFCN_BUILD_TESTS=ON -DFCN_ENABLE_CUDA=OFF \
    -DFCN_ENABLE_CUDA_EMULATION=OFF -DFCN_ENABLE_MPI=OFF >/dev/null
  cmake --build "$fuzz_dir" -j "${JOBS:-$(nproc)}" --target "${san_targets[@]}"
  end_stage "clang ASan+UBSan build ($fuzz_dir)"
fi

if [ "${FCN_TEST_ASAN_UNIT:-1}" = 1 ]; then
  echo "== the unit suite under AddressSanitizer and UBSan ($fuzz_dir)"
  # As ctest runs it: from the build folder, the CLI tests running that folder's (sanitized) fcn.
  (cd "$fuzz_dir" && UBSAN_OPTIONS=print_stacktrace=1 FCN_BIN="$PWD/fcn" ./tests/fcn_tests)
  end_stage "unit suite under ASan+UBSan"
fi

if [ "${FCN_TEST_FUZZ:-1}" = 1 ]; then
  echo "== the fuzz harnesses, ${FCN_FUZZ_SECONDS:-30} s each ($fuzz_dir)"
  bash tests/fuzz/run.sh --build "$fuzz_dir" --seconds "${FCN_FUZZ_SECONDS:-30}"
  end_stage "fuzz harnesses"
fi
