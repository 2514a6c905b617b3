// TFRecord framing: the index pass (headers only), the CRC-checked reader and the writer.
// Every failure is a DataError naming the file, the record index and the record's byte offset.
#include "io/tfrecord.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <utility>

#include "io/crc32c.h"

namespace fcn {

DataError::DataError(Kind kind, std::string file, int64_t record, int64_t offset, const std::string& message)
    : std::runtime_error(message), kind_(kind), file_(std::move(file)), record_(record), offset_(offset) {}

namespace {

constexpr size_t kHeaderBytes = 12;  // uint64 length + uint32 masked CRC of the length
constexpr size_t kFooterBytes = 4;   // uint32 masked CRC of the payload

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

DataError corrupted(const std::string& file, int64_t record, uint64_t offset, const std::string& which,
                    uint32_t stored, uint32_t computed) {
  return DataError(DataError::Kind::kCorrupted, file, record, int64_t(offset),
                   "corrupted record " + std::to_string(record) + " at byte offset " + std::to_string(offset) +
                       " in " + file + ": " + which + " mismatch (stored " + hex32(stored) +
                       ", computed " + hex32(computed) + ")\n" + kCorruptHint);
}

DataError truncated(const std::string& file, int64_t record, uint64_t offset, const std::string& detail) {
  return DataError(DataError::Kind::kTruncated, file, record, int64_t(offset),
                   "truncated record " + std::to_string(record) + " at byte offset " + std::to_string(offset) +
                       " in " + file + ": " + detail + "\n" + kTruncatedHint);
}

DataError io_error(const std::string& file, const std::string& what, int err) {
  return DataError(DataError::Kind::kIo, file, -1, -1,
                   "cannot " + what + " " + file + ": " + std::strerror(err) +
                       "\nHINT: check that the path exists, is a regular file and is readable (for writing: "
                       "that the folder exists and is writable).");
}

// Checks a 12-byte header; returns the payload length.
uint64_t check_header(const unsigned char* header, const std::string& file, int64_t record, uint64_t offset) {
  uint64_t length = load_le64(header);
  uint32_t stored = crc32c_unmask(load_le32(header + 8));
  uint32_t computed = crc32c(header, 8);
  if (stored == computed) return length;
  if (offset == 0 && header[0] == 0x1F && header[1] == 0x8B) {  // gzip magic: a compressed TFRecord file
    throw DataError(DataError::Kind::kUnsupported, file, record, 0,
                    "cannot read record 0 at byte offset 0 in " + file +
                        ": the file is GZIP-compressed (starts with 1f 8b), not a plain TFRecord file\n"
                    "HINT: decompress it first (gunzip -c FILE > FILE.tfrecord) and use the decompressed copy.");
  }
  if (offset == 0) {
    throw DataError(DataError::Kind::kCorrupted, file, record, 0,
                    "corrupted record 0 at byte offset 0 in " + file + ": length CRC mismatch (stored " +
                        hex32(stored) + ", computed " + hex32(computed) + ")\n"
                        "HINT: the very first header is wrong: is this a TFRecord file at all (ZLIB-compressed "
                        "TFRecords must be decompressed first)? Otherwise re-export or download it again.");
  }
  throw corrupted(file, record, offset, "length CRC", stored, computed);
}

// Throws kTruncated when a record of `length` payload bytes at `offset` does not fit in `file_size`.
void check_fits(uint64_t length, uint64_t offset, uint64_t file_size, const std::string& file, int64_t record) {
  uint64_t available = file_size - offset - kHeaderBytes;  // caller guarantees offset + 12 <= file_size
  if (length > available || available - length < kFooterBytes) {
    throw truncated(file, record, offset,
                    "the header says " + std::to_string(length) + " payload bytes + 4 CRC bytes but only " +
                        std::to_string(available) + " bytes follow the header");
  }
}

uint64_t file_size_of(std::FILE* file, const std::string& path) {
  struct stat st;
  if (fstat(fileno(file), &st) != 0) throw io_error(path, "stat", errno);
  return uint64_t(st.st_size);
}

}  // namespace

std::vector<RecordLocation> index_tfrecord(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw io_error(path, "open", errno);
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (fstat(fd, &st) != 0) throw io_error(path, "stat", errno);
  if (S_ISDIR(st.st_mode)) throw io_error(path, "read the TFRecord file", EISDIR);
  const uint64_t size = uint64_t(st.st_size);

  std::vector<RecordLocation> locations;
  uint64_t offset = 0;
  while (offset < size) {
    const int64_t record = int64_t(locations.size());
    if (size - offset < kHeaderBytes) {
      throw truncated(path, record, offset,
                      "the file ends inside the 12-byte header (" + std::to_string(size - offset) +
                          " bytes left)");
    }
    unsigned char header[kHeaderBytes];
    ssize_t got = ::pread(fd, header, kHeaderBytes, off_t(offset));
    if (got != ssize_t(kHeaderBytes)) throw io_error(path, "read", got < 0 ? errno : EIO);
    uint64_t length = check_header(header, path, record, offset);
    check_fits(length, offset, size, path, record);
    locations.push_back(RecordLocation{offset, length});
    offset += length + kHeaderBytes + kFooterBytes;
  }
  return locations;
}

TfRecordReader::TfRecordReader(const std::string& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "rb");
  if (file_ == nullptr) throw io_error(path, "open", errno);
  struct stat st;
  if (fstat(fileno(file_), &st) == 0 && S_ISDIR(st.st_mode)) {
    std::fclose(file_);
    file_ = nullptr;
    throw io_error(path, "read the TFRecord file", EISDIR);
  }
}

