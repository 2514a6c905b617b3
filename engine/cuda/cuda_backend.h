// The CUDA backend's entry points for the rest of the engine. A plain C++ header: it includes no CUDA
// headers, so backend_factory.cc and `fcn info` can call it from ordinary C++ (only when FCN_HAVE_CUDA).
#pragma once
#include <memory>
#include <string>

#include "engine/backend.h"

namespace fcn {

// A CudaBackend on this process's device (device 0; under a launcher, its local rank modulo the visible
// devices: engine/cuda/local_device.h), with our own kernels (cuDNN is never on this path); or nullptr
// with *why_not set to one line saying why no usable device was found (no driver, no device, a compute
// capability this build has no code for, out of memory while setting up).
std::unique_ptr<Backend> make_cuda_backend(std::string* why_not);

// What the CUDA runtime reports: cuda_compiled = true, the devices (name, compute capability,
// memory, multiprocessors, driver/runtime versions) and, when no device is usable, why.
BackendReport probe_cuda_backend();

}  // namespace fcn
