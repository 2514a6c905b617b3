// [gpu] CudaBackend (engine/cuda/cuda_backend.cu) through the Backend interface, against the CPU
// references: memory ops, prepare_batch on packed batches of odd-sized images (double-buffered staging,
// slot growth, and the promise that the RawBatch buffer may be reused as soon as prepare_batch returns),
// the loss, eval counts, Adam, weight decay, the three conv directions, and a model's parameters and
// Adam moments through a checkpoint.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "engine/backend.h"
#include "engine/checkpoint.h"
#include "engine/cpu_backend.h"
#include "engine/cuda/cuda_backend.h"
#include "engine/model.h"
#include "kernels/cpu/reference.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/io_test_util.h"

namespace fcn {
namespace {

std::vector<float> download(Backend& backend, const float* device, int64_t count) {
  std::vector<float> host(static_cast<size_t>(count));
  backend.download(host.data(), device, count);
  return host;
}

// A RawBatch in backend staging memory (pinned), samples packed back to back with odd offsets.
struct OwnedBatch {
  HostAllocator allocator;
  RawBatch batch;
  std::vector<uint8_t> original;  // a copy of the packed bytes, for the references
  ~OwnedBatch() {
    if (batch.bytes != nullptr) allocator.release(batch.bytes);
  }
};

void fill_batch(OwnedBatch& owned, Backend& backend, const std::vector<std::pair<int, int>>& sizes, uint64_t seed) {
  const uint8_t label_values[] = {0, 1, 2, 7};
  std::vector<uint8_t> packed;
  owned.batch.info.clear();
  for (size_t i = 0; i < sizes.size(); ++i) {
    RawSampleInfo info;
    info.height = sizes[i].first;
    info.width = sizes[i].second;
    info.record_index = int64_t(i);
    info.id = "sample" + std::to_string(i);
    info.image_offset = packed.size();
    const auto image = test::random_bytes(size_t(info.height) * info.width * 3, 0, 255, seed + 2 * i);
    packed.insert(packed.end(), image.begin(), image.end());
    info.label_offset = packed.size();
    for (uint8_t p : test::random_bytes(size_t(info.height) * info.width, 0, 3, seed + 2 * i + 1)) {
      packed.push_back(label_values[p]);
    }
    owned.batch.info.push_back(info);
  }
  owned.allocator = backend.staging_allocator();
  owned.batch.bytes = static_cast<uint8_t*>(owned.allocator.allocate(packed.size()));
  std::memcpy(owned.batch.bytes, packed.data(), packed.size());
  owned.batch.count = static_cast<int>(sizes.size());
  owned.batch.used_bytes = packed.size();
  owned.batch.capacity_bytes = packed.size();
  owned.original = packed;
}

// x and targets after prepare_batch(owned.batch) against resize_image_ref / resize_targets_ref, sample by
// sample. Tolerances as in test_resize.cc: test::bilinear_tolerance (FMA contraction may move a source
// coordinate by 1 ulp per axis), nearest targets exact.
void check_prepared(Backend& backend, const float* x, const float* targets, const OwnedBatch& owned, int size,
                    const std::vector<int>& class_values, ResizeMapping mapping, bool nearest) {
  const int num_classes = static_cast<int>(class_values.size());
  const int count = owned.batch.count;
  const std::vector<float> got_x = download(backend, x, int64_t(count) * size * size * 3);
  const std::vector<float> got_t = download(backend, targets, int64_t(count) * size * size * num_classes);
  for (int b = 0; b < count; ++b) {
    const RawSampleInfo& s = owned.batch.info[b];
    std::vector<float> want_x(size_t(size) * size * 3), want_t(size_t(size) * size * num_classes);
    resize_image_ref(want_x.data(), owned.original.data() + s.image_offset, s.height, s.width, size, mapping);
    resize_targets_ref(want_t.data(), owned.original.data() + s.label_offset, s.height, s.width, size,
                       class_values.data(), num_classes, mapping, nearest);
    const std::vector<float> gx(got_x.begin() + b * want_x.size(), got_x.begin() + (b + 1) * want_x.size());
    const std::vector<float> gt(got_t.begin() + b * want_t.size(), got_t.begin() + (b + 1) * want_t.size());
    INFO("sample " << b << " " << s.height << "x" << s.width << " mapping " << int(mapping) << " nearest "
                   << nearest);
    CHECK(test::max_abs_diff(gx, want_x) <= test::bilinear_tolerance(s.height, s.width, 255.0));
    CHECK(test::max_abs_diff(gt, want_t) <= (nearest ? 0.0 : test::bilinear_tolerance(s.height, s.width, 1.0)));
  }
}

// A model's device buffers from / against a checkpoint state.
void load_state(Model& model, const CheckpointState& state) {
  model.set_params(state.params);
  model.set_adam_moments(state.adam_m, state.adam_v);
  model.set_step(state.step);
}

void check_state(const Model& model, const CheckpointState& state) {
  CHECK(model.get_params() == state.params);  // host <-> device copies are exact
  CHECK(model.get_adam_m() == state.adam_m);
  CHECK(model.get_adam_v() == state.adam_v);
  CHECK(model.step() == state.step);
}

}  // namespace

TEST_CASE("CudaBackend memory ops: zero-filled alloc, upload, download, copy", "[gpu][backend]") {
  auto backend = test::cuda_backend();
  CHECK(backend->is_gpu());
  CHECK(backend->name().rfind("cuda (", 0) == 0);
  const int64_t n = 10007;
  float* a = backend->alloc(n);
  float* b = backend->alloc(n);
  CHECK(test::max_abs_diff(download(*backend, a, n), std::vector<float>(size_t(n), 0.0f)) == 0.0);
  const std::vector<float> values = test::random_floats(size_t(n), -5.0f, 5.0f, 3);
  backend->upload(a, values.data(), n);
  backend->copy(b, a, n);
  CHECK(download(*backend, b, n) == values);
  backend->release(a);
  backend->release(b);
  CHECK(backend->alloc(0) == nullptr);
  backend->release(nullptr);
}

TEST_CASE("CudaBackend::prepare_batch matches the references over consecutive batches", "[gpu][backend]") {
  auto backend = test::cuda_backend();
  const int size = 21;
  const std::vector<int> class_values = {1, 7};
  const int num_classes = 2;
  backend->reserve({}, 4, size, num_classes);
  float* x = backend->alloc(int64_t(4) * size * size * 3);
  float* targets = backend->alloc(int64_t(4) * size * size * num_classes);

  // Three batches: slot 0, slot 1, then slot 0 again with a batch larger than the 1 MB a slot starts
  // with (600 x 500 x 4 bytes = 1.2 MB), so the slot must grow; the second mapping grows slot 1.
  const std::vector<std::vector<std::pair<int, int>>> batches = {
      {{9, 14}, {21, 21}, {3, 50}}, {{1, 1}, {33, 17}}, {{97, 83}, {600, 500}, {5, 5}, {64, 2}}};
  int round = 0;
  for (ResizeMapping mapping : {ResizeMapping::kLegacy, ResizeMapping::kHalfPixel}) {
    for (const auto& sizes : batches) {
      const bool nearest = (round++ % 2) == 1;
      OwnedBatch owned;
      fill_batch(owned, *backend, sizes, 500 + round);
      backend->prepare_batch(x, targets, owned.batch, size, class_values, mapping, nearest);
      // The contract: the caller may reuse the RawBatch buffer right away.
      std::memset(owned.batch.bytes, 0xAB, owned.batch.used_bytes);
      // 0.024 for the 600 x 500 image, whose source coordinates reach 600.
      check_prepared(*backend, x, targets, owned, size, class_values, mapping, nearest);
    }
  }
  backend->release(x);
  backend->release(targets);
}

TEST_CASE("CudaBackend::prepare_batch keeps queued batches apart while the compute stream is busy",
          "[gpu][backend]") {
  auto backend = test::cuda_backend();
  const int size = 17;
  const std::vector<int> class_values = {1, 7};
  const int num_classes = 2;
  // Small batches (no slot grows, so nothing synchronizes on the way): batch 2 reuses batch 0's staging
  // slot, and its copy must wait until batch 0's resize has read the slot.
  const std::vector<std::vector<std::pair<int, int>>> sizes = {{{9, 14}, {21, 21}}, {{30, 12}}, {{13, 13}, {40, 7}}};
  const int count = static_cast<int>(sizes.size());
  OwnedBatch owned[3];
  float* x[3];
  float* targets[3];
  for (int i = 0; i < count; ++i) {
    fill_batch(owned[i], *backend, sizes[i], 900 + 10 * i);
    x[i] = backend->alloc(int64_t(owned[i].batch.count) * size * size * 3);
    targets[i] = backend->alloc(int64_t(owned[i].batch.count) * size * size * num_classes);
  }
  // Forward convolutions queued first keep the compute stream busy for milliseconds, so all three resizes
  // are still waiting when the copies are issued (~10 us each): a copy that did not wait for the slot's
  // "consumed" event would overwrite batch 0's bytes before its resize ran.
#if defined(FCN_CUDA_EMULATION)
  // The emulated device checks the ordering itself (every access against the last conflicting one on
  // another stream), and its streams start each operation after a random delay: a small layer will do.
  const ConvShape busy{1, 16, 16, 8, 8, 3};
#else
  const ConvShape busy{8, 256, 256, 64, 64, 3};
#endif
  float* busy_in = backend->alloc(busy.in_size());
  float* busy_out = backend->alloc(busy.out_size());
  float* busy_weight = backend->alloc(busy.weight_size());
  float* busy_bias = backend->alloc(busy.out_channels);
  backend->synchronize();
  for (int repeat = 0; repeat < 4; ++repeat) {
    backend->conv2d_forward(busy_out, busy_in, busy_weight, busy_bias, busy, true);
  }
  const ResizeMapping mappings[3] = {ResizeMapping::kLegacy, ResizeMapping::kHalfPixel, ResizeMapping::kLegacy};
  for (int i = 0; i < count; ++i) {
    backend->prepare_batch(x[i], targets[i], owned[i].batch, size, class_values, mappings[i], false);
    std::memset(owned[i].batch.bytes, 0xAB, owned[i].batch.used_bytes);  // the caller may reuse it at once
  }
  for (int i = 0; i < count; ++i) {
    INFO("batch " << i);
    check_prepared(*backend, x[i], targets[i], owned[i], size, class_values, mappings[i], false);
    backend->release(x[i]);
    backend->release(targets[i]);
  }
  for (float* p : {busy_in, busy_out, busy_weight, busy_bias}) backend->release(p);
}

TEST_CASE("CudaBackend::prepare_batch rejects a sample outside the batch bytes", "[gpu][backend]") {
  auto backend = test::cuda_backend();
  OwnedBatch owned;
  fill_batch(owned, *backend, {{4, 4}, {5, 5}}, 9);
  owned.batch.info[1].label_offset = owned.batch.used_bytes - 3;  // 25 label bytes cannot fit in 3
  float* x = backend->alloc(2 * 8 * 8 * 3);
  float* t = backend->alloc(2 * 8 * 8);
  CHECK_THROWS_WITH(backend->prepare_batch(x, t, owned.batch, 8, {1}, ResizeMapping::kLegacy, false),
                    Catch::Contains("sample 1") && Catch::Contains("HINT"));
  backend->release(x);
  backend->release(t);
}

TEST_CASE("CudaBackend loss, eval counts, weight decay and Adam match the references", "[gpu][backend]") {
  auto backend = test::cuda_backend();
  const int64_t n = 77777;
  std::vector<float> logits = test::random_floats(size_t(n), -12.0f, 12.0f, 41);
  const std::vector<float> targets = test::random_floats(size_t(n), 0.0f, 1.0f, 42);
  logits[5] = 1e4f;
  logits[6] = -1e4f;
  float* d_logits = backend->alloc(n);
  float* d_targets = backend->alloc(n);
  float* d_grad = backend->alloc(n);
  backend->upload(d_logits, logits.data(), n);
  backend->upload(d_targets, targets.data(), n);

  const float scale = 1.0f / float(n);
  const double loss = backend->sigmoid_ce(d_grad, d_logits, d_targets, n, scale);
  const double want = sigmoid_ce_loss_ref<float>(logits.data(), targets.data(), n);
  CHECK(std::fabs(loss - want) <= 1e-5 * want);  // terms are >= 0, so want = sum |terms|
  std::vector<float> want_grad(static_cast<size_t>(n));
  sigmoid_ce_backward_ref<float>(want_grad.data(), logits.data(), targets.data(), n, scale);
  CHECK(test::max_abs_diff(download(*backend, d_grad, n), want_grad) <= 1e-6 * scale);
  CHECK(backend->sigmoid_ce(nullptr, d_logits, d_targets, n, scale) == loss);  // same reduction order

  const EvalCounts counts = backend->eval_counts(d_logits, d_targets, n);
  const EvalCounts want_counts = eval_counts_ref(logits.data(), targets.data(), n);
  CHECK(counts.true_positive == want_counts.true_positive);
  CHECK(counts.false_positive == want_counts.false_positive);
  CHECK(counts.false_negative == want_counts.false_negative);
  CHECK(counts.true_negative == want_counts.true_negative);

  // Weight decay then three Adam steps, with the logits standing in for parameters.
  std::vector<float> params = logits, grads = want_grad;
  std::vector<float> m(size_t(n), 0.0f), v(size_t(n), 0.0f);
  float* d_m = backend->alloc(n);
  float* d_v = backend->alloc(n);
  backend->add_weight_decay(d_grad, d_logits, n, 5e-4f);
  for (int64_t i = 0; i < n; ++i) grads[i] += 5e-4f * params[i];
  AdamConfig cfg;
  for (int64_t step = 1; step <= 3; ++step) {
    backend->adam(d_logits, d_grad, d_m, d_v, n, cfg, step);
    adam_update_ref<float>(params.data(), grads.data(), m.data(), v.data(), n, cfg, step);
  }
  backend->synchronize();
  // As in test_adam.cc: relative 1e-5 with a floor at the values' scale (params up to 1e4 here).
  CHECK(test::max_rel_diff(download(*backend, d_logits, n), params, 1e-3) <= 1e-5);
  CHECK(test::max_rel_diff(download(*backend, d_m, n), m, 1e-6) <= 1e-5);
  for (float* p : {d_logits, d_targets, d_grad, d_m, d_v}) backend->release(p);
}

TEST_CASE("CudaBackend: a model's parameters and Adam moments round-trip through a checkpoint",
          "[gpu][backend]") {
  auto backend = test::cuda_backend();
  const ModelConfig config;  // the seed's network: 3 -> 2 x conv3x3(64) -> conv1x1(1)
  const int64_t n = parameter_count(config);
  CheckpointState state;
  state.settings.model = config;
  state.settings.class_values = {1};
  state.settings.class_names = {"Model 3"};
  state.step = 7;
  glorot_init(state.params, config, 5);
  state.adam_m = test::random_floats(size_t(n), -1e-3f, 1e-3f, 6);
  state.adam_v = test::random_floats(size_t(n), 1e-8f, 1e-6f, 7);  // sqrt(v) >= 1e-4: steps stay small

  Model model(*backend, config, 1, 8);
  load_state(model, state);
  check_state(model, state);
  CHECK(model.get_grads() == std::vector<float>(size_t(n), 0.0f));  // alloc zero-fills

  // Saved as the trainer saves (from the device), loaded into a fresh model.
  test::TempDir dir("cuda_checkpoint");
  CheckpointState saved = state;
  saved.params = model.get_params();
  saved.adam_m = model.get_adam_m();
  saved.adam_v = model.get_adam_v();
  save_checkpoint(dir.file("step7.safetensors"), saved);
  const CheckpointState loaded = load_checkpoint(dir.file("step7.safetensors"));
  Model restored(*backend, config, 1, 8);
  load_state(restored, loaded);
  check_state(restored, state);

  // Resuming continues bit for bit: one Adam step (step 8, zero gradients) on each model.
  const AdamConfig adam;
  model.adam_step(adam);
  restored.adam_step(adam);
  CHECK(restored.step() == 8);
  CHECK(restored.get_params() == model.get_params());
  CHECK(restored.get_adam_m() == model.get_adam_m());
  CHECK(restored.get_adam_v() == model.get_adam_v());
  // ... and that step is TF1's step 8 (tolerance as in test_adam.cc).
  std::vector<float> params = state.params, m = state.adam_m, v = state.adam_v;
  const std::vector<float> zero(size_t(n), 0.0f);
  adam_update_ref<float>(params.data(), zero.data(), m.data(), v.data(), n, adam, 8);
  CHECK(test::max_rel_diff(model.get_params(), params, 1e-3) <= 1e-5);
  CHECK(test::max_rel_diff(model.get_adam_m(), m, 1e-4) <= 1e-5);
}

TEST_CASE("CudaBackend conv ops match the references", "[gpu][backend]") {
  auto backend = test::cuda_backend();
  for (const ConvShape& s : {ConvShape{2, 9, 11, 3, 5, 3}, ConvShape{1, 7, 6, 6, 4, 1}}) {
    backend->reserve({s}, s.batch, s.height, 1);
    const auto in = test::random_floats(size_t(s.in_size()), -1.0f, 1.0f, 61);
    const auto weight = test::random_floats(size_t(s.weight_size()), -0.5f, 0.5f, 62);
    const auto bias = test::random_floats(size_t(s.out_channels), -0.5f, 0.5f, 63);
    const auto dout = test::random_floats(size_t(s.out_size()), -1.0f, 1.0f, 64);
    auto relu_out = test::random_floats(size_t(s.in_size()), -1.0f, 1.0f, 65);
    float* d_in = backend->alloc(s.in_size());
    float* d_weight = backend->alloc(s.weight_size());
    float* d_bias = backend->alloc(s.out_channels);
    float* d_dout = backend->alloc(s.out_size());
    float* d_relu_out = backend->alloc(s.in_size());
    float* d_out = backend->alloc(s.out_size());
    float* d_din = backend->alloc(s.in_size());
    float* d_dweight = backend->alloc(s.weight_size());
    float* d_dbias = backend->alloc(s.out_channels);
    backend->upload(d_in, in.data(), s.in_size());
    backend->upload(d_weight, weight.data(), s.weight_size());
    backend->upload(d_bias, bias.data(), s.out_channels);
    backend->upload(d_dout, dout.data(), s.out_size());
    backend->upload(d_relu_out, relu_out.data(), s.in_size());

    // Errors are judged against the output's largest magnitude: sums of at most 9 * 6 products of
    // values below 1 in fp32 round to ~1e-6 of that; 1e-5 leaves margin for any summation order.
    std::vector<float> want_out(size_t(s.out_size()));
    conv2d_forward_ref<float>(want_out.data(), in.data(), weight.data(), bias.data(), s);
    for (float& o : want_out) o = o > 0.0f ? o : 0.0f;
    backend->conv2d_forward(d_out, d_in, d_weight, d_bias, s, true);
    CHECK(test::max_rel_diff(download(*backend, d_out, s.out_size()), want_out, 1.0) <= 1e-5);

    std::vector<float> want_din(size_t(s.in_size()), 0.0f);
    conv2d_backward_data_ref<float>(want_din.data(), dout.data(), weight.data(), s);
    for (size_t i = 0; i < want_din.size(); ++i) want_din[i] = relu_out[i] > 0.0f ? want_din[i] : 0.0f;
    backend->conv2d_backward_data(d_din, d_dout, d_weight, d_relu_out, s);
    CHECK(test::max_rel_diff(download(*backend, d_din, s.in_size()), want_din, 1.0) <= 1e-5);

    std::vector<float> want_dweight(size_t(s.weight_size()), 0.0f), want_dbias(size_t(s.out_channels), 0.0f);
    conv2d_backward_filter_ref<float>(want_dweight.data(), want_dbias.data(), dout.data(), in.data(), s);
    backend->conv2d_backward_filter(d_dweight, d_dbias, d_dout, d_in, s);
    // Sums over up to 198 pixels: scale the floor accordingly.
    CHECK(test::max_rel_diff(download(*backend, d_dweight, s.weight_size()), want_dweight, 10.0) <= 1e-5);
    CHECK(test::max_rel_diff(download(*backend, d_dbias, s.out_channels), want_dbias, 10.0) <= 1e-5);
    for (float* p : {d_in, d_weight, d_bias, d_dout, d_relu_out, d_out, d_din, d_dweight, d_dbias}) {
      backend->release(p);
    }
  }
}

}  // namespace fcn

