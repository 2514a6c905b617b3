// How kernels are launched and declare shared memory in this project, so that the same source runs on a
// GPU and on the emulated device (kernels/cuda/emu):
//
//   launch<my_kernel>(grid, block, shared_bytes, stream, args...);   // my_kernel<<<grid, block, ...>>>(args...)
//   CUDA_CHECK_LAUNCH();
//
//   __global__ void my_kernel(...) {
//     FCN_SHARED(float[32][33], tile);     // __shared__ float tile[32][33];
//
// With nvcc these are exactly the <<<...>>> launch and the __shared__ declaration (16-byte aligned).
// Compiled for emulation, launch queues the kernel on the emulated stream, and FCN_SHARED gives each block
// its own poisoned, exactly sized copy (see kernels/cuda/emu/launch.h).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <type_traits>
#include <utility>

#if defined(FCN_CUDA_EMULATION)
#include "kernels/cuda/emu/launch.h"
#define FCN_SHARED(type, name) std::type_identity_t<type>& name = ::cuda_emu::block_shared<type>()
namespace fcn {
using ::cuda_emu::launch;
}  // namespace fcn
#else
#define FCN_SHARED(type, name) __shared__ __align__(16) std::type_identity_t<type> name
namespace fcn {
template <auto Kernel, class... Args>
inline void launch(dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream, Args&&... args) {
  Kernel<<<grid, block, shared_bytes, stream>>>(std::forward<Args>(args)...);
}
}  // namespace fcn
#endif
