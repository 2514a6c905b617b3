// Memory a run needs against memory the device has, checked before anything large is allocated, so that
// `--size 100000` or a huge `--batch` is refused with the estimate and what is available instead of
// ending in std::bad_alloc, cudaErrorMemoryAllocation or the kernel's OOM killer.
#pragma once
#include <cstdint>
#include <string>

#include "engine/model.h"

namespace fcn {

class Backend;

// Bytes this process can still allocate on the host: /proc/meminfo's MemAvailable, lowered to what a
// cgroup memory limit leaves (v2 memory.max - memory.current, or v1). -1 when unknown.
int64_t host_memory_available();

// "512 B", "3.1 KiB", "2.25 GiB", "81.9 TiB".
std::string format_bytes(double bytes);

// What a Model of this shape allocates on its backend: parameters, gradients and Adam moments, plus the
// activation arena (input, targets, every hidden layer, logits and their gradients). In double: sizes
// that would overflow int64 stay comparable.
struct ModelMemory {
  double parameters = 0;   // 4 buffers of parameter_count floats
  double activations = 0;  // the arena, for max_batch images
  double per_image = 0;    // the arena's share of one image
  double total() const { return parameters + activations; }
};
ModelMemory model_memory(const ModelConfig& config, int max_batch, int height, int width = -1);

// Throws std::runtime_error when the model would not fit in what the backend has available, with the
// estimate, what is available, and the largest batch that would fit at this size. `flags` says which
// settings asked for it ("--batch 8 at --size 100000"). Unknown availability passes.
void check_model_fits(Backend& backend, const ModelConfig& config, int max_batch, int height, int width,
                      const std::string& flags);

}  // namespace fcn
