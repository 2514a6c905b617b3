// Benchmark entries for the engine's memory-bound ops (see bench_engine_ops.h). Inputs are random
// (never zeros), allocated and filled in make(), which is not timed; run() queues one call on stream 0;
// check() compares the first run's output with the CPU reference.
#include "kernels/cuda/bench_engine_ops.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/reference.h"
#include "kernels/cuda/adam.cuh"
#include "kernels/cuda/bench_kernels.h"
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/resize.cuh"
#include "kernels/cuda/sigmoid_ce.cuh"

namespace fcn {
namespace {

// A device allocation owned by a shared_ptr, so the BenchWork lambdas can share it.
template <class T>
std::shared_ptr<T> device_array(size_t count) {
  T* ptr = nullptr;
  CUDA_CHECK(cudaMalloc(&ptr, (count == 0 ? 1 : count) * sizeof(T)));
  return std::shared_ptr<T>(ptr, [](T* p) { cudaFree(p); });
}

template <class T>
std::vector<T> to_host(const T* device, size_t count) {
  std::vector<T> host(count);
  CUDA_CHECK(cudaMemcpy(host.data(), device, count * sizeof(T), cudaMemcpyDeviceToHost));
  return host;
}

std::vector<float> random_floats(size_t n, float low, float high, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(low, high);
  std::vector<float> values(n);
  for (float& v : values) v = dist(rng);
  return values;
}

// A packed batch of o.batch random 640x480 images (a typical camera frame, resized down to o.size) and
// labels with values 0..2, as the loader packs it.
struct PackedInput {
  std::vector<uint8_t> bytes;
  std::vector<ResizeSampleInfo> info;
};
PackedInput make_packed_input(const KernelBenchOptions& o) {
  PackedInput in;
  std::mt19937_64 rng(123);
  for (int b = 0; b < o.batch; ++b) {
    ResizeSampleInfo s;
    s.height = 480 + 8 * (b % 3);  // slightly different sizes, as real exports have
    s.width = 640 - 8 * (b % 2);
    const size_t pixels = size_t(s.height) * s.width;
    s.image_offset = in.bytes.size();
    for (size_t i = 0; i < pixels * 3; ++i) in.bytes.push_back(uint8_t(rng() & 0xFF));
    s.label_offset = in.bytes.size();
    for (size_t i = 0; i < pixels; ++i) in.bytes.push_back(uint8_t(rng() % 3));
    in.info.push_back(s);
  }
  return in;
}

BenchWork make_resize(const KernelBenchOptions& o, bool targets) {
  auto input = std::make_shared<PackedInput>(make_packed_input(o));
  auto bytes = device_array<uint8_t>(input->bytes.size());
  auto info = device_array<ResizeSampleInfo>(input->info.size());
  CUDA_CHECK(cudaMemcpy(bytes.get(), input->bytes.data(), input->bytes.size(), cudaMemcpyHostToDevice));
  CUDA_CHECK(cudaMemcpy(info.get(), input->info.data(), input->info.size() * sizeof(ResizeSampleInfo),
                        cudaMemcpyHostToDevice));
  const std::vector<int> class_values = {1, 2, 0, 3};
  const int classes = std::min<int>(o.classes, 4);
  auto classes_device = device_array<int>(4);
  CUDA_CHECK(cudaMemcpy(classes_device.get(), class_values.data(), 4 * sizeof(int), cudaMemcpyHostToDevice));
  const int channels = targets ? classes : 3;
  const size_t out_count = size_t(o.batch) * o.size * o.size * channels;
  auto out = device_array<float>(out_count);
  const size_t raw_read = targets ? input->bytes.size() / 4 : input->bytes.size() * 3 / 4;  // labels or images

  BenchWork w;
  w.bytes = double(out_count) * sizeof(float) + double(raw_read);
  const int batch = o.batch, size = o.size;
  w.run = [=] {
    if (targets) {
      resize_targets_cuda(out.get(), bytes.get(), info.get(), classes_device.get(), classes, batch, size,
                          ResizeMapping::kLegacy, false, nullptr);
    } else {
      resize_images_cuda(out.get(), bytes.get(), info.get(), batch, size, ResizeMapping::kLegacy, nullptr);
    }
  };
  w.check = [=]() -> std::string {
    // The last sample against the CPU reference (tolerance as in tests/gpu/test_resize.cc, scaled for
    // source coordinates up to 640: 2 ulp of 512 is 1.2e-4, times the value range).
    const int b = batch - 1;
    const size_t per_sample = size_t(size) * size * channels;
    const std::vector<float> got = to_host(out.get() + per_sample * b, per_sample);
    std::vector<float> want(per_sample);
    const ResizeSampleInfo& s = input->info[b];
    if (targets) {
      resize_targets_ref(want.data(), input->bytes.data() + s.label_offset, s.height, s.width, size,
                         class_values.data(), classes, ResizeMapping::kLegacy, false);
    } else {
      resize_image_ref(want.data(), input->bytes.data() + s.image_offset, s.height, s.width, size,
                       ResizeMapping::kLegacy);
    }
    const double tolerance = targets ? 2.5e-4 : 0.07;
    for (size_t i = 0; i < per_sample; ++i) {
      if (!(std::fabs(got[i] - want[i]) <= tolerance)) {
        return "element " + std::to_string(i) + ": " + std::to_string(got[i]) + " vs " + std::to_string(want[i]);
      }
    }
    return "";
  };
  return w;
}

BenchWork make_sigmoid_ce(const KernelBenchOptions& o) {
  const int64_t n = int64_t(o.batch) * o.size * o.size * o.classes;
  auto logits_host = std::make_shared<std::vector<float>>(random_floats(size_t(n), -8.0f, 8.0f, 5));
  auto targets_host = std::make_shared<std::vector<float>>(random_floats(size_t(n), 0.0f, 1.0f, 6));
  auto logits = device_array<float>(size_t(n));
  auto targets = device_array<float>(size_t(n));
  auto dlogits = device_array<float>(size_t(n));
  auto loss = device_array<double>(1);
  const size_t ws_bytes = sigmoid_ce_workspace_bytes(n);
  auto workspace = device_array<uint8_t>(ws_bytes);
  CUDA_CHECK(cudaMemcpy(logits.get(), logits_host->data(), n * sizeof(float), cudaMemcpyHostToDevice));
  CUDA_CHECK(cudaMemcpy(targets.get(), targets_host->data(), n * sizeof(float), cudaMemcpyHostToDevice));
  BenchWork w;
  w.bytes = 3.0 * double(n) * sizeof(float);  // read logits and targets, write dlogits
  w.run = [=] {
    sigmoid_ce_cuda(loss.get(), dlogits.get(), logits.get(), targets.get(), n, 1.0f, workspace.get(), ws_bytes,
                    nullptr);
  };
  w.check = [=]() -> std::string {
    const double got = to_host(loss.get(), 1)[0];
    const double want = sigmoid_ce_loss_ref<float>(logits_host->data(), targets_host->data(), n);
    if (!(std::fabs(got - want) <= 1e-5 * want)) {  // terms >= 0, so want = sum |terms|
      return "loss " + std::to_string(got) + " vs " + std::to_string(want);
    }
    std::vector<float> want_d(static_cast<size_t>(n));
    sigmoid_ce_backward_ref<float>(want_d.data(), logits_host->data(), targets_host->data(), n, 1.0f);
    const std::vector<float> got_d = to_host(dlogits.get(), size_t(n));
    for (int64_t i = 0; i < n; ++i) {
      if (!(std::fabs(got_d[i] - want_d[i]) <= 2e-6f)) {  // values in (-1, 1); expf differs by a few ulp
        return "dlogits " + std::to_string(i) + ": " + std::to_string(got_d[i]) + " vs " + std::to_string(want_d[i]);
      }
    }
    return "";
  };
  return w;
}

BenchWork make_adam(int64_t n) {
  auto host = std::make_shared<std::vector<std::vector<float>>>();
  host->push_back(random_floats(size_t(n), -1.0f, 1.0f, 7));   // params
  host->push_back(random_floats(size_t(n), -1.0f, 1.0f, 8));   // grads
  host->push_back(random_floats(size_t(n), -0.1f, 0.1f, 9));   // m
  host->push_back(random_floats(size_t(n), 0.0f, 0.01f, 10));  // v
  std::vector<std::shared_ptr<float>> device;
  for (const auto& h : *host) {
    device.push_back(device_array<float>(size_t(n)));
    CUDA_CHECK(cudaMemcpy(device.back().get(), h.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  }
  AdamConfig cfg;
  BenchWork w;
  w.bytes = 7.0 * double(n) * sizeof(float);  // read p, g, m, v; write p, m, v
  w.run = [=] { adam_cuda(device[0].get(), device[1].get(), device[2].get(), device[3].get(), n, cfg, 10, nullptr); };
  w.check = [=]() -> std::string {
    std::vector<float> p = (*host)[0], m = (*host)[2], v = (*host)[3];
    adam_update_ref<float>(p.data(), (*host)[1].data(), m.data(), v.data(), n, cfg, 10);
    const std::vector<float> got = to_host(device[0].get(), size_t(n));
    for (int64_t i = 0; i < n; ++i) {
      if (!(std::fabs(got[i] - p[i]) <= 1e-5 * (std::fabs(p[i]) + 1e-3))) {  // as in tests/gpu/test_adam.cc
        return "param " + std::to_string(i) + ": " + std::to_string(got[i]) + " vs " + std::to_string(p[i]);
      }
    }
    return "";
  };
  return w;
}

BenchWork make_weight_decay(int64_t n) {
  auto grads = device_array<float>(size_t(n));
  auto params = device_array<float>(size_t(n));
  const std::vector<float> g = random_floats(size_t(n), -1.0f, 1.0f, 11), p = random_floats(size_t(n), -1.0f, 1.0f, 12);
  CUDA_CHECK(cudaMemcpy(grads.get(), g.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  CUDA_CHECK(cudaMemcpy(params.get(), p.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  BenchWork w;
  w.bytes = 3.0 * double(n) * sizeof(float);  // read grads and params, write grads
  w.run = [=] { add_weight_decay_cuda(grads.get(), params.get(), n, 5e-4f, nullptr); };
  w.check = [=]() -> std::string {  // after the first run: g + decay * p, one rounding (or two without FMA)
    const std::vector<float> got = to_host(grads.get(), size_t(n));
    for (int64_t i = 0; i < n; ++i) {
      const float want = g[i] + 5e-4f * p[i];
      if (!(std::fabs(got[i] - want) <= 2e-7f * (std::fabs(want) + 1e-3f))) {
        return "grad " + std::to_string(i) + ": " + std::to_string(got[i]) + " vs " + std::to_string(want);
      }
    }
    return "";
  };
  return w;
}

// The model's parameter count: conv1 3x3x3xC + C, conv2 3x3xCxC + C, logits CxK + K.
int64_t model_parameters(const KernelBenchOptions& o) {
  const int64_t c = o.channels, k = o.classes;
  return 27 * c + c + 9 * c * c + c + c * k + k;
}

}  // namespace

void register_engine_op_benchmarks() {
  static bool registered = false;
  if (registered) return;
  registered = true;
  add_benchmark({"resize images", "v1 pixel per thread",
                 [](const KernelBenchOptions& o) { return make_resize(o, false); }});
  add_benchmark({"resize targets", "v1 pixel per thread",
                 [](const KernelBenchOptions& o) { return make_resize(o, true); }});
  add_benchmark({"sigmoid_ce fwd+bwd", "v1 float4, 2-pass double sum", make_sigmoid_ce});
  add_benchmark({"adam (model params)", "v1 float4",
                 [](const KernelBenchOptions& o) { return make_adam(model_parameters(o)); }});
  add_benchmark({"adam [16M]", "v1 float4", [](const KernelBenchOptions&) { return make_adam(int64_t(1) << 24); }});
  add_benchmark({"weight_decay [16M]", "v1 float4",
                 [](const KernelBenchOptions&) { return make_weight_decay(int64_t(1) << 24); }});
}

}  // namespace fcn
