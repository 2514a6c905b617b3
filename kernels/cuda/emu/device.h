// The device side of the emulated CUDA runtime: what a kernel's source may use (qualifiers, dim3,
// threadIdx and friends, vector types, __syncthreads, warp shuffles and votes, atomics, __ldg and the
// float intrinsics), defined for the host compiler so that kernels/cuda/*.cu compile and run on the CPU.
//
// Each CUDA thread of a block is a fiber (kernels/cuda/emu/block_runner.cc); the builtins below read the
// running fiber's coordinates, and the synchronising ones (__syncthreads, __syncwarp, shuffles, votes)
// hand control back to the block's scheduler until every thread that must take part has arrived.
// Semantics follow the CUDA C++ Programming Guide; where real hardware leaves a case undefined (a barrier
// that not every thread of the block reaches, a shuffle from a lane outside the mask), the emulator stops
// the kernel with a message naming the kernel, block, thread and source line.
#pragma once
#include <atomic>
#include <math.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <source_location>
#include <type_traits>

// ---- qualifiers: plain C++ on the host ----
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
#define __constant__ static
#define __managed__
#ifndef __restrict__
#define __restrict__ __restrict
#endif

// Static shared memory: FCN_SHARED(type, name) (kernels/cuda/launch.cuh) gives each block its own,
// poisoned, bounds-guarded copy; a bare __shared__ would be one variable for every block.
#define __shared__ static_assert(false, "use FCN_SHARED(type, name) for shared memory (kernels/cuda/launch.cuh)");

namespace cuda_emu {

struct uint3 {
  unsigned x = 0, y = 0, z = 0;
};
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return uint3{x, y, z}; }
};

// Vector types with CUDA's alignment, so that a misaligned float4 access is caught by UBSan's alignment
// check (and by __ldg below) as it would fault on the GPU.
struct alignas(16) float4 {
  float x, y, z, w;
};
struct alignas(8) float2 {
  float x, y;
};
struct alignas(16) int4 {
  int x, y, z, w;
};
struct alignas(16) uint4 {
  unsigned x, y, z, w;
};
struct alignas(8) int2 {
  int x, y;
};
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
inline float2 make_float2(float x, float y) { return float2{x, y}; }
inline int4 make_int4(int x, int y, int z, int w) { return int4{x, y, z, w}; }

// Where the running CUDA thread is: set by the block scheduler before it resumes a thread's fiber.
struct ThreadCoordinates {
  uint3 thread_idx, block_idx;
  dim3 block_dim, grid_dim;
  int lane = 0;  // (linear thread index) % 32
};
// constinit: every TU then reads it straight from thread-local storage. Without it, each read goes through
// GCC's TLS wrapper (a call to the initialiser, should there be one), and GCC 12 under UBSan checks the
// address that wrapper yields against null with stale flags: every second threadIdx read in a kernel was
// reported as "load of null pointer of type 'const struct ThreadCoordinates *'".
extern thread_local constinit const ThreadCoordinates* current_coordinates;

// The synchronising builtins, implemented by the block scheduler (block_runner.cc).
void block_barrier(std::source_location where);
// Warp exchange: every lane of `mask` deposits `value` (8 bytes); returns the value lane `source(lane)`
// deposited. source < 0 means "keep your own value" (shuffles past the segment's edge).
uint64_t warp_exchange(unsigned mask, uint64_t value, int source_lane, std::source_location where);
// Warp vote: returns the bit mask of lanes in `mask` whose predicate was true.
unsigned warp_ballot(unsigned mask, bool predicate, std::source_location where);
// Stops the running kernel with `what` (the scheduler adds kernel, block, thread and line).
[[noreturn]] void kernel_fault(const char* what, std::source_location where);
// Checks that p is aligned to `alignment` bytes, as a vector load or store of that size needs.
void check_alignment(const void* p, size_t alignment, std::source_location where);

template <class T>
uint64_t to_bits(T value) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "shuffles move up to 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  return bits;
}
template <class T>
T from_bits(uint64_t bits) {
  T value;
  std::memcpy(&value, &bits, sizeof(T));
  return value;
}
inline int lane_id() { return current_coordinates->lane; }

}  // namespace cuda_emu

using cuda_emu::dim3;
using cuda_emu::float2;
using cuda_emu::float4;
using cuda_emu::int2;
using cuda_emu::int4;
using cuda_emu::make_float2;
using cuda_emu::make_float4;
using cuda_emu::make_int4;
using cuda_emu::uint3;
using cuda_emu::uint4;

#define threadIdx (::cuda_emu::current_coordinates->thread_idx)
#define blockIdx (::cuda_emu::current_coordinates->block_idx)
#define blockDim (::cuda_emu::current_coordinates->block_dim)
#define gridDim (::cuda_emu::current_coordinates->grid_dim)
constexpr int warpSize = 32;

