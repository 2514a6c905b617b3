// CpuBackend: the Backend interface (engine/backend.h) on the host. Convolutions run the fast CPU
// path (kernels/cpu/conv_fast.h); input preparation runs the reference resize per sample, in parallel
// over samples; the loss, evaluation counts, weight decay and Adam are simple OpenMP loops. Every
// reduction uses a fixed partition combined in a fixed order, so results do not depend on timing, and
// the loss sum and the convolution gradients do not depend on the thread count either.
#pragma once
#include <string>
#include <vector>

#include "engine/backend.h"
#include "kernels/cpu/conv_fast.h"

namespace fcn {

class CpuBackend : public Backend {
 public:
  // threads: OpenMP threads for every op (0 = all cores); also set as the OpenMP default.
  explicit CpuBackend(int threads = 0);

  std::string name() const override;
  bool is_gpu() const override { return false; }
  int threads() const { return threads_; }

  float* alloc(int64_t count) override;  // zero-filled, 64-byte aligned
  void release(float* ptr) override;
  void upload(float* dst, const float* src, int64_t count) override;
  void download(float* dst, const float* src, int64_t count) override;
  void copy(float* dst, const float* src, int64_t count) override;
  HostAllocator staging_allocator() override;
  int64_t memory_available() const override;  // host_memory_available() (engine/memory_budget.h)

  void reserve(const std::vector<ConvShape>& convs, int max_batch, int size, int num_classes) override;

  void prepare_batch(float* x,        // [batch.count, size, size, 3]
                     float* targets,  // [batch.count, size, size, C]
                     const RawBatch& batch, int size, const std::vector<int>& class_values,
                     ResizeMapping mapping, bool nearest_targets) override;

  void conv2d_forward(float* out, const float* in, const float* weight, const float* bias, const ConvShape& s,
                      bool relu) override;
  void conv2d_backward_data(float* din, const float* dout, const float* weight, const float* relu_out,
                            const ConvShape& s) override;
  void conv2d_backward_filter(float* dweight, float* dbias, const float* dout, const float* in,
                              const ConvShape& s) override;
  double sigmoid_ce(float* dlogits, const float* logits, const float* targets, int64_t n, float scale) override;
  EvalCounts eval_counts(const float* logits, const float* targets, int64_t n) override;
  void add_weight_decay(float* grads, const float* params, int64_t n, float decay) override;
  void adam(float* params, const float* grads, float* m, float* v, int64_t n, const AdamConfig& cfg,
            int64_t step) override;
  void synchronize() override {}

 private:
  // Grows the workspace for a shape that reserve() was not told about (allocates at most once per
  // new shape; after the first step nothing allocates).
  void ensure_workspace(const ConvShape& s);

  int threads_ = 1;
  ConvWorkspace workspace_;
};

}  // namespace fcn
