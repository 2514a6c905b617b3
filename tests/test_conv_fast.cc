// Tests of the fast CPU convolutions (kernels/cpu/conv_fast.h) and the GEMM micro-kernel
// (kernels/cpu/gemm.h) against the plain-loop references, in float, on random inputs of odd sizes.
//
// Tolerance: fast and reference compute the same sums of R products in different orders (R = K*K*Cin
// for forward, K*K*Cout for backward-data, the pixel count for backward-filter). Each order's error is
// a random-walk-like accumulation of roundings, bounded with overwhelming probability by
// c * sqrt(R) * u * S, where u = 2^-24 and S is the sum of the absolute values of the terms (Higham &
// Mary's probabilistic bound). S is computed exactly per output by running the reference on |inputs|.
// We allow |fast - ref| <= 8 * sqrt(R) * u * (S + 1e-3): loose enough for any summation order, yet a
// single wrong or missing term (of size ~S / R) exceeds it for every shape used here. The inputs come
// from fixed seeds, so the outcome is deterministic.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu/conv_fast.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/reference.h"
#include "tests/random_values.h"

using namespace fcn;

namespace {

std::vector<float> random_floats(int64_t n, unsigned seed) { return test::random_values<float>(n, seed); }

std::vector<float> absolute(const std::vector<float>& v) {
  std::vector<float> a(v.size());
  for (size_t i = 0; i < v.size(); ++i) a[i] = std::fabs(v[i]);
  return a;
}

// Counts elements outside the tolerance described at the top of the file (0 means all pass).
int64_t count_outside(const std::vector<float>& fast, const std::vector<float>& ref,
                      const std::vector<float>& abs_sum, double reduction) {
  const double u = std::ldexp(1.0, -24);
  int64_t bad = 0;
  for (size_t i = 0; i < fast.size(); ++i) {
    const double tolerance = 8.0 * std::sqrt(reduction) * u * (double(abs_sum[i]) + 1e-3);
    if (!(std::fabs(double(fast[i]) - double(ref[i])) <= tolerance)) {
      if (bad < 5) UNSCOPED_INFO("element " << i << ": fast " << fast[i] << " ref " << ref[i] << " tol " << tolerance);
      ++bad;
    }
  }
  return bad;
}

ConvShape make_shape(int batch, int height, int width, int cin, int cout, int kernel) {
  ConvShape s;
  s.batch = batch;
  s.height = height;
  s.width = width;
  s.in_channels = cin;
  s.out_channels = cout;
  s.kernel = kernel;
  return s;
}

// The GEMM paths this CPU and build can run (portable always; avx2 and avx512 where supported).
std::vector<GemmPath> supported_paths() {
  std::vector<GemmPath> paths;
  for (GemmPath path : {GemmPath::kPortable, GemmPath::kAvx2, GemmPath::kAvx512}) {
    if (gemm_path_supported(path)) paths.push_back(path);
  }
  return paths;
}

// Forces a GEMM path for one scope, then restores the one in use before.
class PathGuard {
 public:
  explicit PathGuard(GemmPath path) : before_(gemm_path()) { set_gemm_path(path); }
  ~PathGuard() { set_gemm_path(before_); }

