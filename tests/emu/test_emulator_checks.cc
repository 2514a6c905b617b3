// [emu] The emulated device's own semantics and checks (kernels/cuda/emu): warp shuffles and votes,
// atomics across blocks that run on several host threads, and each check a kernel or a call can trip:
// launch limits, static shared memory, partial barriers, misaligned vector loads, pointers outside any
// allocation, unordered accesses across streams, and out-of-bounds accesses (guard pages), each a
// clear error naming the kernel, block and thread. Only in fcn_gpu_tests_emu.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/device_buffer.cuh"
#include "kernels/cuda/launch.cuh"

namespace fcn {
namespace {

// The text of the error a call or an earlier kernel left, after which the device is usable again.
std::string error_after(cudaError_t status) {
  if (status == cudaSuccess) status = cudaDeviceSynchronize();
  const std::string text = status == cudaSuccess ? "" : cudaGetErrorString(status);
  cudaGetLastError();
  cudaDeviceReset();  // emulator: clears a kernel fault's sticky error
  return text;
}

// out [blocks * threads]: lane sums of a warp reduction, shuffled the documented ways.
__global__ void shuffle_kernel(int* out) {
  const int lane = int(threadIdx.x) % 32;
  int down = lane;
  for (int offset = 16; offset > 0; offset /= 2) down += __shfl_down_sync(0xffffffffu, down, offset);
  int butterfly = lane;
  for (int mask = 16; mask > 0; mask /= 2) butterfly += __shfl_xor_sync(0xffffffffu, butterfly, mask);
  const int broadcast = __shfl_sync(0xffffffffu, lane * 10, 3);
  const int up = __shfl_up_sync(0xffffffffu, lane, 1);
  const unsigned even = __ballot_sync(0xffffffffu, lane % 2 == 0);
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  out[i * 6 + 0] = down;       // lane 0: 0 + 1 + ... + 31
  out[i * 6 + 1] = butterfly;  // every lane: the same total
  out[i * 6 + 2] = broadcast;  // lane 3's value
  out[i * 6 + 3] = up;         // lane - 1, lane 0 keeps its own
  out[i * 6 + 4] = int(even == 0x55555555u);
  out[i * 6 + 5] = __all_sync(0xffffffffu, lane < 32) + 2 * __any_sync(0xffffffffu, lane == 7);
}

__global__ void count_kernel(unsigned long long* counter, int* maximum) {
  atomicAdd(counter, 1ull);
  atomicMax(maximum, int(blockIdx.x * blockDim.x + threadIdx.x));
}

// Threads of the first half-warp leave before the barrier.
__global__ void partial_barrier_kernel(float* out) {
  if (threadIdx.x < 16) return;
  __syncthreads();
  out[threadIdx.x] = 1.f;
}

__global__ void too_much_shared_kernel(float* out) {
  FCN_SHARED(float[13000], big);  // 52 KB: over the 48 KB of static shared memory a block may have
  big[threadIdx.x] = 1.f;
  __syncthreads();
  out[threadIdx.x] = big[0];
}

__global__ void vector_load_kernel(float* out, const float* in) {
  const float4 v = __ldg(reinterpret_cast<const float4*>(in));
  out[threadIdx.x] = v.x + v.y + v.z + v.w;
}

__global__ void write_kernel(float* out, int n) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i <= n) out[i] = 2.f;  // one past the end when i == n
}

__global__ void read_kernel(float* out, const float* in) { out[threadIdx.x] = in[threadIdx.x]; }

}  // namespace

