// CudaBackend: engine/backend.h on one CUDA device, with this project's own kernels (kernels/cuda/).
//
// Streams: every op is queued on one compute stream; host-to-device batch copies go on a copy stream so
// that batch i+1's copy overlaps the tail of step i (its backward pass and Adam are still queued when the
// trainer asks for the next batch). Ops that return a value to the host (sigmoid_ce, eval_counts,
// download, upload) synchronize the compute stream.
//
// prepare_batch, the input path:
//   1. the RawBatch's used bytes and a small metadata block (per-sample height, width and offsets, then
//      the class values) go to one of two device staging slots with cudaMemcpyAsync on the copy stream,
//      after that slot's previous resize (two batches back) has finished reading it (event "consumed");
//   2. an event "copied" is recorded; the compute stream waits on it and runs the two resize kernels,
//      then records "consumed";
//   3. before returning, the host waits for "copied". So the RawBatch buffer (owned by the loader's
//      ring, valid only until its next call) and the pinned metadata block may be reused as soon as
//      prepare_batch returns; the wait costs the copy time only (~0.1 ms for 6 MB on PCIe Gen5), not
//      the queued compute.
// Device staging slots are sized on first use (raw image sizes are not known before the first batch)
// and grow only when a larger batch arrives; everything else is allocated in the constructor or in
// reserve(), so a steady-state step allocates nothing.
//
// Convolution versions: reserve() resolves the kernel plan (engine/kernel_plan.h) for every conv shape:
// with "auto", engine/cuda/conv_tuner.cu validates each version on this device and times the valid ones;
// the ops then look their version up by (kernel, in channels, out channels).
#include "engine/cuda/cuda_backend.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/cuda/conv_tuner.h"
#include "engine/cuda/local_device.h"
#include "engine/kernel_plan.h"
#include "kernels/cuda/adam.cuh"
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/conv2d.cuh"
#include "kernels/cuda/eval_counts.cuh"
#include "kernels/cuda/resize.cuh"
#include "kernels/cuda/sigmoid_ce.cuh"
// NCCL exists for real devices only: the emulated build (FCN_CUDA_EMULATION) keeps the host reducer.
#if defined(FCN_HAVE_NCCL) && !defined(FCN_CUDA_EMULATION)
#include "engine/cuda/nccl_reducer.h"
#include "engine/dist/collectives.h"
#define FCN_CUDA_BACKEND_NCCL 1
#endif

namespace fcn {
namespace {

#define FCN_STRINGIFY_INNER(...) #__VA_ARGS__
#define FCN_STRINGIFY(...) FCN_STRINGIFY_INNER(__VA_ARGS__)
#ifdef __CUDA_ARCH_LIST__
constexpr const char* kBuiltArchitectures = FCN_STRINGIFY(__CUDA_ARCH_LIST__);  // e.g. "900" or "800,900"
#else
constexpr const char* kBuiltArchitectures = "unknown";
#endif

// A kernel whose attributes tell whether this build has code the device can run.
__global__ void probe_kernel() {}

size_t align_up(size_t value, size_t alignment) { return (value + alignment - 1) / alignment * alignment; }

std::string format_gib(size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f GiB", double(bytes) / (1024.0 * 1024.0 * 1024.0));
  return text;
}

std::string version_text(int version) {  // 13000 -> "13.0"
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

// A staging slot: device copy of one RawBatch plus its metadata block.
struct StagingSlot {
  uint8_t* device_bytes = nullptr;
  size_t capacity = 0;
  cudaEvent_t copied = nullptr;    // the copy stream finished writing this slot
  cudaEvent_t consumed = nullptr;  // the compute stream finished reading this slot
};

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device) : device_(device) {
    try {
      create_resources();
    } catch (...) {
      release_resources();  // a destructor does not run after a throwing constructor
      throw;
    }
  }

  ~CudaBackend() override { release_resources(); }

  std::string name() const override { return name_; }
  bool is_gpu() const override { return true; }

  // ---- memory ----
  float* alloc(int64_t count) override {
    if (count <= 0) return nullptr;
    float* ptr = nullptr;
    const size_t bytes = size_t(count) * sizeof(float);
    CUDA_CHECK(cudaMalloc(&ptr, bytes));
    CUDA_CHECK(cudaMemsetAsync(ptr, 0, bytes, compute_));
    return ptr;
  }

