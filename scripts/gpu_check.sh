#!/usr/bin/env bash
# The GPU check: ONE script that, on a bare H200 machine (nvcc, cmake, ninja, g++, python3 with torch and
# its pip cuDNN; no package registry), builds fcn.cu and checks and times everything CUDA:
#   probe        nvidia-smi; stops here with exit 2 and a clear message when there is no GPU
#   configure    cmake against the carried .gpu_deps/ (protobuf static, CLI11, nlohmann-json, stb, Catch2)
#   build        fcn, fcn_gpu_tests and fcn_gpu_tests_emu for sm_90
#   info         fcn info (devices); fails its row when it reports the GPU unusable
#   gpu_tests    fcn_gpu_tests: every [gpu] test (kernels against the CPU references, CudaBackend)
#   emulator     fcn_gpu_tests_emu: the same tests on the emulated device (docs/EMULATION.md), so that a
#                difference between emulated and real behaviour shows beside gpu_tests at once
#   dataset      fcn make-dataset: a synthetic export of 24 images
#   cpu_ref      the CPU engine: 3 steps at 512x512, same seed and data
#   train_gpu    300 steps at 512x512 on the GPU; its first 3 losses must match cpu_ref's
#                (step 1: rel 1e-5, same weights and inputs, fp32 sums in another order; steps 2-3:
#                rel 1e-3, after Adam steps where near-zero gradients may change sign between summation
#                orders and move a weight by 2*lr); the row names the conv versions the run chose
#   resume_gpu   6 steps at 128x128 against 3 steps plus --resume to 6, with the first run's tuned kernel
#                plan: the final checkpoints must be byte-identical (determinism and resume on the GPU)
#   bench_kernels  fcn bench kernels (every conv version vs cuDNN, the memory-bound ops), with
#                NVIDIA_TF32_OVERRIDE=0 so that no library call may use TF32 (our runs and the cuDNN
#                baseline are FP32; bench_step's PyTorch variants set their TF32 flags themselves, and its
#                "+tf32" variant needs them, so it runs without the override)
#   bench_step   scripts/bench_step.sh: fcn bench step at 512x512, batch 8, beside PyTorch eager (cuDNN) in
#                NCHW, channels_last and channels_last+TF32, when python3 can import torch (else it says so)
#   memcheck     compute-sanitizer memcheck on a 2-step training run at 72x72, batch 2 (with the "auto"
#                kernel plan: the tuner validates and times every conv version first)
#   racecheck    compute-sanitizer racecheck on the same at 40x40 (racecheck is far slower), with a fixed
#                plan instead of the tuner's ~200 extra conv launches: versions 2, 3 and 4 each run once in
#                every direction, spread over the three layers
# Every stage runs under `timeout` with a share of an overall budget (FCN_GPU_CHECK_BUDGET_S, default
# 470 s), a failed stage does not stop the others (stages that need its output are skipped), and the
# script ends with one markdown table, also written to $OUT_DIR/summary.md. summary.md and stages.log are
# rewritten before and after every stage, so a call killed at its time limit still brings back every row
# finished so far and names the stage that was running.
#
# Time (the device call's timeout_s=540 > the 470 s budget + the last stage's 10 s kill grace + the
# closing steps). Stage limits (seconds; each stage also gets at most what is left of the budget):
#   configure 90, build 240 (FCN_GPU_CHECK_BUILD_S), info 30, gpu_tests 150 (FCN_GPU_CHECK_TESTS_S), emulator 60,
#   dataset 90, cpu_ref 90, train_gpu 150 (FCN_GPU_CHECK_TRAIN_S), resume_gpu 60, bench_kernels 90
#   (FCN_GPU_CHECK_BENCH_S), bench_step 75, memcheck 75, racecheck 75 (FCN_GPU_CHECK_SANITIZER_S).
# Their sum is far over the budget on purpose: each is a ceiling for a stage that hangs, not an estimate.
# The machine's start (a minute or more) and this call count against the session's 15 device minutes, so
# a second call fits only at once, on the still-warm machine (the build folder survives there): skip
# what already passed with FCN_GPU_CHECK_SKIP="gpu_tests memcheck racecheck" (stage names, space
# separated; the stages that need a skipped one's output are skipped too).
#
# What comes back from the device is limited to 8 files, so the stage logs are gathered into
# $OUT_DIR/stages.log (each stage's log, the long ones cut to their head and tail), next to summary.md,
# gpu_tests.log, bench_kernels.txt, bench_step.txt, train_gpu_metrics.jsonl and build.log.
#
# The device call (from the repository root, after `bash scripts/gpu_bundle.sh` here):
#   run(command="bash scripts/gpu_check.sh $OUT", carry=[".gpu_deps"], timeout_s=540)
# Dry run without a GPU (configure and build only, then the no-GPU stop; add
# FCN_GPU_CHECK_CMAKE_ARGS=-DCMAKE_IGNORE_PREFIX_PATH=/usr to make CMake find the bundle, not /usr, and
# FCN_GPU_CHECK_JOBS=1 on a shared machine):
#   FCN_GPU_CHECK_DRY_RUN=1 bash scripts/gpu_check.sh /tmp/gpu_check_out
# Exit status: 0 every stage passed; 1 a stage failed; 2 no GPU (nothing run); 3 dry run, build passed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
repo=$(pwd)
out_dir=${1:?usage: bash scripts/gpu_check.sh OUT_DIR}
mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)
work=${FCN_GPU_CHECK_WORK:-/tmp/fcn_gpu_check}
rm -rf "$work"
mkdir -p "$work/logs"
build=${FCN_GPU_CHECK_BUILD:-$repo/build-gpucheck}
deps=$repo/.gpu_deps
budget=${FCN_GPU_CHECK_BUDGET_S:-470}
dry_run=${FCN_GPU_CHECK_DRY_RUN:-0}
skip=" ${FCN_GPU_CHECK_SKIP:-} "
jobs=${FCN_GPU_CHECK_JOBS:-$(nproc)}
t_start=$(date +%s)
fcn=$build/fcn

