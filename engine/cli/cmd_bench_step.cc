// fcn bench step: the time of one whole training step (forward, loss, backward, Adam) on random data,
// median over repeats after warm-up, with the step's FLOP count and GFLOP/s. scripts/bench_step.sh runs
// it beside PyTorch with the same model, size, batch and threads, and prints the ratio.
//
// Under mpirun (or --dist-init file:) every rank runs its slice of the global --batch and the gradients
// are summed as in fcn train; the table adds the all-reduce's share of the step (the time backward spends
// waiting for the sums, which includes waiting for the slowest rank) and the all-reduce of the flat
// gradient alone, after a barrier, with its bus bandwidth.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/cli/commands.h"
#include "engine/kernel_plan.h"
#include "engine/memory_budget.h"
#include "engine/model.h"
#include "engine/rng.h"
#include "engine/step_estimate.h"
#include "io/raw_batch.h"

namespace fcn::cli {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct BenchStepArgs {
  DistOptions dist;
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

// Passes the model's gradients to `inner` and adds up the time spent in its calls: what the step waits
// for the sums (on a GPU, what the overlap with backward did not hide).
class TimedReducer final : public GradientReducer {
 public:
  explicit TimedReducer(std::unique_ptr<GradientReducer> inner) : inner_(std::move(inner)) {}
  void reduce_async(float* grads, int64_t count, const std::string& what) override {
    const auto start = Clock::now();
    inner_->reduce_async(grads, count, what);
    ms += ms_since(start);
  }
  void wait() override {
    const auto start = Clock::now();
    inner_->wait();
    ms += ms_since(start);
  }
  std::string describe() const override { return inner_->describe(); }
  double ms = 0.0;  // since the last reset by the caller

 private:
  std::unique_ptr<GradientReducer> inner_;
};

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}


void run_bench_step(const BenchStepArgs& a, Collectives& comm) {
  parse_kernel_plan(a.conv_kernels);  // a bad --conv-kernels is an error on every device
  const int ranks = comm.size();
  const bool root = comm.rank() == 0;
  // Launched by mpirun or with --dist-init file:, even with one rank: the step runs the all-reduce then.
  const bool distributed = ranks > 1 || comm.describe() != make_single_process_collectives()->describe();
  if (a.batch < ranks) {
    throw std::invalid_argument("--batch " + std::to_string(a.batch) + " over " + std::to_string(ranks) +
                                " ranks leaves ranks without samples\nHINT: --batch is the global batch");
  }
  const int slice = batch_slice(a.batch, comm.rank(), ranks).count();
  BackendChoice choice = make_backend(a.device, a.threads);
  Backend& backend = *choice.backend;
  backend.set_kernel_plan(a.conv_kernels);
  ModelConfig config;
  config.channels = a.channels;
  config.classes = a.classes;
  check_model_fits(backend, config, slice, a.size, a.size,
                   "--batch " + std::to_string(a.batch) + " at --size " + std::to_string(a.size));
  Model model(backend, config, slice, a.size);
  std::vector<float> params;
  glorot_init(params, config, 0);
  model.set_params(params);
  std::unique_ptr<TimedReducer> reducer;
  if (distributed) reducer = std::make_unique<TimedReducer>(backend.make_gradient_reducer(comm));

  // Random inputs in the data's ranges: pixels 0..255, targets 0..1 (never zeros).
  const int64_t pixels = int64_t(slice) * a.size * a.size;
  SplitMix64 rng(1 + uint64_t(comm.rank()));
  std::vector<float> x(pixels * 3), t(pixels * a.classes);
  for (float& v : x) v = 255.0f * rng.uniform_float();
  for (float& v : t) v = rng.uniform_float() < 0.3f ? 1.0f : 0.0f;
  backend.upload(model.input(), x.data(), int64_t(x.size()));
  backend.upload(model.targets(), t.data(), int64_t(t.size()));

  AdamConfig adam;
  std::vector<double> ms, reduce_ms;
  for (int i = 0; i < a.warmup + a.repeats; ++i) {
    backend.synchronize();
    comm.allgather(0, "the start of a timed step");  // every rank starts the step together
    if (reducer) reducer->ms = 0.0;
    const auto start = Clock::now();
    model.forward(slice);
    model.loss_and_dlogits(slice, LossReduction::kSum, 0.0f, a.batch);
    model.backward(slice, 0.0f, reducer.get());
    model.adam_step(adam);
    backend.synchronize();
    const double elapsed = ms_since(start);
    if (i < a.warmup) continue;
    ms.push_back(elapsed);
    reduce_ms.push_back(reducer ? reducer->ms : 0.0);
  }
  // The flat gradient's all-reduce alone, host memory to host memory, every rank starting together.
  const int64_t gradient_floats = int64_t(params.size());
  std::vector<float> gradient(size_t(gradient_floats), 1.0f);
  std::vector<double> alone_ms;
  for (int i = 0; distributed && i < a.warmup + a.repeats; ++i) {
    comm.allgather(0, "the start of a timed all-reduce");
    const auto start = Clock::now();
    comm.allreduce_sum(gradient.data(), gradient_floats, "the timed all-reduce");
    if (i >= a.warmup) alone_ms.push_back(ms_since(start));
  }
  if (!root) return;

  const double median = median_of(ms);
  const double gflops = step_conv_flops(conv_shapes(config, a.batch, a.size)) / (median * 1e-3) / 1e9;
  const double images_per_s = a.batch / (median * 1e-3);
  const double reduce_median = median_of(reduce_ms);
  const double alone_median = alone_ms.empty() ? 0.0 : median_of(alone_ms);
  const double gradient_bytes = 4.0 * double(gradient_floats);
  // Bus bandwidth as nccl-tests define it for all-reduce: bytes * 2 (n - 1) / n per unit of time.
  const double bus_gb_s = alone_median > 0 ? gradient_bytes * 2.0 * (ranks - 1) / ranks / (alone_median * 1e6) : 0.0;
  if (a.json) {
    std::printf("%s\n", nlohmann::json{{"impl", "fcn.cu"}, {"device", backend.name()}, {"ms", median},
                                       {"min_ms", *std::min_element(ms.begin(), ms.end())},
                                       {"images_per_s", images_per_s}, {"gflops", gflops}, {"size", a.size},
                                       {"batch", a.batch}, {"threads", a.threads}, {"kernels", backend.kernel_plan()},
                                       {"ranks", ranks}, {"allreduce_in_step_ms", reduce_median},
                                       {"allreduce_share", reduce_median / median},
                                       {"allreduce_alone_ms", alone_median}, {"gradient_bytes", gradient_bytes},
                                       {"allreduce_bus_gb_s", bus_gb_s}}.dump().c_str());
    return;
  }
  std::printf("%s\n", choice.note.c_str());
  if (const std::string kernels = backend.describe_kernel_plan(); !kernels.empty()) {
    std::printf("kernels: %s\n", kernels.c_str());
  }
  if (distributed) {
    const int largest = batch_slice(a.batch, 0, ranks).count();
    const int smallest = batch_slice(a.batch, ranks - 1, ranks).count();
    std::printf("ranks: %d (%s), gradients %s; each rank runs %s of the batch's %d images\n", ranks,
                comm.describe().c_str(), reducer->describe().c_str(),
                (largest == smallest ? std::to_string(largest)
                                     : std::to_string(largest) + " or " + std::to_string(smallest)).c_str(),
                a.batch);
  }
  std::printf("| impl | device | ranks | size | batch | median ms | min ms | images/s | GFLOP/s |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  std::printf("| fcn.cu | %s | %d | %d | %d | %.2f | %.2f | %.1f | %.1f |\n", backend.name().c_str(), ranks, a.size,
              a.batch, median, *std::min_element(ms.begin(), ms.end()), images_per_s, gflops);
  if (distributed) {
    std::printf("\n| all-reduce | bytes | in the step ms | share of the step | alone ms | bus GB/s |\n");
    std::printf("|---|---|---|---|---|---|\n");
    char bus[32] = "-";  // no bus with one rank
    if (ranks > 1) std::snprintf(bus, sizeof(bus), "%.2f", bus_gb_s);
    std::printf("| flat gradient | %.0f | %.3f | %.1f%% | %.3f | %s |\n", gradient_bytes, reduce_median,
                100.0 * reduce_median / median, alone_median, bus);
    std::printf("in the step: what backward waited for the sums, waiting for the slowest rank included; "
                "alone: the same all-reduce after a barrier (medians of %d)\n", a.repeats);
  }
}

}  // namespace

