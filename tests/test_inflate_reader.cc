// InflateReader: GZIP and ZLIB streams read whole, in pieces, forward and backward; concatenated gzip
// members; and every way a compressed stream can be wrong (cut, flipped, trailing bytes) as the right
// InflateError kind with the decompressed offset where it was found.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "compress_test_util.h"
#include "io/inflate_reader.h"
#include "io_test_util.h"

using namespace fcn;
using fcn::test::TempDir;

namespace {

// Bytes that compress somewhat but not to nothing: a ramp with a little pseudo-random noise.
std::string sample_data(size_t size, int seed) {
  std::string data(size, '\0');
  uint32_t state = 2463534242u + uint32_t(seed);
  for (size_t i = 0; i < size; ++i) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    data[i] = char((i / 7 + (state & 3)) & 0xFF);
  }
  return data;
}

// An open file holding `bytes`, closed when it goes away.
struct OpenFile {
  int fd = -1;
  OpenFile(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    fd = ::open(path.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
  }
  ~OpenFile() { ::close(fd); }
};

// Reads the whole stream in pieces of `piece` bytes.
std::string read_all(InflateReader& reader, size_t piece) {
  std::string out;
  std::string buffer(piece, '\0');
  while (true) {
    const size_t got = reader.read_at(out.size(), buffer.data(), piece);
    out.append(buffer.data(), got);
    if (got < piece) return out;
  }
}

InflateError::Kind error_kind_reading_all(InflateReader& reader, uint64_t* at) {
  try {
    read_all(reader, 4096);
  } catch (const InflateError& e) {
    *at = e.decompressed_offset();
    return e.kind();
  }
  FAIL("no InflateError thrown");
  return InflateError::Kind::kIo;
}

}  // namespace

TEST_CASE("inflate_reader: GZIP and ZLIB read back exactly, whole and in pieces", "[io][inflate]") {
  TempDir dir("inflate_roundtrip");
  const std::string data = sample_data(300000, 1);
  for (auto [wrapper, format] : {std::pair{test::Wrapper::kGzip, InflateReader::Format::kGzip},
                                 std::pair{test::Wrapper::kZlib, InflateReader::Format::kZlib}}) {
    const std::string compressed = test::deflate_bytes(data, wrapper);
    REQUIRE(compressed.size() < data.size());
    OpenFile file(dir.file("a.z"), compressed);
    for (size_t piece : {size_t(1), size_t(1000), size_t(65536), size_t(1) << 20}) {
      InflateReader reader(file.fd, format);
      INFO("piece " << piece);
      if (piece == 1) {  // a byte at a time is slow for 300 KB: the first 5000 bytes
        std::string head;
        for (int i = 0; i < 5000; ++i) {
          char c;
          REQUIRE(reader.read_at(uint64_t(i), &c, 1) == 1);
          head += c;
        }
        CHECK(head == data.substr(0, 5000));
        continue;
      }
      CHECK(read_all(reader, piece) == data);
      CHECK(reader.position() == data.size());
      CHECK(reader.restarts() == 0);  // only forward reads
      char c;
      CHECK(reader.read_at(data.size(), &c, 1) == 0);       // at the end: nothing, no error
      CHECK(reader.read_at(data.size() + 10, &c, 1) == 0);  // past the end: nothing
    }
  }
}

TEST_CASE("inflate_reader: forward seeks continue, backward seeks start again", "[io][inflate]") {
  TempDir dir("inflate_seek");
  const std::string data = sample_data(200000, 2);
  OpenFile file(dir.file("a.gz"), test::gzip_bytes(data));
  InflateReader reader(file.fd, InflateReader::Format::kGzip);
  std::string buffer(100, '\0');

  REQUIRE(reader.read_at(150000, buffer.data(), 100) == 100);  // forward from 0: skips 150000 bytes
  CHECK(buffer == data.substr(150000, 100));
  CHECK(reader.position() == 150100);
  CHECK(reader.restarts() == 0);
  REQUIRE(reader.read_at(160000, buffer.data(), 100) == 100);  // forward again
  CHECK(buffer == data.substr(160000, 100));
  CHECK(reader.restarts() == 0);
  REQUIRE(reader.read_at(10, buffer.data(), 100) == 100);  // backward: from the start of the file again
  CHECK(buffer == data.substr(10, 100));
  CHECK(reader.restarts() == 1);
  REQUIRE(reader.read_at(110, buffer.data(), 100) == 100);  // right where it stopped: no skip at all
  CHECK(buffer == data.substr(110, 100));
  CHECK(reader.restarts() == 1);
  CHECK(reader.read_at(199950, buffer.data(), 100) == 50);  // the last 50 bytes
  CHECK(buffer.substr(0, 50) == data.substr(199950));
}