  void release(float* ptr) override {
    if (ptr == nullptr) return;
    CUDA_CHECK(cudaStreamSynchronize(compute_));
    CUDA_CHECK(cudaFree(ptr));
  }

  void upload(float* dst, const float* src, int64_t count) override {
    if (count <= 0) return;
    CUDA_CHECK(cudaMemcpyAsync(dst, src, size_t(count) * sizeof(float), cudaMemcpyHostToDevice, compute_));
    CUDA_CHECK(cudaStreamSynchronize(compute_));  // src is the caller's and may change after we return
  }

  void download(float* dst, const float* src, int64_t count) override {
    if (count <= 0) return;
    CUDA_CHECK(cudaMemcpyAsync(dst, src, size_t(count) * sizeof(float), cudaMemcpyDeviceToHost, compute_));
    CUDA_CHECK(cudaStreamSynchronize(compute_));
  }

  void copy(float* dst, const float* src, int64_t count) override {
    if (count <= 0) return;
    CUDA_CHECK(cudaMemcpyAsync(dst, src, size_t(count) * sizeof(float), cudaMemcpyDeviceToDevice, compute_));
  }

  int64_t memory_available() const override {
    size_t free_bytes = 0, total_bytes = 0;
    if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) return -1;
    return int64_t(free_bytes);
  }

  HostAllocator staging_allocator() override {
    // Pinned and portable (usable from the loader's worker threads whatever their current device).
    HostAllocator allocator;
    allocator.allocate = [](size_t bytes) -> void* {
      void* ptr = nullptr;
      CUDA_CHECK(cudaHostAlloc(&ptr, bytes == 0 ? 1 : bytes, cudaHostAllocPortable));
      return ptr;
    };
    allocator.release = [](void* ptr) {
      if (ptr != nullptr) cudaFreeHost(ptr);
    };
    return allocator;
  }

  void reserve(const std::vector<ConvShape>& convs, int max_batch, int /*size*/, int num_classes) override {
    size_t workspace = 0;
    for (const ConvShape& s : convs) {
      resolve_plan(s);
      workspace = std::max(workspace, conv2d_backward_filter_workspace_bytes(s, algo_for(s, 2)));
    }
    ensure_filter_workspace(workspace);
    ensure_host_meta(meta_bytes(std::max(max_batch, 1), std::max(num_classes, 1)));
  }

  void set_kernel_plan(const std::string& text) override {
    request_ = parse_kernel_plan(text);
    plan_.clear();
    tuning_report_.clear();
  }
  std::string kernel_plan() const override { return format_kernel_plan(plan_); }
  std::string describe_kernel_plan() const override {
    const std::string plan = ::fcn::describe_kernel_plan(plan_);
    return tuning_report_.empty() ? plan : plan + "\n" + tuning_report_;
  }

  // ---- input ----
  void prepare_batch(float* x, float* targets, const RawBatch& batch, int size,
                     const std::vector<int>& class_values, ResizeMapping mapping,
                     bool nearest_targets) override {
    validate_batch(batch, size);
    if (batch.count == 0) return;
    const int num_classes = static_cast<int>(class_values.size());
    const size_t meta_offset = align_up(batch.used_bytes, 16);
    const size_t meta_size = meta_bytes(batch.count, num_classes);

    // Metadata block in pinned memory: [count] ResizeSampleInfo, then [C] int class values.
    ensure_host_meta(meta_size);
    auto* host_info = reinterpret_cast<ResizeSampleInfo*>(host_meta_);
    for (int b = 0; b < batch.count; ++b) {
      const RawSampleInfo& s = batch.info[b];
      host_info[b].height = s.height;
      host_info[b].width = s.width;
      host_info[b].image_offset = s.image_offset;
      host_info[b].label_offset = s.label_offset;
    }
    if (num_classes > 0) {
      std::memcpy(host_meta_ + class_values_offset(batch.count), class_values.data(),
                  sizeof(int) * class_values.size());
    }

    StagingSlot& slot = slots_[next_slot_];
    next_slot_ ^= 1;
    ensure_slot_capacity(slot, meta_offset + meta_size);

    // Copy stream: wait until the resize two batches back stopped reading this slot, then copy.
    CUDA_CHECK(cudaStreamWaitEvent(copy_, slot.consumed, 0));
    if (batch.used_bytes > 0) {
      CUDA_CHECK(cudaMemcpyAsync(slot.device_bytes, batch.bytes, batch.used_bytes, cudaMemcpyHostToDevice, copy_));
    }
    CUDA_CHECK(cudaMemcpyAsync(slot.device_bytes + meta_offset, host_meta_, meta_size, cudaMemcpyHostToDevice,
                               copy_));
    CUDA_CHECK(cudaEventRecord(slot.copied, copy_));

    // Compute stream: resize once the copy landed.
    CUDA_CHECK(cudaStreamWaitEvent(compute_, slot.copied, 0));
    const auto* device_info = reinterpret_cast<const ResizeSampleInfo*>(slot.device_bytes + meta_offset);
    const auto* device_classes =
        reinterpret_cast<const int*>(slot.device_bytes + meta_offset + class_values_offset(batch.count));
    resize_images_cuda(x, slot.device_bytes, device_info, batch.count, size, mapping, compute_);
    resize_targets_cuda(targets, slot.device_bytes, device_info, device_classes, num_classes, batch.count, size,
                        mapping, nearest_targets, compute_);
    CUDA_CHECK(cudaEventRecord(slot.consumed, compute_));

    // The caller's RawBatch buffer and our pinned metadata may be reused once the copy is done.
    CUDA_CHECK(cudaEventSynchronize(slot.copied));
  }