# ---- bookkeeping: one row per stage ------------------------------------------------------------
declare -a rows=()
declare -A status=()
running=""   # the stage now running, named in summary.md until it ends
finished=0   # 1 once finish() has run
row() { rows+=("| $1 | $2 | $3 | $4 |"); status[$1]=$2; running=""; write_results; }
elapsed() { echo $(( $(date +%s) - t_start )); }
remaining() { echo $(( budget - $(elapsed) )); }
ok() { [ "${status[$1]:-}" = "ok" ]; }
wanted() { case "$skip" in *" $1 "*) row "$1" "skipped (asked)" 0 "FCN_GPU_CHECK_SKIP"; return 1 ;; esac; return 0; }

# run_stage NAME MAX_SECONDS CMD...: runs CMD under timeout (the smaller of MAX_SECONDS and what is left
# of the budget), logs to $work/logs/NAME.log, sets stage_rc and stage_s. Returns CMD's status.
run_stage() {
  local name=$1 max=$2
  shift 2
  local left
  left=$(remaining)
  local limit=$(( max < left ? max : left ))
  if [ "$limit" -lt 5 ]; then
    echo "[$name] skipped: the overall budget is spent" | tee "$work/logs/$name.log"
    stage_rc=125
    stage_s=0
    return 125
  fi
  echo "=== [$name] (limit ${limit}s): $*" | tee "$work/logs/$name.log"
  running="$name (limit ${limit}s, started at $(elapsed) s)"
  write_results
  local t0
  t0=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" >>"$work/logs/$name.log" 2>&1
  stage_rc=$?
  stage_s=$(( $(date +%s) - t0 ))
  if [ $stage_rc -eq 124 ] || [ $stage_rc -eq 137 ]; then
    echo "[$name] TIMED OUT after ${limit}s" | tee -a "$work/logs/$name.log"
  fi
  echo "[$name] exit $stage_rc after ${stage_s}s" | tee -a "$work/logs/$name.log"
  return $stage_rc
}
# kernel_plan_of CHECKPOINT: the "kernel_plan" a run stored in its checkpoint's safetensors metadata.
cat >"$work/kernel_plan_of.py" <<'PY'
import json, struct, sys
try:
    with open(sys.argv[1], "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        print(json.loads(f.read(n)).get("__metadata__", {}).get("kernel_plan", ""))
except (OSError, ValueError, struct.error) as e:
    print(f"(no checkpoint: {e})")
PY
kernel_plan_of() { python3 "$work/kernel_plan_of.py" "$1"; }
# stage_error NAME: the last line of a stage's log that says what went wrong (not run_stage's own trailer).
stage_error() {
  local log=$work/logs/$1.log line
  line=$(grep -v "^\[$1\] \(exit\|TIMED OUT\)" "$log" 2>/dev/null | grep -iE "error|fail|fatal|mismatch|differ|HINT" | tail -n 1)
  [ -n "$line" ] || line=$(grep -v "^\[$1\] \(exit\|TIMED OUT\)" "$log" 2>/dev/null | grep -v '^\s*$' | tail -n 1)
  echo "${line:-no output}" | cut -c1-240
}
verdict() {  # verdict RC -> ok / FAIL (exit N) / TIMEOUT
  case $1 in
    0) echo ok ;;
    124|137) echo TIMEOUT ;;
    125) echo SKIPPED ;;
    *) echo "FAIL (exit $1)" ;;
  esac
}

