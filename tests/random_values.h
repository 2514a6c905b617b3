// Test helper: n uniform values in [lo, hi) from a seeded std::mt19937, identical on every run.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

namespace fcn::test {

template <class T>
std::vector<T> random_values(int64_t n, unsigned seed, T lo = T(-1), T hi = T(1)) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<T> dist(lo, hi);
  std::vector<T> v(n);
  for (T& x : v) x = dist(rng);
  return v;
}

}  // namespace fcn::test
