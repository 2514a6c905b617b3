// [gpu][conv] tests: every version (ConvAlgo) of the three CUDA convolution directions against the CPU
// reference (kernels/cpu/reference.h, float) on random inputs of odd sizes, with the fused ReLU variants,
// and backward-filter bit-identical across two runs. Pointers one float past a 16-byte boundary check
// that the float4 versions fall back to scalar loads and stores where the channel counts alone allow float4.
//
// Tolerance, per element: |gpu - ref| <= tol * sum|terms| + 1e-30, where sum|terms| is the reference
// evaluated on absolute values (for forward it includes |bias|). Both sides sum the same fp32 terms in
// different orders; each rounding error is at most 2^-24 of a partial sum bounded by sum|terms|, so the
// difference is bounded by ~(K + log K) * 6e-8 * sum|terms| in the worst case and is ~sqrt(K) * 6e-8
// typically (K <= 585 terms here). tol = 1e-5 for our versions; 1e-4 for cuDNN, whose FFT / Winograd
// algorithms add transform rounding on top.
#include <catch2/catch.hpp>
#include <cuda_runtime.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/reference.h"
#include "kernels/cuda/conv2d.cuh"
#include "tests/gpu/gpu_test_util.h"

namespace fcn {
namespace {

using test::random_floats;

#if defined(FCN_CUDA_EMULATION)
// The emulated device has no cuDNN (a closed library for real GPUs): our versions only.
const ConvAlgo kAllAlgos[] = {ConvAlgo::kNaive, ConvAlgo::kTiled, ConvAlgo::kRegisterBlocked,
                              ConvAlgo::kRegisterBlocked8x8};
#else
const ConvAlgo kAllAlgos[] = {ConvAlgo::kCudnn, ConvAlgo::kNaive, ConvAlgo::kTiled, ConvAlgo::kRegisterBlocked,
                              ConvAlgo::kRegisterBlocked8x8};
#endif

double tolerance_for(ConvAlgo algo) { return algo == ConvAlgo::kCudnn ? 1e-4 : 1e-5; }

std::vector<float> abs_of(std::vector<float> v) {
  for (float& x : v) x = std::fabs(x);
  return v;
}

// Index of the first element outside the bound, or -1 when all are within (NaN is outside).
int64_t first_violation(const std::vector<float>& got, const std::vector<float>& want,
                        const std::vector<float>& abs_terms, double tol) {
  if (got.size() != want.size()) return 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(double(got[i]) - double(want[i]));
    if (!(err <= tol * abs_terms[i] + 1e-30)) return int64_t(i);
  }
  return -1;
}

// "element i: got x want y" for a violation, "" otherwise.
std::string where(int64_t bad, const std::vector<float>& got, const std::vector<float>& want) {
  if (bad < 0 || size_t(bad) >= got.size() || size_t(bad) >= want.size()) return "";
  return "element " + std::to_string(bad) + ": got " + std::to_string(got[bad]) + " want " +
         std::to_string(want[bad]);
}

// A device array of `count` floats placed `offset` floats into its allocation: offset 1 puts it off every
// 16-byte boundary (cudaMalloc memory is 256-byte aligned); offset 0 is a plain aligned buffer.
class OffsetBuffer {
 public:
  OffsetBuffer(size_t count, int offset) : buffer_(count + size_t(offset)), count_(count), offset_(offset) {}
  OffsetBuffer(const std::vector<float>& host, int offset) : OffsetBuffer(host.size(), offset) {
    CUDA_CHECK(cudaMemcpy(get(), host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
  }
  float* get() { return buffer_.get() + offset_; }
  void poison() { buffer_.poison(); }
  std::vector<float> download() {
    std::vector<float> host(count_);
    CUDA_CHECK(cudaDeviceSynchronize());
    CUDA_CHECK(cudaMemcpy(host.data(), get(), count_ * sizeof(float), cudaMemcpyDeviceToHost));
    return host;
  }

 private:
  DeviceBuffer<float> buffer_;
  size_t count_;
  int offset_;
};

std::string describe(const ConvShape& s, ConvAlgo algo) {
  return std::string(conv_algo_name(algo)) + " B=" + std::to_string(s.batch) + " H=" + std::to_string(s.height) +
         " W=" + std::to_string(s.width) + " Cin=" + std::to_string(s.in_channels) +
         " Cout=" + std::to_string(s.out_channels) + " K=" + std::to_string(s.kernel);
}

// offset: where the device arrays start, in floats past an aligned address (see OffsetBuffer).
void check_forward(const ConvShape& s, bool relu, ConvAlgo algo, uint64_t seed, int offset = 0) {
  const auto in = random_floats(s.in_size(), -1.f, 1.f, seed);
  const auto weight = random_floats(s.weight_size(), -1.f, 1.f, seed + 1);
  const auto bias = random_floats(s.out_channels, -1.f, 1.f, seed + 2);
  std::vector<float> want(s.out_size(), 0.f), abs_terms(s.out_size(), 0.f);
  conv2d_forward_ref(want.data(), in.data(), weight.data(), bias.data(), s);
  const auto abs_in = abs_of(in), abs_weight = abs_of(weight), abs_bias = abs_of(bias);
  conv2d_forward_ref(abs_terms.data(), abs_in.data(), abs_weight.data(), abs_bias.data(), s);
  if (relu) relu_forward_ref(want.data(), want.data(), int64_t(want.size()));

  OffsetBuffer d_in(in, offset), d_weight(weight, offset), d_bias(bias, offset), d_out(s.out_size(), offset);
  d_out.poison();
  conv2d_forward_cuda(d_out.get(), d_in.get(), d_weight.get(), d_bias.get(), s, relu, algo, nullptr);
  const auto got = d_out.download();
  INFO("forward " << describe(s, algo) << (relu ? " relu" : "") << (offset ? " misaligned" : ""));
  const int64_t bad = first_violation(got, want, abs_terms, tolerance_for(algo));
  INFO(where(bad, got, want));
  CHECK(bad == -1);
}

void check_backward_data(const ConvShape& s, bool mask, ConvAlgo algo, uint64_t seed, int offset = 0) {
  const auto dout = random_floats(s.out_size(), -1.f, 1.f, seed);
  const auto weight = random_floats(s.weight_size(), -1.f, 1.f, seed + 1);
  const auto relu_out = random_floats(s.in_size(), -1.f, 1.f, seed + 2);  // about half <= 0
  std::vector<float> want(s.in_size(), 0.f), abs_terms(s.in_size(), 0.f);
  conv2d_backward_data_ref(want.data(), dout.data(), weight.data(), s);
  const auto abs_dout = abs_of(dout), abs_weight = abs_of(weight);
  conv2d_backward_data_ref(abs_terms.data(), abs_dout.data(), abs_weight.data(), s);
  if (mask) relu_backward_ref(want.data(), want.data(), relu_out.data(), int64_t(want.size()));

  OffsetBuffer d_dout(dout, offset), d_weight(weight, offset), d_relu_out(relu_out, offset);
  OffsetBuffer d_din(s.in_size(), offset);
  d_din.poison();
  conv2d_backward_data_cuda(d_din.get(), d_dout.get(), d_weight.get(), mask ? d_relu_out.get() : nullptr, s,
                            algo, nullptr);
  const auto got = d_din.download();
  INFO("backward-data " << describe(s, algo) << (mask ? " relu mask" : "") << (offset ? " misaligned" : ""));
  const int64_t bad = first_violation(got, want, abs_terms, tolerance_for(algo));
  INFO(where(bad, got, want));
  CHECK(bad == -1);
}

struct FilterResult {
  std::vector<float> dweight, dbias;
};

// dout [B,H,W,Cout], in [B,H,W,Cin] on the device; the outputs and the workspace start `offset` floats past
// an aligned address. Without bias, dbias is passed as null and comes back empty.
FilterResult run_backward_filter(const ConvShape& s, ConvAlgo algo, const float* d_dout, const float* d_in,
                                 int offset = 0, bool with_bias = true) {
  const size_t workspace_bytes = conv2d_backward_filter_workspace_bytes(s, algo);
  DeviceBuffer<char> workspace(workspace_bytes + sizeof(float) * size_t(offset));
  OffsetBuffer d_dweight(s.weight_size(), offset), d_dbias(s.out_channels, offset);
  d_dweight.poison();
  d_dbias.poison();
  conv2d_backward_filter_cuda(d_dweight.get(), with_bias ? d_dbias.get() : nullptr, d_dout, d_in, s, algo,
                              workspace_bytes ? workspace.get() + sizeof(float) * offset : nullptr,
                              workspace_bytes, nullptr);
  FilterResult result{d_dweight.download(), {}};
  if (with_bias) result.dbias = d_dbias.download();
  return result;
}

void check_backward_filter(const ConvShape& s, ConvAlgo algo, uint64_t seed, int offset = 0,
                           bool with_bias = true) {
  const auto dout = random_floats(s.out_size(), -1.f, 1.f, seed);
  const auto in = random_floats(s.in_size(), -1.f, 1.f, seed + 1);
  std::vector<float> want_w(s.weight_size(), 0.f), want_b(s.out_channels, 0.f);
  std::vector<float> abs_w(s.weight_size(), 0.f), abs_b(s.out_channels, 0.f);
  conv2d_backward_filter_ref(want_w.data(), want_b.data(), dout.data(), in.data(), s);
  const auto abs_dout = abs_of(dout), abs_in = abs_of(in);
  conv2d_backward_filter_ref(abs_w.data(), abs_b.data(), abs_dout.data(), abs_in.data(), s);

  OffsetBuffer d_dout(dout, offset), d_in(in, offset);
  const FilterResult got = run_backward_filter(s, algo, d_dout.get(), d_in.get(), offset, with_bias);
  INFO("backward-filter " << describe(s, algo) << (offset ? " misaligned" : "") << (with_bias ? "" : " no dbias"));
  const int64_t bad_w = first_violation(got.dweight, want_w, abs_w, tolerance_for(algo));
  INFO("dweight " << where(bad_w, got.dweight, want_w));
  CHECK(bad_w == -1);
  if (!with_bias) return;
  const int64_t bad_b = first_violation(got.dbias, want_b, abs_b, tolerance_for(algo));
  INFO("dbias " << where(bad_b, got.dbias, want_b));
  CHECK(bad_b == -1);
}

std::vector<ConvShape> odd_shapes() {
  std::vector<ConvShape> shapes;
  for (int kernel : {1, 3})
    for (int cin : {1, 3, 5, 64})
      for (int cout : {1, 4, 64, 65}) shapes.push_back(ConvShape{2, 7, 9, cin, cout, kernel});
  shapes.push_back(ConvShape{3, 19, 1, 8, 12, 3});   // W = 1: pixel steps wrap rows and images many times
  shapes.push_back(ConvShape{2, 1, 17, 4, 16, 3});   // H = 1; Cout = 16, the widest narrow tile
  shapes.push_back(ConvShape{1, 6, 10, 16, 17, 3});  // Cout = 17, just past the narrow tiles
  shapes.push_back(ConvShape{1, 6, 7, 3, 8, 5});     // K = 5 with the input layer's 3 channels
  return shapes;
}

// Bigger than one tile in every direction: several M tiles with a tail, N past one 64-wide tile,
// many backward-filter chunks.
const ConvShape kMultiTile{3, 33, 31, 64, 68, 3};
// Backward-filter with several 16-pixel steps per chunk, so a block's running pixel coordinates wrap
// across rows and images: 66246 pixels in ~2000 chunks.
const ConvShape kLongReduction{2, 181, 183, 4, 4, 3};

}  // namespace

TEST_CASE("conv2d_forward_cuda matches the CPU reference for every version", "[gpu][conv]") {
  uint64_t seed = 100;
  for (const ConvShape& s : odd_shapes())
    for (ConvAlgo algo : kAllAlgos)
      for (bool relu : {false, true}) check_forward(s, relu, algo, seed += 3);
  for (ConvAlgo algo : kAllAlgos) check_forward(kMultiTile, true, algo, seed += 3);
}

TEST_CASE("conv2d_backward_data_cuda matches the CPU reference for every version", "[gpu][conv]") {
  uint64_t seed = 200;
  for (const ConvShape& s : odd_shapes())
    for (ConvAlgo algo : kAllAlgos)
      for (bool mask : {false, true}) check_backward_data(s, mask, algo, seed += 3);
  for (ConvAlgo algo : kAllAlgos) check_backward_data(kMultiTile, true, algo, seed += 3);
}

TEST_CASE("conv2d_backward_filter_cuda matches the CPU reference for every version", "[gpu][conv]") {
  uint64_t seed = 300;
  for (const ConvShape& s : odd_shapes())
    for (ConvAlgo algo : kAllAlgos) check_backward_filter(s, algo, seed += 2);
  for (ConvAlgo algo : kAllAlgos) check_backward_filter(kMultiTile, algo, seed += 2);
  for (ConvAlgo algo : kAllAlgos) check_backward_filter(kLongReduction, algo, seed += 2);
}

TEST_CASE("conv2d_backward_filter_cuda is bit-identical across runs", "[gpu][conv]") {
  for (ConvAlgo algo : {ConvAlgo::kNaive, ConvAlgo::kTiled, ConvAlgo::kRegisterBlocked,
                        ConvAlgo::kRegisterBlocked8x8}) {
    const ConvShape& s = kMultiTile;
    DeviceBuffer<float> d_dout(random_floats(s.out_size(), -1.f, 1.f, 7));
    DeviceBuffer<float> d_in(random_floats(s.in_size(), -1.f, 1.f, 8));
    const FilterResult first = run_backward_filter(s, algo, d_dout.get(), d_in.get());
    const FilterResult second = run_backward_filter(s, algo, d_dout.get(), d_in.get());
    INFO(conv_algo_name(algo));
    CHECK(first.dweight == second.dweight);  // exact float equality, element by element
    CHECK(first.dbias == second.dbias);
  }
}

TEST_CASE("the CUDA convolutions are right when pointers are not 16-byte aligned", "[gpu][conv]") {
  // Channel counts that are multiples of 4, so only the misaligned pointers turn the float4 paths off
  // (cuDNN is left out: it may refuse such pointers).
  uint64_t seed = 400;
  for (const ConvShape& s : {ConvShape{2, 7, 9, 8, 12, 3}, ConvShape{1, 5, 7, 64, 64, 3}})
    for (ConvAlgo algo : kAllAlgos) {
      if (algo == ConvAlgo::kCudnn) continue;
      check_forward(s, true, algo, seed += 3, 1);
      check_backward_data(s, true, algo, seed += 3, 1);
      check_backward_filter(s, algo, seed += 2, 1);
    }
}

TEST_CASE("conv2d_backward_filter_cuda leaves dbias out when it is null", "[gpu][conv]") {
  uint64_t seed = 500;
  for (ConvAlgo algo : kAllAlgos) check_backward_filter(ConvShape{2, 7, 9, 8, 12, 3}, algo, seed += 2, 0, false);
}

TEST_CASE("conv2d_backward_filter_cuda refuses a workspace that is too small", "[gpu][conv]") {
  const ConvShape s{2, 7, 9, 5, 4, 3};
  const size_t need = conv2d_backward_filter_workspace_bytes(s, ConvAlgo::kRegisterBlocked);
  REQUIRE(need > 0);
  DeviceBuffer<float> dout(s.out_size()), in(s.in_size()), dweight(s.weight_size()), dbias(s.out_channels);
  DeviceBuffer<char> workspace(need);
  CHECK_THROWS_WITH(conv2d_backward_filter_cuda(dweight.get(), dbias.get(), dout.get(), in.get(), s,
                                                ConvAlgo::kRegisterBlocked, workspace.get(), need - 1, nullptr),
                    Catch::Contains("HINT"));
  CHECK(conv2d_backward_filter_workspace_bytes(s, ConvAlgo::kNaive) == 0);
}

TEST_CASE("the CUDA convolutions refuse shapes they cannot index", "[gpu][conv]") {
  DeviceBuffer<float> buffer(64);
  const ConvShape even_kernel{1, 2, 2, 1, 1, 2};
  CHECK_THROWS_WITH(conv2d_forward_cuda(buffer.get(), buffer.get(), buffer.get(), nullptr, even_kernel, false,
                                        ConvAlgo::kRegisterBlocked, nullptr),
                    Catch::Contains("HINT"));
  const ConvShape too_many_pixels{1024, 2048, 2048, 1, 1, 1};  // 2^32 pixels
  CHECK_THROWS_AS(conv2d_backward_data_cuda(buffer.get(), buffer.get(), buffer.get(), nullptr, too_many_pixels,
                                            ConvAlgo::kNaive, nullptr),
                  std::invalid_argument);
  CHECK_THROWS_AS(conv2d_backward_filter_cuda(buffer.get(), nullptr, buffer.get(), buffer.get(), too_many_pixels,
                                              ConvAlgo::kNaive, nullptr, 0, nullptr),
                  std::invalid_argument);
}

TEST_CASE("every conv version has a name", "[gpu][conv]") {
  for (ConvAlgo algo : kAllAlgos) CHECK(std::string(conv_algo_name(algo)) != "unknown");
}

}  // namespace fcn
