// The NCCL GradientReducer (engine/cuda/nccl_reducer.h): in-place sums of gradient ranges on a stream of
// its own, ordered against the compute stream by two events, and the check that every rank has a GPU of
// its own before NCCL is used.
#include "engine/cuda/nccl_reducer.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "engine/cuda/nccl_common.cuh"
#include "engine/dist/collectives.h"
#include "kernels/cuda/check.cuh"

namespace fcn {

namespace {

class NcclGradientReducer final : public GradientReducer {
 public:
  NcclGradientReducer(cudaStream_t compute, Collectives& comm, double timeout_s)
      : compute_(compute), timeout_s_(timeout_s), rank_(comm.rank()), ranks_(comm.size()) {
    CUDA_CHECK(cudaGetDevice(&device_));
    try {
      CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
      CUDA_CHECK(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming));
      CUDA_CHECK(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
      ncclUniqueId id{};
      if (rank_ == 0) id = nccl::new_unique_id();
      comm.broadcast(&id, sizeof(id), 0, "the NCCL id of the gradient communicator");
      comm_ = nccl::init_communicator(ranks_, id, rank_, timeout_s_, nullptr, "the NCCL gradient communicator");
      version_ = nccl::nccl_library_text();
    } catch (...) {
      release();
      throw;
    }
  }

  ~NcclGradientReducer() override { release(); }

  // grads [count] floats of device memory, written by the compute stream's ops queued so far.
  void reduce_async(float* grads, int64_t count, const std::string& what) override {
    if (count <= 0) return;
    if (comm_ == nullptr) {
      throw std::runtime_error("the NCCL gradient communicator was aborted after an earlier error; cannot sum " +
                               what + "\nHINT: the first error above is the cause");
    }
    const std::string described = "the NCCL sum of " + what + " (rank " + std::to_string(rank_) + " of " +
                                  std::to_string(ranks_) + ")";
    nccl::check_async_error(comm_, described);  // a peer lost since the last sum fails here, not later
    CUDA_CHECK(cudaEventRecord(ready_, compute_));
    CUDA_CHECK(cudaStreamWaitEvent(stream_, ready_, 0));
    NCCL_CALL(comm_, ncclAllReduce(grads, grads, size_t(count), ncclFloat32, ncclSum, comm_, stream_), timeout_s_,
              nullptr, described);
    pending_ = true;
  }

  void wait() override {
    if (!pending_) return;
    CUDA_CHECK(cudaEventRecord(done_, stream_));
    CUDA_CHECK(cudaStreamWaitEvent(compute_, done_, 0));
    pending_ = false;
  }

  std::string describe() const override {
    return "summed in place on the GPU by " + version_ + " on its own stream, " + std::to_string(ranks_) +
           " ranks";
  }

 private:
  // Never throws. The stream's sums are finished (or abandoned with the communicator) first.
  void release() noexcept {
    cudaSetDevice(device_);
    if (stream_ != nullptr && comm_ != nullptr) {
      try {
        nccl::wait_for_stream(comm_, stream_, timeout_s_, nullptr, "the last gradient sums");
      } catch (...) {
        // wait_for_stream aborted the communicator; nothing more to wait for
      }
    }
    nccl::close_communicator(comm_, timeout_s_);
    if (done_ != nullptr) cudaEventDestroy(done_);
    if (ready_ != nullptr) cudaEventDestroy(ready_);
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
    done_ = ready_ = nullptr;
    stream_ = nullptr;
  }

  cudaStream_t compute_;
  double timeout_s_;
  int rank_;
  int ranks_;
  int device_ = 0;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;  // the NCCL stream
  cudaEvent_t ready_ = nullptr;    // recorded on compute_: the next range's gradients are written
  cudaEvent_t done_ = nullptr;     // recorded on stream_: every queued sum is done
  bool pending_ = false;           // sums queued since the last wait()
  std::string version_;
};

// A reducer whose describe() says why it was chosen.
class NotedReducer final : public GradientReducer {
 public:
  NotedReducer(std::unique_ptr<GradientReducer> inner, std::string note)
      : inner_(std::move(inner)), note_(std::move(note)) {}
  void reduce_async(float* grads, int64_t count, const std::string& what) override {
    inner_->reduce_async(grads, count, what);
  }
  void wait() override { inner_->wait(); }
  std::string describe() const override { return inner_->describe() + " (" + note_ + ")"; }

 private:
  std::unique_ptr<GradientReducer> inner_;
  std::string note_;
};

// "host:0000:3b:00.0": which physical GPU this rank uses.
std::string gpu_identity(int device) {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) std::strcpy(host, "unknown-host");
  char bus[64] = {};
  if (cudaDeviceGetPCIBusId(bus, sizeof(bus), device) != cudaSuccess) {
    cudaGetLastError();
    std::snprintf(bus, sizeof(bus), "device %d", device);
  }
  return std::string(host) + ":" + bus;
}

}  // namespace

std::unique_ptr<GradientReducer> make_nccl_gradient_reducer(cudaStream_t compute, Collectives& comm,
                                                           double timeout_s) {
  if (!(timeout_s > 0)) throw std::invalid_argument("the NCCL gradient reducer needs a timeout > 0 seconds");
  return std::make_unique<NcclGradientReducer>(compute, comm, timeout_s);
}

std::string shared_gpu_note(Collectives& comm, int device) {
  const std::string mine = gpu_identity(device);
  const std::vector<uint64_t> ids = comm.allgather(fnv1a64(mine.data(), mine.size()), "which GPU every rank uses");
  for (size_t a = 0; a < ids.size(); ++a) {
    for (size_t b = a + 1; b < ids.size(); ++b) {
      if (ids[a] != ids[b]) continue;
      const bool me = int(a) == comm.rank() || int(b) == comm.rank();
      return "NCCL not used: ranks " + std::to_string(a) + " and " + std::to_string(b) + " share one GPU" +
             (me ? " (" + mine + ")" : "") + ", and NCCL needs a GPU per rank";
    }
  }
  return "";
}

std::unique_ptr<GradientReducer> with_note(std::unique_ptr<GradientReducer> reducer, const std::string& note) {
  return std::make_unique<NotedReducer>(std::move(reducer), note);
}

}  // namespace fcn
