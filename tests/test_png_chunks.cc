// io/png_chunks: chunk lengths checked against the file, and empty IDAT chunks before the image data
// dropped, before stb_image sees a PNG; decode_image through it.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "io/image_codec.h"
#include "io/png_chunks.h"
#include "io_test_util.h"

using namespace fcn;
using namespace fcn::test;

namespace {

constexpr size_t kFirstChunkAfterIhdr = 8 + 25;  // the signature, then IHDR: length, type, 13 bytes, CRC

std::string gray_rows() {
  std::string rows;
  for (int i = 0; i < 30; ++i) rows += char(7 * i);
  return rows;
}

std::string empty_chunk(const char* type) {
  std::string chunk;
  png_chunk(chunk, type, "");
  return chunk;
}

}  // namespace

TEST_CASE("check_png_chunks: a chunk longer than the file is named by type and offset", "[io][png_chunks]") {
  // (decode_image's own test has the IDAT case; here a chunk whose type is not four letters.)
  std::string png = handmade_png(5, 6, 8, 0, gray_rows());
  std::string rewritten, error;
  CHECK(check_png_chunks(png.data(), png.size(), &rewritten, &error));
  CHECK(rewritten.empty());
  png.replace(kFirstChunkAfterIhdr, 8, std::string("\x00\x01\x00\x00\x01\x02\x03\x04", 8));
  CHECK_FALSE(check_png_chunks(png.data(), png.size(), &rewritten, &error));
  CHECK(error == "PNG chunk '?' at byte 33 declares 65536 bytes, past the end of the " +
                     std::to_string(png.size()) + "-byte file (a cut or damaged file?)");
  // A header alone, or bytes that stop between chunks: nothing declared is missing.
  const std::string header = png_header_only(5, 6, 8, 0);
  CHECK(check_png_chunks(header.data(), header.size(), &rewritten, &error));
  CHECK(check_png_chunks(png.data(), kFirstChunkAfterIhdr + 5, &rewritten, &error));
}

TEST_CASE("an empty IDAT chunk before the image data is dropped, and the PNG decodes", "[io][png_chunks]") {
  // stb_image copied the empty chunk into its data buffer before allocating one: memcpy to null, undefined
  // behaviour that UBSan stops at (found by tests/fuzz/fuzz_example).
  const std::string valid = handmade_png(5, 6, 8, 0, gray_rows());
  std::string png = valid;
  png.insert(kFirstChunkAfterIhdr, empty_chunk("IDAT") + empty_chunk("IDAT"));
  std::string rewritten, error;
  REQUIRE(check_png_chunks(png.data(), png.size(), &rewritten, &error));
  CHECK(rewritten == valid);

  DecodedImage image;
  REQUIRE(decode_image(png.data(), png.size(), 1, 100, &image, &error));
  CHECK(std::string(image.pixels.begin(), image.pixels.end()) == gray_rows());

  // After the data an empty IDAT is harmless to stb: the bytes are decoded as they are.
  std::string after = valid;
  after.insert(after.size() - 12, empty_chunk("IDAT"));  // before IEND
  REQUIRE(check_png_chunks(after.data(), after.size(), &rewritten, &error));
  CHECK(rewritten.empty());
  REQUIRE(decode_image(after.data(), after.size(), 1, 100, &image, &error));
  CHECK(std::string(image.pixels.begin(), image.pixels.end()) == gray_rows());
}
