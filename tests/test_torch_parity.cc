// Parity with PyTorch, llm.c debug-state style: scripts/reference/make_torch_parity.py computed the same
// model in float64 with PyTorch and stored inputs, weights, logits, loss, every gradient and the weights
// after one and two TF1 Adam steps (as float32). The engine (float32, CpuBackend) must match.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/cpu_backend.h"
#include "engine/model.h"
#include "engine/safetensors.h"
#include "tests/error_measures.h"

using namespace fcn;
using fcn::test::scaled_error;

namespace {

std::vector<float> slice(const std::vector<float>& v, const TensorInfo& t) {
  return {v.begin() + t.offset, v.begin() + t.offset + t.size};
}

void check_parity(const std::string& fixture) {
  const SafetensorsFile f = read_safetensors(std::string(FCN_SOURCE_DIR) + "/tests/fixtures/" + fixture);
  const auto& meta = f.metadata;
  ModelConfig config;
  config.channels = std::stoi(meta.at("channels"));
  config.classes = std::stoi(meta.at("classes"));
  config.kernel = std::stoi(meta.at("kernel"));
  const int batch = std::stoi(meta.at("batch"));
  const int height = std::stoi(meta.at("height"));
  const int width = std::stoi(meta.at("width"));
  const LossReduction reduction = meta.at("reduction") == "mean" ? LossReduction::kMean : LossReduction::kSum;
  AdamConfig adam;
  adam.lr = std::stof(meta.at("lr"));
  adam.beta1 = std::stof(meta.at("beta1"));
  adam.beta2 = std::stof(meta.at("beta2"));
  adam.eps = std::stof(meta.at("eps"));

  CpuBackend backend(2);
  Model model(backend, config, batch, height, width);  // non-square on purpose: catches H/W mix-ups
  const auto& layout = model.layout();
  std::vector<float> params(parameter_count(config));
  for (const TensorInfo& t : layout) {
    auto values = f.as_floats(t.name, t.shape);
    std::copy(values.begin(), values.end(), params.begin() + t.offset);
  }
  model.set_params(params);
  const auto x = f.as_floats("x", {batch, height, width, 3});
  const auto targets = f.as_floats("targets", {batch, height, width, config.classes});
  backend.upload(model.input(), x.data(), int64_t(x.size()));
  backend.upload(model.targets(), targets.data(), int64_t(targets.size()));

  // float32 against float64 rounded to float32: sums of at most 3*3*8 products plus bias per logit and of
  // B*H*W = 126 terms per weight gradient; the error relative to each tensor's scale stays near 1e-6.
  const double tolerance = 1e-5;
  model.forward(batch);
  std::vector<float> logits(size_t(batch) * height * width * config.classes);
  backend.download(logits.data(), model.logits(), int64_t(logits.size()));
  const double logits_error = scaled_error(logits, f.as_floats("logits", {batch, height, width, config.classes}));
  const double loss = model.loss_and_dlogits(batch, reduction, 0.0f);
  const double ref_loss = f.as_floats("loss", {1})[0];
  std::printf("%s: logits error %.2e, loss %.7g vs %.7g\n", fixture.c_str(), logits_error, loss, ref_loss);
  CHECK(logits_error < tolerance);
  CHECK(std::fabs(loss - ref_loss) / std::fabs(ref_loss) < tolerance);

  model.backward(batch, 0.0f);
  const auto grads = model.get_grads();
  for (const TensorInfo& t : layout) {
    const double e = scaled_error(slice(grads, t), f.as_floats("grad." + t.name, t.shape));
    std::printf("  grad.%-14s error %.2e\n", t.name.c_str(), e);
    INFO("grad." << t.name);
    CHECK(e < tolerance);
  }

  // Adam: compare the updates (new - old), the quantity Adam computes, relative to their scale.
  for (int step = 1; step <= 2; ++step) {
    if (step == 2) {  // the fixture's second step reuses the same batch
      model.forward(batch);
      model.loss_and_dlogits(batch, reduction, 0.0f);
      model.backward(batch, 0.0f);
    }
    const auto before = model.get_params();
    model.adam_step(adam);
    const auto after = model.get_params();
    const std::string prefix = step == 1 ? "after_adam." : "after_adam2.";
    for (const TensorInfo& t : layout) {
      const auto ref_after = f.as_floats(prefix + t.name, t.shape);
      std::vector<float> mine(t.size), theirs(t.size);
      for (int64_t i = 0; i < t.size; ++i) {
        mine[i] = after[t.offset + i] - before[t.offset + i];
        theirs[i] = ref_after[i] - before[t.offset + i];
      }
      // The reference update is a difference of two float32-rounded weights of size ~0.1 and ~lr: it
      // carries up to ~1e-8 absolute rounding, i.e. ~1e-5 of an lr = 1e-3 step; allow 1e-4 relative.
      const double e = scaled_error(mine, theirs);
      INFO(prefix << t.name << " update error " << e);
      CHECK(e < 1e-4);
    }
  }
}

}  // namespace

TEST_CASE("the model matches PyTorch: logits, loss, gradients, two Adam steps (sum)", "[parity]") {
  check_parity("torch_parity.safetensors");
}

TEST_CASE("the model matches PyTorch: logits, loss, gradients, two Adam steps (mean)", "[parity]") {
  check_parity("torch_parity_mean.safetensors");
}
