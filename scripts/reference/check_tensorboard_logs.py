#!/usr/bin/env python3
"""Checks a training run's TensorBoard logs with TensorBoard's own reader.

    scripts/reference/.venv/bin/python scripts/reference/check_tensorboard_logs.py RUN_DIR \
        [--params conv1.weight,conv1.bias,...] [--image-size 512x512]

RUN_DIR holds train/ and test/ (events.out.tfevents.* files written by fcn's EventWriter) and
metrics.jsonl, one JSON object per line:
    {"step": 10, "split": "train", "loss": 0.41}
    {"step": 10, "split": "test", "loss": 0.45, "iou": 0.62, "pixel_accuracy": 0.93}

Both directories are loaded with tensorboard's EventAccumulator (everything kept, no sampling), which
also checks every record's CRCs. Checked:
  - every train line of metrics.jsonl has the scalar "loss" in train/ at that step with that value;
  - every test line has "loss", "iou" and "pixel_accuracy" in test/ at that step with those values;
    values agree within atol + rtol * |value| (defaults 1e-7 and 1e-6: a float32 written to JSON with
    9 significant digits round-trips exactly; 1e-6 relative still accepts 7-digit printing);
  - test/ has images input/<k>, probability/<k>, prediction/<k>, overlay/<k>, the four of one k the same
    size (and --image-size when given), and every image's PNG header agrees with its width and height;
  - train/ has histograms params/<name> and grads/<name> for every parameter (--params, or every name
    seen under either prefix), each with bucket counts summing to num and min <= max;
  - the view TensorBoard's web server works from (plugin_event_accumulator, which migrates legacy
    simple_value / image / histo values to tensors) has every tag, under the scalars, images or
    histograms plugin, with as many events.
Prints the tags and a summary; exits 0 when everything matches, 1 on any mismatch, 2 on unusable input.
"""
import argparse
import json
import math
import os
import struct
import sys

from tensorboard.backend.event_processing import event_accumulator
from tensorboard.backend.event_processing import plugin_event_accumulator

TRAIN_SCALARS_EXPECTED = ["loss", "learning_rate", "images_per_s", "step_time_ms"]
TEST_SCALARS = ["loss", "iou", "pixel_accuracy"]
IMAGE_KINDS = ["input", "probability", "prediction", "overlay"]

KEEP_EVERYTHING = {
    event_accumulator.SCALARS: 0,
    event_accumulator.IMAGES: 0,
    event_accumulator.HISTOGRAMS: 0,
    event_accumulator.COMPRESSED_HISTOGRAMS: 0,
    event_accumulator.AUDIO: 0,
    event_accumulator.TENSORS: 0,
}


class Report:
    """Collects failures and warnings; every check adds to it instead of stopping at the first."""

    def __init__(self):
        self.failures = []
        self.warnings = []
        self.checked = 0

    def fail(self, message):
        self.failures.append(message)

    def warn(self, message):
        self.warnings.append(message)


def load(directory):
    if not os.path.isdir(directory):
        sys.exit(f"error: {directory} is not a directory\n"
                 "HINT: pass the run directory that holds train/, test/ and metrics.jsonl.")
    files = [f for f in os.listdir(directory) if "tfevents" in f]
    if not files:
        sys.exit(f"error: no events.out.tfevents.* file in {directory}\n"
                 "HINT: was the run started with TensorBoard logging on, and did it get past step 0?")
    accumulator = event_accumulator.EventAccumulator(directory, size_guidance=KEEP_EVERYTHING)
    accumulator.Reload()
    return accumulator


def read_metrics(path):
    if not os.path.isfile(path):
        sys.exit(f"error: {path} not found\nHINT: the trainer writes metrics.jsonl next to train/ and test/.")
    rows = []
    with open(path) as f:
        for number, line in enumerate(f, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"error: {path}:{number}: not JSON ({e})\nHINT: one JSON object per line.")
            if not isinstance(row, dict) or "step" not in row or row.get("split") not in ("train", "test"):
                sys.exit(f"error: {path}:{number}: needs \"step\" and \"split\": \"train\"|\"test\"\n"
                         "HINT: see the docstring of this script for the line format.")
            row["_line"] = number
            rows.append(row)
    return rows


