// The host side of the emulated CUDA runtime: the subset of the CUDA runtime API that fcn.cu calls,
// implemented on the CPU (runtime.cc). Code compiled for emulation includes this through
// kernels/cuda/emu/include/cuda_runtime.h, so the same sources call it unchanged.
//
// What it models:
//   device memory    host memory in guarded mappings (a PROT_NONE page on either side, the data
//                    ending against the one after it; under AddressSanitizer exact-size heap blocks
//                    instead), 16-byte aligned (cudaMalloc's 256 would leave room past the end)
//   pinned memory    cudaHostAlloc'd host memory, registered so that copies and kernels may use it
//   streams          one host thread each, running its queue in order after a small random delay, so
//                    that work on different streams really overlaps; the null stream has the legacy
//                    semantics (it waits for, and is waited on by, streams created without
//                    cudaStreamNonBlocking)
//   events           a record is a queue entry; waits and synchronizes block until it ran
//   errors           the API's codes, the per-thread last error, and a sticky error after a kernel fault
// and what it checks (each a clear error naming the call, kernel, block and thread): launch limits,
// every pointer a kernel takes pointing into device or pinned memory, and the order of every access to
// device memory across streams (happens_before.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <source_location>

namespace cuda_emu {

enum cudaError_t : int {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInitializationError = 3,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInsufficientDriver = 35,
  cudaErrorNoDevice = 100,
  cudaErrorNoKernelImageForDevice = 209,
  cudaErrorInvalidKernelImage = 200,
  cudaErrorUnsupportedPtxVersion = 222,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorNotReady = 600,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorLaunchFailure = 719,
  cudaErrorMisalignedAddress = 716,
  cudaErrorIllegalInstruction = 715,
  // The emulator's own: an access to device memory that no stream order or event orders after a
  // conflicting access on another stream (a data race on the GPU).
  cudaErrorUnorderedAccess = 10001,
};
using cudaError = cudaError_t;

enum cudaMemcpyKind : int {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

struct Stream;
struct Event;
using cudaStream_t = Stream*;
using cudaEvent_t = Event*;

constexpr unsigned cudaStreamDefault = 0x0;
constexpr unsigned cudaStreamNonBlocking = 0x1;
constexpr unsigned cudaEventDefault = 0x0;
constexpr unsigned cudaEventBlockingSync = 0x1;
constexpr unsigned cudaEventDisableTiming = 0x2;
constexpr unsigned cudaHostAllocDefault = 0x0;
constexpr unsigned cudaHostAllocPortable = 0x1;
constexpr unsigned cudaHostAllocMapped = 0x2;

struct cudaDeviceProp {
  char name[256] = {};
  size_t totalGlobalMem = 0;
  size_t sharedMemPerBlock = 0;
  size_t sharedMemPerBlockOptin = 0;
  int regsPerBlock = 0;
  int warpSize = 32;
  int maxThreadsPerBlock = 0;
  int maxThreadsDim[3] = {};
  int maxGridSize[3] = {};
  int major = 0, minor = 0;
  int multiProcessorCount = 0;
  int l2CacheSize = 0;
  int maxThreadsPerMultiProcessor = 0;
  size_t sharedMemPerMultiprocessor = 0;
};

struct cudaFuncAttributes {
  size_t sharedSizeBytes = 0;
  size_t constSizeBytes = 0;
  size_t localSizeBytes = 0;
  int maxThreadsPerBlock = 0;
  int numRegs = 0;
  int ptxVersion = 0;
  int binaryVersion = 0;
};

using Where = std::source_location;

// ---- device and errors ----
cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* props, int device);
cudaError_t cudaDriverGetVersion(int* version);
cudaError_t cudaRuntimeGetVersion(int* version);
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes);
cudaError_t cudaDeviceSynchronize(Where where = Where::current());
cudaError_t cudaDeviceReset();  // clears a kernel fault's sticky error; allocations stay
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorString(cudaError_t error);
const char* cudaGetErrorName(cudaError_t error);
// Any kernel function: the emulator has code for every one.
template <class F>
cudaError_t cudaFuncGetAttributes(cudaFuncAttributes* attributes, F* /*kernel*/) {
  *attributes = cudaFuncAttributes{};
  attributes->maxThreadsPerBlock = 1024;
  attributes->ptxVersion = attributes->binaryVersion = 90;
  return cudaSuccess;
}

// ---- memory ----
cudaError_t cudaMalloc(void** ptr, size_t bytes, Where where = Where::current());
template <class T>
cudaError_t cudaMalloc(T** ptr, size_t bytes, Where where = Where::current()) {
  return cudaMalloc(reinterpret_cast<void**>(ptr), bytes, where);
}
cudaError_t cudaFree(void* ptr, Where where = Where::current());
cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned flags, Where where = Where::current());
template <class T>
cudaError_t cudaHostAlloc(T** ptr, size_t bytes, unsigned flags, Where where = Where::current()) {
  return cudaHostAlloc(reinterpret_cast<void**>(ptr), bytes, flags, where);
}
cudaError_t cudaMallocHost(void** ptr, size_t bytes, Where where = Where::current());
cudaError_t cudaFreeHost(void* ptr, Where where = Where::current());
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, Where where = Where::current());
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream = nullptr, Where where = Where::current());
cudaError_t cudaMemset(void* ptr, int value, size_t bytes, Where where = Where::current());
cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t stream = nullptr,
                            Where where = Where::current());

// ---- streams and events ----
cudaError_t cudaStreamCreate(cudaStream_t* stream, Where where = Where::current());
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags, Where where = Where::current());
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream, Where where = Where::current());
cudaError_t cudaStreamQuery(cudaStream_t stream);
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned flags = 0,
                                Where where = Where::current());
cudaError_t cudaEventCreate(cudaEvent_t* event);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags);
cudaError_t cudaEventDestroy(cudaEvent_t event);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream = nullptr, Where where = Where::current());
cudaError_t cudaEventSynchronize(cudaEvent_t event, Where where = Where::current());
cudaError_t cudaEventQuery(cudaEvent_t event);
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end);

}  // namespace cuda_emu

using namespace cuda_emu;
