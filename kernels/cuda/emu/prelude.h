// Included first by every CUDA source compiled for the emulated device (the generated wrappers of
// kernels/cuda/emu/CMakeLists.txt: `#include "kernels/cuda/emu/prelude.h"` then `#include "X.cu"`).
//
// Two things happen here:
//  1. FCN_CUDA_EMULATION is defined and the emulator's <cuda_runtime.h> (kernels/cuda/emu/include) is
//     the one the source sees, so launches, shared memory and the runtime API go to the emulator.
//  2. The CUDA code is renamed from namespace fcn to fcn_emu (`#define fcn fcn_emu`), so one binary can
//     hold the real CUDA backend and the emulated one side by side (`fcn train --device cuda` and
//     `--device cuda-emu`) without two definitions of fcn::CudaBackend. The engine's plain headers are
//     included before the rename, so Tensor, Backend, ConvShape and the CPU references stay the one
//     ::fcn type the rest of the engine uses; fcn_emu sees them through a using-directive.
#pragma once
#define FCN_CUDA_EMULATION 1

#include <cuda_runtime.h>

#include "cuda_emu_plain_headers.h"  // generated: every engine/, io/ and kernels/ header without CUDA

namespace fcn_emu {
using namespace ::fcn;
}  // namespace fcn_emu

#define fcn fcn_emu
