// Convolution backward-filter on the GPU: dweight [K,K,Cin,Cout] and dbias [Cout], both assigned,
//   dweight[ky,kx,ci,co] = sum_{b,y,x} in[b, y + ky - p, x + kx - p, ci] * dout[b,y,x,co]
//   dbias[co]            = sum_{b,y,x} dout[b,y,x,co]
// As an implicit GEMM: M = KH*KW*Cin rows, N = Cout, K = B*H*W pixels (2M at batch 8, 512x512), so the
// reduction is long and the output small. Versions 2 and 3 split the pixels into a fixed number of
// chunks (a function of the shape alone), one block per (tile, chunk) writes its partial tile to the
// workspace, and a second kernel sums the chunks in chunk order: deterministic, bit-identical run to run.
// dbias likewise: per-chunk column sums of dout, then the same ordered sum.
//
// Versions (ConvAlgo):
//   0 kCudnn           cuDNN, fastest FP32-FMA algorithm (conv2d_cudnn.cu), result transposed from KRSC
//   1 kNaive           one thread per dweight element looping over every pixel, accumulated in double
//                      (so that it can serve as the reference at full size); dbias likewise
//   2 kTiled           16x16 tile per block, one output per thread, 16 pixels per shared-memory step,
//                      pixels split into chunks + ordered chunk sum
//   3 kRegisterBlocked 64x64 tile per 128-thread block, 8x4 outputs per thread, float4 loads when Cin /
//                      Cout are multiples of 4, double-buffered shared memory, chunks + ordered sum;
//                      for Cout <= 16 a 64x16 tile with 4x2 outputs per thread
//   4 kRegisterBlocked8x8  128x64 tile per 128-thread block, 8x8 outputs per thread, chunks + ordered sum;
//                      Cout <= 16 as version 3
// Versions 2, 3 and 4 share the implicit-GEMM block in conv2d_igemm.cuh.
//
// Run / benchmark:
//   build/fcn bench kernels --ops conv --batch 8 --size 512      (validates every version, then times)
//   build/fcn_gpu_tests "[conv]"                                   (every version vs the CPU reference)
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/conv2d.cuh"
#include "kernels/cuda/conv2d_cudnn.cuh"
#include "kernels/cuda/conv2d_igemm.cuh"

