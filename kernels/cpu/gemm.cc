// The 6 x 16 (or 6 x 8) GEMM micro-kernel: AVX2+FMA intrinsics where available, portable loops
// elsewhere. See gemm.h for the contract.
#include "kernels/cpu/gemm.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define FCN_GEMM_AVX2 1
#endif

namespace fcn {
namespace {

#if FCN_GEMM_AVX2
// How the kernel walks A. Specialised so the loop spends its integer work on one pointer or one index
// rather than six pointer increments per step (the loop body is close to the core's dispatch width).
enum ALayout {
  kRowsContiguous = 0,  // a_row_stride == 1: the 6 values of a step are adjacent (backward-filter)
  kStepsContiguous = 1, // a_k_stride == 1: each row is a contiguous run (forward, backward-data)
  kGeneral = 2,
};

// NV vectors of 8 columns; the 6 * NV accumulators are named variables (not an array) so they stay in
// registers for the whole reduction.
template <int NV, int Layout>
void micro_tile_avx2(float* tile, const float* a, int64_t a_row_stride, int64_t a_k_stride, const float* b,
                     int64_t b_k_stride, int k) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  const float* a0 = a;
  const float* a1 = a + a_row_stride;
  const float* a2 = a + 2 * a_row_stride;
  const float* a3 = a + 3 * a_row_stride;
  const float* a4 = a + 4 * a_row_stride;
  const float* a5 = a + 5 * a_row_stride;
#pragma GCC unroll 2
  for (int p = 0; p < k; ++p) {
    const __m256 b0 = _mm256_loadu_ps(b);
    const __m256 b1 = NV == 2 ? _mm256_loadu_ps(b + 8) : b0;
    // Address of A(i, p) for this layout (the branches fold away at compile time).
    auto a_at = [&](const float* row, int i) -> const float* {
      if (Layout == kRowsContiguous) return a0 + i;
      if (Layout == kStepsContiguous) return row + p;
      return row;
    };
    __m256 x;
    x = _mm256_broadcast_ss(a_at(a0, 0));
    c00 = _mm256_fmadd_ps(x, b0, c00);
    if (NV == 2) c01 = _mm256_fmadd_ps(x, b1, c01);
    x = _mm256_broadcast_ss(a_at(a1, 1));
    c10 = _mm256_fmadd_ps(x, b0, c10);
    if (NV == 2) c11 = _mm256_fmadd_ps(x, b1, c11);
    x = _mm256_broadcast_ss(a_at(a2, 2));
    c20 = _mm256_fmadd_ps(x, b0, c20);
    if (NV == 2) c21 = _mm256_fmadd_ps(x, b1, c21);
    x = _mm256_broadcast_ss(a_at(a3, 3));
    c30 = _mm256_fmadd_ps(x, b0, c30);
    if (NV == 2) c31 = _mm256_fmadd_ps(x, b1, c31);
    x = _mm256_broadcast_ss(a_at(a4, 4));
    c40 = _mm256_fmadd_ps(x, b0, c40);
    if (NV == 2) c41 = _mm256_fmadd_ps(x, b1, c41);
    x = _mm256_broadcast_ss(a_at(a5, 5));
    c50 = _mm256_fmadd_ps(x, b0, c50);
    if (NV == 2) c51 = _mm256_fmadd_ps(x, b1, c51);
    if (Layout == kRowsContiguous) {
      a0 += a_k_stride;
    } else if (Layout == kGeneral) {
      a0 += a_k_stride;
      a1 += a_k_stride;
      a2 += a_k_stride;
      a3 += a_k_stride;
      a4 += a_k_stride;
      a5 += a_k_stride;
    }
    b += b_k_stride;
  }
  _mm256_storeu_ps(tile + 0 * kGemmNr, c00);
  _mm256_storeu_ps(tile + 1 * kGemmNr, c10);
  _mm256_storeu_ps(tile + 2 * kGemmNr, c20);
  _mm256_storeu_ps(tile + 3 * kGemmNr, c30);
  _mm256_storeu_ps(tile + 4 * kGemmNr, c40);
  _mm256_storeu_ps(tile + 5 * kGemmNr, c50);
  if (NV == 2) {
    _mm256_storeu_ps(tile + 0 * kGemmNr + 8, c01);
    _mm256_storeu_ps(tile + 1 * kGemmNr + 8, c11);
    _mm256_storeu_ps(tile + 2 * kGemmNr + 8, c21);
    _mm256_storeu_ps(tile + 3 * kGemmNr + 8, c31);
    _mm256_storeu_ps(tile + 4 * kGemmNr + 8, c41);
    _mm256_storeu_ps(tile + 5 * kGemmNr + 8, c51);
  }
}

template <int NV>
void micro_tile_dispatch(float* tile, const float* a, int64_t a_row_stride, int64_t a_k_stride, const float* b,
                         int64_t b_k_stride, int k) {
  if (a_row_stride == 1) {
    micro_tile_avx2<NV, kRowsContiguous>(tile, a, a_row_stride, a_k_stride, b, b_k_stride, k);
  } else if (a_k_stride == 1) {
    micro_tile_avx2<NV, kStepsContiguous>(tile, a, a_row_stride, a_k_stride, b, b_k_stride, k);
  } else {
    micro_tile_avx2<NV, kGeneral>(tile, a, a_row_stride, a_k_stride, b, b_k_stride, k);
  }
}
#endif

// Portable version of the same tile: the compiler vectorises the inner j loop where it can.
void micro_tile_portable(float* tile, const float* a, int64_t a_row_stride, int64_t a_k_stride, const float* b,
                         int64_t b_k_stride, int k, int width) {
  float acc[kGemmMr][kGemmNr] = {};
  for (int p = 0; p < k; ++p) {
    const float* b_row = b + p * b_k_stride;
    for (int i = 0; i < kGemmMr; ++i) {
      const float a_value = a[i * a_row_stride + p * a_k_stride];
      for (int j = 0; j < width; ++j) acc[i][j] += a_value * b_row[j];
    }
  }
  for (int i = 0; i < kGemmMr; ++i) {
    for (int j = 0; j < width; ++j) tile[i * kGemmNr + j] = acc[i][j];
  }
}

}  // namespace

void gemm_micro_tile(float* tile, const float* a, int64_t a_row_stride, int64_t a_k_stride, const float* b,
                     int64_t b_k_stride, int k, int width) {
#if FCN_GEMM_AVX2
  if (width == kGemmNr) {
    micro_tile_dispatch<2>(tile, a, a_row_stride, a_k_stride, b, b_k_stride, k);
    return;
  }
  if (width == 8) {
    micro_tile_dispatch<1>(tile, a, a_row_stride, a_k_stride, b, b_k_stride, k);
    return;
  }
#endif
  micro_tile_portable(tile, a, a_row_stride, a_k_stride, b, b_k_stride, k, width);
}

bool gemm_uses_avx2() {
#if FCN_GEMM_AVX2
  return true;
#else
  return false;
#endif
}

}  // namespace fcn