  // ---- ops ----
  void conv2d_forward(float* out, const float* in, const float* weight, const float* bias, const ConvShape& s,
                      bool relu) override {
    conv2d_forward_cuda(out, in, weight, bias, s, relu, algo_for(s, 0), compute_);
  }

  void conv2d_backward_data(float* din, const float* dout, const float* weight, const float* relu_out,
                            const ConvShape& s) override {
    conv2d_backward_data_cuda(din, dout, weight, relu_out, s, algo_for(s, 1), compute_);
  }

  void conv2d_backward_filter(float* dweight, float* dbias, const float* dout, const float* in,
                              const ConvShape& s) override {
    const ConvAlgo algo = algo_for(s, 2);
    const size_t needed = conv2d_backward_filter_workspace_bytes(s, algo);
    if (needed > filter_workspace_bytes_) {
      // Only reached when reserve() was not told about this shape: grow once rather than fail.
      std::fprintf(stderr, "fcn: note: growing the CUDA backward-filter workspace to %zu bytes (shape not "
                   "passed to reserve())\n", needed);
      ensure_filter_workspace(needed);
    }
    conv2d_backward_filter_cuda(dweight, dbias, dout, in, s, algo, filter_workspace_, filter_workspace_bytes_,
                                compute_);
  }

  double sigmoid_ce(float* dlogits, const float* logits, const float* targets, int64_t n,
                    float scale) override {
    if (n <= 0) return 0.0;
    double* device_loss = reinterpret_cast<double*>(device_results_);
    sigmoid_ce_cuda(device_loss, dlogits, logits, targets, n, scale, ce_workspace_, ce_workspace_bytes_, compute_);
    CUDA_CHECK(cudaMemcpyAsync(host_results_, device_loss, sizeof(double), cudaMemcpyDeviceToHost, compute_));
    CUDA_CHECK(cudaStreamSynchronize(compute_));
    double loss = 0.0;
    std::memcpy(&loss, host_results_, sizeof(double));
    return loss;
  }

  EvalCounts eval_counts(const float* logits, const float* targets, int64_t n) override {
    EvalCounts counts;
    if (n <= 0) return counts;
    auto* device_counts = reinterpret_cast<unsigned long long*>(device_results_ + kCountsOffset);
    eval_counts_cuda(device_counts, logits, targets, n, compute_);
    CUDA_CHECK(cudaMemcpyAsync(host_results_ + kCountsOffset, device_counts, 3 * sizeof(unsigned long long),
                               cudaMemcpyDeviceToHost, compute_));
    CUDA_CHECK(cudaStreamSynchronize(compute_));
    unsigned long long host_counts[3];
    std::memcpy(host_counts, host_results_ + kCountsOffset, sizeof(host_counts));
    counts.true_positive = static_cast<int64_t>(host_counts[0]);
    counts.false_positive = static_cast<int64_t>(host_counts[1]);
    counts.false_negative = static_cast<int64_t>(host_counts[2]);
    counts.true_negative = n - counts.true_positive - counts.false_positive - counts.false_negative;
    return counts;
  }

  void add_weight_decay(float* grads, const float* params, int64_t n, float decay) override {
    add_weight_decay_cuda(grads, params, n, decay, compute_);
  }