 private:
  GemmPath before_;
};

// Runs all three directions, with and without the fused ReLU variants, and compares with the reference.
void check_all_directions(const ConvShape& s, int threads) {
  ConvWorkspace ws(threads);
  ws.reserve(s);
  const std::vector<float> in = random_floats(s.in_size(), 11);
  const std::vector<float> weight = random_floats(s.weight_size(), 12);
  const std::vector<float> bias = random_floats(s.out_channels, 13);
  const std::vector<float> dout = random_floats(s.out_size(), 14);
  const std::vector<float> relu_out = random_floats(s.in_size(), 15);  // about half of it <= 0

  // forward (+bias), then with the fused ReLU
  std::vector<float> ref(s.out_size()), abs_sum(s.out_size()), fast(s.out_size(), 99.0f);
  conv2d_forward_ref(ref.data(), in.data(), weight.data(), bias.data(), s);
  conv2d_forward_ref(abs_sum.data(), absolute(in).data(), absolute(weight).data(), absolute(bias).data(), s);
  const double forward_reduction = double(s.kernel) * s.kernel * s.in_channels + 1;
  conv2d_forward_fast(fast.data(), in.data(), weight.data(), bias.data(), s, false, ws);
  CHECK(count_outside(fast, ref, abs_sum, forward_reduction) == 0);
  conv2d_forward_fast(fast.data(), in.data(), weight.data(), bias.data(), s, true, ws);
  std::vector<float> ref_relu(ref.size());
  relu_forward_ref(ref_relu.data(), ref.data(), int64_t(ref.size()));
  CHECK(count_outside(fast, ref_relu, abs_sum, forward_reduction) == 0);
  // without bias
  std::vector<float> ref_nobias(s.out_size());
  conv2d_forward_ref(ref_nobias.data(), in.data(), weight.data(), static_cast<const float*>(nullptr), s);
  conv2d_forward_fast(fast.data(), in.data(), weight.data(), nullptr, s, false, ws);
  CHECK(count_outside(fast, ref_nobias, abs_sum, forward_reduction) == 0);

  // backward-data, then with the fused ReLU mask
  std::vector<float> din_ref(s.in_size(), 0.0f), din_abs(s.in_size(), 0.0f), din(s.in_size(), 99.0f);
  conv2d_backward_data_ref(din_ref.data(), dout.data(), weight.data(), s);
  conv2d_backward_data_ref(din_abs.data(), absolute(dout).data(), absolute(weight).data(), s);
  const double data_reduction = double(s.kernel) * s.kernel * s.out_channels;
  conv2d_backward_data_fast(din.data(), dout.data(), weight.data(), nullptr, s, ws);
  CHECK(count_outside(din, din_ref, din_abs, data_reduction) == 0);
  conv2d_backward_data_fast(din.data(), dout.data(), weight.data(), relu_out.data(), s, ws);
  std::vector<float> din_masked(s.in_size());
  relu_backward_ref(din_masked.data(), din_ref.data(), relu_out.data(), int64_t(din_ref.size()));
  CHECK(count_outside(din, din_masked, din_abs, data_reduction) == 0);

  // backward-filter (+bias gradient), and without the bias gradient
  std::vector<float> dw_ref(s.weight_size(), 0.0f), dw_abs(s.weight_size(), 0.0f), dw(s.weight_size(), 99.0f);
  std::vector<float> db_ref(s.out_channels, 0.0f), db_abs(s.out_channels, 0.0f), db(s.out_channels, 99.0f);
  conv2d_backward_filter_ref(dw_ref.data(), db_ref.data(), dout.data(), in.data(), s);
  conv2d_backward_filter_ref(dw_abs.data(), db_abs.data(), absolute(dout).data(), absolute(in).data(), s);
  conv2d_backward_filter_fast(dw.data(), db.data(), dout.data(), in.data(), s, ws);
  CHECK(count_outside(dw, dw_ref, dw_abs, double(s.pixels())) == 0);
  CHECK(count_outside(db, db_ref, db_abs, double(s.pixels())) == 0);
  std::fill(dw.begin(), dw.end(), 99.0f);
  conv2d_backward_filter_fast(dw.data(), nullptr, dout.data(), in.data(), s, ws);
  CHECK(count_outside(dw, dw_ref, dw_abs, double(s.pixels())) == 0);
}

}  // namespace

TEST_CASE("gemm micro-tile matches a naive product on every path this CPU runs", "[ops][cpu]") {
  for (GemmPath path : supported_paths()) {
    PathGuard guard(path);
    for (int width : {8, 16, 32}) {
      for (int k : {0, 1, 7, 64}) {
        INFO(gemm_path_name(path) << " width " << width << " k " << k);
        // A read through both orientations: rows contiguous (row stride k) and columns contiguous.
        const std::vector<float> a = random_floats(6 * std::max(k, 1), 21);
        const std::vector<float> b = random_floats(std::max(k, 1) * 36, 22);  // row stride 36 >= width
        float tile_rows[6 * kGemmMaxWidth], tile_cols[6 * kGemmMaxWidth];
        std::fill(tile_rows, tile_rows + 6 * kGemmMaxWidth, -7.0f);
        gemm_micro_tile(tile_rows, a.data(), k, 1, b.data(), 36, k, width);
        gemm_micro_tile(tile_cols, a.data(), 1, 6, b.data(), 36, k, width);
        int bad = 0;
        for (int i = 0; i < 6; ++i) {
          for (int j = 0; j < width; ++j) {
            double rows = 0.0, cols = 0.0, abs_sum = 0.0;
            for (int p = 0; p < k; ++p) {
              rows += double(a[i * k + p]) * b[p * 36 + j];
              cols += double(a[p * 6 + i]) * b[p * 36 + j];
              abs_sum += std::fabs(double(a[i * k + p]) * b[p * 36 + j]) + std::fabs(double(a[p * 6 + i]) * b[p * 36 + j]);
            }
            // Float sum of k products vs the double sum: within k * u * S (the worst-case bound).
            const double tolerance = (k + 1) * std::ldexp(1.0, -24) * abs_sum + 1e-30;
            bad += !(std::fabs(tile_rows[i * kGemmMaxWidth + j] - rows) <= tolerance);
            bad += !(std::fabs(tile_cols[i * kGemmMaxWidth + j] - cols) <= tolerance);
          }
        }
        CHECK(bad == 0);
        if (width < kGemmMaxWidth) CHECK(tile_rows[width] == -7.0f);  // columns beyond the width are left alone
      }
    }
  }
}

