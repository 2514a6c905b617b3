// [gpu][bench] The convolution rows of `fcn bench kernels` at a tiny size: every version's output passes
// the benchmark's own device-side comparison with v1 (compare_kernel), so the table's numbers are of
// right results. (On the emulated device the cuDNN rows are skipped: it has no cuDNN.)
#include <catch2/catch.hpp>

#include "kernels/cuda/bench_kernels.h"

namespace fcn {

TEST_CASE("conv benchmarks validate every version at a small size", "[gpu][bench]") {
  KernelBenchOptions options;
  options.batch = 1;
  options.size = 9;
  options.channels = 8;
  options.repeats = 1;
  options.ops = "conv1";  // the 3->C layer, all three directions
  CHECK(run_kernel_benchmarks(options) == 0);  // 1 would mean a version failed its check
}

}  // namespace fcn
