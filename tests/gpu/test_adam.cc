// [gpu] Adam and weight decay (kernels/cuda/adam.cuh) against adam_update_ref over several steps, on an
// odd parameter count (float4 body plus scalar tail) and on unaligned pointers (scalar path).
#include <catch2/catch.hpp>

#include <cstdio>

#include "kernels/cpu/reference.h"
#include "kernels/cuda/adam.cuh"
#include "tests/gpu/gpu_test_util.h"

namespace fcn {
namespace {

void check_adam(int64_t n, size_t offset) {
  AdamConfig cfg;
  cfg.lr = 1e-3f;
  std::vector<float> params = test::random_floats(size_t(n), -1.0f, 1.0f, 5 + n);
  std::vector<float> m(size_t(n), 0.0f), v(size_t(n), 0.0f);
  const std::vector<float> pad(offset, 0.0f);
  auto padded = [&](const std::vector<float>& a) {
    std::vector<float> out(pad);
    out.insert(out.end(), a.begin(), a.end());
    return out;
  };
  DeviceBuffer<float> d_params(padded(params)), d_m(padded(m)), d_v(padded(v)), d_grads(size_t(n) + offset);
  for (int64_t step = 1; step <= 5; ++step) {
    // Fresh gradients each step, with a spread of magnitudes (including tiny ones, where eps matters).
    std::vector<float> grads = test::random_floats(size_t(n), -1.0f, 1.0f, 100 * step + n);
    for (int64_t i = 0; i < n; i += 9) grads[i] *= 1e-6f;
    d_grads.upload(padded(grads));
    adam_cuda(d_params.get() + offset, d_grads.get() + offset, d_m.get() + offset, d_v.get() + offset, n, cfg,
              step, nullptr);
    adam_update_ref<float>(params.data(), grads.data(), m.data(), v.data(), n, cfg, step);
  }
  auto unpadded = [&](const std::vector<float>& a) { return std::vector<float>(a.begin() + offset, a.end()); };
  // Same float formulas; only FMA contraction may differ, by a few ulp per step of the larger operand of
  // each update. Relative 1e-5 against |ref| plus a floor at the operands' scale (so that values that
  // happen to cancel to ~0 are judged absolutely): params and m are O(0.1..1) (floor 1e-3 for params,
  // whose per-step change is ~lr = 1e-3; 0.1 for m), v is O(1e-3) (floor 1e-4).
  const double err_p = test::max_rel_diff(unpadded(d_params.download()), params, 1e-3);
  const double err_m = test::max_rel_diff(unpadded(d_m.download()), m, 1e-1);
  const double err_v = test::max_rel_diff(unpadded(d_v.download()), v, 1e-4);
  std::printf("adam n=%lld offset=%zu: rel err params %.3g m %.3g v %.3g\n", (long long)n, offset, err_p, err_m,
              err_v);
  CHECK(err_p <= 1e-5);
  CHECK(err_m <= 1e-5);
  CHECK(err_v <= 1e-5);
}

}  // namespace

TEST_CASE("adam_cuda matches adam_update_ref over five steps", "[gpu][adam]") {
  for (int64_t n : {int64_t(1), int64_t(7), int64_t(38723), int64_t(1000003)}) {
    check_adam(n, 0);
    check_adam(n, 1);
  }
}

TEST_CASE("adam_step_size is TF1's lr_t", "[gpu][adam]") {
  AdamConfig cfg;
  // t = 1: lr * sqrt(1 - beta2) / (1 - beta1) with the float32 betas: 0.999f is 0.99900001287, so
  // sqrt(1 - beta2) = 0.0316225647 (not the decimal 0.0316227766, 6.7e-6 away), and 0.9f is 0.899999976.
  CHECK(adam_step_size(cfg, 1) == Approx(3.16225647e-5).epsilon(1e-6));
  CHECK_THROWS(adam_cuda(nullptr, nullptr, nullptr, nullptr, 4, cfg, 0, nullptr));
}

TEST_CASE("add_weight_decay_cuda adds decay * params", "[gpu][adam]") {
  for (int64_t n : {int64_t(3), int64_t(100001)}) {
    for (size_t offset : {size_t(0), size_t(2)}) {
      std::vector<float> grads = test::random_floats(size_t(n) + offset, -1.0f, 1.0f, 17);
      const std::vector<float> params = test::random_floats(size_t(n) + offset, -2.0f, 2.0f, 18);
      DeviceBuffer<float> d_grads(grads), d_params(params);
      add_weight_decay_cuda(d_grads.get() + offset, d_params.get() + offset, n, 5e-4f, nullptr);
      for (int64_t i = 0; i < n; ++i) grads[offset + i] += 5e-4f * params[offset + i];
      // One multiply-add, |values| < 2: a fused and an unfused rounding differ by at most 1 ulp of 2.
      CHECK(test::max_abs_diff(d_grads.download(), grads) <= 2.5e-7);
    }
  }
}

}  // namespace fcn
