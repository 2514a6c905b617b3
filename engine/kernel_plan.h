// Kernel plans: which version of each convolution direction the CUDA backend runs, per layer shape.
//
// Each conv direction has a ladder of versions (kernels/cuda/conv2d.cuh: 1 naive, 2 tiled, 3 register-
// blocked, 4 8x8 per thread). A plan names one version per (layer shape, direction). It is asked for with
// `fcn train --conv-kernels`:
//   "auto"       the backend validates every version on this device against the CPU reference and keeps
//                the fastest valid one per layer and direction (engine/cuda/conv_tuner.cu);
//   "v1".."v4"   that version everywhere;
//   a plan text  exactly these versions, as format_kernel_plan writes them, for example
//                "3x3:3>64=3,3,4;3x3:64>64=3,3,3;1x1:64>1=3,3,3"
//                (kernel size, input and output channels, then the forward, backward-data and backward-
//                filter versions).
// Versions sum in different orders, so they agree only to rounding: a checkpoint stores the plan the run
// used, and a resume reuses it to stay bit-identical with an uninterrupted run.
//
// Plain C++ (no CUDA headers): the CPU tests check parsing, formatting and the choice of the fastest.
#pragma once
#include <array>
#include <map>
#include <string>
#include <vector>

#include "kernels/cpu/reference.h"

namespace fcn {

constexpr int kConvDirections = 3;  // 0 forward, 1 backward data, 2 backward filter
constexpr int kFirstConvVersion = 1;
constexpr int kLastConvVersion = 4;
const char* conv_direction_name(int direction);  // "forward", "backward data", "backward filter"

// A layer's identity for the plan: its batch and spatial size do not matter (predict runs other sizes).
struct ConvKernelKey {
  int kernel = 0;
  int in_channels = 0;
  int out_channels = 0;
  auto operator<=>(const ConvKernelKey&) const = default;
};
ConvKernelKey conv_kernel_key(const ConvShape& s);

using ConvVersions = std::array<int, kConvDirections>;  // version per direction
using ConvPlan = std::map<ConvKernelKey, ConvVersions>;

struct KernelPlanRequest {
  enum class Mode { kAuto, kUniform, kExplicit };
  Mode mode = Mode::kAuto;
  int uniform_version = 0;  // kUniform
  ConvPlan plan;            // kExplicit
};

// Parses "auto", "v1".."v4" or a plan text. Throws std::invalid_argument with a HINT on anything else.
KernelPlanRequest parse_kernel_plan(const std::string& text);
// "3x3:3>64=3,3,4;3x3:64>64=3,3,3" (keys in ascending order); "" for an empty plan.
std::string format_kernel_plan(const ConvPlan& plan);
// One line for people: "conv 3x3 3->64: forward v3, backward data v3, backward filter v4; ...".
std::string describe_kernel_plan(const ConvPlan& plan);

// One version's result on one layer and direction: did it match the CPU reference, and how fast was it.
struct VersionTrial {
  int version = 0;
  bool valid = false;
  double ms = 0;           // median time at the layer's shape; 0 when not timed
};

// The fastest valid timed version. Versions within tie_fraction of the fastest count as equally fast and
// the highest-numbered of them wins, so timing noise rarely changes the choice between runs. Falls back to
// the lowest valid untimed version, and returns 0 when no version is valid.
int pick_fastest_version(const std::vector<VersionTrial>& trials, double tie_fraction = 0.03);

}  // namespace fcn
