// A second, independent composition of the model from the plain-loop reference ops, templated on the
// scalar type: the tests run it in double against finite differences, then compare the engine's Model
// (float, through a Backend) with it.
#pragma once
#include <vector>

#include "engine/model.h"
#include "kernels/cpu/reference.h"

namespace fcn::test {

// Two conv layers of 4 channels and 2 classes: small enough for finite differences in double.
inline ModelConfig small_model_config() {
  ModelConfig c;
  c.channels = 4;
  c.layers = 2;
  c.classes = 2;
  return c;
}

template <class T>
struct ReferenceModel {
  ModelConfig config;
  int batch = 1;
  int size = 1;

  // Loss (sum, or mean over batch*S*S*C) and, when grads is given, d loss / d params in layout order.
  T loss_and_grads(const std::vector<T>& params,   // [parameter_count]
                   const std::vector<T>& x,        // [B, S, S, 3]
                   const std::vector<T>& targets,  // [B, S, S, C]
                   LossReduction reduction, std::vector<T>* grads,
                   std::vector<T>* logits_out = nullptr) const {
    const auto layout = parameter_layout(config);
    const auto shapes = conv_shapes(config, batch, size);
    const int L = config.layers;
    // forward, keeping every activation
    std::vector<std::vector<T>> acts(L + 1);  // acts[l] = input of layer l; acts[0] = x
    acts[0] = x;
    for (int l = 0; l < L; ++l) {
      acts[l + 1].assign(shapes[l].out_size(), T(0));
      conv2d_forward_ref(acts[l + 1].data(), acts[l].data(), &params[layout[2 * l].offset],
                         &params[layout[2 * l + 1].offset], shapes[l]);
      relu_forward_ref(acts[l + 1].data(), acts[l + 1].data(), shapes[l].out_size());
    }
    std::vector<T> logits(shapes[L].out_size());
    conv2d_forward_ref(logits.data(), acts[L].data(), &params[layout[2 * L].offset],
                       &params[layout[2 * L + 1].offset], shapes[L]);
    if (logits_out) *logits_out = logits;
    const int64_t n = int64_t(logits.size());
    const T scale = reduction == LossReduction::kMean ? T(1) / T(n) : T(1);
    const T loss = T(sigmoid_ce_loss_ref(logits.data(), targets.data(), n)) * scale;
    if (!grads) return loss;

    // backward, the forward in reverse
    grads->assign(params.size(), T(0));
    std::vector<T> dout(n);
    sigmoid_ce_backward_ref(dout.data(), logits.data(), targets.data(), n, scale);
    for (int l = L; l >= 0; --l) {
      conv2d_backward_filter_ref(&(*grads)[layout[2 * l].offset], &(*grads)[layout[2 * l + 1].offset],
                                 dout.data(), acts[l].data(), shapes[l]);
      if (l == 0) break;
      std::vector<T> din(shapes[l].in_size(), T(0));
      conv2d_backward_data_ref(din.data(), dout.data(), &params[layout[2 * l].offset], shapes[l]);
      relu_backward_ref(din.data(), din.data(), acts[l].data(), shapes[l].in_size());  // acts[l] = relu output
      dout.swap(din);
    }
    return loss;
  }
};

}  // namespace fcn::test
