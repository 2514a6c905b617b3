// Error checks for cuDNN and cuBLAS calls (the baselines our kernels are measured against), in the style
// of check.cuh: a failure throws std::runtime_error naming the call, file and line, with a HINT.
//   CUDNN_CHECK(cudnnConvolutionForward(...));
//   CUBLAS_CHECK(cublasSgemm(...));
#pragma once
#include <cublas_v2.h>
#include <cudnn.h>

#include "kernels/cuda/check.cuh"

namespace fcn::cuda_detail {

inline void check_cudnn(cudnnStatus_t status, const char* call, const char* file, int line) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  throw_cuda_failure("cuDNN", cudnnGetErrorString(status), call, file, line,
                     "cuDNN is only a baseline here: check the tensor descriptors and that libcudnn "
                     "matches the CUDA runtime (ldconfig -p | grep cudnn)");
}

inline const char* cublas_status_name(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "unknown cuBLAS status";
  }
}

inline void check_cublas(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw_cuda_failure("cuBLAS", cublas_status_name(status), call, file, line,
                     "check the matrix sizes and leading dimensions passed to this call");
}

}  // namespace fcn::cuda_detail

#define CUDNN_CHECK(call) ::fcn::cuda_detail::check_cudnn((call), #call, __FILE__, __LINE__)
#define CUBLAS_CHECK(call) ::fcn::cuda_detail::check_cublas((call), #call, __FILE__, __LINE__)
