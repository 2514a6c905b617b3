// Small helpers shared by the [gpu] tests: seeded random inputs and error measures (device arrays:
// kernels/cuda/device_buffer.cuh). Every CUDA call is checked (kernels/cuda/check.cuh throws, which
// Catch2 reports).
#pragma once
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/cuda/cuda_backend.h"
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/device_buffer.cuh"

namespace fcn::test {

// The CUDA backend on device 0; the test fails with the reason when there is none.
inline std::unique_ptr<Backend> cuda_backend() {
  std::string why;
  std::unique_ptr<Backend> backend = make_cuda_backend(&why);
  INFO("make_cuda_backend: " << why);
  REQUIRE(backend != nullptr);
  return backend;
}

inline std::vector<float> random_floats(size_t n, float low, float high, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(low, high);
  std::vector<float> values(n);
  for (float& v : values) v = dist(rng);
  return values;
}

inline std::vector<uint8_t> random_bytes(size_t n, int low, int high, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> dist(low, high);
  std::vector<uint8_t> values(n);
  for (uint8_t& v : values) v = static_cast<uint8_t>(dist(rng));
  return values;
}

// Allowed |GPU - CPU| for a bilinear resize of an in_height x in_width plane whose values span
// [0, range] (255 for images, 1 for class masks). nvcc fuses the half-pixel source coordinate
// (dst + 0.5) * scale - 0.5 into one FMA where the host may round the product first; both results lie
// within half an ulp of the exact coordinate, so they differ by at most 1 ulp of the coordinate (< in),
// i.e. ulp(in) per axis, and the output moves by at most range * ulp(in) per axis. The three lerps of
// the mix may be fused too: a few ulp of range, bounded here by 4 * 2^-23 * range. (The legacy mapping
// is one multiply, so only the mix term applies; the bound covers both.)
inline double bilinear_tolerance(int in_height, int in_width, double range) {
  auto ulp_below = [](int in) { return std::ldexp(1.0, std::ilogb(double(in > 1 ? in : 1)) - 23); };
  return range * (ulp_below(in_height) + ulp_below(in_width) + std::ldexp(4.0, -23));
}

// Largest |a - b| over two arrays; NaN anywhere (an unwritten or broken output) gives +infinity.
inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(double(a[i]) - double(b[i]));
    if (std::isnan(d)) return std::numeric_limits<double>::infinity();
    worst = std::max(worst, d);
  }
  return worst;
}

// Largest |a - b| / (|b| + floor): relative error with an absolute floor for values near zero.
inline double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b, double floor) {
  if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(double(a[i]) - double(b[i])) / (std::fabs(double(b[i])) + floor);
    if (std::isnan(d)) return std::numeric_limits<double>::infinity();
    worst = std::max(worst, d);
  }
  return worst;
}

}  // namespace fcn::test
