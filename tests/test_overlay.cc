// Overlays, gray probability maps, the 3x5 font and progress strips (engine/overlay.h, engine/bitmap_font.h).
#include <catch2/catch.hpp>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/bitmap_font.h"
#include "engine/overlay.h"
#include "kernels/pixel_math.h"

namespace {

uint8_t expected_dim(uint8_t v) { return static_cast<uint8_t>(std::lround(v * fcn::kOverlayDim)); }

// Renders text on a black canvas just big enough and returns the canvas as '#'/'.' rows.
std::vector<std::string> render(const std::string& text, int scale) {
  const int h = fcn::kGlyphHeight * scale, w = fcn::text_width(text, scale);
  std::vector<uint8_t> canvas(h * w * 3, 0);
  const uint8_t white[3] = {255, 255, 255};
  fcn::draw_text(canvas.data(), h, w, 0, 0, text, scale, white);
  std::vector<std::string> rows(h, std::string(w, '.'));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      if (canvas[(y * w + x) * 3] == 255) rows[y][x] = '#';
  return rows;
}

}  // namespace

TEST_CASE("draw_overlay tints and outlines predicted pixels, only dims the rest", "[overlay]") {
  const int h = 9, w = 11;
  std::vector<uint8_t> rgb(h * w * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(20 + (i * 53) % 200);
  // Logits: a 5x5 square (rows 2..6, cols 3..7) positive, the rest negative; probabilities by sigmoid.
  std::vector<float> prob(h * w);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      float logit = (y >= 2 && y <= 6 && x >= 3 && x <= 7) ? 2.0f : -2.0f;
      prob[y * w + x] = fcn::sigmoid_stable(logit);
    }
  prob[0] = 0.5f;  // exactly at the threshold counts as predicted (a 1-pixel region: all boundary)
  std::vector<uint8_t> out(rgb.size());
  fcn::draw_overlay(out.data(), rgb.data(), prob.data(), h, w);

  int tinted = 0, outlined = 0;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const int i = y * w + x;
      const uint8_t* in_px = &rgb[i * 3];
      const uint8_t* out_px = &out[i * 3];
      INFO("pixel y=" << y << " x=" << x);
      if (prob[i] < 0.5f) {
        for (int c = 0; c < 3; ++c) CHECK(out_px[c] == expected_dim(in_px[c]));
        continue;
      }
      CHECK((out_px[0] != in_px[0] || out_px[1] != in_px[1] || out_px[2] != in_px[2]));
      const bool interior = y >= 3 && y <= 5 && x >= 4 && x <= 6;
      if (interior) {
        ++tinted;
        for (int c = 0; c < 3; ++c) {
          float blend = in_px[c] * (1.0f - fcn::kOverlayTintAlpha) + fcn::kOverlayTint[c] * fcn::kOverlayTintAlpha;
          CHECK(out_px[c] == static_cast<uint8_t>(std::lround(blend)));
        }
      } else {
        ++outlined;
        for (int c = 0; c < 3; ++c) CHECK(out_px[c] == fcn::kOverlayOutline[c]);
      }
    }
  }
  CHECK(tinted == 9);          // the 3x3 inside of the square
  CHECK(outlined == 16 + 1);   // the square's 16 border pixels and the lone pixel at (0, 0)

  SECTION("in place, and a higher threshold predicts nothing") {
    std::vector<uint8_t> in_place = rgb;
    fcn::draw_overlay(in_place.data(), in_place.data(), prob.data(), h, w, 0.95f);
    for (size_t i = 0; i < rgb.size(); ++i) REQUIRE(in_place[i] == expected_dim(rgb[i]));
  }
  SECTION("a region touching the image border is not outlined along the border") {
    std::vector<float> all(h * w, 1.0f);
    fcn::draw_overlay(out.data(), rgb.data(), all.data(), h, w);
    for (size_t i = 0; i < all.size(); ++i) CHECK(out[i * 3 + 1] != fcn::kOverlayOutline[1]);
  }
}

