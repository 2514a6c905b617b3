// Resize kernels (see resize.cuh): one thread per output pixel of the whole batch, a grid-stride loop
// over B*S*S pixels. Each thread finds its sample, computes the two bilinear taps with the shared
// pixel_math.h functions and writes the 3 colour channels (or C class channels) of its pixel, so a warp
// writes one contiguous run of 32*3 (or 32*C) floats. Reads are uint8 gathers that stay in L1/L2: the
// raw bytes of a batch (a few MB) are small next to the float outputs.
#include "kernels/cuda/resize.cuh"

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/launch.cuh"

namespace fcn {
namespace {

constexpr int kResizeThreads = 256;

// tf.image.resize_nearest_neighbor's source index without align_corners, the same rule as the CPU
// reference: legacy min(floor(dst * scale), in - 1); half-pixel min(floor((dst + 0.5) * scale), in - 1).
__device__ __forceinline__ int nearest_source(int dst, float scale, int in_size, ResizeMapping mapping) {
  const float src = mapping == ResizeMapping::kHalfPixel ? (static_cast<float>(dst) + 0.5f) * scale
                                                          : static_cast<float>(dst) * scale;
  const int index = static_cast<int>(floorf(src));
  const int clamped_high = index < in_size - 1 ? index : in_size - 1;
  return clamped_high > 0 ? clamped_high : 0;
}

int resize_blocks(int64_t pixels) {
  // Enough blocks to fill the GPU several times over; the grid-stride loop covers the rest.
  int64_t blocks = (pixels + kResizeThreads - 1) / kResizeThreads;
  if (blocks > 65536) blocks = 65536;
  return static_cast<int>(blocks < 1 ? 1 : blocks);
}

__global__ void resize_images_kernel(float* __restrict__ x,                      // [B, S, S, 3]
                                     const uint8_t* __restrict__ bytes,          // packed batch
                                     const ResizeSampleInfo* __restrict__ info,  // [B]
                                     int batch, int size, ResizeMapping mapping) {
  const int64_t pixels_per_sample = int64_t(size) * size;
  const int64_t total = pixels_per_sample * batch;
  for (int64_t pixel = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; pixel < total;
       pixel += int64_t(gridDim.x) * blockDim.x) {
    const int b = static_cast<int>(pixel / pixels_per_sample);
    const int64_t within = pixel - int64_t(b) * pixels_per_sample;
    const int oy = static_cast<int>(within / size);
    const int ox = static_cast<int>(within - int64_t(oy) * size);
    const ResizeSampleInfo sample = info[b];
    const BilinearTap ty = bilinear_tap(oy, resize_scale(sample.height, size), sample.height, mapping);
    const BilinearTap tx = bilinear_tap(ox, resize_scale(sample.width, size), sample.width, mapping);
    const uint8_t* image = bytes + sample.image_offset;
    const uint8_t* top_row = image + int64_t(ty.lower) * sample.width * 3;
    const uint8_t* bottom_row = image + int64_t(ty.upper) * sample.width * 3;
    float* out = x + pixel * 3;
#pragma unroll
    for (int c = 0; c < 3; ++c) {
      out[c] = bilinear_mix(static_cast<float>(top_row[tx.lower * 3 + c]),
                            static_cast<float>(top_row[tx.upper * 3 + c]),
                            static_cast<float>(bottom_row[tx.lower * 3 + c]),
                            static_cast<float>(bottom_row[tx.upper * 3 + c]), tx.lerp, ty.lerp);
    }
  }
}

__global__ void resize_targets_kernel(float* __restrict__ targets,                // [B, S, S, C]
                                      const uint8_t* __restrict__ bytes,          // packed batch
                                      const ResizeSampleInfo* __restrict__ info,  // [B]
                                      const int* __restrict__ class_values,       // [C]
                                      int num_classes, int batch, int size, ResizeMapping mapping,
                                      bool nearest) {
  const int64_t pixels_per_sample = int64_t(size) * size;
  const int64_t total = pixels_per_sample * batch;
  for (int64_t pixel = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; pixel < total;
       pixel += int64_t(gridDim.x) * blockDim.x) {
    const int b = static_cast<int>(pixel / pixels_per_sample);
    const int64_t within = pixel - int64_t(b) * pixels_per_sample;
    const int oy = static_cast<int>(within / size);
    const int ox = static_cast<int>(within - int64_t(oy) * size);
    const ResizeSampleInfo sample = info[b];
    const uint8_t* label = bytes + sample.label_offset;
    const float y_scale = resize_scale(sample.height, size);
    const float x_scale = resize_scale(sample.width, size);
    float* out = targets + pixel * num_classes;
    if (nearest) {
      const int sy = nearest_source(oy, y_scale, sample.height, mapping);
      const int sx = nearest_source(ox, x_scale, sample.width, mapping);
      const int value = label[int64_t(sy) * sample.width + sx];
      for (int c = 0; c < num_classes; ++c) out[c] = value == class_values[c] ? 1.0f : 0.0f;
      continue;
    }
    const BilinearTap ty = bilinear_tap(oy, y_scale, sample.height, mapping);
    const BilinearTap tx = bilinear_tap(ox, x_scale, sample.width, mapping);
    const uint8_t* top_row = label + int64_t(ty.lower) * sample.width;
    const uint8_t* bottom_row = label + int64_t(ty.upper) * sample.width;
    const int top_left = top_row[tx.lower], top_right = top_row[tx.upper];
    const int bottom_left = bottom_row[tx.lower], bottom_right = bottom_row[tx.upper];
    for (int c = 0; c < num_classes; ++c) {
      const int v = class_values[c];
      out[c] = bilinear_mix(top_left == v ? 1.0f : 0.0f, top_right == v ? 1.0f : 0.0f,
                            bottom_left == v ? 1.0f : 0.0f, bottom_right == v ? 1.0f : 0.0f, tx.lerp,
                            ty.lerp);
    }
  }
}

}  // namespace

void resize_images_cuda(float* x, const uint8_t* bytes, const ResizeSampleInfo* info, int batch, int size,
                        ResizeMapping mapping, cudaStream_t stream) {
  const int64_t pixels = int64_t(batch) * size * size;
  if (pixels <= 0) return;
  launch<resize_images_kernel>(resize_blocks(pixels), kResizeThreads, 0, stream, x, bytes, info, batch, size,
                                                                             mapping);
  CUDA_CHECK_LAUNCH();
}

void resize_targets_cuda(float* targets, const uint8_t* bytes, const ResizeSampleInfo* info,
                         const int* class_values, int num_classes, int batch, int size,
                         ResizeMapping mapping, bool nearest, cudaStream_t stream) {
  const int64_t pixels = int64_t(batch) * size * size;
  if (pixels <= 0 || num_classes <= 0) return;
  launch<resize_targets_kernel>(resize_blocks(pixels), kResizeThreads, 0, stream,
      targets, bytes, info, class_values, num_classes, batch, size, mapping, nearest);
  CUDA_CHECK_LAUNCH();
}

}  // namespace fcn
