// NCCL error checks, deadlines and the non-blocking communicator's life (engine/cuda/nccl_common.cuh).
#include "engine/cuda/nccl_common.cuh"

#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

#include "engine/dist/collectives.h"
#include "kernels/cuda/check.cuh"

namespace fcn::nccl {

namespace {

const char* hint_for(ncclResult_t status) {
  switch (status) {
    case ncclUnhandledCudaError:
      return "a CUDA call inside NCCL failed: check the GPU (nvidia-smi); NCCL_DEBUG=WARN prints which call";
    case ncclSystemError:
      return "a system call inside NCCL failed (sockets, shared memory, file descriptors): NCCL_DEBUG=WARN names "
             "it; in a container give /dev/shm room (docker --shm-size=1g); NCCL_SOCKET_IFNAME picks the network";
    case ncclInternalError:
      return "NCCL reported an internal error: rerun with NCCL_DEBUG=INFO and look for the first WARN line";
    case ncclInvalidArgument:
    case ncclInvalidUsage:
      return "NCCL refused the call: two ranks on one GPU is the usual cause (each rank needs its own: set "
             "CUDA_VISIBLE_DEVICES per process, or LOCAL_RANK); NCCL_DEBUG=WARN says more";
    case ncclRemoteError:
      return "another rank failed or exited: its output has the first error";
    default:
      return "rerun with NCCL_DEBUG=WARN (or INFO) to see what NCCL was doing";
  }
}

// "2.28.9" from an NCCL_VERSION_CODE (X*1000+Y*100+Z up to 2.8, X*10000+Y*100+Z after).
std::string version_text(int code) {
  const bool old_style = code < 10000;
  const int major = old_style ? code / 1000 : code / 10000;
  const int minor = old_style ? (code % 1000) / 100 : (code % 10000) / 100;
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(code % 100);
}

// Busy polls first (a collective of a few bytes completes in microseconds), then 1 ms sleeps.
class Poller {
 public:
  void pause() {
    if (++polls_ < 2000) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

 private:
  int polls_ = 0;
};

[[noreturn]] void throw_timeout(ncclComm_t& comm, double timeout_s, const std::string& what) {
  abort_communicator(comm);
  char seconds[32];
  std::snprintf(seconds, sizeof(seconds), "%g", timeout_s);
  throw DistTimeout(what + " did not complete within " + seconds +
                    " s: a rank died, hangs or never started (NCCL cannot say which; the communicator is aborted)"
                    "\nHINT: the first error in the other ranks' output is the cause; raise --dist-timeout if a "
                    "rank is only slow (its first evaluation, a cold filesystem)");
}

[[noreturn]] void throw_interrupted(ncclComm_t& comm, const std::string& what) {
  abort_communicator(comm);
  throw DistInterrupted("interrupted (SIGINT or SIGTERM) while waiting for " + what);
}

// NCCL's message for the last error ("" when it has none).
std::string last_error(ncclComm_t comm) {
  const char* text = ncclGetLastError(comm);
  return text != nullptr ? text : "";
}

bool interrupted_now(const std::atomic<bool>* interrupted) {
  return interrupted != nullptr && interrupted->load(std::memory_order_relaxed);
}

// comm's state: ncclSuccess, ncclInProgress, or (after aborting comm) a throw.
ncclResult_t async_state(ncclComm_t& comm, const std::string& what) {
  ncclResult_t state = ncclSuccess;
  const ncclResult_t query = ncclCommGetAsyncError(comm, &state);
  if (query != ncclSuccess) state = query;
  if (state == ncclSuccess || state == ncclInProgress) return state;
  const std::string last = last_error(comm);
  abort_communicator(comm);
  throw_nccl_failure(state, "ncclCommGetAsyncError", __FILE__, __LINE__,
                     what + (last.empty() ? "" : " (NCCL: " + last + ")"));
}

// Polls comm until its pending call is done, at most timeout_s.
void wait_until_done(ncclComm_t& comm, double timeout_s, const std::atomic<bool>* interrupted,
                     const std::string& what) {
  const Deadline deadline(timeout_s);
  Poller poller;
  while (async_state(comm, what) == ncclInProgress) {
    if (interrupted_now(interrupted)) throw_interrupted(comm, what);
    if (deadline.expired()) throw_timeout(comm, timeout_s, what);
    poller.pause();
  }
}

}  // namespace

void throw_nccl_failure(ncclResult_t status, const char* call, const char* file, int line, const std::string& what) {
  std::string message = std::string("NCCL error '") + ncclGetErrorString(status) + "' (" + call + ") at " + file +
                        ":" + std::to_string(line);
  if (!what.empty()) message += ": " + what;
  message += std::string("\nHINT: ") + hint_for(status);
  throw std::runtime_error(message);
}

std::string nccl_library_text() {
  int code = 0;
  if (ncclGetVersion(&code) != ncclSuccess) return "NCCL (version unknown)";
  std::string text = "NCCL " + version_text(code);
  if (code != NCCL_VERSION_CODE) text += " (built with the " + version_text(NCCL_VERSION_CODE) + " header)";
  return text;
}

ncclUniqueId new_unique_id() {
  ncclUniqueId id{};
  NCCL_CHECK(ncclGetUniqueId(&id), "making the id of a new communicator (NCCL's bootstrap socket on this host)");
  return id;
}

ncclComm_t init_communicator(int nranks, const ncclUniqueId& id, int rank, double timeout_s,
                             const std::atomic<bool>* interrupted, const std::string& what) {
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;  // return at once; wait_until_done polls with a deadline
  ncclComm_t comm = nullptr;
  const std::string described = "setting up " + what + " (rank " + std::to_string(rank) + " of " +
                                std::to_string(nranks) + ")";
  const ncclResult_t issued = ncclCommInitRankConfig(&comm, nranks, id, rank, &config);
  if (issued != ncclSuccess && issued != ncclInProgress) {
    abort_communicator(comm);  // a no-op when NCCL did not create one
    throw_nccl_failure(issued, "ncclCommInitRankConfig", __FILE__, __LINE__, described);
  }
  wait_until_done(comm, timeout_s, interrupted, described);
  return comm;
}

void finish_call(ncclComm_t& comm, ncclResult_t issued, const char* call, const char* file, int line,
                 double timeout_s, const std::atomic<bool>* interrupted, const std::string& what) {
  if (issued == ncclSuccess) return;
  if (issued != ncclInProgress) {
    const std::string last = last_error(comm);
    abort_communicator(comm);
    throw_nccl_failure(issued, call, file, line, what + (last.empty() ? "" : " (NCCL: " + last + ")"));
  }
  wait_until_done(comm, timeout_s, interrupted, what);
}

void wait_for_stream(ncclComm_t& comm, cudaStream_t stream, double timeout_s, const std::atomic<bool>* interrupted,
                     const std::string& what) {
  const Deadline deadline(timeout_s);
  Poller poller;
  for (;;) {
    const cudaError_t status = cudaStreamQuery(stream);
    if (status == cudaSuccess) return;
    if (status != cudaErrorNotReady) {
      abort_communicator(comm);
      ::fcn::cuda_detail::check_cuda(status, "cudaStreamQuery", __FILE__, __LINE__);  // throws
    }
    async_state(comm, what);  // throws on an NCCL error (a peer gone)
    if (interrupted_now(interrupted)) throw_interrupted(comm, what);
    if (deadline.expired()) throw_timeout(comm, timeout_s, what);
    poller.pause();
  }
}

void check_async_error(ncclComm_t& comm, const std::string& what) { async_state(comm, what); }

void close_communicator(ncclComm_t& comm, double timeout_s) noexcept {
  if (comm == nullptr) return;
  ncclResult_t state = ncclCommFinalize(comm);  // ncclInProgress on a non-blocking communicator
  const Deadline deadline(timeout_s);
  while (state == ncclInProgress && !deadline.expired()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (ncclCommGetAsyncError(comm, &state) != ncclSuccess) state = ncclInternalError;
  }
  if (state != ncclSuccess) {
    abort_communicator(comm);  // a peer is gone or the finalize did not end in time
    return;
  }
  ncclCommDestroy(comm);  // after a finalize, frees local resources without waiting
  comm = nullptr;
}

void abort_communicator(ncclComm_t& comm) noexcept {
  if (comm == nullptr) return;
  ncclCommAbort(comm);
  comm = nullptr;
}

}  // namespace fcn::nccl
