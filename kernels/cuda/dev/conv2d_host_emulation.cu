// Runs the implicit-GEMM blocks of conv2d_igemm.cuh (versions 2 and 3 of all three directions) on the
// CPU, one block at a time with every thread's phase run in turn between barriers, and compares them
// with plain double-precision loops. It checks the index math, the bounds and tail paths, the chunked
// backward-filter sum and that every output element is written, on machines without a GPU; it does not
// check timing-dependent behaviour (races), which the [gpu] tests do on a device.
//
// Build and run (no GPU needed; AddressSanitizer catches out-of-bounds reads of the operands):
//   nvcc -std=c++20 -O1 -arch=sm_90 -I. -Xcompiler -fsanitize=address -lasan
//        kernels/cuda/dev/conv2d_host_emulation.cu -o /tmp/conv2d_host_emulation
//   /tmp/conv2d_host_emulation
// Prints one line per case and "overall okay: 1" (exit 0) when all pass.
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <vector>

#include "kernels/cuda/conv2d_igemm.cuh"

namespace {

using namespace fcn;
using namespace fcn::igemm;

// Runs each phase for every thread of the block in turn; a barrier is then implicit.
// (__host__ __device__ only so that run_block may call it; it is only ever run on the host.)
template <class Thread>
struct HostExecutor {
  Thread* threads;
  int count;
  template <class F>
  __host__ __device__ void each(F&& f) {
    for (int t = 0; t < count; ++t) f(threads[t], t);
  }
  __host__ __device__ void barrier() {}
};

template <class B>
void emulate_grid(const Args& a) {
  const dim3 grid = igemm_grid<B>(a);
  auto shared = std::make_unique<typename B::Shared>();
  std::vector<typename B::Thread> threads(B::kThreads);
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        // Poison shared memory so a read of a never-written element shows up as NaN.
        float* sh = reinterpret_cast<float*>(shared.get());
        for (size_t i = 0; i < sizeof(typename B::Shared) / sizeof(float); ++i) sh[i] = NAN;
        HostExecutor<typename B::Thread> exec{threads.data(), int(threads.size())};
        B::run_block(exec, *shared, a, int(bx), int(by), int(bz));
      }
}

