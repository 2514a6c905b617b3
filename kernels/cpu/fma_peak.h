// The FMA peak of one core, measured: the yardstick for "% of peak" in `fcn bench kernels --device cpu`.
// A loop of independent fused multiply-adds on registers only (no memory traffic), as wide as the GEMM
// path's vectors, timed for a short while; the best of a few tries. GFLOP/s counts 2 flops per lane per
// FMA. The loops are kernels/cpu/simd_tile.h's fma_loop, instantiated beside the GEMM kernels of the
// same instruction set (gemm.cc, gemm_avx512.cc).
#pragma once

#include "kernels/cpu/gemm.h"

namespace fcn {

// Single-thread GFLOP/s of the path's FMA instruction (8 lanes for avx2, 16 for avx512); 0 for the
// portable path (it has no single instruction to measure) or a path this CPU cannot run.
double measure_fma_peak_gflops(GemmPath path, double seconds = 0.2);

// The AVX2 loop (gemm.cc; the AVX-512 one is in gemm_avx512.h): `iterations` rounds of 12 independent
// 8-lane FMAs. Only where gemm_path_supported(kAvx2).
float fma_loop_avx2(long iterations);

}  // namespace fcn
