// engine/predict: the float-plane bilinear resize used to bring probabilities back to the image's size.
#include <catch2/catch.hpp>

#include "engine/predict.h"
#include "engine/rng.h"

using namespace fcn;

TEST_CASE("resize_plane is the identity at the same size and matches resize_image_ref's arithmetic", "[predict]") {
  const int h = 7, w = 11;
  SplitMix64 rng(3);
  std::vector<uint8_t> gray(size_t(h) * w), rgb(size_t(h) * w * 3);
  std::vector<float> plane(size_t(h) * w);
  for (size_t i = 0; i < gray.size(); ++i) {
    gray[i] = uint8_t(rng.next() % 256);
    plane[i] = float(gray[i]);
    for (int c = 0; c < 3; ++c) rgb[i * 3 + c] = gray[i];
  }
  std::vector<float> same(plane.size());
  resize_plane(same.data(), plane.data(), h, w, h, w, ResizeMapping::kLegacy);
  CHECK(same == plane);

  // A square target, so the reference image resize applies; the same taps and the same float operations
  // must give the same bits for each mapping.
  for (ResizeMapping mapping : {ResizeMapping::kLegacy, ResizeMapping::kHalfPixel}) {
    const int s = 9;
    std::vector<float> mine(size_t(s) * s), ref(size_t(s) * s * 3);
    resize_plane(mine.data(), plane.data(), h, w, s, s, mapping);
    resize_image_ref(ref.data(), rgb.data(), h, w, s, mapping);
    for (int i = 0; i < s * s; ++i) REQUIRE(mine[i] == ref[size_t(i) * 3]);
  }
}
