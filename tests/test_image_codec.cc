// Image codec: PNG/JPEG/BMP round trips, channel conversions, size checks before decoding, bad bytes,
// JPEG through libjpeg (gray, CMYK, the CVE-2022-28042 bytes, cuts, damage, huge headers, endless scans),
// and whole-file I/O.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <stb_image.h>
#include <stb_image_write.h>

#include <cstdio>
#include <cstdlib>

#include <jpeglib.h>

#include "io/image_codec.h"
#include "io/jpeg_decode.h"
#include "io_test_util.h"
#include "jpeg_test_util.h"

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

namespace {

// A smooth RGB gradient [h, w, 3]: JPEG keeps it well.
std::vector<uint8_t> smooth_rgb(int h, int w) {
  std::vector<uint8_t> rgb(size_t(h) * w * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) rgb[(size_t(y) * w + x) * 3 + c] = uint8_t(40 + 3 * x + 2 * y + 20 * c);
  return rgb;
}

// Position of the first marker `code` (ff code) at or after `from`, or npos.
size_t find_marker(const std::string& jpeg, unsigned char code, size_t from = 0) {
  for (size_t i = from; i + 1 < jpeg.size(); ++i)
    if (uint8_t(jpeg[i]) == 0xFF && uint8_t(jpeg[i + 1]) == code) return i;
  return std::string::npos;
}

}  // namespace

TEST_CASE("image_codec: JPEG goes through libjpeg, stb has no JPEG decoder", "[io][image_codec][jpeg]") {
  const std::vector<uint8_t> rgb = smooth_rgb(24, 40);
  const std::string jpeg = encode_jpeg(rgb.data(), 24, 40, 3, 90);
  int w = 0, h = 0, c = 0;
  REQUIRE(peek_image_size(jpeg.data(), jpeg.size(), &w, &h, &c));
  CHECK((w == 40 && h == 24 && c == 3));
  CHECK_FALSE(image_is_16_bit(jpeg.data(), jpeg.size()));
  // stb_image is compiled with STBI_NO_JPEG: its JPEG code (CVE-2022-28042) is not in the binary at all.
  CHECK(stbi_info_from_memory(reinterpret_cast<const stbi_uc*>(jpeg.data()), int(jpeg.size()), &w, &h, &c) == 0);

  // Gray JPEG: one stored component, repeated into RGB; decoded to 1 channel it is the same plane.
  std::vector<uint8_t> gray(24 * 40);
  for (size_t i = 0; i < gray.size(); ++i) gray[i] = rgb[3 * i];
  const std::string gray_jpeg = libjpeg_bytes(gray, 24, 40, 1, JCS_GRAYSCALE, false);
  DecodedImage as_rgb, as_gray;
  std::string error;
  REQUIRE(decode_image(gray_jpeg.data(), gray_jpeg.size(), 3, 10000, &as_rgb, &error));
  REQUIRE(decode_image(gray_jpeg.data(), gray_jpeg.size(), 1, 10000, &as_gray, &error));
  CHECK(as_rgb.source_channels == 1);
  CHECK(as_gray.channels == 1);
  REQUIRE(as_gray.pixels.size() * 3 == as_rgb.pixels.size());
  bool repeated = true;
  for (size_t i = 0; i < as_gray.pixels.size(); ++i)
    for (int k = 0; k < 3; ++k) repeated &= as_rgb.pixels[3 * i + size_t(k)] == as_gray.pixels[i];
  CHECK(repeated);
}

TEST_CASE("jpeg_decode: the functions themselves", "[io][image_codec][jpeg]") {
  const std::vector<uint8_t> rgb = smooth_rgb(10, 12);
  const std::string jpeg = encode_jpeg(rgb.data(), 10, 12, 3, 90);
  JpegHeader header;
  std::string error;
  REQUIRE(read_jpeg_header(jpeg.data(), jpeg.size(), &header, &error));
  CHECK((header.width == 12 && header.height == 10 && header.components == 3));
  DecodedImage image;
  REQUIRE(decode_jpeg(jpeg.data(), jpeg.size(), 3, 120, &image, &error));  // exactly the limit
  CHECK((image.width == 12 && image.height == 10 && image.channels == 3 && image.pixels.size() == 360));
  CHECK_FALSE(decode_jpeg(jpeg.data(), jpeg.size(), 3, 119, &image, &error));
  CHECK(error == "JPEG of 12x10 = 120 pixels, over the pixel limit of 119 pixels");
  CHECK(image.pixels.empty());  // a failed decode leaves no pixels behind
  CHECK_FALSE(decode_jpeg(jpeg.data(), jpeg.size(), 4, 1000, &image, &error));
  CHECK(error == "decode_jpeg: channels must be 1 or 3");
  CHECK_FALSE(read_jpeg_header("\xff\xd8\xff", 3, &header, &error));
  CHECK(error == "unreadable JPEG header: the data ends before the image is complete (a cut or truncated file?)");
}

