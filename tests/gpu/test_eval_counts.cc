// [gpu] eval counts (kernels/cuda/eval_counts.cuh) against eval_counts_ref: exact, on odd sizes,
// with values on the decision boundaries (logit 0, target 0.5) and NaNs.
#include <catch2/catch.hpp>

#include <limits>

#include "kernels/cpu/reference.h"
#include "kernels/cuda/eval_counts.cuh"
#include "tests/gpu/gpu_test_util.h"

namespace fcn {

TEST_CASE("eval_counts_cuda equals eval_counts_ref exactly", "[gpu][eval_counts]") {
  for (int64_t n : {int64_t(1), int64_t(5), int64_t(1027), int64_t(3000007)}) {
    std::vector<float> logits = test::random_floats(size_t(n), -3.0f, 3.0f, 70 + n);
    std::vector<float> targets = test::random_floats(size_t(n), 0.0f, 1.0f, 71 + n);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (int64_t i = 0; i < n; i += 11) logits[i] = 0.0f;                 // not > 0: predicted negative
    for (int64_t i = 2; i < n; i += 13) targets[i] = 0.5f;                // >= 0.5: truth positive
    for (int64_t i = 4; i < n; i += 101) logits[i] = nan;                 // NaN: predicted negative
    for (int64_t i = 6; i < n; i += 103) targets[i] = nan;                // NaN: truth negative
    DeviceBuffer<float> d_logits(logits), d_targets(targets);
    DeviceBuffer<unsigned long long> counts(3);
    counts.poison();  // the launcher assigns
    eval_counts_cuda(counts.get(), d_logits.get(), d_targets.get(), n, nullptr);
    const std::vector<unsigned long long> got = counts.download();
    const EvalCounts want = eval_counts_ref(logits.data(), targets.data(), n);
    INFO("n = " << n);
    CHECK(int64_t(got[0]) == want.true_positive);
    CHECK(int64_t(got[1]) == want.false_positive);
    CHECK(int64_t(got[2]) == want.false_negative);
    CHECK(n - int64_t(got[0] + got[1] + got[2]) == want.true_negative);
  }
}

}  // namespace fcn
