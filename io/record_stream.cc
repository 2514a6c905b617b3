// RecordStream: pread on a plain file, InflateReader on a compressed one; kAuto resolved on open.
#include "io/record_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "io/tfrecord.h"

namespace fcn {

namespace {

DataError io_error(const std::string& file, const std::string& what, int err) {
  return DataError(DataError::Kind::kIo, file, -1, -1,
                   "cannot " + what + " " + file + ": " + std::strerror(err) +
                       "\nHINT: check that the path exists, is a regular file and is readable.");
}

std::string hex_bytes(const unsigned char* b, size_t n) {
  std::string out;
  char buf[4];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof(buf), "%s%02x", i == 0 ? "" : " ", b[i]);
    out += buf;
  }
  return out;
}

}  // namespace

RecordStream::RecordStream(const std::string& path, TfRecordCompression compression) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw io_error(path, "open", errno);
  struct stat st;
  if (fstat(fd_, &st) != 0 || S_ISDIR(st.st_mode)) {
    const int err = S_ISDIR(st.st_mode) ? EISDIR : errno;
    ::close(fd_);
    throw io_error(path, "read the TFRecord file", err);
  }
  unsigned char head[12];
  ssize_t got;
  do {
    got = ::pread(fd_, head, sizeof(head), 0);
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    const int err = errno;
    ::close(fd_);
    throw io_error(path, "read", err);
  }
  head_hex_ = hex_bytes(head, std::min<size_t>(size_t(got), 4));
  compression_ = compression;
  if (compression == TfRecordCompression::kAuto) {
    compression_ = detect_tfrecord_compression(head, size_t(got));
    detected_ = true;
  }
  if (compression_ == TfRecordCompression::kGzip) {
    inflate_ = std::make_unique<InflateReader>(fd_, InflateReader::Format::kGzip);
  } else if (compression_ == TfRecordCompression::kZlib) {
    inflate_ = std::make_unique<InflateReader>(fd_, InflateReader::Format::kZlib);
  }
}

RecordStream::~RecordStream() {
  inflate_.reset();
  if (fd_ >= 0) ::close(fd_);
}

size_t RecordStream::read(uint64_t offset, void* out, size_t size) {
  if (inflate_ != nullptr) return inflate_->read_at(offset, out, size);
  size_t done = 0;
  while (done < size) {
    const ssize_t got = ::pread(fd_, static_cast<char*>(out) + done, size - done, off_t(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw io_error(path_, "read", errno);
    if (got == 0) break;
    done += size_t(got);
  }
  return done;
}

uint64_t RecordStream::available(uint64_t offset, uint64_t limit) {
  if (inflate_ == nullptr) {
    struct stat st;
    if (fstat(fd_, &st) != 0) throw io_error(path_, "stat", errno);
    const uint64_t size = uint64_t(st.st_size);
    return offset >= size ? 0 : std::min(limit, size - offset);
  }
  // Decompress up to the last byte wanted (the bytes before it are skipped); where the stream stopped says
  // how many there were when it ends earlier.
  limit = std::min(limit, UINT64_MAX - offset);
  if (limit == 0) return 0;
  unsigned char last;
  if (inflate_->read_at(offset + limit - 1, &last, 1) == 1) return limit;
  return inflate_->position() > offset ? inflate_->position() - offset : 0;
}

}  // namespace fcn