TEST_CASE("image_codec: a CMYK JPEG becomes RGB by TensorFlow's formula", "[io][image_codec][jpeg]") {
  // Adobe's marker is there, so TensorFlow takes r = k * c / 255 on the stored (inverted) values.
  const uint8_t cmyk[4] = {200, 100, 50, 128};
  std::vector<uint8_t> plane(16 * 16 * 4);
  for (size_t i = 0; i < plane.size(); ++i) plane[i] = cmyk[i % 4];
  const std::string jpeg = libjpeg_bytes(plane, 16, 16, 4, JCS_CMYK, false);
  int w = 0, h = 0, c = 0;
  REQUIRE(peek_image_size(jpeg.data(), jpeg.size(), &w, &h, &c));
  CHECK(c == 4);
  DecodedImage image;
  std::string error;
  REQUIRE(decode_image(jpeg.data(), jpeg.size(), 3, 1000, &image, &error));
  CHECK(image.source_channels == 4);
  REQUIRE(image.pixels.size() == 16 * 16 * 3);
  for (int k = 0; k < 3; ++k) {
    INFO("channel " << k);
    CHECK(std::abs(int(image.pixels[size_t(k)]) - 128 * cmyk[k] / 255) <= 2);  // quality 100: within 2
  }
  // libjpeg has no CMYK to gray conversion; TensorFlow fails there too.
  CHECK_FALSE(decode_image(jpeg.data(), jpeg.size(), 1, 1000, &image, &error));
  CHECK(error.find("cannot decode JPEG") != std::string::npos);
}

TEST_CASE("image_codec: hostile and cut JPEGs return a clear error", "[io][image_codec][jpeg]") {
  DecodedImage image;
  std::string error;
  SECTION("CVE-2022-28042: the 9 bytes that overflow stb_image's Huffman tables") {
    const std::string cve("\xff\xd8\xff\xc4\x01\xa2\x00\x9b\xff", 9);
    CHECK_FALSE(peek_image_size(cve.data(), cve.size(), nullptr, nullptr, nullptr));
    CHECK_FALSE(decode_image(cve.data(), cve.size(), 3, 1000, &image, &error));
    INFO(error);
    CHECK(error.find("JPEG") != std::string::npos);
    CHECK(error.find("the data ends before the image is complete") != std::string::npos);
    CHECK(image.pixels.empty());
  }
  const std::vector<uint8_t> rgb = smooth_rgb(48, 64);
  const std::string jpeg = encode_jpeg(rgb.data(), 48, 64, 3, 90);
  SECTION("cut anywhere: refused (tf.image.decode_image refuses too), never a partial image") {
    for (size_t keep : {size_t(3), size_t(20), jpeg.size() / 3, jpeg.size() - 10, jpeg.size() - 2}) {
      const std::string cut = jpeg.substr(0, keep);
      INFO("kept " << keep << " of " << jpeg.size());
      CHECK_FALSE(decode_image(cut.data(), cut.size(), 3, 10000, &image, &error));
      INFO(error);
      CHECK(error.find("the data ends before the image is complete") != std::string::npos);
    }
  }
  SECTION("garbage after the JPEG magic: libjpeg's own words") {
    const std::string garbage = std::string("\xff\xd8\xff", 3) + "this is no JPEG marker segment at all";
    CHECK_FALSE(decode_image(garbage.data(), garbage.size(), 3, 10000, &image, &error));
    INFO(error);
    CHECK(error.find("unreadable JPEG header: ") == 0);
    CHECK(error.size() > std::string("unreadable JPEG header: ").size());
  }
  SECTION("flipped bytes in the image data: an image of the right size or an error, never a crash") {
    const size_t data_start = find_marker(jpeg, 0xDA);  // SOS
    REQUIRE(data_start != std::string::npos);
    int decoded = 0;
    for (size_t position = data_start + 20; position + 2 < jpeg.size(); position += 37) {
      std::string bad = jpeg;
      bad[position] = char(bad[position] ^ 0xA5);
      if (decode_image(bad.data(), bad.size(), 3, 10000, &image, &error)) {
        CHECK((image.width == 64 && image.height == 48 && image.pixels.size() == 64 * 48 * 3));
        ++decoded;
      } else {
        CHECK_FALSE(error.empty());
      }
    }
    CHECK(decoded > 0);  // libjpeg mends most entropy damage with a warning, as TensorFlow accepts
  }
  SECTION("a header over the pixel limit is refused before decoding") {
    std::string huge = jpeg;
    const size_t sof = find_marker(huge, 0xC0);  // baseline SOF0: ff c0, length, precision, height, width
    REQUIRE(sof != std::string::npos);
    huge[sof + 5] = char(30000 >> 8);
    huge[sof + 6] = char(30000 & 0xFF);
    huge[sof + 7] = char(20000 >> 8);
    huge[sof + 8] = char(20000 & 0xFF);
    int w = 0, h = 0, c = 0;
    REQUIRE(peek_image_size(huge.data(), huge.size(), &w, &h, &c));
    CHECK((w == 20000 && h == 30000));
    CHECK_FALSE(decode_image(huge.data(), huge.size(), 3, 64ll * 1000 * 1000, &image, &error));
    INFO(error);
    CHECK(error.find("JPEG of 20000x30000 = 600000000 pixels, over the pixel limit of 64000000 pixels") !=
          std::string::npos);
  }
  SECTION("a progressive JPEG with more scans than any real one is refused") {
    const std::string progressive = libjpeg_bytes(smooth_rgb(16, 16), 16, 16, 3, JCS_RGB, true);
    REQUIRE(decode_image(progressive.data(), progressive.size(), 3, 10000, &image, &error));  // 10 scans: fine
    // Its last scan (an AC refinement) again and again: libjpeg only warns about the bogus progression
    // and would go on, so the scan limit is what stops it.
    size_t sos = std::string::npos;
    for (size_t at = find_marker(progressive, 0xDA); at != std::string::npos;
         at = find_marker(progressive, 0xDA, at + 2)) {
      sos = at;
    }
    const size_t eoi = find_marker(progressive, 0xD9, sos);
    REQUIRE(sos != std::string::npos);
    REQUIRE(eoi != std::string::npos);
    const std::string scan = progressive.substr(sos, eoi - sos);
    std::string many = progressive.substr(0, eoi);
    for (int i = 0; i < kMaxJpegScans + 5; ++i) many += scan;
    many += std::string("\xff\xd9", 2);
    CHECK_FALSE(decode_image(many.data(), many.size(), 3, 10000, &image, &error));
    INFO(error);
    CHECK(error.find("more than 1000 scans") != std::string::npos);
  }
}

