// Reference ops in plain loops: the readable specification of every op of the training step.
// Templated on the scalar type so the tests can run them in double against finite differences, and
// used in float as the ground truth for the fast CPU path and the CUDA kernels.
//
// Layouts: activations NHWC [B, H, W, C]; conv weights HWIO [K, K, Cin, Cout] (TensorFlow's);
// convolutions are stride 1 with SAME padding (pad = K / 2, K odd).
// Backward functions ACCUMULATE (+=) into their gradient outputs, like llm.c; zero them first.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/pixel_math.h"

namespace fcn {

struct ConvShape {
  int batch = 0;
  int height = 0;
  int width = 0;
  int in_channels = 0;
  int out_channels = 0;
  int kernel = 3;  // odd
  int64_t pixels() const { return int64_t(batch) * height * width; }
  int64_t in_size() const { return pixels() * in_channels; }
  int64_t out_size() const { return pixels() * out_channels; }
  int64_t weight_size() const { return int64_t(kernel) * kernel * in_channels * out_channels; }
  double flops() const { return 2.0 * double(pixels()) * kernel * kernel * in_channels * out_channels; }
};

// out[b,y,x,co] = bias[co] + sum_{ky,kx,ci} in[b, y+ky-p, x+kx-p, ci] * weight[ky,kx,ci,co]
template <class T>
void conv2d_forward_ref(T* out,           // [B, H, W, Cout]
                        const T* in,      // [B, H, W, Cin]
                        const T* weight,  // [K, K, Cin, Cout]
                        const T* bias,    // [Cout], may be null
                        const ConvShape& s);

// din += conv2d_forward's transpose applied to dout
template <class T>
void conv2d_backward_data_ref(T* din,           // [B, H, W, Cin]  (+=)
                              const T* dout,    // [B, H, W, Cout]
                              const T* weight,  // [K, K, Cin, Cout]
                              const ConvShape& s);

// dweight += sum over pixels of in (x) dout; dbias += sum over pixels of dout
template <class T>
void conv2d_backward_filter_ref(T* dweight,      // [K, K, Cin, Cout]  (+=)
                                T* dbias,        // [Cout]  (+=), may be null
                                const T* dout,   // [B, H, W, Cout]
                                const T* in,     // [B, H, W, Cin]
                                const ConvShape& s);

template <class T>
void relu_forward_ref(T* out, const T* in, int64_t n);  // [n]; out may equal in

// din = dout where out > 0, else 0 (assigns; din may equal dout)
template <class T>
void relu_backward_ref(T* din, const T* dout, const T* out, int64_t n);  // [n] each

// Sum over n of sigmoid_cross_entropy(logits, targets), accumulated in double.
template <class T>
double sigmoid_ce_loss_ref(const T* logits, const T* targets, int64_t n);  // [n] each

// dlogits = scale * (sigmoid(logits) - targets)   (assigns). scale = 1 for sum, 1/n for mean.
template <class T>
void sigmoid_ce_backward_ref(T* dlogits, const T* logits, const T* targets, int64_t n, T scale);

struct AdamConfig {
  float lr = 1e-4f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
};

// TensorFlow 1's Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t); param -= lr_t * m / (sqrt(v) + eps). step t counts from 1.
template <class T>
void adam_update_ref(T* params, const T* grads, T* m, T* v, int64_t n, const AdamConfig& cfg, int64_t t);

// Bilinear resize of one uint8 RGB image to size x size float32 (values stay 0..255).
void resize_image_ref(float* out,          // [size, size, 3]
                      const uint8_t* in,   // [height, width, 3]
                      int height, int width, int size, ResizeMapping mapping);

// Soft targets: for each class c, the mask (label == class_values[c]) resized with the same bilinear
// filter, or with nearest neighbour as tf.image.resize_nearest_neighbor does for the same mapping.
void resize_targets_ref(float* out,             // [size, size, C]
                        const uint8_t* label,   // [height, width]
                        int height, int width, int size,
                        const int* class_values, int num_classes,  // [C]
                        ResizeMapping mapping, bool nearest);

// Confusion counts for IoU and pixel accuracy: prediction = logit > 0 (probability > 0.5),
// truth = target >= 0.5.
struct EvalCounts {
  int64_t true_positive = 0;
  int64_t false_positive = 0;
  int64_t false_negative = 0;
  int64_t true_negative = 0;
  EvalCounts& operator+=(const EvalCounts& o);
  // tp / (tp + fp + fn). Undefined (NaN) when no pixel is positive in the targets or the predictions, as
  // TensorFlow's IoU metrics leave such a class out: never reported as a perfect 1.
  double iou() const;
  double pixel_accuracy() const;  // (tp + tn) / all; NaN when nothing was counted
};
EvalCounts eval_counts_ref(const float* logits, const float* targets, int64_t n);

}  // namespace fcn
