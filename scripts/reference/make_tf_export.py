#!/usr/bin/env python3
"""Writes tests/fixtures/tf_export/: a small Labelbox-style export made with TensorFlow itself, and what
TensorFlow computes from it (bilinear resizes to 512x512 and record metadata), for tests/test_tf_fixture.cc.

Everything written by TensorFlow: tf.io.TFRecordWriter frames the records (plain, and GZIP / ZLIB copies
of part-0), tf.train.Example serializes them (deterministically: map entries sorted by key, so a rerun
writes the same bytes), tf.io.encode_png / encode_jpeg encode the pixels, tf.image.decode_image and the TF
resize ops give the expected outputs. The pixels themselves come from a seeded numpy generator (stepped
ramps, a few flat blobs, one small noisy patch) so the PNGs compress and the folder stays small.

Output (all paths relative to the fixture folder):
  export.json                 {"tfrecord_paths": ["part-0.tfrecord", "part-1.tfrecord"], "legend": {...}}
  part-0.tfrecord, part-1.tfrecord
  compressed/part-0.tfrecord.gz    the records of part-0.tfrecord, TFRecordOptions(compression_type="GZIP")
  compressed/part-0.tfrecord.zlib  the same with compression_type="ZLIB"
  expected.json               per record: file, offset, payload_length, id, filename, format, width, ...
  expected/<i>.image.png      TF1 resize_images (legacy mapping) of decode_image(channels=3), every record
  decoded/<i>.image.png       decode_image(channels=3) itself, full size, for the JPEG records
  jpeg/<name>.jpg             small JPEG variants, with <name>.rgb.png and <name>.gray.png: decode_image
                              with channels=3 and 1; jpeg/<cut>.jpg: cut JPEGs decode_image refuses
  expected/<i>.label.png      round(255 * resize_images(label == first legend value)), every record
  expected_half/<i>.*.png     the same with TF2 tf.image.resize (half-pixel mapping)

Usage: scripts/reference/.venv/bin/python scripts/reference/make_tf_export.py [--out DIR]
"""
import argparse
import json
import os
import struct

import numpy as np
import tensorflow as tf

LEGEND = {"car": 1, "person": 2}
FIRST_CLASS_VALUE = min(LEGEND.values())  # the class `fcn inspect --dump` writes as the label image
SIZE = 512  # the seed's training size

