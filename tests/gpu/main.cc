// Catch2 entry point for fcn_gpu_tests, the [gpu] tests that compare every CUDA kernel with its CPU
// reference. Without a usable CUDA device the binary says why and exits 77, which ctest reports as
// "skipped" (SKIP_RETURN_CODE in tests/CMakeLists.txt), so CPU-only machines and CI stay green visibly.
#define CATCH_CONFIG_RUNNER
#if defined(FCN_CUDA_EMULATION)
// The emulated device reports an access past an allocation from its own SIGSEGV handler (it names the
// kernel, thread and allocation); Catch's would replace it.
#define CATCH_CONFIG_NO_POSIX_SIGNALS
#endif
#include <catch2/catch.hpp>
#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>

namespace {
// Listing and help need no device.
bool only_lists(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    for (const char* flag : {"-l", "--list-tests", "-t", "--list-tags", "--list-test-names-only", "-h", "--help", "-?"}) {
      if (std::strcmp(argv[i], flag) == 0) return true;
    }
  }
  return false;
}
}  // namespace

int main(int argc, char** argv) {
  if (only_lists(argc, argv)) return Catch::Session().run(argc, argv);
  int devices = 0;
  const cudaError_t status = cudaGetDeviceCount(&devices);
  if (status != cudaSuccess || devices == 0) {
    std::printf("SKIPPED: no usable CUDA device (%s)\n",
                status != cudaSuccess ? cudaGetErrorString(status) : "cudaGetDeviceCount found 0 devices");
    return 77;
  }
  cudaDeviceProp props{};
  if (cudaGetDeviceProperties(&props, 0) == cudaSuccess) {
    std::printf("fcn_gpu_tests on %s (sm_%d%d)\n", props.name, props.major, props.minor);
  }
  return Catch::Session().run(argc, argv);
}
