// The data-parallel options shared by train and bench step (--dist-init, --rank, --world-size,
// --dist-timeout; engine/dist/collectives.h makes the transport they name). Which GPU a rank takes is the
// CUDA backend's choice, by the launcher's local rank (engine/cuda/local_device.h).
#include "engine/cli/commands.h"

namespace fcn::cli {

void add_dist_options(CLI::App* cmd, DistOptions& dist) {
  cmd->add_option("--dist-init", dist.init,
                  "Several processes: auto (MPI when started by mpirun), none, mpi, or file:PATH (NCCL id "
                  "through a shared file, CUDA only)")
      ->capture_default_str();
  cmd->add_option("--rank", dist.rank, "With --dist-init file: this process's rank (default: $RANK)");
  cmd->add_option("--world-size", dist.world_size,
                  "With --dist-init file: the number of ranks (default: $WORLD_SIZE)");
  cmd->add_option("--dist-timeout", dist.timeout_s,
                  "Seconds a rank waits for the others before naming the missing ones and stopping")
      ->capture_default_str();
}

}  // namespace fcn::cli
