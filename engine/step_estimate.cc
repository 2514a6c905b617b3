// The step-time estimate (see step_estimate.h).
#include "engine/step_estimate.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace fcn {

double step_conv_flops(const std::vector<ConvShape>& shapes) {
  double flops = 0.0;
  for (size_t l = 0; l < shapes.size(); ++l) flops += shapes[l].flops() * (l == 0 ? 2.0 : 3.0);
  return flops;
}

double estimate_step_seconds(Backend& backend, const ModelConfig& model, int batch, int size) {
  ConvShape probe;
  probe.batch = 1;
  probe.height = probe.width = 64;
  probe.in_channels = probe.out_channels = model.channels;
  probe.kernel = model.kernel;
  float* in = backend.alloc(probe.in_size());
  float* out = backend.alloc(probe.out_size());
  float* weight = backend.alloc(probe.weight_size());
  double best = 1e30;
  for (int run = 0; run < 4; ++run) {  // the first run also grows the workspace for the probe's shape
    const auto start = std::chrono::steady_clock::now();
    backend.conv2d_forward(out, in, weight, nullptr, probe, true);
    backend.synchronize();
    if (run > 0) best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  backend.release(in);
  backend.release(out);
  backend.release(weight);
  const double flops_per_second = probe.flops() / std::max(best, 1e-9);
  return 1.15 * step_conv_flops(conv_shapes(model, batch, size)) / flops_per_second;
}

std::string slow_size_note(int size, int batch, double seconds_at_size, double seconds_at_128) {
  if (size < 256) return "";
  char text[512];
  std::snprintf(text, sizeof text,
                "note: training on the CPU at %dx%d (the default), batch %d: about %.0f min per 100 steps on this "
                "machine (estimated from a short measurement); at 128x128 about %.1f min.\n"
                "HINT: pass --size 128 for a quicker run, or --size %d to keep this size and silence this note.",
                size, size, batch, seconds_at_size * 100 / 60, seconds_at_128 * 100 / 60, size);
  return text;
}

}  // namespace fcn
