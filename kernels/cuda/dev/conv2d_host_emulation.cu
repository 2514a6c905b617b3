// Runs the implicit-GEMM blocks of conv2d_igemm.cuh (versions 2, 3 and 4 of all three directions) on the
// CPU, one block at a time under one of two schedules of its threads (below), and compares them with
// plain double-precision loops. It checks the index math, the bounds and tail paths, the chunked
// backward-filter sum and that every output element is written, on machines without a GPU.
//
// Two schedules of a block's threads:
//   phases  every thread runs one phase (the code between two exec.each calls), then the next phase
//           starts: fast, but it would hide a missing barrier, since phases never overlap.
//   turns   every thread is a host thread, and they take turns: one runs until it reaches a barrier, then
//           the next one runs, and so on; a thread resumes only once all have reached that barrier. Between
//           two barriers, the k-th thread in turn sees every shared-memory write the earlier ones made in
//           that stretch (even those placed after its own reads) and none of the later ones. Had a barrier
//           been left out, some thread would read a tile element before it is stored (read-after-write) or
//           after the next tile overwrote it (write-after-read), and the result would be wrong. Run in
//           both thread orders on shapes with many K tiles per block.
// Neither shows what only hardware does (speed, register use); the [gpu] tests and the benchmark run there.
//
// Build and run (no GPU needed; AddressSanitizer catches out-of-bounds reads of the operands):
//   nvcc -std=c++20 -O1 -arch=sm_90 -I. -Xcompiler -fsanitize=address -lasan
//        kernels/cuda/dev/conv2d_host_emulation.cu -o /tmp/conv2d_host_emulation
//   /tmp/conv2d_host_emulation
// Prints one line per case and "overall okay: 1" (exit 0) when all pass.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>
#include <random>
#include <semaphore>
#include <thread>
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

// The "turns" schedule: thread order[i] runs after order[i-1] has reached its barrier (or its end), and
// order[0] resumes after order[n-1] has; every thread waits on its own semaphore for its turn.
class Turns {
 public:
  explicit Turns(const std::vector<int>& order) : order_(order), rank_(order.size()) {
    for (size_t i = 0; i < order.size(); ++i) {
      rank_[order[i]] = int(i);
      semaphores_.push_back(std::make_unique<std::counting_semaphore<2>>(0));
    }
    semaphores_[order_[0]]->release();
  }
  void wait(int tid) { semaphores_[tid]->acquire(); }
  void pass(int tid) { semaphores_[order_[(rank_[tid] + 1) % order_.size()]]->release(); }

 private:
  std::vector<int> order_, rank_;
  std::vector<std::unique_ptr<std::counting_semaphore<2>>> semaphores_;
};

template <class Thread>
struct TurnExecutor {
  Thread& thread;
  int tid;
  Turns& turns;
  template <class F>
  __host__ __device__ void each(F&& f) {
    f(thread, tid);
  }
  __host__ __device__ void barrier() {
#ifndef __CUDA_ARCH__  // host only (the device pass compiles but never runs this executor)
    turns.pass(tid);
    turns.wait(tid);
#endif
  }
};

enum class Schedule { kPhases, kTurns, kTurnsReversed };

template <class B>
void emulate_block_in_turns(typename B::Shared& shared, const Args& a, int bx, int by, int bz, bool reversed) {
  std::vector<int> order(B::kThreads);
  std::iota(order.begin(), order.end(), 0);
  if (reversed) std::reverse(order.begin(), order.end());
  Turns turns(order);
  std::vector<std::thread> threads;
  for (int tid = 0; tid < B::kThreads; ++tid) {
    threads.emplace_back([&, tid] {
      typename B::Thread thread;
      TurnExecutor<typename B::Thread> exec{thread, tid, turns};
      turns.wait(tid);
      B::run_block(exec, shared, a, bx, by, bz);
      turns.pass(tid);
    });
  }
  for (std::thread& t : threads) t.join();
}

