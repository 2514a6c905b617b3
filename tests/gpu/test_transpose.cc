// [gpu] The layout kernels (kernels/cuda/transpose.cuh) against plain loops: exact, since they only move
// values. Sizes straddle the 32x32 tile in both directions.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "kernels/cuda/transpose.cuh"
#include "tests/gpu/gpu_test_util.h"

namespace fcn {

TEST_CASE("transpose_cuda transposes exactly, tiles and tails alike", "[gpu][transpose]") {
  for (auto [rows, cols] : {std::pair{1, 1}, {1, 37}, {33, 1}, {27, 64}, {576, 64}, {65, 97}}) {
    const auto in = test::random_floats(size_t(rows) * cols, -1.f, 1.f, uint64_t(rows * 1000 + cols));
    DeviceBuffer<float> d_in(in), d_out(in.size());
    d_out.poison();
    transpose_cuda(d_out.get(), d_in.get(), rows, cols, nullptr);
    const std::vector<float> got = d_out.download();
    std::vector<float> want(in.size());
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) want[size_t(c) * rows + r] = in[size_t(r) * cols + c];
    INFO(rows << " x " << cols);
    CHECK(got == want);
  }
  DeviceBuffer<float> empty(1);
  transpose_cuda(empty.get(), empty.get(), 0, 5, nullptr);  // nothing to do, no launch
  CUDA_CHECK(cudaDeviceSynchronize());
}

TEST_CASE("relu_mask_cuda zeroes where the mask is not positive", "[gpu][transpose]") {
  const int64_t n = 1000;
  auto x = test::random_floats(size_t(n), -1.f, 1.f, 5);
  auto mask = test::random_floats(size_t(n), -1.f, 1.f, 6);
  mask[0] = 0.f;
  mask[1] = std::numeric_limits<float>::quiet_NaN();
  mask[2] = 1e-30f;
  DeviceBuffer<float> d_x(x), d_mask(mask);
  relu_mask_cuda(d_x.get(), d_mask.get(), n, nullptr);
  const std::vector<float> got = d_x.download();
  for (int64_t i = 0; i < n; ++i) {
    INFO("i = " << i << " mask " << mask[size_t(i)]);
    CHECK(got[size_t(i)] == (mask[size_t(i)] > 0.f ? x[size_t(i)] : 0.f));
  }
}

}  // namespace fcn
