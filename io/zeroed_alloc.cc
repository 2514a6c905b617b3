// zeroed_malloc / zeroed_realloc_sized / zeroed_free: calloc, realloc + memset of the grown part, free.
#include "io/zeroed_alloc.h"

#include <cstdlib>
#include <cstring>

namespace fcn {

void* zeroed_malloc(size_t size) { return std::calloc(size == 0 ? 1 : size, 1); }

void* zeroed_realloc_sized(void* p, size_t old_size, size_t new_size) {
  if (p == nullptr) return zeroed_malloc(new_size);
  void* grown = std::realloc(p, new_size == 0 ? 1 : new_size);
  if (grown != nullptr && new_size > old_size) {
    std::memset(static_cast<char*>(grown) + old_size, 0, new_size - old_size);
  }
  return grown;
}

void zeroed_free(void* p) { std::free(p); }

}  // namespace fcn
