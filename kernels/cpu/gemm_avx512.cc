// The AVX-512 micro-tile and FMA loop (see gemm_avx512.h): kernels/cpu/simd_tile.h instantiated for
// 16-float zmm vectors. This file is compiled with -mavx512f and holds nothing else, so no AVX-512
// instruction can reach code that runs before the CPUID check.
//
// Per reduction step of the 6 x 32 tile: two 16-float loads of B, six broadcasts of A, twelve FMAs into
// twelve zmm accumulators. Twelve independent chains cover the FMA latency (4 cycles) at two FMAs per
// cycle; the 12 + 2 + 1 registers fit the 32 zmm registers without spilling. Each accumulator lane sums
// its k products in order with one FMA each, exactly as the AVX2 kernel does, so the two paths agree
// bit for bit.
#include "kernels/cpu/gemm_avx512.h"

#if defined(__AVX512F__)
#include <immintrin.h>

#include "kernels/cpu/simd_tile.h"
#else
#include <stdexcept>
#endif

namespace fcn {

#if defined(__AVX512F__)
namespace {

struct Avx512 {
  using reg = __m512;
  static constexpr int kLanes = 16;
  static reg zero() { return _mm512_setzero_ps(); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static reg broadcast(float x) { return _mm512_set1_ps(x); }
  static reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static void store(float* p, reg x) { _mm512_storeu_ps(p, x); }
};

}  // namespace

bool gemm_avx512_compiled() { return true; }

void gemm_micro_tile_avx512(float* tile, const float* a, int64_t a_row_stride, int64_t a_k_stride,
                            const float* b, int64_t b_k_stride, int k) {
  simd::micro_tile_any_layout<Avx512, 2>(tile, 32, a, a_row_stride, a_k_stride, b, b_k_stride, k);
}

float fma_loop_avx512(long iterations) { return simd::fma_loop<Avx512>(iterations); }

#else  // a build without AVX-512 (another architecture, or a compiler without -mavx512f)

bool gemm_avx512_compiled() { return false; }

void gemm_micro_tile_avx512(float*, const float*, int64_t, int64_t, const float*, int64_t, int) {
  throw std::logic_error("gemm_micro_tile_avx512: this build has no AVX-512 kernel (gemm_path() never picks it)");
}

float fma_loop_avx512(long) { throw std::logic_error("fma_loop_avx512: this build has no AVX-512 kernel"); }

#endif

}  // namespace fcn
