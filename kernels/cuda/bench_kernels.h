// `fcn bench kernels`: validates, then times every version of the GPU kernels at the model's shapes
// (plain C++ interface: no CUDA headers, so the CLI can include it in CPU-only builds too; the
// implementation, kernels/cuda/bench_kernels.cu, exists only when CUDA is built).
//
// Built in: the three convolution directions at conv1 (3x3, 3->C), conv2 (3x3, C->C) and logits
// (1x1, C->classes), every ConvAlgo version including cuDNN. Other ops join through add_benchmark():
//
//   fcn::add_benchmark({"sigmoid_ce fwd", "v1 naive", [](const fcn::KernelBenchOptions& o) {
//     fcn::BenchWork w;            // allocate and fill random inputs here (not timed)
//     w.bytes = ...;               // minimal bytes moved per run (or w.flops for compute-bound ops)
//     w.run = [=] { ... };         // the timed work, queued on the default stream (stream 0)
//     w.check = [=] { return std::string(); };  // "" when the last run's output is right, else why not
//     w.teardown = [=] { ... };    // free what was allocated
//     return w;
//   }});
//
// Calls to add_benchmark must happen before run_kernel_benchmarks (e.g. from a function that
// engine/cli/cmd_bench_kernels.cc calls first; static initializers in a static library may be dropped
// by the linker). Entries with the same op form one group; a version named "cudnn", "cublas" or starting
// with "baseline" is the group's baseline for the "x baseline" column. Each entry is made, checked once
// (a failing check reports FAIL and is not timed), timed (warm-up, median of `repeats` runs timed with
// CUDA events, L2 flushed before each), then torn down.
#pragma once
#include <functional>
#include <string>

namespace fcn {

struct KernelBenchOptions {
  int batch = 8;
  int size = 512;      // square images: H = W = size
  int channels = 64;   // hidden width: conv1 out, conv2 in/out, logits in
  int classes = 1;     // logits out
  int repeats = 20;    // timed runs per version (the median is reported)
  std::string ops = "all";    // "all" or comma-separated substrings of op names ("conv2", "fwd", "filter")
  std::string markdown_path;  // when not empty, the table is also written there as markdown
};

struct BenchWork {
  double flops = 0;  // floating-point operations per run (0 for memory-bound ops)
  double bytes = 0;  // minimal bytes moved through device memory per run (0 if not stated)
  std::function<void()> run;            // the timed work, queued on stream 0
  std::function<std::string()> check;   // optional: "" when the last run's output is right, else why not
  std::function<void()> teardown;       // optional
};

struct BenchEntry {
  std::string op;       // e.g. "sigmoid_ce fwd [8,512,512,1]"
  std::string version;  // e.g. "v2 vectorized"
  std::function<BenchWork(const KernelBenchOptions&)> make;  // allocates and fills inputs (not timed)
};

void add_benchmark(BenchEntry entry);

// Returns the exit code: 0 when every version validated, 1 when some failed, 2 when no CUDA device.
int run_kernel_benchmarks(const KernelBenchOptions& options);

}  // namespace fcn
