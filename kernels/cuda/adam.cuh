// Adam (TensorFlow 1's formulation) and the L2 weight-decay gradient over the flat parameter buffer.
// Same arithmetic as adam_update_ref (kernels/cpu/reference.h): m += (g - m) * (1 - b1);
// v += (g*g - v) * (1 - b2); param -= lr_t * m / (sqrt(v) + eps), with lr_t formed on the host in double
// from the step count and rounded once to float.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cpu/reference.h"

namespace fcn {

// lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t), in double, rounded once to float. step t counts from 1.
float adam_step_size(const AdamConfig& cfg, int64_t step);

// One Adam step over n parameters (float4 loads when all four pointers are 16-byte aligned, scalar tail).
void adam_cuda(float* params,        // [n] device, updated in place
               const float* grads,   // [n] device
               float* m,             // [n] device, first moment, updated in place
               float* v,             // [n] device, second moment, updated in place
               int64_t n, const AdamConfig& cfg, int64_t step, cudaStream_t stream);

// grads += decay * params
void add_weight_decay_cuda(float* grads,         // [n] device
                           const float* params,  // [n] device
                           int64_t n, float decay, cudaStream_t stream);

}  // namespace fcn
