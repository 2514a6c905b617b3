// CpuBackend (see cpu_backend.h): the Backend ops on the host, threaded with OpenMP.
#include "engine/cpu_backend.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

#include "engine/memory_budget.h"

namespace fcn {
namespace {

// The loss sum is split into this many fixed blocks (fewer for small n), each summed in order in
// double and then added in block order: the same bits for any thread count.
constexpr int64_t kLossBlocks = 64;
constexpr int64_t kMinLossBlock = 4096;

int resolve_threads(int threads) { return threads > 0 ? threads : omp_get_num_procs(); }

}  // namespace

CpuBackend::CpuBackend(int threads) : threads_(resolve_threads(threads)), workspace_(threads_) {
  omp_set_num_threads(threads_);
}

std::string CpuBackend::name() const {
  return "cpu (" + std::to_string(threads_) + (threads_ == 1 ? " thread)" : " threads)");
}

float* CpuBackend::alloc(int64_t count) {
  if (count < 0) throw std::invalid_argument("CpuBackend::alloc: negative count\nHINT: check the tensor shape.");
  const size_t bytes = (size_t(std::max<int64_t>(count, 1)) * sizeof(float) + 63) / 64 * 64;
  float* p = static_cast<float*>(std::aligned_alloc(64, bytes));
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  return p;
}

void CpuBackend::release(float* ptr) { std::free(ptr); }

void CpuBackend::upload(float* dst, const float* src, int64_t count) {
  if (count > 0) std::memcpy(dst, src, size_t(count) * sizeof(float));
}

void CpuBackend::download(float* dst, const float* src, int64_t count) {
  if (count > 0) std::memcpy(dst, src, size_t(count) * sizeof(float));
}

void CpuBackend::copy(float* dst, const float* src, int64_t count) {
  if (count > 0 && dst != src) std::memmove(dst, src, size_t(count) * sizeof(float));
}

HostAllocator CpuBackend::staging_allocator() {
  HostAllocator allocator;
  allocator.allocate = [](size_t bytes) { return std::malloc(bytes > 0 ? bytes : 1); };
  allocator.release = [](void* p) { std::free(p); };
  return allocator;
}

int64_t CpuBackend::memory_available() const { return host_memory_available(); }

void CpuBackend::reserve(const std::vector<ConvShape>& convs, int max_batch, int size, int num_classes) {
  for (ConvShape s : convs) {
    if (max_batch > 0) s.batch = max_batch;
    if (size > 0) s.height = s.width = size;
    workspace_.reserve(s);
  }
}

void CpuBackend::ensure_workspace(const ConvShape& s) {
  if (!workspace_.fits(s)) workspace_.reserve(s);
}

void CpuBackend::prepare_batch(float* x, float* targets, const RawBatch& batch, int size,
                               const std::vector<int>& class_values, ResizeMapping mapping, bool nearest_targets) {
  if (size <= 0) {
    throw std::invalid_argument("prepare_batch: size must be positive, got " + std::to_string(size) +
                                "\nHINT: pass the training image size (e.g. --size 512).");
  }
  if (int(batch.info.size()) < batch.count) {
    throw std::invalid_argument("prepare_batch: batch.count is " + std::to_string(batch.count) + " but info holds " +
                                std::to_string(batch.info.size()) +
                                " samples\nHINT: the loader must fill one RawSampleInfo per sample.");
  }
  // Check every sample's extent before any thread starts, so bad input is an error, not a crash.
  for (int i = 0; i < batch.count; ++i) {
    const RawSampleInfo& info = batch.info[i];
    const size_t pixels = size_t(std::max(info.height, 0)) * size_t(std::max(info.width, 0));
    if (info.height <= 0 || info.width <= 0 || info.image_offset + pixels * 3 > batch.used_bytes ||
        info.label_offset + pixels > batch.used_bytes) {
      throw std::runtime_error("prepare_batch: sample " + std::to_string(i) + " (record " +
                               std::to_string(info.record_index) + ", id '" + info.id + "') of size " +
                               std::to_string(info.height) + "x" + std::to_string(info.width) +
                               " at image byte offset " + std::to_string(info.image_offset) +
                               " / label byte offset " + std::to_string(info.label_offset) +
                               " does not fit in the batch's " + std::to_string(batch.used_bytes) +
                               " bytes\nHINT: the staging buffer was packed inconsistently; rerun with a fresh "
                               "loader and report the record.");
    }
  }
  const int num_classes = int(class_values.size());
  const int64_t image_floats = int64_t(size) * size * 3;
  const int64_t target_floats = int64_t(size) * size * num_classes;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads_)
  for (int i = 0; i < batch.count; ++i) {
    const RawSampleInfo& info = batch.info[i];
    resize_image_ref(x + i * image_floats, batch.bytes + info.image_offset, info.height, info.width, size, mapping);
    resize_targets_ref(targets + i * target_floats, batch.bytes + info.label_offset, info.height, info.width, size,
                       class_values.data(), num_classes, mapping, nearest_targets);
  }
}