// Exact-size heap copies so that AddressSanitizer sees any read past the end.
std::vector<float> random_vector(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

struct Tolerance {
  double worst = 0;  // max |got - want| / (1e-6 + sum |terms|)
  bool nan = false;
  void add(double got, double want, double abs_terms) {
    if (std::isnan(got)) nan = true;
    const double r = std::abs(got - want) / (1e-6 + abs_terms);
    if (r > worst) worst = r;
  }
  // fp32 sums of K terms: |error| <= ~K * 2^-24 * sum|terms|; the largest K here is 2*13*11 = 286 pixels
  // per chunk order or 9*68 = 612 terms, so 1e-5 * sum|terms| is a safe, still discriminating bound.
  bool ok() const { return !nan && worst < 1e-5; }
};

int failures = 0;

void report(const char* what, const ConvShape& s, const Tolerance& t) {
  std::printf("%-28s B=%d H=%d W=%d Cin=%d Cout=%d K=%d  worst %.2e %s\n", what, s.batch, s.height, s.width,
              s.in_channels, s.out_channels, s.kernel, t.worst, t.ok() ? "ok" : "FAIL");
  if (!t.ok()) ++failures;
}

double at(const std::vector<float>& v, const ConvShape& s, int b, int y, int x, int c, int channels) {
  if (y < 0 || y >= s.height || x < 0 || x >= s.width) return 0;
  return v[((size_t(b) * s.height + y) * s.width + x) * channels + c];
}

template <class B>
void check_forward(const char* name, const ConvShape& s, bool relu, bool float4, std::mt19937& rng) {
  auto in = random_vector(s.in_size(), rng);
  auto w = random_vector(s.weight_size(), rng);
  auto bias = random_vector(s.out_channels, rng);
  std::vector<float> out(s.out_size(), NAN);
  emulate_grid<B>(forward_args(out.data(), in.data(), w.data(), bias.data(), s, relu, float4));
  const int K = s.kernel, p = K / 2;
  Tolerance t;
  for (int b = 0; b < s.batch; ++b)
    for (int y = 0; y < s.height; ++y)
      for (int x = 0; x < s.width; ++x)
        for (int co = 0; co < s.out_channels; ++co) {
          double acc = bias[co], abs_terms = std::abs(bias[co]);
          for (int ky = 0; ky < K; ++ky)
            for (int kx = 0; kx < K; ++kx)
              for (int ci = 0; ci < s.in_channels; ++ci) {
                const double term = at(in, s, b, y + ky - p, x + kx - p, ci, s.in_channels) *
                                    w[((size_t(ky) * K + kx) * s.in_channels + ci) * s.out_channels + co];
                acc += term, abs_terms += std::abs(term);
              }
          if (relu && acc < 0) acc = 0;
          t.add(out[((size_t(b) * s.height + y) * s.width + x) * s.out_channels + co], acc, abs_terms);
        }
  report(name, s, t);
}

template <class B>
void check_backward_data(const char* name, const ConvShape& s, bool mask, bool float4, std::mt19937& rng) {
  auto dout = random_vector(s.out_size(), rng);
  auto w = random_vector(s.weight_size(), rng);
  auto relu_out = random_vector(s.in_size(), rng);  // about half <= 0
  std::vector<float> din(s.in_size(), NAN);
  emulate_grid<B>(backward_data_args(din.data(), dout.data(), w.data(), mask ? relu_out.data() : nullptr, s,
                                     float4));
  const int K = s.kernel, p = K / 2;
  Tolerance t;
  for (int b = 0; b < s.batch; ++b)
    for (int y = 0; y < s.height; ++y)
      for (int x = 0; x < s.width; ++x)
        for (int ci = 0; ci < s.in_channels; ++ci) {
          double acc = 0, abs_terms = 0;
          for (int ky = 0; ky < K; ++ky)
            for (int kx = 0; kx < K; ++kx)
              for (int co = 0; co < s.out_channels; ++co) {
                const double term = at(dout, s, b, y - (ky - p), x - (kx - p), co, s.out_channels) *
                                    w[((size_t(ky) * K + kx) * s.in_channels + ci) * s.out_channels + co];
                acc += term, abs_terms += std::abs(term);
              }
          const size_t idx = ((size_t(b) * s.height + y) * s.width + x) * s.in_channels + ci;
          if (mask && !(relu_out[idx] > 0)) acc = 0;
          t.add(din[idx], acc, abs_terms);
        }
  report(name, s, t);
}

template <class B>
void check_backward_filter(const char* name, const ConvShape& s, bool float4, std::mt19937& rng) {
  auto dout = random_vector(s.out_size(), rng);
  auto in = random_vector(s.in_size(), rng);
  const ChunkPlan plan = chunk_plan<B>(s);
  const size_t rows = size_t(s.kernel) * s.kernel * s.in_channels;
  std::vector<float> partial(size_t(plan.chunks) * rows * s.out_channels, NAN);
  const Args a = backward_filter_args<B>(partial.data(), dout.data(), in.data(), s, plan, float4);
  if (int(igemm_grid<B>(a).z) != plan.chunks) {
    std::printf("%s: chunk plan and grid disagree\n", name);
    ++failures;
    return;
  }
  emulate_grid<B>(a);
  std::vector<float> dweight(rows * s.out_channels, 0.f);
  for (int c = 0; c < plan.chunks; ++c)  // the ordered chunk sum of sum_chunks_kernel
    for (size_t i = 0; i < dweight.size(); ++i) dweight[i] += partial[c * dweight.size() + i];
  const int K = s.kernel, p = K / 2;
  Tolerance t;
  for (int ky = 0; ky < K; ++ky)
    for (int kx = 0; kx < K; ++kx)
      for (int ci = 0; ci < s.in_channels; ++ci)
        for (int co = 0; co < s.out_channels; ++co) {
          double acc = 0, abs_terms = 0;
          for (int b = 0; b < s.batch; ++b)
            for (int y = 0; y < s.height; ++y)
              for (int x = 0; x < s.width; ++x) {
                const double term = at(in, s, b, y + ky - p, x + kx - p, ci, s.in_channels) *
                                    dout[((size_t(b) * s.height + y) * s.width + x) * s.out_channels + co];
                acc += term, abs_terms += std::abs(term);
              }
          t.add(dweight[((size_t(ky) * K + kx) * s.in_channels + ci) * s.out_channels + co], acc, abs_terms);
        }
  char label[64];
  std::snprintf(label, sizeof(label), "%s (%d chunks)", name, plan.chunks);
  report(label, s, t);
}

using Forward2 = Block<Mode::kForward, 16, 16, 16, 1, 1, false>;
using Forward3 = Block<Mode::kForward, 128, 64, 16, 8, 4, true>;
using Data2 = Block<Mode::kBackwardData, 16, 16, 16, 1, 1, false>;
using Data3 = Block<Mode::kBackwardData, 128, 64, 16, 8, 4, true>;
using Filter2 = Block<Mode::kBackwardFilter, 16, 16, 16, 1, 1, false>;
using Filter3 = Block<Mode::kBackwardFilter, 64, 64, 16, 8, 4, true>;
using Forward3Narrow = Block<Mode::kForward, 256, 16, 16, 8, 2, true>;
using Data3Narrow = Block<Mode::kBackwardData, 256, 16, 16, 8, 2, true>;
using Filter3Narrow = Block<Mode::kBackwardFilter, 64, 16, 16, 4, 2, true>;
using Forward4 = Block<Mode::kForward, 128, 64, 16, 8, 8, true>;
using Data4 = Block<Mode::kBackwardData, 128, 64, 16, 8, 8, true>;
using Filter4 = Block<Mode::kBackwardFilter, 128, 64, 16, 8, 8, true>;

}  // namespace

