// Sigmoid cross-entropy with logits on the GPU: the summed loss (a deterministic two-pass reduction in
// double) and, fused into the same pass over the data, dlogits = scale * (sigmoid(logits) - targets).
// Same per-element math as the CPU reference (kernels/pixel_math.h: sigmoid_cross_entropy and
// sigmoid_cross_entropy_grad in float; the per-element losses are summed in double).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace fcn {

// Bytes of device workspace sigmoid_ce_cuda needs for n elements (the per-block partial sums).
size_t sigmoid_ce_workspace_bytes(int64_t n);

// loss_sum [1] (device double) = sum over n of sigmoid_cross_entropy(logits, targets);
// dlogits [n] = scale * (sigmoid(logits) - targets) unless dlogits is null (evaluation).
// Deterministic: the grid depends on n only, which thread sums which element on n and on whether the
// pointers are 16-byte aligned (float4 path or scalar), and every partial sum is added in a fixed order;
// the same call on the same buffers gives the same bits every time.
void sigmoid_ce_cuda(double* loss_sum,       // [1] device
                     float* dlogits,         // [n] device or null
                     const float* logits,    // [n] device
                     const float* targets,   // [n] device
                     int64_t n, float scale, void* workspace, size_t workspace_bytes,
                     cudaStream_t stream);

}  // namespace fcn
