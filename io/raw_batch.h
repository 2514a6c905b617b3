// RawBatch: a batch of decoded, not yet resized samples packed into one staging buffer.
// The loader fills it on its worker threads; a backend resizes it (CPU loop or CUDA kernel after
// one host-to-device copy of `bytes`). The buffer comes from a HostAllocator so the CUDA backend can
// hand out pinned memory; buffers are reused from a ring, so steady state allocates nothing.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace fcn {

// Where one sample's pixels sit inside RawBatch::bytes.
struct RawSampleInfo {
  int height = 0;
  int width = 0;
  size_t image_offset = 0;  // byte offset of [height, width, 3] uint8 RGB
  size_t label_offset = 0;  // byte offset of [height, width] uint8 class values
  int64_t record_index = -1;
  std::string id;
};

// Allocation hook for staging memory (malloc by default; cudaHostAlloc for the CUDA backend).
struct HostAllocator {
  std::function<void*(size_t)> allocate;
  std::function<void(void*)> release;
  static HostAllocator malloc_allocator();
};

struct RawBatch {
  int count = 0;                    // samples in this batch (the test stream's last one may be partial)
  // Data parallel (LoaderOptions::slice_ranks > 1): the batch holds this rank's slice of a global batch of
  // global_count samples, which starts at sample slice_begin of it. A single process: global_count = count.
  int global_count = 0;
  int slice_begin = 0;
  std::vector<RawSampleInfo> info;  // [count]
  uint8_t* bytes = nullptr;         // packed images and labels, used_bytes of capacity_bytes
  size_t used_bytes = 0;
  size_t capacity_bytes = 0;
  int64_t sequence = 0;             // batch number within its stream, from 0
  int epoch = 0;                    // epoch of the batch's first sample (train stream)
};

// [begin, end) of the samples of a global batch of `global_count` that `rank` of `ranks` takes: contiguous
// slices in rank order whose sizes differ by one at most (the first global_count % ranks get one more).
// Every rank computes the same partition from the same three numbers, so the data order is that of a
// single process whatever the number of ranks.
struct BatchSlice {
  int begin = 0;
  int end = 0;
  int count() const { return end - begin; }
};
BatchSlice batch_slice(int global_count, int rank, int ranks);

}  // namespace fcn
