// TFRecord: round trip, exact bytes of an empty record, and every corruption and truncation reported as
// the right DataError kind with the right record index and byte offset.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "io/tfrecord.h"
#include "io_test_util.h"

using namespace fcn;
using fcn::test::TempDir;

namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string payload_of(size_t size, int seed) {
  std::string p(size, '\0');
  for (size_t i = 0; i < size; ++i) p[i] = char((i * 131 + size_t(seed) * 17) & 0xFF);
  return p;
}

// Writes records of the given payload sizes; returns their byte offsets.
std::vector<uint64_t> write_records(const std::string& path, const std::vector<size_t>& sizes) {
  TfRecordWriter writer(path);
  std::vector<uint64_t> offsets;
  uint64_t offset = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    offsets.push_back(offset);
    writer.write(payload_of(sizes[i], int(i)));
    offset += sizes[i] + 16;
  }
  writer.close();
  return offsets;
}

// Runs f, expecting a DataError of `kind` about `record` at `offset` whose message names the file,
// says `which` and ends with a HINT line.
template <class F>
void expect_data_error(F&& f, DataError::Kind kind, int64_t record, uint64_t offset, const std::string& file,
                       const std::string& which) {
  try {
    f();
    FAIL("no DataError thrown (expected record " << record << ", " << which << ")");
  } catch (const DataError& e) {
    std::string message = e.what();
    INFO(message);
    CHECK(e.kind() == kind);
    CHECK(e.record() == record);
    CHECK(e.offset() == int64_t(offset));
    CHECK(e.file() == file);
    CHECK(message.find("record " + std::to_string(record) + " at byte offset " + std::to_string(offset)) !=
          std::string::npos);
    CHECK(message.find(file) != std::string::npos);
    CHECK(message.find(which) != std::string::npos);
    CHECK(message.find("\nHINT: ") != std::string::npos);
  }
}

// Reads the whole file with next(); returns how many records came out before an error (rethrown).
void read_all_sequential(const std::string& path, std::vector<std::string>* out) {
  TfRecordReader reader(path);
  std::string payload;
  while (reader.next(payload)) out->push_back(payload);
}

}  // namespace

TEST_CASE("tfrecord: an empty record is exactly TensorFlow's 16 bytes", "[io][tfrecord]") {
  TempDir dir("tfrecord_empty");
  std::string path = dir.file("empty.tfrecord");
  TfRecordWriter writer(path);
  writer.write(std::string());
  writer.close();
  const std::string expected("\0\0\0\0\0\0\0\0\x29\x03\x98\x07\xd8\xea\x82\xa2", 16);
  CHECK(read_bytes(path) == expected);
}

TEST_CASE("tfrecord: round trip through next, index and read_at", "[io][tfrecord]") {
  TempDir dir("tfrecord_roundtrip");
  std::string path = dir.file("a.tfrecord");
  std::vector<size_t> sizes = {0, 1, 100, 70000, 3};
  std::vector<uint64_t> offsets = write_records(path, sizes);

  TfRecordReader reader(path);
  std::string payload;
  for (size_t i = 0; i < sizes.size(); ++i) {
    CHECK(reader.offset() == offsets[i]);
    REQUIRE(reader.next(payload));
    CHECK(payload == payload_of(sizes[i], int(i)));
  }
  CHECK_FALSE(reader.next(payload));  // zero bytes at a record boundary: clean end of file
  CHECK_FALSE(reader.next(payload));
  CHECK(reader.records_read() == int64_t(sizes.size()));

  std::vector<RecordLocation> index = index_tfrecord(path);
  REQUIRE(index.size() == sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) {
    CHECK(index[i].offset == offsets[i]);
    CHECK(index[i].payload_length == sizes[i]);
    CHECK(index[i].framed_size() == sizes[i] + 16);
  }
  for (int i = int(sizes.size()) - 1; i >= 0; --i) {  // random access, backwards
    reader.read_at(index[size_t(i)], i, payload);
    CHECK(payload == payload_of(sizes[size_t(i)], i));
  }

  std::string empty_path = dir.file("none.tfrecord");
  TfRecordWriter(empty_path).close();
  CHECK(index_tfrecord(empty_path).empty());
  TfRecordReader empty_reader(empty_path);
  CHECK_FALSE(empty_reader.next(payload));
}

