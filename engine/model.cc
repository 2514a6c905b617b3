// The FCN's layouts, initialisation, and its forward and backward passes as calls of backend ops.
#include "engine/model.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "engine/rng.h"

namespace fcn {

std::string ModelConfig::describe() const {
  return std::to_string(in_channels) + " -> " + std::to_string(layers) + " x conv" +
         std::to_string(kernel) + "x" + std::to_string(kernel) + "(" + std::to_string(channels) +
         ") + ReLU -> conv1x1(" + std::to_string(classes) + ")";
}

std::vector<TensorInfo> parameter_layout(const ModelConfig& c) {
  std::vector<TensorInfo> layout;
  int64_t offset = 0;
  auto add = [&](std::string name, std::vector<int64_t> shape, bool is_weight) {
    TensorInfo t;
    t.name = std::move(name);
    t.shape = std::move(shape);
    t.size = 1;
    for (int64_t d : t.shape) t.size *= d;
    t.offset = offset;
    t.is_weight = is_weight;
    offset += t.size;
    layout.push_back(std::move(t));
  };
  int in = c.in_channels;
  for (int l = 0; l < c.layers; ++l) {
    std::string name = "conv" + std::to_string(l + 1);
    add(name + ".weight", {c.kernel, c.kernel, in, c.channels}, true);
    add(name + ".bias", {c.channels}, false);
    in = c.channels;
  }
  add("logits.weight", {1, 1, in, c.classes}, true);
  add("logits.bias", {c.classes}, false);
  return layout;
}

int64_t parameter_count(const ModelConfig& config) {
  const auto layout = parameter_layout(config);
  return layout.back().offset + layout.back().size;
}

std::vector<ConvShape> conv_shapes(const ModelConfig& c, int batch, int height, int width) {
  if (width < 0) width = height;
  std::vector<ConvShape> shapes;
  int in = c.in_channels;
  for (int l = 0; l < c.layers; ++l) {
    shapes.push_back(ConvShape{batch, height, width, in, c.channels, c.kernel});
    in = c.channels;
  }
  shapes.push_back(ConvShape{batch, height, width, in, c.classes, 1});
  return shapes;
}

void glorot_init(std::vector<float>& params, const ModelConfig& config, uint64_t seed) {
  const auto layout = parameter_layout(config);
  params.assign(parameter_count(config), 0.0f);
  SplitMix64 rng(seed ^ 0x9E3779B97F4A7C15ull);
  for (const TensorInfo& t : layout) {
    if (!t.is_weight) continue;  // biases start at zero
    const double receptive = double(t.shape[0]) * double(t.shape[1]);
    const double fan_in = receptive * double(t.shape[2]);
    const double fan_out = receptive * double(t.shape[3]);
    const float limit = float(std::sqrt(6.0 / (fan_in + fan_out)));
    for (int64_t i = 0; i < t.size; ++i) {
      params[t.offset + i] = limit * (2.0f * rng.uniform_float() - 1.0f);
    }
  }
}

Model::Model(Backend& backend, const ModelConfig& config, int max_batch, int height, int width)
    : backend_(backend), config_(config), layout_(parameter_layout(config)),
      max_batch_(max_batch), height_(height), width_(width < 0 ? height : width) {
  if (config.layers < 1 || config.channels < 1 || config.classes < 1 || config.kernel < 1 ||
      config.kernel % 2 == 0) {
    throw std::invalid_argument("model: need layers >= 1, channels >= 1, classes >= 1 and an odd kernel");
  }
  if (max_batch < 1 || height_ < 1 || width_ < 1) {
    throw std::invalid_argument("model: batch, height and width must be >= 1");
  }
  param_count_ = parameter_count(config);
  params_ = backend_.alloc(param_count_);
  grads_ = backend_.alloc(param_count_);
  adam_m_ = backend_.alloc(param_count_);
  adam_v_ = backend_.alloc(param_count_);

  const int64_t pixels = int64_t(max_batch) * height_ * width_;
  const int64_t hidden = pixels * config.channels;
  const int64_t per_class = pixels * config.classes;
  arena_floats_ = pixels * config.in_channels + 3 * per_class + hidden * (config.layers + 2);
  arena_ = backend_.alloc(arena_floats_);
  float* cursor = arena_;
  auto take = [&cursor](int64_t count) {
    float* p = cursor;
    cursor += count;
    return p;
  };
  x_ = take(pixels * config.in_channels);
  targets_ = take(per_class);
  for (int l = 0; l < config.layers; ++l) hidden_.push_back(take(hidden));
  logits_ = take(per_class);
  dlogits_ = take(per_class);
  dhidden_[0] = take(hidden);
  dhidden_[1] = take(hidden);
  backend_.reserve(conv_shapes(config, max_batch, height_, width_), max_batch, std::max(height_, width_),
                   config.classes);
}

Model::~Model() {
  for (float* p : {params_, grads_, adam_m_, adam_v_, arena_}) {
    if (p) backend_.release(p);
  }
}

int64_t Model::bytes_allocated() const {
  return int64_t(sizeof(float)) * (4 * param_count_ + arena_floats_);
}

void Model::forward(int batch) {
  const auto shapes = conv_shapes(config_, batch, height_, width_);
  const float* in = x_;
  for (int l = 0; l < config_.layers; ++l) {
    backend_.conv2d_forward(hidden_[l], in, param(2 * l), param(2 * l + 1), shapes[l], /*relu=*/true);
    in = hidden_[l];
  }
  const int out = 2 * config_.layers;
  backend_.conv2d_forward(logits_, in, param(out), param(out + 1), shapes.back(), /*relu=*/false);
}

static double l2_term(const std::vector<float>& params, const std::vector<TensorInfo>& layout,
                      float weight_decay) {
  double sum = 0.0;
  for (const TensorInfo& t : layout) {
    if (!t.is_weight) continue;
    for (int64_t i = 0; i < t.size; ++i) sum += double(params[t.offset + i]) * params[t.offset + i];
  }
  return 0.5 * double(weight_decay) * sum;  // weight_decay * tf.nn.l2_loss(w)
}

double Model::loss_and_dlogits(int batch, LossReduction reduction, float weight_decay, int global_batch) {
  const int64_t n = int64_t(batch) * height_ * width_ * config_.classes;
  const int64_t global_n = int64_t(global_batch > 0 ? global_batch : batch) * height_ * width_ * config_.classes;
  const float scale = reduction == LossReduction::kMean ? 1.0f / float(global_n) : 1.0f;
  double loss = backend_.sigmoid_ce(dlogits_, logits_, targets_, n, scale);
  if (reduction == LossReduction::kMean) loss /= double(global_n);
  if (weight_decay > 0.0f) loss += l2_term(get_params(), layout_, weight_decay);
  return loss;
}

double Model::loss_only(int batch, LossReduction reduction) {
  const int64_t n = int64_t(batch) * height_ * width_ * config_.classes;
  double loss = backend_.sigmoid_ce(nullptr, logits_, targets_, n, 1.0f);
  return reduction == LossReduction::kMean ? loss / double(n) : loss;
}

void Model::backward(int batch, float weight_decay, GradientReducer* reducer) {
  const auto shapes = conv_shapes(config_, batch, height_, width_);
  const float* dout = dlogits_;
  for (int l = config_.layers; l >= 0; --l) {  // the logits layer is l = layers
    const float* in = l == 0 ? x_ : hidden_[l - 1];
    const int w = 2 * l, b = 2 * l + 1;  // the layer's weight and bias tensors
    backend_.conv2d_backward_filter(grad(w), grad(b), dout, in, shapes[l]);
    if (weight_decay > 0.0f) backend_.add_weight_decay(grad(w), param(w), layout_[w].size, weight_decay);
    if (reducer) reducer->reduce_async(grad(w), layout_[w].size + layout_[b].size, "gradients of " + layout_[w].name);
    if (l > 0) {  // the first layer's input is the image: no gradient needed
      float* din = dhidden_[l % 2];
      backend_.conv2d_backward_data(din, dout, param(w), /*relu_out=*/hidden_[l - 1], shapes[l]);
      dout = din;
    }
  }
  if (reducer) reducer->wait();
}

void Model::adam_step(const AdamConfig& adam) {
  step_ += 1;
  backend_.adam(params_, grads_, adam_m_, adam_v_, param_count_, adam, step_);
}

static std::vector<float> download_all(Backend& backend, const float* src, int64_t count) {
  std::vector<float> host(count);
  backend.download(host.data(), src, count);
  return host;
}

std::vector<float> Model::get_params() const { return download_all(backend_, params_, param_count_); }
std::vector<float> Model::get_grads() const { return download_all(backend_, grads_, param_count_); }
std::vector<float> Model::get_adam_m() const { return download_all(backend_, adam_m_, param_count_); }
std::vector<float> Model::get_adam_v() const { return download_all(backend_, adam_v_, param_count_); }

static void check_count(const std::vector<float>& host, int64_t expected, const char* what) {
  if (int64_t(host.size()) != expected) {
    throw std::invalid_argument(std::string("model: ") + what + " has " + std::to_string(host.size()) +
                                " floats, the model has " + std::to_string(expected));
  }
}

void Model::set_params(const std::vector<float>& host) {
  check_count(host, param_count_, "parameter vector");
  backend_.upload(params_, host.data(), param_count_);
}

void Model::set_adam_moments(const std::vector<float>& m, const std::vector<float>& v) {
  check_count(m, param_count_, "Adam m");
  check_count(v, param_count_, "Adam v");
  backend_.upload(adam_m_, m.data(), param_count_);
  backend_.upload(adam_v_, v.data(), param_count_);
}

}  // namespace fcn
