#!/usr/bin/env python3
"""Trains the PyTorch model (torch_model.py) on exactly the batches fcn.cu trained on, from the folder
`fcn train ... --export-batches DIR` writes, and evaluates it on the exported test set, so the two
implementations can be compared step for step and on final test IoU.

DIR holds (all raw little-endian float32):
  meta.json          {"batch": B, "size": S, "classes": C, "channels": Ch, "steps": N, "test_images": T,
                      "lr": ..., "reduction": "sum"|"mean", "eval_every": K, optional "layers", "kernel",
                      "beta1", "beta2", "eps"}
  init.safetensors   fcn.cu's initial weights (HWIO, conv1.weight ... logits.bias)
  train_x.f32 [N, B, S, S, 3]   train_t.f32 [N, B, S, S, C]   test_x.f32 [T, S, S, 3]   test_t.f32 [T, S, S, C]

Evaluation (every K steps and after the last): test loss as fcn.cu reports it (sum reduction: summed
loss per image, averaged over images; mean reduction: mean over every pixel and class), IoU =
tp / (tp + fp + fn) and pixel accuracy over all test pixels and classes, with prediction = logit > 0 and
truth = target >= 0.5. Writes DIR/torch_result.json {"test_iou", "pixel_accuracy", "test_loss",
"curve": [{"step", "train_loss", "test_loss", "test_iou", "pixel_accuracy"}...], "wall_s", ...}.

Usage: scripts/reference/.venv/bin/python scripts/reference/torch_train.py DIR [--threads 2]
       scripts/reference/.venv/bin/python scripts/reference/torch_train.py --make-fake DIR  (tiny test input)
"""
import argparse
import json
import os
import time

import numpy as np
import torch

import torch_model as fm


def load_f32(path, shape):
    """A raw float32 file as a read-only memory map of the given shape; checks the file size."""
    expected = int(np.prod(shape)) * 4
    actual = os.path.getsize(path)
    if actual != expected:
        raise SystemExit(f"{path}: {actual} bytes, expected {expected} for float32 {list(shape)}\n"
                         f"HINT: the export is incomplete or meta.json does not match it; export again.")
    return np.memmap(path, dtype="<f4", mode="r", shape=tuple(shape))


@torch.no_grad()
def evaluate(params, test_x, test_t, batch, reduction):
    """(test loss as fcn.cu reports it, IoU, pixel accuracy) over the whole test set."""
    loss_sum, tp, fp, fn, tn, elements = 0.0, 0, 0, 0, 0, 0
    for start in range(0, len(test_x), batch):
        x = torch.from_numpy(np.array(test_x[start:start + batch]))
        t = torch.from_numpy(np.array(test_t[start:start + batch]))
        logits = fm.forward(params, x)
        loss_sum += float(fm.sigmoid_ce_loss(logits.double(), t.double(), "sum"))
        pred, truth = logits > 0, t >= 0.5
        tp += int((pred & truth).sum())
        fp += int((pred & ~truth).sum())
        fn += int((~pred & truth).sum())
        tn += int((~pred & ~truth).sum())
        elements += t.numel()
    images = len(test_x)
    test_loss = loss_sum / elements if reduction == "mean" else loss_sum / max(images, 1)
    iou = tp / (tp + fp + fn) if tp + fp + fn > 0 else 1.0  # as fcn.cu's EvalCounts::iou
    accuracy = (tp + tn) / max(elements, 1)
    return test_loss, iou, accuracy