TEST_CASE("probability_to_gray maps [0, 1] to 0..255 and clamps", "[overlay]") {
  std::vector<float> prob = {0.0f, 1.0f, 0.5f, 0.25f, -3.0f, 7.0f, NAN, 0.999f};
  std::vector<uint8_t> gray(prob.size());
  fcn::probability_to_gray(gray.data(), prob.data(), prob.size());
  CHECK(gray == std::vector<uint8_t>{0, 255, 128, 64, 0, 255, 0, 255});
}

TEST_CASE("the 3x5 font draws digits and 'step'", "[overlay]") {
  CHECK(fcn::text_width("", 1) == 0);
  CHECK(fcn::text_width("step 10", 1) == 27);
  CHECK(fcn::text_width("10", 3) == 21);
  for (char c : std::string("0123456789stepSTEP -.:")) CHECK(fcn::has_glyph(c));
  CHECK_FALSE(fcn::has_glyph('x'));
  CHECK_FALSE(fcn::glyph_pixel('1', 3, 0));  // outside the glyph

  const std::vector<std::string> expected_10 = {
      ".#..###",
      "##..#.#",
      ".#..#.#",
      ".#..#.#",
      "###.###",
  };
  CHECK(render("10", 1) == expected_10);
  const std::vector<std::string> expected_step = {
      ".##.###.###.##.",
      "#....#..#...#.#",
      ".#...#..##..##.",
      "..#..#..#...#..",
      "##...#..###.#..",
  };
  CHECK(render("step", 1) == expected_step);
  CHECK(render("STEP", 1) == expected_step);

  // Every digit differs from every other one.
  for (char a = '0'; a <= '9'; ++a)
    for (char b = a + 1; b <= '9'; ++b) CHECK(render(std::string(1, a), 1) != render(std::string(1, b), 1));

  // Scale 2 doubles each font pixel; clipping at the border does not write outside the image.
  std::vector<std::string> big = render("7", 2);
  REQUIRE(big.size() == 10);
  CHECK(big[0] == "######");
  CHECK(big[9] == "..##..");
  std::vector<uint8_t> tiny(2 * 2 * 3 + 3, 9);  // 2x2 image plus a guard pixel
  const uint8_t white[3] = {255, 255, 255};
  fcn::draw_text(tiny.data(), 2, 2, -1, -1, "88", 3, white);
  CHECK(tiny[12] == 9);
  CHECK(tiny[13] == 9);
  CHECK(tiny[14] == 9);
}

