// The AVX-512 code: the 6 x 32 micro-tile and the FMA loop that measures the peak (fma_peak.h), the only
// code built with -mavx512f (kernels/CMakeLists.txt). Called only after CPUID said the CPU has AVX-512F
// (gemm_path_supported). This header and its .cc include nothing from the standard library that could
// emit an inline function compiled for AVX-512 into code shared with the rest of the program.
#pragma once
#include <cstdint>

namespace fcn {

// True when this build holds the AVX-512 kernel (an x86-64 build with a compiler that has -mavx512f).
bool gemm_avx512_compiled();

// Same contract as gemm_micro_tile with width 32.
void gemm_micro_tile_avx512(float* tile,  // [6, 32]
                            const float* a, int64_t a_row_stride, int64_t a_k_stride,
                            const float* b, int64_t b_k_stride,  // [k, >= 32]
                            int k);

// `iterations` rounds of 12 independent 16-lane FMAs on registers; returns a value derived from the
// accumulators so the work cannot be optimised away.
float fma_loop_avx512(long iterations);

}  // namespace fcn
