#!/usr/bin/env python3
"""Writes tests/fixtures/torch_parity.safetensors and torch_parity_mean.safetensors: a debug state of one
tiny training case (llm.c style) computed by the PyTorch model in torch_model.py, for the C++ model test.

Inputs and initial parameters are drawn, rounded to float32, and everything is then computed in float64
and stored as float32: the fixture holds the exact answer for exactly the float32 inputs it stores,
rounded once, so any larger difference in the C++ float32 run comes from its own arithmetic.

Case: B=2, H=9, W=7, Ch=8, C=2 classes, K=3, 2 hidden layers, lr 1e-3, TF1 Adam (b1 0.9, b2 0.999,
eps 1e-8, used as their float32 values like fcn.cu's AdamConfig). Tensors (all float32):
  x [B,H,W,3]                  uniform in [0, 255)
  targets [B,H,W,C]            uniform soft values in [0, 1)
  <name>                       the six parameters before training: HWIO weights Glorot-uniform, hidden
                               ones centred per output channel (no ReLU unit dead at every pixel);
                               biases nonzero, uniform in [-0.5, 0.5), so a dropped bias shows
  logits [B,H,W,C]             forward(x)
  loss [1]                     sigmoid cross-entropy, sum (or mean) over every pixel and class
  grad.<name>                  d loss / d parameter
  after_adam.<name>            parameters after one TF1 Adam step from zero moments (t = 1)
  after_adam2.<name>           after a second step (t = 2) on the same batch, from after_adam
Metadata (strings): batch, height, width, channels, classes, kernel, layers, reduction, lr, beta1, beta2,
eps, seed, dtype_computed, torch.

Usage: scripts/reference/.venv/bin/python scripts/reference/make_torch_parity.py [--out-dir DIR]
"""
import argparse
import os

import numpy as np
import torch
from safetensors.numpy import save_file

import torch_model as fm

CASE = dict(batch=2, height=9, width=7, channels=8, classes=2, kernel=3, layers=2)
ADAM = dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)
# The optimizer runs with the float32 values of these (0.001f, 0.9f, 0.999f, 1e-8f), as fcn.cu's
# AdamConfig holds them and as TensorFlow's Adam casts them; the arithmetic is still float64.
ADAM_FLOAT32 = {key: float(np.float32(value)) for key, value in ADAM.items()}


def as_float32_values(t):
    """Rounds to float32 and back: the inputs are the float32 values the fixture stores, so the float64
    results are the exact answer for exactly what a float32 implementation reads."""
    return t.to(torch.float32).to(torch.float64)


def make_case(reduction, seed):
    """The debug state for one reduction: name -> float32 numpy array."""
    g = torch.Generator().manual_seed(seed)
    b, h, w, c = CASE["batch"], CASE["height"], CASE["width"], CASE["classes"]
    x = as_float32_values(255.0 * torch.rand((b, h, w, 3), generator=g, dtype=torch.float64))
    targets = as_float32_values(torch.rand((b, h, w, c), generator=g, dtype=torch.float64))

    params = {}
    shapes = fm.parameter_shapes(CASE["channels"], c, CASE["kernel"], CASE["layers"])
    for name, shape in shapes.items():
        if name.endswith(".weight"):
            value = fm.glorot_uniform_hwio(shape, g, torch.float64)
            if name != "logits.weight":
                # Inputs and ReLU outputs are all positive, so a hidden channel whose weights sum below
                # zero would be dead at every pixel (all-zero gradients test nothing). Centring each
                # output channel's weights keeps every unit active on some pixels and off on others.
                value = value - value.mean(dim=(0, 1, 2), keepdim=True)
        else:
            value = torch.rand(shape, generator=g, dtype=torch.float64) - 0.5
        params[name] = as_float32_values(value).requires_grad_(True)

    out = {"x": x, "targets": targets}
    out.update({name: p.detach().clone() for name, p in params.items()})

    adam = fm.TF1Adam(params, **ADAM_FLOAT32)
    for step in (1, 2):
        adam.zero_grad()
        logits = fm.forward(params, x)
        loss = fm.sigmoid_ce_loss(logits, targets, reduction)
        loss.backward()
        if step == 1:  # the state at the initial parameters
            out["logits"] = logits.detach()
            out["loss"] = loss.detach().reshape(1)
            out.update({f"grad.{name}": p.grad.detach().clone() for name, p in params.items()})
        adam.step()
        prefix = "after_adam" if step == 1 else "after_adam2"
        out.update({f"{prefix}.{name}": p.detach().clone() for name, p in params.items()})
    # Contiguous copies: safetensors writes the array's buffer, and logits come back as a permuted view.
    return {name: np.ascontiguousarray(t.to(torch.float32).numpy()) for name, t in out.items()}


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out-dir", default=os.path.join(root, "tests", "fixtures"))
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()

    for reduction, name in (("sum", "torch_parity.safetensors"), ("mean", "torch_parity_mean.safetensors")):
        tensors = make_case(reduction, args.seed)
        metadata = {key: str(value) for key, value in CASE.items()}
        metadata.update({key: repr(value) for key, value in ADAM.items()})
        metadata.update(reduction=reduction, seed=str(args.seed), dtype_computed="float64",
                        dtype_stored="float32", torch=torch.__version__)
        path = os.path.join(args.out_dir, name)
        save_file(tensors, path, metadata=metadata)
        print(f"wrote {path}: {len(tensors)} tensors, loss {float(tensors['loss'][0]):.6f} ({reduction})")


if __name__ == "__main__":
    main()
