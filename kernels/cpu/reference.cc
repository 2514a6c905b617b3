// Reference ops in plain loops (declared in reference.h): the readable specification of every op of
// the training step. No blocking, no threads, no SIMD: each function is the formula in its comment.
// Instantiated for float (ground truth for the fast paths) and double (finite-difference tests).
#include "kernels/cpu/reference.h"

#include <cmath>

namespace fcn {

template <class T>
void conv2d_forward_ref(T* out, const T* in, const T* weight, const T* bias, const ConvShape& s) {
  const int pad = s.kernel / 2;
  for (int b = 0; b < s.batch; ++b) {
    for (int y = 0; y < s.height; ++y) {
      for (int x = 0; x < s.width; ++x) {
        T* out_pixel = out + ((int64_t(b) * s.height + y) * s.width + x) * s.out_channels;
        for (int co = 0; co < s.out_channels; ++co) {
          out_pixel[co] = bias ? bias[co] : T(0);
        }
        for (int ky = 0; ky < s.kernel; ++ky) {
          const int iy = y + ky - pad;
          if (iy < 0 || iy >= s.height) continue;
          for (int kx = 0; kx < s.kernel; ++kx) {
            const int ix = x + kx - pad;
            if (ix < 0 || ix >= s.width) continue;
            const T* in_pixel = in + ((int64_t(b) * s.height + iy) * s.width + ix) * s.in_channels;
            const T* w_tap = weight + (int64_t(ky) * s.kernel + kx) * s.in_channels * s.out_channels;
            for (int ci = 0; ci < s.in_channels; ++ci) {
              const T value = in_pixel[ci];
              const T* w_row = w_tap + int64_t(ci) * s.out_channels;
              for (int co = 0; co < s.out_channels; ++co) {
                out_pixel[co] += value * w_row[co];
              }
            }
          }
        }
      }
    }
  }
}

template <class T>
void conv2d_backward_data_ref(T* din, const T* dout, const T* weight, const ConvShape& s) {
  const int pad = s.kernel / 2;
  for (int b = 0; b < s.batch; ++b) {
    for (int y = 0; y < s.height; ++y) {
      for (int x = 0; x < s.width; ++x) {
        const T* dout_pixel = dout + ((int64_t(b) * s.height + y) * s.width + x) * s.out_channels;
        for (int ky = 0; ky < s.kernel; ++ky) {
          const int iy = y + ky - pad;
          if (iy < 0 || iy >= s.height) continue;
          for (int kx = 0; kx < s.kernel; ++kx) {
            const int ix = x + kx - pad;
            if (ix < 0 || ix >= s.width) continue;
            T* din_pixel = din + ((int64_t(b) * s.height + iy) * s.width + ix) * s.in_channels;
            const T* w_tap = weight + (int64_t(ky) * s.kernel + kx) * s.in_channels * s.out_channels;
            for (int ci = 0; ci < s.in_channels; ++ci) {
              const T* w_row = w_tap + int64_t(ci) * s.out_channels;
              T sum = T(0);
              for (int co = 0; co < s.out_channels; ++co) {
                sum += dout_pixel[co] * w_row[co];
              }
              din_pixel[ci] += sum;
            }
          }
        }
      }
    }
  }
}

template <class T>
void conv2d_backward_filter_ref(T* dweight, T* dbias, const T* dout, const T* in, const ConvShape& s) {
  const int pad = s.kernel / 2;
  for (int b = 0; b < s.batch; ++b) {
    for (int y = 0; y < s.height; ++y) {
      for (int x = 0; x < s.width; ++x) {
        const T* dout_pixel = dout + ((int64_t(b) * s.height + y) * s.width + x) * s.out_channels;
        if (dbias) {
          for (int co = 0; co < s.out_channels; ++co) dbias[co] += dout_pixel[co];
        }
        for (int ky = 0; ky < s.kernel; ++ky) {
          const int iy = y + ky - pad;
          if (iy < 0 || iy >= s.height) continue;
          for (int kx = 0; kx < s.kernel; ++kx) {
            const int ix = x + kx - pad;
            if (ix < 0 || ix >= s.width) continue;
            const T* in_pixel = in + ((int64_t(b) * s.height + iy) * s.width + ix) * s.in_channels;
            T* dw_tap = dweight + (int64_t(ky) * s.kernel + kx) * s.in_channels * s.out_channels;
            for (int ci = 0; ci < s.in_channels; ++ci) {
              const T value = in_pixel[ci];
              T* dw_row = dw_tap + int64_t(ci) * s.out_channels;
              for (int co = 0; co < s.out_channels; ++co) {
                dw_row[co] += value * dout_pixel[co];
              }
            }
          }
        }
      }
    }
  }
}

template <class T>
void relu_forward_ref(T* out, const T* in, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = in[i] > T(0) ? in[i] : T(0);
}

template <class T>
void relu_backward_ref(T* din, const T* dout, const T* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) din[i] = out[i] > T(0) ? dout[i] : T(0);
}

