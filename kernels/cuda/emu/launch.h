// Kernel launches and shared memory under emulation: what kernels/cuda/launch.cuh's launch<Kernel>(...)
// and FCN_SHARED(type, name) become when the CUDA sources are compiled for the CPU.
//
// launch<Kernel>(grid, block, shared_bytes, stream, args...) converts the arguments to the kernel's
// parameter types (as a real launch does), notes which device buffers the kernel may touch (through every
// pointer parameter: reads through const pointers, writes through the others; a struct parameter lists its
// pointers with a for_each_buffer(f) member) and queues the launch on the stream. The stream's thread then
// runs every block, each CUDA thread a fiber (block_runner.cc).
#pragma once
#include <functional>
#include <memory>
#include <source_location>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/cuda/emu/device.h"
#include "kernels/cuda/emu/runtime.h"

namespace cuda_emu {

// A device buffer a kernel may read or write: from `pointer` to the end of the allocation it points into.
struct BufferUse {
  const void* pointer = nullptr;
  bool writes = false;
  int argument = 0;  // which kernel parameter it came from (0-based)
};

struct LaunchRequest {
  std::string kernel;  // the kernel's name with its template arguments
  dim3 grid, block;
  size_t dynamic_shared_bytes = 0;
  cudaStream_t stream = nullptr;
  std::vector<BufferUse> buffers;
  std::function<void()> run_thread;  // runs the kernel body for the current fiber's thread
};

// Checks the launch configuration and queues it (runtime.cc). Errors are also the thread's last error.
cudaError_t enqueue_launch(LaunchRequest&& request);

// "fcn_emu::{anonymous}::resize_images_kernel" from a __PRETTY_FUNCTION__ of GCC or Clang:
// "... kernel_name() [with auto Kernel = fcn_emu::{anonymous}::resize_images_kernel]".
std::string kernel_name_from(const std::string& pretty_function);

template <auto Kernel>
const std::string& kernel_name() {
  static const std::string name = kernel_name_from(__PRETTY_FUNCTION__);
  return name;
}

template <class F>
struct KernelSignature;
template <class... P>
struct KernelSignature<void (*)(P...)> {
  using Parameters = std::tuple<std::decay_t<P>...>;
};

template <class T>
void collect_buffers(std::vector<BufferUse>& uses, const T& argument, int index) {
  if constexpr (std::is_pointer_v<T>) {
    if (argument != nullptr) uses.push_back({argument, !std::is_const_v<std::remove_pointer_t<T>>, index});
  } else if constexpr (requires { argument.for_each_buffer([](const void*, bool) {}); }) {
    argument.for_each_buffer([&](const void* pointer, bool writes) {
      if (pointer != nullptr) uses.push_back({pointer, writes, index});
    });
  }
}

template <auto Kernel, class... Args>
void launch(dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream, Args&&... args) {
  using Parameters = typename KernelSignature<decltype(Kernel)>::Parameters;
  static_assert(std::tuple_size_v<Parameters> == sizeof...(Args), "launch: wrong number of kernel arguments");
  auto parameters = std::make_shared<Parameters>(std::forward<Args>(args)...);
  LaunchRequest request;
  request.kernel = kernel_name<Kernel>();
  request.grid = grid;
  request.block = block;
  request.dynamic_shared_bytes = shared_bytes;
  request.stream = stream;
  std::apply([&](const auto&... p) {
    int index = 0;
    (collect_buffers(request.buffers, p, index++), ...);
  }, *parameters);
  // Every CUDA thread gets its own copy of the parameters, as it would in its registers.
  request.run_thread = [parameters] {
    Parameters copy = *parameters;
    std::apply(Kernel, std::move(copy));
  };
  enqueue_launch(std::move(request));
}

// Shared memory of the running block: one poisoned (0xFF bytes: NaN floats), exactly sized heap block per
// declaration site, made when the block's first thread reaches it (block_runner.cc).
void* block_shared_bytes(size_t bytes, size_t alignment, std::source_location where);

template <class T>
T& block_shared(std::source_location where = std::source_location::current()) {
  static_assert(std::is_trivially_default_constructible_v<T>, "shared memory holds plain data");
  return *static_cast<T*>(block_shared_bytes(sizeof(T), alignof(T) < 16 ? 16 : alignof(T), where));
}

}  // namespace cuda_emu
