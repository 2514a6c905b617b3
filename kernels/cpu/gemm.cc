// The 6 x 16 (or 6 x 8) GEMM micro-kernel: AVX2+FMA intrinsics where available, portable loops
// elsewhere; and the run-time choice between those and the 6 x 32 AVX-512 kernel of gemm_avx512.cc.
// See gemm.h for the contract.
#include "kernels/cpu/gemm.h"

#include <atomic>
#include <cstdlib>
#include <stdexcept>

#include "kernels/cpu/fma_peak.h"
#include "kernels/cpu/gemm_avx512.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#include "kernels/cpu/simd_tile.h"
#define FCN_GEMM_AVX2 1
#endif

namespace fcn {
namespace {

#if FCN_GEMM_AVX2
struct Avx2 {
  using reg = __m256;
  static constexpr int kLanes = 8;
  static reg zero() { return _mm256_setzero_ps(); }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static reg broadcast(float x) { return _mm256_set1_ps(x); }
  static reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static void store(float* p, reg x) { _mm256_storeu_ps(p, x); }
};
#endif

// Portable version of the same tile: the compiler vectorises the inner j loop where it can.
void micro_tile_portable(float* tile, const float* a, int64_t a_row_stride, int64_t a_k_stride, const float* b,
                         int64_t b_k_stride, int k, int width) {
  float acc[kGemmMr][kGemmMaxWidth] = {};
  for (int p = 0; p < k; ++p) {
    const float* b_row = b + p * b_k_stride;
    for (int i = 0; i < kGemmMr; ++i) {
      const float a_value = a[i * a_row_stride + p * a_k_stride];
      for (int j = 0; j < width; ++j) acc[i][j] += a_value * b_row[j];
    }
  }
  for (int i = 0; i < kGemmMr; ++i) {
    for (int j = 0; j < width; ++j) tile[i * kGemmMaxWidth + j] = acc[i][j];
  }
}

// The path in use, as an int (-1 until first asked), so that a forced path is seen by every thread.
std::atomic<int> current_path{-1};

GemmPath path_from_environment() {
  const char* forced = std::getenv("FCN_CPU_GEMM");
  if (forced == nullptr || *forced == '\0') return gemm_best_path();
  const GemmPath path = parse_gemm_path(forced);
  if (!gemm_path_supported(path)) {
    throw std::invalid_argument("FCN_CPU_GEMM=" + std::string(forced) + ": this CPU or build cannot run it (best here: " +
                                gemm_path_name(gemm_best_path()) + ")\nHINT: unset FCN_CPU_GEMM to use the best path.");
  }
  return path;
}

}  // namespace

bool gemm_path_supported(GemmPath path) {
  switch (path) {
    case GemmPath::kPortable:
      return true;
    case GemmPath::kAvx2:
#if FCN_GEMM_AVX2
      return true;  // the build's baseline: every CPU that runs this binary has it
#else
      return false;
#endif
    case GemmPath::kAvx512:
#if defined(__x86_64__) || defined(__i386__)
      return gemm_avx512_compiled() && __builtin_cpu_supports("avx512f");
#else
      return false;
#endif
  }
  return false;
}

GemmPath gemm_best_path() {
  if (gemm_path_supported(GemmPath::kAvx512)) return GemmPath::kAvx512;
  if (gemm_path_supported(GemmPath::kAvx2)) return GemmPath::kAvx2;
  return GemmPath::kPortable;
}

GemmPath gemm_path() {
  int path = current_path.load(std::memory_order_relaxed);
  if (path < 0) {
    path = int(path_from_environment());
    current_path.store(path, std::memory_order_relaxed);
  }
  return GemmPath(path);
}

void set_gemm_path(GemmPath path) {
  if (!gemm_path_supported(path)) {
    throw std::invalid_argument("set_gemm_path: " + gemm_path_name(path) + " cannot run on this CPU or build (best here: " +
                                gemm_path_name(gemm_best_path()) + ")");
  }
  current_path.store(int(path), std::memory_order_relaxed);
}

std::string gemm_path_name(GemmPath path) {
  switch (path) {
    case GemmPath::kPortable:
      return "portable";
    case GemmPath::kAvx2:
      return "avx2";
    case GemmPath::kAvx512:
      return "avx512";
  }
  return "?";
}

GemmPath parse_gemm_path(const std::string& name) {
  for (GemmPath path : {GemmPath::kPortable, GemmPath::kAvx2, GemmPath::kAvx512}) {
    if (name == gemm_path_name(path)) return path;
  }
  throw std::invalid_argument("unknown CPU GEMM path '" + name + "'\nHINT: one of portable, avx2, avx512.");
}

int gemm_panel_width(int n) {
  if (n <= 8) return 8;
  if (n <= 16 || gemm_path() != GemmPath::kAvx512) return 16;
  return kGemmMaxWidth;
}

void gemm_micro_tile(float* tile, const float* a, int64_t a_row_stride, int64_t a_k_stride, const float* b,
                     int64_t b_k_stride, int k, int width) {
  const GemmPath path = gemm_path();
  if (width == kGemmMaxWidth && path == GemmPath::kAvx512) {
    gemm_micro_tile_avx512(tile, a, a_row_stride, a_k_stride, b, b_k_stride, k);
    return;
  }
#if FCN_GEMM_AVX2
  if (path != GemmPath::kPortable && width == 16) {
    simd::micro_tile_any_layout<Avx2, 2>(tile, kGemmMaxWidth, a, a_row_stride, a_k_stride, b, b_k_stride, k);
    return;
  }
  if (path != GemmPath::kPortable && width == 8) {
    simd::micro_tile_any_layout<Avx2, 1>(tile, kGemmMaxWidth, a, a_row_stride, a_k_stride, b, b_k_stride, k);
    return;
  }
#endif
  micro_tile_portable(tile, a, a_row_stride, a_k_stride, b, b_k_stride, k, width);
}

float fma_loop_avx2(long iterations) {
#if FCN_GEMM_AVX2
  return simd::fma_loop<Avx2>(iterations);
#else
  throw std::logic_error("fma_loop_avx2: this build has no AVX2 code");
#endif
}

}  // namespace fcn
