// TFRecord: round trip, exact bytes of an empty record, and every corruption and truncation reported as
// the right DataError kind with the right record index and byte offset; the same for GZIP and ZLIB files
// (offsets in the decompressed stream), forced compressions, and damage to the compressed data.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "compress_test_util.h"
#include "io/crc32c.h"
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

TEST_CASE("tfrecord: a gzip file read as uncompressed, or a file that is no TFRecord, is named as such",
          "[io][tfrecord]") {
  TempDir dir("tfrecord_not");
  std::string gz = dir.file("x.tfrecord.gz");
  write_bytes(gz, fcn::test::gzip_bytes(payload_of(40, 1)));
  expect_data_error([&] { index_tfrecord(gz, TfRecordCompression::kNone); }, DataError::Kind::kUnsupported, 0, 0, gz,
                    "GZIP-compressed");
  std::string payload;
  expect_data_error([&] { TfRecordReader(gz, TfRecordCompression::kNone).read_at({0, 40}, 0, payload); },
                    DataError::Kind::kUnsupported, 0, 0, gz, "compression \"gzip\"");
  std::string text = dir.file("notes.txt");
  write_bytes(text, "just some text, longer than one header");
  expect_data_error([&] { index_tfrecord(text); }, DataError::Kind::kCorrupted, 0, 0, text, "is this a TFRecord file");
  // The message shows the first bytes, which is how compressed files are told apart.
  expect_data_error([&] { index_tfrecord(text); }, DataError::Kind::kCorrupted, 0, 0, text, "here 6a 75 73 74");
}

// ---- compressed files ----------------------------------------------------------------------------------

namespace {

struct Compressed {
  const char* name;
  TfRecordCompression compression;
  std::string (*compress)(const std::string&);
  const char* label;  // as messages spell it
};
const Compressed kCompressed[] = {
    {"gzip", TfRecordCompression::kGzip, fcn::test::gzip_bytes, "(GZIP)"},
    {"zlib", TfRecordCompression::kZlib, fcn::test::zlib_bytes, "(ZLIB)"},
};

}  // namespace

TEST_CASE("tfrecord: GZIP and ZLIB files read as the same records, offsets in the decompressed stream",
          "[io][tfrecord][compressed]") {
  TempDir dir("tfrecord_compressed");
  const std::string plain = dir.file("plain.tfrecord");
  const std::vector<size_t> sizes = {0, 1, 100, 70000, 3, 200000};
  const std::vector<uint64_t> offsets = write_records(plain, sizes);
  const std::vector<RecordLocation> plain_index = index_tfrecord(plain);

  for (const Compressed& c : kCompressed) {
    SECTION(c.name) {
      const std::string path = dir.file(std::string("records.") + c.name);
      write_bytes(path, c.compress(read_bytes(plain)));
      REQUIRE(read_bytes(path) != read_bytes(plain));

      for (TfRecordCompression asked : {TfRecordCompression::kAuto, c.compression}) {
        INFO("asked " << compression_name(asked));
        const std::vector<RecordLocation> index = index_tfrecord(path, asked);
        REQUIRE(index.size() == sizes.size());
        for (size_t i = 0; i < sizes.size(); ++i) {
          CHECK(index[i].offset == plain_index[i].offset);
          CHECK(index[i].payload_length == sizes[i]);
        }

        TfRecordReader reader(path, asked);
        CHECK(reader.compression() == c.compression);
        std::string payload;
        for (size_t i = 0; i < sizes.size(); ++i) {
          CHECK(reader.offset() == offsets[i]);
          REQUIRE(reader.next(payload));
          CHECK(payload == payload_of(sizes[i], int(i)));
        }
        CHECK_FALSE(reader.next(payload));
        for (int i = int(sizes.size()) - 1; i >= 0; --i) {  // backward: each read starts the stream again
          reader.read_at(index[size_t(i)], i, payload);
          CHECK(payload == payload_of(sizes[size_t(i)], i));
        }
        for (size_t i = 0; i < sizes.size(); i += 2) {  // forward, skipping records
          reader.read_at(index[i], int64_t(i), payload);
          CHECK(payload == payload_of(sizes[i], int(i)));
        }
      }
      // A plain file is still read as one when asked for kAuto or kNone.
      CHECK(TfRecordReader(plain).compression() == TfRecordCompression::kNone);
      CHECK(index_tfrecord(plain, TfRecordCompression::kNone).size() == sizes.size());
    }
  }

  SECTION("an empty compressed file has no records") {
    const std::string empty_gz = dir.file("empty.gz");
    write_bytes(empty_gz, fcn::test::gzip_bytes(""));
    CHECK(index_tfrecord(empty_gz).empty());
    std::string payload;
    CHECK_FALSE(TfRecordReader(empty_gz).next(payload));
  }
  SECTION("a plain file whose first record starts with the gzip magic is read as plain") {
    // A payload of 35615 = 0x8b1f bytes: the length field starts 1f 8b, the header CRC says plain.
    const std::string path = dir.file("magic_lookalike.tfrecord");
    write_records(path, {35615, 5});
    CHECK(uint8_t(read_bytes(path)[0]) == 0x1F);
    CHECK(uint8_t(read_bytes(path)[1]) == 0x8B);
    TfRecordReader reader(path);
    CHECK(reader.compression() == TfRecordCompression::kNone);
    std::string payload;
    REQUIRE(reader.next(payload));
    CHECK(payload == payload_of(35615, 0));
    CHECK(index_tfrecord(path).size() == 2);
  }
}