TEST_CASE("fast conv matches the reference: 3x3, odd sizes, several channel counts", "[ops][cpu]") {
  for (int cin : {1, 3, 5, 64}) {
    for (int cout : {1, 3, 5, 64}) {
      for (GemmPath path : supported_paths()) {
        DYNAMIC_SECTION("3x3 " << cin << " -> " << cout << " " << gemm_path_name(path)) {
          PathGuard guard(path);
          check_all_directions(make_shape(2, 5, 7, cin, cout, 3), 2);
        }
      }
    }
  }
}

TEST_CASE("fast conv matches the reference: 1x1, odd sizes, several channel counts", "[ops][cpu]") {
  for (int cin : {1, 5, 64}) {
    for (int cout : {1, 5, 17, 64}) {
      for (GemmPath path : supported_paths()) {
        DYNAMIC_SECTION("1x1 " << cin << " -> " << cout << " " << gemm_path_name(path)) {
          PathGuard guard(path);
          check_all_directions(make_shape(2, 5, 7, cin, cout, 1), 2);
        }
      }
    }
  }
}

TEST_CASE("fast conv matches the reference on a larger shape (many chunks and slices)", "[ops][cpu]") {
  // 2 x 45 x 53 = 4770 pixels: 19 backward-filter chunks of 256 over 16 slices (some slices sum two
  // chunks), a partial last chunk, and pixel tiles that straddle image rows and images.
  static_assert(kFilterChunkPixels == 256, "update the shapes below to keep more chunks than slices");
  for (GemmPath path : supported_paths()) {
    INFO(gemm_path_name(path));
    PathGuard guard(path);
    check_all_directions(make_shape(2, 45, 53, 64, 64, 3), 3);
    check_all_directions(make_shape(3, 19, 23, 3, 64, 3), 2);
    check_all_directions(make_shape(2, 37, 41, 64, 1, 1), 2);
  }
}

