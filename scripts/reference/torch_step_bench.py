#!/usr/bin/env python3
"""Times one training step of the PyTorch model (torch_model.py): forward, sigmoid cross-entropy (sum),
backward and the hand-written TF1 Adam update, on random inputs, as the peer for `fcn bench step`.

Median over --repeats steps after --warmup steps; CUDA steps are timed with torch.cuda.Event (one pair
per step, synchronised), CPU steps with time.perf_counter. Prints one JSON line:
  {"impl": "pytorch", "device": ..., "ms": ..., "images_per_s": ..., "threads": ..., "torch": ...}

Usage: scripts/reference/.venv/bin/python scripts/reference/torch_step_bench.py --size 128 --batch 8 \
         --threads 2 --channels 64 --classes 1 --device cpu [--channels-last] [--tf32] [--repeats 10]
"""
import argparse
import json
import statistics
import time

import torch

import torch_model as fm


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
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    torch.backends.cudnn.benchmark = True  # let cuDNN pick its fastest algorithm, as a user would
    device = torch.device(args.device)

    g = torch.Generator().manual_seed(0)
    x = (255.0 * torch.rand((args.batch, args.size, args.size, 3), generator=g)).to(device)
    targets = torch.rand((args.batch, args.size, args.size, args.classes), generator=g).to(device)
    params = fm.init_params(args.channels, args.classes, layers=args.layers, seed=0, device=device)
    adam = fm.TF1Adam(params, lr=1e-4)

    def step():
        adam.zero_grad()
        loss = fm.sigmoid_ce_loss(fm.forward(params, x, channels_last=args.channels_last), targets, "sum")
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

    ms = statistics.median(times_ms)
    print(json.dumps({"impl": "pytorch", "device": args.device, "ms": round(ms, 3),
                      "images_per_s": round(args.batch / (ms / 1e3), 2), "threads": args.threads,
                      "size": args.size, "batch": args.batch, "channels": args.channels,
                      "classes": args.classes, "channels_last": args.channels_last, "tf32": args.tf32,
                      "repeats": args.repeats, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