inline void __syncthreads(std::source_location where = std::source_location::current()) {
  ::cuda_emu::block_barrier(where);
}
inline void __syncwarp(unsigned mask = 0xffffffffu, std::source_location where = std::source_location::current()) {
  ::cuda_emu::warp_ballot(mask, true, where);
}

// ---- shuffles: the lane to read from, per the Programming Guide (width a power of two <= 32) ----
template <class T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = 32,
              std::source_location where = std::source_location::current()) {
  const int lane = ::cuda_emu::lane_id();
  const int source = (lane & ~(width - 1)) + (src_lane & (width - 1));
  return ::cuda_emu::from_bits<T>(::cuda_emu::warp_exchange(mask, ::cuda_emu::to_bits(var), source, where));
}
template <class T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = 32,
                   std::source_location where = std::source_location::current()) {
  const int lane = ::cuda_emu::lane_id();
  const int segment_end = (lane & ~(width - 1)) + width;
  const int source = lane + int(delta) < segment_end ? lane + int(delta) : -1;
  return ::cuda_emu::from_bits<T>(::cuda_emu::warp_exchange(mask, ::cuda_emu::to_bits(var), source, where));
}
template <class T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = 32,
                 std::source_location where = std::source_location::current()) {
  const int lane = ::cuda_emu::lane_id();
  const int segment_begin = lane & ~(width - 1);
  const int source = lane - int(delta) >= segment_begin ? lane - int(delta) : -1;
  return ::cuda_emu::from_bits<T>(::cuda_emu::warp_exchange(mask, ::cuda_emu::to_bits(var), source, where));
}
template <class T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = 32,
                  std::source_location where = std::source_location::current()) {
  const int lane = ::cuda_emu::lane_id();
  const int source = lane ^ lane_mask;
  const bool inside = (source & ~(width - 1)) == (lane & ~(width - 1));
  return ::cuda_emu::from_bits<T>(
      ::cuda_emu::warp_exchange(mask, ::cuda_emu::to_bits(var), inside ? source : -1, where));
}
inline unsigned __ballot_sync(unsigned mask, int predicate,
                              std::source_location where = std::source_location::current()) {
  return ::cuda_emu::warp_ballot(mask, predicate != 0, where);
}
inline int __all_sync(unsigned mask, int predicate, std::source_location where = std::source_location::current()) {
  return ::cuda_emu::warp_ballot(mask, predicate == 0, where) == 0;  // no lane voted "false"
}
inline int __any_sync(unsigned mask, int predicate, std::source_location where = std::source_location::current()) {
  return ::cuda_emu::warp_ballot(mask, predicate != 0, where) != 0;
}

// ---- atomics: blocks run on several host threads at once, so these are real atomics ----
template <class T>
T atomicAdd(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_add(value);
}
namespace cuda_emu {
// Stores value while replaces(old, value) holds for the current old; returns the old value.
template <class T, class Replaces>
T atomic_store_if(T* address, T value, Replaces replaces) {
  std::atomic_ref<T> ref(*address);
  T old = ref.load();
  while (replaces(old, value) && !ref.compare_exchange_weak(old, value)) {
  }
  return old;
}
}  // namespace cuda_emu
template <class T>
T atomicMax(T* address, T value) {
  return ::cuda_emu::atomic_store_if(address, value, [](T old, T v) { return old < v; });
}
template <class T>
T atomicMin(T* address, T value) {
  return ::cuda_emu::atomic_store_if(address, value, [](T old, T v) { return v < old; });
}
template <class T>
T atomicExch(T* address, T value) {
  return std::atomic_ref<T>(*address).exchange(value);
}
template <class T>
T atomicCAS(T* address, T compare, T value) {
  std::atomic_ref<T>(*address).compare_exchange_strong(compare, value);
  return compare;
}

// ---- read-only loads: vector loads checked for their alignment, as the hardware faults on them ----
template <class T>
T __ldg(const T* p, std::source_location where = std::source_location::current()) {
  if constexpr (sizeof(T) > 4) ::cuda_emu::check_alignment(p, alignof(T), where);
  return *p;
}

// ---- float intrinsics: the exact libm functions (the GPU's fast ones differ in the last bits) ----
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __saturatef(float x) { return x < 0.f ? 0.f : x > 1.f ? 1.f : x; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline float __int_as_float(int v) { float f; std::memcpy(&f, &v, 4); return f; }
inline int __float_as_int(float f) { int v; std::memcpy(&v, &f, 4); return v; }
inline unsigned __float_as_uint(float f) { unsigned v; std::memcpy(&v, &f, 4); return v; }
inline float __uint_as_float(unsigned v) { float f; std::memcpy(&f, &v, 4); return f; }
inline int __popc(unsigned v) { return __builtin_popcount(v); }
inline int __clz(int v) { return v == 0 ? 32 : __builtin_clz(unsigned(v)); }
inline int __ffs(int v) { return __builtin_ffs(v); }
// expf, logf, fmaf, ... come from <math.h> as in device code; the classification functions too:
using std::isfinite;
using std::isinf;
using std::isnan;
