// Convolution forward on the GPU: out [B,H,W,Cout] = conv(in [B,H,W,Cin], w [K,K,Cin,Cout]) + bias,
// optional ReLU fused into the epilogue. Stride 1, SAME padding. As an implicit GEMM:
// M = B*H*W pixels, N = Cout, K = KH*KW*Cin; A = the input gathered per tap, B = the weight as [K][Cout].
//
// Versions (ConvAlgo):
//   0 kCudnn           cuDNN, fastest FP32-FMA algorithm (conv2d_cudnn.cu), bias and ReLU as extra passes
//   1 kNaive           one thread per output element, loops over taps and input channels
//   2 kTiled           16x16 output tile per block, one output per thread, 16-wide K steps through
//                      shared memory (each input value fetched once per tile instead of once per output)
//   3 kRegisterBlocked 128x64 tile per 256-thread block, 8x4 outputs per thread in registers, float4
//                      loads and stores when Cin / Cout are multiples of 4, double-buffered shared memory;
//                      for Cout <= 16 a 256x16 tile with 8x2 outputs per thread instead
//   4 kRegisterBlocked8x8  version 3 with 8x8 outputs per thread (128x64 tile, 128 threads): half the
//                      shared-memory reads per FMA, more registers; Cout <= 16 as version 3
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

// ---- version 1: one thread per output element -----------------------------------------------------
__global__ void conv2d_forward_kernel1(float* out,           // [B, H, W, Cout]
                                       const float* in,      // [B, H, W, Cin]
                                       const float* weight,  // [K, K, Cin, Cout]
                                       const float* bias,    // [Cout] or null
                                       int batch, int height, int width, int cin, int cout, int kernel,
                                       int relu) {
  const int64_t total = int64_t(batch) * height * width * cout;
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= total) return;
  const int co = int(idx % cout);
  const int64_t pixel = idx / cout;
  const int x = int(pixel % width);
  const int y = int((pixel / width) % height);
  const int b = int(pixel / (int64_t(width) * height));
  const int pad = kernel / 2;
  float acc = bias ? bias[co] : 0.f;
  for (int ky = 0; ky < kernel; ++ky) {
    const int yy = y + ky - pad;
    if (yy < 0 || yy >= height) continue;
    for (int kx = 0; kx < kernel; ++kx) {
      const int xx = x + kx - pad;
      if (xx < 0 || xx >= width) continue;
      const float* in_px = in + ((int64_t(b) * height + yy) * width + xx) * cin;
      const float* w_tap = weight + int64_t(ky * kernel + kx) * cin * cout + co;
      for (int ci = 0; ci < cin; ++ci) acc = fmaf(in_px[ci], w_tap[int64_t(ci) * cout], acc);
    }
  }
  if (relu) acc = acc > 0.f ? acc : 0.f;
  out[idx] = acc;
}

void forward1(float* out, const float* in, const float* weight, const float* bias, const ConvShape& s,
              bool relu, cudaStream_t stream) {
  const int64_t total = s.out_size();
  const int block = 256;
  const int64_t grid = (total + block - 1) / block;
  launch<conv2d_forward_kernel1>(unsigned(grid), block, 0, stream, out, in, weight, bias, s.batch, s.height,
                                                               s.width, s.in_channels, s.out_channels,
                                                               s.kernel, relu ? 1 : 0);
  CUDA_CHECK_LAUNCH();
}

// ---- versions 2 to 4: implicit GEMM blocks ----------------------------------------------------------
using Forward2 = igemm::Block<igemm::Mode::kForward, 16, 16, 16, 1, 1, false>;
using Forward3 = igemm::Block<igemm::Mode::kForward, 128, 64, 16, 8, 4, true>;
// Version 3 for Cout <= 16 (the logits): a 256x16 tile, 8x2 outputs per thread, so that a narrow N
// does not waste most of a 64-wide tile.
using Forward3Narrow = igemm::Block<igemm::Mode::kForward, 256, 16, 16, 8, 2, true>;
// Version 4: 128x64 tile per 128-thread block, 8x8 outputs per thread (4 LDS.128 per 64 FMAs instead of
// 3 per 32), at the cost of more registers (166) and so fewer resident warps.
using Forward4 = igemm::Block<igemm::Mode::kForward, 128, 64, 16, 8, 8, true>;

template <class B>
void forward_igemm(float* out, const float* in, const float* weight, const float* bias, const ConvShape& s,
                   bool relu, bool allow_float4, cudaStream_t stream) {
  const igemm::Args a = igemm::forward_args(out, in, weight, bias, s, relu, allow_float4);
  launch<igemm::igemm_kernel<B>>(igemm::igemm_grid<B>(a), B::kThreads, 0, stream, a);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void conv2d_forward_cuda(float* out, const float* in, const float* weight, const float* bias,
                         const ConvShape& s, bool relu, ConvAlgo algo, cudaStream_t stream) {
  igemm::conv2d_check_shape(s, "conv2d_forward_cuda");
  if (s.pixels() == 0 || s.out_channels == 0) return;
  switch (algo) {
    case ConvAlgo::kCudnn: cudnn_baseline::forward_hwio(out, in, weight, bias, s, relu, stream); return;
    case ConvAlgo::kNaive: forward1(out, in, weight, bias, s, relu, stream); return;
    case ConvAlgo::kTiled: forward_igemm<Forward2>(out, in, weight, bias, s, relu, false, stream); return;
    case ConvAlgo::kRegisterBlocked:
      if (s.out_channels <= 16) {
        forward_igemm<Forward3Narrow>(out, in, weight, bias, s, relu, true, stream);
      } else {
        forward_igemm<Forward3>(out, in, weight, bias, s, relu, true, stream);
      }
      return;
    case ConvAlgo::kRegisterBlocked8x8:
      if (s.out_channels <= 16) {
        forward_igemm<Forward3Narrow>(out, in, weight, bias, s, relu, true, stream);
      } else {
        forward_igemm<Forward4>(out, in, weight, bias, s, relu, true, stream);
      }
      return;
  }
  throw std::runtime_error("conv2d_forward_cuda: unknown ConvAlgo " + std::to_string(int(algo)) +
                           "\nHINT: use one of the versions listed in kernels/cuda/conv2d.cuh");
}

}  // namespace fcn
