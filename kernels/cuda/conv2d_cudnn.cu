// The cuDNN baseline (version 0 of the conv ladders): see conv2d_cudnn.cuh. One cuDNN handle per host
// thread and device, created on first use, with the chosen algorithm, descriptors and workspace of every
// (shape, direction) cached; the workspace and the KRSC scratch filter grow once and are then reused.
#include <map>
#include <tuple>

#include "kernels/cuda/check_libraries.cuh"
#include "kernels/cuda/conv2d.cuh"
#include "kernels/cuda/conv2d_cudnn.cuh"
#include "kernels/cuda/transpose.cuh"

namespace fcn::cudnn_baseline {
namespace {

enum class Direction : int { kForward = 0, kBackwardData = 1, kBackwardFilter = 2 };

struct Plan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnActivationDescriptor_t relu = nullptr;
  int algo = 0;  // the cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t of the direction
  size_t workspace_bytes = 0;
};

using PlanKey = std::tuple<int, int, int, int, int, int, int>;  // direction, B, H, W, Cin, Cout, K

struct State {
  cudnnHandle_t handle = nullptr;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
  float* krsc = nullptr;
  size_t krsc_bytes = 0;
  std::map<PlanKey, Plan> plans;
  // Left allocated until the thread ends; not freed here since the CUDA context may be gone by then.
};

State& state() {
  thread_local std::map<int, State> states;
  int device = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  State& st = states[device];
  if (!st.handle) CUDNN_CHECK(cudnnCreate(&st.handle));
  return st;
}

void ensure_workspace(State& st, size_t bytes) {
  if (bytes <= st.workspace_bytes) return;
  if (st.workspace) CUDA_CHECK(cudaFree(st.workspace));
  st.workspace = nullptr;
  st.workspace_bytes = 0;
  CUDA_CHECK(cudaMalloc(&st.workspace, bytes));
  st.workspace_bytes = bytes;
}

float* krsc_scratch(State& st, const ConvShape& s) {
  const size_t bytes = size_t(s.weight_size()) * sizeof(float);
  if (bytes > st.krsc_bytes) {
    if (st.krsc) CUDA_CHECK(cudaFree(st.krsc));
    st.krsc = nullptr;
    st.krsc_bytes = 0;
    CUDA_CHECK(cudaMalloc(&st.krsc, bytes));
    st.krsc_bytes = bytes;
  }
  return st.krsc;
}

// Only CUDNN_FMA_MATH results: CUDNN_DEFAULT_MATH permits TF32 tensor cores on sm_80 and later, which
// would make the baseline faster than FP32 and less accurate than our FP32 kernels.
bool is_fp32_fma(cudnnMathType_t math) { return math == CUDNN_FMA_MATH; }

[[noreturn]] void no_algorithm(const char* direction, const ConvShape& s) {
  throw std::runtime_error(std::string("cuDNN baseline: no FP32-FMA ") + direction + " algorithm for B=" +
                           std::to_string(s.batch) + " H=" + std::to_string(s.height) + " W=" +
                           std::to_string(s.width) + " Cin=" + std::to_string(s.in_channels) + " Cout=" +
                           std::to_string(s.out_channels) + " K=" + std::to_string(s.kernel) +
                           "\nHINT: the baseline is optional; benchmark our own versions with --ops");
}

// Picks from a cudnnFind* result (sorted fastest first) the fastest algorithm that ran with FP32 FMA math
// and is deterministic, like our own versions; only when none is deterministic (not expected: forward is
// always, and data / filter have ALGO_1) the fastest FP32-FMA one. False when there is none at all.
template <class Perf>
bool choose_algorithm(Plan& p, const Perf* perf, int returned) {
  for (const bool deterministic_only : {true, false}) {
    for (int i = 0; i < returned; ++i) {
      const Perf& r = perf[i];
      if (r.status != CUDNN_STATUS_SUCCESS || !is_fp32_fma(r.mathType)) continue;
      if (deterministic_only && r.determinism != CUDNN_DETERMINISTIC) continue;
      p.algo = int(r.algo), p.workspace_bytes = r.memory;
      return true;
    }
  }
  return false;
}

// Descriptors for the shape, then the algorithm of cudnnFind* for the direction (choose_algorithm). Find
// runs on the handle's stream: callers set it first.
Plan& plan_for(State& st, const ConvShape& s, Direction dir) {
  const PlanKey key{int(dir), s.batch, s.height, s.width, s.in_channels, s.out_channels, s.kernel};
  auto found = st.plans.find(key);
  if (found != st.plans.end()) return found->second;
  Plan p;
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&p.x));
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&p.y));
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&p.bias));
  CUDNN_CHECK(cudnnCreateFilterDescriptor(&p.w));
  CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&p.conv));
  CUDNN_CHECK(cudnnCreateActivationDescriptor(&p.relu));
  CUDNN_CHECK(cudnnSetTensor4dDescriptor(p.x, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, s.batch, s.in_channels,
                                         s.height, s.width));
  CUDNN_CHECK(cudnnSetTensor4dDescriptor(p.y, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, s.batch, s.out_channels,
                                         s.height, s.width));
  CUDNN_CHECK(cudnnSetTensor4dDescriptor(p.bias, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 1, s.out_channels, 1, 1));
  CUDNN_CHECK(cudnnSetFilter4dDescriptor(p.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, s.out_channels,
                                         s.in_channels, s.kernel, s.kernel));
  const int pad = s.kernel / 2;
  CUDNN_CHECK(cudnnSetConvolution2dDescriptor(p.conv, pad, pad, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION,
                                              CUDNN_DATA_FLOAT));
  // FP32 FMA kernels only: CUDNN_DEFAULT_MATH would allow TF32 tensor cores on Ampere and later.
  CUDNN_CHECK(cudnnSetConvolutionMathType(p.conv, CUDNN_FMA_MATH));
  CUDNN_CHECK(cudnnSetActivationDescriptor(p.relu, CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN, 0.0));

  bool chosen = false;
  if (dir == Direction::kForward) {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int returned = 0;
    CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithm(st.handle, p.x, p.w, p.conv, p.y,
                                                     CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, perf));
    chosen = choose_algorithm(p, perf, returned);
  } else if (dir == Direction::kBackwardData) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int returned = 0;
    CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithm(st.handle, p.w, p.y, p.conv, p.x,
                                                          CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &returned,
                                                          perf));
    chosen = choose_algorithm(p, perf, returned);
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int returned = 0;
    CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithm(st.handle, p.x, p.y, p.conv, p.w,
                                                            CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
                                                            &returned, perf));
    chosen = choose_algorithm(p, perf, returned);
  }
  if (!chosen) {
    no_algorithm(dir == Direction::kForward ? "forward" : dir == Direction::kBackwardData ? "backward-data"
                                                                                            : "backward-filter",
                 s);
  }
  ensure_workspace(st, p.workspace_bytes);
  return st.plans.emplace(key, p).first->second;
}