template <class B>
void emulate_grid(const Args& a, Schedule schedule = Schedule::kPhases) {
  const dim3 grid = igemm_grid<B>(a);
  auto shared = std::make_unique<typename B::Shared>();
  std::vector<typename B::Thread> threads(B::kThreads);
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        // Poison shared memory so a read of a never-written element shows up as NaN.
        float* sh = reinterpret_cast<float*>(shared.get());
        for (size_t i = 0; i < sizeof(typename B::Shared) / sizeof(float); ++i) sh[i] = NAN;
        if (schedule == Schedule::kPhases) {
          HostExecutor<typename B::Thread> exec{threads.data(), int(threads.size())};
          B::run_block(exec, *shared, a, int(bx), int(by), int(bz));
        } else {
          emulate_block_in_turns<B>(*shared, a, int(bx), int(by), int(bz), schedule == Schedule::kTurnsReversed);
        }
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
void check_forward(const char* name, const ConvShape& s, bool relu, bool float4, std::mt19937& rng,
                   Schedule schedule = Schedule::kPhases) {
  auto in = random_vector(s.in_size(), rng);
  auto w = random_vector(s.weight_size(), rng);
  auto bias = random_vector(s.out_channels, rng);
  std::vector<float> out(s.out_size(), NAN);
  emulate_grid<B>(forward_args(out.data(), in.data(), w.data(), bias.data(), s, relu, float4), schedule);
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
void check_backward_data(const char* name, const ConvShape& s, bool mask, bool float4, std::mt19937& rng,
                         Schedule schedule = Schedule::kPhases) {
  auto dout = random_vector(s.out_size(), rng);
  auto w = random_vector(s.weight_size(), rng);
  auto relu_out = random_vector(s.in_size(), rng);  // about half <= 0
  std::vector<float> din(s.in_size(), NAN);
  emulate_grid<B>(backward_data_args(din.data(), dout.data(), w.data(), mask ? relu_out.data() : nullptr, s,
                                     float4),
                  schedule);
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

// pixels_per_chunk > 0 (a multiple of BK) replaces the plan's chunk length, to get many K tiles per block.
template <class B>
void check_backward_filter(const char* name, const ConvShape& s, bool float4, std::mt19937& rng,
                           Schedule schedule = Schedule::kPhases, int pixels_per_chunk = 0) {
  auto dout = random_vector(s.out_size(), rng);
  auto in = random_vector(s.in_size(), rng);
  ChunkPlan plan = chunk_plan<B>(s);
  if (pixels_per_chunk > 0) {
    plan.pixels_per_chunk = pixels_per_chunk;
    plan.chunks = int((s.pixels() + pixels_per_chunk - 1) / pixels_per_chunk);
  }
  const size_t rows = size_t(s.kernel) * s.kernel * s.in_channels;
  std::vector<float> partial(size_t(plan.chunks) * rows * s.out_channels, NAN);
  const Args a = backward_filter_args<B>(partial.data(), dout.data(), in.data(), s, plan, float4);
  if (int(igemm_grid<B>(a).z) != plan.chunks) {
    std::printf("%s: chunk plan and grid disagree\n", name);
    ++failures;
    return;
  }
  emulate_grid<B>(a, schedule);
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
  shapes.push_back(ConvShape{3, 19, 1, 8, 12, 3});    // W = 1: pixel steps wrap rows and images many times
  shapes.push_back(ConvShape{2, 1, 17, 4, 16, 3});    // H = 1; Cout = 16, the widest narrow tile
  shapes.push_back(ConvShape{1, 6, 10, 16, 17, 3});   // Cout = 17, just past the narrow tiles
  shapes.push_back(ConvShape{1, 6, 7, 3, 8, 5});      // K = 5 with Cin = 3 (the input layer's channels)
  shapes.push_back(ConvShape{1, 6, 7, 8, 4, 5});      // K = 5, float4 path across 25 taps
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
  // Missing-barrier check: the turns schedule in both thread orders, on shapes with many K tiles per block
  // (36 for forward / data, 7 per chunk for filter) so that both shared buffers are reused many times.
  for (Schedule order : {Schedule::kTurns, Schedule::kTurnsReversed}) {
    const bool rev = order == Schedule::kTurnsReversed;
    const ConvShape deep{1, 4, 5, 64, 20, 3};    // forward K = 576, one or a few blocks
    const ConvShape deep_t{1, 4, 5, 20, 64, 3};  // backward-data K = 576
    const ConvShape reduce{1, 9, 11, 8, 20, 3};  // backward-filter, one chunk of 112 pixels
    check_forward<Forward2>(rev ? "forward v2 [turns, reversed]" : "forward v2 [turns]", deep, true, false, rng,
                            order);
    check_forward<Forward3>(rev ? "forward v3 [turns, reversed]" : "forward v3 [turns]", deep, true, true, rng,
                            order);
    check_forward<Forward3Narrow>(rev ? "forward v3 narrow [turns, rev]" : "forward v3 narrow [turns]", deep,
                                  true, true, rng, order);
    check_forward<Forward4>(rev ? "forward v4 [turns, reversed]" : "forward v4 [turns]", deep, true, true, rng,
                            order);
    check_backward_data<Data2>(rev ? "backward-data v2 [turns, rev]" : "backward-data v2 [turns]", deep_t, true,
                               false, rng, order);
    check_backward_data<Data3>(rev ? "backward-data v3 [turns, rev]" : "backward-data v3 [turns]", deep_t, true,
                               true, rng, order);
    check_backward_data<Data3Narrow>(rev ? "backward-data v3n [turns, rev]" : "backward-data v3n [turns]",
                                     deep_t, true, true, rng, order);
    check_backward_data<Data4>(rev ? "backward-data v4 [turns, rev]" : "backward-data v4 [turns]", deep_t, true,
                               true, rng, order);
    check_backward_filter<Filter2>(rev ? "backward-filter v2 [turns, rev]" : "backward-filter v2 [turns]", reduce,
                                   false, rng, order, 112);
    check_backward_filter<Filter3>(rev ? "backward-filter v3 [turns, rev]" : "backward-filter v3 [turns]", reduce,
                                   true, rng, order, 112);
    check_backward_filter<Filter3Narrow>(rev ? "backward-filter v3n [turns, rev]" : "backward-filter v3n [turns]",
                                         reduce, true, rng, order, 112);
    check_backward_filter<Filter4>(rev ? "backward-filter v4 [turns, rev]" : "backward-filter v4 [turns]", reduce,
                                   true, rng, order, 112);
  }
  std::printf("overall okay: %d\n", failures == 0 ? 1 : 0);
  return failures == 0 ? 0 : 1;
}
