// Tests of the reference resize (kernels/cpu/resize.cc) and the shared bilinear math
// (kernels/pixel_math.h). Expected values are the ones TensorFlow 2.21 prints for the same inputs
// (tf.compat.v1.image.resize_bilinear / resize_nearest_neighbor for legacy, tf.image.resize for
// half-pixel); each is also worked out by hand in the comments. The resize does TensorFlow's float32
// operations in TensorFlow's order, so the checks are exact (==), not approximate.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "kernels/cpu/reference.h"
#include "kernels/pixel_math.h"

using namespace fcn;

namespace {

// A single-channel float plane resized with bilinear_tap + bilinear_mix, to any out_h x out_w.
std::vector<float> resize_plane(const std::vector<float>& in, int in_h, int in_w, int out_h, int out_w,
                                ResizeMapping mapping) {
  std::vector<float> out(size_t(out_h) * out_w);
  const float y_scale = resize_scale(in_h, out_h), x_scale = resize_scale(in_w, out_w);
  for (int y = 0; y < out_h; ++y) {
    const BilinearTap ty = bilinear_tap(y, y_scale, in_h, mapping);
    for (int x = 0; x < out_w; ++x) {
      const BilinearTap tx = bilinear_tap(x, x_scale, in_w, mapping);
      out[size_t(y) * out_w + x] = bilinear_mix(in[ty.lower * in_w + tx.lower], in[ty.lower * in_w + tx.upper],
                                                in[ty.upper * in_w + tx.lower], in[ty.upper * in_w + tx.upper],
                                                tx.lerp, ty.lerp);
    }
  }
  return out;
}

// An RGB uint8 image whose channel 0 is `plane`, channel 1 is 255 - plane and channel 2 is 7.
std::vector<uint8_t> rgb_from_plane(const std::vector<int>& plane) {
  std::vector<uint8_t> rgb;
  for (int v : plane) {
    rgb.push_back(uint8_t(v));
    rgb.push_back(uint8_t(255 - v));
    rgb.push_back(7);
  }
  return rgb;
}

// Runs resize_image_ref and checks every channel against the expected channel-0 plane.
void check_image_resize(const std::vector<int>& plane, int height, int width, int size, ResizeMapping mapping,
                        const std::vector<float>& expected) {
  const std::vector<uint8_t> rgb = rgb_from_plane(plane);
  std::vector<float> out(size_t(size) * size * 3, -1.0f);
  resize_image_ref(out.data(), rgb.data(), height, width, size, mapping);
  for (int i = 0; i < size * size; ++i) {
    INFO("output pixel " << i);
    CHECK(out[i * 3 + 0] == expected[i]);
    CHECK(out[i * 3 + 1] == 255.0f - expected[i]);  // lerps of 255 - v are 255 - lerps of v here
    CHECK(out[i * 3 + 2] == 7.0f);                   // a constant stays constant
  }
}

}  // namespace

TEST_CASE("bilinear taps and mix: FACTS.md test vector (5x5 identity -> 3x5, half-pixel)", "[resize]") {
  std::vector<float> identity(25, 0.0f);
  for (int i = 0; i < 5; ++i) identity[i * 5 + i] = 1.0f;
  const std::vector<float> out = resize_plane(identity, 5, 5, 3, 5, ResizeMapping::kHalfPixel);
  const std::vector<float> expected = {.6666667f, .3333333f, 0, 0,         0,  //
                                       0,         0,         1, 0,         0,  //
                                       0,         0,         0, .3333335f, .6666665f};
  // The FACTS.md values are printed to 7 digits: 1e-7 absolute covers that rounding only.
  for (int i = 0; i < 15; ++i) CHECK(out[i] == Approx(expected[i]).margin(1e-7));
}

