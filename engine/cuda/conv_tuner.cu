// tune_conv_layer (conv_tuner.h): validate every convolution version on this device, time the valid
// ones at the layer's shape, keep the fastest.
#include "engine/cuda/conv_tuner.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/conv2d.cuh"
#include "kernels/cuda/conv2d_validate.cuh"
#include "kernels/cuda/device_buffer.cuh"
#include "kernels/cuda/event_timer.cuh"

namespace fcn {
namespace {

constexpr int kWarmups = 1;
constexpr int kRepeats = 5;

// The timing problem's buffers at the layer's shape: random inputs (a ReLU mask that keeps about half),
// outputs, and the largest backward-filter workspace of any version.
struct TimingBuffers {
  DeviceBuffer<float> in, out_grad, in_grad, out, weight, bias, weight_grad, bias_grad;
  DeviceBuffer<uint8_t> workspace;
  size_t workspace_bytes = 0;
};

// The largest batch <= the layer's whose timing buffers take at most a quarter of the free GPU memory.
int affordable_batch(const ConvShape& layer) {
  size_t free_bytes = 0, total_bytes = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  const size_t per_image = sizeof(float) * size_t(layer.height) * layer.width *
                           (2 * size_t(layer.in_channels) + 2 * size_t(layer.out_channels));
  int batch = std::max(layer.batch, 1);
  while (batch > 1 && per_image * size_t(batch) > free_bytes / 4) batch /= 2;
  return batch;
}

TimingBuffers make_timing_buffers(const ConvShape& s, cudaStream_t stream) {
  TimingBuffers b;
  b.in = DeviceBuffer<float>(s.in_size());
  b.in_grad = DeviceBuffer<float>(s.in_size());
  b.out = DeviceBuffer<float>(s.out_size());
  b.out_grad = DeviceBuffer<float>(s.out_size());
  b.weight = DeviceBuffer<float>(s.weight_size());
  b.weight_grad = DeviceBuffer<float>(s.weight_size());
  b.bias = DeviceBuffer<float>(s.out_channels);
  b.bias_grad = DeviceBuffer<float>(s.out_channels);
  for (int v = kFirstConvVersion; v <= kLastConvVersion; ++v) {
    b.workspace_bytes = std::max(b.workspace_bytes, conv2d_backward_filter_workspace_bytes(s, ConvAlgo(v)));
  }
  b.workspace = DeviceBuffer<uint8_t>(b.workspace_bytes);
  fill_uniform_cuda(b.in.get(), int64_t(b.in.count()), 1, -1.f, 1.f, stream);
  fill_uniform_cuda(b.out_grad.get(), int64_t(b.out_grad.count()), 2, -1.f, 1.f, stream);
  fill_uniform_cuda(b.weight.get(), int64_t(b.weight.count()), 3, -0.1f, 0.1f, stream);
  fill_uniform_cuda(b.bias.get(), int64_t(b.bias.count()), 4, -0.1f, 0.1f, stream);
  return b;
}

void run_version(const ConvShape& s, int direction, ConvAlgo algo, TimingBuffers& b, cudaStream_t stream) {
  switch (direction) {
    case 0:
      conv2d_forward_cuda(b.out.get(), b.in.get(), b.weight.get(), b.bias.get(), s, true, algo, stream);
      break;
    case 1:  // b.in doubles as the ReLU output that masks the gradient: about half of it is <= 0
      conv2d_backward_data_cuda(b.in_grad.get(), b.out_grad.get(), b.weight.get(), b.in.get(), s, algo, stream);
      break;
    default:
      conv2d_backward_filter_cuda(b.weight_grad.get(), b.bias_grad.get(), b.out_grad.get(), b.in.get(), s, algo,
                                  b.workspace.get(), b.workspace_bytes, stream);
  }
}

}  // namespace

ConvTuning tune_conv_layer(const ConvShape& layer, cudaStream_t stream) {
  ConvTuning tuning;
  ConvShape timed = layer;
  timed.batch = affordable_batch(layer);
  tuning.timed_batch = timed.batch;
  TimingBuffers buffers = make_timing_buffers(timed, stream);
  for (int d = 0; d < kConvDirections; ++d) {
    std::vector<VersionTrial>& trials = tuning.trials[d];
    for (int v = kFirstConvVersion; v <= kLastConvVersion; ++v) {
      VersionTrial trial;
      trial.version = v;
      // A version that refuses the validation problem or the layer's own shape (std::invalid_argument,
      // thrown before anything is queued) is not a candidate; CUDA errors still propagate.
      try {
        // With and without the ReLU epilogue (forward) or mask (backward data): a layer may use either.
        trial.valid = conv2d_check_against_cpu(layer, d, true, ConvAlgo(v)).empty() &&
                      (d == 2 || conv2d_check_against_cpu(layer, d, false, ConvAlgo(v)).empty());
        if (trial.valid && v > kFirstConvVersion) {
          trial.ms = median_time_ms([&] { run_version(timed, d, ConvAlgo(v), buffers, stream); }, kWarmups,
                                    kRepeats, stream);
        }
      } catch (const std::invalid_argument&) {
        trial.valid = false;
        trial.ms = 0;
      }
      trials.push_back(trial);
    }
    tuning.versions[d] = pick_fastest_version(trials);
    if (tuning.versions[d] == 0) {
      throw std::runtime_error("no version of the convolution " + std::string(conv_direction_name(d)) + " (" +
                               std::to_string(layer.kernel) + "x" + std::to_string(layer.kernel) + ", " +
                               std::to_string(layer.in_channels) + "->" + std::to_string(layer.out_channels) +
                               ") matches the CPU reference on this device\nHINT: run `fcn bench kernels` and "
                               "the [gpu] tests (build/tests/fcn_gpu_tests) to see which check fails");
    }
  }
  return tuning;
}

std::string describe_tuning(const ConvShape& layer, const ConvTuning& tuning) {
  std::string text;
  for (int d = 0; d < kConvDirections; ++d) {
    char line[512];
    int used = std::snprintf(line, sizeof line, "conv %dx%d %d->%d %s:", layer.kernel, layer.kernel,
                             layer.in_channels, layer.out_channels, conv_direction_name(d));
    for (const VersionTrial& t : tuning.trials[d]) {
      if (used >= int(sizeof line)) break;
      if (!t.valid) {
        used += std::snprintf(line + used, sizeof line - used, " v%d FAILED validation,", t.version);
      } else if (t.ms > 0) {
        used += std::snprintf(line + used, sizeof line - used, " v%d %.3f ms,", t.version, t.ms);
      } else {
        used += std::snprintf(line + used, sizeof line - used, " v%d valid,", t.version);
      }
    }
    if (used < int(sizeof line)) {
      std::snprintf(line + used, sizeof line - used, " -> v%d (batch %d)", tuning.versions[d], tuning.timed_batch);
    }
    if (!text.empty()) text += '\n';
    text += line;
  }
  return text;
}

}  // namespace fcn
