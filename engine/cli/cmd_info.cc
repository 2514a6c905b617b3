// fcn info: placeholder until the command is written.
#include "engine/cli/commands.h"

namespace fcn::cli {
void add_info_command(CLI::App& app) {
  app.add_subcommand("info", "(not available yet)")->callback([] { run_status() = 2; });
}
}  // namespace fcn::cli
