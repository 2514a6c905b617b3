// Checkpoints: safetensors files holding the parameters (HWIO conv weights, by name), the Adam moments
// (adam.m.<name>, adam.v.<name>), and in __metadata__ everything needed to resume exactly:
// "format": "fcn.cu/1", "step", and the run's settings as JSON strings; "kernel_plan" (optional) names the
// CUDA convolution versions the run used, so that a resume on the GPU sums in the same order. Writes are
// atomic.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/model.h"

namespace fcn {

// The training run's settings that a resume must reproduce. Stored as strings in __metadata__.
struct RunSettings {
  ModelConfig model;
  uint64_t seed = 0;
  int batch = 8;
  int size = 512;
  AdamConfig adam;
  float weight_decay = 0.0f;
  LossReduction reduction = LossReduction::kSum;
  ResizeMapping mapping = ResizeMapping::kLegacy;
  bool nearest_targets = false;
  double test_fraction = 0.2;
  int64_t shuffle_buffer = 50;
  std::vector<int> class_values;          // legend pixel values, one per logit
  std::vector<std::string> class_names;
};

struct CheckpointState {
  RunSettings settings;
  int64_t step = 0;                       // Adam steps taken
  int64_t train_samples_produced = 0;     // loader position
  std::vector<float> params, adam_m, adam_v;  // [parameter_count] each, parameter_layout order
  std::string kernel_plan;                // the CUDA conv versions the run used ("" on the CPU)
};

// The settings as one JSON text (the checkpoint's __metadata__ fields), e.g. to check that every rank of
// a data-parallel run was started with the same ones.
std::string settings_text(const RunSettings& settings);

// The first non-finite value of the state's tensors, as "adam.v.conv1/kernel[17] = nan", or "" when every
// parameter and moment is finite. A diverged state is never written and never loaded.
std::string first_non_finite(const CheckpointState& state);

// Throws std::runtime_error (naming the value) for a state with a non-finite value; the file at `path`
// is then left as it was.
void save_checkpoint(const std::string& path, const CheckpointState& state);
// Throws std::runtime_error with a HINT when the file is unreadable, not an fcn.cu checkpoint, damaged,
// or holds a non-finite parameter or moment.
CheckpointState load_checkpoint(const std::string& path);

// Raises a clear error when a checkpoint's model or data settings differ from the ones asked for.
void check_resume_compatible(const RunSettings& checkpoint, const RunSettings& asked, const std::string& path);

const char* reduction_name(LossReduction reduction);    // "sum" | "mean"
LossReduction parse_reduction(const std::string& name); // throws std::invalid_argument
const char* mapping_name(ResizeMapping mapping);        // "legacy" | "half-pixel"
ResizeMapping parse_mapping(const std::string& name);   // throws std::invalid_argument

}  // namespace fcn