TEST_CASE("shuffles and votes follow the programming guide", "[emu]") {
  DeviceBuffer<int> out(64 * 6);
  launch<shuffle_kernel>(2, 32, 0, nullptr, out.get());
  CUDA_CHECK_LAUNCH();
  const std::vector<int> got = out.download();
  for (int i = 0; i < 64; ++i) {
    const int lane = i % 32;
    INFO("thread " << i);
    if (lane == 0) CHECK(got[size_t(i) * 6 + 0] == 496);
    CHECK(got[size_t(i) * 6 + 1] == 496);
    CHECK(got[size_t(i) * 6 + 2] == 30);
    CHECK(got[size_t(i) * 6 + 3] == (lane == 0 ? 0 : lane - 1));
    CHECK(got[size_t(i) * 6 + 4] == 1);
    CHECK(got[size_t(i) * 6 + 5] == 3);
  }
}

TEST_CASE("atomics add up across blocks running on several host threads", "[emu]") {
  DeviceBuffer<unsigned long long> counter(std::vector<unsigned long long>{0});
  DeviceBuffer<int> maximum(std::vector<int>{-1});
  launch<count_kernel>(37, 96, 0, nullptr, counter.get(), maximum.get());
  CUDA_CHECK_LAUNCH();
  CHECK(counter.download()[0] == 37ull * 96);
  CHECK(maximum.download()[0] == 37 * 96 - 1);
}

TEST_CASE("a launch over the limits is refused, naming the kernel and the limit", "[emu]") {
  DeviceBuffer<float> out(4096);
  launch<read_kernel>(1, 2048, 0, nullptr, out.get(), out.get());
  std::string e = error_after(cudaGetLastError());
  CHECK_THAT(e, Catch::Contains("read_kernel") && Catch::Contains("2048 threads, over the 1024"));
  launch<read_kernel>(dim3(1, 70000), 32, 0, nullptr, out.get(), out.get());
  e = error_after(cudaGetLastError());
  CHECK_THAT(e, Catch::Contains("grid dimension"));
  launch<read_kernel>(1, 32, size_t(64) << 10, nullptr, out.get(), out.get());
  e = error_after(cudaGetLastError());
  CHECK_THAT(e, Catch::Contains("65536 bytes of dynamic shared memory"));
  launch<too_much_shared_kernel>(1, 32, 0, nullptr, out.get());
  e = error_after(cudaSuccess);
  CHECK_THAT(e, Catch::Contains("too_much_shared_kernel") && Catch::Contains("static shared memory"));
}

TEST_CASE("a barrier that part of the block skips is an error naming the threads", "[emu]") {
  DeviceBuffer<float> out(64);
  launch<partial_barrier_kernel>(1, 64, 0, nullptr, out.get());
  const std::string e = error_after(cudaSuccess);
  CHECK_THAT(e, Catch::Contains("partial_barrier_kernel") && Catch::Contains("block (0,0,0)") &&
                    Catch::Contains("reached by only 48 of the block's 64 threads"));
}

TEST_CASE("a misaligned vector load is an error naming the kernel and thread", "[emu]") {
  DeviceBuffer<float> in(std::vector<float>(16, 1.f)), out(32);
  launch<vector_load_kernel>(1, 32, 0, nullptr, out.get(), in.get());
  CHECK(error_after(cudaSuccess).empty());
  CHECK(out.download()[5] == 4.f);
  launch<vector_load_kernel>(1, 32, 0, nullptr, out.get(), in.get() + 1);
  const std::string e = error_after(cudaSuccess);
  CHECK_THAT(e, Catch::Contains("misaligned") && Catch::Contains("vector_load_kernel") &&
                    Catch::Contains("thread (") && Catch::Contains("not 16-byte aligned"));
}

TEST_CASE("a kernel handed host memory is refused at the launch", "[emu]") {
  DeviceBuffer<float> out(32);
  std::vector<float> host(32, 1.f);
  launch<read_kernel>(1, 32, 0, nullptr, out.get(), static_cast<const float*>(host.data()));
  const std::string e = error_after(cudaGetLastError());
  CHECK_THAT(e, Catch::Contains("read_kernel") && Catch::Contains("parameter 1") &&
                    Catch::Contains("not inside any live cudaMalloc or cudaHostAlloc allocation"));
}

