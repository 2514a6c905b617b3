// fcn bench: the benchmark group. Each benchmark prints a table; none of them is a test.
#include "engine/cli/commands.h"

namespace fcn::cli {
void add_bench_command(CLI::App& app) {
  CLI::App* bench = app.add_subcommand("bench", "Benchmarks: loader, kernels, step");
  bench->require_subcommand(1);
  add_bench_loader_command(*bench);
  add_bench_kernels_command(*bench);
  add_bench_step_command(*bench);
}
}  // namespace fcn::cli
