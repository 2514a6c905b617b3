// The layout kernels of transpose.cuh.
#include "kernels/cuda/transpose.cuh"

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/launch.cuh"

namespace fcn {
namespace {

constexpr int kTransposeTile = 32;

// out [cols, rows] = transpose of in [rows, cols]; 32x32 tiles through shared memory (the padded column
// keeps the column reads free of bank conflicts).
__global__ void transpose_kernel(float* out, const float* in, int rows, int cols) {
  FCN_SHARED(float[kTransposeTile][kTransposeTile + 1], tile);
  const int c0 = blockIdx.x * kTransposeTile;
  const int r0 = blockIdx.y * kTransposeTile;
  for (int dr = threadIdx.y; dr < kTransposeTile; dr += blockDim.y) {
    const int r = r0 + dr;
    const int c = c0 + threadIdx.x;
    if (r < rows && c < cols) tile[dr][threadIdx.x] = in[int64_t(r) * cols + c];
  }
  __syncthreads();
  for (int dc = threadIdx.y; dc < kTransposeTile; dc += blockDim.y) {
    const int c = c0 + dc;
    const int r = r0 + threadIdx.x;
    if (r < rows && c < cols) out[int64_t(c) * rows + r] = tile[threadIdx.x][dc];
  }
}

// x [n] = 0 where mask [n] <= 0
__global__ void relu_mask_kernel(float* x, const float* mask, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n && !(mask[i] > 0.f)) x[i] = 0.f;
}

}  // namespace

void transpose_cuda(float* out, const float* in, int rows, int cols, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  const dim3 block(kTransposeTile, 8);
  const dim3 grid(unsigned((cols + kTransposeTile - 1) / kTransposeTile),
                  unsigned((rows + kTransposeTile - 1) / kTransposeTile));
  launch<transpose_kernel>(grid, block, 0, stream, out, in, rows, cols);
  CUDA_CHECK_LAUNCH();
}

void relu_mask_cuda(float* x, const float* mask, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  const int block = 256;
  launch<relu_mask_kernel>(unsigned((n + block - 1) / block), block, 0, stream, x, mask, n);
  CUDA_CHECK_LAUNCH();
}

}  // namespace fcn
