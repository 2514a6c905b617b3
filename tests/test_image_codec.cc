// Image codec: PNG/JPEG/BMP round trips, channel conversions, size checks before decoding, bad bytes,
// and whole-file I/O.
#include <catch2/catch.hpp>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include <stb_image_write.h>

#include "io/image_codec.h"
#include "io_test_util.h"

using namespace fcn;
using namespace fcn::test;

TEST_CASE("image_codec: PNG round trip is exact for 1 and 3 channels", "[io][image_codec]") {
  std::vector<uint8_t> rgb = pattern_rgb(7, 9);
  std::string png = encode_png(rgb.data(), 7, 9, 3);
  DecodedImage image;
  std::string error;
  REQUIRE(decode_image(png.data(), png.size(), 3, 1000, &image, &error));
  CHECK(image.height == 7);
  CHECK(image.width == 9);
  CHECK(image.channels == 3);
  CHECK(image.source_channels == 3);
  CHECK(image.pixels == rgb);

  std::vector<uint8_t> gray = box_label(7, 9, 2, 5, 3, 8, 200);
  std::string gray_png = encode_png(gray.data(), 7, 9, 1);
  REQUIRE(decode_image(gray_png.data(), gray_png.size(), 1, 1000, &image, &error));
  CHECK(image.source_channels == 1);
  CHECK(image.pixels == gray);

  int w = 0, h = 0, c = 0;
  REQUIRE(peek_image_size(gray_png.data(), gray_png.size(), &w, &h, &c));
  CHECK((w == 9 && h == 7 && c == 1));
  CHECK_FALSE(image_is_16_bit(gray_png.data(), gray_png.size()));
}

TEST_CASE("image_codec: gray expands to RGB, alpha is dropped, RGB to gray is luma", "[io][image_codec]") {
  std::vector<uint8_t> gray = {0, 50, 100, 255};  // 2x2
  std::string gray_png = encode_png(gray.data(), 2, 2, 1);
  DecodedImage image;
  std::string error;
  REQUIRE(decode_image(gray_png.data(), gray_png.size(), 3, 100, &image, &error));
  for (int i = 0; i < 4; ++i) {
    CHECK(image.pixels[3 * i] == gray[i]);
    CHECK(image.pixels[3 * i + 1] == gray[i]);
    CHECK(image.pixels[3 * i + 2] == gray[i]);
  }

  std::vector<uint8_t> rgba = {10, 20, 30, 0, 40, 50, 60, 255};  // 1x2, alpha 0 and 255
  std::string rgba_png = encode_png(rgba.data(), 1, 2, 4);
  REQUIRE(decode_image(rgba_png.data(), rgba_png.size(), 3, 100, &image, &error));
  CHECK(image.source_channels == 4);
  CHECK(image.pixels == std::vector<uint8_t>{10, 20, 30, 40, 50, 60});  // not premultiplied

  std::vector<uint8_t> colors = {255, 0, 0, 0, 255, 0, 0, 0, 255, 90, 90, 90};  // 1x4
  std::string color_png = encode_png(colors.data(), 1, 4, 3);
  REQUIRE(decode_image(color_png.data(), color_png.size(), 1, 100, &image, &error));
  // luma (77 r + 150 g + 29 b) / 256, stb_image's integer weights: within 1 of 0.299/0.587/0.114.
  CHECK(std::abs(int(image.pixels[0]) - 76) <= 1);
  CHECK(std::abs(int(image.pixels[1]) - 150) <= 1);
  CHECK(std::abs(int(image.pixels[2]) - 29) <= 1);
  CHECK(std::abs(int(image.pixels[3]) - 90) <= 1);
}

