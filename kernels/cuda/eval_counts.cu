// Eval counts kernel (see eval_counts.cuh): a grid-stride loop counts into registers, each warp adds its
// counts with shuffles, and lane 0 of each warp adds them to the three global counters with integer
// atomics (exact and order-independent, so the result is deterministic).
#include "kernels/cuda/eval_counts.cuh"

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/launch.cuh"

namespace fcn {
namespace {

constexpr int kEvalThreads = 256;
constexpr int kEvalMaxBlocks = 1024;

__device__ __forceinline__ unsigned long long warp_sum(unsigned long long value) {
  for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_down_sync(0xffffffffu, value, offset);
  return value;
}

__global__ void __launch_bounds__(kEvalThreads)
    eval_counts_kernel(unsigned long long* __restrict__ counts,  // [3]
                       const float* __restrict__ logits,         // [n]
                       const float* __restrict__ targets,        // [n]
                       int64_t n) {
  unsigned long long true_positive = 0, false_positive = 0, false_negative = 0;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const bool predicted = logits[i] > 0.0f;
    const bool truth = targets[i] >= 0.5f;
    true_positive += (predicted && truth) ? 1u : 0u;
    false_positive += (predicted && !truth) ? 1u : 0u;
    false_negative += (!predicted && truth) ? 1u : 0u;
  }
  // Every thread of the block reaches this point (the loop has no early exit), so full-mask shuffles
  // are valid; blockDim.x is a multiple of 32.
  true_positive = warp_sum(true_positive);
  false_positive = warp_sum(false_positive);
  false_negative = warp_sum(false_negative);
  if (threadIdx.x % 32 == 0) {
    if (true_positive != 0) atomicAdd(&counts[0], true_positive);
    if (false_positive != 0) atomicAdd(&counts[1], false_positive);
    if (false_negative != 0) atomicAdd(&counts[2], false_negative);
  }
}

}  // namespace

void eval_counts_cuda(unsigned long long* counts, const float* logits, const float* targets, int64_t n,
                      cudaStream_t stream) {
  CUDA_CHECK(cudaMemsetAsync(counts, 0, 3 * sizeof(unsigned long long), stream));
  if (n <= 0) return;
  int64_t blocks = (n + kEvalThreads - 1) / kEvalThreads;
  if (blocks > kEvalMaxBlocks) blocks = kEvalMaxBlocks;
  launch<eval_counts_kernel>(static_cast<int>(blocks), kEvalThreads, 0, stream, counts, logits, targets, n);
  CUDA_CHECK_LAUNCH();
}

}  // namespace fcn
