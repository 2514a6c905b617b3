// The register-tiled GEMM micro-kernel behind the fast CPU convolutions (kernels/cpu/conv_fast.cc).
//
// One call computes a 6 x 16 tile of C = A * B over a reduction of length k, keeping the 12 (or 6)
// accumulator vectors in AVX2 registers: each reduction step broadcasts 6 values of A and multiplies
// them with 16 (or 8) contiguous values of B by fused multiply-add. A is read through two strides so
// the same kernel serves both orientations the convolutions need (pixel-major rows for forward and
// backward-data, channel-major rows for backward-filter); B rows are 16 (or 8) contiguous floats.
// Without AVX2+FMA the same loops compile as portable scalar code (same results up to rounding).
#pragma once
#include <cstdint>

namespace fcn {

constexpr int kGemmMr = 6;   // rows of a micro-tile
constexpr int kGemmNr = 16;  // columns of a micro-tile (two vectors of 8 floats)

// Columns the kernel computes per panel for a matrix with n columns: 8 when n <= 8 (one vector, so a
// narrow layer such as a 64->1 logits conv wastes less), else 16. Packed B rows are this wide.
inline int gemm_panel_width(int n) { return n <= 8 ? 8 : kGemmNr; }

// tile[i][j] = sum_{p < k} A(i, p) * B(p, j)   for i < 6, j < width   (assigns)
//   A(i, p) = a[i * a_row_stride + p * a_k_stride]   (all 6 rows must be readable; pad with zeros)
//   B(p, j) = b[p * b_k_stride + j]                   (width contiguous readable floats per row)
// width is 8 or 16; the tile's row stride is always 16 (columns >= width are left untouched).
void gemm_micro_tile(float* tile,  // [6, 16]
                     const float* a, int64_t a_row_stride, int64_t a_k_stride,
                     const float* b, int64_t b_k_stride,  // [k, >= width]
                     int k, int width);

// True when the AVX2+FMA kernel was compiled in (else the portable loops run).
bool gemm_uses_avx2();

}  // namespace fcn