# Gathers the logs into $out_dir (at most 8 files come back from the device) and writes the table so far;
# runs before and after every stage, so that whatever stops the call, the last state is there.
write_results() {
  {
    for log in "$work"/logs/*.log; do
      [ -f "$log" ] || continue
      echo
      echo "################ $(basename "$log" .log)"
      if [ "$(wc -l <"$log")" -gt 400 ]; then
        head -n 150 "$log"
        echo "... ($(wc -l <"$log") lines, middle cut) ..."
        tail -n 200 "$log"
      else
        cat "$log"
      fi
    done
  } >"$out_dir/stages.log"
  [ -f "$work/logs/build.log" ] && tail -n 3000 "$work/logs/build.log" >"$out_dir/build.log"
  {
    echo "## fcn.cu GPU check ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(elapsed) s)"
    echo
    echo "${gpu_line:-no GPU}"
    echo
    if [ "$finished" != 1 ]; then
      echo "INCOMPLETE: the check had not finished when this was written${running:+; running: $running}."
      echo "If this is what came back, the call was stopped there (its log is in stages.log)."
      echo
    fi
    echo "| stage | status | seconds | key numbers |"
    echo "|---|---|---|---|"
    [ ${#rows[@]} -eq 0 ] || printf '%s\n' "${rows[@]}"
  } >"$out_dir/summary.md.tmp" && mv "$out_dir/summary.md.tmp" "$out_dir/summary.md"
}
finish() {
  finished=1
  running=""
  write_results
  echo
  cat "$out_dir/summary.md"
}

# ---- probe: stop early without a GPU --------------------------------------------------------------
gpu_line=""
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >"$work/logs/probe.log" 2>&1 && grep -q "^GPU" "$work/logs/probe.log"; then
  gpu_line=$(nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader 2>/dev/null | head -n 1)
  nvidia-smi >>"$work/logs/probe.log" 2>&1
  row probe ok "$(elapsed)" "$gpu_line"
elif [ "$dry_run" = "1" ]; then
  echo "gpu_check: no GPU; FCN_GPU_CHECK_DRY_RUN=1, so configuring and building only" | tee -a "$work/logs/probe.log"
  row probe "no GPU (dry run)" "$(elapsed)" "configure and build only"
else
  echo "gpu_check: NO GPU: nvidia-smi is missing or lists no device; nothing to check here." | tee -a "$work/logs/probe.log"
  echo "HINT: run this on the device machine: run(command=\"bash scripts/gpu_check.sh \$OUT\", carry=[\".gpu_deps\"], timeout_s=540)"
  row probe "NO GPU" "$(elapsed)" "stopped"
  finish
  exit 2
fi

# ---- environment: nvcc, cuDNN and cuBLAS wherever this image keeps them -------------------------
{
  echo "cmake: $(cmake --version | head -n 1)"
  echo "ninja: $(ninja --version 2>/dev/null || echo missing)"
  echo "g++: $(g++ --version | head -n 1)"
  uname -a
} >"$work/logs/env.log" 2>&1
# nvcc: on PATH, under CUDAToolkit_ROOT or CUDA_HOME, in /usr/local/cuda, or in a pip `cuda-toolkit` /
# `nvidia-cuda-nvcc` wheel's layout (site-packages/nvidia/cu*/bin or nvidia/cuda_nvcc/bin).
nvcc_bin=$(command -v nvcc || true)
for root in "${CUDAToolkit_ROOT:-}" "${CUDA_HOME:-}" /usr/local/cuda; do
  [ -z "$nvcc_bin" ] && [ -n "$root" ] && [ -x "$root/bin/nvcc" ] && nvcc_bin=$root/bin/nvcc
done
if [ -z "$nvcc_bin" ]; then
  for site in $(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null); do
    for candidate in "$site"/nvidia/cu*/bin/nvcc "$site"/nvidia/cuda_nvcc/bin/nvcc; do
      [ -z "$nvcc_bin" ] && [ -x "$candidate" ] && nvcc_bin=$candidate
    done
  done
fi
cuda_root=$(cd "$(dirname "${nvcc_bin:-/usr/local/cuda/bin/nvcc}")/.." 2>/dev/null && pwd || echo /usr/local/cuda)
export PATH="$cuda_root/bin:$PATH"
echo "nvcc: ${nvcc_bin:-missing} $($nvcc_bin --version 2>/dev/null | tail -n 2 | head -n 1)" >>"$work/logs/env.log"

# find_first NAME: the first file called NAME (a glob) under the toolkit, the system and the Python venvs.
py_site_dirs=$(python3 -c 'import site, sys; print(" ".join(site.getsitepackages()))' 2>/dev/null || true)
find_first() {
  local pattern=$1 dir hit
  for dir in "$cuda_root/lib64" "$cuda_root/lib" "$cuda_root/include" /usr/lib/x86_64-linux-gnu /usr/include \
             $py_site_dirs /opt/torch/.venv /usr/local/lib /usr/lib/python3 /opt; do
    [ -d "$dir" ] || continue
    hit=$(timeout 20 find -L "$dir" -maxdepth 6 -name "$pattern" 2>/dev/null | sort | head -n 1)
    if [ -n "$hit" ]; then echo "$hit"; return 0; fi
  done
  return 1
}
# near_header LIB NAME: LIB's ../include/NAME (a pip wheel's or toolkit's own header) when it is there.
near_header() {
  local dir
  dir=$(cd "$(dirname "$1")/../include" 2>/dev/null && pwd) && [ -f "$dir/$2" ] && echo "$dir/$2"
}
cudnn_lib=$(find_first 'libcudnn.so.9*' || find_first 'libcudnn.so*' || true)
cudnn_header=$( { [ -n "$cudnn_lib" ] && near_header "$cudnn_lib" cudnn.h; } || find_first 'cudnn.h' || true)
cublas_lib=$(find_first 'libcublas.so*' || true)
cublaslt_lib=$(find_first 'libcublasLt.so*' || true)
cublas_header=$( { [ -n "$cublas_lib" ] && near_header "$cublas_lib" cublas_v2.h; } || find_first 'cublas_v2.h' || true)
# NCCL (data-parallel gradient sums; the pip wheel nvidia-nccl holds lib/libnccl.so.2 and include/nccl.h).
nccl_lib=$(find_first 'libnccl.so.2' || find_first 'libnccl.so*' || true)
nccl_header=$( { [ -n "$nccl_lib" ] && near_header "$nccl_lib" nccl.h; } || find_first 'nccl.h' || true)
# A pip wheel's include folder may hold other CUDA headers too (cuda_runtime.h of another release): only
# the cuDNN and cuBLAS headers are linked into a folder of their own, so nothing else there can shadow
# the toolkit's headers.
extra_includes=""
extra_libdirs=""
library_headers=$work/library_headers
mkdir -p "$library_headers"
for header in "$cudnn_header" "$cublas_header"; do
  [ -n "$header" ] || continue
  dir=$(dirname "$header")
  [ "$dir" = "$cuda_root/include" ] && continue
  for h in "$dir"/cudnn*.h "$dir"/cublas*.h; do
    [ -f "$h" ] && ln -sf "$h" "$library_headers/$(basename "$h")"
  done
  case "$extra_includes" in *"$library_headers"*) ;; *) extra_includes="$extra_includes -isystem $library_headers" ;; esac
