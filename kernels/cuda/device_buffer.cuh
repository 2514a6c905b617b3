// DeviceBuffer<T>: one cudaMalloc'd array owned by a scope (RAII), for benchmarks, kernel tuning and tests
// that need scratch device memory outside the engine's arenas; and fill_uniform_cuda to fill a float array
// with reproducible random values on the device.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/cuda/check.cuh"

namespace fcn {

template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  // Room for `count` elements (at least one is allocated, so that the pointer is never null).
  explicit DeviceBuffer(size_t count) : count_(count) {
    CUDA_CHECK(cudaMalloc(&ptr_, (count == 0 ? 1 : count) * sizeof(T)));
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept : ptr_(other.ptr_), count_(other.count_) {
    other.ptr_ = nullptr;
    other.count_ = 0;
  }
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      cudaFree(ptr_);
      ptr_ = other.ptr_;
      count_ = other.count_;
      other.ptr_ = nullptr;
      other.count_ = 0;
    }
    return *this;
  }
  ~DeviceBuffer() { cudaFree(ptr_); }  // unchecked: a destructor must not throw (cudaFree(nullptr) is a no-op)

  T* get() { return ptr_; }
  const T* get() const { return ptr_; }
  size_t count() const { return count_; }
  size_t bytes() const { return count_ * sizeof(T); }

  // Synchronous copies of the whole array (host.size() must equal count() for upload).
  void upload(const std::vector<T>& host) {
    if (count_) CUDA_CHECK(cudaMemcpy(ptr_, host.data(), bytes(), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    std::vector<T> host(count_);
    CUDA_CHECK(cudaDeviceSynchronize());
    if (count_) CUDA_CHECK(cudaMemcpy(host.data(), ptr_, bytes(), cudaMemcpyDeviceToHost));
    return host;
  }
  // Every byte set to `byte` (0xFF makes floats NaN), so that outputs a kernel forgets to write show up.
  void poison(int byte = 0xFF) {
    if (count_) CUDA_CHECK(cudaMemset(ptr_, byte, bytes()));
  }

 private:
  T* ptr_ = nullptr;
  size_t count_ = 0;  // elements
};

// data [n] = uniform in [lo, hi), a hash of (seed, index): the same values on every device and run.
void fill_uniform_cuda(float* data, int64_t n, uint64_t seed, float lo, float hi, cudaStream_t stream);

}  // namespace fcn
