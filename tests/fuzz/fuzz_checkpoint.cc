// Feeds any bytes, as a checkpoint file, to load_checkpoint: read_safetensors, then every __metadata__
// field read as a checked value (format, model, Adam settings, classes, step, loader position), then the
// model's tensors by name and shape, and the finiteness check.
// Asserts beyond "no crash": a failure is only a std::runtime_error (SafetensorsError among them) whose
// message names the file; a loaded state describes a model within ModelLimits with an odd kernel, holds
// exactly parameter_count values in each of params, Adam m and v, all finite, as are its Adam settings,
// weight decay and test fraction (as the floats and doubles the run will use), and one name per class.
#include <cmath>
#include <stdexcept>
#include <string>

#include "engine/checkpoint.h"
#include "tests/fuzz/harness.h"

namespace {

using fcn::fuzz::require;

bool within(int value, int lo, int hi) { return value >= lo && value <= hi; }

void check_state(const fcn::CheckpointState& state) {
  const fcn::RunSettings& s = state.settings;
  const fcn::ModelConfig& m = s.model;
  using L = fcn::ModelLimits;
  require(within(m.in_channels, 1, L::kMaxInChannels) && within(m.channels, 1, L::kMaxChannels) &&
              within(m.layers, 1, L::kMaxLayers) && within(m.kernel, 1, L::kMaxKernel) && m.kernel % 2 == 1 &&
              within(m.classes, 1, L::kMaxClasses),
          "load_checkpoint: a model " + m.describe() + " outside ModelLimits");
  const size_t count = size_t(fcn::parameter_count(m));
  require(state.params.size() == count && state.adam_m.size() == count && state.adam_v.size() == count,
          "load_checkpoint: buffers that do not match the model's " + std::to_string(count) + " parameters");
  const std::string bad = fcn::first_non_finite(state);
  require(bad.empty(), "load_checkpoint: loaded a non-finite value, " + bad);
  const double settings[] = {s.adam.lr, s.adam.beta1, s.adam.beta2, s.adam.eps, s.weight_decay, s.test_fraction};
  for (double value : settings) {
    require(std::isfinite(value), "load_checkpoint: loaded a non-finite setting, " + std::to_string(value));
  }
  require(s.class_values.size() == s.class_names.size(), "load_checkpoint: class values and names differ in count");
  require(state.step >= 0 && state.train_samples_produced >= 0, "load_checkpoint: a negative step or position");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fcn::fuzz::InputFile file(data, size);
  const std::string& path = file.path();
  fcn::CheckpointState state;
  const auto error = fcn::fuzz::failure_of<std::runtime_error>("load_checkpoint", path,
                                                                [&] { state = fcn::load_checkpoint(path); });
  if (!error) check_state(state);
  return 0;
}