TEST_CASE("tfrecord: a forced compression that does not fit the file is an error naming it",
          "[io][tfrecord][compressed]") {
  TempDir dir("tfrecord_forced");
  const std::string plain = dir.file("plain.tfrecord");
  write_records(plain, {10, 20});
  const std::string gz = dir.file("records.gz");
  write_bytes(gz, fcn::test::gzip_bytes(read_bytes(plain)));
  const std::string zl = dir.file("records.zlib");
  write_bytes(zl, fcn::test::zlib_bytes(read_bytes(plain)));

  // Plain bytes inflated as GZIP or ZLIB: zlib rejects the header at once.
  expect_data_error([&] { index_tfrecord(plain, TfRecordCompression::kGzip); }, DataError::Kind::kCorrupted, 0, 0,
                    plain, "the compressed data is damaged");
  expect_data_error([&] { index_tfrecord(plain, TfRecordCompression::kZlib); }, DataError::Kind::kCorrupted, 0, 0,
                    plain, "of the decompressed stream");
  // The one wrapper read as the other.
  expect_data_error([&] { index_tfrecord(gz, TfRecordCompression::kZlib); }, DataError::Kind::kCorrupted, 0, 0, gz,
                    "(ZLIB)");
  expect_data_error([&] { index_tfrecord(zl, TfRecordCompression::kGzip); }, DataError::Kind::kCorrupted, 0, 0, zl,
                    "(GZIP)");
  // ZLIB compressed bytes read as plain: the first header is no header.
  expect_data_error([&] { index_tfrecord(zl, TfRecordCompression::kNone); }, DataError::Kind::kCorrupted, 0, 0, zl,
                    "GZIP and ZLIB files are recognised by their first bytes");
}