namespace fcn {
namespace {

// ---- version 1: one thread per output element ------------------------------------------------------
__global__ void conv2d_backward_filter_kernel1(float* dweight,     // [K, K, Cin, Cout]
                                               const float* dout,  // [B, H, W, Cout]
                                               const float* in,    // [B, H, W, Cin]
                                               int batch, int height, int width, int cin, int cout,
                                               int kernel) {
  const int64_t total = int64_t(kernel) * kernel * cin * cout;
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= total) return;
  const int co = int(idx % cout);
  const int row = int(idx / cout);  // (ky*K + kx)*Cin + ci
  const int ci = row % cin;
  const int tap = row / cin;
  const int ky = tap / kernel;
  const int kx = tap % kernel;
  const int pad = kernel / 2;
  double acc = 0.0;
  for (int b = 0; b < batch; ++b) {
    for (int y = 0; y < height; ++y) {
      const int yy = y + ky - pad;
      if (yy < 0 || yy >= height) continue;
      for (int x = 0; x < width; ++x) {
        const int xx = x + kx - pad;
        if (xx < 0 || xx >= width) continue;
        const float a = in[((int64_t(b) * height + yy) * width + xx) * cin + ci];
        const float g = dout[((int64_t(b) * height + y) * width + x) * cout + co];
        acc += double(a) * double(g);
      }
    }
  }
  dweight[idx] = float(acc);
}

__global__ void conv2d_backward_bias_kernel1(float* dbias,        // [Cout]
                                             const float* dout,   // [P, Cout]
                                             int64_t pixels, int cout) {
  const int co = int(blockIdx.x) * blockDim.x + threadIdx.x;
  if (co >= cout) return;
  double acc = 0.0;
  for (int64_t p = 0; p < pixels; ++p) acc += double(dout[p * cout + co]);
  dbias[co] = float(acc);
}

void backward_filter1(float* dweight, float* dbias, const float* dout, const float* in, const ConvShape& s,
                      cudaStream_t stream) {
  const int block = 128;
  const int64_t total = s.weight_size();
  if (total > 0) {
    launch<conv2d_backward_filter_kernel1>(unsigned((total + block - 1) / block), block, 0, stream,
        dweight, dout, in, s.batch, s.height, s.width, s.in_channels, s.out_channels, s.kernel);
    CUDA_CHECK_LAUNCH();
  }
  if (dbias) {
    launch<conv2d_backward_bias_kernel1>(unsigned((s.out_channels + block - 1) / block), block, 0, stream,
        dbias, dout, s.pixels(), s.out_channels);
    CUDA_CHECK_LAUNCH();
  }
}

// ---- versions 2 to 4: chunked implicit GEMM + ordered chunk sum -------------------------------------
using BackwardFilter2 = igemm::Block<igemm::Mode::kBackwardFilter, 16, 16, 16, 1, 1, false>;
using BackwardFilter3 = igemm::Block<igemm::Mode::kBackwardFilter, 64, 64, 16, 8, 4, true>;
// Version 3 for Cout <= 16 (the logits): a 64x16 tile, 4x2 outputs per thread.
using BackwardFilter3Narrow = igemm::Block<igemm::Mode::kBackwardFilter, 64, 16, 16, 4, 2, true>;
// Version 4: 128x64 tile per 128-thread block, 8x8 outputs per thread.
using BackwardFilter4 = igemm::Block<igemm::Mode::kBackwardFilter, 128, 64, 16, 8, 8, true>;
bool narrow(const ConvShape& s) { return s.out_channels <= 16; }

using igemm::chunk_plan;
using igemm::ChunkPlan;

// partial_bias [chunks, Cout]: column sums of dout [P, Cout] over each chunk's pixels, fixed order.
// Block: 8 row lanes x 32 column lanes; the 8 row partials are summed in row order.
constexpr int kBiasRows = 8;
constexpr int kBiasCols = 32;
__global__ void __launch_bounds__(kBiasRows* kBiasCols)
    conv2d_backward_bias_chunks_kernel(float* partial_bias,  // [chunks, Cout]
                                       const float* dout,    // [P, Cout]
                                       int64_t pixels, int cout, int pixels_per_chunk) {
  FCN_SHARED(float[kBiasRows][kBiasCols], row_sums);
  const int lane = threadIdx.x % kBiasCols;
  const int row = threadIdx.x / kBiasCols;
  const int chunk = blockIdx.x;
  const int64_t begin = int64_t(chunk) * pixels_per_chunk;
  const int64_t end = begin + pixels_per_chunk < pixels ? begin + pixels_per_chunk : pixels;
  for (int col0 = 0; col0 < cout; col0 += kBiasCols) {
    const int co = col0 + lane;
    float acc = 0.f;
    if (co < cout) {
      for (int64_t p = begin + row; p < end; p += kBiasRows) acc += dout[p * cout + co];
    }
    row_sums[row][lane] = acc;
    __syncthreads();
    if (row == 0 && co < cout) {
      float total = 0.f;
      for (int r = 0; r < kBiasRows; ++r) total += row_sums[r][lane];
      partial_bias[int64_t(chunk) * cout + co] = total;
    }
    __syncthreads();  // row_sums is reused by the next column group
  }
}

// out [count] = sum over chunks c = 0, 1, ... of partials [chunks, count], in that order.
__global__ void sum_chunks_kernel(float* out, const float* partials, int64_t count, int chunks) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count) return;
  float total = 0.f;
  for (int c = 0; c < chunks; ++c) total += partials[int64_t(c) * count + i];
  out[i] = total;
}

void sum_chunks(float* out, const float* partials, int64_t count, int chunks, cudaStream_t stream) {
  if (count <= 0) return;
  const int block = 256;
  launch<sum_chunks_kernel>(unsigned((count + block - 1) / block), block, 0, stream, out, partials, count,
                                                                                  chunks);
  CUDA_CHECK_LAUNCH();
}

