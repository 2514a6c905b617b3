// The decompressed bytes of a GZIP or ZLIB file, read with zlib as a stream that can seek. Reads continue
// from where the last one ended; a forward seek decompresses and discards the bytes in between; a backward
// seek starts again from the first byte of the file (counted by restarts()). Memory stays the same whatever
// the file's size: a 64 KiB input buffer, a 64 KiB buffer for skipping, and zlib's state with its 32 KiB
// window. Semantics follow TensorFlow's ZlibInputStream: GZIP may hold several concatenated members (read
// one after another as one stream); ZLIB is one stream. Stricter than TensorFlow: a stream that ends
// before its end marker and checksum is an error (TensorFlow stops quietly at a record boundary there), and
// so are bytes after the end of a ZLIB stream (TensorFlow ignores them).
#pragma once
#include <zlib.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace fcn {

// A damaged, cut or unreadable compressed stream. what() is the detail alone (zlib's words where it has
// some); the caller adds the file and the record.
class InflateError : public std::runtime_error {
 public:
  enum class Kind { kCorrupted, kTruncated, kIo };
  InflateError(Kind kind, uint64_t decompressed_offset, uint64_t compressed_offset, const std::string& detail);
  Kind kind() const { return kind_; }
  uint64_t decompressed_offset() const { return decompressed_offset_; }  // bytes decompressed before the fault
  uint64_t compressed_offset() const { return compressed_offset_; }      // bytes of the file consumed by then

 private:
  Kind kind_;
  uint64_t decompressed_offset_;
  uint64_t compressed_offset_;
};

class InflateReader {
 public:
  enum class Format { kGzip, kZlib };
  // Reads the file open as `fd` (not owned: it must stay open while the reader lives) from byte 0.
  InflateReader(int fd, Format format);
  ~InflateReader();
  InflateReader(const InflateReader&) = delete;
  InflateReader& operator=(const InflateReader&) = delete;

  // Copies up to `size` decompressed bytes, starting at decompressed byte `offset`, into `out` and returns
  // how many: fewer than `size` only at the end of the stream (0 when `offset` is at or past it). Throws
  // InflateError: kCorrupted for damaged data (a bad header, block or checksum, or bytes after a ZLIB
  // stream), kTruncated when the file ends inside the stream, kIo when the file cannot be read. After an
  // error the next read starts again from the beginning of the file.
  size_t read_at(uint64_t offset, void* out, size_t size);

  uint64_t position() const { return position_; }  // decompressed offset where a read continues without seeking
  int64_t restarts() const { return restarts_; }    // backward seeks (and recoveries after an error) so far

 private:
  void restart();                         // back to byte 0 of the file, fresh zlib state
  size_t produce(unsigned char* out, size_t size);  // decompresses the next bytes of the stream
  void refill();                          // reads the next compressed bytes into input_
  InflateError fault(InflateError::Kind kind, size_t produced, const std::string& detail) const;

  int fd_;
  Format format_;
  z_stream stream_{};
  bool initialized_ = false;
  std::vector<unsigned char> input_;
  std::vector<unsigned char> scratch_;  // where skipped bytes go
  uint64_t file_offset_ = 0;            // next byte of the file to read into input_
  uint64_t position_ = 0;               // decompressed bytes produced since the start of the file
  bool in_member_ = false;              // inside a gzip member / the zlib stream (its end not yet seen)
  bool ended_ = false;                  // the stream is complete: nothing more to produce
  bool broken_ = false;                 // an error was thrown: restart before the next read
  int64_t restarts_ = 0;
};

}  // namespace fcn
