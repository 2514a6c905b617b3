// fcn train: placeholder until the command is written.
#include "engine/cli/commands.h"

namespace fcn::cli {
void add_train_command(CLI::App& app) {
  app.add_subcommand("train", "(not available yet)")->callback([] { run_status() = 2; });
}
}  // namespace fcn::cli