TfRecordReader::~TfRecordReader() {
  if (file_ != nullptr) std::fclose(file_);
}

bool TfRecordReader::next(std::string& payload) {
  const int64_t record = records_read_;
  if (fseeko(file_, off_t(offset_), SEEK_SET) != 0) throw io_error(path_, "seek in", errno);
  unsigned char header[kHeaderBytes];
  size_t got = std::fread(header, 1, kHeaderBytes, file_);
  if (got == 0 && !std::ferror(file_)) return false;  // clean end of file at a record boundary
  if (std::ferror(file_)) throw io_error(path_, "read", errno);
  if (got < kHeaderBytes) {
    throw truncated(path_, record, offset_,
                    "the file ends inside the 12-byte header (" + std::to_string(got) + " bytes left)");
  }
  uint64_t length = check_header(header, path_, record, offset_);
  check_fits(length, offset_, file_size_of(file_, path_), path_, record);
  const uint64_t framed = length + kHeaderBytes + kFooterBytes;
  try {
    read_at(RecordLocation{offset_, length}, record, payload);
  } catch (const DataError& e) {
    // A bad payload CRC leaves the framing intact: step over the record so the next call can go on.
    if (e.kind() == DataError::Kind::kCorrupted) {
      offset_ += framed;
      ++records_read_;
    }
    throw;
  }
  offset_ += framed;
  ++records_read_;
  return true;
}

void TfRecordReader::read_at(const RecordLocation& loc, int64_t record_index, std::string& payload) {
  if (fseeko(file_, off_t(loc.offset), SEEK_SET) != 0) throw io_error(path_, "seek in", errno);
  unsigned char header[kHeaderBytes];
  size_t got = std::fread(header, 1, kHeaderBytes, file_);
  if (std::ferror(file_)) throw io_error(path_, "read", errno);
  if (got < kHeaderBytes) {
    throw truncated(path_, record_index, loc.offset,
                    "the file ends inside the 12-byte header (" + std::to_string(got) + " bytes left)");
  }
  uint64_t length = check_header(header, path_, record_index, loc.offset);
  if (length != loc.payload_length) {
    throw DataError(DataError::Kind::kCorrupted, path_, record_index, int64_t(loc.offset),
                    "corrupted record " + std::to_string(record_index) + " at byte offset " +
                        std::to_string(loc.offset) + " in " + path_ + ": the header says " +
                        std::to_string(length) + " payload bytes, the index said " +
                        std::to_string(loc.payload_length) +
                        " (the file changed after it was indexed?)\n"
                        "HINT: do not modify the export while it is being read; restart the command.");
  }
  uint64_t size = file_size_of(file_, path_);
  if (loc.offset + kHeaderBytes > size) {  // the file shrank between the header read and now
    throw truncated(path_, record_index, loc.offset, "the file ends inside the header");
  }
  check_fits(length, loc.offset, size, path_, record_index);

  // Payload and its CRC in one read; the CRC bytes are then cut off (no reallocation).
  payload.resize(length + kFooterBytes);
  got = std::fread(payload.data(), 1, payload.size(), file_);
  if (std::ferror(file_)) throw io_error(path_, "read", errno);
  if (got < payload.size()) {
    throw truncated(path_, record_index, loc.offset,
                    "the file ends inside the payload (" + std::to_string(got) + " of " +
                        std::to_string(payload.size()) + " bytes)");
  }
  uint32_t stored = crc32c_unmask(load_le32(reinterpret_cast<const unsigned char*>(payload.data()) + length));
  payload.resize(length);
  uint32_t computed = crc32c(payload.data(), payload.size());
  if (stored != computed) throw corrupted(path_, record_index, loc.offset, "payload CRC", stored, computed);
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
