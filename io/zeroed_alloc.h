// The allocator stb_image uses here (io/stb_impl.cc defines STBI_MALLOC, STBI_REALLOC_SIZED and STBI_FREE
// to these): new memory is always zero, so a decoder that reads bytes it never wrote (a hostile file can
// steer it there) reads zeros, not old heap contents. stb_image 2.27 passes the true old size to
// STBI_REALLOC_SIZED at each of its reallocations, which is what lets realloc zero just the new tail.
#pragma once
#include <cstddef>

namespace fcn {

void* zeroed_malloc(size_t size);                                     // calloc; 0 bytes still gives a pointer
void* zeroed_realloc_sized(void* p, size_t old_size, size_t new_size);  // bytes [old_size, new_size) zeroed
void zeroed_free(void* p);

}  // namespace fcn
