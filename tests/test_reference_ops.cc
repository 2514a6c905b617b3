// Tests of the reference ops (kernels/cpu/reference.h): every backward against central finite
// differences in double, the stable sigmoid cross-entropy at extreme logits, TF1 Adam against a
// hand-computed two-step example, and the evaluation counts.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "kernels/cpu/reference.h"
#include "tests/random_values.h"

using namespace fcn;

namespace {

std::vector<double> random_doubles(int64_t n, unsigned seed, double lo = -1.0, double hi = 1.0) {
  return test::random_values<double>(n, seed, lo, hi);
}

// Central difference (f(x + eps) - f(x - eps)) / (2 eps) of a scalar function for every element of x,
// compared with the analytic gradient. Error measure: |fd - analytic| / max(|fd|, |analytic|, 1), i.e.
// relative for gradients of magnitude >= 1 and absolute below. With eps = 1e-6 in double, rounding in f
// (|f| ~ 10, ~300 terms) perturbs the difference by ~1e-14 / 2e-6 = 5e-9 and the truncation error is
// ~eps^2 |f'''| ~ 1e-12, so a correct gradient lands far below 1e-6 while any wrong term (O(0.1..1))
// lands far above it.
double max_fd_error(std::vector<double>& x, const std::vector<double>& analytic,
                    const std::function<double()>& f, double eps = 1e-6) {
  double worst = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double saved = x[i];
    x[i] = saved + eps;
    const double plus = f();
    x[i] = saved - eps;
    const double minus = f();
    x[i] = saved;
    const double fd = (plus - minus) / (2 * eps);
    const double scale = std::max({std::fabs(fd), std::fabs(analytic[i]), 1.0});
    worst = std::max(worst, std::fabs(fd - analytic[i]) / scale);
  }
  return worst;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double sum = 0.0;
  for (size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
  return sum;
}

}  // namespace

TEST_CASE("conv2d reference backward matches finite differences in double", "[ops][cpu]") {
  for (int kernel : {3, 1}) {
    DYNAMIC_SECTION("kernel " << kernel) {
      ConvShape s;
      s.batch = 2;
      s.height = 5;
      s.width = 7;
      s.in_channels = 3;
      s.out_channels = 4;
      s.kernel = kernel;
      std::vector<double> in = random_doubles(s.in_size(), 1);
      std::vector<double> weight = random_doubles(s.weight_size(), 2);
      std::vector<double> bias = random_doubles(s.out_channels, 3);
      // L = sum(out * probe): its gradient wrt out is the probe, so the backward ops take dout = probe.
      const std::vector<double> probe = random_doubles(s.out_size(), 4);
      std::vector<double> out(s.out_size());
      auto loss = [&] {
        conv2d_forward_ref(out.data(), in.data(), weight.data(), bias.data(), s);
        return dot(out, probe);
      };

      std::vector<double> din(s.in_size(), 0.0), dweight(s.weight_size(), 0.0), dbias(s.out_channels, 0.0);
      conv2d_backward_data_ref(din.data(), probe.data(), weight.data(), s);
      conv2d_backward_filter_ref(dweight.data(), dbias.data(), probe.data(), in.data(), s);

      CHECK(max_fd_error(in, din, loss) < 1e-6);
      CHECK(max_fd_error(weight, dweight, loss) < 1e-6);
      CHECK(max_fd_error(bias, dbias, loss) < 1e-6);

      // Backward ops accumulate: a second call doubles the gradients.
      std::vector<double> din2 = din;
      conv2d_backward_data_ref(din2.data(), probe.data(), weight.data(), s);
      for (size_t i = 0; i < din.size(); ++i) REQUIRE(din2[i] == Approx(2 * din[i]).epsilon(1e-12).margin(1e-15));
    }
  }
}

TEST_CASE("conv2d reference forward: hand-computed 3x3 value at a corner", "[ops][cpu]") {
  // One 2x2 single-channel image, all-ones 3x3 kernel: every output sums the in-image neighbours.
  ConvShape s;
  s.batch = 1;
  s.height = 2;
  s.width = 2;
  s.in_channels = 1;
  s.out_channels = 1;
  s.kernel = 3;
  const std::vector<double> in = {1, 2, 3, 4};
  const std::vector<double> weight(9, 1.0);
  const double bias = 0.5;
  std::vector<double> out(4);
  conv2d_forward_ref(out.data(), in.data(), weight.data(), &bias, s);
  for (double value : out) CHECK(value == 10.5);
}

