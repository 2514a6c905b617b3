// The model's layouts, initialisation, and its hand-written backward pass: the reference composition
// against central finite differences in double, then the engine's Model (float, CpuBackend) against it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "engine/cpu_backend.h"
#include "engine/model.h"
#include "engine/rng.h"
#include "tests/error_measures.h"
#include "tests/model_reference.h"

using namespace fcn;
using fcn::test::scaled_error;

namespace {

template <class T>
std::vector<T> random_vector(int64_t n, uint64_t seed, double lo, double hi) {
  SplitMix64 rng(seed);
  std::vector<T> v(n);
  for (auto& x : v) x = T(lo + (hi - lo) * rng.uniform_float());
  return v;
}

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

}  // namespace

TEST_CASE("parameter_layout names, shapes and offsets tile one flat buffer", "[model]") {
  ModelConfig c = test::small_model_config();
  const auto layout = parameter_layout(c);
  REQUIRE(layout.size() == 6);
  CHECK(layout[0].name == "conv1.weight");
  CHECK(layout[0].shape == std::vector<int64_t>{3, 3, 3, 4});
  CHECK(layout[1].name == "conv1.bias");
  CHECK(layout[2].shape == std::vector<int64_t>{3, 3, 4, 4});
  CHECK(layout[4].name == "logits.weight");
  CHECK(layout[4].shape == std::vector<int64_t>{1, 1, 4, 2});
  CHECK(layout[5].shape == std::vector<int64_t>{2});
  int64_t offset = 0;
  for (const auto& t : layout) {
    CHECK(t.offset == offset);
    offset += t.size;
  }
  CHECK(parameter_count(c) == offset);
  ModelConfig seed_model;  // the seed's: 3 -> 64 -> 64 -> 1
  CHECK(parameter_count(seed_model) == 3 * 3 * 3 * 64 + 64 + 3 * 3 * 64 * 64 + 64 + 64 + 1);
}

TEST_CASE("glorot_init is seeded, bounded by the Glorot limit, with zero biases", "[model]") {
  ModelConfig c;
  std::vector<float> a, b, other;
  glorot_init(a, c, 7);
  glorot_init(b, c, 7);
  glorot_init(other, c, 8);
  CHECK(a == b);
  CHECK(a != other);
  for (const auto& t : parameter_layout(c)) {
    float limit = 0.0f;  // biases start at zero
    if (t.is_weight) {   // HWIO [K, K, Cin, Cout]; a bias has one dimension, so its shape[1] is not there
      REQUIRE(t.shape.size() == 4);
      const double fan_in = double(t.shape[0]) * t.shape[1] * t.shape[2];
      const double fan_out = double(t.shape[0]) * t.shape[1] * t.shape[3];
      limit = float(std::sqrt(6.0 / (fan_in + fan_out)));
    }
    float max_abs = 0.0f;
    double sum = 0.0;
    for (int64_t i = 0; i < t.size; ++i) {
      max_abs = std::max(max_abs, std::fabs(a[t.offset + i]));
      sum += a[t.offset + i];
    }
    CHECK(max_abs <= limit);
    if (t.is_weight) {
      CHECK(max_abs > 0.9f * limit);                   // it spans the range
      CHECK(std::fabs(sum / t.size) < 0.1 * limit);    // roughly centred
    }
  }
}

TEST_CASE("the reference model's backward matches central finite differences in double", "[model]") {
  for (LossReduction reduction : {LossReduction::kSum, LossReduction::kMean}) {
    test::ReferenceModel<double> ref{test::small_model_config(), 2, 5};
    const int64_t count = parameter_count(ref.config);
    auto params = random_vector<double>(count, 1, -0.5, 0.5);
    auto x = random_vector<double>(int64_t(2) * 5 * 5 * 3, 2, 0.0, 1.0);
    auto targets = random_vector<double>(int64_t(2) * 5 * 5 * 2, 3, 0.0, 1.0);
    std::vector<double> grads;
    ref.loss_and_grads(params, x, targets, reduction, &grads);
    // Central differences have error O(eps^2 * f''') ~ 1e-12 here, far below the 1e-6 bound; a ReLU kink
    // crossed by +-eps would show as a large error, and random inputs make that unlikely at eps = 1e-6.
    const double eps = 1e-6;
    std::vector<double> numeric(count);
    for (int64_t i = 0; i < count; ++i) {
      auto p = params;
      p[i] = params[i] + eps;
      const double up = ref.loss_and_grads(p, x, targets, reduction, nullptr);
      p[i] = params[i] - eps;
      const double down = ref.loss_and_grads(p, x, targets, reduction, nullptr);
      numeric[i] = (up - down) / (2 * eps);
    }
    INFO("reduction " << (reduction == LossReduction::kSum ? "sum" : "mean"));
    CHECK(scaled_error(grads, numeric) < 1e-6);
  }
}