done
for lib in "$cudnn_lib" "$cublas_lib" "$cublaslt_lib" "$nccl_lib"; do
  [ -n "$lib" ] || continue
  dir=$(dirname "$lib")
  case ":$extra_libdirs:" in *":$dir:"*) ;; *) extra_libdirs="$extra_libdirs:$dir" ;; esac
done
export LD_LIBRARY_PATH="${extra_libdirs#:}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
{
  echo "cuDNN: lib ${cudnn_lib:-MISSING}, header ${cudnn_header:-MISSING}"
  echo "cuBLAS: lib ${cublas_lib:-MISSING} ${cublaslt_lib:-}, header ${cublas_header:-MISSING}"
  echo "NCCL: lib ${nccl_lib:-MISSING}, header ${nccl_header:-MISSING}"
  echo "extra includes:$extra_includes"
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  echo "compute-sanitizer: $(command -v compute-sanitizer || echo missing)"
} >>"$work/logs/env.log"
row env "$( [ -n "$nvcc_bin" ] && [ -n "$cudnn_lib" ] && [ -n "$cudnn_header" ] && echo ok || echo "FAIL")" "$(elapsed)" \
  "nvcc $($nvcc_bin --version 2>/dev/null | grep -o 'release [0-9.]*' | cut -d' ' -f2); $(cmake --version | head -n 1 | cut -d' ' -f3 | sed 's/^/cmake /'); cuDNN $( [ -n "$cudnn_lib" ] && basename "$cudnn_lib" || echo missing)"

