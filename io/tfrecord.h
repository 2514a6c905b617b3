// TFRecord framing: reader (sequential and by index, CRC32C-checked), writer, and the index pass.
//   [uint64 LE length N][uint32 LE masked crc32c(length)][N bytes payload][uint32 LE masked crc32c(payload)]
// The reader and the index pass also read GZIP- and ZLIB-compressed files (TfRecordCompression, detected
// from the first bytes by default). For those, every offset (RecordLocation, DataError, messages) is an
// offset in the decompressed stream, and messages say so.
// Errors are DataError: they name the file, the record index and its byte offset, and say whether the
// record is corrupted (CRC mismatch, damaged compressed data) or truncated.
#pragma once
#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/tfrecord_compression.h"

namespace fcn {

// An error in input data. what() is a complete message for the user, ending in a "HINT:" line.
class DataError : public std::runtime_error {
 public:
  enum class Kind { kCorrupted, kTruncated, kInvalid, kUnsupported, kIo };
  DataError(Kind kind, std::string file, int64_t record, int64_t offset, const std::string& message);
  Kind kind() const { return kind_; }
  const std::string& file() const { return file_; }
  int64_t record() const { return record_; }  // -1 when not about one record
  int64_t offset() const { return offset_; }  // byte offset of the record (decompressed), -1 when unknown
 private:
  Kind kind_;
  std::string file_;
  int64_t record_;
  int64_t offset_;
};

// Where one record sits in its file.
struct RecordLocation {
  uint64_t offset = 0;          // byte offset of the record's 12-byte header (in the decompressed stream)
  uint64_t payload_length = 0;  // N
  uint64_t framed_size() const { return payload_length + 16; }
};

class RecordStream;

// Reads only headers (length + its CRC), seeking over payloads. Throws DataError on a bad length CRC or
// a file that ends inside a header or payload. A compressed file is decompressed once, start to end
// (payload bytes are decompressed and dropped, their CRCs not checked), so damage to the compressed
// data and a cut anywhere in it are found here.
std::vector<RecordLocation> index_tfrecord(const std::string& path,
                                           TfRecordCompression compression = TfRecordCompression::kAuto);

// The index pass for skip_corrupted: like index_tfrecord, but a damaged header (a bad length CRC, a file
// cut short) ends the index instead of failing it. Returns the records before the damage (a record whose
// payload alone is bad is kept: reading it reports it) and sets *damage to the error that stopped the
// index (empty when the file is whole). A file that cannot be opened still throws.
std::vector<RecordLocation> index_tfrecord_before_damage(const std::string& path, TfRecordCompression compression,
                                                         std::string* damage);

class TfRecordReader {
 public:
  // Throws DataError(kIo) if it cannot open. kAuto decides from the file's first bytes.
  explicit TfRecordReader(const std::string& path, TfRecordCompression compression = TfRecordCompression::kAuto);
  ~TfRecordReader();
  TfRecordReader(const TfRecordReader&) = delete;
  TfRecordReader& operator=(const TfRecordReader&) = delete;

  // Sequential: reads the next record into payload; false at a clean end of file. After a payload CRC
  // error the reader has stepped over that record (the next call continues); after a header error
  // (length CRC, truncation) it stays put, since nothing says where the next record would start.
  bool next(std::string& payload);
  // Random access: reads the record at loc, both CRCs checked. record_index only names it in errors.
  // Compressed files: a location after the previous read decompresses forward from there; one before it
  // decompresses the file again from its start (cost: the file up to loc, see docs/FORMATS.md).
  void read_at(const RecordLocation& loc, int64_t record_index, std::string& payload);

  int64_t records_read() const { return records_read_; }
  uint64_t offset() const { return offset_; }  // byte offset of the next record (decompressed)
  const std::string& path() const { return path_; }
  TfRecordCompression compression() const;  // as read: kNone, kGzip or kZlib (kAuto resolved)

 private:
  void read_payload(int64_t record, uint64_t offset, uint64_t length, std::string& payload);  // + its CRC
  void check_payload(int64_t record, uint64_t offset, std::string& payload);  // cuts and checks the CRC

  std::string path_;
  std::unique_ptr<RecordStream> stream_;
  uint64_t offset_ = 0;
  int64_t records_read_ = 0;
};

class TfRecordWriter {
 public:
  explicit TfRecordWriter(const std::string& path);  // truncates; throws DataError(kIo)
  ~TfRecordWriter();
  TfRecordWriter(const TfRecordWriter&) = delete;
  TfRecordWriter& operator=(const TfRecordWriter&) = delete;
  void write(const void* data, size_t size);
  void write(const std::string& payload) { write(payload.data(), payload.size()); }
  void flush();  // fflush + fsync-free flush to the OS
  void close();
 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace fcn
