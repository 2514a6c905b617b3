// Sigmoid cross-entropy kernels (see sigmoid_ce.cuh).
// Pass 1: a fixed grid (a function of n alone) of 256-thread blocks walks the data with float4 loads
//   (scalar fallback when a pointer is not 16-byte aligned, and a scalar tail for n % 4), writes
//   dlogits on the way, and sums each thread's losses in double; the block's threads are combined by
//   warp shuffles and a fixed tree, giving one double per block in the workspace.
// Pass 2: one block adds the per-block partials in a fixed order into loss_sum.
// No atomics, so the result is bit-identical from run to run on the same n and pointers.
#include "kernels/cuda/sigmoid_ce.cuh"

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/pixel_math.h"

namespace fcn {
namespace {

constexpr int kCeThreads = 256;
constexpr int kCeMaxBlocks = 1024;
constexpr int kCeItemsPerThread = 16;  // elements a thread handles before the grid is widened

int ce_blocks(int64_t n) {
  const int64_t per_block = int64_t(kCeThreads) * kCeItemsPerThread;
  int64_t blocks = (n + per_block - 1) / per_block;
  if (blocks > kCeMaxBlocks) blocks = kCeMaxBlocks;
  return static_cast<int>(blocks < 1 ? 1 : blocks);
}

// Sum of `value` over the block, in a fixed order; the result is valid in thread 0.
__device__ double block_sum(double value) {
  FCN_SHARED(double[kCeThreads / 32], warp_sums);
  for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_down_sync(0xffffffffu, value, offset);
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (lane == 0) warp_sums[warp] = value;
  __syncthreads();
  double total = 0.0;
  if (threadIdx.x == 0) {
    for (int w = 0; w < kCeThreads / 32; ++w) total += warp_sums[w];
  }
  __syncthreads();  // warp_sums may be reused by a later call
  return total;
}

__device__ __forceinline__ float ce_term(float* __restrict__ dlogits, int64_t i, float x, float z,
                                         float scale) {
  if (dlogits != nullptr) dlogits[i] = scale * sigmoid_cross_entropy_grad<float>(x, z);
  return sigmoid_cross_entropy<float>(x, z);
}

__global__ void __launch_bounds__(kCeThreads)
    sigmoid_ce_partial_kernel(double* __restrict__ partials,      // [gridDim.x]
                              float* __restrict__ dlogits,        // [n] or null
                              const float* __restrict__ logits,   // [n]
                              const float* __restrict__ targets,  // [n]
                              int64_t n, float scale, bool vectorized) {
  const int64_t thread = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  double sum = 0.0;
  int64_t scalar_begin = 0;
  if (vectorized) {
    const int64_t n4 = n / 4;
    const float4* logits4 = reinterpret_cast<const float4*>(logits);
    const float4* targets4 = reinterpret_cast<const float4*>(targets);
    float4* dlogits4 = reinterpret_cast<float4*>(dlogits);
    for (int64_t i = thread; i < n4; i += stride) {
      const float4 x = logits4[i];
      const float4 z = targets4[i];
      if (dlogits != nullptr) {
        float4 d;
        d.x = scale * sigmoid_cross_entropy_grad<float>(x.x, z.x);
        d.y = scale * sigmoid_cross_entropy_grad<float>(x.y, z.y);
        d.z = scale * sigmoid_cross_entropy_grad<float>(x.z, z.z);
        d.w = scale * sigmoid_cross_entropy_grad<float>(x.w, z.w);
        dlogits4[i] = d;
      }
      sum += double(sigmoid_cross_entropy<float>(x.x, z.x));
      sum += double(sigmoid_cross_entropy<float>(x.y, z.y));
      sum += double(sigmoid_cross_entropy<float>(x.z, z.z));
      sum += double(sigmoid_cross_entropy<float>(x.w, z.w));
    }
    scalar_begin = n4 * 4;
  }
  for (int64_t i = scalar_begin + thread; i < n; i += stride) {
    sum += double(ce_term(dlogits, i, logits[i], targets[i], scale));
  }
  const double block_total = block_sum(sum);
  if (threadIdx.x == 0) partials[blockIdx.x] = block_total;
}

__global__ void __launch_bounds__(kCeThreads)
    sigmoid_ce_final_kernel(double* __restrict__ loss_sum,        // [1]
                            const double* __restrict__ partials,  // [count]
                            int count) {
  double sum = 0.0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) sum += partials[i];
  const double total = block_sum(sum);
  if (threadIdx.x == 0) *loss_sum = total;
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

}  // namespace

size_t sigmoid_ce_workspace_bytes(int64_t n) { return sizeof(double) * size_t(ce_blocks(n)); }

void sigmoid_ce_cuda(double* loss_sum, float* dlogits, const float* logits, const float* targets, int64_t n,
                     float scale, void* workspace, size_t workspace_bytes, cudaStream_t stream) {
  const int blocks = ce_blocks(n);
  if (workspace == nullptr || workspace_bytes < sizeof(double) * size_t(blocks)) {
    throw std::runtime_error("sigmoid_ce_cuda: workspace of " + std::to_string(workspace_bytes) +
                             " bytes is smaller than the " + std::to_string(sizeof(double) * blocks) +
                             " bytes needed for n = " + std::to_string(n) +
                             "\nHINT: size it with sigmoid_ce_workspace_bytes(n)");
  }
  double* partials = static_cast<double*>(workspace);
  const bool vectorized = aligned16(logits) && aligned16(targets) && (dlogits == nullptr || aligned16(dlogits));
  launch<sigmoid_ce_partial_kernel>(blocks, kCeThreads, 0, stream, partials, dlogits, logits, targets,
                                                               n < 0 ? 0 : n, scale, vectorized);
  CUDA_CHECK_LAUNCH();
  launch<sigmoid_ce_final_kernel>(1, kCeThreads, 0, stream, loss_sum, partials, blocks);
  CUDA_CHECK_LAUNCH();
}

}  // namespace fcn
