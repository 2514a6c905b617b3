// `fcn bench kernels` (see bench_kernels.h): every convolution version at the model's shapes, validated
// then timed, plus the ops registered through add_benchmark(). Validation, per conv op:
//   1. v1 (naive) runs on a small odd shape of the same channels and is compared with the CPU reference
//      element by element (conv2d_check_against_cpu: |gpu - ref| <= 1e-5 * sum|terms|).
//   2. At full shape v1's output (poisoned with NaN first) must be all finite, and every other version's
//      output (poisoned likewise) is compared with it: ||out - v1|| / ||v1|| < 1e-4 and no NaN. fp32
//      re-association moves this by ~1e-7 (forward, data) to ~6e-6 (backward-filter's 2M-term sums; v1
//      accumulates those in double); indexing errors are O(1).
//   A version that fails is reported FAIL and not timed.
// Timing: 2 warm-up runs, then `repeats` runs each timed with CUDA events after an L2 flush (a memset of
// 2 x the L2 size); the median is reported. A version whose first warm-up run takes over 100 ms (v1's
// backward-filter at full size: a few threads looping over 2M pixels) gets one warm-up and only as many
// runs as fit in ~2 s (at least 3); its row says "median of N". Inputs are uniform random in [-1, 1]
// (never zeros). The table gives GFLOP/s and % of the FP32 peak for convolutions, GB/s and % of the
// measured HBM copy rate for every row with a byte count, and "x baseline" = baseline ms / this ms.
// The cuDNN rows time the convolution on an already transposed KRSC filter; the weight transpose is
// timed on its own row ("cudnn weight transpose"). The cuDNN forward includes its bias and ReLU passes,
// backward-data its ReLU-mask pass, backward-filter its dbias pass (as ours do).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "kernels/cpu/reference.h"
#include "kernels/cuda/bench_kernels.h"
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/conv2d.cuh"
#include "kernels/cuda/conv2d_cudnn.cuh"
#include "kernels/cuda/conv2d_validate.cuh"
#include "kernels/cuda/device_buffer.cuh"
#include "kernels/cuda/event_timer.cuh"