# ---- configure and build ----------------------------------------------------------------------
# Ninja when the machine has it (the pip `ninja` module counts), else make; both keep going past errors.
if command -v ninja >/dev/null 2>&1; then generator=Ninja; keep_going=(-k 0)
elif python3 -c "import ninja" >/dev/null 2>&1; then
  PATH="$(python3 -c 'import ninja, os; print(ninja.BIN_DIR)'):$PATH"; export PATH; generator=Ninja; keep_going=(-k 0)
else generator="Unix Makefiles"; keep_going=(-k); fi
cmake_args=(-S "$repo" -B "$build" -G "$generator" -DCMAKE_BUILD_TYPE=Release
  -DCMAKE_PREFIX_PATH="$deps" -DProtobuf_USE_STATIC_LIBS=ON
  -DFCN_CUDA_ARCHITECTURES=90
  # CMake releases before 3.27 do not know nvcc's flag for CUDA 20; harmless for newer ones.
  -DCMAKE_CUDA20_STANDARD_COMPILE_OPTION=-std=c++20 -DCMAKE_CUDA20_EXTENSION_COMPILE_OPTION=-std=c++20)
[ -n "$nvcc_bin" ] && cmake_args+=(-DCMAKE_CUDA_COMPILER="$nvcc_bin" -DCUDAToolkit_ROOT="$cuda_root")
[ -n "$cudnn_lib" ] && cmake_args+=(-DCUDNN_LIBRARY="$cudnn_lib")
[ -n "$cublas_lib" ] && cmake_args+=(-DCUDA_cublas_LIBRARY="$cublas_lib")
[ -n "$cublaslt_lib" ] && cmake_args+=(-DCUDA_cublasLt_LIBRARY="$cublaslt_lib")
if [ -n "$nccl_lib" ] && [ -n "$nccl_header" ]; then
  cmake_args+=(-DFCN_NCCL_LIBRARY="$nccl_lib" -DFCN_NCCL_INCLUDE_DIR="$(dirname "$nccl_header")")
fi
if [ -n "$extra_includes" ]; then
  cmake_args+=(-DCMAKE_CXX_FLAGS="$extra_includes" -DCMAKE_CUDA_FLAGS="$extra_includes")
fi
# shellcheck disable=SC2206
extra_cmake=(${FCN_GPU_CHECK_CMAKE_ARGS:-})
cmake_args+=("${extra_cmake[@]}")
if [ ! -d "$deps" ]; then
  echo "gpu_check: $deps is missing. HINT: run 'bash scripts/gpu_bundle.sh' here and pass carry=[\".gpu_deps\"]" \
    | tee "$work/logs/configure.log"
  row configure FAIL 0 ".gpu_deps missing"