TEST_CASE("relu reference forward and backward", "[ops][cpu]") {
  // Inputs kept away from the kink at 0 (|x| >= 0.1 > eps) so the derivative exists everywhere.
  std::vector<double> x = random_doubles(50, 5, 0.1, 1.0);
  for (size_t i = 0; i < x.size(); i += 2) x[i] = -x[i];
  const std::vector<double> probe = random_doubles(50, 6);
  std::vector<double> out(x.size());
  auto loss = [&] {
    relu_forward_ref(out.data(), x.data(), int64_t(x.size()));
    return dot(out, probe);
  };
  loss();
  for (size_t i = 0; i < x.size(); ++i) CHECK(out[i] == (x[i] > 0 ? x[i] : 0.0));
  std::vector<double> dx(x.size());
  relu_backward_ref(dx.data(), probe.data(), out.data(), int64_t(x.size()));
  CHECK(max_fd_error(x, dx, loss) < 1e-6);

  // In place: out may alias in, din may alias dout.
  loss();  // the finite differences left `out` at a perturbed point
  std::vector<double> inplace = x;
  relu_forward_ref(inplace.data(), inplace.data(), int64_t(x.size()));
  CHECK(inplace == out);
  std::vector<double> grad = probe;
  relu_backward_ref(grad.data(), grad.data(), out.data(), int64_t(x.size()));
  CHECK(grad == dx);
}

TEST_CASE("sigmoid cross-entropy reference: value and gradient", "[ops][cpu]") {
  std::vector<double> logits = random_doubles(40, 7, -6.0, 6.0);
  std::vector<double> targets = random_doubles(40, 8, 0.0, 1.0);
  targets[0] = 0.0;
  targets[1] = 1.0;
  const int64_t n = int64_t(logits.size());
  // Value against the textbook formula -z log(s) - (1 - z) log(1 - s), fine in double at |x| <= 6.
  double expected = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double sig = 1.0 / (1.0 + std::exp(-logits[i]));
    expected += -targets[i] * std::log(sig) - (1 - targets[i]) * std::log(1 - sig);
  }
  CHECK(sigmoid_ce_loss_ref(logits.data(), targets.data(), n) == Approx(expected).epsilon(1e-12));

  auto loss = [&] { return sigmoid_ce_loss_ref(logits.data(), targets.data(), n); };
  std::vector<double> dlogits(n);
  sigmoid_ce_backward_ref(dlogits.data(), logits.data(), targets.data(), n, 1.0);
  CHECK(max_fd_error(logits, dlogits, loss) < 1e-6);

  // scale multiplies the gradient (1/n for a mean loss).
  std::vector<double> dmean(n);
  sigmoid_ce_backward_ref(dmean.data(), logits.data(), targets.data(), n, 1.0 / double(n));
  for (int64_t i = 0; i < n; ++i) CHECK(dmean[i] == Approx(dlogits[i] / double(n)).epsilon(1e-14));
}

TEST_CASE("sigmoid cross-entropy reference is stable at logits of +-1e4", "[ops][cpu]") {
  // Asymptotes: loss -> max(x, 0) - x z (the log1p(exp(-|x|)) term underflows to 0 exactly);
  // gradient -> step(x) - z.
  const float logits[4] = {1e4f, 1e4f, -1e4f, -1e4f};
  const float targets[4] = {0.0f, 1.0f, 0.0f, 1.0f};
  const double expected_loss[4] = {1e4, 0.0, 0.0, 1e4};
  const float expected_grad[4] = {1.0f, 0.0f, 0.0f, -1.0f};
  for (int i = 0; i < 4; ++i) {
    const double value = sigmoid_ce_loss_ref(logits + i, targets + i, 1);
    CHECK(std::isfinite(value));
    CHECK(value == expected_loss[i]);
    float grad = 0.0f;
    sigmoid_ce_backward_ref(&grad, logits + i, targets + i, 1, 1.0f);
    CHECK(std::isfinite(grad));
    CHECK(grad == expected_grad[i]);
  }
  const double both[2] = {1e4, -1e4};
  const double half[2] = {0.5, 0.5};
  CHECK(sigmoid_ce_loss_ref(both, half, 2) == Approx(1e4).epsilon(1e-15));  // 1e4 - 5e3 + 0 + 5e3
}

