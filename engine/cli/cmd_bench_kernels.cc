// fcn bench kernels: times every op of the step at the model's shapes. --device cuda validates, then
// times every version of the GPU kernels (kernels/cuda/bench_kernels.h); without CUDA in the build, or
// without a device, it says so and exits 2. --device cpu times the CPU ops on each GEMM path beside the
// FMA peak it measures (engine/cpu_kernel_bench.h). --device auto: cuda where a GPU is usable, else cpu.
#include <cstdio>
#include <stdexcept>

#include "engine/backend.h"
#include "engine/cli/commands.h"
#include "engine/cpu_kernel_bench.h"
#include "kernels/cuda/bench_engine_ops.h"
#include "kernels/cuda/bench_kernels.h"

namespace fcn::cli {
namespace {

struct BenchKernelsOptions {
  std::string device = "auto";
  int batch = 8;
  int size = 0;  // 0: 512 on CUDA, 128 on the CPU
  int channels = 64;
  int classes = 1;
  int repeats = 0;  // 0: 20 on CUDA, 5 on the CPU
  int threads = 1;
  std::string ops = "all";
  std::string paths = "all";
  std::string markdown_path;
};

int run_cuda(const BenchKernelsOptions& o) {
#ifdef FCN_HAVE_CUDA
  KernelBenchOptions options;
  options.batch = o.batch;
  options.size = o.size > 0 ? o.size : 512;
  options.channels = o.channels;
  options.classes = o.classes;
  options.repeats = o.repeats > 0 ? o.repeats : 20;
  options.ops = o.ops;
  options.markdown_path = o.markdown_path;
  register_engine_op_benchmarks();  // resize, sigmoid CE, Adam, weight decay
  return run_kernel_benchmarks(options);
#else
  std::fprintf(stderr,
               "fcn bench kernels: this build has no CUDA backend\n"
               "HINT: rebuild on a machine with nvcc (scripts/build.sh turns CUDA on when it is found), or "
               "time the CPU ops with --device cpu\n");
  return 2;
#endif
}

int run_cpu(const BenchKernelsOptions& o) {
  CpuKernelBenchOptions options;
  options.batch = o.batch;
  options.size = o.size > 0 ? o.size : 128;
  options.channels = o.channels;
  options.classes = o.classes;
  options.repeats = o.repeats > 0 ? o.repeats : 5;
  options.threads = o.threads;
  options.paths = o.paths;
  options.markdown_path = o.markdown_path;
  for (const CpuKernelBenchRow& row : run_cpu_kernel_benchmarks(options)) {
    if (row.check.rfind("MISMATCH", 0) == 0) return 1;
  }
  return 0;
}

}  // namespace

void add_bench_kernels_command(CLI::App& bench) {
  auto options = std::make_shared<BenchKernelsOptions>();
  CLI::App* cmd = bench.add_subcommand(
      "kernels", "Time every op at the model's shapes: GPU kernel versions vs cuDNN, or the CPU GEMM paths vs the FMA peak");
  cmd->add_option("--device", options->device, "auto (cuda where a GPU is usable, else cpu) | cpu | cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option("--batch", options->batch, "Batch size")->capture_default_str();
  cmd->add_option("--size", options->size, "Image height and width (0: 512 on cuda, 128 on cpu)")->capture_default_str();
  cmd->add_option("--channels", options->channels, "Hidden channels of the network")->capture_default_str();
  cmd->add_option("--classes", options->classes, "Output classes (logits channels)")->capture_default_str();
  cmd->add_option("--repeats", options->repeats, "Timed runs per version (median reported; 0: 20 on cuda, 5 on cpu)")
      ->capture_default_str();
  cmd->add_option("--ops", options->ops, "cuda: 'all' or comma-separated parts of op names, e.g. conv2,filter")
      ->capture_default_str();
  cmd->add_option("--threads", options->threads, "cpu: OpenMP threads (0: all cores)")->capture_default_str();
  cmd->add_option("--paths", options->paths, "cpu: 'all' or a comma-separated list of portable, avx2, avx512")
      ->capture_default_str();
  cmd->add_option("--markdown", options->markdown_path, "Also write the result table to this markdown file");
  cmd->callback([options] {
    const BenchKernelsOptions& o = *options;
    if (o.batch < 1 || o.size < 0 || o.channels < 1 || o.classes < 1 || o.repeats < 0 || o.threads < 0) {
      std::fprintf(stderr, "fcn bench kernels: --batch, --channels and --classes must be >= 1, --size, --repeats and "
                           "--threads >= 0\nHINT: e.g. fcn bench kernels --batch 8 --size 512 --repeats 20\n");
      run_status() = 2;
      return;
    }
    std::string device = o.device;
    if (device == "auto") device = probe_backends().cuda_unusable_reason.empty() ? "cuda" : "cpu";
    try {
      run_status() = device == "cuda" ? run_cuda(o) : run_cpu(o);
    } catch (const std::invalid_argument& e) {  // an option this machine cannot honour (--paths avx512)
      std::fprintf(stderr, "fcn bench kernels: %s\n", e.what());
      run_status() = 2;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "fcn bench kernels: %s\n", e.what());
      run_status() = 1;
    }
  });
}

}  // namespace fcn::cli
