// fcn predict: placeholder until the command is written.
#include "engine/cli/commands.h"

namespace fcn::cli {
void add_predict_command(CLI::App& app) {
  app.add_subcommand("predict", "(not available yet)")->callback([] { run_status() = 2; });
}
}  // namespace fcn::cli
