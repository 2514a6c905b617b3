// Measures one core's FMA peak (see fma_peak.h): times the loops that live beside the GEMM kernels.
#include "kernels/cpu/fma_peak.h"

#include <algorithm>
#include <chrono>

#include "kernels/cpu/gemm_avx512.h"

namespace fcn {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

double measure_fma_peak_gflops(GemmPath path, double seconds) {
  if (path == GemmPath::kPortable || !gemm_path_supported(path)) return 0.0;
  const int lanes = path == GemmPath::kAvx512 ? 16 : 8;
  auto loop = [path](long iterations) {
    return path == GemmPath::kAvx2 ? fma_loop_avx2(iterations) : fma_loop_avx512(iterations);
  };
  // Grow the iteration count until one try lasts about seconds / 5, then keep the best of five tries.
  long iterations = 1 << 16;
  volatile float sink = 0.0f;
  for (;;) {
    const auto start = std::chrono::steady_clock::now();
    sink = sink + loop(iterations);
    if (seconds_since(start) >= seconds / 5 || iterations > (1L << 40)) break;
    iterations *= 2;
  }
  double best = 0.0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    const auto start = std::chrono::steady_clock::now();
    sink = sink + loop(iterations);
    const double elapsed = seconds_since(start);
    best = std::max(best, 2.0 * lanes * 12.0 * double(iterations) / elapsed * 1e-9);
  }
  return best;
}

}  // namespace fcn
