"""fcn.cu's model written independently in PyTorch, op for op, for parity fixtures, training comparisons
and step benchmarks.

  x [B, H, W, 3] float32, 0..255 (NHWC as fcn.cu; permuted to NCHW inside)
  conv KxK 3 -> Ch + bias + ReLU, (layers - 1) x conv KxK Ch -> Ch + bias + ReLU   (SAME padding, stride 1)
  conv 1x1 Ch -> C + bias = logits [B, H, W, C]
  loss: sigmoid cross-entropy with logits, summed over pixels and classes (the seed's) or their mean
  optimizer: TensorFlow 1's Adam, by hand (torch.optim.Adam adds eps to sqrt(v_hat), TF1 to sqrt(v))

Parameters are stored as fcn.cu stores them: conv weights HWIO [K, K, Cin, Cout], biases [Cout], named
conv1.weight, conv1.bias, ..., logits.weight, logits.bias. They stay HWIO leaf tensors here, so their
.grad is HWIO too; forward() permutes them to torch's OIHW on the fly.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F


def parameter_names(layers=2):
    """Names in fcn.cu's parameter_layout order."""
    names = []
    for l in range(1, layers + 1):
        names += [f"conv{l}.weight", f"conv{l}.bias"]
    return names + ["logits.weight", "logits.bias"]


def parameter_shapes(channels, classes, kernel=3, layers=2, in_channels=3):
    """name -> shape (HWIO for weights), in parameter_layout order."""
    shapes = {}
    cin = in_channels
    for l in range(1, layers + 1):
        shapes[f"conv{l}.weight"] = (kernel, kernel, cin, channels)
        shapes[f"conv{l}.bias"] = (channels,)
        cin = channels
    shapes["logits.weight"] = (1, 1, channels, classes)
    shapes["logits.bias"] = (classes,)
    return shapes


def glorot_uniform_hwio(shape, generator, dtype=torch.float32):
    """Glorot-uniform HWIO weights: limit sqrt(6 / (fan_in + fan_out)), fan_in = K*K*Cin, fan_out = K*K*Cout."""
    kh, kw, cin, cout = shape
    limit = math.sqrt(6.0 / (kh * kw * cin + kh * kw * cout))
    u = torch.rand(shape, generator=generator, dtype=torch.float64)
    return ((2.0 * u - 1.0) * limit).to(dtype)


def init_params(channels, classes, kernel=3, layers=2, seed=0, dtype=torch.float32, device="cpu"):
    """Glorot-uniform weights and zero biases, as fcn.cu initialises (not bit-identical: other RNG)."""
    generator = torch.Generator().manual_seed(seed)
    params = {}
    for name, shape in parameter_shapes(channels, classes, kernel, layers).items():
        if name.endswith(".weight"):
            value = glorot_uniform_hwio(shape, generator, dtype)
        else:
            value = torch.zeros(shape, dtype=dtype)
        params[name] = value.to(device).requires_grad_(True)
    return params


def count_layers(params):
    """Number of hidden conv layers in a parameter dict."""
    return sum(1 for name in params if name.startswith("conv") and name.endswith(".weight"))


def forward(params, x_nhwc, channels_last=False):
    """logits [B, H, W, C] from x [B, H, W, 3]. channels_last keeps the NHWC memory order throughout
    (torch.channels_last) instead of copying to contiguous NCHW."""
    h = x_nhwc.permute(0, 3, 1, 2)  # a view: NCHW shape, NHWC strides (= channels_last)
    if not channels_last:
        h = h.contiguous()
    layers = count_layers(params)
    for l in range(1, layers + 1):
        weight = params[f"conv{l}.weight"].permute(3, 2, 0, 1)  # HWIO -> OIHW
        if channels_last:
            weight = weight.contiguous(memory_format=torch.channels_last)
        pad = weight.shape[-1] // 2  # SAME for odd K, stride 1
        h = F.relu(F.conv2d(h, weight, params[f"conv{l}.bias"], padding=pad))
    weight = params["logits.weight"].permute(3, 2, 0, 1)
    if channels_last:
        weight = weight.contiguous(memory_format=torch.channels_last)
    logits = F.conv2d(h, weight, params["logits.bias"])
    return logits.permute(0, 2, 3, 1)  # NCHW -> NHWC


def sigmoid_ce_loss(logits, targets, reduction="sum"):
    """Sigmoid cross-entropy with logits, max(x,0) - x z + log(1 + exp(-|x|)), summed or averaged over
    every pixel and class."""
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction must be 'sum' or 'mean', not {reduction!r}")
    return F.binary_cross_entropy_with_logits(logits, targets, reduction=reduction)


class TF1Adam:
    """TensorFlow 1's Adam (tf.compat.v1.train.AdamOptimizer), applied in place to leaf tensors:
        m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
        lr_t = lr sqrt(1 - b2^t) / (1 - b1^t);  w -= lr_t m / (sqrt(v) + eps)      (t counts from 1)
    """

    def __init__(self, params, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        self.params = params  # name -> leaf tensor
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = {name: torch.zeros_like(p) for name, p in params.items()}
        self.v = {name: torch.zeros_like(p) for name, p in params.items()}
        self.t = 0

    @torch.no_grad()
    def step(self):
        self.t += 1
        lr_t = self.lr * math.sqrt(1.0 - self.beta2 ** self.t) / (1.0 - self.beta1 ** self.t)
        for name, p in self.params.items():
            g = p.grad
            self.m[name].mul_(self.beta1).add_(g, alpha=1.0 - self.beta1)
            self.v[name].mul_(self.beta2).addcmul_(g, g, value=1.0 - self.beta2)
            p.sub_(lr_t * self.m[name] / (self.v[name].sqrt() + self.eps))

    def zero_grad(self):
        for p in self.params.values():
            p.grad = None


def load_params(path, dtype=torch.float32, device="cpu"):
    """name -> HWIO leaf tensor with requires_grad, from a safetensors file (fcn.cu's layout)."""
    from safetensors.numpy import load_file
    arrays = load_file(path)
    return {name: torch.from_numpy(np.array(a)).to(dtype=dtype, device=device).requires_grad_(True)
            for name, a in arrays.items()}


def save_params(path, params, metadata=None):
    """Writes name -> HWIO float32 tensors to a safetensors file."""
    from safetensors.numpy import save_file
    arrays = {name: p.detach().cpu().to(torch.float32).numpy() for name, p in params.items()}
    save_file(arrays, path, metadata=metadata)