else
  # Execute bits may not survive the copy to the device; protoc's wrapper and binary need them.
  chmod +x "$deps/bin/protoc" "$deps/libexec/protoc/protoc" 2>/dev/null
  run_stage configure 90 cmake "${cmake_args[@]}"
  rc=$stage_rc
  cuda_on=$(grep -c "CUDA backend ON" "$work/logs/configure.log")
  emu_on=$(grep -c "emulated CUDA device ON" "$work/logs/configure.log")
  row configure "$(verdict $rc)" "$stage_s" "$( [ "$cuda_on" -gt 0 ] && echo "CUDA backend ON" || echo "CUDA backend OFF"), emulated device $( [ "$emu_on" -gt 0 ] && echo ON || echo OFF)$( [ $rc = 0 ] || echo "; $(stage_error configure)")"
fi
if ok configure; then
  # -k 0: a file that fails to compile does not stop the other target from being built.
  run_stage build "${FCN_GPU_CHECK_BUILD_S:-240}" cmake --build "$build" -j "$jobs" --target fcn fcn_gpu_tests fcn_gpu_tests_emu -- "${keep_going[@]}"
  rc=$stage_rc
  warnings=$(grep -c "warning" "$work/logs/build.log")
  row build "$(verdict $rc)" "$stage_s" "$warnings warning lines, -j$jobs$( [ $rc = 0 ] || echo "; $(stage_error build)")"
  # Protobuf must come from the bundle, never a system copy the machine does not have.
  grep -o "[^ ]*libprotobuf[^ ]*" "$build/build.ninja" 2>/dev/null | sort -u | head -n 3 >>"$work/logs/build.log"
fi
if [ "$dry_run" = "1" ] && [ -z "$gpu_line" ]; then
  echo "gpu_check: dry run without a GPU ends after the build."
  row stop "NO GPU" "$(elapsed)" "dry run: the GPU stages need a device"
  finish
  ok build && exit 3
  exit 1
fi

# ---- the GPU stages ---------------------------------------------------------------------------
have_fcn=0
[ -x "$fcn" ] && have_fcn=1

if [ $have_fcn = 1 ]; then
  run_stage info 30 "$fcn" info
  info_status=$(verdict $stage_rc)
  grep -q "^gpu usable: yes" "$work/logs/info.log" || { [ "$info_status" = ok ] && info_status="FAIL (GPU unusable)"; }
  row info "$info_status" "$stage_s" "$(grep -m1 "gpu usable" "$work/logs/info.log" | cut -c1-200)"
fi
if ! wanted gpu_tests; then
  :
elif [ -x "$build/tests/fcn_gpu_tests" ]; then
  run_stage gpu_tests "${FCN_GPU_CHECK_TESTS_S:-150}" "$build/tests/fcn_gpu_tests" --durations yes
  rc=$stage_rc
  cp "$work/logs/gpu_tests.log" "$out_dir/gpu_tests.log"
  summary=$(grep -E "^(All tests passed|test cases:)" "$work/logs/gpu_tests.log" | tail -n 1)
  [ $rc -eq 77 ] && summary="skipped: $(grep -m1 SKIPPED "$work/logs/gpu_tests.log")"
  row gpu_tests "$(verdict $rc)" "$stage_s" "${summary:-$(stage_error gpu_tests)}"
else
  row gpu_tests SKIPPED 0 "fcn_gpu_tests was not built"
fi
if ! wanted emulator; then
  :
elif [ -x "$build/tests/fcn_gpu_tests_emu" ]; then
  run_stage emulator 60 "$build/tests/fcn_gpu_tests_emu" "~[.]~[device-only]~[coverage]"
  summary=$(grep -E "^(All tests passed|test cases:)" "$work/logs/emulator.log" | tail -n 1)
  row emulator "$(verdict $stage_rc)" "$stage_s" "${summary:-$(stage_error emulator)}"
else
  row emulator SKIPPED 0 "fcn_gpu_tests_emu was not built (Boost.Context missing from the bundle?)"
fi

# One synthetic dataset (24 scenes, 320x240 to 1280x720) for the sanitizers and the training runs:
# make-dataset wrote these in 3-4 s on a loaded 2-core machine; the images only feed short runs.
data=$work/data/synthetic
if [ $have_fcn = 1 ] && wanted dataset; then
  run_stage dataset 90 "$fcn" make-dataset --out "$data" --images 24 --quiet
  row dataset "$(verdict $stage_rc)" "$stage_s" "$( [ $stage_rc = 0 ] && tail -n 2 "$work/logs/dataset.log" | head -n 1 | cut -c1-100 || stage_error dataset)"