# (file, width, height, stored channels, format): sizes below, at and above 512, square and not.
RECORDS = [
    (0, 97, 61, 3, "png"),
    (0, 300, 200, 1, "png"),    # grayscale PNG: decode_image(channels=3) repeats gray into RGB
    (0, 640, 480, 4, "png"),    # RGBA PNG: decode_image(channels=3) drops alpha
    (0, 320, 240, 3, "jpeg"),   # JPEG (4:2:0, quality 90): fcn.cu must decode TF's pixels exactly
    (1, 512, 512, 3, "png"),    # already the training size: TF1 returns it unchanged
    (1, 700, 1030, 3, "png"),   # tall, larger than 512 on both axes (downscale)
    (1, 61, 97, 3, "png"),      # small and tall
]
COLORSPACE = {1: "GRAY", 3: "RGB", 4: "RGBA"}
# JPEG variants beside the export, each with TF's decode_image(channels=3) and (channels=1) pixels:
# (name, width, height, stored channels, encode_jpeg arguments). Odd sizes exercise the edge of fancy
# upsampling; gray, 4:4:4, progressive and optimized Huffman tables take other paths through libjpeg.
JPEG_VARIANTS = [
    ("odd_420_q95", 33, 17, 3, dict(quality=95)),
    ("gray_q90", 37, 23, 1, dict(quality=90)),
    ("444_q75", 50, 30, 3, dict(quality=75, chroma_downsampling=False)),
    ("progressive_q85", 61, 40, 3, dict(quality=85, progressive=True)),
    ("optimized_q60", 45, 64, 3, dict(quality=60, optimize_size=True)),
]
# Cut copies of the first variant that TF's decode_image refuses (try_recover_truncated off): what is
# kept of the bytes.
JPEG_REFUSED = [("cut_half", lambda b: b[:len(b) // 2]), ("no_eoi", lambda b: b[:-2])]
# Compressed copies of part-0 (its four records, the JPEG among them): (compression_type, file).
COMPRESSED = [("GZIP", "compressed/part-0.tfrecord.gz"), ("ZLIB", "compressed/part-0.tfrecord.zlib")]


def make_image(rng, height, width, channels):
    """Stepped colour ramps, three flat-coloured ellipses and one small noisy patch:
    [height, width, channels] uint8. Ramps and flat areas keep the PNGs (and their 512x512 resizes)
    small; the ellipse edges and the noise make every wrong tap or weight of a resize visible."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    planes = []
    for c in range(channels):  # a different direction per channel, values 20..220
        wx, wy = c + 1, 3 - c
        planes.append(20.0 + np.floor((xx * wx + yy * wy) * 200.0 / (width * wx + height * wy)))
    img = np.stack(planes, axis=-1)
    for _ in range(3):
        cy, cx = rng.uniform(0.2, 0.8) * height, rng.uniform(0.2, 0.8) * width
        ry, rx = rng.uniform(0.05, 0.2) * height, rng.uniform(0.05, 0.2) * width
        img[((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0] = rng.uniform(0, 255, channels)
    patch_h, patch_w = max(4, min(24, height // 12)), max(4, min(24, width // 12))
    y0, x0 = height // 4, width // 2
    img[y0:y0 + patch_h, x0:x0 + patch_w] += rng.normal(0.0, 20.0, (patch_h, patch_w, channels))
    if channels == 4:  # alpha: a plain ramp, must not leak into RGB
        img[..., 3] = 255.0 * xx / max(width - 1, 1)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def make_label(rng, height, width):
    """Class ids 0 (background), 1, 2 as a few elliptical blobs: [height, width, 1] uint8."""
    label = np.zeros((height, width), np.uint8)
    yy, xx = np.mgrid[0:height, 0:width]
    for value in (1, 2, 1, 2):
        cy, cx = rng.uniform(0.15, 0.85) * height, rng.uniform(0.15, 0.85) * width
        ry, rx = rng.uniform(0.08, 0.3) * height, rng.uniform(0.08, 0.3) * width
        label[((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0] = value
    return label[..., None]


def bytes_feature(value):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def int64_feature(value):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))


def make_example(image_bytes, label_bytes, filename, record_id, fmt, height, width, channels):
    """The seed's schema (FACTS.md), one value per feature."""
    return tf.train.Example(features=tf.train.Features(feature={
        "image/encoded": bytes_feature(image_bytes),
        "image/filename": bytes_feature(filename.encode()),
        "image/ID": bytes_feature(record_id.encode()),
        "image/format": bytes_feature(fmt.encode()),
        "image/colorspace": bytes_feature(COLORSPACE[channels].encode()),
        "image/segmentation/class/format": bytes_feature(b"png"),
        "image/height": int64_feature(height),
        "image/width": int64_feature(width),
        "image/channels": int64_feature(channels),
        "image/segmentation/class/encoded": bytes_feature(label_bytes),
    }))


def record_offsets(path):
    """[(offset, payload_length)] of every record, walking the framing: 8 length + 4 crc + N + 4 crc."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos < len(data):
        (length,) = struct.unpack_from("<Q", data, pos)
        out.append((pos, length))
        pos += 16 + length
    assert pos == len(data), f"{path}: framing does not end at the end of the file"
    return out


def to_uint8(values):
    """Round half up and clamp, as `fcn inspect --dump` writes its PNGs (values are >= 0)."""
    return np.clip(np.floor(np.asarray(values, np.float32) + 0.5), 0, 255).astype(np.uint8)


def expected_images(image_bytes, label, half_pixel):
    """TensorFlow's resized image and first-class soft mask, as uint8 arrays [S, S, 3] and [S, S, 1]."""
    img = tf.image.decode_image(image_bytes, channels=3, expand_animations=False)  # uint8 [h, w, 3]
    mask = tf.cast(tf.constant(label) == FIRST_CLASS_VALUE, tf.float32)          # [h, w, 1]
    if half_pixel:  # TF2: half-pixel centres
        image = tf.image.resize(img, [SIZE, SIZE], method="bilinear")
        soft = tf.image.resize(mask, [SIZE, SIZE], method="bilinear")
    else:           # TF1: the seed's legacy mapping (align_corners=False, half_pixel_centers=False)
        image = tf.compat.v1.image.resize_images(img, [SIZE, SIZE])
        soft = tf.compat.v1.image.resize_images(mask, [SIZE, SIZE])
    image = tf.cast(image, tf.float32).numpy()  # same-size input comes back unchanged (uint8)
    soft = tf.cast(soft, tf.float32).numpy()
    return to_uint8(image), to_uint8(255.0 * soft)


def write_png(path, array):
    tf.io.write_file(path, tf.io.encode_png(array))


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(root, "tests", "fixtures", "tf_export"))
    parser.add_argument("--seed", type=int, default=20240511)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    for sub in ("expected", "expected_half", "compressed", "decoded", "jpeg"):
        os.makedirs(os.path.join(args.out, sub), exist_ok=True)
    files = ["part-0.tfrecord", "part-1.tfrecord"]

    # 1. The export: encode with TF, write the records with TF's writer.
    samples = []
    serialized = []  # (file index, bytes) in export order
    writers = [tf.io.TFRecordWriter(os.path.join(args.out, name)) for name in files]
    for index, (file_index, width, height, channels, fmt) in enumerate(RECORDS):
        pixels = make_image(rng, height, width, channels)
        label = make_label(rng, height, width)
        if fmt == "png":
            image_bytes = tf.io.encode_png(pixels).numpy()
        else:
            image_bytes = tf.io.encode_jpeg(pixels, quality=90).numpy()
        label_bytes = tf.io.encode_png(label).numpy()
        filename = f"frame_{index:03d}.{'jpg' if fmt == 'jpeg' else 'png'}"
        record_id = f"ck{args.seed:x}{index:04d}ref"
        example = make_example(image_bytes, label_bytes, filename, record_id, fmt, height, width, channels)
        payload = example.SerializeToString(deterministic=True)
        writers[file_index].write(payload)
        serialized.append((file_index, payload))
        samples.append(dict(file_index=file_index, image_bytes=image_bytes, label=label, fmt=fmt,
                            id=record_id, filename=filename, width=width, height=height,
                            channels=channels))
    for w in writers:
        w.close()
    compressed = []
    for compression_type, name in COMPRESSED:
        path = os.path.join(args.out, name)
        options = tf.io.TFRecordOptions(compression_type=compression_type)
        with tf.io.TFRecordWriter(path, options=options) as writer:
            for file_index, payload in serialized:
                if file_index == 0:
                    writer.write(payload)
        # tf.data reads the copy back as exactly the records of part-0.
        got = [r.numpy() for r in tf.data.TFRecordDataset(path, compression_type=compression_type)]
        assert got == [p for f, p in serialized if f == 0], f"{name}: records differ from part-0"
        compressed.append({"file": name, "compression": compression_type.lower(), "records_of": files[0]})
    with open(os.path.join(args.out, "export.json"), "w") as f:
        json.dump({"tfrecord_paths": files, "legend": LEGEND}, f, indent=2)
        f.write("\n")

    # 2. Where each record sits, read back from the files TF wrote (export order = file order).
    locations = [loc for name in files for loc in record_offsets(os.path.join(args.out, name))]
    assert len(locations) == len(samples)

    # 3. What TF computes from each record.
    expected = []
    for index, (sample, (offset, length)) in enumerate(zip(samples, locations)):
        counts = np.bincount(sample["label"].ravel(), minlength=256)
        entry = {
            "index": index, "file": files[sample["file_index"]], "offset": offset,
            "payload_length": length, "id": sample["id"], "filename": sample["filename"],
            "format": sample["fmt"], "width": sample["width"], "height": sample["height"],
            "channels": sample["channels"],
            "class_pixels": {str(v): int(counts[v]) for v in [0] + sorted(LEGEND.values())},
            "expected_image": True,
        }
        if sample["fmt"] == "jpeg":
            decoded = tf.image.decode_image(sample["image_bytes"], channels=3, expand_animations=False)
            entry["decoded_image"] = f"decoded/{index}.image.png"
            write_png(os.path.join(args.out, entry["decoded_image"]), decoded)
        for sub, half in (("expected", False), ("expected_half", True)):
            image, soft = expected_images(sample["image_bytes"], sample["label"], half)
            write_png(os.path.join(args.out, sub, f"{index}.image.png"), image)
            write_png(os.path.join(args.out, sub, f"{index}.label.png"), soft)
        expected.append(entry)
    # 4. JPEG variants and what TF's decode_image makes of them (their own generator: the export's
    #    pixels stay as they were).
    variant_rng = np.random.default_rng(args.seed + 1)
    variants, refused = [], []
    for name, width, height, channels, options in JPEG_VARIANTS:
        jpeg = tf.io.encode_jpeg(make_image(variant_rng, height, width, channels), **options).numpy()
        entry = {"name": name, "file": f"jpeg/{name}.jpg", "width": width, "height": height,
                 "channels": channels, "rgb": f"jpeg/{name}.rgb.png", "gray": f"jpeg/{name}.gray.png"}
        with open(os.path.join(args.out, entry["file"]), "wb") as f:
            f.write(jpeg)
        for key, want in (("rgb", 3), ("gray", 1)):
            write_png(os.path.join(args.out, entry[key]), tf.image.decode_image(jpeg, channels=want))
        variants.append(entry)
        if not refused:
            for cut_name, cut in JPEG_REFUSED:
                path = f"jpeg/{cut_name}.jpg"
                with open(os.path.join(args.out, path), "wb") as f:
                    f.write(cut(jpeg))
                try:
                    tf.image.decode_image(cut(jpeg), channels=3)
                    raise AssertionError(f"{path}: decode_image accepted it")
                except tf.errors.InvalidArgumentError:
                    refused.append(path)
    meta = {"size": SIZE, "legend": LEGEND, "first_class_value": FIRST_CLASS_VALUE,
            "tensorflow": tf.__version__, "seed": args.seed, "records": expected, "compressed": compressed,
            "jpeg_variants": variants, "jpeg_refused": refused}
    with open(os.path.join(args.out, "expected.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")

    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(args.out) for n in ns)
    print(f"wrote {len(samples)} records in {len(files)} files to {args.out} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
