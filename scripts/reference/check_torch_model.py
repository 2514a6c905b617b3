#!/usr/bin/env python3
"""Checks torch_model.py against TensorFlow's own ops, in float64, on the torch_parity case, so the two
references agree with each other before the C++ code is compared with either:
  forward   tf.nn.conv2d (HWIO, SAME) + bias + ReLU, 1x1 conv to logits
  loss      tf.nn.sigmoid_cross_entropy_with_logits, reduce_sum / reduce_mean
  grads     tf.GradientTape
  Adam      TF1's ApplyAdam kernel (what tf.compat.v1.train.AdamOptimizer runs), two steps on the same
            batch. Called directly with float64 beta powers: the optimizer wrapper keeps beta1^t and
            beta2^t in float32 accumulators, which moves the second step by ~1e-5 lr, a TensorFlow
            rounding that neither fcn.cu nor the fixture has.
Then checks that the committed fixtures tests/fixtures/torch_parity*.safetensors hold what TF computes.
Prints the max relative difference per tensor and exits 1 when one exceeds 1e-6 (float32 storage of
the fixture rounds to ~6e-8 relative; float64 compute agrees to ~1e-12).

Usage: scripts/reference/.venv/bin/python scripts/reference/check_torch_model.py
"""
import os
import sys

import numpy as np
import tensorflow as tf
from safetensors.numpy import load_file

import make_torch_parity as parity

TOLERANCE = 1e-6


def tf_forward(params, x, layers):
    h = x
    for l in range(1, layers + 1):
        h = tf.nn.relu(tf.nn.conv2d(h, params[f"conv{l}.weight"], 1, "SAME") + params[f"conv{l}.bias"])
    return tf.nn.conv2d(h, params["logits.weight"], 1, "SAME") + params["logits.bias"]


def tf_case(fixture, reduction):
    """The same debug state as make_torch_parity.make_case, computed by TensorFlow from the fixture's
    inputs and initial parameters."""
    layers = parity.CASE["layers"]
    names = [n for n in fixture if n.startswith(("conv", "logits.")) and n.count(".") == 1]
    params = {n: tf.Variable(fixture[n].astype(np.float64)) for n in names}
    x = tf.constant(fixture["x"].astype(np.float64))
    targets = tf.constant(fixture["targets"].astype(np.float64))
    reduce = tf.reduce_sum if reduction == "sum" else tf.reduce_mean
    hyper = parity.ADAM_FLOAT32
    moments = {n: (tf.Variable(tf.zeros_like(params[n])), tf.Variable(tf.zeros_like(params[n]))) for n in names}
    out = {}
    for step in (1, 2):
        with tf.GradientTape() as tape:
            logits = tf_forward(params, x, layers)
            loss = reduce(tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits))
        grads = tape.gradient(loss, [params[n] for n in names])
        if step == 1:
            out["logits"] = logits.numpy()
            out["loss"] = np.array([loss.numpy()])
            out.update({f"grad.{n}": g.numpy() for n, g in zip(names, grads)})
        for n, grad in zip(names, grads):
            m, v = moments[n]
            f64 = lambda value: tf.constant(value, tf.float64)
            tf.raw_ops.ResourceApplyAdam(
                var=params[n].handle, m=m.handle, v=v.handle, beta1_power=f64(hyper["beta1"] ** step),
                beta2_power=f64(hyper["beta2"] ** step), lr=f64(hyper["lr"]), beta1=f64(hyper["beta1"]),
                beta2=f64(hyper["beta2"]), epsilon=f64(hyper["eps"]), grad=grad)
        prefix = "after_adam" if step == 1 else "after_adam2"
        out.update({f"{prefix}.{n}": params[n].numpy() for n in names})
    return out


def max_rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / (np.abs(b) + 1e-6 * np.max(np.abs(b)) + 1e-30)))


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ok = True
    for reduction, name in (("sum", "torch_parity.safetensors"), ("mean", "torch_parity_mean.safetensors")):
        torch_state = parity.make_case(reduction, seed=1234)  # float64 compute, float32 result
        fixture = load_file(os.path.join(root, "tests", "fixtures", name))
        tf_state = tf_case(fixture, reduction)
        for key in sorted(tf_state):
            vs_torch = max_rel(torch_state[key], tf_state[key])
            vs_fixture = max_rel(fixture[key], tf_state[key])
            bad = vs_torch > TOLERANCE or vs_fixture > TOLERANCE
            ok &= not bad
            print(f"{name:32s} {key:28s} torch vs tf {vs_torch:.2e}  fixture vs tf {vs_fixture:.2e}"
                  f"{'  MISMATCH' if bad else ''}")
    print(f"overall okay: {int(ok)}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
