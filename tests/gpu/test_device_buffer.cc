// [gpu] The device helpers of kernels/cuda/: DeviceBuffer<T> (upload, download, poison, move),
// fill_uniform_cuda (range, reproducibility, seeds) and median_time_ms (times the work it is given).
#include <catch2/catch.hpp>

#include <cmath>

#include "kernels/cuda/device_buffer.cuh"
#include "kernels/cuda/event_timer.cuh"

namespace fcn {

TEST_CASE("DeviceBuffer round-trips, poisons and moves", "[gpu][device_buffer]") {
  const std::vector<int> values = {3, -1, 4, 1, -5, 9, 2};
  DeviceBuffer<int> a(values);
  CHECK(a.count() == values.size());
  CHECK(a.bytes() == values.size() * sizeof(int));
  CHECK(a.download() == values);

  DeviceBuffer<float> f(5);
  f.poison();
  for (float x : f.download()) CHECK(std::isnan(x));

  DeviceBuffer<int> b(std::move(a));
  CHECK(a.get() == nullptr);
  CHECK(a.count() == 0);
  CHECK(b.download() == values);
  DeviceBuffer<int> c;
  c = std::move(b);
  CHECK(c.download() == values);

  DeviceBuffer<double> empty(0);  // still a valid pointer, so kernels may be handed it
  CHECK(empty.get() != nullptr);
  CHECK(empty.download().empty());
}

TEST_CASE("fill_uniform_cuda fills [lo, hi) reproducibly, and seeds differ", "[gpu][device_buffer]") {
  const size_t n = 300001;  // several grid-stride rounds of the 1024 x 256 grid, and a ragged end
  DeviceBuffer<float> a(n), b(n), c(n);
  fill_uniform_cuda(a.get(), int64_t(n), 7, -2.f, 3.f, nullptr);
  fill_uniform_cuda(b.get(), int64_t(n), 7, -2.f, 3.f, nullptr);
  fill_uniform_cuda(c.get(), int64_t(n), 8, -2.f, 3.f, nullptr);
  const std::vector<float> ha = a.download(), hb = b.download(), hc = c.download();
  CHECK(ha == hb);
  double sum = 0;
  size_t same = 0;
  for (size_t i = 0; i < n; ++i) {
    REQUIRE(ha[i] >= -2.f);
    REQUIRE(ha[i] < 3.f);
    sum += ha[i];
    same += ha[i] == hc[i];
  }
  // The mean of n uniform values on [-2, 3) is 0.5 with standard deviation 5 / sqrt(12 n) = 2.6e-3.
  CHECK(std::fabs(sum / double(n) - 0.5) < 0.02);
  CHECK(same < n / 1000);
}

// [device-only]: real timing of a bandwidth-bound pass over 256 MB (64M emulated threads).
TEST_CASE("median_time_ms times the queued work and grows with it", "[gpu][device_buffer][device-only]") {
  DeviceBuffer<float> buffer(size_t(64) << 20);  // 256 MB
  cudaStream_t stream = nullptr;
  CUDA_CHECK(cudaStreamCreate(&stream));
  auto passes = [&](int count) {
    for (int i = 0; i < count; ++i) fill_uniform_cuda(buffer.get(), int64_t(buffer.count()), 1, 0.f, 1.f, stream);
  };
  const double one = median_time_ms([&] { passes(1); }, 1, 5, stream);
  const double four = median_time_ms([&] { passes(4); }, 1, 5, stream);
  CUDA_CHECK(cudaStreamDestroy(stream));
  CHECK(one > 0);
  CHECK(four > 2 * one);  // four passes over 256 MB take about four times one (bandwidth-bound)
}

}  // namespace fcn
