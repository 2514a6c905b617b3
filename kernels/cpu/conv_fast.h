// The fast CPU convolutions: stride 1, SAME padding, odd kernel (3x3 and 1x1 in this model), NHWC
// activations, HWIO weights, any channel count and image size. Each direction is a GEMM run by the
// micro-kernel of kernels/cpu/gemm.h (6 x 32 AVX-512 or 6 x 16 AVX2, chosen at run time), threaded
// with OpenMP (docs/KERNELS_CPU.md explains the mapping and the blocking):
//   forward         out[P, Cout]    = im2col(in)[P, K*K*Cin] x W[K*K*Cin, Cout]  (+bias, +ReLU fused)
//   backward-data   din[P, Cin]     = im2col(dout)[P, K*K*Cout] x flip(W)^T[K*K*Cout, Cin]  (ReLU mask fused)
//   backward-filter dW^T[Cout, K*K*Cin] = dout^T[Cout, P] x im2col(in)[P, K*K*Cin]  (+bias gradient)
// im2col is built for 6 pixels (forward, backward-data) or 256 pixels (backward-filter) at a time in
// per-thread buffers, never for the whole batch. All three ASSIGN their outputs.
//
// Determinism: forward and backward-data compute every output element from one fixed sum. The
// backward-filter reduction over pixels is split into a fixed number of slices that depends only on the
// shape; each slice sums its pixels in order and the slices are added in order, so the result is
// bit-identical for any thread count and any timing.
//
// A ConvWorkspace holds every buffer these functions use; reserve() it for the shapes once, then the
// calls never allocate. One call at a time per workspace (the calls thread internally).
#pragma once
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "kernels/cpu/reference.h"

namespace fcn {

// Zero-filled, 64-byte-aligned float storage that only grows.
class AlignedFloats {
 public:
  float* data() const { return data_.get(); }
  int64_t size() const { return size_; }
  void grow_to(int64_t count);  // keeps nothing: contents are zero after a growth

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> data_;
  int64_t size_ = 0;
};

class ConvWorkspace {
 public:
  // threads: OpenMP threads the convolutions use (0 = all cores).
  explicit ConvWorkspace(int threads = 0);
  int threads() const { return threads_; }

  // Grows the buffers so that all three directions of a conv of shape s run without allocating.
  void reserve(const ConvShape& s);
  // True when reserve(s) would allocate nothing.
  bool fits(const ConvShape& s) const;
  int64_t bytes() const;

  // Per-call buffers (public for the implementation in conv_fast.cc; callers only reserve).
  AlignedFloats packed_weight;  // weight matrix padded to whole panels
  AlignedFloats per_thread;     // [threads, per_thread_floats]: im2col and operand copies
  AlignedFloats partials;       // [slices, partial_floats]: backward-filter partial sums
  int64_t per_thread_floats = 0;
  int64_t partial_floats = 0;

 private:
  int threads_ = 1;
};

// Pixels per backward-filter im2col chunk, and the most slices its reduction is split into.
constexpr int kFilterChunkPixels = 256;
constexpr int kFilterSlices = 16;

// out = conv(in, weight) + bias, then ReLU when relu is true.
void conv2d_forward_fast(float* out,           // [B, H, W, Cout]
                         const float* in,      // [B, H, W, Cin]
                         const float* weight,  // [K, K, Cin, Cout]
                         const float* bias,    // [Cout] or null
                         const ConvShape& s, bool relu, ConvWorkspace& ws);

// din = conv's transpose applied to dout; where relu_out is given, din = 0 where relu_out <= 0.
void conv2d_backward_data_fast(float* din,              // [B, H, W, Cin]
                               const float* dout,       // [B, H, W, Cout]
                               const float* weight,     // [K, K, Cin, Cout]
                               const float* relu_out,   // [B, H, W, Cin] or null
                               const ConvShape& s, ConvWorkspace& ws);

// dweight = sum over pixels of im2col(in) (x) dout; dbias = sum over pixels of dout (dbias may be null).
void conv2d_backward_filter_fast(float* dweight,      // [K, K, Cin, Cout]
                                 float* dbias,        // [Cout] or null
                                 const float* dout,   // [B, H, W, Cout]
                                 const float* in,     // [B, H, W, Cin]
                                 const ConvShape& s, ConvWorkspace& ws);

}  // namespace fcn
