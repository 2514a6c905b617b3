// [gpu] sigmoid cross-entropy (kernels/cuda/sigmoid_ce.cuh) against sigmoid_ce_loss_ref and
// sigmoid_ce_backward_ref: odd sizes, extreme logits, the scalar (unaligned) and float4 paths,
// evaluation without dlogits, and bit-identical repeats.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "kernels/cpu/reference.h"
#include "kernels/cuda/sigmoid_ce.cuh"
#include "tests/gpu/gpu_test_util.h"

namespace fcn {
namespace {

struct CeInputs {
  std::vector<float> logits;
  std::vector<float> targets;
};

// Random logits in [-20, 20] and targets in [0, 1], with extreme logits and hard 0/1 targets mixed in.
CeInputs make_inputs(int64_t n, uint64_t seed) {
  CeInputs in;
  in.logits = test::random_floats(size_t(n), -20.0f, 20.0f, seed);
  in.targets = test::random_floats(size_t(n), 0.0f, 1.0f, seed + 1);
  // exp overflows float beyond |x| = 88.7: the stable forms must never evaluate it. (Nothing like 1e30,
  // and only every 29th element: huge terms would dominate sum |terms| and blunt the loss check below.)
  const float extremes[] = {0.0f, 1e-7f, -1e-7f, 88.0f, -88.0f, 104.0f, -104.0f, 500.0f, -500.0f, 1e3f, -1e3f};
  for (int64_t i = 0; i < n; i += 29) in.logits[i] = extremes[(i / 29) % 11];
  for (int64_t i = 3; i < n; i += 5) in.targets[i] = (i / 5) % 2 == 0 ? 0.0f : 1.0f;
  return in;
}

void check_sigmoid_ce(int64_t n, float scale, size_t offset, bool with_grad) {
  const CeInputs in = make_inputs(n, 1000 + n);
  // `offset` elements of padding in front of every array: offset 1 makes them 4-byte but not 16-byte
  // aligned, which must take the scalar path.
  std::vector<float> logits(offset, 0.0f), targets(offset, 0.0f);
  logits.insert(logits.end(), in.logits.begin(), in.logits.end());
  targets.insert(targets.end(), in.targets.begin(), in.targets.end());
  DeviceBuffer<float> d_logits(logits), d_targets(targets);
  DeviceBuffer<float> d_grad(size_t(n) + offset);
  d_grad.poison();
  DeviceBuffer<double> d_loss(1);
  const size_t ws_bytes = sigmoid_ce_workspace_bytes(n);
  DeviceBuffer<uint8_t> workspace(ws_bytes);

  float* grad_ptr = with_grad ? d_grad.get() + offset : nullptr;
  sigmoid_ce_cuda(d_loss.get(), grad_ptr, d_logits.get() + offset, d_targets.get() + offset, n, scale,
                  workspace.get(), ws_bytes, nullptr);
  const double loss = d_loss.download()[0];

  const double want = sigmoid_ce_loss_ref<float>(in.logits.data(), in.targets.data(), n);
  double sum_abs_terms = 0.0;  // the terms are >= 0, but sum |terms| is the honest scale for a sum
  for (int64_t i = 0; i < n; ++i) {
    sum_abs_terms += std::fabs(double(sigmoid_cross_entropy<float>(in.logits[i], in.targets[i])));
  }
  std::printf("sigmoid_ce n=%lld offset=%zu: loss %.9g ref %.9g |err| %.3g (bound %.3g)\n", (long long)n, offset,
              loss, want, std::fabs(loss - want), 1e-6 * sum_abs_terms);
  // Each float term differs from the host's by a few ulp (device expf/log1pf are within 2 ulp, so a term
  // is off by at most ~3e-7 of itself), and both sums are in double: |err| <= 1e-6 * sum |terms| bounds
  // that with margin, and a dropped or doubled term (~5 of an average ~5 per element) exceeds it up to
  // n ~ 1e6.
  CHECK(std::fabs(loss - want) <= 1e-6 * sum_abs_terms + 1e-12);

  // Bit-identical on a second run (fixed grid, fixed reduction order).
  sigmoid_ce_cuda(d_loss.get(), grad_ptr, d_logits.get() + offset, d_targets.get() + offset, n, scale,
                  workspace.get(), ws_bytes, nullptr);
  const double again = d_loss.download()[0];
  CHECK(std::memcmp(&loss, &again, sizeof(double)) == 0);

  if (with_grad) {
    std::vector<float> want_grad(static_cast<size_t>(n));
    sigmoid_ce_backward_ref<float>(want_grad.data(), in.logits.data(), in.targets.data(), n, scale);
    const std::vector<float> all = d_grad.download();
    const std::vector<float> got_grad(all.begin() + offset, all.end());
    const double err = test::max_abs_diff(got_grad, want_grad);
    // sigmoid(x) in [0, 1] is accurate to a few ulp of 1 on both sides (1e-7 each), then scaled, and the
    // subtraction of the target is exact relative to that: |err| <= 1e-6 * |scale|.
    CHECK(err <= 1e-6 * std::fabs(scale));
  }
}

}  // namespace

TEST_CASE("sigmoid_ce_cuda matches the reference on odd sizes and extreme logits", "[gpu][sigmoid_ce]") {
  for (int64_t n : {int64_t(1), int64_t(3), int64_t(4), int64_t(1001), int64_t(262147), int64_t(4194311)}) {
    check_sigmoid_ce(n, 1.0f, 0, true);
    check_sigmoid_ce(n, 0.37f, 1, true);
  }
}

TEST_CASE("sigmoid_ce_cuda without dlogits only sums the loss", "[gpu][sigmoid_ce]") {
  check_sigmoid_ce(100003, 1.0f, 0, false);
  check_sigmoid_ce(100003, 1.0f, 3, false);
}

TEST_CASE("sigmoid_ce_cuda refuses a workspace that is too small", "[gpu][sigmoid_ce]") {
  DeviceBuffer<float> logits(1 << 20), targets(1 << 20);
  DeviceBuffer<double> loss(1);
  DeviceBuffer<uint8_t> workspace(8);
  REQUIRE(sigmoid_ce_workspace_bytes(1 << 20) > 8);
  CHECK_THROWS_WITH(sigmoid_ce_cuda(loss.get(), nullptr, logits.get(), targets.get(), 1 << 20, 1.0f,
                                    workspace.get(), 8, nullptr),
                    Catch::Contains("HINT"));
}

}  // namespace fcn
