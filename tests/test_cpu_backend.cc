// Tests of CpuBackend (engine/cpu_backend.h): every Backend method against the reference ops.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "engine/cpu_backend.h"
#include "kernels/cpu/reference.h"
#include "tests/random_values.h"

using namespace fcn;

namespace {

std::vector<float> random_floats(int64_t n, unsigned seed, float lo = -1.0f, float hi = 1.0f) {
  return test::random_values<float>(n, seed, lo, hi);
}

// Largest |a - b| / (1 + |b|). The conv comparisons below use 1e-4: the sums have at most 576 terms of
// size <= 1 with values |ref| up to ~25, so reordering error stays ~1e-6 (see test_conv_fast.cc for
// the exact bound); a wrong term would be >= ~1e-3.
double max_relative_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(double(a[i]) - b[i]) / (1.0 + std::fabs(b[i])));
  return worst;
}

// Owns a backend buffer.
struct Buffer {
  Backend& backend;
  float* ptr;
  int64_t count;
  Buffer(Backend& b, int64_t n) : backend(b), ptr(b.alloc(n)), count(n) {}
  ~Buffer() { backend.release(ptr); }
  void set(const std::vector<float>& host) { backend.upload(ptr, host.data(), count); }
  std::vector<float> get() const {
    std::vector<float> host(count);
    backend.download(host.data(), ptr, count);
    return host;
  }
};

}  // namespace

TEST_CASE("CpuBackend memory: zero-filled aligned alloc, upload, download, copy, staging", "[cpu]") {
  CpuBackend backend(2);
  CHECK(backend.name() == "cpu (2 threads)");
  CHECK_FALSE(backend.is_gpu());
  CHECK(backend.threads() == 2);
  CHECK(CpuBackend(0).threads() >= 1);

  Buffer a(backend, 1000), b(backend, 1000);
  CHECK(reinterpret_cast<uintptr_t>(a.ptr) % 64 == 0);
  for (float v : a.get()) REQUIRE(v == 0.0f);
  const std::vector<float> host = random_floats(1000, 1);
  a.set(host);
  backend.copy(b.ptr, a.ptr, 1000);
  backend.synchronize();
  CHECK(b.get() == host);

  HostAllocator staging = backend.staging_allocator();
  void* p = staging.allocate(4096);
  REQUIRE(p != nullptr);
  std::memset(p, 1, 4096);
  staging.release(p);
}

TEST_CASE("CpuBackend prepare_batch equals the reference resize per sample", "[cpu][resize]") {
  CpuBackend backend(2);
  // Two samples of different sizes packed into one staging buffer.
  const int sizes[2][2] = {{7, 5}, {4, 9}};
  std::vector<uint8_t> bytes;
  RawBatch batch;
  batch.count = 2;
  std::mt19937 rng(3);
  for (int i = 0; i < 2; ++i) {
    RawSampleInfo info;
    info.height = sizes[i][0];
    info.width = sizes[i][1];
    info.image_offset = bytes.size();
    for (int k = 0; k < info.height * info.width * 3; ++k) bytes.push_back(uint8_t(rng() % 256));
    info.label_offset = bytes.size();
    for (int k = 0; k < info.height * info.width; ++k) bytes.push_back(uint8_t(rng() % 3));
    info.record_index = i;
    batch.info.push_back(info);
  }
  batch.bytes = bytes.data();
  batch.used_bytes = batch.capacity_bytes = bytes.size();
  const std::vector<int> classes = {1, 2};
  const int size = 6;
  for (bool nearest : {false, true}) {
    for (ResizeMapping mapping : {ResizeMapping::kLegacy, ResizeMapping::kHalfPixel}) {
      std::vector<float> x(2 * size * size * 3, -1.0f), targets(2 * size * size * 2, -1.0f);
      backend.prepare_batch(x.data(), targets.data(), batch, size, classes, mapping, nearest);
      for (int i = 0; i < 2; ++i) {
        const RawSampleInfo& info = batch.info[i];
        std::vector<float> x_ref(size * size * 3), t_ref(size * size * 2);
        resize_image_ref(x_ref.data(), bytes.data() + info.image_offset, info.height, info.width, size, mapping);
        resize_targets_ref(t_ref.data(), bytes.data() + info.label_offset, info.height, info.width, size,
                           classes.data(), 2, mapping, nearest);
        CHECK(std::vector<float>(x.begin() + i * size * size * 3, x.begin() + (i + 1) * size * size * 3) == x_ref);
        CHECK(std::vector<float>(targets.begin() + i * size * size * 2, targets.begin() + (i + 1) * size * size * 2) ==
              t_ref);
      }
    }
  }
  // A sample that does not fit in the buffer is an error naming it, not a crash.
  RawBatch bad = batch;
  bad.info[1].height = 100;
  std::vector<float> x(2 * size * size * 3), targets(2 * size * size * 2);
  CHECK_THROWS_WITH(backend.prepare_batch(x.data(), targets.data(), bad, size, classes, ResizeMapping::kLegacy, false),
                    Catch::Contains("sample 1") && Catch::Contains("HINT"));
}