namespace fcn {
namespace {

constexpr double kFp32PeakFlops = 66.9e12;  // H200 FP32 CUDA cores (docs: PERFORMANCE.md)
constexpr double kHbmBytesPerS = 4.3e12;    // H200 device-to-device copy, measured (PERFORMANCE.md)
constexpr double kSlowRunMs = 100.0;        // a first run slower than this gets fewer repeats
constexpr double kSlowBudgetMs = 2000.0;    // ... as many as fit in this time, at least kMinRepeats
constexpr int kMinRepeats = 3;
constexpr double kConvRelTolerance = 1e-4;

std::vector<BenchEntry>& registry() {
  static std::vector<BenchEntry> entries;
  return entries;
}

// ---- device helpers --------------------------------------------------------------------------------
// b [count] = uniform in [-1, 1), reproducible (fill_uniform_cuda, kernels/cuda/device_buffer.cuh)
void fill_uniform(DeviceBuffer<float>& b, uint64_t seed) {
  fill_uniform_cuda(b.get(), int64_t(b.count()), seed, -1.f, 1.f, 0);
}

// Per-block partial sums of (out - ref)^2 and ref^2, and a count of non-finite outputs.
constexpr int kCompareBlocks = 1024;
constexpr int kCompareThreads = 256;
__global__ void compare_kernel(double* partials,  // [kCompareBlocks, 3]
                               const float* out, const float* ref, int64_t n) {
  FCN_SHARED(double[3][kCompareThreads], sums);
  double d2 = 0, r2 = 0, bad = 0;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const double o = out[i], r = ref[i];
    if (!isfinite(o)) {
      bad += 1;
      continue;
    }
    d2 += (o - r) * (o - r);
    r2 += r * r;
  }
  sums[0][threadIdx.x] = d2, sums[1][threadIdx.x] = r2, sums[2][threadIdx.x] = bad;
  __syncthreads();
  for (int stride = kCompareThreads / 2; stride > 0; stride /= 2) {
    if (int(threadIdx.x) < stride)
      for (int j = 0; j < 3; ++j) sums[j][threadIdx.x] += sums[j][threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0)
    for (int j = 0; j < 3; ++j) partials[blockIdx.x * 3 + j] = sums[j][0];
}

// "" when ||out - ref|| / ||ref|| < tolerance and every output is finite, else what is wrong.
std::string compare_device(const float* out, const float* ref, size_t n, const char* what) {
  if (n == 0) return "";
  double* partials = nullptr;
  CUDA_CHECK(cudaMalloc(&partials, kCompareBlocks * 3 * sizeof(double)));
  launch<compare_kernel>(kCompareBlocks, kCompareThreads, 0, nullptr, partials, out, ref, int64_t(n));
  std::vector<double> host(kCompareBlocks * 3);
  const cudaError_t launch = cudaGetLastError();
  const cudaError_t copy = cudaMemcpy(host.data(), partials, host.size() * sizeof(double), cudaMemcpyDeviceToHost);
  cudaFree(partials);
  CUDA_CHECK(launch);
  CUDA_CHECK(copy);
  double d2 = 0, r2 = 0, bad = 0;
  for (int b = 0; b < kCompareBlocks; ++b) d2 += host[b * 3], r2 += host[b * 3 + 1], bad += host[b * 3 + 2];
  std::ostringstream msg;
  if (bad > 0) {
    msg << what << ": " << int64_t(bad) << " non-finite (unwritten?) outputs";
    return msg.str();
  }
  const double rel = r2 > 0 ? std::sqrt(d2 / r2) : std::sqrt(d2);
  if (!(rel < kConvRelTolerance)) {
    msg << what << ": relative L2 error " << rel << " >= " << kConvRelTolerance;
    return msg.str();
  }
  return "";
}

struct Timing {
  double median_ms = 0;
  int runs = 0;  // timed runs behind the median
};

// Median milliseconds of `repeats` runs, each after an L2 flush (fewer for a very slow version, see top).
Timing time_median_ms(const std::function<void()>& run, int repeats, DeviceBuffer<float>& l2_flush) {
  // The first run is a warm-up (module load, cuDNN plans, caches) whose time picks the number of runs.
  const double first_ms = median_time_ms(run, 0, 1, 0);
  int warmups = 1;
  if (first_ms > kSlowRunMs) {
    repeats = std::clamp(int(kSlowBudgetMs / first_ms), std::min(kMinRepeats, repeats), repeats);
    warmups = 0;
  }
  return {median_time_ms(run, warmups, repeats, 0, l2_flush.get(), l2_flush.bytes()), repeats};
}

// ---- results -----------------------------------------------------------------------------------------
struct Row {
  std::string op, version, status;  // status "" = ok
  double ms = 0, flops = 0, bytes = 0;
  int runs = 0;  // timed runs behind ms
  bool baseline = false;
  bool compare_to_baseline = true;  // false for helper rows such as the cuDNN weight transpose
};

// "FAIL: <what>" on one table line.
std::string failure_text(const std::exception& e) {
  std::string text = std::string("FAIL: ") + e.what();
  for (char& ch : text)
    if (ch == '\n' || ch == '|') ch = ' ';
  return text;
}

// False once a kernel fault (illegal address, trap, ...) has poisoned the CUDA context: such an error is
// returned again by every later call, so nothing more can run in this process.
bool device_usable() {
  cudaGetLastError();
  cudaDeviceSynchronize();  // returns a pending asynchronous error once
  cudaGetLastError();
  return cudaDeviceSynchronize() == cudaSuccess;
}

bool is_baseline_name(const std::string& version) {
  return version == "cudnn" || version == "cublas" || version.rfind("baseline", 0) == 0;
}

bool op_selected(const std::string& op, const std::string& filter) {
  if (filter.empty() || filter == "all") return true;
  std::stringstream tokens(filter);
  std::string token;
  while (std::getline(tokens, token, ',')) {
    if (!token.empty() && op.find(token) != std::string::npos) return true;
  }
  return false;
}

std::string format_table(const std::vector<Row>& rows, int repeats) {
  std::ostringstream t;
  t << "| op | version | time ms | GFLOP/s | % of FP32 peak | GB/s | % of HBM | x baseline |\n";
  t << "|---|---|---:|---:|---:|---:|---:|---:|\n";
  for (const Row& r : rows) {
    t << "| " << r.op << " | " << r.version;
    if (r.status.empty() && r.runs > 0 && r.runs < repeats) t << " (median of " << r.runs << ")";
    t << " | ";
    if (!r.status.empty()) {
      t << r.status << " | | | | | |\n";
      continue;
    }
    char buf[256];
    const double seconds = r.ms * 1e-3;
    std::string gflops = "", peak = "", gbs = "", hbm = "", ratio = "";
    if (r.flops > 0) {
      std::snprintf(buf, sizeof(buf), "%.0f", r.flops / seconds * 1e-9), gflops = buf;
      std::snprintf(buf, sizeof(buf), "%.1f%%", 100.0 * r.flops / seconds / kFp32PeakFlops), peak = buf;
    }
    if (r.bytes > 0) {
      std::snprintf(buf, sizeof(buf), "%.0f", r.bytes / seconds * 1e-9), gbs = buf;
      std::snprintf(buf, sizeof(buf), "%.1f%%", 100.0 * r.bytes / seconds / kHbmBytesPerS), hbm = buf;
    }
    for (const Row& b : rows) {  // the group's baseline, if it ran
      if (!r.compare_to_baseline) break;
      if (b.op == r.op && b.baseline && b.status.empty() && b.ms > 0) {
        std::snprintf(buf, sizeof(buf), "%.2f", b.ms / r.ms), ratio = buf;
        break;
      }
    }
    std::snprintf(buf, sizeof(buf), "%.*f", r.ms < 0.1 ? 4 : 3, r.ms);
    t << buf << " | " << gflops << " | " << peak << " | " << gbs << " | " << hbm << " | " << ratio << " |\n";
  }
  return t.str();
}

// ---- convolutions ------------------------------------------------------------------------------------
enum Direction { kFwd = 0, kData = 1, kFilter = 2 };

struct ConvCase {
  std::string op;
  ConvShape shape;
  Direction dir;
  bool relu;  // forward: ReLU epilogue; data: mask by relu_out (the layer below's ReLU output)
};

std::string shape_label(const ConvShape& s) {
  return std::to_string(s.kernel) + "x" + std::to_string(s.kernel) + " " + std::to_string(s.in_channels) +
         "->" + std::to_string(s.out_channels);
}

std::vector<ConvCase> conv_cases(const KernelBenchOptions& o) {
  const ConvShape conv1{o.batch, o.size, o.size, 3, o.channels, 3};
  const ConvShape conv2{o.batch, o.size, o.size, o.channels, o.channels, 3};
  const ConvShape logits{o.batch, o.size, o.size, o.channels, o.classes, 1};
  std::vector<ConvCase> cases;
  cases.push_back({"conv1 fwd " + shape_label(conv1), conv1, kFwd, true});
  cases.push_back({"conv1 filter " + shape_label(conv1), conv1, kFilter, false});
  cases.push_back({"conv2 fwd " + shape_label(conv2), conv2, kFwd, true});
  cases.push_back({"conv2 data " + shape_label(conv2), conv2, kData, true});
  cases.push_back({"conv2 filter " + shape_label(conv2), conv2, kFilter, false});
  cases.push_back({"logits fwd " + shape_label(logits), logits, kFwd, false});
  cases.push_back({"logits data " + shape_label(logits), logits, kData, true});
  cases.push_back({"logits filter " + shape_label(logits), logits, kFilter, false});
  return cases;
}

// The buffers of one case: inputs random, outputs for the version under test and v1's reference.
struct ConvBuffers {
  DeviceBuffer<float> in, weight, bias, dout, relu_out;       // inputs (as the direction needs)
  DeviceBuffer<float> out, out_bias;                          // output under test (+ dbias for filter)
  DeviceBuffer<float> ref, ref_bias;                          // v1's output
  DeviceBuffer<float> weight_krsc, workspace_floats;          // cuDNN filter layout; backward-filter workspace
};

void run_conv(const ConvCase& c, ConvBuffers& b, ConvAlgo algo, float* out, float* out_bias) {
  const ConvShape& s = c.shape;
  switch (c.dir) {
    case kFwd: conv2d_forward_cuda(out, b.in.get(), b.weight.get(), b.bias.get(), s, c.relu, algo, 0); break;
    case kData:
      conv2d_backward_data_cuda(out, b.dout.get(), b.weight.get(), c.relu ? b.relu_out.get() : nullptr, s, algo, 0);
      break;
    case kFilter:
      conv2d_backward_filter_cuda(out, out_bias, b.dout.get(), b.in.get(), s, algo, b.workspace_floats.get(),
                                  b.workspace_floats.bytes(), 0);
      break;
  }
}

// The cuDNN row: the convolution alone on the pre-transposed KRSC filter.
void run_cudnn_krsc(const ConvCase& c, ConvBuffers& b, float* out, float* out_bias) {
  const ConvShape& s = c.shape;
  switch (c.dir) {
    case kFwd: cudnn_baseline::forward_krsc(out, b.in.get(), b.weight_krsc.get(), b.bias.get(), s, c.relu, 0); break;
    case kData:
      cudnn_baseline::backward_data_krsc(out, b.dout.get(), b.weight_krsc.get(), c.relu ? b.relu_out.get() : nullptr,
                                         s, 0);
      break;
    case kFilter:
      cudnn_baseline::backward_filter_krsc(b.weight_krsc.get(), out_bias, b.dout.get(), b.in.get(), s, 0);
      cudnn_baseline::weight_from_krsc(out, b.weight_krsc.get(), s, 0);  // for validation only (untimed path)
      break;
  }
}

size_t output_count(const ConvCase& c) {
  return c.dir == kFwd ? c.shape.out_size() : c.dir == kData ? c.shape.in_size() : c.shape.weight_size();
}

void bench_conv_case(const ConvCase& c, const KernelBenchOptions& o, DeviceBuffer<float>& l2_flush,
                     std::vector<Row>& rows, int& failures) {
  const ConvShape& s = c.shape;
  std::printf("%s: B=%d H=%d W=%d ...\n", c.op.c_str(), s.batch, s.height, s.width);
  std::fflush(stdout);
  const std::string cpu_problem = conv2d_check_against_cpu(c.shape, c.dir, c.relu, ConvAlgo::kNaive);

  ConvBuffers b;
  uint64_t seed = 1000 + uint64_t(c.dir) * 10 + uint64_t(s.in_channels);
  if (c.dir != kData) b.in = DeviceBuffer<float>(s.in_size()), fill_uniform(b.in, seed++);
  if (c.dir != kFilter) b.weight = DeviceBuffer<float>(s.weight_size()), fill_uniform(b.weight, seed++);
  if (c.dir == kFwd) b.bias = DeviceBuffer<float>(s.out_channels), fill_uniform(b.bias, seed++);
  if (c.dir != kFwd) b.dout = DeviceBuffer<float>(s.out_size()), fill_uniform(b.dout, seed++);
  if (c.dir == kData && c.relu) b.relu_out = DeviceBuffer<float>(s.in_size()), fill_uniform(b.relu_out, seed++);
  const size_t n_out = output_count(c);
  b.out = DeviceBuffer<float>(n_out), b.ref = DeviceBuffer<float>(n_out);
  if (c.dir == kFilter) b.out_bias = DeviceBuffer<float>(s.out_channels), b.ref_bias = DeviceBuffer<float>(s.out_channels);
  b.weight_krsc = DeviceBuffer<float>(s.weight_size());
  size_t workspace_bytes = 0;
  if (c.dir == kFilter) {
    for (int v = 0; v < kNumConvAlgos; ++v)
      workspace_bytes = std::max(workspace_bytes, conv2d_backward_filter_workspace_bytes(s, ConvAlgo(v)));
    b.workspace_floats = DeviceBuffer<float>((workspace_bytes + sizeof(float) - 1) / sizeof(float));
  }
  const double flops = s.flops();
  // Minimal traffic: each input once, each output once.
  double bytes = 0;
  if (c.dir == kFwd) bytes = 4.0 * (s.in_size() + s.weight_size() + s.out_channels + s.out_size());
  if (c.dir == kData) bytes = 4.0 * (s.out_size() + s.weight_size() + (c.relu ? 2.0 : 1.0) * s.in_size());
  if (c.dir == kFilter) bytes = 4.0 * (s.out_size() + s.in_size() + s.weight_size() + s.out_channels);

  // v1's full-shape output is the reference for every other version.
  CUDA_CHECK(cudaMemset(b.ref.get(), 0xff, b.ref.bytes()));  // NaN: unwritten outputs fail the check
  if (c.dir == kFilter) CUDA_CHECK(cudaMemset(b.ref_bias.get(), 0xff, b.ref_bias.bytes()));
  run_conv(c, b, ConvAlgo::kNaive, b.ref.get(), b.ref_bias.get());
  CUDA_CHECK(cudaDeviceSynchronize());

  for (int v = 0; v < kNumConvAlgos; ++v) {
    const ConvAlgo algo = ConvAlgo(v);
    Row row;
    row.op = c.op;
    row.version = conv_algo_name(algo);
    row.baseline = algo == ConvAlgo::kCudnn;
    row.flops = flops;
    row.bytes = bytes;
    bool context_lost = false;
#if defined(FCN_CUDA_EMULATION)
    if (algo == ConvAlgo::kCudnn) {  // a closed library for real GPUs: not a failure of ours
      row.status = "skipped: no cuDNN on the emulated device";
      std::printf("  %-22s %s\n", row.version.c_str(), row.status.c_str());
      rows.push_back(row);
      continue;
    }
#endif
    try {
      std::string problem;
      if (algo == ConvAlgo::kNaive) problem = cpu_problem;
      std::function<void()> run;
      if (algo == ConvAlgo::kCudnn) {
        if (c.dir != kFilter) cudnn_baseline::weight_to_krsc(b.weight_krsc.get(), b.weight.get(), s, 0);
        run = [&] { run_cudnn_krsc(c, b, b.out.get(), b.out_bias.get()); };
      } else {
        run = [&, algo] { run_conv(c, b, algo, b.out.get(), b.out_bias.get()); };
      }
      if (problem.empty() && algo == ConvAlgo::kNaive) {
        // v1's full-size output is the reference itself: only check that every element was written (a
        // second v1 run would cost seconds for the backward-filter and prove nothing more).
        problem = compare_device(b.ref.get(), b.ref.get(), n_out, "output");
        if (problem.empty() && c.dir == kFilter)
          problem = compare_device(b.ref_bias.get(), b.ref_bias.get(), s.out_channels, "dbias");
      } else if (problem.empty()) {
        CUDA_CHECK(cudaMemset(b.out.get(), 0xff, b.out.bytes()));
        if (c.dir == kFilter) CUDA_CHECK(cudaMemset(b.out_bias.get(), 0xff, b.out_bias.bytes()));
        run();
        CUDA_CHECK(cudaDeviceSynchronize());
        problem = compare_device(b.out.get(), b.ref.get(), n_out, "output");
        if (problem.empty() && c.dir == kFilter)
          problem = compare_device(b.out_bias.get(), b.ref_bias.get(), s.out_channels, "dbias");
      }
      if (!problem.empty()) {
        row.status = "FAIL: " + problem;
        ++failures;
      } else {
        if (algo == ConvAlgo::kCudnn && c.dir == kFilter) {
          // Time the cuDNN filter gradient without the KRSC->HWIO transpose used for validation.
          run = [&] { cudnn_baseline::backward_filter_krsc(b.weight_krsc.get(), b.out_bias.get(), b.dout.get(),
                                                           b.in.get(), s, 0); };
        }
        const Timing timing = time_median_ms(run, o.repeats, l2_flush);
        row.ms = timing.median_ms, row.runs = timing.runs;
      }
    } catch (const std::exception& e) {
      row.status = failure_text(e);
      ++failures;
      cudaGetLastError();  // clear a launch-configuration error so that the next version can run
      context_lost = !device_usable();
    }
    std::printf("  %-22s %s\n", row.version.c_str(),
                row.status.empty() ? (std::to_string(row.ms) + " ms").c_str() : row.status.c_str());
    std::fflush(stdout);
    rows.push_back(row);
    if (context_lost) throw std::runtime_error("the CUDA context is lost after " + row.version);
  }
  // The weight transpose the cuDNN path needs (HWIO -> KRSC), on its own row.
  Row transpose;
  transpose.op = c.op;
  transpose.version = "cudnn weight transpose";
  transpose.bytes = 8.0 * s.weight_size();
  transpose.compare_to_baseline = false;
  try {
    DeviceBuffer<float> hwio(s.weight_size());
    fill_uniform(hwio, 7);
    const Timing timing = time_median_ms(
        [&] { cudnn_baseline::weight_to_krsc(b.weight_krsc.get(), hwio.get(), s, 0); }, o.repeats, l2_flush);
    transpose.ms = timing.median_ms, transpose.runs = timing.runs;
  } catch (const std::exception& e) {
    transpose.status = failure_text(e);
    ++failures;
    cudaGetLastError();
  }
  rows.push_back(transpose);
  if (!transpose.status.empty() && !device_usable()) throw std::runtime_error("the CUDA context is lost");
}

void bench_registered(const BenchEntry& e, const KernelBenchOptions& o, DeviceBuffer<float>& l2_flush,
                      std::vector<Row>& rows, int& failures) {
  Row row;
  row.op = e.op;
  row.version = e.version;
  row.baseline = is_baseline_name(e.version);
  BenchWork work;
  try {
    work = e.make(o);
    row.flops = work.flops, row.bytes = work.bytes;
    work.run();
    CUDA_CHECK(cudaDeviceSynchronize());
    const std::string problem = work.check ? work.check() : std::string();
    if (!problem.empty()) {
      row.status = "FAIL: " + problem;
      ++failures;
    } else {
      const Timing timing = time_median_ms(work.run, o.repeats, l2_flush);
      row.ms = timing.median_ms, row.runs = timing.runs;
    }
  } catch (const std::exception& ex) {
    row.status = failure_text(ex);
    ++failures;
    cudaGetLastError();
  }
  if (work.teardown) work.teardown();
  std::printf("%s, %s: %s\n", row.op.c_str(), row.version.c_str(),
              row.status.empty() ? (std::to_string(row.ms) + " ms").c_str() : row.status.c_str());
  std::fflush(stdout);
  rows.push_back(row);
  if (!row.status.empty() && !device_usable()) throw std::runtime_error("the CUDA context is lost");
}

}  // namespace

void add_benchmark(BenchEntry entry) { registry().push_back(std::move(entry)); }

int run_kernel_benchmarks(const KernelBenchOptions& o) {
  int devices = 0;
  const cudaError_t status = cudaGetDeviceCount(&devices);
  if (status != cudaSuccess || devices == 0) {
    std::fprintf(stderr, "fcn bench kernels: no usable CUDA device (%s)\nHINT: run it on a machine with an "
                 "NVIDIA GPU and driver (nvidia-smi should list it)\n",
                 status != cudaSuccess ? cudaGetErrorString(status) : "no devices");
    return 2;
  }
  if (o.batch < 1 || o.size < 1 || o.channels < 1 || o.classes < 1 || o.repeats < 1) {
    std::fprintf(stderr, "fcn bench kernels: --batch, --size, --channels, --classes and --repeats must be >= 1\n"
                 "HINT: e.g. fcn bench kernels --batch 8 --size 512 --repeats 20\n");
    return 2;
  }
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  DeviceBuffer<float> l2_flush(size_t(std::max(prop.l2CacheSize, 1 << 20)) * 2 / sizeof(float));
  std::printf("device: %s, %d SMs, L2 %d MB (flushed with %zu MB before each run); batch %d, %dx%d, C=%d, "
              "classes %d, median of %d; FP32 peak %.1f TFLOP/s, HBM %.1f TB/s\n",
              prop.name, prop.multiProcessorCount, prop.l2CacheSize >> 20, l2_flush.bytes() >> 20, o.batch, o.size,
              o.size, o.channels, o.classes, o.repeats, kFp32PeakFlops * 1e-12, kHbmBytesPerS * 1e-12);
  std::fflush(stdout);

  // Every case runs inside its own try: a failure becomes a FAIL row and the table is still printed; a
  // fault that poisons the CUDA context ends the run early (nothing later could run).
  std::vector<Row> rows;
  int failures = 0;
  auto guarded = [&](const std::string& op, const std::function<void()>& bench) {
    try {
      bench();
      return true;
    } catch (const std::exception& e) {
      Row row;
      row.op = op, row.version = "(stopped)", row.status = failure_text(e);
      rows.push_back(row);
      ++failures;
      std::printf("%s: %s\n", op.c_str(), row.status.c_str());
      cudaGetLastError();
      return device_usable();
    }
  };
  bool usable = true;
  for (const ConvCase& c : conv_cases(o)) {
    if (usable && op_selected(c.op, o.ops))
      usable = guarded(c.op, [&] { bench_conv_case(c, o, l2_flush, rows, failures); });
  }
  for (const BenchEntry& e : registry()) {
    if (usable && op_selected(e.op, o.ops))
      usable = guarded(e.op, [&] { bench_registered(e, o, l2_flush, rows, failures); });
  }
  if (!usable) std::printf("fcn bench kernels: STOPPED EARLY: a kernel fault left the CUDA context unusable\n");

  const std::string table = format_table(rows, o.repeats);
  std::printf("\nx baseline: the group's cuDNN (or other baseline) time / this version's time; > 1 is faster\n"
              "%s", table.c_str());
  if (!o.markdown_path.empty()) {
    std::ofstream md(o.markdown_path);
    if (!md) {
      std::fprintf(stderr, "fcn bench kernels: cannot write %s\nHINT: check that the directory exists\n",
                   o.markdown_path.c_str());
      return 1;
    }
    const std::time_t now = std::time(nullptr);
    char date[64];
    std::strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
    md << "# fcn bench kernels\n\n" << prop.name << ", " << date << "; batch " << o.batch << ", " << o.size << "x"
       << o.size << ", C=" << o.channels << ", classes " << o.classes << "; median of " << o.repeats
       << " runs, L2 flushed before each; FP32 peak " << kFp32PeakFlops * 1e-12 << " TFLOP/s.\n\n"
       << table;
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace fcn