fi
have_data=0
ok dataset && [ -f "$data/export.json" ] && have_data=1

# CPU reference losses, then the long GPU run on the same data and seed.
train_common=(train --export "$data/export.json" --size 512 --batch 8 --seed 7 --eval-every 0 --quiet
              --loader-threads 8 --cache-mb 2048)
if [ $have_data = 1 ] && wanted train_gpu; then  # skipping train_gpu skips its cpu_ref too
  run_stage cpu_ref 90 "$fcn" "${train_common[@]}" --steps 3 --device cpu --run-dir "$work/runs/cpu_ref"
  row cpu_ref "$(verdict $stage_rc)" "$stage_s" "$( [ $stage_rc = 0 ] && echo "3 steps at 512x512 on $(nproc) CPU threads" || stage_error cpu_ref)"
  run_stage train_gpu "${FCN_GPU_CHECK_TRAIN_S:-150}" "$fcn" "${train_common[@]}" --steps 300 --device cuda \
    --run-dir "$work/runs/train_gpu"
  train_rc=$stage_rc
  train_s=$stage_s
  [ -f "$work/runs/train_gpu/metrics.jsonl" ] && cp "$work/runs/train_gpu/metrics.jsonl" "$out_dir/train_gpu_metrics.jsonl"
  # Compare the first losses and summarise the run.
  compare=$(python3 - "$work/runs/cpu_ref/metrics.jsonl" "$work/runs/train_gpu/metrics.jsonl" <<'PY' 2>&1
import json, statistics, sys
def train_losses(path):
    out = {}
    try:
        for line in open(path):
            rec = json.loads(line)
            if rec.get("split") == "train":
                out[int(rec["step"])] = rec
    except OSError:
        pass
    return out
cpu, gpu = train_losses(sys.argv[1]), train_losses(sys.argv[2])
parts, good = [], True
tolerances = {1: 1e-5, 2: 1e-3, 3: 1e-3}
for step in (1, 2, 3):
    if step not in cpu or step not in gpu:
        parts.append(f"step {step}: missing"); good = False; continue
    a, b = cpu[step]["loss"], gpu[step]["loss"]
    rel = abs(a - b) / max(abs(a), 1e-30)
    passed = rel <= tolerances[step]
    good &= passed
    parts.append(f"step {step} cpu {a:.9g} gpu {b:.9g} rel {rel:.1e}{'' if passed else ' > ' + str(tolerances[step])}")
if gpu:
    last = max(gpu)
    ms = [r.get("step_ms", 0.0) for s, r in gpu.items() if s > 10]
    parts.append(f"{last} steps, loss {gpu[min(gpu)]['loss']:.4g} -> {gpu[last]['loss']:.4g}")
    if ms:
        parts.append(f"median step {statistics.median(ms):.2f} ms")
print(("MATCH" if good else "MISMATCH") + ": " + "; ".join(parts))
PY
)
  echo "$compare" | tee -a "$work/logs/train_gpu.log"
  train_status=$(verdict $train_rc)
  case "$compare" in MATCH*) ;; *) [ "$train_status" = ok ] && train_status="FAIL (losses)" ;; esac
  row train_gpu "$train_status" "$train_s" \
    "$(echo "$compare" | tail -n 1 | cut -c1-400); kernels $(kernel_plan_of "$work/runs/train_gpu/latest.safetensors")"
fi