def train(export_dir, threads):
    torch.set_num_threads(threads)
    with open(os.path.join(export_dir, "meta.json")) as f:
        meta = json.load(f)
    b, s, c, n, t = meta["batch"], meta["size"], meta["classes"], meta["steps"], meta["test_images"]
    reduction = meta.get("reduction", "sum")
    eval_every = int(meta.get("eval_every", 0))
    train_x = load_f32(os.path.join(export_dir, "train_x.f32"), (n, b, s, s, 3))
    train_t = load_f32(os.path.join(export_dir, "train_t.f32"), (n, b, s, s, c))
    test_x = load_f32(os.path.join(export_dir, "test_x.f32"), (t, s, s, 3))
    test_t = load_f32(os.path.join(export_dir, "test_t.f32"), (t, s, s, c))

    params = fm.load_params(os.path.join(export_dir, "init.safetensors"))
    expected = fm.parameter_shapes(meta["channels"], c, meta.get("kernel", 3), meta.get("layers", 2))
    for name, shape in expected.items():
        if name not in params or tuple(params[name].shape) != shape:
            got = tuple(params[name].shape) if name in params else "missing"
            raise SystemExit(f"init.safetensors: {name} is {got}, meta.json implies {shape}\n"
                             f"HINT: export again; meta.json and init.safetensors come from one run.")
    # Hyperparameters as fcn.cu holds them (float32 values), arithmetic in float32 like its kernels.
    hyper = {key: float(np.float32(meta.get(key, default)))
             for key, default in (("lr", 1e-4), ("beta1", 0.9), ("beta2", 0.999), ("eps", 1e-8))}
    adam = fm.TF1Adam(params, hyper["lr"], hyper["beta1"], hyper["beta2"], hyper["eps"])

    curve = []

    def run_eval(step, train_loss):
        test_loss, iou, accuracy = evaluate(params, test_x, test_t, b, reduction)
        curve.append({"step": step, "train_loss": train_loss, "test_loss": test_loss, "test_iou": iou,
                      "pixel_accuracy": accuracy})
        print(f"eval  step {step}: test loss/image {test_loss:.4f}  IoU {iou:.4f}  "
              f"pixel accuracy {accuracy:.4f}", flush=True)

    start = time.perf_counter()
    train_loss = None
    for step in range(1, n + 1):
        x = torch.from_numpy(np.array(train_x[step - 1]))
        target = torch.from_numpy(np.array(train_t[step - 1]))
        adam.zero_grad()
        loss = fm.sigmoid_ce_loss(fm.forward(params, x), target, reduction)
        loss.backward()
        adam.step()
        train_loss = float(loss.detach())
        if step == n or (eval_every > 0 and step % eval_every == 0):
            print(f"train step {step}: loss {train_loss:.4f}", flush=True)
            run_eval(step, train_loss)
    if n == 0:
        run_eval(0, None)
    wall_s = time.perf_counter() - start

    final = curve[-1]
    result = {"test_iou": final["test_iou"], "pixel_accuracy": final["pixel_accuracy"],
              "test_loss": final["test_loss"], "train_loss": train_loss, "curve": curve, "wall_s": wall_s,
              "steps": n, "threads": threads, "torch": torch.__version__}
    with open(os.path.join(export_dir, "torch_result.json"), "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print(f"wrote {os.path.join(export_dir, 'torch_result.json')} ({wall_s:.1f} s)")
    return result


def make_fake(export_dir, batch=2, size=16, classes=1, channels=8, steps=6, test_images=3, seed=0):
    """A tiny export in the format above: a bright square on noise is the class, so training can learn."""
    os.makedirs(export_dir, exist_ok=True)
    rng = np.random.default_rng(seed)

    def images(count):
        x = rng.uniform(0, 100, (count, size, size, 3)).astype(np.float32)
        t = np.zeros((count, size, size, classes), np.float32)
        for i in range(count):
            y0, x0 = rng.integers(0, size // 2, 2)
            x[i, y0:y0 + size // 2, x0:x0 + size // 2] += 150.0
            t[i, y0:y0 + size // 2, x0:x0 + size // 2, 0] = 1.0
        return x, t

    train_x, train_t = images(steps * batch)
    test_x, test_t = images(test_images)
    train_x.tofile(os.path.join(export_dir, "train_x.f32"))
    train_t.tofile(os.path.join(export_dir, "train_t.f32"))
    test_x.tofile(os.path.join(export_dir, "test_x.f32"))
    test_t.tofile(os.path.join(export_dir, "test_t.f32"))
    fm.save_params(os.path.join(export_dir, "init.safetensors"), fm.init_params(channels, classes, seed=seed))
    meta = {"batch": batch, "size": size, "classes": classes, "channels": channels, "layers": 2, "kernel": 3,
            "steps": steps, "test_images": test_images, "lr": 1e-2, "reduction": "sum", "eval_every": 2}
    with open(os.path.join(export_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
    print(f"wrote a fake export to {export_dir}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dir", help="the folder written by fcn train --export-batches")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--make-fake", action="store_true", help="write a tiny fake export to DIR and exit")
    args = parser.parse_args()
    if args.make_fake:
        make_fake(args.dir)
    else:
        train(args.dir, args.threads)


if __name__ == "__main__":
    main()
