// Test helper: scaled_error(got, want) = max |got - want| / max |want| over a tensor, an error relative to
// the tensor's scale that entries near zero cannot blow up (plain |want| when every entry is zero).
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

namespace fcn::test {

template <class A, class B>
double scaled_error(const std::vector<A>& got, const std::vector<B>& want) {
  double diff = 0.0, scale = 0.0;
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    diff = std::max(diff, std::fabs(double(got[i]) - double(want[i])));
    scale = std::max(scale, std::fabs(double(want[i])));
  }
  if (got.size() != want.size()) return INFINITY;
  return scale > 0.0 ? diff / scale : diff;
}

}  // namespace fcn::test