def close(a, b, rtol, atol):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= atol + rtol * abs(b)


def scalar_by_step(accumulator, tag):
    """The last value logged for each step (a resumed run may log a step twice)."""
    if tag not in accumulator.Tags()["scalars"]:
        return None
    return {event.step: event.value for event in accumulator.Scalars(tag)}


def check_metrics(report, rows, split, accumulator, tags, args):
    by_tag = {tag: scalar_by_step(accumulator, tag) for tag in tags}
    for tag, values in by_tag.items():
        if values is None:
            report.fail(f"{split}/: no scalar tag \"{tag}\"")
    for row in rows:
        if row["split"] != split:
            continue
        for tag in tags:
            if tag not in row:
                report.fail(f"metrics.jsonl:{row['_line']}: {split} line has no \"{tag}\"")
                continue
            values = by_tag[tag]
            if values is None:
                continue
            step = int(row["step"])
            report.checked += 1
            if step not in values:
                report.fail(f"{split}/{tag}: no event at step {step} (metrics.jsonl:{row['_line']})")
            elif not close(values[step], float(row[tag]), args.rtol, args.atol):
                report.fail(f"{split}/{tag} step {step}: event {values[step]!r} != metrics.jsonl "
                            f"{row[tag]!r} (line {row['_line']})")


def png_size(data):
    """(width, height) from a PNG's IHDR chunk, or None when the bytes are not a PNG."""
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def check_images(report, accumulator, args):
    image_tags = accumulator.Tags()["images"]
    for tag in image_tags:
        for event in accumulator.Images(tag):
            report.checked += 1
            size = png_size(event.encoded_image_string)
            if size is None:
                report.fail(f"test/{tag} step {event.step}: image bytes are not a PNG")
            elif size != (event.width, event.height):
                report.fail(f"test/{tag} step {event.step}: PNG is {size[0]}x{size[1]} (w x h) but the "
                            f"summary says {event.width}x{event.height}")
    indices = sorted({tag.split("/", 1)[1] for tag in image_tags
                      if "/" in tag and tag.split("/", 1)[0] in IMAGE_KINDS})
    if not indices:
        report.fail("test/: no image tags input/<k>, probability/<k>, prediction/<k>, overlay/<k>")
    for k in indices:
        sizes = {}
        for kind in IMAGE_KINDS:
            tag = f"{kind}/{k}"
            if tag not in image_tags:
                report.fail(f"test/: image tag {tag} missing (others of index {k} exist)")
                continue
            sizes[kind] = {(e.height, e.width) for e in accumulator.Images(tag)}
        all_sizes = set().union(*sizes.values()) if sizes else set()
        if len(all_sizes) > 1:
            report.fail(f"test/ images of index {k} differ in size (h, w): {sizes}")
        if args.image_size and all_sizes and all_sizes != {args.image_size}:
            report.fail(f"test/ images of index {k} are {sorted(all_sizes)} (h, w), expected {args.image_size}")


def check_histograms(report, accumulator, args):
    tags = accumulator.Tags()["histograms"]
    names = {}
    for tag in tags:
        prefix, _, name = tag.partition("/")
        if prefix in ("params", "grads") and name:
            names.setdefault(name, set()).add(prefix)
    expected = args.params if args.params else sorted(names)
    if not expected:
        report.fail("train/: no histogram tags params/<name> or grads/<name>")
    for name in expected:
        for prefix in ("params", "grads"):
            tag = f"{prefix}/{name}"
            if tag not in tags:
                report.fail(f"train/: histogram {tag} missing")
                continue
            for event in accumulator.Histograms(tag):
                report.checked += 1
                h = event.histogram_value
                if len(h.bucket) != len(h.bucket_limit) or not h.bucket:
                    report.fail(f"train/{tag} step {event.step}: {len(h.bucket)} buckets but "
                                f"{len(h.bucket_limit)} limits")
                elif sum(h.bucket) != h.num:
                    report.fail(f"train/{tag} step {event.step}: buckets hold {sum(h.bucket)} values, num is {h.num}")
                elif h.num > 0 and not h.min <= h.max:
                    report.fail(f"train/{tag} step {event.step}: min {h.min} > max {h.max}")
    return expected