template <class T>
double sigmoid_ce_loss_ref(const T* logits, const T* targets, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += double(sigmoid_cross_entropy<T>(logits[i], targets[i]));
  return sum;
}

template <class T>
void sigmoid_ce_backward_ref(T* dlogits, const T* logits, const T* targets, int64_t n, T scale) {
  for (int64_t i = 0; i < n; ++i) dlogits[i] = scale * sigmoid_cross_entropy_grad<T>(logits[i], targets[i]);
}

// TensorFlow's ApplyAdam kernel writes the moment updates as m += (g - m) * (1 - b1), which equals
// b1 m + (1 - b1) g; lr_t is formed in double from the step count and rounded once to T.
template <class T>
void adam_update_ref(T* params, const T* grads, T* m, T* v, int64_t n, const AdamConfig& cfg, int64_t t) {
  const double b1_power = std::pow(double(cfg.beta1), double(t));
  const double b2_power = std::pow(double(cfg.beta2), double(t));
  const T lr_t = T(double(cfg.lr) * std::sqrt(1.0 - b2_power) / (1.0 - b1_power));
  const T one_minus_b1 = T(1) - T(cfg.beta1);
  const T one_minus_b2 = T(1) - T(cfg.beta2);
  const T eps = T(cfg.eps);
  for (int64_t i = 0; i < n; ++i) {
    const T g = grads[i];
    m[i] += (g - m[i]) * one_minus_b1;
    v[i] += (g * g - v[i]) * one_minus_b2;
    params[i] -= lr_t * m[i] / (std::sqrt(v[i]) + eps);
  }
}

EvalCounts& EvalCounts::operator+=(const EvalCounts& o) {
  true_positive += o.true_positive;
  false_positive += o.false_positive;
  false_negative += o.false_negative;
  true_negative += o.true_negative;
  return *this;
}

double EvalCounts::iou() const {
  const int64_t denominator = true_positive + false_positive + false_negative;
  return denominator == 0 ? std::nan("") : double(true_positive) / double(denominator);
}

double EvalCounts::pixel_accuracy() const {
  const int64_t all = true_positive + false_positive + false_negative + true_negative;
  return all == 0 ? std::nan("") : double(true_positive + true_negative) / double(all);
}

EvalCounts eval_counts_ref(const float* logits, const float* targets, int64_t n) {
  EvalCounts counts;
  for (int64_t i = 0; i < n; ++i) {
    const bool predicted = logits[i] > 0.0f;
    const bool truth = targets[i] >= 0.5f;
    if (predicted && truth) ++counts.true_positive;
    if (predicted && !truth) ++counts.false_positive;
    if (!predicted && truth) ++counts.false_negative;
    if (!predicted && !truth) ++counts.true_negative;
  }
  return counts;
}

#define FCN_INSTANTIATE_REFERENCE(T)                                                                    \
  template void conv2d_forward_ref<T>(T*, const T*, const T*, const T*, const ConvShape&);             \
  template void conv2d_backward_data_ref<T>(T*, const T*, const T*, const ConvShape&);                 \
  template void conv2d_backward_filter_ref<T>(T*, T*, const T*, const T*, const ConvShape&);           \
  template void relu_forward_ref<T>(T*, const T*, int64_t);                                            \
  template void relu_backward_ref<T>(T*, const T*, const T*, int64_t);                                 \
  template double sigmoid_ce_loss_ref<T>(const T*, const T*, int64_t);                                 \
  template void sigmoid_ce_backward_ref<T>(T*, const T*, const T*, int64_t, T);                        \
  template void adam_update_ref<T>(T*, const T*, T*, T*, int64_t, const AdamConfig&, int64_t);

FCN_INSTANTIATE_REFERENCE(float)
FCN_INSTANTIATE_REFERENCE(double)

}  // namespace fcn