TEST_CASE("image_codec: bad bytes and huge headers are refused without decoding", "[io][image_codec]") {
  DecodedImage image;
  std::string error;
  std::string garbage = "this is not an image at all";
  CHECK_FALSE(decode_image(garbage.data(), garbage.size(), 3, 1000, &image, &error));
  CHECK(error.find("not a PNG, JPEG, GIF or BMP") != std::string::npos);
  CHECK_FALSE(decode_image("", 0, 3, 1000, &image, &error));
  CHECK_FALSE(peek_image_size(garbage.data(), garbage.size(), nullptr, nullptr, nullptr));

  // Headers claiming 20000 x 20000 (400 M pixels) with no data: refused from the header alone, naming the
  // size and the limit. (stb_image itself calls an RGB one "unknown image type": it refuses w * h * 3 over
  // 2^30 in stbi_info and then tries the other formats.)
  struct Huge {
    const char* name;
    std::string bytes;
  };
  const std::vector<Huge> huge = {
      {"gray PNG", png_header_only(20000, 20000, 8, 0)},
      {"RGB PNG", png_header_only(20000, 20000, 8, 2)},
      {"RGBA 16-bit PNG", png_header_only(20000, 20000, 16, 6)},
      {"GIF", gif_header_only(20000, 20000)},
      {"BMP", bmp_header_only(20000, 20000, 24)},
      {"top-down BMP", bmp_header_only(20000, -20000, 32)},
  };
  for (const Huge& h : huge) {
    INFO(h.name);
    CHECK_FALSE(decode_image(h.bytes.data(), h.bytes.size(), 3, 64ll * 1000 * 1000, &image, &error));
    INFO(error);
    CHECK(error.find("of 20000x20000 = 400000000 pixels, over the pixel limit of 64000000 pixels") !=
          std::string::npos);
    int w = 0, hh = 0;
    CHECK(peek_image_size(h.bytes.data(), h.bytes.size(), &w, &hh, nullptr));
    CHECK((w == 20000 && hh == 20000));
  }

  // A PNG cut in the middle of its data.
  std::vector<uint8_t> rgb = pattern_rgb(20, 20);
  std::string png = encode_png(rgb.data(), 20, 20, 3);
  std::string cut = png.substr(0, png.size() / 2);
  CHECK_FALSE(decode_image(cut.data(), cut.size(), 3, 1000, &image, &error));
  CHECK_FALSE(error.empty());

  CHECK_FALSE(decode_image(png.data(), png.size(), 2, 1000, &image, &error));  // only 1 or 3 channels
  CHECK_FALSE(decode_image(png.data(), png.size(), 3, 399, &image, &error));   // 400 pixels, limit 399
  CHECK(error == "PNG of 20x20 = 400 pixels, over the pixel limit of 399 pixels");
  CHECK(decode_image(png.data(), png.size(), 3, 400, &image, &error));  // exactly at the limit: fine

  // Headers that cannot be: the header's own words, not stb's.
  CHECK_FALSE(decode_image(png.data(), 20, 3, 1000, &image, &error));
  CHECK(error == "unreadable PNG header: the file ends before the IHDR chunk is complete");
  const std::string odd_type = png_header_only(5, 5, 8, 5);
  CHECK_FALSE(decode_image(odd_type.data(), odd_type.size(), 3, 1000, &image, &error));
  CHECK(error == "unreadable PNG header: colour type 5");
}

