// image_header: formats by magic bytes, and sizes, channels and bit depths read from PNG, GIF, BMP and
// JPEG headers alone (cut, lying and impossible headers refused with the header's own words).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "io/image_codec.h"
#include "io/image_header.h"
#include "io_test_util.h"

using namespace fcn;
using namespace fcn::test;

namespace {

ImageHeader header_of(const std::string& bytes) {
  ImageHeader h;
  std::string error;
  INFO(error);
  REQUIRE(read_image_header(bytes.data(), bytes.size(), &h, &error));
  return h;
}

std::string error_of(const std::string& bytes) {
  ImageHeader h;
  std::string error;
  CHECK_FALSE(read_image_header(bytes.data(), bytes.size(), &h, &error));
  return error;
}

}  // namespace

TEST_CASE("image_header: formats by magic bytes", "[io][image_header]") {
  CHECK(std::string(image_format_of("\x89PNG\r\n\x1a\n", 8)) == "PNG");
  CHECK(std::string(image_format_of("\xff\xd8\xff", 3)) == "JPEG");
  CHECK(std::string(image_format_of("GIF87a", 6)) == "GIF");
  CHECK(std::string(image_format_of("GIF89a", 6)) == "GIF");
  CHECK(std::string(image_format_of("BM", 2)) == "BMP");
  CHECK(image_format_of("\x89PNG\r\n\x1a", 7) == nullptr);  // one byte short
  CHECK(image_format_of("\xff\xd8", 2) == nullptr);
  CHECK(image_format_of("GIF88a", 6) == nullptr);
  CHECK(image_format_of("RIFF....WEBP", 12) == nullptr);  // WebP: TensorFlow reads it, fcn does not
  CHECK(image_format_of("", 0) == nullptr);
  std::string error;
  ImageHeader h;
  CHECK_FALSE(read_image_header("hello", 5, &h, &error));
  CHECK(error == "not a PNG, JPEG, GIF or BMP image");
}

TEST_CASE("image_header: PNG size, channels and bit depth from IHDR", "[io][image_header]") {
  struct Case {
    int color_type, bit_depth, channels;
  };
  for (const Case c : {Case{0, 8, 1}, Case{0, 1, 1}, Case{2, 8, 3}, Case{3, 4, 3}, Case{4, 8, 2}, Case{6, 16, 4}}) {
    INFO("colour type " << c.color_type << ", depth " << c.bit_depth);
    const ImageHeader h = header_of(png_header_only(123, 45, c.bit_depth, c.color_type));
    CHECK(std::string(h.format) == "PNG");
    CHECK(h.width == 123);
    CHECK(h.height == 45);
    CHECK(h.channels == c.channels);
    CHECK(h.bits_per_sample == c.bit_depth);
  }
  // The same numbers as stb reports for a real file, and image_is_16_bit from the depth.
  std::vector<uint8_t> rgb = pattern_rgb(7, 9);
  const std::string png = encode_png(rgb.data(), 7, 9, 3);
  const ImageHeader real = header_of(png);
  CHECK((real.width == 9 && real.height == 7 && real.channels == 3 && real.bits_per_sample == 8));
  CHECK(image_is_16_bit(png_header_only(4, 4, 16, 0).data(), 33));
  CHECK_FALSE(image_is_16_bit(png.data(), png.size()));

  const std::string ok = png_header_only(10, 10, 8, 2);
  CHECK(error_of(ok.substr(0, 28)) == "unreadable PNG header: the file ends before the IHDR chunk is complete");
  std::string not_ihdr = ok;
  not_ihdr[12] = 'X';
  CHECK(error_of(not_ihdr) == "unreadable PNG header: the first chunk is not a 13-byte IHDR");
  CHECK(error_of(png_header_only(0, 10, 8, 2)) == "unreadable PNG header: size 0x10");
  CHECK(error_of(png_header_only(-1, 10, 8, 2)) == "unreadable PNG header: size 4294967295x10");
  CHECK(error_of(png_header_only(10, 10, 8, 7)) == "unreadable PNG header: colour type 7");
}

TEST_CASE("image_header: GIF logical screen and BMP info headers", "[io][image_header]") {
  const ImageHeader gif = header_of(gif_header_only(640, 65535));
  CHECK((std::string(gif.format) == "GIF" && gif.width == 640 && gif.height == 65535 && gif.channels == 3));
  CHECK(error_of(gif_header_only(0, 5)) == "unreadable GIF header: size 0x5");
  CHECK(error_of(gif_header_only(5, 5).substr(0, 9)) ==
        "unreadable GIF header: the file ends inside the logical screen descriptor");

  const ImageHeader bmp = header_of(bmp_header_only(300, 200, 24));
  CHECK((std::string(bmp.format) == "BMP" && bmp.width == 300 && bmp.height == 200 && bmp.channels == 3));
  const ImageHeader top_down = header_of(bmp_header_only(300, -200, 32));  // negative height: top-down rows
  CHECK((top_down.height == 200 && top_down.channels == 4));
  CHECK(error_of(bmp_header_only(0, 5, 24)) == "unreadable BMP header: size 0x5");
  CHECK(error_of(bmp_header_only(-3, 5, 24)) == "unreadable BMP header: size -3x5");
  CHECK(error_of(bmp_header_only(5, int(0x80000000u), 24)) == "unreadable BMP header: size 5x2147483648");
  CHECK(error_of(bmp_header_only(5, 5, 24).substr(0, 29)) ==
        "unreadable BMP header: the file ends inside the info header");
  std::string odd = bmp_header_only(5, 5, 24);
  odd[14] = 20;  // an info header of 20 bytes exists in no version of BMP
  CHECK(error_of(odd) == "unreadable BMP header: an info header of 20 bytes");
  // OS/2's 12-byte core header: 16-bit width and height.
  const std::string core =
      "BM" + std::string(12, '\0') + std::string("\x0c\x00\x00\x00\x07\x01\x09\x00\x01\x00\x18\x00", 12);
  const ImageHeader os2 = header_of(core);
  CHECK((os2.width == 263 && os2.height == 9 && os2.channels == 3));
}

TEST_CASE("image_header: JPEG frame header through libjpeg", "[io][image_header]") {
  std::vector<uint8_t> rgb = pattern_rgb(30, 50);
  const std::string jpeg = encode_jpeg(rgb.data(), 30, 50, 3, 80);
  const ImageHeader h = header_of(jpeg);
  CHECK((std::string(h.format) == "JPEG" && h.width == 50 && h.height == 30 && h.channels == 3));
  CHECK(h.bits_per_sample == 8);
  const std::string error = error_of(jpeg.substr(0, 40));
  CHECK(error.find("unreadable JPEG header: the data ends before the image is complete") == 0);
}
