// make_backend: picks the CPU or CUDA backend at run time. The only place outside engine/cuda/ that knows
// whether the CUDA backend was compiled in (FCN_HAVE_CUDA).
#include <stdexcept>

#include "engine/backend.h"
#include "engine/cpu_backend.h"
#if defined(FCN_HAVE_CUDA)
#include "engine/cuda/cuda_backend.h"
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

BackendChoice make_backend(const std::string& device, int threads) {
  if (device != "auto" && device != "cpu" && device != "cuda") {
    throw std::invalid_argument("unknown device '" + device +
                                "'\nHINT: use --device auto, cpu or cuda");
  }
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
  return probe_cuda_backend();
#else
  BackendReport report;
  report.cuda_compiled = false;
  report.cuda_unusable_reason = "this build has no CUDA backend (nvcc was not found when it was configured)";
  return report;
#endif
}

}  // namespace fcn
