// TfRecordCompression: option names both ways, and detection from first bytes (plain headers, the gzip
// magic, zlib headers of every level, and the look-alikes that must stay plain).
#include <catch2/catch.hpp>

#include <string>

#include "compress_test_util.h"
#include "io/crc32c.h"
#include "io/tfrecord_compression.h"

using namespace fcn;

namespace {

// A valid 12-byte plain TFRecord header for a payload of `length` bytes.
std::string plain_header(uint64_t length) {
  std::string header(12, '\0');
  for (int i = 0; i < 8; ++i) header[size_t(i)] = char((length >> (8 * i)) & 0xFF);
  const uint32_t crc = crc32c_mask(crc32c(header.data(), 8));
  for (int i = 0; i < 4; ++i) header[size_t(8 + i)] = char((crc >> (8 * i)) & 0xFF);
  return header;
}

TfRecordCompression detect(const std::string& bytes) { return detect_tfrecord_compression(bytes.data(), bytes.size()); }

}  // namespace

TEST_CASE("tfrecord_compression: names and parsing", "[io][tfrecord][compressed]") {
  for (TfRecordCompression c : {TfRecordCompression::kAuto, TfRecordCompression::kNone, TfRecordCompression::kGzip,
                                TfRecordCompression::kZlib}) {
    TfRecordCompression parsed = TfRecordCompression::kAuto;
    REQUIRE(parse_tfrecord_compression(compression_name(c), &parsed));
    CHECK(parsed == c);
  }
  CHECK(std::string(compression_name(TfRecordCompression::kGzip)) == "gzip");
  TfRecordCompression parsed = TfRecordCompression::kNone;
  CHECK(parse_tfrecord_compression("GZIP", &parsed));  // tf.data's spelling
  CHECK(parsed == TfRecordCompression::kGzip);
  CHECK(parse_tfrecord_compression("Zlib", &parsed));
  CHECK(parsed == TfRecordCompression::kZlib);
  parsed = TfRecordCompression::kNone;
  CHECK_FALSE(parse_tfrecord_compression("", &parsed));
  CHECK_FALSE(parse_tfrecord_compression("gz", &parsed));
  CHECK_FALSE(parse_tfrecord_compression("gzip ", &parsed));
  CHECK(parsed == TfRecordCompression::kNone);  // left alone on failure
}

TEST_CASE("tfrecord_compression: detection from the first bytes", "[io][tfrecord][compressed]") {
  const std::string records = plain_header(3) + "abc" + std::string(4, '\0');
  CHECK(detect(records) == TfRecordCompression::kNone);
  CHECK(detect(test::gzip_bytes(records)) == TfRecordCompression::kGzip);
  for (int level : {0, 1, 6, 9}) {  // zlib's header differs by level (FLEVEL bits): 78 01, 78 5e, 78 9c, 78 da
    INFO("level " << level);
    CHECK(detect(test::deflate_bytes(records, test::Wrapper::kZlib, level)) == TfRecordCompression::kZlib);
    CHECK(detect(test::deflate_bytes(records, test::Wrapper::kGzip, level)) == TfRecordCompression::kGzip);
  }
  CHECK(detect(std::string("\x78\x9c", 2)) == TfRecordCompression::kZlib);   // only 2 bytes: still a zlib header
  CHECK(detect(std::string("\x1f\x8b", 2)) == TfRecordCompression::kGzip);

  // Plain headers that look like a compressed start: the CRC decides.
  const std::string gzip_lookalike = plain_header(0x8b1f);  // length bytes 1f 8b 00 ...
  REQUIRE(uint8_t(gzip_lookalike[0]) == 0x1F);
  CHECK(detect(gzip_lookalike) == TfRecordCompression::kNone);
  const std::string zlib_lookalike = plain_header(0x9c78);  // 78 9c 00 ...
  CHECK(detect(zlib_lookalike) == TfRecordCompression::kNone);
  // ...but with a damaged CRC they are taken for compressed files (the reader's message then says so).
  std::string damaged = zlib_lookalike;
  damaged[9] = char(damaged[9] ^ 1);
  CHECK(detect(damaged) == TfRecordCompression::kZlib);

  // Not zlib headers: wrong method, window over 32 KiB, preset dictionary, bad check bits.
  CHECK(detect(std::string("\x79\x9c", 2)) == TfRecordCompression::kNone);  // CM 9
  CHECK(detect(std::string("\x88\x98", 2)) == TfRecordCompression::kNone);  // CINFO 8 ((0x88*256+0x98) % 31 == 0)
  CHECK(detect(std::string("\x78\xbb", 2)) == TfRecordCompression::kNone);  // FDICT set ((0x78bb) % 31 == 0)
  CHECK(detect(std::string("\x78\x9d", 2)) == TfRecordCompression::kNone);  // check bits wrong
  CHECK(detect("") == TfRecordCompression::kNone);
  CHECK(detect(std::string("\x1f", 1)) == TfRecordCompression::kNone);
  CHECK(detect("just some text") == TfRecordCompression::kNone);
}
