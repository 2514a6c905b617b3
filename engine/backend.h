// Backend: the one interface between the model/trainer and the hardware. The model calls these ops on
// buffers the backend allocated; it never includes CUDA headers and has no #ifdef for the backend.
// Two implementations: CpuBackend (engine/cpu_backend.cc, fast CPU path) and CudaBackend
// (engine/cuda/, our own kernels). make_backend() picks one at run time.
//
// Conventions: all pointers passed to ops are backend memory (host memory for the CPU backend, device
// memory for CUDA). Shapes are NHWC; conv weights HWIO [K, K, Cin, Cout]. Gradient ops ASSIGN their
// outputs (each step overwrites the whole gradient buffer, so no zeroing pass is needed).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/raw_batch.h"
#include "kernels/cpu/reference.h"

namespace fcn {

class Collectives;      // engine/dist/collectives.h
class GradientReducer;  // engine/dist/gradient_reducer.h

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;         // "cpu (2 threads)", "cuda (NVIDIA H200, sm_90)"
  virtual bool is_gpu() const = 0;

  // ---- memory: the engine allocates once per category, never inside a step ----
  virtual float* alloc(int64_t count) = 0;      // zero-filled
  virtual void release(float* ptr) = 0;
  virtual void upload(float* dst, const float* src, int64_t count) = 0;    // host -> backend
  virtual void download(float* dst, const float* src, int64_t count) = 0;  // backend -> host
  virtual void copy(float* dst, const float* src, int64_t count) = 0;      // backend -> backend
  virtual HostAllocator staging_allocator() = 0;  // pinned host memory on CUDA, malloc on CPU
  // Bytes alloc() can still provide (host memory on the CPU, free device memory on a GPU); -1 unknown.
  virtual int64_t memory_available() const { return -1; }

  // Tell the backend every conv shape and the largest batch it will see, so it can allocate its
  // workspaces (im2col buffers, partial sums) once.
  virtual void reserve(const std::vector<ConvShape>& convs, int max_batch, int size, int num_classes) = 0;

  // Kernel versions (engine/kernel_plan.h). set_kernel_plan takes "auto", "v1".."v4" or a plan text and
  // applies from the next reserve(), which resolves it for every conv shape ("auto": validate and time
  // every version on this device); kernel_plan() is the resolved plan text. The CPU backend has one
  // version per op: it ignores the request and returns "".
  virtual void set_kernel_plan(const std::string& text) { (void)text; }
  virtual std::string kernel_plan() const { return ""; }
  virtual std::string describe_kernel_plan() const { return ""; }  // one line for people, "" on the CPU

  // ---- input ----
  // x: [batch.count, size, size, 3] floats 0..255; targets: [batch.count, size, size, C] in [0, 1].
  virtual void prepare_batch(float* x, float* targets, const RawBatch& batch, int size,
                             const std::vector<int>& class_values, ResizeMapping mapping,
                             bool nearest_targets) = 0;

  // ---- ops ----
  // out = conv(in, weight) + bias, then ReLU when relu is true.
  virtual void conv2d_forward(float* out,           // [B, H, W, Cout]
                              const float* in,      // [B, H, W, Cin]
                              const float* weight,  // [K, K, Cin, Cout]
                              const float* bias,    // [Cout]
                              const ConvShape& s, bool relu) = 0;
  // din = conv's transpose applied to dout; when relu_out is given (the input was a ReLU output),
  // din is zeroed where relu_out <= 0: the ReLU backward fused into the epilogue.
  virtual void conv2d_backward_data(float* din,           // [B, H, W, Cin]
                                    const float* dout,    // [B, H, W, Cout]
                                    const float* weight,  // [K, K, Cin, Cout]
                                    const float* relu_out,  // [B, H, W, Cin] or null
                                    const ConvShape& s) = 0;
  // dweight = sum over pixels of in (x) dout; dbias = sum over pixels of dout. Deterministic order.
  virtual void conv2d_backward_filter(float* dweight,     // [K, K, Cin, Cout]
                                      float* dbias,       // [Cout]
                                      const float* dout,  // [B, H, W, Cout]
                                      const float* in,    // [B, H, W, Cin]
                                      const ConvShape& s) = 0;
  // Returns the summed sigmoid cross-entropy; writes dlogits = scale * (sigmoid(logits) - targets)
  // unless dlogits is null (evaluation).
  virtual double sigmoid_ce(float* dlogits,         // [n] or null
                            const float* logits,    // [n]
                            const float* targets,   // [n]
                            int64_t n, float scale) = 0;
  virtual EvalCounts eval_counts(const float* logits, const float* targets, int64_t n) = 0;
  // grads += decay * params (the L2 term's gradient)
  virtual void add_weight_decay(float* grads, const float* params, int64_t n, float decay) = 0;
  virtual void adam(float* params, const float* grads, float* m, float* v, int64_t n,
                    const AdamConfig& cfg, int64_t step) = 0;
  virtual void synchronize() = 0;

  // ---- data parallel (engine/dist) ----
  // What sums this backend's gradient buffers across the ranks of comm: by default a host-memory sum
  // through comm (in place on the CPU, staged through a host copy on a GPU); the CUDA backend uses NCCL
  // where the build has it. Defined in engine/dist/host_gradient_reducer.cc.
  virtual std::unique_ptr<GradientReducer> make_gradient_reducer(Collectives& comm);
};

struct BackendChoice {
  std::unique_ptr<Backend> backend;
  std::string note;  // one line for the user: why this backend (e.g. "no CUDA device: using the CPU")
};

// device: "auto", "cpu", "cuda" or "cuda-emu" (the CUDA backend on the emulated device; auto never picks
// it). threads: CPU threads (0 = all cores). Throws std::invalid_argument for an unknown device and
// std::runtime_error when "cuda" or "cuda-emu" is asked for but not usable.
BackendChoice make_backend(const std::string& device, int threads);

// What was compiled in and what was found, for `fcn info`.
struct BackendReport {
  bool cuda_compiled = false;
  int cuda_devices = 0;
  std::vector<std::string> device_names;
  std::string cuda_unusable_reason;  // empty when usable
  bool emulator_compiled = false;     // --device cuda-emu: the CUDA backend on the emulated device
  std::string emulator_device;        // its device name, or why it cannot start
};
BackendReport probe_backends();

}  // namespace fcn