TEST_CASE("tfrecord: a cut or damaged compressed file is kTruncated or kCorrupted at a decompressed offset",
          "[io][tfrecord][compressed]") {
  TempDir dir("tfrecord_compressed_bad");
  const std::string plain = dir.file("plain.tfrecord");
  const std::vector<uint64_t> offsets = write_records(plain, {3000, 5000, 4000});
  const std::string framed = read_bytes(plain);

  for (const Compressed& c : kCompressed) {
    SECTION(std::string(c.name) + ": compressed stream cut") {
      const std::string whole = c.compress(framed);
      const std::string path = dir.file(std::string("cut.") + c.name);
      write_bytes(path, whole.substr(0, whole.size() - 12));  // the end of the data and the trailer gone
      try {
        index_tfrecord(path);
        FAIL("no DataError");
      } catch (const DataError& e) {
        INFO(e.what());
        CHECK(e.kind() == DataError::Kind::kTruncated);
        CHECK(e.file() == path);
        CHECK(e.record() == 2);  // the cut falls in the last record
        CHECK(e.offset() == int64_t(offsets[2]));
        const std::string message = e.what();
        CHECK(message.find("truncated record 2 at byte offset " + std::to_string(offsets[2]) +
                           " of the decompressed stream of " + path + " " + c.label) != std::string::npos);
        CHECK(message.find("ends inside the compressed stream") != std::string::npos);
        CHECK(message.find("\nHINT: ") != std::string::npos);
      }
      // Reading the records before the cut still works; the one across it is kTruncated.
      TfRecordReader reader(path);
      std::string payload;
      REQUIRE(reader.next(payload));
      REQUIRE(reader.next(payload));
      CHECK(payload == payload_of(5000, 1));
      expect_data_error([&] { reader.next(payload); }, DataError::Kind::kTruncated, 2, offsets[2], path,
                        "of the decompressed stream");
    }
    SECTION(std::string(c.name) + ": records cut before compressing") {
      // A complete compressed stream around TFRecord framing that ends inside record 2's payload.
      const std::string path = dir.file(std::string("short.") + c.name);
      write_bytes(path, c.compress(framed.substr(0, offsets[2] + 12 + 100)));
      expect_data_error([&] { index_tfrecord(path); }, DataError::Kind::kTruncated, 2, offsets[2], path,
                        "but only 100 bytes follow the header");
      std::vector<std::string> got;
      expect_data_error([&] { read_all_sequential(path, &got); }, DataError::Kind::kTruncated, 2, offsets[2], path,
                        "the decompressed stream ends inside the payload");
      CHECK(got.size() == 2);
    }
    SECTION(std::string(c.name) + ": a flipped byte") {
      const std::string whole = c.compress(framed);
      const std::string path = dir.file(std::string("flip.") + c.name);
      for (size_t position : {whole.size() / 2, whole.size() - 2}) {
        std::string bad = whole;
        bad[position] = char(bad[position] ^ 0x40);
        write_bytes(path, bad);
        INFO("flipped compressed byte " << position << " of " << whole.size());
        try {
          index_tfrecord(path);
          // The index pass skips payload CRCs: damage that still inflates must show up as a CRC mismatch.
          std::vector<std::string> records;
          read_all_sequential(path, &records);
          FAIL("the flipped byte went unnoticed");
        } catch (const DataError& e) {
          const std::string message = e.what();
          INFO(message);
          CHECK((e.kind() == DataError::Kind::kCorrupted || e.kind() == DataError::Kind::kTruncated));
          CHECK(e.file() == path);
          CHECK(e.record() >= 0);
          CHECK(e.record() <= 3);
          CHECK(message.find("of the decompressed stream of " + path) != std::string::npos);
          CHECK(message.find("\nHINT: ") != std::string::npos);
        }
      }
    }
  }
  SECTION("payload CRCs are still checked inside a compressed stream") {
    std::string damaged = framed;
    damaged[offsets[1] + 12 + 7] = char(damaged[offsets[1] + 12 + 7] ^ 1);  // record 1's payload
    const std::string path = dir.file("crc.gz");
    write_bytes(path, fcn::test::gzip_bytes(damaged));  // a valid gzip stream of damaged records
    std::vector<RecordLocation> index = index_tfrecord(path);
    REQUIRE(index.size() == 3);
    TfRecordReader reader(path);
    std::string payload;
    expect_data_error([&] { reader.read_at(index[1], 1, payload); }, DataError::Kind::kCorrupted, 1, offsets[1],
                      path, "payload CRC mismatch");
    // Sequentially the bad record is stepped over, as in a plain file.
    TfRecordReader sequential(path);
    REQUIRE(sequential.next(payload));
    CHECK_THROWS_AS(sequential.next(payload), DataError);
    REQUIRE(sequential.next(payload));
    CHECK(payload == payload_of(4000, 2));
  }
  SECTION("a record length no compressed record may have is kInvalid before anything is allocated") {
    std::string header(12, '\0');
    const uint64_t huge = uint64_t(1) << 40;
    for (int i = 0; i < 8; ++i) header[size_t(i)] = char((huge >> (8 * i)) & 0xFF);
    const uint32_t crc = crc32c_mask(crc32c(header.data(), 8));
    for (int i = 0; i < 4; ++i) header[size_t(8 + i)] = char((crc >> (8 * i)) & 0xFF);
    const std::string path = dir.file("huge.gz");
    write_bytes(path, fcn::test::gzip_bytes(header + "tiny"));
    expect_data_error([&] { index_tfrecord(path); }, DataError::Kind::kTruncated, 0, 0, path, "but only 4 bytes");
    std::string payload;
    expect_data_error([&] { TfRecordReader(path).next(payload); }, DataError::Kind::kInvalid, 0, 0, path,
                      "a compressed record may hold");
  }
}