TEST_CASE("select_strip_frames keeps first and last, evenly spaced", "[overlay]") {
  CHECK(fcn::select_strip_frames(0).empty());
  CHECK(fcn::select_strip_frames(3) == std::vector<int>{0, 1, 2});
  CHECK(fcn::select_strip_frames(8) == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(fcn::select_strip_frames(15) == std::vector<int>{0, 2, 4, 6, 8, 10, 12, 14});
  CHECK(fcn::select_strip_frames(9) == std::vector<int>{0, 1, 2, 3, 5, 6, 7, 8});
  CHECK(fcn::select_strip_frames(1000, 3) == std::vector<int>{0, 500, 999});
  for (int n = 9; n < 200; ++n) {
    std::vector<int> chosen = fcn::select_strip_frames(n);
    REQUIRE(chosen.size() == 8);
    REQUIRE(chosen.front() == 0);
    REQUIRE(chosen.back() == n - 1);
    for (size_t i = 1; i < chosen.size(); ++i) REQUIRE(chosen[i] > chosen[i - 1]);
  }
}

TEST_CASE("strip_label_scale and strip_label", "[overlay]") {
  CHECK(fcn::strip_label_scale(16) == 1);
  CHECK(fcn::strip_label_scale(128) == 2);
  CHECK(fcn::strip_label_scale(512) == 4);
  CHECK(fcn::strip_label(250, 128, 2) == "step 250");
  CHECK(fcn::strip_label(250, 16, 1) == "250");  // "step 250" is 31 px wide
}

TEST_CASE("make_progress_strip lays frames out with labels under them", "[overlay]") {
  const int h = 6, w = 40;  // scale 1: label band 5 + 2 * gap
  std::vector<std::vector<uint8_t>> frames;
  std::vector<int64_t> labels;
  for (int k = 0; k < 12; ++k) {
    frames.emplace_back(h * w * 3, static_cast<uint8_t>(100 + k));  // each frame one flat shade
    labels.push_back(10 * k);
  }
  std::vector<uint8_t> strip;
  int strip_h = 0, strip_w = 0;
  fcn::make_progress_strip(&strip, &strip_h, &strip_w, frames, h, w, labels);
  const int gap = fcn::kStripGap;
  REQUIRE(strip_w == 8 * w + 9 * gap);
  REQUIRE(strip_h == gap + h + 5 + 2 * gap);
  REQUIRE(strip.size() == size_t(strip_h) * strip_w * 3);

  auto pixel = [&](int y, int x) { return &strip[(size_t(y) * strip_w + x) * 3]; };
  const std::vector<int> chosen = fcn::select_strip_frames(12);
  for (int slot = 0; slot < 8; ++slot) {
    const int left = gap + slot * (w + gap);
    INFO("slot " << slot);
    // The frame's shade fills its rectangle; gaps are background.
    CHECK(pixel(gap, left)[0] == 100 + chosen[slot]);
    CHECK(pixel(gap + h - 1, left + w - 1)[2] == 100 + chosen[slot]);
    CHECK(pixel(gap, left - 1)[0] == fcn::kStripBackground[0]);
    CHECK(pixel(0, left)[0] == fcn::kStripBackground[0]);
    // The label is drawn under this frame, centred, in the text colour.
    const std::string text = fcn::strip_label(labels[chosen[slot]], w, 1);
    CHECK(text == "step " + std::to_string(10 * chosen[slot]));
    const int text_left = left + (w - fcn::text_width(text, 1)) / 2;
    int lit = 0, expected_lit = 0;
    for (int gy = 0; gy < fcn::kGlyphHeight; ++gy)
      for (int x = 0; x < fcn::text_width(text, 1); ++x) {
        bool on = fcn::glyph_pixel(text[x / fcn::kGlyphAdvance], x % fcn::kGlyphAdvance, gy);
        expected_lit += on;
        const uint8_t* p = pixel(gap + h + gap + gy, text_left + x);
        CHECK(p[0] == (on ? fcn::kStripText[0] : fcn::kStripBackground[0]));
        lit += p[0] == fcn::kStripText[0];
      }
    CHECK(lit == expected_lit);
    CHECK(lit > 0);
  }

  SECTION("few frames are all shown; none gives an empty image") {
    std::vector<std::vector<uint8_t>> two(frames.begin(), frames.begin() + 2);
    fcn::make_progress_strip(&strip, &strip_h, &strip_w, two, h, w, {5, 6});
    CHECK(strip_w == 2 * w + 3 * gap);
    fcn::make_progress_strip(&strip, &strip_h, &strip_w, {}, h, w, {});
    CHECK(strip_w == 0);
    CHECK(strip_h == 0);
    CHECK(strip.empty());
  }
  SECTION("mismatched inputs are refused") {
    CHECK_THROWS_AS(fcn::make_progress_strip(&strip, &strip_h, &strip_w, frames, h, w, {1}), std::invalid_argument);
    std::vector<std::vector<uint8_t>> wrong = {std::vector<uint8_t>(10)};
    CHECK_THROWS_AS(fcn::make_progress_strip(&strip, &strip_h, &strip_w, wrong, h, w, {1}), std::invalid_argument);
  }
}
