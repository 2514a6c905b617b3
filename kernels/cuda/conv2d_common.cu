// Names of the convolution versions and the choice of the engine's default version per direction.
#include "kernels/cuda/conv2d.cuh"

namespace fcn {

const char* conv_algo_name(ConvAlgo algo) {
  switch (algo) {
    case ConvAlgo::kCudnn: return "cudnn";
    case ConvAlgo::kNaive: return "v1 naive";
    case ConvAlgo::kTiled: return "v2 tiled";
    case ConvAlgo::kRegisterBlocked: return "v3 register-blocked";
  }
  return "unknown";
}

// Version 3 is the fastest of our versions by construction (8x4 register tiles, float4 loads, double
// buffering); revisit with the numbers from `fcn bench kernels` (docs/KERNELS_CUDA.md).
ConvAlgo conv2d_default_algo(const ConvShape& s, int direction) {
  (void)s;
  (void)direction;
  return ConvAlgo::kRegisterBlocked;
}

}  // namespace fcn
