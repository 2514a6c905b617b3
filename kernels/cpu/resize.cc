// Reference resize of one decoded sample (declared in reference.h): bilinear RGB image to size x size
// floats, and per-class soft targets from the label image, both exactly as TensorFlow computes them in
// float32 (taps from bilinear_tap, mixing with bilinear_mix: lerp along x on both rows, then along y).
// Nearest neighbour follows tf.image.resize_nearest_neighbor for the same mapping.
#include <algorithm>
#include <cmath>

#include "kernels/cpu/reference.h"

namespace fcn {
namespace {

// tf.image.resize_nearest_neighbor's source index (no align_corners):
//   legacy:     min(floor(dst * scale), in - 1)
//   half-pixel: min(floor((dst + 0.5) * scale), in - 1)
int nearest_source(int dst, float scale, int in_size, ResizeMapping mapping) {
  const float src = mapping == ResizeMapping::kHalfPixel ? (static_cast<float>(dst) + 0.5f) * scale
                                                          : static_cast<float>(dst) * scale;
  const int index = static_cast<int>(std::floor(src));
  return std::max(0, std::min(index, in_size - 1));
}

}  // namespace

void resize_image_ref(float* out, const uint8_t* in, int height, int width, int size, ResizeMapping mapping) {
  const float y_scale = resize_scale(height, size);
  const float x_scale = resize_scale(width, size);
  for (int oy = 0; oy < size; ++oy) {
    const BilinearTap ty = bilinear_tap(oy, y_scale, height, mapping);
    const uint8_t* top_row = in + int64_t(ty.lower) * width * 3;
    const uint8_t* bottom_row = in + int64_t(ty.upper) * width * 3;
    for (int ox = 0; ox < size; ++ox) {
      const BilinearTap tx = bilinear_tap(ox, x_scale, width, mapping);
      float* out_pixel = out + (int64_t(oy) * size + ox) * 3;
      for (int c = 0; c < 3; ++c) {
        out_pixel[c] = bilinear_mix(float(top_row[tx.lower * 3 + c]), float(top_row[tx.upper * 3 + c]),
                                    float(bottom_row[tx.lower * 3 + c]), float(bottom_row[tx.upper * 3 + c]),
                                    tx.lerp, ty.lerp);
      }
    }
  }
}

void resize_targets_ref(float* out, const uint8_t* label, int height, int width, int size,
                        const int* class_values, int num_classes, ResizeMapping mapping, bool nearest) {
  const float y_scale = resize_scale(height, size);
  const float x_scale = resize_scale(width, size);
  for (int oy = 0; oy < size; ++oy) {
    if (nearest) {
      const uint8_t* row = label + int64_t(nearest_source(oy, y_scale, height, mapping)) * width;
      for (int ox = 0; ox < size; ++ox) {
        const int value = row[nearest_source(ox, x_scale, width, mapping)];
        float* out_pixel = out + (int64_t(oy) * size + ox) * num_classes;
        for (int c = 0; c < num_classes; ++c) out_pixel[c] = value == class_values[c] ? 1.0f : 0.0f;
      }
      continue;
    }
    const BilinearTap ty = bilinear_tap(oy, y_scale, height, mapping);
    const uint8_t* top_row = label + int64_t(ty.lower) * width;
    const uint8_t* bottom_row = label + int64_t(ty.upper) * width;
    for (int ox = 0; ox < size; ++ox) {
      const BilinearTap tx = bilinear_tap(ox, x_scale, width, mapping);
      const int top_left = top_row[tx.lower], top_right = top_row[tx.upper];
      const int bottom_left = bottom_row[tx.lower], bottom_right = bottom_row[tx.upper];
      float* out_pixel = out + (int64_t(oy) * size + ox) * num_classes;
      for (int c = 0; c < num_classes; ++c) {
        // The class mask (label == value) of the four taps, mixed like any other channel.
        const int v = class_values[c];
        out_pixel[c] = bilinear_mix(top_left == v ? 1.0f : 0.0f, top_right == v ? 1.0f : 0.0f,
                                    bottom_left == v ? 1.0f : 0.0f, bottom_right == v ? 1.0f : 0.0f,
                                    tx.lerp, ty.lerp);
      }
    }
  }
}

}  // namespace fcn
