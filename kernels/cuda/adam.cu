// Adam and weight-decay kernels (see adam.cuh): memory-bound elementwise passes. Each thread of a
// grid-stride loop handles one float4 of every array (16-byte loads and stores, coalesced across the
// warp); the last n % 4 elements (or all of them when a pointer is not 16-byte aligned) take the scalar
// path. Adam moves 7 floats per parameter (read p, g, m, v; write p, m, v).
#include "kernels/cuda/adam.cuh"

#include <cmath>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/launch.cuh"

namespace fcn {
namespace {

constexpr int kAdamThreads = 256;

int elementwise_blocks(int64_t work_items) {
  int64_t blocks = (work_items + kAdamThreads - 1) / kAdamThreads;
  if (blocks > 8192) blocks = 8192;
  return static_cast<int>(blocks < 1 ? 1 : blocks);
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

struct AdamScalars {
  float lr_t;
  float one_minus_beta1;
  float one_minus_beta2;
  float eps;
};

__device__ __forceinline__ void adam_element(float& param, float& m, float& v, float g, const AdamScalars& a) {
  m += (g - m) * a.one_minus_beta1;
  v += (g * g - v) * a.one_minus_beta2;
  param -= a.lr_t * m / (sqrtf(v) + a.eps);
}

__global__ void __launch_bounds__(kAdamThreads)
    adam_kernel(float* __restrict__ params, const float* __restrict__ grads, float* __restrict__ m,
                float* __restrict__ v, int64_t n, AdamScalars a, bool vectorized) {
  const int64_t thread = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  int64_t scalar_begin = 0;
  if (vectorized) {
    const int64_t n4 = n / 4;
    float4* p4 = reinterpret_cast<float4*>(params);
    const float4* g4 = reinterpret_cast<const float4*>(grads);
    float4* m4 = reinterpret_cast<float4*>(m);
    float4* v4 = reinterpret_cast<float4*>(v);
    for (int64_t i = thread; i < n4; i += stride) {
      float4 p = p4[i];
      const float4 g = g4[i];
      float4 mm = m4[i];
      float4 vv = v4[i];
      adam_element(p.x, mm.x, vv.x, g.x, a);
      adam_element(p.y, mm.y, vv.y, g.y, a);
      adam_element(p.z, mm.z, vv.z, g.z, a);
      adam_element(p.w, mm.w, vv.w, g.w, a);
      p4[i] = p;
      m4[i] = mm;
      v4[i] = vv;
    }
    scalar_begin = n4 * 4;
  }
  for (int64_t i = scalar_begin + thread; i < n; i += stride) {
    float p = params[i], mm = m[i], vv = v[i];
    adam_element(p, mm, vv, grads[i], a);
    params[i] = p;
    m[i] = mm;
    v[i] = vv;
  }
}

__global__ void __launch_bounds__(kAdamThreads)
    weight_decay_kernel(float* __restrict__ grads, const float* __restrict__ params, int64_t n, float decay,
                        bool vectorized) {
  const int64_t thread = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  int64_t scalar_begin = 0;
  if (vectorized) {
    const int64_t n4 = n / 4;
    float4* g4 = reinterpret_cast<float4*>(grads);
    const float4* p4 = reinterpret_cast<const float4*>(params);
    for (int64_t i = thread; i < n4; i += stride) {
      float4 g = g4[i];
      const float4 p = p4[i];
      g.x += decay * p.x;
      g.y += decay * p.y;
      g.z += decay * p.z;
      g.w += decay * p.w;
      g4[i] = g;
    }
    scalar_begin = n4 * 4;
  }
  for (int64_t i = scalar_begin + thread; i < n; i += stride) grads[i] += decay * params[i];
}

}  // namespace

float adam_step_size(const AdamConfig& cfg, int64_t step) {
  const double b1_power = std::pow(double(cfg.beta1), double(step));
  const double b2_power = std::pow(double(cfg.beta2), double(step));
  return static_cast<float>(double(cfg.lr) * std::sqrt(1.0 - b2_power) / (1.0 - b1_power));
}

void adam_cuda(float* params, const float* grads, float* m, float* v, int64_t n, const AdamConfig& cfg,
               int64_t step, cudaStream_t stream) {
  if (n <= 0) return;
  if (step < 1) {
    throw std::runtime_error("adam_cuda: step " + std::to_string(step) +
                             " is not a valid Adam step\nHINT: Adam steps count from 1");
  }
  AdamScalars a;
  a.lr_t = adam_step_size(cfg, step);
  a.one_minus_beta1 = 1.0f - cfg.beta1;
  a.one_minus_beta2 = 1.0f - cfg.beta2;
  a.eps = cfg.eps;
  const bool vectorized = aligned16(params) && aligned16(grads) && aligned16(m) && aligned16(v);
  launch<adam_kernel>(elementwise_blocks(vectorized ? (n + 3) / 4 : n), kAdamThreads, 0, stream,
      params, grads, m, v, n, a, vectorized);
  CUDA_CHECK_LAUNCH();
}

void add_weight_decay_cuda(float* grads, const float* params, int64_t n, float decay, cudaStream_t stream) {
  if (n <= 0) return;
  const bool vectorized = aligned16(grads) && aligned16(params);
  launch<weight_decay_kernel>(elementwise_blocks(vectorized ? (n + 3) / 4 : n), kAdamThreads, 0, stream,
      grads, params, n, decay, vectorized);
  CUDA_CHECK_LAUNCH();
}

}  // namespace fcn