  void adam(float* params, const float* grads, float* m, float* v, int64_t n, const AdamConfig& cfg,
            int64_t step) override {
    adam_cuda(params, grads, m, v, n, cfg, step, compute_);
  }

  void synchronize() override {
    CUDA_CHECK(cudaStreamSynchronize(copy_));
    CUDA_CHECK(cudaStreamSynchronize(compute_));
  }

#if defined(FCN_CUDA_BACKEND_NCCL)
  // ---- data parallel ----
  // NCCL on the GPU when there are several ranks and each has a GPU of its own; otherwise the host
  // reducer (download, sum through comm, upload). The timeout for setting up the communicator is
  // DistOptions' default: the Backend interface carries none.
  std::unique_ptr<GradientReducer> make_gradient_reducer(Collectives& comm) override {
    if (comm.size() <= 1) return Backend::make_gradient_reducer(comm);
    CUDA_CHECK(cudaSetDevice(device_));
    const std::string shared = shared_gpu_note(comm, device_);  // a collective: every rank asks
    if (!shared.empty()) return with_note(Backend::make_gradient_reducer(comm), shared);
    return make_nccl_gradient_reducer(compute_, comm, DistOptions{}.timeout_s);
  }
#endif

 private:
  // device_results_ / host_results_ layout: [0, 8) the loss (double), [8, 32) three uint64 counters.
  static constexpr size_t kCountsOffset = 8;
  static constexpr size_t kResultBytes = 32;

  static size_t class_values_offset(int count) { return sizeof(ResizeSampleInfo) * size_t(count); }
  static size_t meta_bytes(int count, int num_classes) {
    return class_values_offset(count) + sizeof(int) * size_t(num_classes);
  }

  void create_resources() {
    CUDA_CHECK(cudaSetDevice(device_));
    CUDA_CHECK(cudaGetDeviceProperties(&props_, device_));
    CUDA_CHECK(cudaStreamCreateWithFlags(&compute_, cudaStreamNonBlocking));
    CUDA_CHECK(cudaStreamCreateWithFlags(&copy_, cudaStreamNonBlocking));
    for (StagingSlot& slot : slots_) {
      CUDA_CHECK(cudaEventCreateWithFlags(&slot.copied, cudaEventDisableTiming));
      CUDA_CHECK(cudaEventCreateWithFlags(&slot.consumed, cudaEventDisableTiming));
    }
    // The loss reduction's workspace at its largest (the grid is capped), the loss and the counters.
    ce_workspace_bytes_ = sigmoid_ce_workspace_bytes(int64_t(1) << 40);
    CUDA_CHECK(cudaMalloc(&ce_workspace_, ce_workspace_bytes_));
    CUDA_CHECK(cudaMalloc(&device_results_, kResultBytes));
    CUDA_CHECK(cudaHostAlloc(&host_results_, kResultBytes, cudaHostAllocDefault));
    name_ = std::string("cuda (") + props_.name + ", sm_" + std::to_string(props_.major) +
            std::to_string(props_.minor) + (device_ != 0 ? ", device " + std::to_string(device_) : "") + ")";
  }

  // Releases whatever exists (members not yet created are null). Never throws: errors are ignored here.
  void release_resources() noexcept {
    cudaSetDevice(device_);
    if (copy_ != nullptr) cudaStreamSynchronize(copy_);
    if (compute_ != nullptr) cudaStreamSynchronize(compute_);
    for (StagingSlot& slot : slots_) {
      cudaFree(slot.device_bytes);
      if (slot.copied != nullptr) cudaEventDestroy(slot.copied);
      if (slot.consumed != nullptr) cudaEventDestroy(slot.consumed);
    }
    cudaFree(filter_workspace_);
    cudaFree(ce_workspace_);
    cudaFree(device_results_);
    cudaFreeHost(host_results_);
    cudaFreeHost(host_meta_);
    if (copy_ != nullptr) cudaStreamDestroy(copy_);
    if (compute_ != nullptr) cudaStreamDestroy(compute_);
  }

