// [gpu][bench] The engine ops' benchmark entries (kernels/cuda/bench_engine_ops.h) register once, and each
// of them passes its own check against the CPU reference when run through `fcn bench kernels`' runner at
// a small size.
#include <catch2/catch.hpp>

#include "kernels/cuda/bench_engine_ops.h"
#include "kernels/cuda/bench_kernels.h"

namespace fcn {

TEST_CASE("engine op benchmarks validate at a small size", "[gpu][bench]") {
  register_engine_op_benchmarks();
  register_engine_op_benchmarks();  // a second call adds nothing
  KernelBenchOptions options;
  options.batch = 2;
  options.size = 37;
  options.channels = 8;
  options.classes = 2;
  options.repeats = 2;
  options.ops = "resize,sigmoid_ce,adam,weight_decay";  // only these entries, none of the convolutions
  CHECK(run_kernel_benchmarks(options) == 0);          // 1 would mean a check failed
}

}  // namespace fcn
