// The bytes the TFRecord framing is read from: the file itself, or the decompressed stream of a GZIP or
// ZLIB file (io/inflate_reader.h). Offsets are offsets in that stream. Used by io/tfrecord.cc alone.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "io/inflate_reader.h"
#include "io/tfrecord_compression.h"

namespace fcn {

class RecordStream {
 public:
  // Opens `path` and, for kAuto, looks at its first bytes (detect_tfrecord_compression). Throws
  // DataError(kIo) when the file cannot be opened or read, or is a folder.
  RecordStream(const std::string& path, TfRecordCompression compression);
  ~RecordStream();
  RecordStream(const RecordStream&) = delete;
  RecordStream& operator=(const RecordStream&) = delete;

  TfRecordCompression compression() const { return compression_; }  // kNone, kGzip or kZlib
  bool detected() const { return detected_; }   // chosen from the first bytes (kAuto), not forced
  bool compressed() const { return inflate_ != nullptr; }
  const std::string& head_hex() const { return head_hex_; }  // the first bytes, for messages

  // Copies up to `size` bytes from `offset` into `out`; fewer only at the end of the stream. Compressed
  // streams throw InflateError (see io/inflate_reader.h); a failed read of the file is DataError(kIo).
  size_t read(uint64_t offset, void* out, size_t size);
  // How many bytes the stream holds from `offset` on, counted up to `limit`. A plain file asks its size
  // (nothing is read); a compressed stream decompresses them and throws them away.
  uint64_t available(uint64_t offset, uint64_t limit);

 private:
  std::string path_;
  int fd_ = -1;
  TfRecordCompression compression_ = TfRecordCompression::kNone;
  bool detected_ = false;
  std::string head_hex_;
  std::unique_ptr<InflateReader> inflate_;
};

}  // namespace fcn
