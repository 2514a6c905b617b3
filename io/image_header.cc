// Header parsers for PNG, GIF and BMP (fixed offsets, bounds-checked), JPEG through libjpeg.
#include "io/image_header.h"

#include <cstdint>
#include <cstring>

#include "io/jpeg_decode.h"

namespace fcn {
namespace {

uint32_t be32(const unsigned char* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}
uint32_t le32(const unsigned char* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
uint16_t le16(const unsigned char* p) { return uint16_t(p[0] | p[1] << 8); }

bool fail(std::string* error, const char* format, const std::string& why) {
  if (error != nullptr) *error = std::string("unreadable ") + format + " header: " + why;
  return false;
}

// Signature (8), then the first chunk, which must be IHDR: length 13, "IHDR", width, height (big-endian),
// bit depth, colour type, compression, filter, interlace.
bool read_png(const unsigned char* b, size_t size, ImageHeader* h, std::string* error) {
  if (size < 8 + 8 + 13) return fail(error, "PNG", "the file ends before the IHDR chunk is complete");
  if (be32(b + 8) != 13 || std::memcmp(b + 12, "IHDR", 4) != 0) {
    return fail(error, "PNG", "the first chunk is not a 13-byte IHDR");
  }
  const uint32_t width = be32(b + 16), height = be32(b + 20);
  if (width == 0 || height == 0 || width > 0x7FFFFFFFu || height > 0x7FFFFFFFu) {
    return fail(error, "PNG", "size " + std::to_string(width) + "x" + std::to_string(height));
  }
  h->width = int(width);
  h->height = int(height);
  h->bits_per_sample = b[24];
  switch (b[25]) {
    case 0: h->channels = 1; break;
    case 2: h->channels = 3; break;
    case 3: h->channels = 3; break;  // palette entries are RGB
    case 4: h->channels = 2; break;
    case 6: h->channels = 4; break;
    default: return fail(error, "PNG", "colour type " + std::to_string(b[25]));
  }
  return true;
}

// "GIF87a" / "GIF89a", then the logical screen: width, height (little-endian 16-bit).
bool read_gif(const unsigned char* b, size_t size, ImageHeader* h, std::string* error) {
  if (size < 10) return fail(error, "GIF", "the file ends inside the logical screen descriptor");
  h->width = le16(b + 6);
  h->height = le16(b + 8);
  h->channels = 3;
  if (h->width == 0 || h->height == 0) {
    return fail(error, "GIF", "size " + std::to_string(h->width) + "x" + std::to_string(h->height));
  }
  return true;
}

// "BM", file size, reserved, data offset (14 bytes), then the info header: its size at 14; OS/2's 12-byte
// core header holds 16-bit width, height and bit count at 18, 20, 24; the others (40 bytes and up) hold a
// 32-bit width and height at 18 and 22 (a negative height is a top-down image) and the bit count at 28.
bool read_bmp(const unsigned char* b, size_t size, ImageHeader* h, std::string* error) {
  if (size < 18) return fail(error, "BMP", "the file ends before the info header");
  const uint32_t info_size = le32(b + 14);
  int64_t width = 0, height = 0;
  int bits = 0;
  if (info_size == 12) {
    if (size < 26) return fail(error, "BMP", "the file ends inside the info header");
    width = le16(b + 18);
    height = le16(b + 20);
    bits = le16(b + 24);
  } else if (info_size >= 40) {
    if (size < 30) return fail(error, "BMP", "the file ends inside the info header");
    width = int32_t(le32(b + 18));
    height = int32_t(le32(b + 22));
    if (height < 0) height = -height;
    bits = le16(b + 28);
  } else {
    return fail(error, "BMP", "an info header of " + std::to_string(info_size) + " bytes");
  }
  if (width <= 0 || height <= 0 || height > 0x7FFFFFFF) {
    return fail(error, "BMP", "size " + std::to_string(width) + "x" + std::to_string(height));
  }
  h->width = int(width);
  h->height = int(height);
  h->channels = bits == 32 ? 4 : 3;
  return true;
}

}  // namespace

const char* image_format_of(const void* data, size_t size) {
  const auto* b = static_cast<const unsigned char*>(data);
  if (size >= 8 && std::memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0) return "PNG";
  if (size >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return "JPEG";
  if (size >= 6 && (std::memcmp(b, "GIF87a", 6) == 0 || std::memcmp(b, "GIF89a", 6) == 0)) return "GIF";
  if (size >= 2 && b[0] == 'B' && b[1] == 'M') return "BMP";
  return nullptr;
}

bool read_image_header(const void* data, size_t size, ImageHeader* header, std::string* error) {
  const char* format = image_format_of(data, size);
  if (format == nullptr) {
    if (error != nullptr) *error = "not a PNG, JPEG, GIF or BMP image";
    return false;
  }
  ImageHeader h;
  h.format = format;
  const auto* b = static_cast<const unsigned char*>(data);
  bool ok = false;
  if (std::strcmp(format, "PNG") == 0) {
    ok = read_png(b, size, &h, error);
  } else if (std::strcmp(format, "GIF") == 0) {
    ok = read_gif(b, size, &h, error);
  } else if (std::strcmp(format, "BMP") == 0) {
    ok = read_bmp(b, size, &h, error);
  } else {
    JpegHeader jpeg;
    ok = read_jpeg_header(data, size, &jpeg, error);
    h.width = jpeg.width;
    h.height = jpeg.height;
    h.channels = jpeg.components;
  }
  if (ok) *header = h;
  return ok;
}

}  // namespace fcn
