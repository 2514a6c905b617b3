// [emu] The emulator's happens-before checker (kernels/cuda/emu/happens_before.h) on its own, and the
// small text helpers its messages use (kernel_name_from, source_place).
#include <catch2/catch.hpp>

#include <string>

#include "kernels/cuda/emu/block_runner.h"
#include "kernels/cuda/emu/happens_before.h"

namespace fcn {
namespace {

cuda_emu::AccessLog::Access access(uintptr_t begin, uintptr_t end, bool write, int agent, uint64_t tick,
                                   const char* what) {
  cuda_emu::AccessLog::Access a;
  a.begin = begin, a.end = end, a.write = write, a.agent = agent, a.tick = tick, a.what = what;
  return a;
}

}  // namespace

TEST_CASE("VectorClock ticks and joins entry by entry", "[emu]") {
  cuda_emu::VectorClock a, b;
  a.tick(1);
  a.tick(1);
  b.tick(3);
  CHECK(a.at(1) == 2);
  CHECK(a.at(3) == 0);
  a.join(b);
  CHECK(a.at(1) == 2);
  CHECK(a.at(3) == 1);
  CHECK(a.at(7) == 0);  // an agent never seen
}

TEST_CASE("AccessLog reports an unordered conflicting access and accepts ordered ones", "[emu]") {
  const uintptr_t base = 0x1000;
  cuda_emu::AccessLog log;
  cuda_emu::VectorClock writer, reader;
  writer.tick(1);
  CHECK_FALSE(log.record(base, access(base, base + 64, true, 1, writer.at(1), "memset on stream 1"), writer));

  reader.tick(2);  // stream 2 knows nothing of stream 1's write
  const auto conflict = log.record(base, access(base + 32, base + 96, false, 2, reader.at(2), "kernel k on stream 2"), reader);
  REQUIRE(conflict);
  CHECK_THAT(*conflict, Catch::Contains("kernel k on stream 2 reads bytes [32, 64)") &&
                            Catch::Contains("which memset on stream 1 wrote"));

  // Disjoint bytes, two reads, and the same stream never conflict (a second allocation).
  const uintptr_t other = 0x2000;
  CHECK_FALSE(log.record(other, access(other, other + 64, false, 3, 1, "read on stream 3"), cuda_emu::VectorClock{}));
  CHECK_FALSE(log.record(other, access(other, other + 16, false, 4, 1, "read on stream 4"), cuda_emu::VectorClock{}));
  CHECK_FALSE(log.record(other, access(other + 64, other + 128, true, 5, 1, "write on stream 5"), cuda_emu::VectorClock{}));
  CHECK_FALSE(log.record(other, access(other + 64, other + 128, true, 5, 2, "write on stream 5"), cuda_emu::VectorClock{}));
  CHECK(log.record(other, access(other + 8, other + 72, true, 6, 1, "write on stream 6"), cuda_emu::VectorClock{}));

  // After joining the writer's clock (an event wait), stream 2's read is ordered.
  reader.join(writer);
  reader.tick(2);
  CHECK_FALSE(log.record(base, access(base, base + 64, false, 2, reader.at(2), "kernel k on stream 2"), reader));

  log.forget(base);  // freed: its history goes
  CHECK_FALSE(log.record(base, access(base, base + 64, false, 5, 1, "after free"), cuda_emu::VectorClock{}));
}

TEST_CASE("kernel_name_from and source_place give the names the messages use", "[emu]") {
  CHECK(cuda_emu::kernel_name_from("const std::string& cuda_emu::kernel_name() [with auto Kernel = "
                                   "fcn_emu::{anonymous}::resize_images_kernel; std::string = std::__cxx11::basic_string<char>]") ==
        "fcn_emu::{anonymous}::resize_images_kernel");
  CHECK(cuda_emu::kernel_name_from("const string& cuda_emu::kernel_name() [with auto Kernel = & fcn_emu::k]") == "fcn_emu::k");
  CHECK(cuda_emu::source_place(std::source_location::current()).rfind("tests/emu/test_happens_before.cc:", 0) == 0);
}

}  // namespace fcn