  // The versions for this layer shape, from the requested plan (tuned on this device for "auto").
  void resolve_plan(const ConvShape& s) {
    const ConvKernelKey key = conv_kernel_key(s);
    if (plan_.count(key)) return;
    switch (request_.mode) {
      case KernelPlanRequest::Mode::kUniform:
        plan_[key] = {request_.uniform_version, request_.uniform_version, request_.uniform_version};
        return;
      case KernelPlanRequest::Mode::kExplicit: {
        auto it = request_.plan.find(key);
        if (it == request_.plan.end()) {
          throw std::invalid_argument("the kernel plan '" + format_kernel_plan(request_.plan) +
                                      "' has no entry for the conv " + std::to_string(s.kernel) + "x" +
                                      std::to_string(s.kernel) + " " + std::to_string(s.in_channels) + "->" +
                                      std::to_string(s.out_channels) +
                                      "\nHINT: pass --conv-kernels auto (on a resume, where auto reuses the "
                                      "checkpoint's plan: v3), or a plan naming every layer of this model");
        }
        plan_[key] = it->second;
        return;
      }
      case KernelPlanRequest::Mode::kAuto: {
        CUDA_CHECK(cudaStreamSynchronize(compute_));
        const ConvTuning tuning = tune_conv_layer(s, compute_);
        plan_[key] = tuning.versions;
        tuning_report_ += (tuning_report_.empty() ? "" : "\n") + describe_tuning(s, tuning);
        return;
      }
    }
  }

  ConvAlgo algo_for(const ConvShape& s, int direction) {
    auto it = plan_.find(conv_kernel_key(s));
    if (it == plan_.end()) {  // a shape reserve() was not told about: resolve it now, once
      resolve_plan(s);
      it = plan_.find(conv_kernel_key(s));
    }
    return ConvAlgo(it->second[size_t(direction)]);
  }

  // Every sample's pixels must lie inside the used bytes: the kernels read them without further checks.
  static void validate_batch(const RawBatch& batch, int size) {
    auto fail = [](const std::string& what) {
      throw std::runtime_error("CudaBackend::prepare_batch: " + what +
                               "\nHINT: the RawBatch was not filled by io/loader (or its buffer was reused "
                               "while in use); check the loader's packing");
    };
    if (size <= 0) fail("output size " + std::to_string(size) + " is not positive");
    if (batch.count < 0 || size_t(batch.count) > batch.info.size()) {
      fail("batch.count " + std::to_string(batch.count) + " but " + std::to_string(batch.info.size()) +
           " sample infos");
    }
    if (batch.count > 0 && batch.bytes == nullptr) fail("batch.bytes is null");
    if (batch.used_bytes > batch.capacity_bytes) {
      fail("used_bytes " + std::to_string(batch.used_bytes) + " exceeds capacity " +
           std::to_string(batch.capacity_bytes));
    }
    for (int b = 0; b < batch.count; ++b) {
      const RawSampleInfo& s = batch.info[b];
      const std::string where = "sample " + std::to_string(b) + " (record " + std::to_string(s.record_index) +
                                ", id '" + s.id + "')";
      if (s.height <= 0 || s.width <= 0) {
        fail(where + " has size " + std::to_string(s.height) + "x" + std::to_string(s.width));
      }
      const size_t pixels = size_t(s.height) * size_t(s.width);
      if (s.image_offset > batch.used_bytes || pixels * 3 > batch.used_bytes - s.image_offset ||
          s.label_offset > batch.used_bytes || pixels > batch.used_bytes - s.label_offset) {
        fail(where + " lies outside the batch's " + std::to_string(batch.used_bytes) + " used bytes");
      }
    }
  }

  void ensure_filter_workspace(size_t bytes) {
    if (bytes <= filter_workspace_bytes_) return;
    CUDA_CHECK(cudaStreamSynchronize(compute_));  // the old workspace may still be in use
    CUDA_CHECK(cudaFree(filter_workspace_));
    filter_workspace_ = nullptr;
    filter_workspace_bytes_ = 0;
    CUDA_CHECK(cudaMalloc(&filter_workspace_, bytes));
    filter_workspace_bytes_ = bytes;
  }