TEST_CASE("image_codec: a PNG chunk longer than the file is refused before stb reserves it", "[io][image_codec]") {
  // stb_image reserves an IDAT chunk's declared length before reading it: a PNG of about a hundred bytes
  // whose IDAT claimed 2113929293 made it allocate 2 GB (found by tests/fuzz/fuzz_image).
  std::string png = handmade_png(5, 6, 8, 0, std::string(30, '\x11'));
  const size_t idat = 8 + 25;  // after the signature and the IHDR chunk (length, type, 13 bytes, CRC)
  REQUIRE(png.substr(idat + 4, 4) == "IDAT");
  DecodedImage image;
  std::string error;
  REQUIRE(decode_image(png.data(), png.size(), 1, 1000, &image, &error));
  png.replace(idat, 4, std::string("\x7e\x00\x00\x4d", 4));
  CHECK_FALSE(decode_image(png.data(), png.size(), 1, 1000, &image, &error));
  CHECK(error == "PNG chunk 'IDAT' at byte 33 declares 2113929293 bytes, past the end of the " +
                     std::to_string(png.size()) + "-byte file (a cut or damaged file?)");
  // The header alone is still readable: peek_image_size looks no further than IHDR.
  int w = 0, h = 0;
  CHECK((peek_image_size(png.data(), png.size(), &w, &h, nullptr) && w == 5 && h == 6));
}

TEST_CASE("image_codec: a GIF decodes through stb, within the limit", "[io][image_codec]") {
  // A 2x2 GIF87a: global colour table of 2 entries, one image with LZW minimum code size 2.
  const std::string gif("GIF87a\x02\x00\x02\x00\x80\x00\x00"      // screen 2x2, global table of 2
                        "\xff\x00\x00\x00\x00\xff"                  // red, blue
                        "\x2c\x00\x00\x00\x00\x02\x00\x02\x00\x00"  // image descriptor 2x2
                        "\x02\x03\x44\x02\x05\x00\x3b",          // LZW: clear 0 1 1 0 end; trailer
                        36);
  DecodedImage image;
  std::string error;
  REQUIRE(decode_image(gif.data(), gif.size(), 3, 100, &image, &error));
  INFO(error);
  CHECK(image.pixels == std::vector<uint8_t>{255, 0, 0, 0, 0, 255, 0, 0, 255, 255, 0, 0});
  int c = 0;
  REQUIRE(peek_image_size(gif.data(), gif.size(), nullptr, nullptr, &c));
  CHECK(c == 3);  // the header's answer: palette colours (stb itself reports 4 for a GIF)
  CHECK_FALSE(decode_image(gif.data(), gif.size(), 3, 3, &image, &error));  // 4 pixels, limit 3
  CHECK(error == "GIF of 2x2 = 4 pixels, over the pixel limit of 3 pixels");
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

TEST_CASE("write_file replaces a file whole and leaves nothing behind when it fails", "[io][image_codec]") {
  TempDir dir("write_file");
  const std::string path = dir.file("out.png");
  write_file(path, "first");
  write_file(path, "second, longer");
  CHECK(read_file(path) == "second, longer");
  std::filesystem::create_directories(dir.file("taken"));  // a folder where the file should go
  CHECK_THROWS_WITH(write_file(dir.file("taken"), "bytes"), Catch::Contains("cannot write") && Catch::Contains("taken"));
  CHECK(std::filesystem::is_directory(dir.file("taken")));
  CHECK_FALSE(std::filesystem::exists(dir.file("taken.tmp")));
  CHECK_THROWS_WITH(write_file(dir.file("no/folder/x.png"), "bytes"), Catch::Contains("cannot create"));
}