int main() {
  std::mt19937 rng(1234);
  std::vector<ConvShape> shapes;
  for (int k : {1, 3})
    for (int cin : {1, 3, 5, 8, 64})
      for (int cout : {1, 4, 64, 65}) shapes.push_back(ConvShape{2, 7, 9, cin, cout, k});
  shapes.push_back(ConvShape{3, 13, 11, 8, 68, 3});   // several M tiles, Cout tail past one N tile
  shapes.push_back(ConvShape{1, 1, 1, 4, 4, 3});      // every tap but the centre outside the image
  shapes.push_back(ConvShape{1, 5, 3, 12, 132, 3});   // N over two 64-wide tiles with a tail
  // Backward-filter with several 16-pixel steps per chunk (so the running pixel coordinates advance and
  // wrap across rows and images inside one block): P = 66246 pixels, 1 tile, 2071 chunks of 32 pixels.
  for (int cin : {4, 5}) {
    const ConvShape big{2, 181, 183, cin, 4, 3};
    check_backward_filter<Filter2>("backward-filter v2", big, false, rng);
    check_backward_filter<Filter3>("backward-filter v3", big, true, rng);
    check_backward_filter<Filter3Narrow>("backward-filter v3 narrow", big, true, rng);
    check_backward_filter<Filter4>("backward-filter v4", big, true, rng);
  }
  for (const ConvShape& s : shapes) {
    check_forward<Forward2>("forward v2", s, false, false, rng);
    check_forward<Forward3>("forward v3", s, false, true, rng);
    check_forward<Forward3>("forward v3 relu", s, true, true, rng);
    check_backward_data<Data2>("backward-data v2 mask", s, true, false, rng);
    check_backward_data<Data3>("backward-data v3", s, false, true, rng);
    check_backward_data<Data3>("backward-data v3 mask", s, true, true, rng);
    check_backward_filter<Filter2>("backward-filter v2", s, false, rng);
    check_backward_filter<Filter3>("backward-filter v3", s, true, rng);
    check_forward<Forward3Narrow>("forward v3 narrow relu", s, true, true, rng);
    check_backward_data<Data3Narrow>("backward-data v3 narrow mask", s, true, true, rng);
    check_backward_filter<Filter3Narrow>("backward-filter v3 narrow", s, true, rng);
    check_forward<Forward4>("forward v4 relu", s, true, true, rng);
    check_backward_data<Data4>("backward-data v4 mask", s, true, true, rng);
    check_backward_filter<Filter4>("backward-filter v4", s, true, rng);
  }
  std::printf("overall okay: %d\n", failures == 0 ? 1 : 0);
  return failures == 0 ? 0 : 1;
}
