// TFRecord compression: the names of the options and the detection from a file's first bytes.
#include "io/tfrecord_compression.h"

#include <cctype>
#include <cstdint>

#include "io/crc32c.h"

namespace fcn {

const char* compression_name(TfRecordCompression compression) {
  switch (compression) {
    case TfRecordCompression::kAuto: return "auto";
    case TfRecordCompression::kNone: return "none";
    case TfRecordCompression::kGzip: return "gzip";
    case TfRecordCompression::kZlib: return "zlib";
  }
  return "unknown";
}

bool parse_tfrecord_compression(const std::string& text, TfRecordCompression* out) {
  std::string lower;
  for (char ch : text) lower += char(std::tolower(static_cast<unsigned char>(ch)));
  for (TfRecordCompression c : {TfRecordCompression::kAuto, TfRecordCompression::kNone, TfRecordCompression::kGzip,
                                TfRecordCompression::kZlib}) {
    if (lower == compression_name(c)) {
      *out = c;
      return true;
    }
  }
  return false;
}

TfRecordCompression detect_tfrecord_compression(const void* head, size_t size) {
  const auto* b = static_cast<const unsigned char*>(head);
  if (size >= 12) {
    uint32_t stored = uint32_t(b[8]) | uint32_t(b[9]) << 8 | uint32_t(b[10]) << 16 | uint32_t(b[11]) << 24;
    if (crc32c_unmask(stored) == crc32c(b, 8)) return TfRecordCompression::kNone;
  }
  if (size >= 2 && b[0] == 0x1F && b[1] == 0x8B) return TfRecordCompression::kGzip;
  if (size >= 2) {
    const unsigned cmf = b[0], flg = b[1];
    const bool deflate = (cmf & 0x0F) == 8 && (cmf >> 4) <= 7;
    const bool no_dictionary = (flg & 0x20) == 0;
    if (deflate && no_dictionary && (cmf * 256 + flg) % 31 == 0) return TfRecordCompression::kZlib;
  }
  return TfRecordCompression::kNone;
}

}  // namespace fcn
