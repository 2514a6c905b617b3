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

TEST_CASE("prediction_file_names: every output name distinct, class names made safe", "[predict]") {
  const auto one = prediction_file_names({"a/x.png", "b/x.jpg", "x-2.png", "a/x.png"}, {"car"}, {1}, "out");
  REQUIRE(one.size() == 4);
  CHECK(one[0].probability == std::vector<std::string>{"out/x.probability.png"});
  CHECK(one[0].overlay == std::vector<std::string>{"out/x.overlay.png"});
  CHECK(one[1].probability[0] == "out/x-3.probability.png");  // x-2 is another input's own stem
  CHECK(one[2].probability[0] == "out/x-2.probability.png");
  CHECK(one[3].probability[0] == "out/x-4.probability.png");  // the same image twice

  const auto classes = prediction_file_names({"x.png"}, {"car", "a/b", "a b", ".."}, {1, 2, 3, 4}, "out");
  REQUIRE(classes[0].probability.size() == 4);
  CHECK(classes[0].probability[0] == "out/x.probability.car.png");
  CHECK(classes[0].probability[1] == "out/x.probability.a_b-2.png");  // "a/b" and "a b" both give a_b
  CHECK(classes[0].probability[2] == "out/x.probability.a_b-3.png");
  CHECK(classes[0].overlay[3] == "out/x.overlay.class.png");
}