# Determinism and resume on the GPU: 6 steps straight against 3 steps plus a resume to 6, with the kernel
# plan the first run tuned (the resume must reuse it from the checkpoint); the final checkpoints (weights,
# Adam moments, step, loader position, plan) must be byte-identical.
if [ $have_data = 1 ] && wanted resume_gpu; then
  # (bash -c: `timeout` runs programs, not shell functions; $1 = fcn, $2 = export.json, $3 = runs folder)
  run_stage resume_gpu 60 bash -c '
    set -e
    common=(train --export "$2" --size 128 --batch 4 --seed 3 --eval-every 0 --quiet --device cuda --cache-mb 512)
    "$1" "${common[@]}" --steps 6 --run-dir "$3/straight"
    plan=$(python3 "$4" "$3/straight/latest.safetensors")
    echo "kernel plan of the straight run: ${plan:-MISSING}"
    [ -n "$plan" ]
    "$1" "${common[@]}" --steps 3 --conv-kernels "$plan" --run-dir "$3/resumed"
    "$1" "${common[@]}" --steps 6 --resume "$3/resumed/latest.safetensors" --run-dir "$3/resumed"
    cmp "$3/straight/latest.safetensors" "$3/resumed/latest.safetensors"
    echo "byte-identical: $3/straight/latest.safetensors $3/resumed/latest.safetensors"
  ' resume_gpu "$fcn" "$data/export.json" "$work/runs" "$work/kernel_plan_of.py"
  row resume_gpu "$(verdict $stage_rc)" "$stage_s" "$( [ $stage_rc = 0 ] && echo "6 steps = 3 + resume to 6, byte-identical checkpoints" || stage_error resume_gpu)"
fi

if [ $have_fcn = 1 ] && wanted bench_kernels; then
  run_stage bench_kernels "${FCN_GPU_CHECK_BENCH_S:-90}" env NVIDIA_TF32_OVERRIDE=0 "$fcn" bench kernels --device cuda --repeats 20
  cp "$work/logs/bench_kernels.log" "$out_dir/bench_kernels.txt"
  row bench_kernels "$(verdict $stage_rc)" "$stage_s" \
    "$(grep -c "^| conv\|^| logits\|^| resize\|^| sigmoid\|^| adam\|^| weight" "$work/logs/bench_kernels.log") rows, $(grep -c "^|.*| FAIL" "$work/logs/bench_kernels.log") FAIL (bench_kernels.txt)"
fi
if [ $have_fcn = 1 ] && wanted bench_step; then
  # fcn.cu's step beside PyTorch's (python3 there is the image's, with torch; bench_step.sh says when not).
  run_stage bench_step 75 env FCN_BIN="$fcn" bash "$repo/scripts/bench_step.sh" --device cuda --size 512 --batch 8 \
    --rounds 1 --repeats 20
  cp "$work/logs/bench_step.log" "$out_dir/bench_step.txt"
  row bench_step "$(verdict $stage_rc)" "$stage_s" "$(grep -E "^\| (fcn.cu|PyTorch)|NOT RUN" "$work/logs/bench_step.log" \
    | awk -F'|' '/NOT RUN/ { printf "%s; ", $0; next } { printf "%s %s%s; ", $2, $3, ($3 ~ /^ *[0-9.]+ *$/ ? " ms" : "") }' \
    | tr -s ' ' | cut -c1-300)"
fi

sanitize() {  # sanitize TOOL SIZE PLAN: sizes that are no multiple of 32 exercise the kernels' edge tiles
  local tool=$1 size=$2 plan=$3
  wanted "$tool" || return
  if ! command -v compute-sanitizer >/dev/null 2>&1; then
    row "$tool" SKIPPED 0 "compute-sanitizer not found"
    return
  fi
  run_stage "$tool" "${FCN_GPU_CHECK_SANITIZER_S:-75}" env NVIDIA_TF32_OVERRIDE=0 compute-sanitizer --tool "$tool" --error-exitcode 9 \
    --print-limit 20 "$fcn" train --export "$data/export.json" --steps 2 --batch 2 --size "$size" --device cuda \
    --eval-every 0 --conv-kernels "$plan" --run-dir "$work/runs/$tool" --quiet
  local rc=$stage_rc
  row "$tool" "$(verdict $rc)" "$stage_s" \
    "$(grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$work/logs/$tool.log" | tail -n 1 | sed 's/^=* *//')"
}
# Last: the sanitizers are diagnostics (slow, and only useful beside the results above), so they get what
# is left of the budget rather than taking it from the training run and the benchmarks.
if [ $have_data = 1 ]; then
  sanitize memcheck 72 auto
  sanitize racecheck 40 "1x1:64>1=2,3,4;3x3:3>64=3,4,2;3x3:64>64=4,2,3"
fi

finish
for name in build info gpu_tests emulator memcheck racecheck train_gpu resume_gpu; do
  case "${status[$name]:-missing}" in ok|"skipped (asked)") ;; *) exit 1 ;; esac
done
exit 0
