// The FCN: hidden 3x3 convs (+bias +ReLU) then a 1x1 conv to one logit per class, NHWC, float32.
// Parameters, gradients and Adam moments live in one backend buffer each, in the same layout
// (parameter_layout), so the optimizer is one flat call; activations live in one arena. All of it is
// allocated once, in the constructor. forward() and backward() are the model's whole computation:
// backward reads as forward in reverse, one backend op per line.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/dist/gradient_reducer.h"

namespace fcn {

struct ModelConfig {
  int in_channels = 3;
  int channels = 64;  // width of every hidden layer
  int layers = 2;     // hidden conv layers (the seed has 2)
  int kernel = 3;     // hidden conv kernel size (odd)
  int classes = 1;    // one logit per legend class
  bool operator==(const ModelConfig&) const = default;
  std::string describe() const;  // "3 -> 2 x conv3x3(64) -> conv1x1(1)"
};

// The largest model a run or a checkpoint may describe (engine/train_checks.cc, engine/checkpoint.cc).
struct ModelLimits {
  static constexpr int kMaxInChannels = 64;
  static constexpr int kMaxChannels = 4096;
  static constexpr int kMaxLayers = 64;
  static constexpr int kMaxKernel = 31;
  static constexpr int kMaxClasses = 255;
};

// One named tensor inside the flat parameter buffer. Conv weights are HWIO [K, K, Cin, Cout].
struct TensorInfo {
  std::string name;              // conv1.weight, conv1.bias, ..., logits.weight, logits.bias
  std::vector<int64_t> shape;
  int64_t offset = 0;            // in floats, into the flat buffer
  int64_t size = 0;              // product of shape
  bool is_weight = false;        // conv kernel (gets weight decay) rather than bias
};
std::vector<TensorInfo> parameter_layout(const ModelConfig& config);
int64_t parameter_count(const ModelConfig& config);

// The conv shapes of one pass, first layer to logits. width < 0 means square (width = height).
std::vector<ConvShape> conv_shapes(const ModelConfig& config, int batch, int height, int width = -1);

// Glorot-uniform weights (limit sqrt(6 / (fan_in + fan_out)), fan = K*K*C), zero biases; deterministic
// for a seed on every platform. params: [parameter_count] host floats.
void glorot_init(std::vector<float>& params, const ModelConfig& config, uint64_t seed);

enum class LossReduction { kSum, kMean };  // sum over pixels and classes (the seed's), or their mean

class Model {
 public:
  // Inputs are height x width (training uses square S x S: width < 0 means width = height).
  Model(Backend& backend, const ModelConfig& config, int max_batch, int height, int width = -1);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelConfig& config() const { return config_; }
  const std::vector<TensorInfo>& layout() const { return layout_; }
  int max_batch() const { return max_batch_; }
  int height() const { return height_; }
  int width() const { return width_; }
  int64_t step() const { return step_; }  // Adam steps taken
  void set_step(int64_t step) { step_ = step; }
  int64_t bytes_allocated() const;

  // Backend buffers the trainer fills: x [max_batch, H, W, 3], targets [max_batch, H, W, C].
  float* input() { return x_; }
  float* targets() { return targets_; }
  const float* logits() const { return logits_; }  // [batch, H, W, C] after forward

  void forward(int batch);
  // Loss of the last forward against targets(); writes dlogits. Returns the reported loss: the sum over
  // pixels and classes, or their mean, plus the L2 term when weight_decay > 0. Data parallel: batch is
  // this rank's slice and global_batch the whole batch's size (0: the same as batch); the mean divides by
  // the global batch's pixels, so that the ranks' losses and gradients add up to the single process's.
  double loss_and_dlogits(int batch, LossReduction reduction, float weight_decay, int global_batch = 0);
  double loss_only(int batch, LossReduction reduction);  // evaluation: no gradient
  // Fills the gradient buffer. With a reducer, each layer's gradients (weight and bias, contiguous) are
  // handed to it as soon as they are complete, last layer first, and backward returns after reducer->wait().
  void backward(int batch, float weight_decay, GradientReducer* reducer = nullptr);
  void adam_step(const AdamConfig& adam);                // step_ += 1, then the update

  // Host copies, in parameter_layout order (for checkpoints, tests, histograms).
  std::vector<float> get_params() const;
  std::vector<float> get_grads() const;
  std::vector<float> get_adam_m() const;
  std::vector<float> get_adam_v() const;
  void set_params(const std::vector<float>& host);
  void set_adam_moments(const std::vector<float>& m, const std::vector<float>& v);

 private:
  float* param(int tensor) { return params_ + layout_[tensor].offset; }
  float* grad(int tensor) { return grads_ + layout_[tensor].offset; }

  Backend& backend_;
  ModelConfig config_;
  std::vector<TensorInfo> layout_;
  int max_batch_;
  int height_;
  int width_;
  int64_t step_ = 0;
  int64_t param_count_ = 0;
  // one buffer each
  float* params_ = nullptr;
  float* grads_ = nullptr;
  float* adam_m_ = nullptr;
  float* adam_v_ = nullptr;
  // the activation arena and named pointers into it
  float* arena_ = nullptr;
  int64_t arena_floats_ = 0;
  float* x_ = nullptr;                  // [B, H, W, 3]
  float* targets_ = nullptr;            // [B, H, W, C]
  std::vector<float*> hidden_;          // per hidden layer, post-ReLU [B, H, W, Ch]
  float* logits_ = nullptr;             // [B, H, W, C]
  float* dlogits_ = nullptr;            // [B, H, W, C]
  float* dhidden_[2] = {nullptr, nullptr};  // ping-pong gradients of hidden activations [B, H, W, Ch]
};

}  // namespace fcn