TEST_CASE("image_codec: JPEG and BMP decode", "[io][image_codec]") {
  const int h = 32, w = 48;
  std::vector<uint8_t> smooth(size_t(h) * w * 3);  // gentle gradients: JPEG keeps them well
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) smooth[(size_t(y) * w + x) * 3 + c] = uint8_t(40 + 3 * x + 2 * y + 20 * c);
  std::string jpeg = encode_jpeg(smooth.data(), h, w, 3, 95);
  REQUIRE(jpeg.size() > 3);
  CHECK(uint8_t(jpeg[0]) == 0xFF);
  DecodedImage image;
  std::string error;
  REQUIRE(decode_image(jpeg.data(), jpeg.size(), 3, 10000, &image, &error));
  REQUIRE(image.pixels.size() == smooth.size());
  double total_error = 0;
  for (size_t i = 0; i < smooth.size(); ++i) total_error += std::abs(int(image.pixels[i]) - int(smooth[i]));
  // Quality 95 on a smooth gradient: mean error a few levels at most (chroma subsampling included).
  CHECK(total_error / double(smooth.size()) < 3.0);

  std::string bmp;
  stbi_write_bmp_to_func([](void* ctx, void* data, int size) {
                           static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), size_t(size));
                         },
                         &bmp, w, h, 3, smooth.data());
  REQUIRE(decode_image(bmp.data(), bmp.size(), 3, 10000, &image, &error));
  CHECK(image.pixels == smooth);
}

TEST_CASE("image_codec: bad bytes and huge headers are refused without decoding", "[io][image_codec]") {
  DecodedImage image;
  std::string error;
  std::string garbage = "this is not an image at all";
  CHECK_FALSE(decode_image(garbage.data(), garbage.size(), 3, 1000, &image, &error));
  CHECK(error.find("not a PNG, JPEG, GIF or BMP") != std::string::npos);
  CHECK_FALSE(decode_image("", 0, 3, 1000, &image, &error));
  CHECK_FALSE(peek_image_size(garbage.data(), garbage.size(), nullptr, nullptr, nullptr));

  // A PNG whose header claims 20000 x 20000 (400 M pixels) with no data: refused from the header alone.
  std::string huge = handmade_png(20000, 20000, 8, 0, "", {});
  huge = huge.substr(0, 33);  // signature + IHDR only
  CHECK_FALSE(decode_image(huge.data(), huge.size(), 3, 64ll * 1000 * 1000, &image, &error));
  INFO(error);
  CHECK(error.find("over the limit") != std::string::npos);

  // A PNG cut in the middle of its data.
  std::vector<uint8_t> rgb = pattern_rgb(20, 20);
  std::string png = encode_png(rgb.data(), 20, 20, 3);
  std::string cut = png.substr(0, png.size() / 2);
  CHECK_FALSE(decode_image(cut.data(), cut.size(), 3, 1000, &image, &error));
  CHECK_FALSE(error.empty());

  CHECK_FALSE(decode_image(png.data(), png.size(), 2, 1000, &image, &error));  // only 1 or 3 channels
  CHECK_FALSE(decode_image(png.data(), png.size(), 3, 399, &image, &error));   // 400 pixels, limit 399
}

TEST_CASE("image_codec: paletted and 16-bit PNGs", "[io][image_codec]") {
  // 3x1 paletted: indices 0, 1, 2 -> palette colours; stb applies the palette (RGB out).
  std::vector<uint8_t> palette = {0, 0, 0, 1, 128, 64, 2, 255, 255};
  std::string paletted = handmade_png(3, 1, 8, 3, std::string("\x00\x01\x02", 3), palette);
  int w = 0, h = 0, c = 0;
  REQUIRE(peek_image_size(paletted.data(), paletted.size(), &w, &h, &c));
  CHECK((w == 3 && h == 1 && c == 3));
  DecodedImage image;
  std::string error;
  REQUIRE(decode_image(paletted.data(), paletted.size(), 3, 100, &image, &error));
  CHECK(image.pixels == std::vector<uint8_t>{0, 0, 0, 1, 128, 64, 2, 255, 255});

  std::string sixteen = handmade_png(2, 1, 16, 0, std::string("\x00\x01\x01\x00", 4));
  CHECK(image_is_16_bit(sixteen.data(), sixteen.size()));
}

TEST_CASE("image_codec: read_file and write_file", "[io][image_codec]") {
  TempDir dir("image_codec_files");
  std::string bytes("\x00\x01\xff binary \n\r", 13);
  write_file(dir.file("b.bin"), bytes);
  CHECK(read_file(dir.file("b.bin")) == bytes);
  write_file(dir.file("empty.bin"), "");
  CHECK(read_file(dir.file("empty.bin")).empty());
  CHECK_THROWS_AS(read_file(dir.file("missing.bin")), std::runtime_error);
  CHECK_THROWS_AS(write_file(dir.file("no/folder/x.bin"), bytes), std::runtime_error);
}
