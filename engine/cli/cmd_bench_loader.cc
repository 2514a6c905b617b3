// fcn bench loader: placeholder until the benchmark is written.
#include "engine/cli/commands.h"

namespace fcn::cli {
void add_bench_loader_command(CLI::App& bench) {
  bench.add_subcommand("loader", "(not available yet)")->callback([] { run_status() = 2; });
}
}  // namespace fcn::cli
