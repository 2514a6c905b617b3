// The fast CPU convolutions (see conv_fast.h): im2col of a few pixels at a time into per-thread
// buffers, the 6 x 16 or 6 x 32 micro-kernel of gemm.h over whole panels, and fused epilogues.
#include "kernels/cpu/conv_fast.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "kernels/cpu/gemm.h"

namespace fcn {
namespace {

int64_t round_up(int64_t value, int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

// Columns of the padded B matrix for n real columns: whole panels of gemm_panel_width(n) (the path's).
int64_t padded_columns(int n) { return round_up(n, gemm_panel_width(n)); }

// The most columns any path pads n to: buffers are sized with this, so a workspace reserved on one GEMM
// path serves every other (tests and benchmarks switch paths between calls).
int64_t reserved_columns(int n) { return round_up(n, n <= 8 ? 8 : n <= 16 ? 16 : kGemmMaxWidth); }

// Floats one thread needs for the forward-shaped GEMM with in_c input and out_c output channels.
int64_t forward_thread_floats(int taps, int in_c) { return round_up(int64_t(kGemmMr) * taps * in_c, 16); }

int64_t forward_weight_floats(int taps, int in_c, int out_c) { return int64_t(taps) * in_c * reserved_columns(out_c); }

// Backward-filter operands per thread: dout chunk [Pc, Mpad] and im2col chunk [Pc, Npad].
int64_t filter_thread_floats(const ConvShape& s) {
  const int64_t m_pad = round_up(s.out_channels, kGemmMr);
  const int64_t n_pad = reserved_columns(s.kernel * s.kernel * s.in_channels);
  return round_up(kFilterChunkPixels * m_pad, 16) + round_up(kFilterChunkPixels * n_pad, 16);
}

// One slice's partial dW^T [Mpad, Npad] followed by its partial bias gradient [Cout rounded to 16].
int64_t filter_partial_floats(const ConvShape& s) {
  const int64_t m_pad = round_up(s.out_channels, kGemmMr);
  const int64_t n_pad = reserved_columns(s.kernel * s.kernel * s.in_channels);
  return round_up(m_pad * n_pad, 16) + round_up(s.out_channels, 16);
}

// Copies one pixel's channels: a plain loop for the few channels of an RGB input (a memcpy call would
// cost more than the copy), memcpy otherwise.
inline void copy_channels(float* dst, const float* src, int channels) {
  if (channels < 16) {
    for (int c = 0; c < channels; ++c) dst[c] = src[c];
  } else {
    std::memcpy(dst, src, sizeof(float) * channels);
  }
}

inline void zero_channels(float* dst, int channels) {
  for (int c = 0; c < channels; ++c) dst[c] = 0.0f;
}

void check_shape(const ConvShape& s, const char* op) {
  if (s.batch <= 0 || s.height <= 0 || s.width <= 0 || s.in_channels <= 0 || s.out_channels <= 0 ||
      s.kernel <= 0 || s.kernel % 2 == 0) {
    throw std::invalid_argument(std::string(op) + ": bad conv shape B=" + std::to_string(s.batch) +
                                " H=" + std::to_string(s.height) + " W=" + std::to_string(s.width) +
                                " Cin=" + std::to_string(s.in_channels) + " Cout=" + std::to_string(s.out_channels) +
                                " K=" + std::to_string(s.kernel) +
                                "\nHINT: all sizes must be positive and the kernel odd (1 or 3).");
  }
}

void check_reserved(const ConvWorkspace& ws, const ConvShape& s, const char* op) {
  if (!ws.fits(s)) {
    throw std::logic_error(std::string(op) + ": the ConvWorkspace was not reserved for Cin=" +
                           std::to_string(s.in_channels) + " Cout=" + std::to_string(s.out_channels) +
                           " K=" + std::to_string(s.kernel) +
                           "\nHINT: call ConvWorkspace::reserve(shape) (Backend::reserve) before the step.");
  }
}

// Writes the im2col row of pixel p: for each tap (ky, kx) the C channels of src at
// (y + ky - pad, x + kx - pad), zeros outside the image. In NHWC the K taps of one kernel row are
// K * C adjacent floats, so away from the left and right borders each kernel row is one copy.
void im2col_pixel(float* row,        // [K*K*C]
                  const float* src,  // [B, H, W, C]
                  int64_t p, int height, int width, int channels, int kernel) {
  const int pad = kernel / 2;
  const int64_t image_pixels = int64_t(height) * width;
  const int64_t b = p / image_pixels;
  const int64_t in_image = p % image_pixels;
  const int y = int(in_image / width);
  const int x = int(in_image % width);
  const int span = kernel * channels;
  const bool inside_x = x - pad >= 0 && x + pad < width;
  for (int ky = 0; ky < kernel; ++ky) {
    const int iy = y + ky - pad;
    float* dst = row + int64_t(ky) * span;
    if (iy < 0 || iy >= height) {
      zero_channels(dst, span);
      continue;
    }
    const float* src_row = src + (b * height + iy) * width * int64_t(channels);
    if (inside_x) {
      copy_channels(dst, src_row + int64_t(x - pad) * channels, span);
      continue;
    }
    for (int kx = 0; kx < kernel; ++kx) {
      const int ix = x + kx - pad;
      if (ix < 0 || ix >= width) {
        zero_channels(dst + kx * channels, channels);
      } else {
        copy_channels(dst + kx * channels, src_row + int64_t(ix) * channels, channels);
      }
    }
  }
}

// Copies the im2col rows of `rows` consecutive pixels starting at p0 into a [6, taps * C] block
// (rows beyond `rows` are zero).
void im2col_tile(float* a,          // [6, K*K*C]
                 const float* src,  // [B, H, W, C]
                 int64_t p0, int rows, int height, int width, int channels, int kernel) {
  const int64_t row_floats = int64_t(kernel) * kernel * channels;
  for (int i = 0; i < kGemmMr; ++i) {
    float* row = a + i * row_floats;
    if (i >= rows) {
      std::memset(row, 0, sizeof(float) * row_floats);
    } else {
      im2col_pixel(row, src, p0 + i, height, width, channels, kernel);
    }
  }
}

// Stores one row of a finished tile: dst[j] = epilogue(sums[j]) for j < cols. W > 0 fixes cols = W at
// compile time so the loops vectorise. keep given: the ReLU mask (0 where keep <= 0); else + bias
// (if given), then max(0, .) when relu.
template <int W>
inline void store_row(float* __restrict dst, const float* __restrict sums, const float* __restrict bias,
                      const float* __restrict keep, bool relu, int cols) {
  const int n = W > 0 ? W : cols;
  if (keep) {
    // Both loads before the select, so the vectorised loop uses plain loads and a blend (a masked
    // load of the just-stored tile would defeat store forwarding).
    for (int j = 0; j < n; ++j) {
      const float value = sums[j];
      const float gate = keep[j];
      dst[j] = gate > 0.0f ? value : 0.0f;
    }
    return;
  }
  float row[kGemmMaxWidth];
  if (bias) {
    for (int j = 0; j < n; ++j) row[j] = sums[j] + bias[j];
  } else {
    for (int j = 0; j < n; ++j) row[j] = sums[j];
  }
  if (relu) {
    for (int j = 0; j < n; ++j) dst[j] = row[j] > 0.0f ? row[j] : 0.0f;
  } else {
    for (int j = 0; j < n; ++j) dst[j] = row[j];
  }
}

// The forward-shaped implicit GEMM shared by forward and backward-data:
//   out[p, n] = epilogue( sum_k im2col(in)[p, k] * packed_b[k, n] )
// with in_c channels in `in`, out_c columns, packed_b [taps * in_c, padded_columns(out_c)].
// Epilogue: + bias[n] (if bias), max(0, .) (if relu), 0 where mask[p, n] <= 0 (if mask).
void implicit_gemm_forward(float* out,             // [P, out_c]
                           const float* in,        // [P, in_c]
                           const float* packed_b,  // [taps * in_c, Npad]
                           const float* bias,      // [out_c] or null
                           const float* mask,      // [P, out_c] or null
                           bool relu, int batch, int height, int width, int kernel, int in_c, int out_c,
                           ConvWorkspace& ws) {
  const int64_t pixels = int64_t(batch) * height * width;
  const int64_t tiles = (pixels + kGemmMr - 1) / kGemmMr;
  const int reduction = kernel * kernel * in_c;
  const int panel = gemm_panel_width(out_c);
  const int64_t n_pad = padded_columns(out_c);
#pragma omp parallel num_threads(ws.threads())
  {
    float* a_tile = ws.per_thread.data() + omp_get_thread_num() * ws.per_thread_floats;
    alignas(64) float tile[kGemmMr * kGemmMaxWidth];
#pragma omp for schedule(static)
    for (int64_t t = 0; t < tiles; ++t) {
      const int64_t p0 = t * kGemmMr;
      const int rows = int(std::min<int64_t>(kGemmMr, pixels - p0));
      const float* a = a_tile;
      int64_t a_row_stride = reduction;
      if (kernel == 1 && rows == kGemmMr) {
        a = in + p0 * in_c;  // a 1x1 conv reads its rows straight from the input
        a_row_stride = in_c;
      } else {
        im2col_tile(a_tile, in, p0, rows, height, width, in_c, kernel);
      }
      for (int n0 = 0; n0 < out_c; n0 += panel) {
        gemm_micro_tile(tile, a, a_row_stride, 1, packed_b + n0, n_pad, reduction, panel);
        const int cols = std::min(panel, out_c - n0);
        const float* bias_cols = bias ? bias + n0 : nullptr;
        for (int i = 0; i < rows; ++i) {
          const float* keep = mask ? mask + (p0 + i) * out_c + n0 : nullptr;
          float* dst = out + (p0 + i) * out_c + n0;
          const float* sums = tile + i * kGemmMaxWidth;
          if (cols == 32) {
            store_row<32>(dst, sums, bias_cols, keep, relu, cols);
          } else if (cols == 16) {
            store_row<16>(dst, sums, bias_cols, keep, relu, cols);
          } else if (cols == 8) {
            store_row<8>(dst, sums, bias_cols, keep, relu, cols);
          } else {
            store_row<0>(dst, sums, bias_cols, keep, relu, cols);
          }
        }
      }
    }
  }
}

}  // namespace

void AlignedFloats::grow_to(int64_t count) {
  if (count <= size_) return;
  const size_t bytes = size_t(round_up(count, 16)) * sizeof(float);
  float* p = static_cast<float*>(std::aligned_alloc(64, bytes));
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  data_.reset(p);
  size_ = count;
}

ConvWorkspace::ConvWorkspace(int threads) {
  threads_ = threads > 0 ? threads : omp_get_num_procs();
}

bool ConvWorkspace::fits(const ConvShape& s) const {
  const int taps = s.kernel * s.kernel;
  const int64_t thread_need = std::max({forward_thread_floats(taps, s.in_channels),
                                        forward_thread_floats(taps, s.out_channels), filter_thread_floats(s)});
  const int64_t weight_need = std::max(forward_weight_floats(taps, s.in_channels, s.out_channels),
                                       forward_weight_floats(taps, s.out_channels, s.in_channels));
  return thread_need <= per_thread_floats && weight_need <= packed_weight.size() &&
         filter_partial_floats(s) <= partial_floats;
}

void ConvWorkspace::reserve(const ConvShape& s) {
  check_shape(s, "ConvWorkspace::reserve");
  const int taps = s.kernel * s.kernel;
  per_thread_floats = std::max({per_thread_floats, forward_thread_floats(taps, s.in_channels),
                                forward_thread_floats(taps, s.out_channels), filter_thread_floats(s)});
  per_thread.grow_to(per_thread_floats * threads_);
  packed_weight.grow_to(std::max(forward_weight_floats(taps, s.in_channels, s.out_channels),
                                 forward_weight_floats(taps, s.out_channels, s.in_channels)));
  partial_floats = std::max(partial_floats, filter_partial_floats(s));
  partials.grow_to(partial_floats * kFilterSlices);
}

int64_t ConvWorkspace::bytes() const {
  return (packed_weight.size() + per_thread.size() + partials.size()) * int64_t(sizeof(float));
}

void conv2d_forward_fast(float* out, const float* in, const float* weight, const float* bias, const ConvShape& s,
                         bool relu, ConvWorkspace& ws) {
  check_shape(s, "conv2d_forward_fast");
  check_reserved(ws, s, "conv2d_forward_fast");
  // B = W as a [K*K*Cin, Cout] matrix, its rows padded to whole panels.
  const int64_t reduction = int64_t(s.kernel) * s.kernel * s.in_channels;
  const int64_t n_pad = padded_columns(s.out_channels);
  float* packed = ws.packed_weight.data();
  for (int64_t k = 0; k < reduction; ++k) {
    std::memcpy(packed + k * n_pad, weight + k * s.out_channels, sizeof(float) * s.out_channels);
    std::fill(packed + k * n_pad + s.out_channels, packed + (k + 1) * n_pad, 0.0f);
  }
  implicit_gemm_forward(out, in, packed, bias, nullptr, relu, s.batch, s.height, s.width, s.kernel, s.in_channels,
                        s.out_channels, ws);
}

void conv2d_backward_data_fast(float* din, const float* dout, const float* weight, const float* relu_out,
                               const ConvShape& s, ConvWorkspace& ws) {
  check_shape(s, "conv2d_backward_data_fast");
  check_reserved(ws, s, "conv2d_backward_data_fast");
  // din[y, x, ci] = sum_{ky,kx,co} dout[y + ky' - pad, x + kx' - pad, co] * W[K-1-ky', K-1-kx', ci, co]:
  // a forward conv of dout with B[(tap', co), ci] = W[taps - 1 - tap', ci, co].
  const int taps = s.kernel * s.kernel;
  const int64_t n_pad = padded_columns(s.in_channels);
  float* packed = ws.packed_weight.data();
  for (int tap = 0; tap < taps; ++tap) {
    const float* w_tap = weight + int64_t(taps - 1 - tap) * s.in_channels * s.out_channels;
    for (int co = 0; co < s.out_channels; ++co) {
      float* row = packed + (int64_t(tap) * s.out_channels + co) * n_pad;
      for (int ci = 0; ci < s.in_channels; ++ci) row[ci] = w_tap[int64_t(ci) * s.out_channels + co];
      std::fill(row + s.in_channels, row + n_pad, 0.0f);
    }
  }
  implicit_gemm_forward(din, dout, packed, nullptr, relu_out, false, s.batch, s.height, s.width, s.kernel,
                        s.out_channels, s.in_channels, ws);
}

void conv2d_backward_filter_fast(float* dweight, float* dbias, const float* dout, const float* in,
                                 const ConvShape& s, ConvWorkspace& ws) {
  check_shape(s, "conv2d_backward_filter_fast");
  check_reserved(ws, s, "conv2d_backward_filter_fast");
  const int cin = s.in_channels, cout = s.out_channels;
  const int64_t pixels = s.pixels();
  const int reduction_rows = s.kernel * s.kernel * cin;  // rows of dW = columns of dW^T
  const int panel = gemm_panel_width(reduction_rows);
  const int64_t m_pad = round_up(cout, kGemmMr);
  const int64_t n_pad = padded_columns(reduction_rows);
  const int64_t chunks = (pixels + kFilterChunkPixels - 1) / kFilterChunkPixels;
  const int slices = int(std::min<int64_t>(kFilterSlices, chunks));
  const int64_t bias_offset = round_up(m_pad * n_pad, 16);
  // A 1x1 conv whose channels fill whole panels reads its im2col rows straight from the input.
  const bool direct_input = s.kernel == 1 && n_pad == cin;

#pragma omp parallel num_threads(ws.threads())
  {
    float* dout_chunk = ws.per_thread.data() + omp_get_thread_num() * ws.per_thread_floats;  // [Pc, Mpad]
    float* col_chunk = dout_chunk + round_up(kFilterChunkPixels * m_pad, 16);                // [Pc, Npad]
    alignas(64) float tile[kGemmMr * kGemmMaxWidth];
    // Padding columns of both chunks stay zero: only real columns are written below.
    std::memset(dout_chunk, 0, sizeof(float) * kFilterChunkPixels * m_pad);
    std::memset(col_chunk, 0, sizeof(float) * kFilterChunkPixels * n_pad);
#pragma omp for schedule(static)
    for (int slice = 0; slice < slices; ++slice) {
      float* partial = ws.partials.data() + int64_t(slice) * ws.partial_floats;  // dW^T [Mpad, Npad]
      float* bias_partial = partial + bias_offset;                                // [Cout]
      std::memset(partial, 0, sizeof(float) * (bias_offset + cout));
      const int64_t chunk_begin = chunks * slice / slices, chunk_end = chunks * (slice + 1) / slices;
      for (int64_t c = chunk_begin; c < chunk_end; ++c) {
        const int64_t p0 = c * kFilterChunkPixels;
        const int count = int(std::min<int64_t>(kFilterChunkPixels, pixels - p0));
        for (int q = 0; q < count; ++q) {
          const float* g = dout + (p0 + q) * cout;
          copy_channels(dout_chunk + q * m_pad, g, cout);
          for (int co = 0; co < cout; ++co) bias_partial[co] += g[co];
          if (direct_input) continue;
          im2col_pixel(col_chunk + q * n_pad, in, p0 + q, s.height, s.width, cin, s.kernel);
        }
        // dW^T[co, r] += sum_q dout_chunk[q, co] * col_chunk[q, r]
        const float* cols = direct_input ? in + p0 * cin : col_chunk;
        for (int64_t n0 = 0; n0 < n_pad; n0 += panel) {
          for (int64_t m0 = 0; m0 < m_pad; m0 += kGemmMr) {
            gemm_micro_tile(tile, dout_chunk + m0, 1, m_pad, cols + n0, n_pad, count, panel);
            for (int i = 0; i < kGemmMr; ++i) {
              float* dst = partial + (m0 + i) * n_pad + n0;
              const float* sums = tile + i * kGemmMaxWidth;
              if (panel == 32) {
                for (int j = 0; j < 32; ++j) dst[j] += sums[j];
              } else if (panel == 16) {
                for (int j = 0; j < 16; ++j) dst[j] += sums[j];
              } else {
                for (int j = 0; j < panel; ++j) dst[j] += sums[j];
              }
            }
          }
        }
      }
    }
    // Slices added in order: dweight[r, co] = sum_slice dW^T_slice[co, r].
#pragma omp for schedule(static)
    for (int co = 0; co < cout; ++co) {
      for (int r = 0; r < reduction_rows; ++r) {
        float sum = 0.0f;
        for (int slice = 0; slice < slices; ++slice) {
          sum += ws.partials.data()[int64_t(slice) * ws.partial_floats + co * n_pad + r];
        }
        dweight[int64_t(r) * cout + co] = sum;
      }
      if (dbias) {
        float sum = 0.0f;
        for (int slice = 0; slice < slices; ++slice) {
          sum += ws.partials.data()[int64_t(slice) * ws.partial_floats + bias_offset + co];
        }
        dbias[co] = sum;
      }
    }
  }
}

}  // namespace fcn
