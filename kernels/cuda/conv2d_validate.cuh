// conv2d_check_against_cpu: does one version of one convolution direction compute what the CPU reference
// computes, on this device? Used by the engine's kernel tuner (a version must pass before it may be
// chosen) and by `fcn bench kernels` (before anything is timed).
#pragma once
#include <string>

#include "kernels/cuda/conv2d.cuh"

namespace fcn {

// Runs `algo` for `direction` (0 forward, 1 backward data, 2 backward filter) on a small problem with the
// layer's kernel size and channel counts: batch 2 of 13x11 images (286 pixels: more than two 128-pixel
// tiles and a partial one, so the tail paths run), random inputs in [-1, 1], forward with bias and the
// ReLU epilogue when `relu`, backward data masked by a random ReLU output when `relu`, backward filter
// with dbias. Every output is compared with kernels/cpu/reference.h in float:
//   |got - want| <= 1e-5 * sum|terms| (+1e-30),
// where sum|terms| is the same reference run on absolute values: a sum of n fp32 products in any order
// is within n * 2^-24 * sum|terms| of exact, and n <= 576 here (9 taps x 64 channels) gives 3.4e-5 at
// the very worst; 1e-5 is about 100x the typical (random-walk) error, while an indexing bug is O(1).
// Unwritten outputs (the output buffers start as NaN) fail too. Returns "" when every element passes,
// else one line saying what failed and where.
std::string conv2d_check_against_cpu(const ConvShape& layer, int direction, bool relu, ConvAlgo algo);

}  // namespace fcn