void add_bench_step_command(CLI::App& bench) {
  auto a = std::make_shared<BenchStepArgs>();
  CLI::App* cmd = bench.add_subcommand("step", "Time one training step on random data");
  add_device_option(cmd, a->device);
  cmd->add_option("--threads", a->threads, "CPU threads (0: all cores)")->capture_default_str();
  cmd->add_option("--conv-kernels", a->conv_kernels, "CUDA conv versions: auto | v1..v4 | a plan (as fcn train)")
      ->capture_default_str();
  cmd->add_option("--size", a->size, "Image size")->check(at_least(1))->capture_default_str();
  cmd->add_option("--batch", a->batch, "Batch size")->check(at_least(1))->capture_default_str();
  cmd->add_option("--channels", a->channels, "Hidden width")->check(at_least(1))->capture_default_str();
  cmd->add_option("--classes", a->classes, "Logits per pixel")->check(at_least(1))->capture_default_str();
  cmd->add_option("--repeats", a->repeats, "Timed steps")->check(at_least(1))->capture_default_str();
  cmd->add_option("--warmup", a->warmup, "Untimed steps first")->check(at_least(0))->capture_default_str();
  cmd->add_flag("--json", a->json, "One JSON line instead of the table");
  add_dist_options(cmd, a->dist);
  cmd->footer("Under mpirun -np N, --batch stays the global batch and the table adds the gradient "
              "all-reduce's share of the step (README: \"Training on several GPUs or machines\").");
  cmd->callback([a] {
    const std::unique_ptr<Collectives> comm = make_collectives(a->dist);
    try {
      run_bench_step(*a, *comm);
    } catch (const std::exception& e) {
      if (comm->size() == 1) throw;
      std::fprintf(stderr, "fcn: error on rank %d of %d: %s\n", comm->rank(), comm->size(), e.what());
      comm->abort_all(1);
    }
  });
}

}  // namespace fcn::cli