TEST_CASE("CpuBackend convolutions equal the reference", "[cpu][ops]") {
  CpuBackend backend(2);
  ConvShape s;
  s.batch = 2;
  s.height = 9;
  s.width = 11;
  s.in_channels = 64;
  s.out_channels = 64;
  s.kernel = 3;
  ConvShape logits = s;
  logits.out_channels = 1;
  logits.kernel = 1;
  backend.reserve({s, logits}, 2, 9, 1);
  for (const ConvShape& shape : {s, logits}) {
    const std::vector<float> in = random_floats(shape.in_size(), 4), weight = random_floats(shape.weight_size(), 5);
    const std::vector<float> bias = random_floats(shape.out_channels, 6), dout = random_floats(shape.out_size(), 7);
    const std::vector<float> relu_out = random_floats(shape.in_size(), 8);
    Buffer in_b(backend, shape.in_size()), w_b(backend, shape.weight_size()), bias_b(backend, shape.out_channels);
    Buffer dout_b(backend, shape.out_size()), relu_b(backend, shape.in_size());
    Buffer out_b(backend, shape.out_size()), din_b(backend, shape.in_size());
    Buffer dw_b(backend, shape.weight_size()), db_b(backend, shape.out_channels);
    in_b.set(in), w_b.set(weight), bias_b.set(bias), dout_b.set(dout), relu_b.set(relu_out);

    std::vector<float> out_ref(shape.out_size()), relu_ref(shape.out_size());
    conv2d_forward_ref(out_ref.data(), in.data(), weight.data(), bias.data(), shape);
    relu_forward_ref(relu_ref.data(), out_ref.data(), shape.out_size());
    backend.conv2d_forward(out_b.ptr, in_b.ptr, w_b.ptr, bias_b.ptr, shape, false);
    CHECK(max_relative_diff(out_b.get(), out_ref) < 1e-4);
    backend.conv2d_forward(out_b.ptr, in_b.ptr, w_b.ptr, bias_b.ptr, shape, true);
    CHECK(max_relative_diff(out_b.get(), relu_ref) < 1e-4);

    std::vector<float> din_ref(shape.in_size(), 0.0f), din_masked(shape.in_size());
    conv2d_backward_data_ref(din_ref.data(), dout.data(), weight.data(), shape);
    relu_backward_ref(din_masked.data(), din_ref.data(), relu_out.data(), shape.in_size());
    backend.conv2d_backward_data(din_b.ptr, dout_b.ptr, w_b.ptr, nullptr, shape);
    CHECK(max_relative_diff(din_b.get(), din_ref) < 1e-4);
    backend.conv2d_backward_data(din_b.ptr, dout_b.ptr, w_b.ptr, relu_b.ptr, shape);
    CHECK(max_relative_diff(din_b.get(), din_masked) < 1e-4);

    // Gradient ops assign: run twice, the result must not double.
    std::vector<float> dw_ref(shape.weight_size(), 0.0f), db_ref(shape.out_channels, 0.0f);
    conv2d_backward_filter_ref(dw_ref.data(), db_ref.data(), dout.data(), in.data(), shape);
    backend.conv2d_backward_filter(dw_b.ptr, db_b.ptr, dout_b.ptr, in_b.ptr, shape);
    backend.conv2d_backward_filter(dw_b.ptr, db_b.ptr, dout_b.ptr, in_b.ptr, shape);
    CHECK(max_relative_diff(dw_b.get(), dw_ref) < 1e-4);
    CHECK(max_relative_diff(db_b.get(), db_ref) < 1e-4);
  }
}

