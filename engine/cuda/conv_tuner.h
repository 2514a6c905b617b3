// The "auto" kernel plan (engine/kernel_plan.h) for one layer: which of our convolution versions to run,
// chosen on this device. For each direction, every version (1-4) must first match the CPU reference
// (kernels/cuda/conv2d_validate.cuh); the valid ones among versions 2-4 are then timed at the layer's
// own shape and the fastest is kept (pick_fastest_version). Version 1, the readable one-thread-per-output
// kernel, is validated but not timed: it is chosen only when no other version is valid. Takes a fraction
// of a second per layer, once, when the model is set up.
#pragma once
#include <cuda_runtime.h>

#include <array>
#include <string>
#include <vector>

#include "engine/kernel_plan.h"

namespace fcn {

struct ConvTuning {
  ConvVersions versions{};                                // the choice, per direction
  std::array<std::vector<VersionTrial>, kConvDirections> trials;  // what each version did
  int timed_batch = 0;  // the batch the timings used (the layer's, or less when GPU memory is short)
};

// layer: [B, H, W] and channels as the model runs it. Validation runs forward and backward data with and
// without the ReLU epilogue / mask (a layer may use either); timing runs them with it, as the hidden layers
// do. Work is queued on `stream` and the function returns when it is done.
ConvTuning tune_conv_layer(const ConvShape& layer, cudaStream_t stream);

// One line per direction (no newline at the end):
//   "conv 3x3 64->64 forward: v1 valid, v2 11.820 ms, v3 4.105 ms, v4 4.610 ms, -> v3 (batch 8)".
std::string describe_tuning(const ConvShape& layer, const ConvTuning& tuning);

}  // namespace fcn
