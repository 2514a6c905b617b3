// Per-pixel math shared by the CPU reference, the fast CPU path and the CUDA kernels:
// bilinear source coordinates (TF1 legacy and TF2 half-pixel mappings) and the numerically stable
// sigmoid cross-entropy. Everything here is a small inline function callable from host and device.
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define FCN_HD __host__ __device__ __forceinline__
#else
#define FCN_HD inline
#endif

namespace fcn {

// How output pixel centres map to input coordinates (tensorflow/core/util/image_resizer_state.h).
enum class ResizeMapping : int {
  kLegacy = 0,     // TF1 resize_images: src = dst * in / out            (the seed's, the default)
  kHalfPixel = 1,  // TF2 tf.image.resize: src = (dst + 0.5) * in / out - 0.5
};

// One axis of a bilinear tap: the two source indices and the weight of the upper one.
struct BilinearTap {
  int lower;
  int upper;
  float lerp;
};

// scale = in / out, computed in float32 exactly as TensorFlow does.
FCN_HD float resize_scale(int in_size, int out_size) {
  return static_cast<float>(in_size) / static_cast<float>(out_size);
}

FCN_HD BilinearTap bilinear_tap(int dst, float scale, int in_size, ResizeMapping mapping) {
  float src = mapping == ResizeMapping::kHalfPixel
                  ? (static_cast<float>(dst) + 0.5f) * scale - 0.5f
                  : static_cast<float>(dst) * scale;
  float src_floor = std::floor(src);
  BilinearTap tap;
  tap.lower = src_floor > 0.0f ? static_cast<int>(src_floor) : 0;
  int ceil_index = static_cast<int>(std::ceil(src));
  tap.upper = ceil_index < in_size - 1 ? ceil_index : in_size - 1;
  tap.lerp = src - src_floor;  // before clamping, as TensorFlow
  return tap;
}

// TensorFlow's order of operations: lerp along x on both rows, then along y.
FCN_HD float bilinear_mix(float top_left, float top_right, float bottom_left, float bottom_right,
                          float x_lerp, float y_lerp) {
  float top = top_left + (top_right - top_left) * x_lerp;
  float bottom = bottom_left + (bottom_right - bottom_left) * x_lerp;
  return top + (bottom - top) * y_lerp;
}

// Sigmoid cross-entropy with logits x against target z in [0, 1], stable for any x:
//   max(x, 0) - x * z + log(1 + exp(-|x|))      (tf.nn.sigmoid_cross_entropy_with_logits)
template <class T>
FCN_HD T sigmoid_cross_entropy(T x, T z) {
  T relu = x > T(0) ? x : T(0);
  T abs_x = x > T(0) ? x : -x;
  return relu - x * z + std::log1p(std::exp(-abs_x));
}

// d/dx of the loss above: sigmoid(x) - z, evaluated without overflow for large |x|.
template <class T>
FCN_HD T sigmoid_stable(T x) {
  if (x >= T(0)) {
    return T(1) / (T(1) + std::exp(-x));
  }
  T e = std::exp(x);
  return e / (T(1) + e);
}

template <class T>
FCN_HD T sigmoid_cross_entropy_grad(T x, T z) {
  return sigmoid_stable(x) - z;
}

}  // namespace fcn
