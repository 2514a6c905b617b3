// The register-tiled GEMM micro-kernel and the FMA peak loop, written once over a vector type: gemm.cc
// instantiates them for AVX2 (8 floats per vector), gemm_avx512.cc for AVX-512 (16 floats), each in
// its own file built for its instruction set. A vector type V provides:
//   using reg = __m256;  static constexpr int kLanes = 8;
//   static reg zero(); static reg load(const float*); static reg broadcast(float);
//   static reg fmadd(reg a, reg b, reg c);  // a * b + c, one rounding
//   static void store(float*, reg);  static reg add(reg, reg);
// Include this header only from those two files, after <immintrin.h>, and instantiate it with a V
// declared in an unnamed namespace: each file then gets its own copies, so no AVX-512 instruction can
// reach code that runs on an AVX2-only CPU.
#pragma once
#include <cstdint>

namespace fcn::simd {

// How the kernel walks A. Specialised so the loop spends its integer work on one pointer or one index
// rather than six pointer increments per step (the loop body is close to the core's dispatch width).
enum ALayout {
  kRowsContiguous = 0,   // a_row_stride == 1: the 6 values of a step are adjacent (backward-filter)
  kStepsContiguous = 1,  // a_k_stride == 1: each row is a contiguous run (forward, backward-data)
  kGeneral = 2,
};

// tile[i][j] = sum_p A(i, p) B(p, j) for 6 rows and NV vectors of columns (gemm.h's contract), tile row
// stride `tile_stride`. The 6 * NV accumulators are named variables (not an array) so they stay in
// registers for the whole reduction; each lane sums its products in order, one FMA each.
template <class V, int NV, int Layout>
void micro_tile(float* tile, int tile_stride, const float* a, int64_t a_row_stride, int64_t a_k_stride,
                const float* b, int64_t b_k_stride, int k) {
  using reg = typename V::reg;
  reg c00 = V::zero(), c01 = V::zero();
  reg c10 = V::zero(), c11 = V::zero();
  reg c20 = V::zero(), c21 = V::zero();
  reg c30 = V::zero(), c31 = V::zero();
  reg c40 = V::zero(), c41 = V::zero();
  reg c50 = V::zero(), c51 = V::zero();
  const float* a0 = a;
  const float* a1 = a + a_row_stride;
  const float* a2 = a + 2 * a_row_stride;
  const float* a3 = a + 3 * a_row_stride;
  const float* a4 = a + 4 * a_row_stride;
  const float* a5 = a + 5 * a_row_stride;
#pragma GCC unroll 2
  for (int p = 0; p < k; ++p) {
    const reg b0 = V::load(b);
    const reg b1 = NV == 2 ? V::load(b + V::kLanes) : b0;
    // A(i, p) for this layout (the branches fold away at compile time).
    auto a_value = [&](const float* row, int i) -> float {
      if (Layout == kRowsContiguous) return a0[i];
      if (Layout == kStepsContiguous) return row[p];
      return *row;
    };
    reg x;
    x = V::broadcast(a_value(a0, 0));
    c00 = V::fmadd(x, b0, c00);
    if (NV == 2) c01 = V::fmadd(x, b1, c01);
    x = V::broadcast(a_value(a1, 1));
    c10 = V::fmadd(x, b0, c10);
    if (NV == 2) c11 = V::fmadd(x, b1, c11);
    x = V::broadcast(a_value(a2, 2));
    c20 = V::fmadd(x, b0, c20);
    if (NV == 2) c21 = V::fmadd(x, b1, c21);
    x = V::broadcast(a_value(a3, 3));
    c30 = V::fmadd(x, b0, c30);
    if (NV == 2) c31 = V::fmadd(x, b1, c31);
    x = V::broadcast(a_value(a4, 4));
    c40 = V::fmadd(x, b0, c40);
    if (NV == 2) c41 = V::fmadd(x, b1, c41);
    x = V::broadcast(a_value(a5, 5));
    c50 = V::fmadd(x, b0, c50);
    if (NV == 2) c51 = V::fmadd(x, b1, c51);
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
  // Stored one by one (an array of the accumulators would go through the stack).
  V::store(tile + 0 * tile_stride, c00);
  V::store(tile + 1 * tile_stride, c10);
  V::store(tile + 2 * tile_stride, c20);
  V::store(tile + 3 * tile_stride, c30);
  V::store(tile + 4 * tile_stride, c40);
  V::store(tile + 5 * tile_stride, c50);
  if (NV == 2) {
    V::store(tile + 0 * tile_stride + V::kLanes, c01);
    V::store(tile + 1 * tile_stride + V::kLanes, c11);
    V::store(tile + 2 * tile_stride + V::kLanes, c21);
    V::store(tile + 3 * tile_stride + V::kLanes, c31);
    V::store(tile + 4 * tile_stride + V::kLanes, c41);
    V::store(tile + 5 * tile_stride + V::kLanes, c51);
  }
}

// micro_tile with the layout picked from the strides.
template <class V, int NV>
void micro_tile_any_layout(float* tile, int tile_stride, const float* a, int64_t a_row_stride, int64_t a_k_stride,
                           const float* b, int64_t b_k_stride, int k) {
  if (a_row_stride == 1) {
    micro_tile<V, NV, kRowsContiguous>(tile, tile_stride, a, a_row_stride, a_k_stride, b, b_k_stride, k);
  } else if (a_k_stride == 1) {
    micro_tile<V, NV, kStepsContiguous>(tile, tile_stride, a, a_row_stride, a_k_stride, b, b_k_stride, k);
  } else {
    micro_tile<V, NV, kGeneral>(tile, tile_stride, a, a_row_stride, a_k_stride, b, b_k_stride, k);
  }
}

// `iterations` rounds of 12 independent FMAs on registers (as many chains as the 6 x 2-vector tile
// keeps), for fma_peak.h; returns a value derived from the accumulators so the work is not optimised
// away.
template <class V>
float fma_loop(long iterations) {
  using reg = typename V::reg;
  reg acc[12];
  for (int j = 0; j < 12; ++j) acc[j] = V::broadcast(float(j) * 1e-3f);
  const reg scale = V::broadcast(0.999999f), add = V::broadcast(1e-7f);
  for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < 12; ++j) acc[j] = V::fmadd(acc[j], scale, add);
  }
  reg sum = acc[0];
  for (int j = 1; j < 12; ++j) sum = V::add(sum, acc[j]);
  float lanes[V::kLanes];
  V::store(lanes, sum);
  float total = 0.0f;
  for (float lane : lanes) total += lane;
  return total;
}

}  // namespace fcn::simd
