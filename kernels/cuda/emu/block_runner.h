// Runs one kernel launch's grid on the CPU: blocks spread over a few host threads, and inside a block
// every CUDA thread a fiber (Boost.Context) that runs until it reaches a barrier, a warp operation or its
// end, then hands over to the next. A barrier releases once every thread of the block waits on it, so
// between two barriers the threads run one after another, in an order that changes at every barrier
// (seeded; FCN_EMU_SCHEDULE=forward|reverse|random): a missing barrier then lets one thread read shared
// memory that another has not written yet, or has already overwritten, and the result is wrong.
#pragma once
#include <cstdint>
#include <optional>
#include <source_location>
#include <string>

#include "kernels/cuda/emu/launch.h"

namespace cuda_emu {

enum class Schedule { kForward, kReverse, kRandom };

struct RunnerConfig {
  int host_threads = 1;      // blocks run on this many host threads at once
  Schedule schedule = Schedule::kRandom;
  uint64_t seed = 1;         // the random schedule's seed (with the launch number and the block index)
};

struct KernelFault {
  cudaError_t code = cudaErrorLaunchFailure;
  std::string message;  // names the kernel, block, thread and source line
};

// Runs every block of the launch; the first fault stops it.
std::optional<KernelFault> run_grid(const LaunchRequest& launch, const RunnerConfig& config, uint64_t launch_number);

// "kernels/cuda/resize.cu:42": a source place for messages, from the project's own folders on.
std::string source_place(const std::source_location& where);

// The kernel, block and thread running on this host thread, for messages ("" when none).
std::string describe_running_thread();

}  // namespace cuda_emu
