// fcn bench step: the time of one whole training step (forward, loss, backward, Adam) on random data,
// median over repeats after warm-up, with the step's FLOP count and GFLOP/s. scripts/bench_step.sh runs
// it beside PyTorch with the same model, size, batch and threads, and prints the ratio.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "engine/cli/commands.h"
#include "engine/kernel_plan.h"
#include "engine/model.h"
#include "engine/rng.h"

namespace fcn::cli {

namespace {

struct BenchStepArgs {
  std::string device = "auto";
  std::string conv_kernels = "auto";  // CUDA conv versions (engine/kernel_plan.h)
  int threads = 0;
  int size = 128;
  int batch = 8;
  int channels = 64;
  int classes = 1;
  int repeats = 10;
  int warmup = 2;
  bool json = false;
};

// FLOPs of one step: every conv's forward and backward-filter, and backward-data for all but the first.
double step_flops(const std::vector<ConvShape>& shapes) {
  double flops = 0.0;
  for (size_t l = 0; l < shapes.size(); ++l) flops += shapes[l].flops() * (l == 0 ? 2.0 : 3.0);
  return flops;
}

void run_bench_step(const BenchStepArgs& a) {
  parse_kernel_plan(a.conv_kernels);  // a bad --conv-kernels is an error on every device
  BackendChoice choice = make_backend(a.device, a.threads);
  Backend& backend = *choice.backend;
  backend.set_kernel_plan(a.conv_kernels);
  ModelConfig config;
  config.channels = a.channels;
  config.classes = a.classes;
  Model model(backend, config, a.batch, a.size);
  std::vector<float> params;
  glorot_init(params, config, 0);
  model.set_params(params);

  // Random inputs in the data's ranges: pixels 0..255, targets 0..1 (never zeros).
  const int64_t pixels = int64_t(a.batch) * a.size * a.size;
  SplitMix64 rng(1);
  std::vector<float> x(pixels * 3), t(pixels * a.classes);
  for (float& v : x) v = 255.0f * rng.uniform_float();
  for (float& v : t) v = rng.uniform_float() < 0.3f ? 1.0f : 0.0f;
  backend.upload(model.input(), x.data(), int64_t(x.size()));
  backend.upload(model.targets(), t.data(), int64_t(t.size()));

  AdamConfig adam;
  std::vector<double> ms;
  for (int i = 0; i < a.warmup + a.repeats; ++i) {
    backend.synchronize();
    const auto start = std::chrono::steady_clock::now();
    model.forward(a.batch);
    model.loss_and_dlogits(a.batch, LossReduction::kSum, 0.0f);
    model.backward(a.batch, 0.0f);
    model.adam_step(adam);
    backend.synchronize();
    const double elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (i >= a.warmup) ms.push_back(elapsed);
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];
  const double gflops = step_flops(conv_shapes(config, a.batch, a.size)) / (median * 1e-3) / 1e9;
  const double images_per_s = a.batch / (median * 1e-3);
  if (a.json) {
    std::printf("%s\n", nlohmann::json{{"impl", "fcn.cu"}, {"device", backend.name()}, {"ms", median},
                                       {"min_ms", ms.front()}, {"images_per_s", images_per_s},
                                       {"gflops", gflops}, {"size", a.size}, {"batch", a.batch},
                                       {"threads", a.threads}, {"kernels", backend.kernel_plan()}}.dump().c_str());
    return;
  }
  std::printf("%s\n", choice.note.c_str());
  if (const std::string kernels = backend.describe_kernel_plan(); !kernels.empty()) {
    std::printf("kernels: %s\n", kernels.c_str());
  }
  std::printf("| impl | device | size | batch | median ms | min ms | images/s | GFLOP/s |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  std::printf("| fcn.cu | %s | %d | %d | %.2f | %.2f | %.1f | %.1f |\n", backend.name().c_str(), a.size, a.batch,
              median, ms.front(), images_per_s, gflops);
}

}  // namespace

void add_bench_step_command(CLI::App& bench) {
  auto a = std::make_shared<BenchStepArgs>();
  CLI::App* cmd = bench.add_subcommand("step", "Time one training step on random data");
  add_device_option(cmd, a->device);
  cmd->add_option("--threads", a->threads, "CPU threads (0: all cores)")->capture_default_str();
  cmd->add_option("--conv-kernels", a->conv_kernels, "CUDA conv versions: auto | v1..v4 | a plan (as fcn train)")
      ->capture_default_str();
  cmd->add_option("--size", a->size, "Image size")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--batch", a->batch, "Batch size")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--channels", a->channels, "Hidden width")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--classes", a->classes, "Logits per pixel")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--repeats", a->repeats, "Timed steps")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--warmup", a->warmup, "Untimed steps first")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_flag("--json", a->json, "One JSON line instead of the table");
  cmd->callback([a] { run_bench_step(*a); });
}

}  // namespace fcn::cli
