// The input kernels of a training step on the GPU: a packed RawBatch (variable-size uint8 RGB images and
// uint8 label images, already copied to the device) resized to the network's fixed size S.
//   x       [B, S, S, 3] float32, values 0..255 (bilinear, TensorFlow's float32 arithmetic)
//   targets [B, S, S, C] float32 in [0, 1]: for each class c, the mask (label == class_values[c]) resized
//           bilinearly (soft targets) or by nearest neighbour.
// The per-pixel math is kernels/pixel_math.h, shared with the CPU reference (kernels/cpu/resize.cc), so
// both paths compute the same taps and mixes.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/pixel_math.h"

namespace fcn {

// Where one sample sits inside the device copy of RawBatch::bytes (a device array of these, [B]).
struct ResizeSampleInfo {
  int height = 0;
  int width = 0;
  uint64_t image_offset = 0;  // byte offset of [height, width, 3] uint8 RGB
  uint64_t label_offset = 0;  // byte offset of [height, width] uint8 class values
};

// x [B, S, S, 3] = bilinear resize of every sample's image to S x S.
void resize_images_cuda(float* x,                      // [B, S, S, 3] device
                        const uint8_t* bytes,          // packed batch bytes, device
                        const ResizeSampleInfo* info,  // [B] device
                        int batch, int size, ResizeMapping mapping, cudaStream_t stream);

// targets [B, S, S, C] = per-class masks of every sample's label image resized to S x S.
void resize_targets_cuda(float* targets,                // [B, S, S, C] device
                         const uint8_t* bytes,          // packed batch bytes, device
                         const ResizeSampleInfo* info,  // [B] device
                         const int* class_values,       // [C] device: label value of each class
                         int num_classes, int batch, int size, ResizeMapping mapping, bool nearest,
                         cudaStream_t stream);

}  // namespace fcn
