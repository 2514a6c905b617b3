#!/usr/bin/env bash
# One training step of the seed's model, fcn.cu beside PyTorch in the same run with the same model,
# size, batch and threads. Runs each implementation ROUNDS times, alternating (these machines are noisy),
# and prints a markdown table of the best medians and the ratio fcn.cu / PyTorch for each PyTorch variant.
# Usage: scripts/bench_step.sh [--device cpu|cuda] [--size 128] [--batch 8] [--threads 2] [--rounds 3]
#                              [--repeats 10] [--variants LIST] [--torch-flag FLAG]...
# PyTorch runs eager (cuDNN on CUDA, benchmark mode) in the variants of LIST (torch_step_bench.py
# --variants): default nchw on the CPU and nchw,channels_last,channels_last+tf32 on CUDA. When python (PYTHON,
# else scripts/reference/.venv/bin/python, else python3) cannot import torch, or sees no GPU for --device
# cuda, fcn.cu's row is still printed and a "PyTorch: NOT RUN" line says why (exit 0 all the same; exit 1
# when fcn.cu itself failed, after the PyTorch rows).
set -euo pipefail
cd "$(dirname "$0")/.."
device=cpu size=128 batch=8 threads=2 rounds=3 repeats=10 variants="" extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --variants) variants=$2; shift 2 ;;
    --torch-flag) extra+=("$2"); shift 2 ;;
    -h|--help) sed -n 2,11p "$0"; exit 0 ;;
    *) echo "bench_step.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$variants" ]; then
  if [ "$device" = cuda ]; then variants=nchw,channels_last,channels_last+tf32; else variants=nchw; fi
fi
# --torch-flag --channels-last / --tf32 (the older way to name one variant) still work on their own.
[ ${#extra[@]} -gt 0 ] && [ "$variants" = nchw ] && variants=""
fcn=${FCN_BIN:-${BUILD_DIR:-build}/fcn}
python=${PYTHON:-scripts/reference/.venv/bin/python}
[ -x "$python" ] || python=python3
# One probe (importing torch takes seconds): "torch <version> <cuda available>", or why torch is not there.
torch_missing="" torch_version=""
if probe=$("$python" -c "import numpy, torch; print('torch', torch.__version__, torch.cuda.is_available())" 2>&1); then
  read -r _ torch_version cuda_ok <<<"$(grep '^torch ' <<<"$probe" | tail -n 1)"
  if [ "$device" = cuda ] && [ "${cuda_ok:-}" != True ]; then
    torch_missing="$python's torch $torch_version sees no CUDA device"
  fi
else
  torch_missing="PyTorch is not importable by $python: $(tail -n 1 <<<"$probe")"
fi
export OMP_NUM_THREADS=$threads
json_field() {  # json_field KEY: KEY of the last JSON line on stdin; fails quietly when there is none
  grep '^{' | tail -n 1 | "$python" -c 'import json,sys; t = sys.stdin.read(); sys.exit(1) if not t else print(json.loads(t).get(sys.argv[1], ""))' "$1"
}
best() { sort -g | head -n 1; }
fcn_ms=() order=() kernels=
declare -A torch_ms=()
for _ in $(seq "$rounds"); do
  # A failing fcn.cu still lets PyTorch run (its numbers are worth having); the exit status says it failed.
  if line=$("$fcn" bench step --json --device "$device" --size "$size" --batch "$batch" --threads "$threads" \
      --repeats "$repeats") && ms=$(json_field ms <<<"$line"); then
    fcn_ms+=("$ms")
    kernels=$(json_field kernels <<<"$line")  # the conv versions fcn.cu chose (CUDA only)
  fi
  [ -n "$torch_missing" ] && continue
  while IFS=$'\t' read -r variant ms; do
    [ -n "${torch_ms[$variant]:-}" ] || order+=("$variant")
    torch_ms[$variant]="${torch_ms[$variant]:-} $ms"
  done < <("$python" scripts/reference/torch_step_bench.py --device "$device" --size "$size" --batch "$batch" \
    --threads "$threads" --repeats "$repeats" ${variants:+--variants "$variants"} "${extra[@]}" \
    | "$python" -c 'import json,sys
for line in sys.stdin:
    r = json.loads(line)
    print(r["variant"], r["ms"], sep="\t")')
done
status=0 f=""
echo "| step, batch $batch at ${size}x${size}, $threads threads, $device | median ms (best of $rounds) | images/s | fcn.cu / this |"
echo "|---|---|---|---|"
if [ ${#fcn_ms[@]} -gt 0 ]; then
  f=$(printf '%s\n' "${fcn_ms[@]}" | best)
  awk -v f="$f" -v b="$batch" 'BEGIN { printf "| fcn.cu | %.2f | %.1f | 1.00 |\n", f, b / (f / 1000) }'
else
  echo "| fcn.cu | FAILED (its error is above) | | |"
  status=1
fi
table_end() { [ -n "$kernels" ] && echo && echo "fcn.cu conv kernels (forward, backward data, backward filter): $kernels"; true; }
if [ -n "$torch_missing" ]; then
  echo
  echo "PyTorch: NOT RUN: $torch_missing"
  echo "HINT: set PYTHON to an interpreter with torch (and, for --device cuda, a GPU it can use)"
  table_end
  exit $status
fi
[ ${#order[@]} -gt 0 ] || echo "| PyTorch $torch_version | no result (see its error above) | | |"
for variant in "${order[@]}"; do
  t=$(printf '%s\n' ${torch_ms[$variant]} | best)
  awk -v t="$t" -v f="$f" -v b="$batch" -v v="$torch_version $variant" \
    'BEGIN { printf "| PyTorch %s | %.2f | %.1f | %s |\n", v, t, b / (t / 1000), f == "" ? "" : sprintf("%.2f", f / t) }'
done
table_end
exit $status
