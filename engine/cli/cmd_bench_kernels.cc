// fcn bench kernels: validates, then times every version of the GPU kernels at the model's shapes
// (kernels/cuda/bench_kernels.h). Without CUDA in the build, or without a device, it says so and exits 2.
#include <cstdio>

#include "engine/cli/commands.h"
#include "kernels/cuda/bench_engine_ops.h"
#include "kernels/cuda/bench_kernels.h"

namespace fcn::cli {

void add_bench_kernels_command(CLI::App& bench) {
  auto options = std::make_shared<KernelBenchOptions>();
  CLI::App* cmd = bench.add_subcommand(
      "kernels", "Validate, then time every version of the GPU kernels (conv ladders vs cuDNN, other ops)");
  cmd->add_option("--batch", options->batch, "Batch size")->capture_default_str();
  cmd->add_option("--size", options->size, "Image height and width")->capture_default_str();
  cmd->add_option("--channels", options->channels, "Hidden channels of the network")->capture_default_str();
  cmd->add_option("--classes", options->classes, "Output classes (logits channels)")->capture_default_str();
  cmd->add_option("--repeats", options->repeats, "Timed runs per version (median reported)")
      ->capture_default_str();
  cmd->add_option("--ops", options->ops,
                  "'all' or comma-separated parts of op names, e.g. conv2,filter")
      ->capture_default_str();
  cmd->add_option("--markdown", options->markdown_path, "Also write the result table to this markdown file");
  cmd->callback([options] {
#ifdef FCN_HAVE_CUDA
    try {
      register_engine_op_benchmarks();  // resize, sigmoid CE, Adam, weight decay
      run_status() = run_kernel_benchmarks(*options);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "fcn bench kernels: %s\n", e.what());
      run_status() = 1;
    }
#else
    std::fprintf(stderr,
                 "fcn bench kernels: this build has no CUDA backend\n"
                 "HINT: rebuild on a machine with nvcc (scripts/build.sh turns CUDA on when it is found)\n");
    run_status() = 2;
#endif
  });
}

}  // namespace fcn::cli
