// InflateReader: zlib's inflate over a file read with pread, restartable, with bounded buffers.
#include "io/inflate_reader.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

namespace fcn {

namespace {
constexpr size_t kInputBytes = 64 * 1024;
constexpr size_t kScratchBytes = 64 * 1024;
constexpr size_t kMaxChunk = size_t(1) << 30;  // zlib counts in 32-bit uInt: feed it at most this at once
constexpr int kGzipWindowBits = MAX_WBITS + 16;  // gzip wrapper only
constexpr int kZlibWindowBits = MAX_WBITS;       // zlib wrapper only
}  // namespace

InflateError::InflateError(Kind kind, uint64_t decompressed_offset, uint64_t compressed_offset,
                           const std::string& detail)
    : std::runtime_error(detail),
      kind_(kind),
      decompressed_offset_(decompressed_offset),
      compressed_offset_(compressed_offset) {}

InflateReader::InflateReader(int fd, Format format) : fd_(fd), format_(format), input_(kInputBytes) {
  restart();
  restarts_ = 0;  // the first start is no restart
}

InflateReader::~InflateReader() {
  if (initialized_) inflateEnd(&stream_);
}

void InflateReader::restart() {
  if (initialized_) {
    inflateEnd(&stream_);
    initialized_ = false;
  }
  stream_ = z_stream{};
  const int status = inflateInit2(&stream_, format_ == Format::kGzip ? kGzipWindowBits : kZlibWindowBits);
  if (status == Z_MEM_ERROR) throw std::bad_alloc();
  if (status != Z_OK) throw std::runtime_error(std::string("zlib inflateInit2 failed: ") + zError(status));
  initialized_ = true;
  stream_.next_in = input_.data();
  stream_.avail_in = 0;
  file_offset_ = 0;
  position_ = 0;
  in_member_ = false;
  ended_ = false;
  broken_ = false;
  ++restarts_;
}

InflateError InflateReader::fault(InflateError::Kind kind, size_t produced, const std::string& detail) const {
  return InflateError(kind, position_ + produced, file_offset_ - stream_.avail_in, detail);
}

void InflateReader::refill() {
  ssize_t got;
  do {
    got = ::pread(fd_, input_.data(), input_.size(), off_t(file_offset_));
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    throw InflateError(InflateError::Kind::kIo, position_, file_offset_, std::string("read failed: ") +
                                                                              std::strerror(errno));
  }
  stream_.next_in = input_.data();
  stream_.avail_in = uInt(got);
  file_offset_ += uint64_t(got);
}

size_t InflateReader::produce(unsigned char* out, size_t size) {
  size_t produced = 0;
  while (produced < size) {
    if (ended_) {
      // A ZLIB stream is one stream: bytes after its end are not TFRecord data that could be read.
      if (format_ == Format::kZlib) {
        if (stream_.avail_in == 0) refill();
        if (stream_.avail_in > 0) {
          throw fault(InflateError::Kind::kCorrupted, produced,
                      "bytes follow the end of the ZLIB stream (two files joined together?)");
        }
      }
      break;
    }
    if (stream_.avail_in == 0) refill();
    if (stream_.avail_in == 0) {  // the file is exhausted
      if (!in_member_) {          // at the end of a gzip member (or an empty file): the stream is complete
        ended_ = true;
        break;
      }
      throw fault(InflateError::Kind::kTruncated, produced,
                  "the file ends inside the compressed stream (its end marker and checksum are missing)");
    }
    in_member_ = true;
    const size_t want = std::min(size - produced, kMaxChunk);
    stream_.next_out = out + produced;
    stream_.avail_out = uInt(want);
    const int status = inflate(&stream_, Z_NO_FLUSH);
    produced += want - stream_.avail_out;
    if (status == Z_STREAM_END) {
      in_member_ = false;
      if (format_ == Format::kGzip) {
        inflateReset(&stream_);  // another member may follow; if the file ends here, the stream is complete
      } else {
        ended_ = true;
      }
    } else if (status == Z_NEED_DICT) {
      throw fault(InflateError::Kind::kCorrupted, produced,
                  "the ZLIB stream asks for a preset dictionary, which TFRecord files never use");
    } else if (status == Z_BUF_ERROR && stream_.avail_in > 0) {  // no progress with input and output space
      throw fault(InflateError::Kind::kCorrupted, produced, "zlib made no progress");
    } else if (status != Z_OK && status != Z_BUF_ERROR) {
      if (status == Z_MEM_ERROR) throw std::bad_alloc();
      throw fault(InflateError::Kind::kCorrupted, produced,
                  std::string("zlib: ") + (stream_.msg != nullptr ? stream_.msg : zError(status)));
    }
  }
  position_ += produced;
  return produced;
}

size_t InflateReader::read_at(uint64_t offset, void* out, size_t size) {
  if (broken_ || offset < position_) restart();
  try {
    if (scratch_.empty() && position_ < offset) scratch_.resize(kScratchBytes);
    while (position_ < offset) {
      const size_t step = size_t(std::min<uint64_t>(offset - position_, scratch_.size()));
      if (produce(scratch_.data(), step) < step) return 0;  // the stream ends before `offset`
    }
    return produce(static_cast<unsigned char*>(out), size);
  } catch (...) {
    broken_ = true;
    throw;
  }
}

}  // namespace fcn
