// GradientReducer: sums the gradient buffer across ranks after (or during) backward, on the backend's own
// memory. The model hands it one layer's gradients at a time, last layer first, as soon as backward has
// computed them, so an implementation with a stream of its own (NCCL) can sum layer L while layer L-1's
// backward runs; wait() returns when every sum is in place for Adam.
//
// Implementations: host staging through Collectives (engine/dist/host_gradient_reducer.cc; in place on the
// CPU backend, whose memory is host memory), and NCCL on the CUDA backend (engine/cuda/nccl_reducer.cu).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

namespace fcn {

class Backend;
class Collectives;

class GradientReducer {
 public:
  virtual ~GradientReducer() = default;
  // Queues the in-place sum across ranks of grads[0, count) (backend memory). May return before the sum
  // is done; the backend's ops that run before wait() must not write that range.
  virtual void reduce_async(float* grads, int64_t count, const std::string& what) = 0;
  // Returns when every queued sum is complete and the backend's next op sees the sums.
  virtual void wait() = 0;
  virtual std::string describe() const = 0;  // "MPI_Allreduce over host memory", "NCCL on its own stream"
};

// Sums through comm on host memory. When backend_memory_is_host, in place (the CPU backend); otherwise
// through a host copy (download, sum, upload), which works for every backend. Queued ranges that touch
// are merged into one operation.
std::unique_ptr<GradientReducer> make_host_gradient_reducer(Backend& backend, Collectives& comm,
                                                           bool backend_memory_is_host);

}  // namespace fcn
