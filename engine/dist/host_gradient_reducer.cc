// The default GradientReducer: sums gradients across ranks through Collectives on host memory. On the CPU
// backend the gradient buffer is host memory and is summed in place; on a GPU without NCCL it goes through
// a host copy. The per-layer ranges the model queues (last layer first, so they touch) are merged and
// summed in one operation in wait(): on the CPU nothing runs beside backward anyway, and one message of
// the whole flat gradient (155 KB for the seed's model) costs one latency instead of one per layer.
#include <algorithm>
#include <vector>

#include "engine/backend.h"
#include "engine/dist/collectives.h"
#include "engine/dist/gradient_reducer.h"

namespace fcn {

namespace {

class HostGradientReducer final : public GradientReducer {
 public:
  HostGradientReducer(Backend& backend, Collectives& comm, bool in_place)
      : backend_(backend), comm_(comm), in_place_(in_place) {}

  void reduce_async(float* grads, int64_t count, const std::string& what) override {
    if (count > 0) ranges_.push_back({grads, count});
    what_ = what;  // the last queued layer's name
  }

  void wait() override {
    std::sort(ranges_.begin(), ranges_.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
    std::vector<Range> merged;
    for (const Range& r : ranges_) {
      if (!merged.empty() && merged.back().begin + merged.back().count == r.begin) {
        merged.back().count += r.count;
      } else {
        merged.push_back(r);
      }
    }
    ranges_.clear();
    for (const Range& r : merged) {
      if (in_place_) {
        comm_.allreduce_sum(r.begin, r.count, what_);
        continue;
      }
      staging_.resize(size_t(r.count));
      backend_.download(staging_.data(), r.begin, r.count);
      comm_.allreduce_sum(staging_.data(), r.count, what_);
      backend_.upload(r.begin, staging_.data(), r.count);
    }
  }

  std::string describe() const override {
    return std::string(in_place_ ? "summed in place in host memory" : "summed through a host copy") +
           ", one all-reduce per step";
  }

 private:
  struct Range {
    float* begin;
    int64_t count;
  };
  Backend& backend_;
  Collectives& comm_;
  bool in_place_;
  std::vector<Range> ranges_;
  std::vector<float> staging_;
  std::string what_;
};

}  // namespace

std::unique_ptr<GradientReducer> make_host_gradient_reducer(Backend& backend, Collectives& comm,
                                                           bool backend_memory_is_host) {
  return std::make_unique<HostGradientReducer>(backend, comm, backend_memory_is_host);
}

std::unique_ptr<GradientReducer> Backend::make_gradient_reducer(Collectives& comm) {
  return make_host_gradient_reducer(*this, comm, !is_gpu());
}

}  // namespace fcn