TEST_CASE("Model on the CPU backend matches the reference model (float vs double)", "[model]") {
  const ModelConfig c = test::small_model_config();
  const int batch = 2, size = 7;
  CpuBackend backend(2);
  Model model(backend, c, batch, size);
  const int64_t count = parameter_count(c);
  auto params = random_vector<float>(count, 11, -0.5, 0.5);
  auto x = random_vector<float>(int64_t(batch) * size * size * 3, 12, 0.0, 255.0);
  auto targets = random_vector<float>(int64_t(batch) * size * size * c.classes, 13, 0.0, 1.0);
  model.set_params(params);
  backend.upload(model.input(), x.data(), int64_t(x.size()));
  backend.upload(model.targets(), targets.data(), int64_t(targets.size()));

  for (LossReduction reduction : {LossReduction::kSum, LossReduction::kMean}) {
    model.forward(batch);
    const double loss = model.loss_and_dlogits(batch, reduction, 0.0f);
    model.backward(batch, 0.0f);
    const auto grads = model.get_grads();

    test::ReferenceModel<double> ref{c, batch, size};
    std::vector<double> ref_grads, ref_logits;
    const double ref_loss = ref.loss_and_grads(to_double(params), to_double(x), to_double(targets), reduction,
                                               &ref_grads, &ref_logits);
    std::vector<float> logits(ref_logits.size());
    backend.download(logits.data(), model.logits(), int64_t(logits.size()));
    // float32 against double: each output is a sum of at most 3*3*4 + bias products of O(100) values
    // (pixels up to 255), so the rounding error relative to the tensor's scale stays near 1e-6;
    // 2e-5 leaves margin without hiding an indexing error (which shows as O(1)).
    CHECK(scaled_error(to_double(logits), ref_logits) < 2e-5);
    CHECK(std::fabs(loss - ref_loss) / std::fabs(ref_loss) < 1e-5);
    for (const auto& t : model.layout()) {
      std::vector<double> mine(grads.begin() + t.offset, grads.begin() + t.offset + t.size);
      std::vector<double> theirs(ref_grads.begin() + t.offset, ref_grads.begin() + t.offset + t.size);
      INFO(t.name);
      CHECK(scaled_error(mine, theirs) < 2e-5);
    }
  }
}

TEST_CASE("Model::adam_step applies TF1 Adam to the flat buffers", "[model]") {
  const ModelConfig c = test::small_model_config();
  CpuBackend backend(1);
  Model model(backend, c, 1, 3);
  const int64_t count = parameter_count(c);
  auto params = random_vector<float>(count, 21, -0.5, 0.5);
  auto x = random_vector<float>(int64_t(3) * 3 * 3, 22, 0.0, 255.0);
  auto targets = random_vector<float>(int64_t(3) * 3 * c.classes, 23, 0.0, 1.0);
  model.set_params(params);
  backend.upload(model.input(), x.data(), int64_t(x.size()));
  backend.upload(model.targets(), targets.data(), int64_t(targets.size()));
  AdamConfig adam;
  adam.lr = 1e-2f;
  std::vector<float> expected = params, m(count, 0.0f), v(count, 0.0f);
  for (int step = 1; step <= 2; ++step) {
    model.forward(1);
    model.loss_and_dlogits(1, LossReduction::kSum, 0.0f);
    model.backward(1, 0.0f);
    const auto grads = model.get_grads();
    adam_update_ref(expected.data(), grads.data(), m.data(), v.data(), count, adam, step);
    model.adam_step(adam);
  }
  CHECK(model.step() == 2);
  CHECK(model.get_params() == expected);  // the same float operations in the same order
  CHECK(model.get_adam_m() == m);
  CHECK(model.get_adam_v() == v);
}

TEST_CASE("weight decay adds the L2 term to the loss and decay * w to weight gradients only", "[model]") {
  const ModelConfig c = test::small_model_config();
  CpuBackend backend(1);
  Model model(backend, c, 1, 4);
  auto params = random_vector<float>(parameter_count(c), 31, -0.5, 0.5);
  auto x = random_vector<float>(4 * 4 * 3, 32, 0.0, 255.0);
  auto targets = random_vector<float>(4 * 4 * c.classes, 33, 0.0, 1.0);
  model.set_params(params);
  backend.upload(model.input(), x.data(), int64_t(x.size()));
  backend.upload(model.targets(), targets.data(), int64_t(targets.size()));
  model.forward(1);
  const double plain = model.loss_and_dlogits(1, LossReduction::kSum, 0.0f);
  model.backward(1, 0.0f);
  const auto plain_grads = model.get_grads();
  const float decay = 5e-4f;
  const double decayed = model.loss_and_dlogits(1, LossReduction::kSum, decay);
  model.backward(1, decay);
  const auto decayed_grads = model.get_grads();
  double l2 = 0.0;
  for (const auto& t : model.layout()) {
    for (int64_t i = 0; i < t.size; ++i) {
      const int64_t k = t.offset + i;
      if (t.is_weight) l2 += double(params[k]) * params[k];
      const float expected = t.is_weight ? plain_grads[k] + decay * params[k] : plain_grads[k];
      REQUIRE(decayed_grads[k] == Approx(expected).epsilon(1e-6).margin(1e-9));
    }
  }
  CHECK(decayed - plain == Approx(0.5 * decay * l2).epsilon(1e-6));
}

TEST_CASE("Model refuses impossible configurations and mismatched buffers", "[model]") {
  CpuBackend backend(1);
  ModelConfig even_kernel;
  even_kernel.kernel = 2;
  CHECK_THROWS_AS(Model(backend, even_kernel, 1, 4), std::invalid_argument);
  ModelConfig no_layers;
  no_layers.layers = 0;
  CHECK_THROWS_AS(Model(backend, no_layers, 1, 4), std::invalid_argument);
  Model model(backend, test::small_model_config(), 1, 4);
  CHECK_THROWS_AS(model.set_params(std::vector<float>(3)), std::invalid_argument);
}