TEST_CASE("the avx512 and avx2 paths give bit-identical convolutions at the model's shapes", "[ops][cpu]") {
  if (!gemm_path_supported(GemmPath::kAvx512)) {
    WARN("SKIPPED: this CPU has no AVX-512F (only the avx2 path runs here)");
    return;
  }
  // Both sum each element's products in the same order with one FMA each (gemm.h): the same bits, so a
  // checkpoint resumed on another machine continues the same run.
  for (const ConvShape& s : {make_shape(2, 13, 11, 3, 64, 3), make_shape(2, 13, 11, 64, 64, 3),
                             make_shape(2, 13, 11, 64, 1, 1)}) {
    INFO(s.in_channels << " -> " << s.out_channels << " K=" << s.kernel);
    const std::vector<float> in = random_floats(s.in_size(), 41), weight = random_floats(s.weight_size(), 42);
    const std::vector<float> bias = random_floats(s.out_channels, 43), dout = random_floats(s.out_size(), 44);
    const std::vector<float> relu_out = random_floats(s.in_size(), 45);
    std::vector<std::vector<float>> results[2];
    for (int run = 0; run < 2; ++run) {
      PathGuard guard(run == 0 ? GemmPath::kAvx2 : GemmPath::kAvx512);
      ConvWorkspace ws(2);
      ws.reserve(s);
      std::vector<float> out(s.out_size()), din(s.in_size()), dw(s.weight_size()), db(s.out_channels);
      conv2d_forward_fast(out.data(), in.data(), weight.data(), bias.data(), s, true, ws);
      conv2d_backward_data_fast(din.data(), dout.data(), weight.data(), relu_out.data(), s, ws);
      conv2d_backward_filter_fast(dw.data(), db.data(), dout.data(), in.data(), s, ws);
      results[run] = {out, din, dw, db};
    }
    for (int i = 0; i < 4; ++i) {
      INFO("output " << i << " (forward, backward-data, backward-filter, bias gradient)");
      CHECK(std::memcmp(results[0][i].data(), results[1][i].data(), results[0][i].size() * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("a workspace reserved on one GEMM path serves the others", "[ops][cpu]") {
  const ConvShape s = make_shape(1, 7, 5, 27, 40, 3);  // 40 columns: 48 padded on avx2, 64 on avx512
  ConvWorkspace ws(1);
  {
    PathGuard guard(GemmPath::kPortable);
    ws.reserve(s);
  }
  const std::vector<float> in = random_floats(s.in_size(), 51), weight = random_floats(s.weight_size(), 52);
  std::vector<float> out(s.out_size()), ref(s.out_size());
  conv2d_forward_ref(ref.data(), in.data(), weight.data(), static_cast<const float*>(nullptr), s);
  for (GemmPath path : supported_paths()) {
    INFO(gemm_path_name(path));
    PathGuard guard(path);
    CHECK(ws.fits(s));
    conv2d_forward_fast(out.data(), in.data(), weight.data(), nullptr, s, false, ws);
    double worst = 0.0;
    for (size_t i = 0; i < out.size(); ++i) worst = std::max(worst, std::fabs(double(out[i]) - ref[i]));
    CHECK(worst < 1e-4);  // 243-term sums of products of values in [-1, 1]: float error ~1e-6
  }
}

TEST_CASE("fast backward-filter is bit-identical for any thread count and across runs", "[ops][cpu]") {
  // 2 x 61 x 67 = 8174 pixels: 32 chunks, 2 per slice.
  const ConvShape s = make_shape(2, 61, 67, 16, 24, 3);
  const std::vector<float> in = random_floats(s.in_size(), 31);
  const std::vector<float> dout = random_floats(s.out_size(), 32);
  std::vector<float> first_dw, first_db;
  for (int threads : {1, 2, 3, 1, 2}) {
    ConvWorkspace ws(threads);
    ws.reserve(s);
    std::vector<float> dw(s.weight_size()), db(s.out_channels);
    conv2d_backward_filter_fast(dw.data(), db.data(), dout.data(), in.data(), s, ws);
    if (first_dw.empty()) {
      first_dw = dw;
      first_db = db;
      continue;
    }
    INFO("threads " << threads);
    CHECK(std::memcmp(dw.data(), first_dw.data(), dw.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(db.data(), first_db.data(), db.size() * sizeof(float)) == 0);
  }
}

TEST_CASE("fast conv refuses bad shapes and unreserved workspaces with a hint", "[ops][cpu]") {
  ConvWorkspace ws(1);
  const ConvShape even = make_shape(1, 4, 4, 2, 2, 2);
  CHECK_THROWS_WITH(ws.reserve(even), Catch::Contains("HINT"));
  const ConvShape s = make_shape(1, 4, 4, 2, 2, 3);
  std::vector<float> in(s.in_size()), w(s.weight_size()), out(s.out_size());
  CHECK_FALSE(ws.fits(s));
  CHECK_THROWS_WITH(conv2d_forward_fast(out.data(), in.data(), w.data(), nullptr, s, false, ws),
                    Catch::Contains("reserve"));
  ws.reserve(s);
  CHECK(ws.fits(s));
  CHECK(ws.bytes() > 0);
  CHECK_NOTHROW(conv2d_forward_fast(out.data(), in.data(), w.data(), nullptr, s, false, ws));
}

TEST_CASE("gemm paths: names, the best path, forcing one, and AlignedFloats grows zero-filled and aligned", "[ops][cpu]") {
  for (GemmPath path : {GemmPath::kPortable, GemmPath::kAvx2, GemmPath::kAvx512}) {
    CHECK(parse_gemm_path(gemm_path_name(path)) == path);
  }
  CHECK_THROWS_WITH(parse_gemm_path("sse"), Catch::Contains("portable, avx2, avx512"));
  CHECK(gemm_path_supported(GemmPath::kPortable));
#if defined(__AVX2__) && defined(__FMA__)
  CHECK(gemm_path_supported(GemmPath::kAvx2));
#else
  CHECK_FALSE(gemm_path_supported(GemmPath::kAvx2));
#endif
  const GemmPath best = gemm_best_path();
  CHECK(gemm_path_supported(best));
  if (gemm_path_supported(GemmPath::kAvx512)) CHECK(best == GemmPath::kAvx512);
  if (!gemm_path_supported(GemmPath::kAvx512)) {
    CHECK_THROWS_WITH(set_gemm_path(GemmPath::kAvx512), Catch::Contains("cannot run on this CPU"));
  }
  {
    PathGuard guard(GemmPath::kPortable);
    CHECK(gemm_path() == GemmPath::kPortable);
    CHECK(gemm_panel_width(64) == 16);
  }
  CHECK(gemm_panel_width(5) == 8);
  CHECK(gemm_panel_width(12) == 16);
  CHECK(gemm_panel_width(64) == (gemm_path() == GemmPath::kAvx512 ? 32 : 16));
  AlignedFloats buffer;
  CHECK(buffer.size() == 0);
  buffer.grow_to(1000);
  REQUIRE(buffer.size() == 1000);
  CHECK(reinterpret_cast<uintptr_t>(buffer.data()) % 64 == 0);
  for (int64_t i = 0; i < buffer.size(); ++i) REQUIRE(buffer.data()[i] == 0.0f);
  buffer.data()[5] = 3.0f;
  buffer.grow_to(10);  // never shrinks, keeps the contents
  CHECK(buffer.size() == 1000);
  CHECK(buffer.data()[5] == 3.0f);
}
