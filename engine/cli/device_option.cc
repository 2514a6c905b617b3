// The --device option shared by train, predict and bench step (engine/backend_factory.cc makes the
// backend it names).
#include "engine/cli/commands.h"

namespace fcn::cli {

CLI::Option* add_device_option(CLI::App* cmd, std::string& device) {
  return cmd
      ->add_option("--device", device,
                   "auto | cpu | cuda | cuda-emu (the CUDA backend's own code on an emulated device on the "
                   "CPU, for tests, study and gdb: exact but 15-150x slower than the CPU backend, and "
                   "--conv-kernels auto tunes for a minute first; use --size 32 or so)")
      ->check(CLI::IsMember({"auto", "cpu", "cuda", "cuda-emu"}))
      ->capture_default_str();
}

}  // namespace fcn::cli