TEST_CASE("bilinear_tap: both mappings by hand", "[resize]") {
  // legacy 2 -> 4: scale 0.5, src = dst * 0.5 = 0, 0.5, 1, 1.5 (upper clamped to 1)
  const float up = resize_scale(2, 4);
  CHECK(up == 0.5f);
  BilinearTap t = bilinear_tap(3, up, 2, ResizeMapping::kLegacy);
  CHECK(t.lower == 1);
  CHECK(t.upper == 1);
  CHECK(t.lerp == 0.5f);
  // half-pixel 2 -> 4: src = (0 + 0.5) * 0.5 - 0.5 = -0.25: lower clamped to 0, lerp from floor = 0.75
  t = bilinear_tap(0, up, 2, ResizeMapping::kHalfPixel);
  CHECK(t.lower == 0);
  CHECK(t.upper == 0);
  CHECK(t.lerp == 0.75f);
  t = bilinear_tap(1, up, 2, ResizeMapping::kHalfPixel);  // src 0.25
  CHECK(t.lower == 0);
  CHECK(t.upper == 1);
  CHECK(t.lerp == 0.25f);
  // bilinear_mix: x first on both rows, then y
  CHECK(bilinear_mix(0, 100, 200, 40, 0.25f, 0.5f) == (25.0f + (160.0f - 25.0f) * 0.5f));
}

TEST_CASE("resize_image_ref upscale 2x2 -> 4x4, both mappings", "[resize]") {
  const std::vector<int> plane = {0, 100, 200, 40};
  // legacy: per axis src = 0, 0.5, 1, 1.5 -> rows/cols a, (a+b)/2, b, b
  check_image_resize(plane, 2, 2, 4, ResizeMapping::kLegacy,
                     {0, 50, 100, 100, 100, 85, 70, 70, 200, 120, 40, 40, 200, 120, 40, 40});
  // half-pixel: per axis a, a + 0.25 (b - a), a + 0.75 (b - a), b
  check_image_resize(plane, 2, 2, 4, ResizeMapping::kHalfPixel,
                     {0, 25, 75, 100, 50, 58.75f, 76.25f, 85, 150, 126.25f, 78.75f, 55, 200, 160, 80, 40});
}

TEST_CASE("resize_image_ref downscale 4x4 -> 2x2, both mappings", "[resize]") {
  std::vector<int> plane(16);
  for (int i = 0; i < 16; ++i) plane[i] = 4 * i;
  // legacy: src = 0, 2 -> picks pixels (0,0) (0,2) (2,0) (2,2)
  check_image_resize(plane, 4, 4, 2, ResizeMapping::kLegacy, {0, 8, 32, 40});
  // half-pixel: src = 0.5, 2.5 -> the mean of each 2x2 block
  check_image_resize(plane, 4, 4, 2, ResizeMapping::kHalfPixel, {10, 18, 42, 50});
}

TEST_CASE("resize_image_ref non-square 2x3 -> 4x4, both mappings", "[resize]") {
  const std::vector<int> plane = {10, 20, 30, 50, 60, 70};
  // legacy: y src = 0, .5, 1, 1.5; x scale 3/4: src = 0, .75, 1.5, 2.25 (upper clamped to 2)
  check_image_resize(plane, 2, 3, 4, ResizeMapping::kLegacy,
                     {10, 17.5f, 25, 30, 30, 37.5f, 45, 50, 50, 57.5f, 65, 70, 50, 57.5f, 65, 70});
  // half-pixel: y src = -.25, .25, .75, 1.25; x src = -.125, .625, 1.375, 2.125
  check_image_resize(plane, 2, 3, 4, ResizeMapping::kHalfPixel,
                     {10, 16.25f, 23.75f, 30, 20, 26.25f, 33.75f, 40, 40, 46.25f, 53.75f, 60, 50, 56.25f, 63.75f, 70});
}

TEST_CASE("resize_image_ref same size is the identity", "[resize]") {
  std::vector<int> plane(25);
  for (int i = 0; i < 25; ++i) plane[i] = (i * 37) % 256;
  std::vector<float> expected(plane.begin(), plane.end());
  check_image_resize(plane, 5, 5, 5, ResizeMapping::kLegacy, expected);
  check_image_resize(plane, 5, 5, 5, ResizeMapping::kHalfPixel, expected);
}