TEST_CASE("inflate_reader: concatenated gzip members are one stream, and an empty file is an empty one",
          "[io][inflate]") {
  TempDir dir("inflate_members");
  const std::string a = sample_data(70000, 3), b = sample_data(10, 4), c = sample_data(90000, 5);
  OpenFile file(dir.file("abc.gz"), test::gzip_bytes(a) + test::gzip_bytes(b) + test::gzip_bytes("") +
                                        test::gzip_bytes(c));
  InflateReader reader(file.fd, InflateReader::Format::kGzip);
  CHECK(read_all(reader, 30000) == a + b + c);
  std::string buffer(20, '\0');
  REQUIRE(reader.read_at(a.size() - 5, buffer.data(), 20) == 20);  // across a member boundary, backward
  CHECK(buffer == (a + b + c).substr(a.size() - 5, 20));

  OpenFile empty(dir.file("empty.gz"), "");
  for (auto format : {InflateReader::Format::kGzip, InflateReader::Format::kZlib}) {
    InflateReader none(empty.fd, format);
    CHECK(none.read_at(0, buffer.data(), 20) == 0);
  }
}

TEST_CASE("inflate_reader: a cut stream is kTruncated, damage is kCorrupted", "[io][inflate]") {
  TempDir dir("inflate_damage");
  const std::string data = sample_data(100000, 6);
  const std::string gz = test::gzip_bytes(data);
  const std::string zl = test::zlib_bytes(data);

  SECTION("cut inside the header, the data or the trailer") {
    for (size_t keep : {size_t(5), gz.size() / 2, gz.size() - 3}) {
      INFO("kept " << keep << " of " << gz.size() << " bytes");
      OpenFile file(dir.file("cut.gz"), gz.substr(0, keep));
      InflateReader reader(file.fd, InflateReader::Format::kGzip);
      uint64_t at = 0;
      CHECK(error_kind_reading_all(reader, &at) == InflateError::Kind::kTruncated);
      CHECK(at <= data.size());
      if (keep == gz.size() - 3) CHECK(at == data.size());  // every data byte came out; the checksum is missing
    }
    OpenFile file(dir.file("cut.zlib"), zl.substr(0, zl.size() - 1));
    InflateReader reader(file.fd, InflateReader::Format::kZlib);
    uint64_t at = 0;
    CHECK(error_kind_reading_all(reader, &at) == InflateError::Kind::kTruncated);
  }
  SECTION("a flipped checksum byte: kCorrupted after all the data") {
    std::string bad = gz;
    bad[bad.size() - 6] = char(bad[bad.size() - 6] ^ 0x10);  // inside the CRC-32 of the trailer
    OpenFile file(dir.file("crc.gz"), bad);
    InflateReader reader(file.fd, InflateReader::Format::kGzip);
    uint64_t at = 0;
    CHECK(error_kind_reading_all(reader, &at) == InflateError::Kind::kCorrupted);
    CHECK(at == data.size());
  }
  SECTION("a flipped byte in the compressed data: an error, never silently different bytes") {
    for (size_t position : {size_t(20), gz.size() / 3, gz.size() / 2}) {
      std::string bad = gz;
      bad[position] = char(bad[position] ^ 0x01);
      OpenFile file(dir.file("flip.gz"), bad);
      InflateReader reader(file.fd, InflateReader::Format::kGzip);
      INFO("flipped byte " << position);
      try {
        read_all(reader, 8192);
        FAIL("damage not found");
      } catch (const InflateError& e) {
        CHECK(e.kind() != InflateError::Kind::kIo);
        CHECK(e.decompressed_offset() <= data.size());
        CHECK(e.compressed_offset() <= bad.size());
        CHECK(std::string(e.what()).size() > 0);
      }
    }
  }
  SECTION("garbage after a gzip member, bytes after a zlib stream, the wrong wrapper") {
    OpenFile gz_tail(dir.file("tail.gz"), gz + "junk");
    InflateReader gz_reader(gz_tail.fd, InflateReader::Format::kGzip);
    uint64_t at = 0;
    CHECK(error_kind_reading_all(gz_reader, &at) == InflateError::Kind::kCorrupted);
    CHECK(at == data.size());

    OpenFile zl_tail(dir.file("tail.zlib"), zl + "x");
    InflateReader zl_reader(zl_tail.fd, InflateReader::Format::kZlib);
    std::string head(1000, '\0');
    CHECK(zl_reader.read_at(0, head.data(), 1000) == 1000);  // the stream itself reads fine
    try {
      read_all(zl_reader, 4096);
      FAIL("trailing byte not reported");
    } catch (const InflateError& e) {
      CHECK(e.kind() == InflateError::Kind::kCorrupted);
      CHECK(std::string(e.what()).find("bytes follow the end of the ZLIB stream") != std::string::npos);
    }

    OpenFile wrong(dir.file("wrong.gz"), gz);
    InflateReader as_zlib(wrong.fd, InflateReader::Format::kZlib);
    CHECK(error_kind_reading_all(as_zlib, &at) == InflateError::Kind::kCorrupted);
    CHECK(at == 0);
  }
  SECTION("after an error the next read starts again and reads what it can") {
    OpenFile file(dir.file("cut2.gz"), gz.substr(0, gz.size() / 2));
    InflateReader reader(file.fd, InflateReader::Format::kGzip);
    uint64_t at = 0;
    REQUIRE(error_kind_reading_all(reader, &at) == InflateError::Kind::kTruncated);
    REQUIRE(at > 1000);
    std::string head(1000, '\0');
    CHECK(reader.read_at(0, head.data(), 1000) == 1000);
    CHECK(head == data.substr(0, 1000));
    CHECK(reader.restarts() >= 1);
  }
}
