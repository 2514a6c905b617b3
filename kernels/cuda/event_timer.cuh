// median_time_ms: how long a piece of queued GPU work takes, measured with CUDA events on its stream
// (warm-up runs first; optionally an L2 flush before each timed run so that every run starts cold).
#pragma once
#include <cuda_runtime.h>

#include <functional>

namespace fcn {

// run() must queue its work on `stream`. flush (may be null) is a device buffer of flush_bytes that is
// overwritten before each timed run; make it larger than the L2 cache (the H200's is 60 MB).
double median_time_ms(const std::function<void()>& run, int warmups, int repeats, cudaStream_t stream,
                      void* flush = nullptr, size_t flush_bytes = 0);

}  // namespace fcn
