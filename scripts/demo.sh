#!/usr/bin/env bash
# The demo: installs what the build needs, builds, makes the synthetic Labelbox-style dataset, trains the
# seed's FCN on it (on the GPU when one is usable, otherwise on the CPU at 128x128 so it finishes in a few
# minutes on 2 cores), segments a few test images, and says where everything is.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
data=${DATA_DIR:-data/synthetic}
run=${RUN_DIR:-runs/demo}

bash scripts/setup.sh
bash scripts/build.sh
fcn="$build/fcn"

if [ ! -f "$data/export.json" ]; then
  "$fcn" make-dataset --out "$data"
fi
"$fcn" inspect "$data/export.json" | tail -n 6

if "$fcn" info | grep -q "^gpu usable: yes"; then
  size=512; steps=300; device=cuda
else
  size=128; steps=300; device=cpu
fi
echo "demo: training on $device at ${size}x${size} for $steps steps"
rm -rf "$run"
"$fcn" train --export "$data/export.json" --device "$device" --size "$size" --steps "$steps" \
  --eval-every 50 --save-every 100 --run-dir "$run"

# Segment the first test images (the test split is the first 20% of records) at their original size.
mkdir -p "$run/inputs"
"$fcn" inspect "$data/export.json" --dump "$run/inputs" --limit 3 >/dev/null
"$fcn" predict --checkpoint "$run/latest.safetensors" --device "$device" --out "$run/predictions" \
  --input "$run"/inputs/*.image.png
echo
echo "demo: test IoU above; predictions in $run/predictions, progress strip in $run/progress.png"
echo "demo: view the logs with: tensorboard --logdir $run"
