// [gpu] resize kernels (kernels/cuda/resize.cuh) against resize_image_ref / resize_targets_ref on one
// packed batch of images of different odd sizes (smaller, larger and equal to the output size, 1x1),
// and on a full training-size batch (8 x 512 x 512 from images up to 2000 x 1500); both mappings,
// bilinear and nearest targets.
#include <catch2/catch.hpp>

#include <cstdio>

#include "kernels/cpu/reference.h"
#include "kernels/cuda/resize.cuh"
#include "tests/gpu/gpu_test_util.h"

namespace fcn {
namespace {

struct PackedBatch {
  std::vector<uint8_t> bytes;
  std::vector<ResizeSampleInfo> info;
};

// Images and labels packed back to back with no padding, so offsets are odd and unaligned.
PackedBatch make_packed_batch(const std::vector<std::pair<int, int>>& sizes, uint64_t seed) {
  const uint8_t label_values[] = {0, 1, 2, 3, 200};
  PackedBatch batch;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const int height = sizes[i].first, width = sizes[i].second;
    ResizeSampleInfo info;
    info.height = height;
    info.width = width;
    info.image_offset = batch.bytes.size();
    const auto image = test::random_bytes(size_t(height) * width * 3, 0, 255, seed + 2 * i);
    batch.bytes.insert(batch.bytes.end(), image.begin(), image.end());
    info.label_offset = batch.bytes.size();
    const auto picks = test::random_bytes(size_t(height) * width, 0, 4, seed + 2 * i + 1);
    for (uint8_t p : picks) batch.bytes.push_back(label_values[p]);
    batch.info.push_back(info);
  }
  return batch;
}

const std::vector<std::pair<int, int>> kSampleSizes = {{7, 5}, {13, 17}, {1, 1}, {40, 3}, {23, 23}, {61, 70}};

// Every sample of resize_images_cuda's output against resize_image_ref, both mappings.
void check_images(const PackedBatch& packed, int size) {
  const int batch_count = static_cast<int>(packed.info.size());
  DeviceBuffer<uint8_t> bytes(packed.bytes);
  DeviceBuffer<ResizeSampleInfo> info(packed.info);
  const size_t per_sample = size_t(size) * size * 3;
  DeviceBuffer<float> x(per_sample * batch_count);

  for (ResizeMapping mapping : {ResizeMapping::kLegacy, ResizeMapping::kHalfPixel}) {
    x.poison();
    resize_images_cuda(x.get(), bytes.get(), info.get(), batch_count, size, mapping, nullptr);
    const std::vector<float> got = x.download();
    for (int b = 0; b < batch_count; ++b) {
      const ResizeSampleInfo& s = packed.info[b];
      std::vector<float> want(per_sample);
      resize_image_ref(want.data(), packed.bytes.data() + s.image_offset, s.height, s.width, size, mapping);
      const std::vector<float> got_b(got.begin() + b * per_sample, got.begin() + (b + 1) * per_sample);
      const double err = test::max_abs_diff(got_b, want);
      std::printf("resize image %dx%d -> %d mapping %d: max |err| %.3g\n", s.height, s.width, size, int(mapping),
                  err);
      INFO("sample " << b << " (" << s.height << "x" << s.width << ") mapping " << int(mapping));
      // Values are 0..255; FMA contraction may differ between nvcc and the host compiler: see
      // test::bilinear_tolerance (3.0e-3 for a 61x70 sample). A wrong tap or offset is off by ~100.
      CHECK(err <= test::bilinear_tolerance(s.height, s.width, 255.0));
      if (s.height == size && s.width == size) {
        CHECK(err == 0.0);  // same size: the taps hit pixels exactly, output = input
      }
    }
  }
}

// Every sample of resize_targets_cuda's output against resize_targets_ref, both mappings, bilinear and
// nearest.
void check_targets(const PackedBatch& packed, int size, const std::vector<int>& class_values) {
  const int batch_count = static_cast<int>(packed.info.size());
  const int num_classes = static_cast<int>(class_values.size());
  DeviceBuffer<uint8_t> bytes(packed.bytes);
  DeviceBuffer<ResizeSampleInfo> info(packed.info);
  DeviceBuffer<int> classes(class_values);
  const size_t per_sample = size_t(size) * size * num_classes;
  DeviceBuffer<float> targets(per_sample * batch_count);

  for (ResizeMapping mapping : {ResizeMapping::kLegacy, ResizeMapping::kHalfPixel}) {
    for (bool nearest : {false, true}) {
      targets.poison();
      resize_targets_cuda(targets.get(), bytes.get(), info.get(), classes.get(), num_classes, batch_count, size,
                          mapping, nearest, nullptr);
      const std::vector<float> got = targets.download();
      for (int b = 0; b < batch_count; ++b) {
        const ResizeSampleInfo& s = packed.info[b];
        std::vector<float> want(per_sample);
        resize_targets_ref(want.data(), packed.bytes.data() + s.label_offset, s.height, s.width, size,
                           class_values.data(), num_classes, mapping, nearest);
        const std::vector<float> got_b(got.begin() + b * per_sample, got.begin() + (b + 1) * per_sample);
        const double err = test::max_abs_diff(got_b, want);
        INFO("sample " << b << " (" << s.height << "x" << s.width << ") mapping " << int(mapping) << " nearest "
                       << nearest);
        if (nearest) {
          CHECK(err == 0.0);  // one multiply and a floor, no rounding freedom: exact
        } else {
          // Masks are 0/1: the same bound as for images with range 1 (1.2e-5 for a 61x70 sample).
          CHECK(err <= test::bilinear_tolerance(s.height, s.width, 1.0));
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("resize_images_cuda matches resize_image_ref on a packed batch of odd sizes", "[gpu][resize]") {
  check_images(make_packed_batch(kSampleSizes, 11), 23);
}

TEST_CASE("resize_targets_cuda matches resize_targets_ref (bilinear and nearest)", "[gpu][resize]") {
  check_targets(make_packed_batch(kSampleSizes, 29), 19, {1, 3, 200});
}

TEST_CASE("resize kernels at batch 8 x 512 x 512 from camera-sized images", "[gpu][resize]") {
  // The training shape: 2M output pixels (a grid of 8192 blocks), a 25 MB packed batch whose later
  // samples sit more than 16 MB in, up- and downscaling, 1-pixel-wide strips.
  const std::vector<std::pair<int, int>> sizes = {{1080, 1920}, {512, 512}, {700, 1001}, {333, 517},
                                                  {2000, 1500}, {64, 64},   {1, 900},    {900, 1}};
  const PackedBatch packed = make_packed_batch(sizes, 47);
  REQUIRE(packed.info.back().label_offset > (size_t(1) << 24));
  check_images(packed, 512);
  check_targets(packed, 512, {3});
}

TEST_CASE("resize kernels accept an empty batch", "[gpu][resize]") {
  DeviceBuffer<float> x(1);
  resize_images_cuda(x.get(), nullptr, nullptr, 0, 16, ResizeMapping::kLegacy, nullptr);
  resize_targets_cuda(x.get(), nullptr, nullptr, nullptr, 1, 0, 16, ResizeMapping::kLegacy, false, nullptr);
  CUDA_CHECK(cudaDeviceSynchronize());
  SUCCEED("no launch, no fault");
}

}  // namespace fcn
