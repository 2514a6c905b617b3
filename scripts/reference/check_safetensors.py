#!/usr/bin/env python3
"""Loads a safetensors file with the safetensors library and prints its tensors and metadata: the
independent check that files written by fcn.cu (engine/safetensors.cc) are valid.

Run: scripts/reference/.venv/bin/python scripts/reference/check_safetensors.py PATH
Exits non-zero (with the library's error) when the library refuses the file.
"""
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check_safetensors.py PATH")
    path = sys.argv[1]
    tensors = load_file(path)
    with safe_open(path, framework="numpy") as handle:
        metadata = handle.metadata() or {}
        names = list(handle.keys())
    print(f"{path}: {len(names)} tensors")
    for name in names:
        array = tensors[name]
        preview = np.array2string(array.reshape(-1)[:4], precision=6, separator=", ")
        print(f"  {name}: dtype {array.dtype} shape {list(array.shape)} first {preview}")
    print(f"  metadata: {dict(sorted(metadata.items()))}")


if __name__ == "__main__":
    main()
