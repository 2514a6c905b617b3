// The cuDNN baseline of the three convolution directions (version 0 of every ladder), for the benchmark
// only: never the engine's path. cuDNN's NHWC convolutions want the filter as KRSC [Cout, K, K, Cin];
// our weights are HWIO [K, K, Cin, Cout], so the baseline transposes them with a small kernel. The
// *_krsc functions take an already transposed filter so that the benchmark can time the convolution
// alone and the transpose separately; the *_hwio functions (what ConvAlgo::kCudnn runs) include it.
//
// Math: CUDNN_FMA_MATH (FP32 FMA kernels only, no TF32 tensor cores); the algorithm is the fastest
// deterministic one (as our versions are) that cudnnFind*Algorithm reports for that math type, chosen
// once per shape and cached with its workspace and descriptors in a per-thread, per-device handle.
#pragma once
#include <cuda_runtime.h>

#include "kernels/cpu/reference.h"

namespace fcn::cudnn_baseline {

// krsc [Cout, K*K*Cin] = transpose of hwio [K*K*Cin, Cout]
void weight_to_krsc(float* krsc, const float* hwio, const ConvShape& s, cudaStream_t stream);
// hwio [K*K*Cin, Cout] = transpose of krsc [Cout, K*K*Cin]
void weight_from_krsc(float* hwio, const float* krsc, const ConvShape& s, cudaStream_t stream);

// out [B,H,W,Cout] = conv(in, w_krsc) + bias, then ReLU if relu (cuDNN conv, add-tensor, activation)
void forward_krsc(float* out, const float* in, const float* weight_krsc, const float* bias,
                  const ConvShape& s, bool relu, cudaStream_t stream);
// din [B,H,W,Cin] = conv^T(dout, w_krsc), zeroed where relu_out <= 0 if relu_out (mask: our small kernel)
void backward_data_krsc(float* din, const float* dout, const float* weight_krsc, const float* relu_out,
                        const ConvShape& s, cudaStream_t stream);
// dweight_krsc [Cout, K, K, Cin], dbias [Cout] (may be null), both assigned
void backward_filter_krsc(float* dweight_krsc, float* dbias, const float* dout, const float* in,
                          const ConvShape& s, cudaStream_t stream);

// The same with HWIO weights, transposing through a cached scratch buffer (what ConvAlgo::kCudnn runs).
void forward_hwio(float* out, const float* in, const float* weight, const float* bias, const ConvShape& s,
                  bool relu, cudaStream_t stream);
void backward_data_hwio(float* din, const float* dout, const float* weight, const float* relu_out,
                        const ConvShape& s, cudaStream_t stream);
void backward_filter_hwio(float* dweight, float* dbias, const float* dout, const float* in,
                          const ConvShape& s, cudaStream_t stream);

}  // namespace fcn::cudnn_baseline