TEST_CASE("resize_targets_ref: two classes, bilinear masks", "[resize]") {
  // label 2x2 [[0, 1], [2, 1]], classes {1, 2}, upscaled to 4x4 half-pixel: each class's 0/1 mask is
  // resized like an image plane.
  const std::vector<uint8_t> label = {0, 1, 2, 1};
  const int classes[2] = {1, 2};
  for (ResizeMapping mapping : {ResizeMapping::kLegacy, ResizeMapping::kHalfPixel}) {
    std::vector<float> out(4 * 4 * 2, -1.0f);
    resize_targets_ref(out.data(), label.data(), 2, 2, 4, classes, 2, mapping, false);
    const std::vector<float> mask1 = resize_plane({0, 1, 0, 1}, 2, 2, 4, 4, mapping);
    const std::vector<float> mask2 = resize_plane({0, 0, 1, 0}, 2, 2, 4, 4, mapping);
    for (int i = 0; i < 16; ++i) {
      CHECK(out[i * 2 + 0] == mask1[i]);
      CHECK(out[i * 2 + 1] == mask2[i]);
    }
  }
  // Hand values, half-pixel: class 1 is the right column, so each row reads 0, .25, .75, 1.
  std::vector<float> out(4 * 4 * 2);
  resize_targets_ref(out.data(), label.data(), 2, 2, 4, classes, 2, ResizeMapping::kHalfPixel, false);
  CHECK(out[(0 * 4 + 1) * 2] == 0.25f);
  CHECK(out[(3 * 4 + 2) * 2] == 0.75f);
  // class 2 is the bottom-left pixel: output (2, 1) = y lerp .75 of x lerp .25 toward the left = .75 * .75
  CHECK(out[(2 * 4 + 1) * 2 + 1] == 0.5625f);
  // A class value absent from the label gives an all-zero target.
  const int absent = 9;
  std::vector<float> none(16, -1.0f);
  resize_targets_ref(none.data(), label.data(), 2, 2, 4, &absent, 1, ResizeMapping::kLegacy, false);
  for (float v : none) CHECK(v == 0.0f);
}

TEST_CASE("resize_targets_ref nearest neighbour, both mappings", "[resize]") {
  // Label values 0..15 in a 4x4 grid; one class per value picked below reads out the chosen source.
  std::vector<uint8_t> label(16);
  for (int i = 0; i < 16; ++i) label[i] = uint8_t(i);
  std::vector<int> classes(16);
  for (int i = 0; i < 16; ++i) classes[i] = i;
  auto picked = [&](ResizeMapping mapping, const std::vector<uint8_t>& lab, int h, int w, int size) {
    std::vector<float> out(size_t(size) * size * 16);
    resize_targets_ref(out.data(), lab.data(), h, w, size, classes.data(), 16, mapping, true);
    std::vector<int> source;
    for (int p = 0; p < size * size; ++p) {
      int found = -1, ones = 0;
      for (int c = 0; c < 16; ++c) {
        if (out[p * 16 + c] == 1.0f) found = c, ++ones;
        else CHECK(out[p * 16 + c] == 0.0f);
      }
      CHECK(ones == 1);
      source.push_back(found);
    }
    return source;
  };
  // 4 -> 2: legacy floor(d * 2) = 0, 2; half-pixel floor((d + .5) * 2) = 1, 3
  CHECK(picked(ResizeMapping::kLegacy, label, 4, 4, 2) == std::vector<int>{0, 2, 8, 10});
  CHECK(picked(ResizeMapping::kHalfPixel, label, 4, 4, 2) == std::vector<int>{5, 7, 13, 15});
  // 2 -> 3: legacy floor(d * 2/3) = 0, 0, 1; half-pixel floor((d + .5) * 2/3) = 0, 1, 1
  const std::vector<uint8_t> small = {0, 1, 2, 3};
  CHECK(picked(ResizeMapping::kLegacy, small, 2, 2, 3) == std::vector<int>{0, 0, 1, 0, 0, 1, 2, 2, 3});
  CHECK(picked(ResizeMapping::kHalfPixel, small, 2, 2, 3) == std::vector<int>{0, 1, 1, 2, 3, 3, 2, 3, 3});
}
