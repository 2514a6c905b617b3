// Error checks for every CUDA runtime call and after every kernel launch.
// A failure throws std::runtime_error naming the call, the file and the line, e.g.
//   "CUDA error 'out of memory' (cudaMalloc(&p, n)) at kernels/cuda/conv2d_forward.cu:120
//    HINT: ..."
// Usage:
//   CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream));
//   launch<my_kernel>(grid, block, 0, stream, ...);   // kernels/cuda/launch.cuh
//   CUDA_CHECK_LAUNCH();            // catches bad launch configurations right at the launch site
// cuDNN and cuBLAS calls (the baselines) are checked with CUDNN_CHECK and CUBLAS_CHECK from
// check_libraries.cuh, so that code which only needs the runtime compiles for the emulated device too.
#pragma once
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace fcn::cuda_detail {

[[noreturn]] inline void throw_cuda_failure(const char* library, const std::string& what, const char* call,
                                            const char* file, int line, const char* hint) {
  std::string message = std::string(library) + " error '" + what + "' (" + call + ") at " + file + ":" +
                        std::to_string(line) + "\nHINT: " + hint;
  throw std::runtime_error(message);
}

inline void check_cuda(cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  const char* hint = "check that a CUDA device is present (nvidia-smi) and that the shapes and pointers "
                     "passed to this call are valid; run under compute-sanitizer to locate the fault";
  if (status == cudaErrorMemoryAllocation) {
    hint = "the GPU ran out of memory: use a smaller --batch or --size, or free other GPU processes";
  } else if (status == cudaErrorNoDevice || status == cudaErrorInsufficientDriver) {
    hint = "no usable CUDA device or driver: run with --backend cpu, or install the NVIDIA driver";
  } else if (status == cudaErrorNoKernelImageForDevice || status == cudaErrorUnsupportedPtxVersion ||
             status == cudaErrorInvalidKernelImage) {
    hint = "this build has no code this GPU can run: rebuild with -DFCN_CUDA_ARCHITECTURES set to the "
           "compute capability `fcn info` reports (e.g. 90 for an H100/H200)";
  } else if (status == cudaErrorIllegalAddress || status == cudaErrorLaunchFailure ||
             status == cudaErrorMisalignedAddress || status == cudaErrorIllegalInstruction) {
    hint = "a kernel faulted (this call may only be where the asynchronous error surfaced, and the CUDA "
           "context is now unusable): rerun under compute-sanitizer --tool memcheck to find the kernel";
  } else if (status == cudaErrorInvalidConfiguration || status == cudaErrorLaunchOutOfResources) {
    hint = "a kernel launch configuration (grid, block, shared memory or registers) does not fit this GPU "
           "for this shape; check the launcher's grid computation";
  }
  throw_cuda_failure("CUDA", cudaGetErrorString(status), call, file, line, hint);
}

}  // namespace fcn::cuda_detail

#define CUDA_CHECK(call) ::fcn::cuda_detail::check_cuda((call), #call, __FILE__, __LINE__)
// After a <<<...>>> launch: reports launch-configuration errors (and earlier asynchronous faults)
// without synchronizing.
#define CUDA_CHECK_LAUNCH() \
  ::fcn::cuda_detail::check_cuda(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)
