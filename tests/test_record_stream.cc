// RecordStream: the bytes the framing reads, from a plain file (sizes known without reading) or through
// inflate (sizes found by decompressing); kAuto resolved on open, forced readings kept as given.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "compress_test_util.h"
#include "io/record_stream.h"
#include "io/tfrecord.h"
#include "io_test_util.h"

using namespace fcn;

TEST_CASE("record_stream: plain and compressed files give the same bytes at the same offsets",
          "[io][tfrecord][compressed]") {
  test::TempDir dir("record_stream");
  std::string data(50000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = char((i * 7 + i / 300) & 0xFF);
  const std::string plain = dir.file("plain.bin"), gz = dir.file("data.gz"), zl = dir.file("data.zlib");
  std::ofstream(plain, std::ios::binary) << data;
  std::ofstream(gz, std::ios::binary) << test::gzip_bytes(data);
  std::ofstream(zl, std::ios::binary) << test::zlib_bytes(data);

  struct Case {
    std::string path;
    TfRecordCompression asked, expected;
    bool compressed;
  };
  // These bytes are no TFRecord header, so kAuto reads the plain file as plain (kNone).
  for (const Case& c : {Case{plain, TfRecordCompression::kAuto, TfRecordCompression::kNone, false},
                        Case{plain, TfRecordCompression::kNone, TfRecordCompression::kNone, false},
                        Case{gz, TfRecordCompression::kAuto, TfRecordCompression::kGzip, true},
                        Case{zl, TfRecordCompression::kAuto, TfRecordCompression::kZlib, true},
                        Case{zl, TfRecordCompression::kZlib, TfRecordCompression::kZlib, true}}) {
    INFO(c.path << " asked " << compression_name(c.asked));
    RecordStream stream(c.path, c.asked);
    CHECK(stream.compression() == c.expected);
    CHECK(stream.compressed() == c.compressed);
    CHECK(stream.detected() == (c.asked == TfRecordCompression::kAuto));
    CHECK(stream.head_hex().size() == 11);  // four bytes, "xx xx xx xx"
    std::string got(100, '\0');
    REQUIRE(stream.read(40000, got.data(), 100) == 100);
    CHECK(got == data.substr(40000, 100));
    REQUIRE(stream.read(10, got.data(), 100) == 100);  // backward
    CHECK(got == data.substr(10, 100));
    CHECK(stream.read(49950, got.data(), 100) == 50);  // the end
    CHECK(stream.available(0, 1000) == 1000);
    CHECK(stream.available(49000, 5000) == 1000);
    CHECK(stream.available(60000, 10) == 0);
    CHECK(stream.available(100, 0) == 0);
  }
  CHECK(RecordStream(gz, TfRecordCompression::kAuto).head_hex() == "1f 8b 08 00");
  CHECK_THROWS_AS(RecordStream(dir.file("missing"), TfRecordCompression::kAuto), DataError);
  CHECK_THROWS_AS(RecordStream(dir.path.string(), TfRecordCompression::kAuto), DataError);  // a folder
}
