// The shape check shared by every convolution version, and the versions' names.
#include <climits>
#include <stdexcept>
#include <string>

#include "kernels/cuda/conv2d.cuh"
#include "kernels/cuda/conv2d_igemm.cuh"

namespace fcn {

void igemm::conv2d_check_shape(const ConvShape& s, const char* who) {
  const bool sizes_ok = s.batch >= 0 && s.height >= 0 && s.width >= 0 && s.in_channels >= 0 &&
                        s.out_channels >= 0 && s.kernel >= 1 && s.kernel % 2 == 1;
  // The kernels index pixels and GEMM rows with 32-bit ints (element offsets are 64-bit); a tile origin
  // plus its extent (m0 + 255, (m + BM - 1) / BM) must not overflow either, hence the margin.
  constexpr int64_t kPixelLimit = int64_t(INT_MAX) - 65536;
  const bool fits = s.pixels() <= kPixelLimit && int64_t(s.kernel) * s.kernel * s.in_channels <= INT_MAX &&
                    int64_t(s.kernel) * s.kernel * s.out_channels <= INT_MAX;
  if (sizes_ok && fits) return;
  throw std::invalid_argument(std::string(who) + ": unsupported convolution shape B=" + std::to_string(s.batch) +
                              " H=" + std::to_string(s.height) + " W=" + std::to_string(s.width) +
                              " Cin=" + std::to_string(s.in_channels) + " Cout=" + std::to_string(s.out_channels) +
                              " K=" + std::to_string(s.kernel) +
                              "\nHINT: sizes must be >= 0, the kernel odd, and B*H*W at most 2^31 - 65537");
}

const char* conv_algo_name(ConvAlgo algo) {
  switch (algo) {
    case ConvAlgo::kCudnn: return "cudnn";
    case ConvAlgo::kNaive: return "v1 naive";
    case ConvAlgo::kTiled: return "v2 tiled";
    case ConvAlgo::kRegisterBlocked: return "v3 register-blocked";
    case ConvAlgo::kRegisterBlocked8x8: return "v4 8x8 per thread";
  }
  return "unknown";
}

}  // namespace fcn
