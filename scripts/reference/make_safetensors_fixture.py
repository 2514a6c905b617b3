#!/usr/bin/env python3
"""Writes tests/fixtures/safetensors/reference.safetensors with the safetensors library, so that the
C++ reader (engine/safetensors.cc) is checked against an independent writer. Tiny and deterministic:
tests/test_safetensors.cc expects exactly these names, shapes, values and metadata.

Run: scripts/reference/.venv/bin/python scripts/reference/make_safetensors_fixture.py
"""
import pathlib

import numpy as np
from safetensors.numpy import save_file

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "safetensors" / "reference.safetensors"


def main():
    tensors = {
        # [2, 3]: -1.0, -0.5, 0.0, 0.5, 1.0, 1.5 (exact in float32)
        "conv1.weight": (np.arange(6, dtype=np.float32) * 0.5 - 1.0).reshape(2, 3),
        # [3]: values that are not exact in binary, rounded to float32 the same way as a C++ float literal
        "conv1.bias": np.array([0.1, -2.25, 3.0e-8], dtype=np.float32),
        # []: a scalar
        "scale": np.array(42.0, dtype=np.float32),
        # [0, 4]: a zero-sized tensor
        "empty": np.zeros((0, 4), dtype=np.float32),
        # [2]: an integer tensor beyond 32 bits
        "step": np.array([1234567890123, -7], dtype=np.int64),
    }
    metadata = {"format": "fcn.cu-fixture", "step": "7"}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(OUT), metadata=metadata)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