template <class B>
void backward_filter_igemm(float* dweight, float* dbias, const float* dout, const float* in,
                           const ConvShape& s, bool allow_float4, void* workspace, size_t workspace_bytes,
                           cudaStream_t stream) {
  const ChunkPlan plan = chunk_plan<B>(s);
  if (workspace == nullptr || workspace_bytes < plan.bytes) {
    throw std::runtime_error("conv2d_backward_filter_cuda: workspace of " + std::to_string(workspace_bytes) +
                             " bytes, this shape and version need " + std::to_string(plan.bytes) +
                             "\nHINT: size it with conv2d_backward_filter_workspace_bytes(shape, algo)");
  }
  char* base = static_cast<char*>(workspace);
  float* partial_weight = reinterpret_cast<float*>(base + plan.dweight_offset);  // [chunks, rows, Cout]
  float* partial_bias = reinterpret_cast<float*>(base + plan.dbias_offset);      // [chunks, Cout]
  const int rows = s.kernel * s.kernel * s.in_channels;

  if (rows > 0) {
    const igemm::Args a = igemm::backward_filter_args<B>(partial_weight, dout, in, s, plan, allow_float4);
    const dim3 grid = igemm::igemm_grid<B>(a);
    if (int(grid.z) != plan.chunks) {
      throw std::logic_error("conv2d_backward_filter_cuda: chunk plan and grid disagree");
    }
    launch<igemm::igemm_kernel<B>>(grid, B::kThreads, 0, stream, a);
    CUDA_CHECK_LAUNCH();
    sum_chunks(dweight, partial_weight, int64_t(rows) * s.out_channels, plan.chunks, stream);
  }
  if (dbias) {
    launch<conv2d_backward_bias_chunks_kernel>(unsigned(plan.chunks), kBiasRows * kBiasCols, 0, stream,
        partial_bias, dout, s.pixels(), s.out_channels, plan.pixels_per_chunk);
    CUDA_CHECK_LAUNCH();
    sum_chunks(dbias, partial_bias, s.out_channels, plan.chunks, stream);
  }
}

}  // namespace

size_t conv2d_backward_filter_workspace_bytes(const ConvShape& s, ConvAlgo algo) {
  switch (algo) {
    case ConvAlgo::kTiled: return chunk_plan<BackwardFilter2>(s).bytes;
    case ConvAlgo::kRegisterBlocked:
      return narrow(s) ? chunk_plan<BackwardFilter3Narrow>(s).bytes : chunk_plan<BackwardFilter3>(s).bytes;
    case ConvAlgo::kRegisterBlocked8x8:
      return narrow(s) ? chunk_plan<BackwardFilter3Narrow>(s).bytes : chunk_plan<BackwardFilter4>(s).bytes;
    case ConvAlgo::kCudnn:  // cuDNN's workspace is cached inside conv2d_cudnn.cu
    case ConvAlgo::kNaive: return 0;
  }
  return 0;
}

void conv2d_backward_filter_cuda(float* dweight, float* dbias, const float* dout, const float* in,
                                 const ConvShape& s, ConvAlgo algo, void* workspace,
                                 size_t workspace_bytes, cudaStream_t stream) {
  igemm::conv2d_check_shape(s, "conv2d_backward_filter_cuda");
  if (s.out_channels == 0) return;
  if (s.pixels() == 0) {  // empty sums
    if (s.weight_size() > 0) CUDA_CHECK(cudaMemsetAsync(dweight, 0, s.weight_size() * sizeof(float), stream));
    if (dbias) CUDA_CHECK(cudaMemsetAsync(dbias, 0, s.out_channels * sizeof(float), stream));
    return;
  }
  switch (algo) {
    case ConvAlgo::kCudnn:
      cudnn_baseline::backward_filter_hwio(dweight, dbias, dout, in, s, stream);
      return;
    case ConvAlgo::kNaive: backward_filter1(dweight, dbias, dout, in, s, stream); return;
    case ConvAlgo::kTiled:
      backward_filter_igemm<BackwardFilter2>(dweight, dbias, dout, in, s, false, workspace, workspace_bytes,
                                             stream);
      return;
    case ConvAlgo::kRegisterBlocked:
      if (narrow(s)) {
        backward_filter_igemm<BackwardFilter3Narrow>(dweight, dbias, dout, in, s, true, workspace,
                                                     workspace_bytes, stream);
      } else {
        backward_filter_igemm<BackwardFilter3>(dweight, dbias, dout, in, s, true, workspace, workspace_bytes,
                                               stream);
      }
      return;
    case ConvAlgo::kRegisterBlocked8x8:
      if (narrow(s)) {
        backward_filter_igemm<BackwardFilter3Narrow>(dweight, dbias, dout, in, s, true, workspace,
                                                     workspace_bytes, stream);
      } else {
        backward_filter_igemm<BackwardFilter4>(dweight, dbias, dout, in, s, true, workspace, workspace_bytes,
                                               stream);
      }
      return;
  }
  throw std::runtime_error("conv2d_backward_filter_cuda: unknown ConvAlgo " + std::to_string(int(algo)) +
                           "\nHINT: use one of the versions listed in kernels/cuda/conv2d.cuh");
}

}  // namespace fcn
