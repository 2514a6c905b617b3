// fill_uniform_cuda (device_buffer.cuh): reproducible random fill from a hash of (seed, index).
#include "kernels/cuda/device_buffer.cuh"
#include "kernels/cuda/launch.cuh"

#include <algorithm>

namespace fcn {
namespace {

// splitmix64's finaliser: a well-mixed 32 bits from any 64-bit input.
__device__ __forceinline__ uint32_t mix32(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return uint32_t(x);
}

__global__ void fill_uniform_kernel(float* data,  // [n]
                                    int64_t n, uint64_t seed, float lo, float hi) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float u = float(mix32(seed * 0x9e3779b97f4a7c15ull + uint64_t(i)) >> 8) * (1.f / 16777216.f);
    data[i] = lo + (hi - lo) * u;
  }
}

}  // namespace

void fill_uniform_cuda(float* data, int64_t n, uint64_t seed, float lo, float hi, cudaStream_t stream) {
  if (n <= 0) return;
  const int64_t blocks = std::min<int64_t>((n + 255) / 256, 1024);
  launch<fill_uniform_kernel>(int(blocks), 256, 0, stream, data, n, seed, lo, hi);
  CUDA_CHECK_LAUNCH();
}

}  // namespace fcn
