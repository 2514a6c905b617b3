// RawBatch staging memory: the default HostAllocator (plain malloc/free). The CUDA backend supplies its
// own allocator (pinned memory) through LoaderOptions::allocator.
#include "io/raw_batch.h"

#include <cstdlib>
#include <new>

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

}  // namespace fcn
