// fcn: the command line. One binary, one subcommand per job; `fcn --help` and `fcn CMD --help` list
// everything. Errors in input data print the message (file, record, offset, HINT) and exit 1.
#include <cstdio>
#include <exception>

#include "engine/cli/commands.h"

namespace fcn::cli {
int& run_status() {
  static int status = 0;
  return status;
}
}  // namespace fcn::cli

int main(int argc, char** argv) {
  CLI::App app{"fcn.cu: train a fully convolutional segmentation network on a Labelbox TFRecord export,\n"
               "with hand-written CPU and CUDA kernels.",
               "fcn"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "fcn.cu 0.1");
  fcn::cli::add_make_dataset_command(app);
  fcn::cli::add_inspect_command(app);
  fcn::cli::add_train_command(app);
  fcn::cli::add_predict_command(app);
  fcn::cli::add_info_command(app);
  fcn::cli::add_bench_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fcn: error: %s\n", e.what());
    return 1;
  }
  return fcn::cli::run_status();
}
