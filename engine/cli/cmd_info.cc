// fcn info: what this build can run on. Prints the version, the backends compiled in, the CPU threads,
// the CPU GEMM path in use (kernels/cpu/gemm.h), the CUDA devices found (name, compute capability,
// memory) and, when the GPU is not usable, why; then which backend `--device auto` picks. Exit code 0 whatever was found (it is a report, not a check).
// Without a driver the CUDA runtime reports "driver version is insufficient", so info also says whether
// the driver's library (libcuda.so.1) can be loaded at all. Last, the transports data-parallel training
// can use (MPI for mpirun, NCCL for GPUs).
#include <dlfcn.h>
#include <omp.h>

#include <cstdio>
#include <exception>
#include <string>
#include <thread>

#include "engine/backend.h"
#include "engine/cli/commands.h"
#include "engine/dist/collectives.h"
#include "kernels/cpu/gemm.h"

namespace fcn::cli {
namespace {

// "loaded" when the NVIDIA driver's user-space library can be opened, else why not.
std::string driver_library_status() {
  void* handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* error = dlerror();
    return std::string("not loadable (") + (error ? error : "unknown error") + "): no NVIDIA driver here";
  }
  dlclose(handle);
  return "loaded";
}

void print_info() {
  std::printf("fcn.cu 0.1\n");  // the same version as `fcn --version` (engine/cli/main.cc)
  const BackendReport report = probe_backends();
  std::printf("backends compiled: cpu%s%s\n", report.cuda_compiled ? ", cuda" : "",
              report.emulator_compiled ? ", cuda-emu" : "");
  std::printf("cpu threads: %u hardware, %d OpenMP\n", std::thread::hardware_concurrency(), omp_get_max_threads());
  try {
    std::printf("cpu gemm: %s (best here: %s; FCN_CPU_GEMM=portable|avx2|avx512 forces one)\n",
                gemm_path_name(gemm_path()).c_str(), gemm_path_name(gemm_best_path()).c_str());
  } catch (const std::exception& e) {
    std::printf("cpu gemm: %s\n", e.what());
  }
  if (report.cuda_compiled) {
    std::printf("nvidia driver library libcuda.so.1: %s\n", driver_library_status().c_str());
    std::printf("cuda devices: %d\n", report.cuda_devices);
    for (size_t d = 0; d < report.device_names.size(); ++d) {
      std::printf("  %zu: %s\n", d, report.device_names[d].c_str());
    }
  }
  if (report.cuda_unusable_reason.empty()) {
    std::printf("gpu usable: yes\n");
  } else {
    std::printf("gpu usable: no: %s\n", report.cuda_unusable_reason.c_str());
  }
  if (report.emulator_compiled) {
    std::printf("emulated cuda device (--device cuda-emu, slow): %s\n", report.emulator_device.c_str());
  }
  try {
    const BackendChoice choice = make_backend("auto", 0);
    std::printf("--device auto picks: %s\n", choice.backend->name().c_str());
  } catch (const std::exception& e) {
    std::printf("--device auto fails: %s\n", e.what());
  }
  std::string transports;
  for (const std::string& name : compiled_transports()) transports += (transports.empty() ? "" : ", ") + name;
  std::printf("data parallel over: %s\n",
              transports.empty() ? "nothing (a single process: build with libopenmpi-dev for mpirun)" : transports.c_str());
}

}  // namespace

void add_info_command(CLI::App& app) {
  app.add_subcommand("info", "Show the version, compiled backends, CPU threads and CUDA devices")
      ->callback([] {
        print_info();
        run_status() = 0;
      });
}

}  // namespace fcn::cli
