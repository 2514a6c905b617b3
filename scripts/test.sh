#!/usr/bin/env bash
# The test command: installs what the build needs, builds, and runs every test with ctest.
# GPU tests (label "gpu") report "Skipped" with the reason when no CUDA device is usable.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j "${JOBS:-$(nproc)}"
