// How long a training step will take on this backend, measured in a fraction of a second before the
// run starts: `fcn train` on the CPU with the seed's 512x512 says what that costs here and what a
// smaller --size would (it never changes the size itself).
#pragma once
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/model.h"

namespace fcn {

// FLOPs of one step's convolutions: every conv's forward and backward-filter, and backward-data for all
// but the first (the image needs no gradient).
double step_conv_flops(const std::vector<ConvShape>& shapes);

// Seconds per step at batch x size x size: the step's conv FLOPs at the rate the backend's hidden conv
// reaches on a small probe (forward of [1, 64, 64, C] -> C, a few runs, the best), plus a stated 15% for
// the rest of the step (loss, Adam, resize, im2col edges). A few hundred milliseconds on the CPU.
double estimate_step_seconds(Backend& backend, const ModelConfig& model, int batch, int size);

// The note `fcn train` prints when the CPU will train at `size` without --size having been given:
// empty below 256x256; else the minutes per 100 steps at this size and at 128x128, and the flag to
// use.
std::string slow_size_note(int size, int batch, double seconds_at_size, double seconds_at_128);

}  // namespace fcn