TEST_CASE("tfrecord: every corruption is found with its record index and offset", "[io][tfrecord]") {
  TempDir dir("tfrecord_corrupt");
  std::string clean = dir.file("clean.tfrecord");
  std::vector<size_t> sizes = {10, 40, 25};
  std::vector<uint64_t> offsets = write_records(clean, sizes);
  const std::string original = read_bytes(clean);
  const uint64_t bad = offsets[1];  // record 1 gets the damage
  std::string path = dir.file("bad.tfrecord");

  struct Flip {
    const char* name;
    uint64_t position;  // byte to flip, absolute
    bool header;        // header damage (found by the index pass) or payload damage (found by reads)
    const char* which;
  };
  std::vector<Flip> flips = {
      {"length", bad + 0, true, "length CRC mismatch"},
      {"length high byte", bad + 7, true, "length CRC mismatch"},
      {"length CRC", bad + 9, true, "length CRC mismatch"},
      {"payload", bad + 12 + 17, false, "payload CRC mismatch"},
      {"payload CRC", bad + 12 + 40 + 2, false, "payload CRC mismatch"},
  };
  for (const Flip& flip : flips) {
    for (int bit : {0, 7}) {
      SECTION(std::string(flip.name) + " bit " + std::to_string(bit)) {
        std::string damaged = original;
        damaged[flip.position] = char(damaged[flip.position] ^ (1 << bit));
        write_bytes(path, damaged);

        std::vector<std::string> got;
        expect_data_error([&] { read_all_sequential(path, &got); }, DataError::Kind::kCorrupted, 1, bad, path,
                          flip.which);
        CHECK(got.size() == 1);  // record 0 came out intact before the error

        if (flip.header) {
          expect_data_error([&] { index_tfrecord(path); }, DataError::Kind::kCorrupted, 1, bad, path, flip.which);
          // A header error leaves the reader where it was: it says the same again.
          TfRecordReader sequential(path);
          std::string payload;
          REQUIRE(sequential.next(payload));
          CHECK_THROWS_AS(sequential.next(payload), DataError);
          CHECK(sequential.offset() == bad);
          CHECK_THROWS_AS(sequential.next(payload), DataError);
        } else {
          // The index pass never reads payloads: a damaged payload still indexes.
          std::vector<RecordLocation> index = index_tfrecord(path);
          REQUIRE(index.size() == 3);
          TfRecordReader reader(path);
          std::string payload;
          reader.read_at(index[0], 0, payload);
          CHECK(payload == payload_of(10, 0));
          reader.read_at(index[2], 2, payload);
          CHECK(payload == payload_of(25, 2));
          expect_data_error([&] { reader.read_at(index[1], 1, payload); }, DataError::Kind::kCorrupted, 1, bad,
                            path, flip.which);

          // Sequentially, the reader steps over the bad record and goes on with record 2.
          TfRecordReader sequential(path);
          REQUIRE(sequential.next(payload));
          CHECK_THROWS_AS(sequential.next(payload), DataError);
          CHECK(sequential.offset() == offsets[2]);
          REQUIRE(sequential.next(payload));
          CHECK(payload == payload_of(25, 2));
          CHECK_FALSE(sequential.next(payload));
        }
      }
    }
  }
}

