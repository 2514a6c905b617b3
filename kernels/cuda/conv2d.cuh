// The CUDA convolutions: stride 1, SAME padding (pad = K / 2, K odd), NHWC activations and HWIO weights,
// the same semantics as conv2d_*_ref in kernels/cpu/reference.h except that every output is ASSIGNED
// (not accumulated). Each direction has a version ladder (see the header comment of its .cu file and
// docs/KERNELS_CUDA.md); ConvAlgo picks the version. kCudnn is a baseline for the benchmark only.
//
// Rules shared by all versions: no allocation inside (callers pass workspaces sized by the query
// functions; cuDNN's own workspace is cached inside conv2d_cudnn.cu), deterministic results (no float
// atomics, fixed-order partial sums), every launch checked (kernels/cuda/check.cuh), all work queued on
// `stream`. Any channel count, batch, height and width is valid (bounds checks / tail paths).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

#include "kernels/cpu/reference.h"

namespace fcn {

enum class ConvAlgo : int {
  kCudnn = 0,             // cuDNN, fastest FP32 algorithm with FP32 math (no TF32); baseline only
  kNaive = 1,             // version 1: one thread per output element
  kTiled = 2,             // version 2: shared-memory tiled implicit GEMM
  kRegisterBlocked = 3,   // version 3: register-blocked implicit GEMM, float4 loads, double-buffered
  kRegisterBlocked8x8 = 4,  // version 4: version 3 with 8x8 outputs per thread (fewer shared loads per FMA)
};
constexpr int kNumConvAlgos = 5;
const char* conv_algo_name(ConvAlgo algo);  // "cudnn", "v1 naive", ...

// out [B,H,W,Cout] = conv(in [B,H,W,Cin], w [K,K,Cin,Cout]) + bias [Cout], ReLU if relu
void conv2d_forward_cuda(float* out, const float* in, const float* weight, const float* bias,
                         const ConvShape& s, bool relu, ConvAlgo algo, cudaStream_t stream);

// din [B,H,W,Cin] = conv^T(dout [B,H,W,Cout], w), zeroed where relu_out [B,H,W,Cin] <= 0 if relu_out
void conv2d_backward_data_cuda(float* din, const float* dout, const float* weight,
                               const float* relu_out, const ConvShape& s, ConvAlgo algo,
                               cudaStream_t stream);

// dweight [K,K,Cin,Cout], dbias [Cout] (assigned, deterministic) from dout and in; dbias may be null
size_t conv2d_backward_filter_workspace_bytes(const ConvShape& s, ConvAlgo algo);
void conv2d_backward_filter_cuda(float* dweight, float* dbias, const float* dout, const float* in,
                                 const ConvShape& s, ConvAlgo algo, void* workspace,
                                 size_t workspace_bytes, cudaStream_t stream);

}  // namespace fcn