TEST_CASE("an access no stream order or event orders after a write on another stream is an error", "[emu]") {
  DeviceBuffer<float> a(256), b(256);
  cudaStream_t s1 = nullptr, s2 = nullptr;
  CUDA_CHECK(cudaStreamCreateWithFlags(&s1, cudaStreamNonBlocking));
  CUDA_CHECK(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking));
  cudaEvent_t written = nullptr;
  CUDA_CHECK(cudaEventCreateWithFlags(&written, cudaEventDisableTiming));

  // Ordered by an event: fine.
  CUDA_CHECK(cudaMemsetAsync(a.get(), 0, a.bytes(), s1));
  CUDA_CHECK(cudaEventRecord(written, s1));
  CUDA_CHECK(cudaStreamWaitEvent(s2, written, 0));
  launch<read_kernel>(1, 256, 0, s2, b.get(), static_cast<const float*>(a.get()));
  CHECK(error_after(cudaGetLastError()).empty());

  // Host synchronization orders everything before it.
  CUDA_CHECK(cudaMemsetAsync(a.get(), 0, a.bytes(), s1));
  CUDA_CHECK(cudaStreamSynchronize(s1));
  launch<read_kernel>(1, 256, 0, s2, b.get(), static_cast<const float*>(a.get()));
  CHECK(error_after(cudaGetLastError()).empty());

  // Nothing orders the read after the write: a race on a GPU, an error here, whatever the timing.
  CUDA_CHECK(cudaMemsetAsync(a.get(), 0, a.bytes(), s1));
  launch<read_kernel>(1, 256, 0, s2, b.get(), static_cast<const float*>(a.get()));
  const std::string e = error_after(cudaGetLastError());
  CHECK_THAT(e, Catch::Contains("read_kernel") && Catch::Contains("cudaMemsetAsync at tests/emu/test_emulator_checks.cc"));

  CUDA_CHECK(cudaEventDestroy(written));
  CUDA_CHECK(cudaStreamDestroy(s1));
  CUDA_CHECK(cudaStreamDestroy(s2));
}

TEST_CASE("streams made without cudaStreamNonBlocking are ordered after the null stream", "[emu]") {
  DeviceBuffer<float> a(256), b(256);
  cudaStream_t blocking = nullptr;
  CUDA_CHECK(cudaStreamCreate(&blocking));
  CUDA_CHECK(cudaMemsetAsync(a.get(), 0, a.bytes(), nullptr));
  launch<read_kernel>(1, 256, 0, blocking, b.get(), static_cast<const float*>(a.get()));
  CHECK(error_after(cudaGetLastError()).empty());
  CUDA_CHECK(cudaStreamDestroy(blocking));
}

// Run in a child process by the next test: the guard page stops the process with the message.
TEST_CASE("out of bounds child", "[.emu-oob-child]") {
  DeviceBuffer<float> out(100);
  launch<write_kernel>(1, 128, 0, nullptr, out.get(), 100);
  cudaDeviceSynchronize();
}

TEST_CASE("a write past the end of an allocation stops the process naming the kernel and allocation", "[emu]") {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const std::string command = "'" + self + "' \"[.emu-oob-child]\" 2>&1";
  FILE* child = popen(command.c_str(), "r");
  REQUIRE(child != nullptr);
  std::string output;
  char chunk[512];
  while (size_t n = std::fread(chunk, 1, sizeof(chunk), child)) output.append(chunk, n);
  const int status = pclose(child);
  INFO(output);
  CHECK(status != 0);
#if !defined(__SANITIZE_ADDRESS__)
  CHECK_THAT(output, Catch::Contains("out-of-bounds access in kernel") && Catch::Contains("write_kernel") &&
                         Catch::Contains("thread (100,0,0)") && Catch::Contains("0 bytes past the end of the 400-byte allocation"));
#else
  CHECK_THAT(output, Catch::Contains("heap-buffer-overflow"));
#endif
}

}  // namespace fcn
