// zeroed_alloc: what stb_image gets from its allocator is zero, grown memory zero past the old size, and
// the old bytes kept.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "io/zeroed_alloc.h"

using namespace fcn;

namespace {

bool all_equal(const void* p, size_t size, unsigned char value) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < size; ++i)
    if (b[i] != value) return false;
  return true;
}

}  // namespace

TEST_CASE("zeroed_alloc: new memory is zero, old bytes survive a realloc", "[io][zeroed_alloc]") {
  // Dirty the heap first, so a plain malloc would likely hand back non-zero bytes.
  for (size_t size : {size_t(64), size_t(4096), size_t(1) << 20}) {
    std::vector<void*> dirty;
    for (int i = 0; i < 4; ++i) {
      void* p = zeroed_malloc(size);
      REQUIRE(p != nullptr);
      std::memset(p, 0xAB, size);
      dirty.push_back(p);
    }
    for (void* p : dirty) zeroed_free(p);
    void* fresh = zeroed_malloc(size);
    REQUIRE(fresh != nullptr);
    CHECK(all_equal(fresh, size, 0));
    zeroed_free(fresh);
  }

  auto* p = static_cast<unsigned char*>(zeroed_malloc(100));
  REQUIRE(p != nullptr);
  std::memset(p, 0x5A, 100);
  p = static_cast<unsigned char*>(zeroed_realloc_sized(p, 100, 100000));  // grows, likely moves
  REQUIRE(p != nullptr);
  CHECK(all_equal(p, 100, 0x5A));
  CHECK(all_equal(p + 100, 100000 - 100, 0));
  std::memset(p, 0x33, 100000);
  p = static_cast<unsigned char*>(zeroed_realloc_sized(p, 100000, 10));  // shrinks: the kept bytes stay
  REQUIRE(p != nullptr);
  CHECK(all_equal(p, 10, 0x33));
  p = static_cast<unsigned char*>(zeroed_realloc_sized(p, 10, 20));
  REQUIRE(p != nullptr);
  CHECK(all_equal(p, 10, 0x33));
  CHECK(all_equal(p + 10, 10, 0));
  zeroed_free(p);

  void* from_null = zeroed_realloc_sized(nullptr, 0, 256);  // realloc of nothing is a malloc
  REQUIRE(from_null != nullptr);
  CHECK(all_equal(from_null, 256, 0));
  zeroed_free(from_null);
  void* empty = zeroed_malloc(0);  // stb takes a null pointer for "out of memory": never give one for 0
  CHECK(empty != nullptr);
  zeroed_free(empty);
  zeroed_free(nullptr);
}