namespace fcn {

TEST_CASE("CudaBackend agrees with CpuBackend on prepare_batch and the loss", "[gpu][backend]") {
  auto gpu = test::cuda_backend();
  CpuBackend cpu(0);
  const int size = 33;
  const std::vector<int> class_values = {2, 7};
  const std::vector<std::pair<int, int>> sizes = {{50, 31}, {17, 64}, {33, 33}};
  const int64_t nx = int64_t(sizes.size()) * size * size * 3;
  const int64_t nt = int64_t(sizes.size()) * size * size * 2;
  OwnedBatch owned;
  fill_batch(owned, *gpu, sizes, 77);
  float* gx = gpu->alloc(nx);
  float* gt = gpu->alloc(nt);
  std::vector<float> cx(size_t(nx), 0.0f), ct(size_t(nt), 0.0f);
  for (ResizeMapping mapping : {ResizeMapping::kLegacy, ResizeMapping::kHalfPixel}) {
    gpu->prepare_batch(gx, gt, owned.batch, size, class_values, mapping, false);
    cpu.prepare_batch(cx.data(), ct.data(), owned.batch, size, class_values, mapping, false);
    CHECK(test::max_abs_diff(download(*gpu, gx, nx), cx) <= 4e-3);  // as in test_resize.cc
    CHECK(test::max_abs_diff(download(*gpu, gt, nt), ct) <= 3e-5);
  }
  // The loss, with the CPU's targets on both sides (so only the loss kernels differ) and logits made from
  // them.
  gpu->upload(gt, ct.data(), nt);
  std::vector<float> logits(static_cast<size_t>(nt));
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = 8.0f * (ct[i] - 0.5f) + float(i % 13) - 6.0f;
  float* glogits = gpu->alloc(nt);
  float* ggrad = gpu->alloc(nt);
  gpu->upload(glogits, logits.data(), nt);
  std::vector<float> cgrad(static_cast<size_t>(nt));
  const double gpu_loss = gpu->sigmoid_ce(ggrad, glogits, gt, nt, 1.0f);
  const double cpu_loss = cpu.sigmoid_ce(cgrad.data(), logits.data(), ct.data(), nt, 1.0f);
  CHECK(std::fabs(gpu_loss - cpu_loss) <= 1e-5 * cpu_loss);  // terms >= 0: cpu_loss = sum |terms|
  CHECK(test::max_abs_diff(download(*gpu, ggrad, nt), cgrad) <= 1e-6);  // sigmoid to a few ulp of 1
  for (float* p : {gx, gt, glogits, ggrad}) gpu->release(p);
}

}  // namespace fcn