def check_served_view(report, split, directory, accumulator):
    """The same files as the web UI sees them: every legacy value migrated to a plugin's tensor."""
    served = plugin_event_accumulator.EventAccumulator(directory, size_guidance={"tensors": 0})
    served.Reload()
    served_tags = set(served.Tags()["tensors"])
    legacy = accumulator.Tags()
    for kind, plugin, events in (("scalars", "scalars", accumulator.Scalars),
                                 ("images", "images", accumulator.Images),
                                 ("histograms", "histograms", accumulator.Histograms)):
        for tag in legacy[kind]:
            report.checked += 1
            if tag not in served_tags:
                report.fail(f"{split}/{tag}: missing from TensorBoard's served view")
                continue
            name = served.SummaryMetadata(tag).plugin_data.plugin_name
            if name != plugin:
                report.fail(f"{split}/{tag}: served by plugin {name!r}, expected {plugin!r}")
            if len(served.Tensors(tag)) != len(events(tag)):
                report.fail(f"{split}/{tag}: {len(served.Tensors(tag))} events served, "
                            f"{len(events(tag))} in the file")


def list_tags(split, accumulator):
    tags = accumulator.Tags()
    print(f"{split}/ (file_version {accumulator.file_version}):")
    for kind in ("scalars", "images", "histograms"):
        names = sorted(tags.get(kind, []))
        shown = ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "")
        print(f"  {kind:10s} {shown if names else '-'}")


def parse_image_size(text):
    try:
        h, w = text.lower().split("x")
        return int(h), int(w)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--image-size wants HxW (e.g. 512x512), got {text!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--params", type=lambda s: [p for p in s.split(",") if p],
                        help="comma-separated parameter names that must have params/ and grads/ histograms")
    parser.add_argument("--image-size", type=parse_image_size, help="expected test image size HxW")
    parser.add_argument("--rtol", type=float, default=1e-6)
    parser.add_argument("--atol", type=float, default=1e-7)
    args = parser.parse_args()

    rows = read_metrics(os.path.join(args.run_dir, "metrics.jsonl"))
    train = load(os.path.join(args.run_dir, "train"))
    test = load(os.path.join(args.run_dir, "test"))
    list_tags("train", train)
    list_tags("test", test)

    report = Report()
    for split, accumulator in (("train", train), ("test", test)):
        if accumulator.file_version != 2.0:
            report.fail(f"{split}/: file_version {accumulator.file_version}, expected 2 (\"brain.Event:2\")")
    check_metrics(report, rows, "train", train, ["loss"], args)
    check_metrics(report, rows, "test", test, TEST_SCALARS, args)
    for tag in TRAIN_SCALARS_EXPECTED:
        if tag not in train.Tags()["scalars"]:
            report.warn(f"train/: scalar \"{tag}\" not logged")
    check_served_view(report, "train", os.path.join(args.run_dir, "train"), train)
    check_served_view(report, "test", os.path.join(args.run_dir, "test"), test)
    check_images(report, test, args)
    params = check_histograms(report, train, args)

    train_lines = sum(1 for r in rows if r["split"] == "train")
    test_lines = sum(1 for r in rows if r["split"] == "test")
    print(f"metrics.jsonl: {train_lines} train lines, {test_lines} test lines; "
          f"{len(params)} parameters with histograms; {report.checked} values checked")
    for message in report.warnings:
        print(f"warning: {message}")
    for message in report.failures[:50]:
        print(f"MISMATCH: {message}")
    if len(report.failures) > 50:
        print(f"... and {len(report.failures) - 50} more mismatches")
    print(f"overall okay: {0 if report.failures else 1}")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