TEST_CASE("adam reference matches a hand-computed two-step TF1 example", "[ops][cpu]") {
  // lr 0.1, b1 0.9, b2 0.999, eps 1e-8; gradients 0.1 then -0.2 on one parameter starting at 1:
  //   t=1: m = 0.01,   v = 1e-5,     lr_t = 0.1 sqrt(0.001)/0.1 = 0.0316227766
  //        p = 1 - lr_t * 0.01 / (sqrt(1e-5) + 1e-8) = 0.900000316226766
  //   t=2: m = -0.011, v = 4.999e-5, lr_t = 0.1 sqrt(0.001999)/0.19 = 0.0235316725
  //        p = 0.900000316226766 + lr_t * 0.011 / (sqrt(4.999e-5) + 1e-8) = 0.936610617150388
  AdamConfig cfg;
  cfg.lr = 0.1f;
  cfg.beta1 = 0.9f;
  cfg.beta2 = 0.999f;
  cfg.eps = 1e-8f;
  double param = 1.0, m = 0.0, v = 0.0;
  const double g1 = 0.1, g2 = -0.2;
  adam_update_ref(&param, &g1, &m, &v, 1, cfg, 1);
  // The config holds floats: 1 - 0.9f and 1 - 0.999f differ from 0.1 and 0.001 by 1.5e-8 and 1.3e-5
  // relative, which bounds the agreement of m and v with the decimal example; in the parameter update
  // the (1 - b2) factors of lr_t and sqrt(v) cancel, so it agrees to ~1e-7.
  CHECK(m == Approx(0.01).epsilon(1e-6));
  CHECK(v == Approx(1e-5).epsilon(2e-5));
  CHECK(param == Approx(0.900000316226766).epsilon(1e-7));
  adam_update_ref(&param, &g2, &m, &v, 1, cfg, 2);
  CHECK(m == Approx(-0.011).epsilon(1e-6));
  CHECK(v == Approx(4.999e-5).epsilon(2e-5));
  CHECK(param == Approx(0.936610617150388).epsilon(1e-7));

  // The float instantiation follows the double one to float precision.
  float param_f = 1.0f, m_f = 0.0f, v_f = 0.0f;
  const float g1_f = 0.1f, g2_f = -0.2f;
  adam_update_ref(&param_f, &g1_f, &m_f, &v_f, 1, cfg, 1);
  adam_update_ref(&param_f, &g2_f, &m_f, &v_f, 1, cfg, 2);
  CHECK(param_f == Approx(0.936610617150388).epsilon(1e-6));
}

TEST_CASE("eval counts: confusion matrix, IoU and pixel accuracy", "[ops][cpu]") {
  // prediction = logit > 0, truth = target >= 0.5
  const float logits[6] = {2.0f, 0.5f, -1.0f, -3.0f, 0.0f, 1.0f};
  const float targets[6] = {1.0f, 0.0f, 1.0f, 0.0f, 0.5f, 0.5f};
  const EvalCounts counts = eval_counts_ref(logits, targets, 6);
  CHECK(counts.true_positive == 2);   // 0, 5
  CHECK(counts.false_positive == 1);  // 1
  CHECK(counts.false_negative == 2);  // 2, 4 (logit 0 is not > 0)
  CHECK(counts.true_negative == 1);   // 3
  CHECK(counts.iou() == Approx(2.0 / 5.0));
  CHECK(counts.pixel_accuracy() == Approx(3.0 / 6.0));

  EvalCounts sum = counts;
  sum += counts;
  CHECK(sum.true_positive == 4);
  CHECK(sum.true_negative == 2);
  CHECK(sum.iou() == Approx(2.0 / 5.0));
  CHECK(std::isnan(EvalCounts{}.iou()));  // nothing counted: undefined, never a perfect 1
  CHECK(std::isnan(EvalCounts{}.pixel_accuracy()));
  EvalCounts negatives_only;
  negatives_only.true_negative = 10;
  CHECK(std::isnan(negatives_only.iou()));  // no positive pixel in targets or predictions: undefined
  CHECK(negatives_only.pixel_accuracy() == 1.0);
}
