// median_time_ms (event_timer.cuh).
#include "kernels/cuda/event_timer.cuh"

#include <algorithm>
#include <vector>

#include "kernels/cuda/check.cuh"

namespace fcn {
namespace {

struct EventPair {
  cudaEvent_t start = nullptr, stop = nullptr;
  EventPair() {
    CUDA_CHECK(cudaEventCreate(&start));
    CUDA_CHECK(cudaEventCreate(&stop));
  }
  ~EventPair() {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }
};

}  // namespace

double median_time_ms(const std::function<void()>& run, int warmups, int repeats, cudaStream_t stream,
                      void* flush, size_t flush_bytes) {
  EventPair events;
  for (int i = 0; i < warmups; ++i) run();  // module load, library plans, first-touch of the inputs
  CUDA_CHECK(cudaStreamSynchronize(stream));
  std::vector<double> times;
  for (int r = 0; r < std::max(repeats, 1); ++r) {
    if (flush != nullptr) CUDA_CHECK(cudaMemsetAsync(flush, r & 0xff, flush_bytes, stream));
    CUDA_CHECK(cudaEventRecord(events.start, stream));
    run();
    CUDA_CHECK(cudaEventRecord(events.stop, stream));
    CUDA_CHECK(cudaEventSynchronize(events.stop));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, events.start, events.stop));
    times.push_back(ms);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace fcn
