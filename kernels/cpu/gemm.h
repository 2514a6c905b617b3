// The register-tiled GEMM micro-kernel behind the fast CPU convolutions (kernels/cpu/conv_fast.cc).
//
// One call computes a 6 x width tile of C = A * B over a reduction of length k, keeping the accumulators
// in vector registers: each reduction step broadcasts 6 values of A and multiplies them with `width`
// contiguous values of B by fused multiply-add. A is read through two strides so the same kernel serves
// both orientations the convolutions need (pixel-major rows for forward and backward-data, channel-major
// rows for backward-filter); B rows are `width` contiguous floats.
//
// Three implementations, chosen at run time (one binary for every x86-64 machine):
//   avx512    6 x 32 with 12 zmm accumulators (kernels/cpu/gemm_avx512.cc, the one file built with
//             -mavx512f), where the CPU has AVX-512F; widths 16 and 8 use the avx2 kernel
//   avx2      6 x 16 (12 ymm accumulators) or 6 x 8, the baseline of the default build (-mavx2 -mfma)
//   portable  the same loops in plain C++, for builds without AVX2 (and as a forced path in tests)
// Every path sums each element's k products in the same order with one fused multiply-add per product,
// so avx512 and avx2 give bit-identical results; portable rounds the same sums differently (within a
// few ulp) when the compiler does not contract its multiply-adds.
#pragma once
#include <cstdint>
#include <string>

namespace fcn {

constexpr int kGemmMr = 6;          // rows of a micro-tile
constexpr int kGemmMaxWidth = 32;   // the widest panel (avx512); tiles have this row stride

enum class GemmPath { kPortable, kAvx2, kAvx512 };

// The path the convolutions use now: the best one this CPU and build support, unless FCN_CPU_GEMM
// (portable|avx2|avx512) or set_gemm_path chose another.
GemmPath gemm_path();
// The best path this CPU and build support (CPUID at run time).
GemmPath gemm_best_path();
bool gemm_path_supported(GemmPath path);
// Forces a path (tests, benchmarks); throws std::invalid_argument naming what this CPU supports when it
// cannot run here. Not to be changed while a convolution runs.
void set_gemm_path(GemmPath path);
// "portable", "avx2", "avx512"; parse_gemm_path throws std::invalid_argument for anything else.
std::string gemm_path_name(GemmPath path);
GemmPath parse_gemm_path(const std::string& name);

// Columns the kernel computes per panel for a matrix with n columns on the current path: 8 when n <= 8
// (one 8-float vector, so a narrow layer such as a 64->1 logits conv wastes less), 16 when n <= 16 or
// the path is not avx512, else 32. Packed B rows hold whole panels.
int gemm_panel_width(int n);

// tile[i][j] = sum_{p < k} A(i, p) * B(p, j)   for i < 6, j < width   (assigns)
//   A(i, p) = a[i * a_row_stride + p * a_k_stride]   (all 6 rows must be readable; pad with zeros)
//   B(p, j) = b[p * b_k_stride + j]                   (width contiguous readable floats per row)
// width is 8, 16 or (on the avx512 path) 32; the tile's row stride is always kGemmMaxWidth (columns
// >= width are left untouched).
void gemm_micro_tile(float* tile,  // [6, kGemmMaxWidth]
                     const float* a, int64_t a_row_stride, int64_t a_k_stride,
                     const float* b, int64_t b_k_stride,  // [k, >= width]
                     int k, int width);

}  // namespace fcn
