// fcn make-dataset: placeholder until the command is written.
#include "engine/cli/commands.h"

namespace fcn::cli {
void add_make_dataset_command(CLI::App& app) {
  app.add_subcommand("make-dataset", "(not available yet)")->callback([] { run_status() = 2; });
}
}  // namespace fcn::cli