const float kOne = 1.f;
const float kZero = 0.f;

}  // namespace

void weight_to_krsc(float* krsc, const float* hwio, const ConvShape& s, cudaStream_t stream) {
  transpose_cuda(krsc, hwio, s.kernel * s.kernel * s.in_channels, s.out_channels, stream);
}

void weight_from_krsc(float* hwio, const float* krsc, const ConvShape& s, cudaStream_t stream) {
  transpose_cuda(hwio, krsc, s.out_channels, s.kernel * s.kernel * s.in_channels, stream);
}

void forward_krsc(float* out, const float* in, const float* weight_krsc, const float* bias,
                  const ConvShape& s, bool relu, cudaStream_t stream) {
  State& st = state();
  CUDNN_CHECK(cudnnSetStream(st.handle, stream));
  Plan& p = plan_for(st, s, Direction::kForward);
  CUDNN_CHECK(cudnnConvolutionForward(st.handle, &kOne, p.x, in, p.w, weight_krsc, p.conv,
                                      cudnnConvolutionFwdAlgo_t(p.algo), st.workspace, p.workspace_bytes,
                                      &kZero, p.y, out));
  if (bias) CUDNN_CHECK(cudnnAddTensor(st.handle, &kOne, p.bias, bias, &kOne, p.y, out));
  if (relu) CUDNN_CHECK(cudnnActivationForward(st.handle, p.relu, &kOne, p.y, out, &kZero, p.y, out));
}

void backward_data_krsc(float* din, const float* dout, const float* weight_krsc, const float* relu_out,
                        const ConvShape& s, cudaStream_t stream) {
  State& st = state();
  CUDNN_CHECK(cudnnSetStream(st.handle, stream));
  Plan& p = plan_for(st, s, Direction::kBackwardData);
  CUDNN_CHECK(cudnnConvolutionBackwardData(st.handle, &kOne, p.w, weight_krsc, p.y, dout, p.conv,
                                           cudnnConvolutionBwdDataAlgo_t(p.algo), st.workspace,
                                           p.workspace_bytes, &kZero, p.x, din));
  if (relu_out) {
    relu_mask_cuda(din, relu_out, s.in_size(), stream);
  }
}

void backward_filter_krsc(float* dweight_krsc, float* dbias, const float* dout, const float* in,
                          const ConvShape& s, cudaStream_t stream) {
  State& st = state();
  CUDNN_CHECK(cudnnSetStream(st.handle, stream));
  Plan& p = plan_for(st, s, Direction::kBackwardFilter);
  CUDNN_CHECK(cudnnConvolutionBackwardFilter(st.handle, &kOne, p.x, in, p.y, dout, p.conv,
                                             cudnnConvolutionBwdFilterAlgo_t(p.algo), st.workspace,
                                             p.workspace_bytes, &kZero, p.w, dweight_krsc));
  if (dbias) CUDNN_CHECK(cudnnConvolutionBackwardBias(st.handle, &kOne, p.y, dout, &kZero, p.bias, dbias));
}

void forward_hwio(float* out, const float* in, const float* weight, const float* bias, const ConvShape& s,
                  bool relu, cudaStream_t stream) {
  float* krsc = krsc_scratch(state(), s);
  weight_to_krsc(krsc, weight, s, stream);
  forward_krsc(out, in, krsc, bias, s, relu, stream);
}

void backward_data_hwio(float* din, const float* dout, const float* weight, const float* relu_out,
                        const ConvShape& s, cudaStream_t stream) {
  float* krsc = krsc_scratch(state(), s);
  weight_to_krsc(krsc, weight, s, stream);
  backward_data_krsc(din, dout, krsc, relu_out, s, stream);
}

void backward_filter_hwio(float* dweight, float* dbias, const float* dout, const float* in,
                          const ConvShape& s, cudaStream_t stream) {
  float* krsc = krsc_scratch(state(), s);
  backward_filter_krsc(krsc, dbias, dout, in, s, stream);
  weight_from_krsc(dweight, krsc, s, stream);
}

}  // namespace fcn::cudnn_baseline
