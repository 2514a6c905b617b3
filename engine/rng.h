// SplitMix64: a tiny, seedable, platform-independent random generator for initialisation and tests.
#pragma once
#include <cstdint>

namespace fcn {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 24 random bits: exactly representable, identical everywhere.
  float uniform_float() { return float(next() >> 40) * (1.0f / 16777216.0f); }
 private:
  uint64_t state_;
};

}  // namespace fcn
