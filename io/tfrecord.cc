// TFRecord framing: the index pass (headers only), the CRC-checked reader and the writer. The bytes come
// from io/record_stream (the file, or its decompressed stream).
// Every failure is a DataError naming the file, the record index and the record's byte offset.
#include "io/tfrecord.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <utility>

#include "io/crc32c.h"
#include "io/inflate_reader.h"
#include "io/record_stream.h"

namespace fcn {

DataError::DataError(Kind kind, std::string file, int64_t record, int64_t offset, const std::string& message)
    : std::runtime_error(message), kind_(kind), file_(std::move(file)), record_(record), offset_(offset) {}

namespace {

constexpr size_t kHeaderBytes = 12;  // uint64 length + uint32 masked CRC of the length
constexpr size_t kFooterBytes = 4;   // uint32 masked CRC of the payload
constexpr size_t kReadChunk = size_t(16) << 20;  // payloads are read (and grown) in steps of this
// A decompressed record may hold at most this: protobuf parses no message over 2 GiB, and a small
// compressed file must not be able to make the reader allocate without bound.
constexpr uint64_t kMaxCompressedPayload = (uint64_t(1) << 31) - 1;

const char* kCorruptHint =
    "HINT: the file is damaged. Re-export (or download again) this file, or pass --skip-corrupted to skip "
    "bad records.";
const char* kTruncatedHint =
    "HINT: the file ends early (an interrupted download or copy?). Download it again, or pass "
    "--skip-corrupted to use the records before the cut.";

uint64_t load_le64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint32_t load_le32(const unsigned char* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
void store_le64(unsigned char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
void store_le32(unsigned char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08" PRIX32, v);
  return buf;
}

std::string upper_name(TfRecordCompression c) {
  std::string name = compression_name(c);
  for (char& ch : name) ch = char(std::toupper(static_cast<unsigned char>(ch)));
  return name;
}

// "record 3 at byte offset 1234 in FILE", or for a compressed file
// "record 3 at byte offset 1234 of the decompressed stream of FILE (GZIP)".
std::string location(const RecordStream& s, const std::string& file, int64_t record, uint64_t offset) {
  std::string text = "record " + std::to_string(record) + " at byte offset " + std::to_string(offset);
  if (!s.compressed()) return text + " in " + file;
  return text + " of the decompressed stream of " + file + " (" + upper_name(s.compression()) + ")";
}

// What ends when bytes run out: the file, or the decompressed stream.
const char* what_ends(const RecordStream& s) { return s.compressed() ? "the decompressed stream" : "the file"; }

// For a compressed file chosen from its first bytes and failing at once: how to read it otherwise, should
// the choice be wrong (a damaged plain file may start like a zlib header).
std::string detection_note(const RecordStream& s, uint64_t offset) {
  if (!s.compressed() || !s.detected() || offset != 0) return "";
  return " It was read as " + upper_name(s.compression()) + " because it starts with " + s.head_hex() +
         "; if it is an uncompressed TFRecord file, read it with compression \"none\" (--compression none).";
}

// How to check the compressed file by hand.
std::string check_tool(const RecordStream& s) {
  return s.compression() == TfRecordCompression::kGzip ? " `gzip -t FILE` checks a GZIP file." : "";
}

DataError corrupted(const RecordStream& s, const std::string& file, int64_t record, uint64_t offset,
                    const std::string& which, uint32_t stored, uint32_t computed) {
  return DataError(DataError::Kind::kCorrupted, file, record, int64_t(offset),
                   "corrupted " + location(s, file, record, offset) + ": " + which + " mismatch (stored " +
                       hex32(stored) + ", computed " + hex32(computed) + ")\n" + kCorruptHint);
}

DataError truncated(const RecordStream& s, const std::string& file, int64_t record, uint64_t offset,
                    const std::string& detail) {
  return DataError(DataError::Kind::kTruncated, file, record, int64_t(offset),
                   "truncated " + location(s, file, record, offset) + ": " + detail + "\n" + kTruncatedHint);
}

DataError io_error(const std::string& file, const std::string& what, int err) {
  return DataError(DataError::Kind::kIo, file, -1, -1,
                   "cannot " + what + " " + file + ": " + std::strerror(err) +
                       "\nHINT: check that the path exists, is a regular file and is readable (for writing: "
                       "that the folder exists and is writable).");
}

// Damage to the compressed data itself (zlib's error), found while reading `record`.
DataError compressed_damage(const RecordStream& s, const std::string& file, int64_t record, uint64_t offset,
                            const InflateError& e) {
  const std::string compressed = std::to_string(e.compressed_offset());
  const std::string decompressed = std::to_string(e.decompressed_offset());
  switch (e.kind()) {
    case InflateError::Kind::kTruncated:
      return DataError(DataError::Kind::kTruncated, file, record, int64_t(offset),
                       "truncated " + location(s, file, record, offset) + ": " + e.what() + ": cut after " +
                           compressed + " compressed bytes (" + decompressed + " decompressed)" +
                           "\nHINT: the compressed file ends early (an interrupted download or copy?). Download "
                           "it again." + check_tool(s) + detection_note(s, offset));
    case InflateError::Kind::kIo:
      return DataError(DataError::Kind::kIo, file, record, int64_t(offset),
                       "cannot read " + file + ": " + e.what() +
                           "\nHINT: check that the file is readable and the disk healthy.");
    case InflateError::Kind::kCorrupted:
      break;
  }
  return DataError(DataError::Kind::kCorrupted, file, record, int64_t(offset),
                   "corrupted " + location(s, file, record, offset) + ": the compressed data is damaged at compressed "
                       "byte " + compressed + " (decompressed byte " + decompressed + "): " + e.what() +
                       "\nHINT: the compressed file is damaged (a bad download or copy?). Download or re-export it "
                       "again." + check_tool(s) + detection_note(s, offset));
}

// Runs a read of the stream; damage to a compressed stream becomes a DataError about `record`.
template <class F>
auto guarded(const RecordStream& s, const std::string& file, int64_t record, uint64_t offset, F&& read) {
  try {
    return read();
  } catch (const InflateError& e) {
    throw compressed_damage(s, file, record, offset, e);
  }
}

// Checks a 12-byte header; returns the payload length.
uint64_t check_header(const unsigned char* header, const RecordStream& s, const std::string& file, int64_t record,
                      uint64_t offset) {
  uint64_t length = load_le64(header);
  uint32_t stored = crc32c_unmask(load_le32(header + 8));
  uint32_t computed = crc32c(header, 8);
  if (stored == computed) return length;
  if (offset == 0 && !s.compressed() && header[0] == 0x1F && header[1] == 0x8B) {  // forced "none" on gzip
    throw DataError(DataError::Kind::kUnsupported, file, record, 0,
                    "cannot read record 0 at byte offset 0 in " + file +
                        ": the file is GZIP-compressed (starts with 1f 8b) but was read as uncompressed\n"
                        "HINT: read it with compression \"gzip\" or \"auto\" (--compression gzip), or decompress it first "
                        "(gunzip -c FILE > FILE.tfrecord).");
  }
  if (offset == 0) {
    const std::string what =
        s.compressed() ? "the decompressed data is not TFRecord framing" : "is this a TFRecord file at all";
    throw DataError(DataError::Kind::kCorrupted, file, record, 0,
                    "corrupted " + location(s, file, record, 0) + ": length CRC mismatch (stored " + hex32(stored) +
                        ", computed " + hex32(computed) + ")\n"
                        "HINT: the very first header is wrong: " + what +
                        "? GZIP and ZLIB files are recognised by their first bytes (here " + s.head_hex() +
                        "). Otherwise re-export or download it again." + detection_note(s, 0));
  }
  throw corrupted(s, file, record, offset, "length CRC", stored, computed);
}

// Reads the 12-byte header at `offset` and checks its CRC. False when no byte is left there and
// `end_ok` (a clean end of file); a partial header is kTruncated.
bool read_header(RecordStream& s, const std::string& file, int64_t record, uint64_t offset, bool end_ok,
                 uint64_t* length) {
  unsigned char header[kHeaderBytes];
  const size_t got = guarded(s, file, record, offset, [&] { return s.read(offset, header, kHeaderBytes); });
  if (got == 0 && end_ok) return false;
  if (got < kHeaderBytes) {
    throw truncated(s, file, record, offset,
                    std::string(what_ends(s)) + " ends inside the 12-byte header (" + std::to_string(got) +
                        " bytes left)");
  }
  *length = check_header(header, s, file, record, offset);
  return true;
}

// Throws kTruncated when the `length` payload bytes and their CRC do not follow the header at `offset`.
// Plain files: a look at the file size. Compressed: the payload is decompressed (and dropped).
void check_fits(RecordStream& s, const std::string& file, int64_t record, uint64_t offset, uint64_t length) {
  const uint64_t need = length > UINT64_MAX - kFooterBytes ? UINT64_MAX : length + kFooterBytes;
  const uint64_t available =
      guarded(s, file, record, offset, [&] { return s.available(offset + kHeaderBytes, need); });
  if (available < need || need == UINT64_MAX) {
    throw truncated(s, file, record, offset,
                    "the header says " + std::to_string(length) + " payload bytes + 4 CRC bytes but only " +
                        std::to_string(available) + " bytes follow the header");
  }
}

}  // namespace

std::vector<RecordLocation> index_tfrecord(const std::string& path, TfRecordCompression compression) {
  RecordStream stream(path, compression);
  std::vector<RecordLocation> locations;
  uint64_t offset = 0;
  uint64_t length = 0;
  while (read_header(stream, path, int64_t(locations.size()), offset, true, &length)) {
    check_fits(stream, path, int64_t(locations.size()), offset, length);
    locations.push_back(RecordLocation{offset, length});
    offset += length + kHeaderBytes + kFooterBytes;
  }
  return locations;
}

std::vector<RecordLocation> index_tfrecord_before_damage(const std::string& path, TfRecordCompression compression,
                                                         std::string* damage) {
  damage->clear();
  try {
    return index_tfrecord(path, compression);
  } catch (const DataError& e) {
    if (e.kind() == DataError::Kind::kIo) throw;
    *damage = e.what();
  }
  // Read sequentially up to the damage: the index above stopped at it, so nothing past it is known.
  std::vector<RecordLocation> found;
  TfRecordReader reader(path, compression);
  std::string payload;
  while (true) {
    const uint64_t offset = reader.offset();
    try {
      if (!reader.next(payload)) break;
    } catch (const DataError&) {
      if (reader.offset() == offset) break;  // a header error: the reader cannot go on
      // A bad payload: the reader stepped over it. Keep its place so that reading it reports it.
      found.push_back(RecordLocation{offset, reader.offset() - offset - 16});
      continue;
    }
    found.push_back(RecordLocation{offset, payload.size()});
  }
  return found;
}

TfRecordReader::TfRecordReader(const std::string& path, TfRecordCompression compression)
    : path_(path), stream_(std::make_unique<RecordStream>(path, compression)) {}

TfRecordReader::~TfRecordReader() = default;

TfRecordCompression TfRecordReader::compression() const { return stream_->compression(); }

bool TfRecordReader::next(std::string& payload) {
  const int64_t record = records_read_;
  uint64_t length = 0;
  if (!read_header(*stream_, path_, record, offset_, true, &length)) return false;  // clean end of file
  read_payload(record, offset_, length, payload);
  const uint64_t framed = length + kHeaderBytes + kFooterBytes;
  // A bad payload CRC leaves the framing intact: step over the record so the next call can go on.
  // (Any other error leaves the reader where it was: nothing says where the next record would start.)
  offset_ += framed;
  ++records_read_;
  check_payload(record, offset_ - framed, payload);
  return true;
}

void TfRecordReader::read_at(const RecordLocation& loc, int64_t record_index, std::string& payload) {
  uint64_t length = 0;
  read_header(*stream_, path_, record_index, loc.offset, false, &length);
  if (length != loc.payload_length) {
    throw DataError(DataError::Kind::kCorrupted, path_, record_index, int64_t(loc.offset),
                    "corrupted " + location(*stream_, path_, record_index, loc.offset) + ": the header says " +
                        std::to_string(length) + " payload bytes, the index said " +
                        std::to_string(loc.payload_length) +
                        " (the file changed after it was indexed?)\n"
                        "HINT: do not modify the export while it is being read; restart the command.");
  }
  read_payload(record_index, loc.offset, length, payload);
  check_payload(record_index, loc.offset, payload);
}

void TfRecordReader::read_payload(int64_t record, uint64_t offset, uint64_t length, std::string& payload) {
  if (!stream_->compressed()) {
    check_fits(*stream_, path_, record, offset, length);  // the file size alone: nothing allocated for a lie
  } else if (length > kMaxCompressedPayload) {
    throw DataError(DataError::Kind::kInvalid, path_, record, int64_t(offset),
                    "invalid " + location(*stream_, path_, record, offset) + ": the header says " +
                        std::to_string(length) + " payload bytes, over the " +
                        std::to_string(kMaxCompressedPayload) + " a compressed record may hold\n"
                        "HINT: no tf.train.Example is that large (protobuf's limit is 2 GiB); the file is "
                        "damaged or not an export. Re-export it.");
  }
  // Payload and its CRC, read in steps so that a compressed stream ending early is found before the whole
  // claimed length is allocated; the buffer's capacity is kept from one record to the next.
  const uint64_t total = length + kFooterBytes;
  const uint64_t start = offset + kHeaderBytes;
  payload.clear();
  while (payload.size() < total) {
    const size_t have = payload.size();
    const size_t chunk = size_t(std::min<uint64_t>(total - have, kReadChunk));
    payload.resize(have + chunk);
    const size_t got = guarded(*stream_, path_, record, offset,
                               [&] { return stream_->read(start + have, payload.data() + have, chunk); });
    if (got < chunk) {
      throw truncated(*stream_, path_, record, offset,
                      std::string(what_ends(*stream_)) + " ends inside the payload (" + std::to_string(have + got) +
                          " of " + std::to_string(total) + " bytes)");
    }
  }
}

void TfRecordReader::check_payload(int64_t record, uint64_t offset, std::string& payload) {
  const size_t length = payload.size() - kFooterBytes;
  uint32_t stored = crc32c_unmask(load_le32(reinterpret_cast<const unsigned char*>(payload.data()) + length));
  payload.resize(length);  // the CRC bytes cut off (no reallocation)
  uint32_t computed = crc32c(payload.data(), payload.size());
  if (stored != computed) throw corrupted(*stream_, path_, record, offset, "payload CRC", stored, computed);
}

TfRecordWriter::TfRecordWriter(const std::string& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) throw io_error(path, "create", errno);
}

TfRecordWriter::~TfRecordWriter() {
  if (file_ != nullptr) std::fclose(file_);  // errors are reported by an explicit close()
}

void TfRecordWriter::write(const void* data, size_t size) {
  if (file_ == nullptr) throw io_error(path_, "write to (already closed)", EBADF);
  unsigned char header[kHeaderBytes];
  store_le64(header, size);
  store_le32(header + 8, crc32c_mask(crc32c(header, 8)));
  unsigned char footer[kFooterBytes];
  store_le32(footer, crc32c_mask(crc32c(data, size)));
  if (std::fwrite(header, 1, kHeaderBytes, file_) != kHeaderBytes ||
      (size > 0 && std::fwrite(data, 1, size, file_) != size) ||
      std::fwrite(footer, 1, kFooterBytes, file_) != kFooterBytes) {
    throw io_error(path_, "write", errno);
  }
}

void TfRecordWriter::flush() {
  if (file_ != nullptr && std::fflush(file_) != 0) throw io_error(path_, "flush", errno);
}

void TfRecordWriter::close() {
  if (file_ == nullptr) return;
  std::FILE* file = file_;
  file_ = nullptr;
  if (std::fclose(file) != 0) throw io_error(path_, "close", errno);
}

}  // namespace fcn
