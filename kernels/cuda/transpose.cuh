// Small layout kernels: a tiled matrix transpose (the cuDNN baseline's HWIO <-> KRSC weight layouts) and
// the ReLU mask applied as its own pass (after cuDNN's backward data, which has no ReLU epilogue).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace fcn {

// out [cols, rows] = transpose of in [rows, cols] (device arrays, out ASSIGNED); nothing for an empty one.
void transpose_cuda(float* out, const float* in, int rows, int cols, cudaStream_t stream);

// x [n] = 0 where mask [n] <= 0 (or NaN), kept elsewhere (device arrays, in place).
void relu_mask_cuda(float* x, const float* mask, int64_t n, cudaStream_t stream);

}  // namespace fcn
