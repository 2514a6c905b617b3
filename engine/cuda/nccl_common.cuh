// What the NCCL gradient reducer (nccl_reducer.cu) and the NCCL collectives (nccl_collectives.cu) share:
// error checks with a HINT, and the set-up, waits and close of a non-blocking communicator.
//
// Every communicator here is created non-blocking (ncclConfig_t::blocking = 0): an NCCL call may return
// ncclInProgress instead of waiting for the other ranks, and ncclCommGetAsyncError then says when it has
// finished (ncclSuccess), is still running (ncclInProgress) or failed. That is what gives every wait for
// the other ranks a deadline: on expiry (or a SIGINT/SIGTERM, or an error) the communicator is aborted
// (ncclCommAbort, which also ends NCCL kernels still waiting for a peer), set to null, and DistTimeout,
// DistInterrupted or std::runtime_error is thrown. Only compiled where the build has NCCL
// (FCN_HAVE_NCCL; never for the emulated device, engine/CMakeLists.txt).
#pragma once
#include <cuda_runtime.h>
#include <nccl.h>

#include <atomic>
#include <chrono>
#include <string>

namespace fcn::nccl {

// A point in time `seconds` from now.
class Deadline {
 public:
  explicit Deadline(double seconds)
      : seconds_(seconds),
        end_(std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                    std::chrono::duration<double>(seconds < 1e9 ? seconds : 1e9))) {}
  bool expired() const { return std::chrono::steady_clock::now() >= end_; }
  double seconds() const { return seconds_; }

 private:
  double seconds_;
  std::chrono::steady_clock::time_point end_;
};

// Throws std::runtime_error: "NCCL error '<ncclGetErrorString>' (<call>) at file:line: <what>", NCCL's
// last error message, and a HINT for that kind of failure.
[[noreturn]] void throw_nccl_failure(ncclResult_t status, const char* call, const char* file, int line,
                                     const std::string& what);

// The NCCL library this process runs with: "NCCL 2.28.9", plus "(built with the 2.27.3 header)" when it
// differs from the header the build used.
std::string nccl_library_text();

// Rank 0's part of handing out a communicator: a fresh id (the address of NCCL's bootstrap on this host).
ncclUniqueId new_unique_id();

// This rank's non-blocking communicator of nranks on the current CUDA device, waiting at most timeout_s
// for the other ranks to join. `what` names it in errors ("the gradient communicator").
ncclComm_t init_communicator(int nranks, const ncclUniqueId& id, int rank, double timeout_s,
                             const std::atomic<bool>* interrupted, const std::string& what);

// After an NCCL call on comm returned `issued`: returns once the call has been queued on its stream
// (ncclInProgress polled to ncclSuccess), or aborts comm and throws.
void finish_call(ncclComm_t& comm, ncclResult_t issued, const char* call, const char* file, int line,
                 double timeout_s, const std::atomic<bool>* interrupted, const std::string& what);

// Waits until every operation queued on stream has completed, at most timeout_s, watching comm's
// asynchronous errors and the interrupt flag; on expiry, error or interrupt, aborts comm and throws.
void wait_for_stream(ncclComm_t& comm, cudaStream_t stream, double timeout_s, const std::atomic<bool>* interrupted,
                     const std::string& what);

// Throws (after aborting comm) when comm has met an asynchronous error; cheap, never waits.
void check_async_error(ncclComm_t& comm, const std::string& what);

// Ends comm in order (ncclCommFinalize, polled for at most timeout_s, then ncclCommDestroy), or with
// ncclCommAbort when that fails or a peer is gone. Never throws; comm is null afterwards.
void close_communicator(ncclComm_t& comm, double timeout_s) noexcept;

// ncclCommAbort; comm is null afterwards. Never throws.
void abort_communicator(ncclComm_t& comm) noexcept;

}  // namespace fcn::nccl

// For NCCL calls that fail at once or not at all (no communicator state to wait for).
#define NCCL_CHECK(call, what)                                                                     \
  do {                                                                                             \
    const ncclResult_t fcn_nccl_status_ = (call);                                                  \
    if (fcn_nccl_status_ != ncclSuccess)                                                           \
      ::fcn::nccl::throw_nccl_failure(fcn_nccl_status_, #call, __FILE__, __LINE__, (what));        \
  } while (0)

// For NCCL calls on a non-blocking communicator: waits for ncclInProgress to end (finish_call).
#define NCCL_CALL(comm, call, timeout_s, interrupted, what) \
  ::fcn::nccl::finish_call((comm), (call), #call, __FILE__, __LINE__, (timeout_s), (interrupted), (what))
