// Stands in for the CUDA toolkit's <cuda_runtime.h> in code compiled for the emulated device: this folder
// comes first on the include path of the *_emu targets (kernels/cuda/emu/CMakeLists.txt).
#pragma once
#include "kernels/cuda/emu/device.h"
#include "kernels/cuda/emu/launch.h"
#include "kernels/cuda/emu/runtime.h"