  void ensure_host_meta(size_t bytes) {
    if (bytes <= host_meta_capacity_) return;
    // Safe to free: prepare_batch waits for its metadata copy before returning.
    CUDA_CHECK(cudaFreeHost(host_meta_));
    host_meta_ = nullptr;
    host_meta_capacity_ = 0;
    const size_t capacity = align_up(bytes, 4096);
    CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&host_meta_), capacity, cudaHostAllocDefault));
    host_meta_capacity_ = capacity;
  }

  void ensure_slot_capacity(StagingSlot& slot, size_t bytes) {
    if (bytes <= slot.capacity) return;
    // The slot's last resize must be done before its buffer goes (an unrecorded event is complete).
    CUDA_CHECK(cudaEventSynchronize(slot.consumed));
    CUDA_CHECK(cudaFree(slot.device_bytes));
    slot.device_bytes = nullptr;
    slot.capacity = 0;
    // Headroom so that batches of slightly larger images do not allocate again.
    const size_t capacity = align_up(bytes + bytes / 4, 1 << 20);
    CUDA_CHECK(cudaMalloc(&slot.device_bytes, capacity));
    slot.capacity = capacity;
  }

  int device_ = 0;
  cudaDeviceProp props_{};
  KernelPlanRequest request_;   // what was asked for (default "auto")
  ConvPlan plan_;               // the versions in use, per layer shape
  std::string tuning_report_;   // how "auto" chose them, one line per layer and direction
  std::string name_;
  cudaStream_t compute_ = nullptr;
  cudaStream_t copy_ = nullptr;
  StagingSlot slots_[2];
  int next_slot_ = 0;
  uint8_t* host_meta_ = nullptr;  // pinned: per-sample info and class values of the batch being copied
  size_t host_meta_capacity_ = 0;
  void* filter_workspace_ = nullptr;
  size_t filter_workspace_bytes_ = 0;
  void* ce_workspace_ = nullptr;
  size_t ce_workspace_bytes_ = 0;
  uint8_t* device_results_ = nullptr;  // [kResultBytes]
  uint8_t* host_results_ = nullptr;    // [kResultBytes] pinned
};

}  // namespace

BackendReport probe_cuda_backend() {
  BackendReport report;
  report.cuda_compiled = true;
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();  // clear the error so that later calls start clean
    report.cuda_unusable_reason = std::string("the CUDA runtime found no usable driver or device (") +
                                  cudaGetErrorString(status) + ")";
    return report;
  }
  report.cuda_devices = count;
  if (count == 0) {
    report.cuda_unusable_reason = "no CUDA device found";
    return report;
  }
  int driver_version = 0, runtime_version = 0;
  cudaDriverGetVersion(&driver_version);
  cudaRuntimeGetVersion(&runtime_version);
  for (int d = 0; d < count; ++d) {
    cudaDeviceProp props{};
    if (cudaGetDeviceProperties(&props, d) != cudaSuccess) {
      cudaGetLastError();
      report.device_names.push_back("device " + std::to_string(d) + ": properties unavailable");
      continue;
    }
    report.device_names.push_back(std::string(props.name) + " (sm_" + std::to_string(props.major) +
                                  std::to_string(props.minor) + ", " + format_gib(props.totalGlobalMem) + ", " +
                                  std::to_string(props.multiProcessorCount) + " SMs, driver CUDA " +
                                  version_text(driver_version) + ", runtime " + version_text(runtime_version) +
                                  ")");
  }
  // Does this build carry code device 0 can run? cudaFuncGetAttributes fails when no image fits.
  cudaDeviceProp props0{};
  cudaGetDeviceProperties(&props0, 0);
  cudaFuncAttributes attributes{};
  cudaError_t fit = cudaSetDevice(0);
  if (fit == cudaSuccess) fit = cudaFuncGetAttributes(&attributes, probe_kernel);
  if (fit != cudaSuccess) {
    cudaGetLastError();
    report.cuda_unusable_reason = "device 0 (" + std::string(props0.name) + ", compute capability " +
                                  std::to_string(props0.major) + "." + std::to_string(props0.minor) +
                                  ") cannot run this build's kernels, built for compute_" + kBuiltArchitectures +
                                  " (" + cudaGetErrorString(fit) +
                                  "); HINT: rebuild with -DFCN_CUDA_ARCHITECTURES=" + std::to_string(props0.major) +
                                  std::to_string(props0.minor);
  }
  return report;
}

std::unique_ptr<Backend> make_cuda_backend(std::string* why_not) {
  const BackendReport report = probe_cuda_backend();
  if (!report.cuda_unusable_reason.empty()) {
    if (why_not != nullptr) *why_not = report.cuda_unusable_reason;
    return nullptr;
  }
  try {
    // One GPU per process: the launcher's local rank picks it (engine/cuda/local_device.h).
    return std::make_unique<CudaBackend>(device_for_this_process(report.cuda_devices));
  } catch (const std::exception& e) {
    if (why_not != nullptr) *why_not = std::string("setting up the CUDA backend failed: ") + e.what();
    return nullptr;
  }
}

}  // namespace fcn