void CpuBackend::conv2d_forward(float* out, const float* in, const float* weight, const float* bias,
                                const ConvShape& s, bool relu) {
  ensure_workspace(s);
  conv2d_forward_fast(out, in, weight, bias, s, relu, workspace_);
}

void CpuBackend::conv2d_backward_data(float* din, const float* dout, const float* weight, const float* relu_out,
                                      const ConvShape& s) {
  ensure_workspace(s);
  conv2d_backward_data_fast(din, dout, weight, relu_out, s, workspace_);
}

void CpuBackend::conv2d_backward_filter(float* dweight, float* dbias, const float* dout, const float* in,
                                        const ConvShape& s) {
  ensure_workspace(s);
  conv2d_backward_filter_fast(dweight, dbias, dout, in, s, workspace_);
}

double CpuBackend::sigmoid_ce(float* dlogits, const float* logits, const float* targets, int64_t n, float scale) {
  if (n <= 0) return 0.0;
  const int64_t blocks = std::clamp<int64_t>(n / kMinLossBlock, 1, kLossBlocks);
  double block_sums[kLossBlocks] = {};
#pragma omp parallel for schedule(static) num_threads(threads_)
  for (int64_t block = 0; block < blocks; ++block) {
    const int64_t begin = n * block / blocks, end = n * (block + 1) / blocks;
    double sum = 0.0;
    for (int64_t i = begin; i < end; ++i) sum += double(sigmoid_cross_entropy<float>(logits[i], targets[i]));
    if (dlogits) {
      for (int64_t i = begin; i < end; ++i) dlogits[i] = scale * sigmoid_cross_entropy_grad<float>(logits[i], targets[i]);
    }
    block_sums[block] = sum;
  }
  double total = 0.0;
  for (int64_t block = 0; block < blocks; ++block) total += block_sums[block];
  return total;
}

EvalCounts CpuBackend::eval_counts(const float* logits, const float* targets, int64_t n) {
  int64_t tp = 0, fp = 0, fn = 0, tn = 0;
#pragma omp parallel for schedule(static) reduction(+ : tp, fp, fn, tn) num_threads(threads_)
  for (int64_t i = 0; i < n; ++i) {
    const bool predicted = logits[i] > 0.0f;
    const bool truth = targets[i] >= 0.5f;
    tp += predicted && truth;
    fp += predicted && !truth;
    fn += !predicted && truth;
    tn += !predicted && !truth;
  }
  EvalCounts counts;
  counts.true_positive = tp;
  counts.false_positive = fp;
  counts.false_negative = fn;
  counts.true_negative = tn;
  return counts;
}

void CpuBackend::add_weight_decay(float* grads, const float* params, int64_t n, float decay) {
#pragma omp parallel for simd schedule(static) num_threads(threads_)
  for (int64_t i = 0; i < n; ++i) grads[i] += decay * params[i];
}

void CpuBackend::adam(float* params, const float* grads, float* m, float* v, int64_t n, const AdamConfig& cfg,
                      int64_t step) {
  // Same formulation and rounding as adam_update_ref<float>.
  const double b1_power = std::pow(double(cfg.beta1), double(step));
  const double b2_power = std::pow(double(cfg.beta2), double(step));
  const float lr_t = float(double(cfg.lr) * std::sqrt(1.0 - b2_power) / (1.0 - b1_power));
  const float one_minus_b1 = 1.0f - cfg.beta1, one_minus_b2 = 1.0f - cfg.beta2, eps = cfg.eps;
#pragma omp parallel for simd schedule(static) num_threads(threads_)
  for (int64_t i = 0; i < n; ++i) {
    const float g = grads[i];
    const float m_new = m[i] + (g - m[i]) * one_minus_b1;
    const float v_new = v[i] + (g * g - v[i]) * one_minus_b2;
    m[i] = m_new;
    v[i] = v_new;
    params[i] -= lr_t * m_new / (std::sqrt(v_new) + eps);
  }
}

}  // namespace fcn
