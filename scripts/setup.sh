#!/usr/bin/env bash
# Installs the build dependencies from Debian's packages. Idempotent: quiet and fast when all are there.
# Extra package names as arguments are installed as well (scripts/test.sh's fuzzing stage: clang and
# libclang-rt-dev, clang's sanitizer and libFuzzer runtimes).
set -euo pipefail
packages=(cmake ninja-build g++ pkg-config libprotobuf-dev protobuf-compiler libstb-dev zlib1g-dev
          libjpeg62-turbo-dev catch2 nlohmann-json3-dev libcli11-dev libomp-dev libboost-context-dev
          openmpi-bin libopenmpi-dev "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
