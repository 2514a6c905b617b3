// --dist-init file:PATH: the Collectives (engine/dist/collectives.h) over NCCL, for a launch without MPI
// (torchrun-like: every process is given RANK and WORLD_SIZE, or --rank and --world-size). A plain C++
// header (no CUDA), declared only where the build has NCCL (FCN_HAVE_NCCL); engine/collectives_factory.cc
// calls it.
//
// Handing out the NCCL id through PATH (a file every rank can read: a shared filesystem for several hosts):
//   rank 0  refuses to start when PATH exists (left by an earlier launch), makes the id (ncclGetUniqueId),
//           writes it with world_size and a random launch nonce to PATH.tmp and renames that to PATH;
//   others  poll for PATH (at most timeout_s) and check its world_size against their own;
//   all     join the communicator (non-blocking init, at most timeout_s); rank 0 then removes PATH.
// Each operation copies its host values into a device scratch buffer, runs ncclAllReduce, ncclAllGather or
// ncclBroadcast on a stream of its own and waits for it with a deadline, watching NCCL's asynchronous
// errors and *interrupted (SIGINT/SIGTERM): DistTimeout or DistInterrupted, after ncclCommAbort.
// The device is this process's (engine/cuda/local_device.h), the one the CUDA backend will use.
#pragma once
#if defined(FCN_HAVE_NCCL)
#include <atomic>
#include <memory>
#include <string>

#include "engine/dist/collectives.h"

namespace fcn {

// rank in [0, world_size); timeout_s > 0 bounds every wait for the other ranks; interrupted may be null.
std::unique_ptr<Collectives> make_nccl_file_collectives(const std::string& path, int rank, int world_size,
                                                        double timeout_s, const std::atomic<bool>* interrupted);

// The NCCL this process runs with, for `fcn info`: "NCCL 2.28.9".
std::string nccl_version_text();

}  // namespace fcn
#endif  // FCN_HAVE_NCCL