TEST_CASE("CpuBackend sigmoid_ce equals the reference and is thread-count independent", "[cpu][ops]") {
  const int64_t n = 100003;  // several loss blocks, not a multiple of anything
  const std::vector<float> logits = random_floats(n, 9, -8.0f, 8.0f);
  const std::vector<float> targets = random_floats(n, 10, 0.0f, 1.0f);
  const double ref = sigmoid_ce_loss_ref(logits.data(), targets.data(), n);
  std::vector<float> dref(n);
  sigmoid_ce_backward_ref(dref.data(), logits.data(), targets.data(), n, 0.5f);
  double first = 0.0;
  for (int threads : {1, 2, 3}) {
    CpuBackend backend(threads);
    std::vector<float> dlogits(n, 7.0f);
    const double loss = backend.sigmoid_ce(dlogits.data(), logits.data(), targets.data(), n, 0.5f);
    // Same float terms summed in double in another order: relative difference ~1e-15.
    CHECK(loss == Approx(ref).epsilon(1e-12));
    CHECK(dlogits == dref);  // the same float expression per element
    if (threads == 1) first = loss;
    CHECK(loss == first);  // bit-identical for any thread count
    CHECK(backend.sigmoid_ce(nullptr, logits.data(), targets.data(), n, 0.5f) == loss);
  }
  CpuBackend backend(2);
  CHECK(backend.sigmoid_ce(nullptr, logits.data(), targets.data(), 0, 1.0f) == 0.0);
}

TEST_CASE("CpuBackend eval_counts equals the reference", "[cpu][ops]") {
  const int64_t n = 54321;
  const std::vector<float> logits = random_floats(n, 11, -1.0f, 1.0f);
  const std::vector<float> targets = random_floats(n, 12, 0.0f, 1.0f);
  const EvalCounts ref = eval_counts_ref(logits.data(), targets.data(), n);
  CpuBackend backend(2);
  const EvalCounts got = backend.eval_counts(logits.data(), targets.data(), n);
  CHECK(got.true_positive == ref.true_positive);
  CHECK(got.false_positive == ref.false_positive);
  CHECK(got.false_negative == ref.false_negative);
  CHECK(got.true_negative == ref.true_negative);
  CHECK(got.true_positive + got.false_positive + got.false_negative + got.true_negative == n);
}

TEST_CASE("CpuBackend weight decay and Adam equal the reference", "[cpu][ops]") {
  const int64_t n = 10007;
  CpuBackend backend(2);
  const std::vector<float> params = random_floats(n, 13), grads = random_floats(n, 14);
  std::vector<float> decayed = grads;
  backend.add_weight_decay(decayed.data(), params.data(), n, 5e-4f);
  for (int64_t i = 0; i < n; ++i) {
    // One multiply-add in float, fused or not: within 1 ulp of the double value.
    REQUIRE(decayed[i] == Approx(double(grads[i]) + 5e-4 * params[i]).epsilon(1.2e-7).margin(1e-12));
  }

  AdamConfig cfg;
  std::vector<float> p_ref = params, m_ref(n, 0.0f), v_ref(n, 0.0f);
  std::vector<float> p = params, m(n, 0.0f), v(n, 0.0f);
  for (int64_t step = 1; step <= 3; ++step) {
    const std::vector<float> g = random_floats(n, unsigned(20 + step));
    adam_update_ref(p_ref.data(), g.data(), m_ref.data(), v_ref.data(), n, cfg, step);
    backend.adam(p.data(), g.data(), m.data(), v.data(), n, cfg, step);
  }
  // The same float formula per element; vectorised and scalar code may fuse multiply-adds differently,
  // so allow a few ulp of the moments and of the (lr 1e-4 sized) updates.
  for (int64_t i = 0; i < n; ++i) {
    REQUIRE(m[i] == Approx(m_ref[i]).epsilon(1e-6).margin(1e-12));
    REQUIRE(v[i] == Approx(v_ref[i]).epsilon(1e-6).margin(1e-15));
    REQUIRE(p[i] == Approx(p_ref[i]).epsilon(1e-7).margin(1e-9));
  }
  // And Adam moved the parameters by about lr per step (|m / sqrt(v)| ~ 1 for random gradients).
  CHECK(std::fabs(p[0] - params[0]) > 1e-5);
  CHECK(std::fabs(p[0] - params[0]) < 4e-4);
}
