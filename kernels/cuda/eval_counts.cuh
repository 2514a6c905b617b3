// Confusion counts for IoU and pixel accuracy on the GPU, with the CPU reference's rule
// (kernels/cpu/reference.h eval_counts_ref): prediction = logit > 0, truth = target >= 0.5.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace fcn {

// counts [3] (device, ASSIGNED): true positives, false positives, false negatives. The true negatives
// are n minus their sum (every element lands in exactly one of the four cells, NaNs included).
void eval_counts_cuda(unsigned long long* counts,  // [3] device
                      const float* logits,         // [n] device
                      const float* targets,        // [n] device
                      int64_t n, cudaStream_t stream);

}  // namespace fcn