TEST_CASE("tfrecord: truncation inside a header or a payload is kTruncated", "[io][tfrecord]") {
  TempDir dir("tfrecord_truncated");
  std::string clean = dir.file("clean.tfrecord");
  std::vector<uint64_t> offsets = write_records(clean, {10, 40, 25});
  const std::string original = read_bytes(clean);
  std::string path = dir.file("cut.tfrecord");

  struct Cut {
    const char* name;
    uint64_t keep;  // bytes kept
    const char* which;
  };
  std::vector<Cut> cuts = {
      {"inside header (1 byte)", offsets[2] + 1, "header"},
      {"inside header (11 bytes)", offsets[2] + 11, "header"},
      {"inside payload", offsets[2] + 12 + 5, "bytes"},
      {"inside payload CRC", offsets[2] + 12 + 25 + 3, "bytes"},
  };
  for (const Cut& cut : cuts) {
    SECTION(cut.name) {
      write_bytes(path, original.substr(0, cut.keep));
      expect_data_error([&] { index_tfrecord(path); }, DataError::Kind::kTruncated, 2, offsets[2], path, cut.which);
      std::vector<std::string> got;
      expect_data_error([&] { read_all_sequential(path, &got); }, DataError::Kind::kTruncated, 2, offsets[2], path,
                        "truncated record 2");
      CHECK(got.size() == 2);
    }
  }
  SECTION("read_at on a location past the cut") {
    std::vector<RecordLocation> index = index_tfrecord(clean);
    write_bytes(path, original.substr(0, offsets[2] + 20));
    TfRecordReader reader(path);
    std::string payload;
    expect_data_error([&] { reader.read_at(index[2], 2, payload); }, DataError::Kind::kTruncated, 2, offsets[2],
                      path, "truncated record 2");
  }
}

TEST_CASE("tfrecord: files that cannot be opened are kIo", "[io][tfrecord]") {
  TempDir dir("tfrecord_io");
  const std::string missing = dir.file("missing.tfrecord");
  auto kind_of = [](auto&& f) {
    try {
      f();
    } catch (const DataError& e) {
      CHECK(std::string(e.what()).find("HINT: ") != std::string::npos);
      return e.kind();
    }
    return DataError::Kind::kInvalid;  // nothing thrown: not what any caller expects
  };
  CHECK(kind_of([&] { TfRecordReader reader(missing); }) == DataError::Kind::kIo);
  CHECK(kind_of([&] { index_tfrecord(missing); }) == DataError::Kind::kIo);
  CHECK(kind_of([&] { index_tfrecord(dir.path.string()); }) == DataError::Kind::kIo);
  CHECK(kind_of([&] { TfRecordWriter writer(dir.file("no/such/folder/x.tfrecord")); }) == DataError::Kind::kIo);
}

TEST_CASE("tfrecord: writer flush makes records readable before close", "[io][tfrecord]") {
  TempDir dir("tfrecord_flush");
  std::string path = dir.file("f.tfrecord");
  TfRecordWriter writer(path);
  writer.write("abc", 3);
  writer.flush();
  std::vector<RecordLocation> index = index_tfrecord(path);
  REQUIRE(index.size() == 1);
  CHECK(index[0].payload_length == 3);
  writer.close();
  writer.close();  // a second close is a no-op
  CHECK_THROWS_AS(writer.write("x", 1), DataError);
}

TEST_CASE("tfrecord: a gzip file or a file that is no TFRecord is named as such", "[io][tfrecord]") {
  TempDir dir("tfrecord_not");
  std::string gz = dir.file("x.tfrecord.gz");
  write_bytes(gz, std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x01\x02\x03\x04\x05\x06", 16));
  expect_data_error([&] { index_tfrecord(gz); }, DataError::Kind::kUnsupported, 0, 0, gz, "GZIP-compressed");
  std::string text = dir.file("notes.txt");
  write_bytes(text, "just some text, longer than one header");
  expect_data_error([&] { index_tfrecord(text); }, DataError::Kind::kCorrupted, 0, 0, text, "is this a TFRecord file");
}
