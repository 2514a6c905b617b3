// RawBatch staging memory: the default HostAllocator (plain malloc/free). The CUDA backend supplies its
// own allocator (pinned memory) through LoaderOptions::allocator. Also the data-parallel batch slices.
#include "io/raw_batch.h"

#include <algorithm>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>

namespace fcn {

HostAllocator HostAllocator::malloc_allocator() {
  HostAllocator allocator;
  allocator.allocate = [](size_t size) -> void* {
    void* memory = std::malloc(size == 0 ? 1 : size);
    if (memory == nullptr) throw std::bad_alloc();
    return memory;
  };
  allocator.release = [](void* memory) { std::free(memory); };
  return allocator;
}

BatchSlice batch_slice(int global_count, int rank, int ranks) {
  if (ranks < 1 || rank < 0 || rank >= ranks || global_count < 0) {
    throw std::invalid_argument("batch_slice: rank " + std::to_string(rank) + " of " + std::to_string(ranks) +
                                " for a batch of " + std::to_string(global_count));
  }
  const int base = global_count / ranks;
  const int extra = global_count % ranks;  // the first `extra` ranks take one more sample
  BatchSlice slice;
  slice.begin = rank * base + std::min(rank, extra);
  slice.end = slice.begin + base + (rank < extra ? 1 : 0);
  return slice;
}

}  // namespace fcn
