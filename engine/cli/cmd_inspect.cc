// fcn inspect: placeholder until the command is written.
#include "engine/cli/commands.h"

namespace fcn::cli {
void add_inspect_command(CLI::App& app) {
  app.add_subcommand("inspect", "(not available yet)")->callback([] { run_status() = 2; });
}
}  // namespace fcn::cli
