#!/usr/bin/env python3
"""Times one training step of the PyTorch model (torch_model.py): forward, sigmoid cross-entropy (sum),
backward and the hand-written TF1 Adam update, on random inputs, as the peer for `fcn bench step`.

Median over --repeats steps after --warmup steps; CUDA steps are timed with torch.cuda.Event (one pair
per step, synchronised), CPU steps with time.perf_counter. Prints one JSON line per variant:
  {"impl": "pytorch", "variant": ..., "device": ..., "ms": ..., "images_per_s": ..., "torch": ...}
A variant is the memory order and the math: "nchw", "channels_last", each optionally "+tf32" (TF32 tensor
cores allowed, CUDA). --variants runs several in one process (one import, one CUDA context); without it
the one variant that --channels-last / --tf32 describe runs. Needs torch and numpy only.

Usage: scripts/reference/.venv/bin/python scripts/reference/torch_step_bench.py --size 128 --batch 8 \
         --threads 2 --channels 64 --classes 1 --device cpu [--channels-last] [--tf32] [--repeats 10]
       python3 scripts/reference/torch_step_bench.py --device cuda --size 512 --batch 8 \
         --variants nchw,channels_last,channels_last+tf32 --repeats 20
"""
import argparse
import json
import statistics
import time

import torch

import torch_model as fm


def parse_variant(name):
    """'channels_last+tf32' -> (channels_last, tf32)."""
    parts = name.split("+")
    if parts[0] not in ("nchw", "channels_last") or any(p != "tf32" for p in parts[1:]):
        raise SystemExit(f"torch_step_bench.py: unknown variant {name!r}; use nchw or channels_last, "
                         "optionally with +tf32")
    return parts[0] == "channels_last", "tf32" in parts[1:]


def time_step(args, device, channels_last, tf32):
    """Median milliseconds of one training step in this variant."""
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    g = torch.Generator().manual_seed(0)
    x = (255.0 * torch.rand((args.batch, args.size, args.size, 3), generator=g)).to(device)
    targets = torch.rand((args.batch, args.size, args.size, args.classes), generator=g).to(device)
    params = fm.init_params(args.channels, args.classes, layers=args.layers, seed=0, device=device)
    adam = fm.TF1Adam(params, lr=1e-4)

    def step():
        adam.zero_grad()
        loss = fm.sigmoid_ce_loss(fm.forward(params, x, channels_last=channels_last), targets, "sum")
        loss.backward()
        adam.step()

    for _ in range(args.warmup):
        step()
    times_ms = []
    if device.type == "cuda":
        torch.cuda.synchronize()
        for _ in range(args.repeats):
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
            step()
            end.record()
            end.synchronize()
            times_ms.append(begin.elapsed_time(end))
    else:
        for _ in range(args.repeats):
            begin = time.perf_counter()
            step()
            times_ms.append(1e3 * (time.perf_counter() - begin))
    return statistics.median(times_ms)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (CPU work)")
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--classes", type=int, default=1)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--channels-last", action="store_true", help="NHWC memory order in the convs")
    parser.add_argument("--tf32", action="store_true", help="allow TF32 tensor cores (CUDA)")
    parser.add_argument("--variants", default="",
                        help="comma-separated variants to run in turn, e.g. nchw,channels_last,channels_last+tf32")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()

    if args.variants:
        variants = [v for v in args.variants.split(",") if v]
    else:
        variants = [("channels_last" if args.channels_last else "nchw") + ("+tf32" if args.tf32 else "")]
    parsed = [parse_variant(v) for v in variants]  # all checked before any is timed

    torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = True  # let cuDNN pick its fastest algorithm, as a user would
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("torch_step_bench.py: torch.cuda.is_available() is False (torch "
                         f"{torch.__version__}, built for CUDA {torch.version.cuda})")

    for name, (channels_last, tf32) in zip(variants, parsed):
        ms = time_step(args, device, channels_last, tf32)
        print(json.dumps({"impl": "pytorch", "variant": name, "device": args.device, "ms": round(ms, 3),
                          "images_per_s": round(args.batch / (ms / 1e3), 2), "threads": args.threads,
                          "size": args.size, "batch": args.batch, "channels": args.channels,
                          "classes": args.classes, "channels_last": channels_last, "tf32": tf32,
                          "repeats": args.repeats, "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
