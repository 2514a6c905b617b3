// PNG chunk checks before stb_image (see png_chunks.h): each chunk is length (4, big-endian), type (4),
// data (length bytes), CRC (4).
#include "io/png_chunks.h"

#include <cctype>
#include <cstdint>
#include <cstring>
#include <vector>

namespace fcn {
namespace {

constexpr size_t kSignatureBytes = 8;
constexpr size_t kChunkOverhead = 12;  // length, type, CRC

uint32_t be32(const unsigned char* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

// The chunk's type for messages: its four letters, or "?" when they are not letters.
std::string type_name(const unsigned char* type) {
  for (int i = 0; i < 4; ++i) {
    if (!std::isalpha(type[i])) return "?";
  }
  return std::string(reinterpret_cast<const char*>(type), 4);
}

}  // namespace

bool check_png_chunks(const void* data, size_t size, std::string* without_empty_idat, std::string* error) {
  const auto* b = static_cast<const unsigned char*>(data);
  std::vector<size_t> empty_idat;  // offsets of the empty IDAT chunks
  bool empty_before_data = false, seen_data = false;
  for (size_t at = kSignatureBytes; at + 8 <= size;) {
    const uint64_t length = be32(b + at);
    const uint64_t end = at + kChunkOverhead + length;
    if (end > size) {
      if (error != nullptr) {
        *error = "PNG chunk '" + type_name(b + at + 4) + "' at byte " + std::to_string(at) + " declares " +
                 std::to_string(length) + " bytes, past the end of the " + std::to_string(size) +
                 "-byte file (a cut or damaged file?)";
      }
      return false;
    }
    if (std::memcmp(b + at + 4, "IEND", 4) == 0) break;
    if (std::memcmp(b + at + 4, "IDAT", 4) == 0) {
      if (length == 0) {
        empty_idat.push_back(at);
        empty_before_data = empty_before_data || !seen_data;
      }
      seen_data = seen_data || length > 0;
    }
    at = size_t(end);
  }
  without_empty_idat->clear();
  if (empty_before_data) {
    size_t from = 0;
    for (size_t at : empty_idat) {
      without_empty_idat->append(reinterpret_cast<const char*>(b) + from, at - from);
      from = at + kChunkOverhead;
    }
    without_empty_idat->append(reinterpret_cast<const char*>(b) + from, size - from);
  }
  return true;
}

}  // namespace fcn
