// The CPU kernel benchmark (see cpu_kernel_bench.h): ops through CpuBackend, one GEMM path at a time,
// paths alternating per op so that a noisy machine treats them alike.
#include "engine/cpu_kernel_bench.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <sstream>
#include <stdexcept>

#include "engine/cpu_backend.h"
#include "engine/model.h"
#include "kernels/cpu/fma_peak.h"
#include "kernels/cpu/gemm.h"

namespace fcn {
namespace {

std::vector<float> random_floats(int64_t n, unsigned seed, float low = -1.0f, float high = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(low, high);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

// The paths named by --paths, avx2 first when it is among them.
std::vector<GemmPath> chosen_paths(const std::string& list) {
  std::vector<GemmPath> paths;
  if (list == "all") {
    for (GemmPath path : {GemmPath::kPortable, GemmPath::kAvx2, GemmPath::kAvx512}) {
      if (gemm_path_supported(path)) paths.push_back(path);
    }
  } else {
    std::stringstream names(list);
    for (std::string name; std::getline(names, name, ',');) {
      const GemmPath path = parse_gemm_path(name);
      if (!gemm_path_supported(path)) {
        throw std::invalid_argument("--paths: " + name + " cannot run on this CPU or build (best here: " +
                                    gemm_path_name(gemm_best_path()) + ")");
      }
      if (std::find(paths.begin(), paths.end(), path) == paths.end()) paths.push_back(path);
    }
  }
  // avx2 first: the others are checked against it (avx512 bit for bit).
  std::stable_partition(paths.begin(), paths.end(), [](GemmPath path) { return path == GemmPath::kAvx2; });
  return paths;
}

template <class F>
double median_ms(int repeats, F&& run) {
  run();  // untimed: first touch of the buffers, OpenMP threads started
  std::vector<double> times;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    run();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// One op of the step: what it computes per run and where its result lands (for the check).
struct Op {
  std::string name;
  double flops = 0;  // compute-bound ops
  double bytes = 0;  // memory-bound ops (run once, on no particular path)
  std::function<void()> run;
  std::function<std::vector<float>()> result;
};

// "same bits as avx2", or the largest difference against the largest value of the reference output.
std::string compare(const std::vector<float>& got, const std::vector<float>& want, const std::string& want_name,
                    bool exact) {
  if (std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0) return "same bits as " + want_name;
  double diff = 0, scale = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    diff = std::max(diff, std::fabs(double(got[i]) - want[i]));
    scale = std::max(scale, std::fabs(double(want[i])));
  }
  char text[160];
  const bool ok = !exact && diff <= 1e-4 * scale;
  std::snprintf(text, sizeof text, "%smax diff %.2g of %.3g vs %s", ok ? "" : "MISMATCH: ", diff, scale,
                want_name.c_str());
  return text;
}

void print_table(const std::vector<CpuKernelBenchRow>& rows, const std::string& title, FILE* out, bool markdown) {
  if (markdown) {
    std::fprintf(out, "%s\n\n| op | path | median ms | GFLOP/s | GB/s | %% of peak | check |\n", title.c_str());
    std::fprintf(out, "|---|---|---:|---:|---:|---:|---|\n");
  } else {
    std::fprintf(out, "%s\n%-32s %-9s %10s %9s %8s %9s  %s\n", title.c_str(), "op", "path", "median ms", "GFLOP/s",
                 "GB/s", "% peak", "check");
  }
  for (const CpuKernelBenchRow& r : rows) {
    char gflops[32] = "-", gbytes[32] = "-", share[32] = "-";
    if (r.gflops > 0) std::snprintf(gflops, sizeof gflops, "%.1f", r.gflops);
    if (r.gbytes > 0) std::snprintf(gbytes, sizeof gbytes, "%.1f", r.gbytes);
    if (r.peak_share > 0) std::snprintf(share, sizeof share, "%.0f%%", 100 * r.peak_share);
    if (markdown) {
      std::fprintf(out, "| %s | %s | %.3f | %s | %s | %s | %s |\n", r.op.c_str(), r.path.c_str(), r.ms, gflops, gbytes,
                   share, r.check.c_str());
    } else {
      std::fprintf(out, "%-32s %-9s %10.3f %9s %8s %9s  %s\n", r.op.c_str(), r.path.c_str(), r.ms, gflops, gbytes,
                   share, r.check.c_str());
    }
  }
}

}  // namespace

std::vector<CpuKernelBenchRow> run_cpu_kernel_benchmarks(const CpuKernelBenchOptions& o) {
  if (o.batch < 1 || o.size < 1 || o.channels < 1 || o.classes < 1 || o.repeats < 1 || o.threads < 0) {
    throw std::invalid_argument("bench kernels: batch, size, channels, classes and repeats must be positive");
  }
  const std::vector<GemmPath> paths = chosen_paths(o.paths);
  CpuBackend backend(o.threads);
  const int threads = backend.threads();

  ModelConfig model;  // the seed's layers at the asked width: conv1 3x3 3->C, conv2 3x3 C->C, logits 1x1
  model.channels = o.channels;
  model.classes = o.classes;
  const std::vector<ConvShape> shapes = conv_shapes(model, o.batch, o.size);
  const ConvShape conv1 = shapes[0], conv2 = shapes[1], logits = shapes[2];
  backend.reserve(shapes, o.batch, o.size, o.classes);

  // Inputs (not timed) and outputs, as the step holds them: image, two hidden activations, logits.
  const int64_t pixels = conv1.pixels();
  const std::vector<float> image = random_floats(pixels * 3, 1);
  const std::vector<float> hidden = random_floats(pixels * o.channels, 2, 0.0f, 1.0f);  // after a ReLU
  const std::vector<float> gate = random_floats(pixels * o.channels, 3);  // about half <= 0: the ReLU mask
  const std::vector<float> dhidden = random_floats(pixels * o.channels, 4);
  const std::vector<float> dlogit_in = random_floats(pixels * o.classes, 5);
  const std::vector<float> targets = random_floats(pixels * o.classes, 6, 0.0f, 1.0f);
  const std::vector<float> w1 = random_floats(conv1.weight_size(), 7), w2 = random_floats(conv2.weight_size(), 8);
  const std::vector<float> w3 = random_floats(logits.weight_size(), 9), bias = random_floats(o.channels, 10);
  std::vector<float> act(pixels * o.channels), dact(pixels * o.channels), out_logits(pixels * o.classes);
  std::vector<float> dlogits(pixels * o.classes), dw(conv2.weight_size()), db(std::max(o.channels, o.classes));

  auto filter_result = [&](int64_t weights, int64_t biases) {
    std::vector<float> r(dw.begin(), dw.begin() + weights);
    r.insert(r.end(), db.begin(), db.begin() + biases);
    return r;
  };
  std::vector<Op> ops;
  auto conv_name = [](const char* layer, const ConvShape& s, const char* direction) {
    return std::string(layer) + " " + std::to_string(s.kernel) + "x" + std::to_string(s.kernel) + " " +
           std::to_string(s.in_channels) + "->" + std::to_string(s.out_channels) + " " + direction;
  };
  ops.push_back({conv_name("conv1", conv1, "fwd"), conv1.flops(), 0,
                 [&] { backend.conv2d_forward(act.data(), image.data(), w1.data(), bias.data(), conv1, true); },
                 [&] { return act; }});
  ops.push_back({conv_name("conv1", conv1, "filter"), conv1.flops(), 0,
                 [&] { backend.conv2d_backward_filter(dw.data(), db.data(), dhidden.data(), image.data(), conv1); },
                 [&] { return filter_result(conv1.weight_size(), conv1.out_channels); }});
  ops.push_back({conv_name("conv2", conv2, "fwd"), conv2.flops(), 0,
                 [&] { backend.conv2d_forward(act.data(), hidden.data(), w2.data(), bias.data(), conv2, true); },
                 [&] { return act; }});
  ops.push_back({conv_name("conv2", conv2, "data"), conv2.flops(), 0,
                 [&] { backend.conv2d_backward_data(dact.data(), dhidden.data(), w2.data(), gate.data(), conv2); },
                 [&] { return dact; }});
  ops.push_back({conv_name("conv2", conv2, "filter"), conv2.flops(), 0,
                 [&] { backend.conv2d_backward_filter(dw.data(), db.data(), dhidden.data(), hidden.data(), conv2); },
                 [&] { return filter_result(conv2.weight_size(), conv2.out_channels); }});
  ops.push_back({conv_name("logits", logits, "fwd"), logits.flops(), 0,
                 [&] { backend.conv2d_forward(out_logits.data(), hidden.data(), w3.data(), bias.data(), logits, false); },
                 [&] { return out_logits; }});
  ops.push_back({conv_name("logits", logits, "data"), logits.flops(), 0,
                 [&] { backend.conv2d_backward_data(dact.data(), dlogit_in.data(), w3.data(), gate.data(), logits); },
                 [&] { return dact; }});
  ops.push_back({conv_name("logits", logits, "filter"), logits.flops(), 0,
                 [&] { backend.conv2d_backward_filter(dw.data(), db.data(), dlogit_in.data(), hidden.data(), logits); },
                 [&] { return filter_result(logits.weight_size(), logits.out_channels); }});
  // Memory-bound ops: minimal traffic is each input read once and each output written once.
  const int64_t n_logits = pixels * o.classes;
  ops.push_back({"sigmoid_ce fwd+bwd", 0, 12.0 * double(n_logits),
                 [&] { backend.sigmoid_ce(dlogits.data(), out_logits.data(), targets.data(), n_logits, 1.0f); },
                 [&] { return dlogits; }});
  const int64_t n_params = parameter_count(model);
  std::vector<float> params = random_floats(n_params, 11), grads = random_floats(n_params, 12);
  std::vector<float> m(n_params), v(n_params);
  int64_t adam_step = 0;
  ops.push_back({"adam (" + std::to_string(n_params) + " params)", 0, 28.0 * double(n_params),
                 [&] { backend.adam(params.data(), grads.data(), m.data(), v.data(), n_params, AdamConfig{}, ++adam_step); },
                 [&] { return params; }});

  // Peaks first, on an idle machine as far as this process goes.
  std::vector<double> peaks;
  for (GemmPath path : paths) peaks.push_back(measure_fma_peak_gflops(path));

  const GemmPath before = gemm_path();
  std::vector<CpuKernelBenchRow> rows;
  for (const Op& op : ops) {
    if (op.flops == 0) {
      CpuKernelBenchRow row;
      row.op = op.name;
      row.path = "-";
      row.ms = median_ms(o.repeats, op.run);
      row.gbytes = op.bytes / (row.ms * 1e6);
      row.check = "-";
      rows.push_back(row);
      continue;
    }
    std::vector<float> reference;  // the first path's result (avx2 where it runs: see `paths`)
    for (size_t p = 0; p < paths.size(); ++p) {
      set_gemm_path(paths[p]);
      CpuKernelBenchRow row;
      row.op = op.name;
      row.path = gemm_path_name(paths[p]);
      row.ms = median_ms(o.repeats, op.run);
      row.gflops = op.flops / (row.ms * 1e6);
      if (peaks[p] > 0) row.peak_share = row.gflops / (peaks[p] * threads);
      if (p == 0) {
        reference = op.result();
        row.check = "reference";
      } else {
        const bool exact = paths[0] == GemmPath::kAvx2 && paths[p] == GemmPath::kAvx512;
        row.check = compare(op.result(), reference, gemm_path_name(paths[0]), exact);
      }
      rows.push_back(row);
    }
  }
  set_gemm_path(before);

  char title[512];
  int used = std::snprintf(title, sizeof title, "fcn bench kernels --device cpu: batch %d, %dx%d, %d channels, %d class%s, %d thread%s; one-core FMA peak measured now:",
                           o.batch, o.size, o.size, o.channels, o.classes, o.classes == 1 ? "" : "es", threads,
                           threads == 1 ? "" : "s");
  for (size_t p = 0; p < paths.size(); ++p) {
    if (peaks[p] > 0 && used > 0 && size_t(used) < sizeof title) {
      used += std::snprintf(title + used, sizeof title - used, " %s %.1f GFLOP/s", gemm_path_name(paths[p]).c_str(), peaks[p]);
    }
  }
  print_table(rows, title, stdout, false);
  if (!o.markdown_path.empty()) {
    FILE* f = std::fopen(o.markdown_path.c_str(), "w");
    if (f == nullptr) throw std::runtime_error("cannot write " + o.markdown_path + ": " + std::strerror(errno));
    print_table(rows, title, f, true);
    std::fclose(f);
  }
  return rows;
}

}  // namespace fcn
