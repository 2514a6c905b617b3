// The CUDA backend on the emulated device (`--device cuda-emu`): engine/cuda/cuda_backend.cu and every
// kernel it launches, compiled for the CPU against kernels/cuda/emu. A plain C++ header, like
// cuda_backend.h; the emulated build's code lives in namespace fcn_emu (kernels/cuda/emu/prelude.h), so
// that it links beside the real CUDA backend. Only when FCN_HAVE_CUDA_EMULATION.
#pragma once
#include <memory>
#include <string>

#include "engine/backend.h"

namespace fcn_emu {

// A CudaBackend on the emulated device, or nullptr with *why_not set.
std::unique_ptr<fcn::Backend> make_cuda_backend(std::string* why_not);

// What the emulated runtime reports (one device, named after the host threads it runs blocks on).
fcn::BackendReport probe_cuda_backend();

}  // namespace fcn_emu
