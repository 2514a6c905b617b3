// Which CUDA device this process trains on: one GPU per process (per rank). The launcher's local rank
// (this process's index among the ranks on its machine) picks it, modulo the visible devices:
//   torchrun LOCAL_RANK, Open MPI OMPI_COMM_WORLD_LOCAL_RANK, MPICH/Hydra MPI_LOCALRANKID, Slurm SLURM_LOCALID.
// Without any of them (a single process, or a launcher that sets CUDA_VISIBLE_DEVICES per process so that
// each sees its own GPU as device 0) it is device 0. A plain C++ header (no CUDA), so that the CUDA backend
// (real and emulated) and the NCCL collectives (engine/cuda/nccl_collectives.cu) pick the same device.
#pragma once
#include <cstdlib>

namespace fcn {

// The local rank from the launcher's environment, or -1 where none is set (or it is not a number).
inline int local_rank_from_environment() {
  for (const char* name : {"LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"}) {
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0') continue;
    char* end = nullptr;
    const long value = std::strtol(text, &end, 10);
    if (*end == '\0' && value >= 0 && value < (1 << 24)) return int(value);
  }
  return -1;
}

// The device index for this process among device_count visible devices (>= 1).
inline int device_for_this_process(int device_count) {
  const int local = local_rank_from_environment();
  return (local < 0 || device_count < 1) ? 0 : local % device_count;
}

}  // namespace fcn
