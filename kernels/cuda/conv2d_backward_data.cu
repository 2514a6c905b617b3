// Convolution backward-data on the GPU: din [B,H,W,Cin] = conv^T(dout [B,H,W,Cout], w [K,K,Cin,Cout]),
// assigned, and zeroed where relu_out [B,H,W,Cin] <= 0 when relu_out is given (the ReLU backward of the
// layer below fused into the epilogue). Stride 1, SAME padding:
//   din[b,y,x,ci] = sum_{ky,kx,co} dout[b, y - (ky - p), x - (kx - p), co] * w[ky,kx,ci,co]
// As an implicit GEMM: M = B*H*W pixels, N = Cin, K = KH*KW*Cout; A = dout gathered with the flipped
// tap offsets, B[tap*Cout + co][ci] = w[tap][ci][co] (the weight read transposed, contiguous along co).
//
// Versions (ConvAlgo):
//   0 kCudnn           cuDNN, fastest FP32-FMA algorithm (conv2d_cudnn.cu), ReLU mask as an extra pass
//   1 kNaive           one thread per din element, loops over taps and output channels
//   2 kTiled           16x16 tile per block, one output per thread, K steps of 16 through shared memory
//   3 kRegisterBlocked 128x64 tile per 256-thread block, 8x4 outputs per thread, float4 loads when Cout
//                      is a multiple of 4 (A along co, B along co), float4 stores when Cin is,
//                      double-buffered shared memory; for Cin <= 16 a 256x16 tile with 8x2 per thread
//   4 kRegisterBlocked8x8  version 3 with 8x8 outputs per thread (128x64 tile, 128 threads); Cin <= 16
//                      as version 3
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

// ---- version 1: one thread per din element -----------------------------------------------------------
__global__ void conv2d_backward_data_kernel1(float* din,             // [B, H, W, Cin]
                                             const float* dout,      // [B, H, W, Cout]
                                             const float* weight,    // [K, K, Cin, Cout]
                                             const float* relu_out,  // [B, H, W, Cin] or null
                                             int batch, int height, int width, int cin, int cout,
                                             int kernel) {
  const int64_t total = int64_t(batch) * height * width * cin;
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= total) return;
  const int ci = int(idx % cin);
  const int64_t pixel = idx / cin;
  const int x = int(pixel % width);
  const int y = int((pixel / width) % height);
  const int b = int(pixel / (int64_t(width) * height));
  const int pad = kernel / 2;
  float acc = 0.f;
  for (int ky = 0; ky < kernel; ++ky) {
    const int yy = y - (ky - pad);
    if (yy < 0 || yy >= height) continue;
    for (int kx = 0; kx < kernel; ++kx) {
      const int xx = x - (kx - pad);
      if (xx < 0 || xx >= width) continue;
      const float* dout_px = dout + ((int64_t(b) * height + yy) * width + xx) * cout;
      const float* w_row = weight + (int64_t(ky * kernel + kx) * cin + ci) * cout;
      for (int co = 0; co < cout; ++co) acc = fmaf(dout_px[co], w_row[co], acc);
    }
  }
  if (relu_out && !(relu_out[idx] > 0.f)) acc = 0.f;
  din[idx] = acc;
}

void backward_data1(float* din, const float* dout, const float* weight, const float* relu_out,
                    const ConvShape& s, cudaStream_t stream) {
  const int64_t total = s.in_size();
  const int block = 256;
  const int64_t grid = (total + block - 1) / block;
  launch<conv2d_backward_data_kernel1>(unsigned(grid), block, 0, stream,
      din, dout, weight, relu_out, s.batch, s.height, s.width, s.in_channels, s.out_channels, s.kernel);
  CUDA_CHECK_LAUNCH();
}

// ---- versions 2 to 4: implicit GEMM blocks ----------------------------------------------------------
using BackwardData2 = igemm::Block<igemm::Mode::kBackwardData, 16, 16, 16, 1, 1, false>;
using BackwardData3 = igemm::Block<igemm::Mode::kBackwardData, 128, 64, 16, 8, 4, true>;
// Version 3 for Cin <= 16: a 256x16 tile, 8x2 outputs per thread.
using BackwardData3Narrow = igemm::Block<igemm::Mode::kBackwardData, 256, 16, 16, 8, 2, true>;
// Version 4: 128x64 tile per 128-thread block, 8x8 outputs per thread.
using BackwardData4 = igemm::Block<igemm::Mode::kBackwardData, 128, 64, 16, 8, 8, true>;

template <class B>
void backward_data_igemm(float* din, const float* dout, const float* weight, const float* relu_out,
                         const ConvShape& s, bool allow_float4, cudaStream_t stream) {
  const igemm::Args a = igemm::backward_data_args(din, dout, weight, relu_out, s, allow_float4);
  launch<igemm::igemm_kernel<B>>(igemm::igemm_grid<B>(a), B::kThreads, 0, stream, a);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void conv2d_backward_data_cuda(float* din, const float* dout, const float* weight,
                               const float* relu_out, const ConvShape& s, ConvAlgo algo,
                               cudaStream_t stream) {
  igemm::conv2d_check_shape(s, "conv2d_backward_data_cuda");
  if (s.pixels() == 0 || s.in_channels == 0) return;
  switch (algo) {
    case ConvAlgo::kCudnn:
      cudnn_baseline::backward_data_hwio(din, dout, weight, relu_out, s, stream);
      return;
    case ConvAlgo::kNaive: backward_data1(din, dout, weight, relu_out, s, stream); return;
    case ConvAlgo::kTiled:
      backward_data_igemm<BackwardData2>(din, dout, weight, relu_out, s, false, stream);
      return;
    case ConvAlgo::kRegisterBlocked:
      if (s.in_channels <= 16) {
        backward_data_igemm<BackwardData3Narrow>(din, dout, weight, relu_out, s, true, stream);
      } else {
        backward_data_igemm<BackwardData3>(din, dout, weight, relu_out, s, true, stream);
      }
      return;
    case ConvAlgo::kRegisterBlocked8x8:
      if (s.in_channels <= 16) {
        backward_data_igemm<BackwardData3Narrow>(din, dout, weight, relu_out, s, true, stream);
      } else {
        backward_data_igemm<BackwardData4>(din, dout, weight, relu_out, s, true, stream);
      }
      return;
  }
  throw std::runtime_error("conv2d_backward_data_cuda: unknown ConvAlgo " + std::to_string(int(algo)) +
                           "\nHINT: use one of the versions listed in kernels/cuda/conv2d.cuh");
}

}  // namespace fcn
