#!/usr/bin/env bash
# One training step of the seed's model, fcn.cu beside PyTorch in the same run with the same model,
# size, batch and threads. Runs each implementation ROUNDS times, alternating (these machines are noisy),
# and prints a markdown table of the best medians and the ratio fcn.cu / PyTorch.
# Usage: scripts/bench_step.sh [--device cpu|cuda] [--size 128] [--batch 8] [--threads 2] [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
device=cpu size=128 batch=8 threads=2 rounds=3 extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --torch-flag) extra+=("$2"); shift 2 ;;
    -h|--help) sed -n 2,6p "$0"; exit 0 ;;
    *) echo "bench_step.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
fcn=${FCN_BIN:-${BUILD_DIR:-build}/fcn}
python=${PYTHON:-scripts/reference/.venv/bin/python}
[ -x "$python" ] || python=python3
if ! "$python" -c "import torch" 2>/dev/null; then
  echo "bench_step.sh: PyTorch is not importable by $python" >&2
  echo "HINT: bash scripts/reference/setup_venv.sh (or set PYTHON to an interpreter with torch)" >&2
  exit 2
fi
export OMP_NUM_THREADS=$threads
best() { sort -g | head -n 1; }
fcn_ms=() torch_ms=()
for _ in $(seq "$rounds"); do
  fcn_ms+=("$("$fcn" bench step --json --device "$device" --size "$size" --batch "$batch" --threads "$threads" \
    | "$python" -c 'import json,sys; print(json.loads(sys.stdin.read())["ms"])')")
  torch_ms+=("$("$python" scripts/reference/torch_step_bench.py --device "$device" --size "$size" --batch "$batch" \
    --threads "$threads" "${extra[@]}" | tail -n 1 | "$python" -c 'import json,sys; print(json.loads(sys.stdin.read())["ms"])')")
done
f=$(printf '%s\n' "${fcn_ms[@]}" | best)
t=$(printf '%s\n' "${torch_ms[@]}" | best)
torch_version=$("$python" -c 'import torch; print(torch.__version__)')
echo "| step, batch $batch at ${size}x${size}, $threads threads, $device | median ms (best of $rounds) | images/s |"
echo "|---|---|---|"
awk -v f="$f" -v b="$batch" 'BEGIN { printf "| fcn.cu | %.1f | %.1f |\n", f, b / (f / 1000) }'
awk -v t="$t" -v b="$batch" -v v="$torch_version" 'BEGIN { printf "| PyTorch %s | %.1f | %.1f |\n", v, t, b / (t / 1000) }'
awk -v f="$f" -v t="$t" 'BEGIN { printf "\nfcn.cu / PyTorch time ratio: %.2f\n", f / t }'
