// make_backend: picks the CPU, CUDA or emulated CUDA backend at run time. The only place outside
// engine/cuda/ that knows whether the CUDA backend (FCN_HAVE_CUDA) and the emulated device
// (FCN_HAVE_CUDA_EMULATION) were compiled in.
#include <stdexcept>

#include "engine/backend.h"
#include "engine/cpu_backend.h"
#if defined(FCN_HAVE_CUDA)
#include "engine/cuda/cuda_backend.h"
#endif
#if defined(FCN_HAVE_CUDA_EMULATION)
#include "engine/cuda/cuda_emu_backend.h"
#endif

namespace fcn {

static std::unique_ptr<Backend> try_cuda(std::string* why_not) {
#if defined(FCN_HAVE_CUDA)
  return make_cuda_backend(why_not);
#else
  *why_not = "this build has no CUDA backend (nvcc was not found when it was configured)";
  return nullptr;
#endif
}

// The CUDA backend's own code on the emulated device: never picked by auto, only when asked for.
static BackendChoice make_emulated() {
#if defined(FCN_HAVE_CUDA_EMULATION)
  std::string why_not;
  BackendChoice choice;
  choice.backend = fcn_emu::make_cuda_backend(&why_not);
  if (!choice.backend) throw std::runtime_error("--device cuda-emu could not start: " + why_not);
  choice.note = "device: " + choice.backend->name() +
                " (the CUDA backend's kernels run on the CPU, thread by thread: exact but very slow)";
  return choice;
#else
  throw std::runtime_error("--device cuda-emu, but this build has no emulated device\nHINT: reconfigure "
                           "with -DFCN_ENABLE_CUDA_EMULATION=ON (needs libboost-context-dev)");
#endif
}

BackendChoice make_backend(const std::string& device, int threads) {
  if (device != "auto" && device != "cpu" && device != "cuda" && device != "cuda-emu") {
    throw std::invalid_argument("unknown device '" + device +
                                "'\nHINT: use --device auto, cpu, cuda or cuda-emu");
  }
  if (device == "cuda-emu") return make_emulated();
  BackendChoice choice;
  if (device == "cpu") {
    choice.backend = std::make_unique<CpuBackend>(threads);
    choice.note = "device: cpu (as asked)";
    return choice;
  }
  std::string why_not;
  choice.backend = try_cuda(&why_not);
  if (choice.backend) {
    choice.note = "device: " + choice.backend->name();
    return choice;
  }
  if (device == "cuda") {
    throw std::runtime_error("--device cuda, but CUDA is not usable: " + why_not +
                             "\nHINT: run `fcn info` for details, or use --device cpu");
  }
  choice.backend = std::make_unique<CpuBackend>(threads);
  choice.note = "device: no usable GPU (" + why_not + "), training on the CPU";
  return choice;
}

BackendReport probe_backends() {
#if defined(FCN_HAVE_CUDA)
  BackendReport report = probe_cuda_backend();
#else
  BackendReport report;
  report.cuda_compiled = false;
  report.cuda_unusable_reason = "this build has no CUDA backend (nvcc was not found when it was configured)";
#endif
#if defined(FCN_HAVE_CUDA_EMULATION)
  report.emulator_compiled = true;
  const BackendReport emulated = fcn_emu::probe_cuda_backend();
  report.emulator_device = emulated.device_names.empty() ? emulated.cuda_unusable_reason : emulated.device_names[0];
#endif
  return report;
}

}  // namespace fcn
