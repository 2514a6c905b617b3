// An image's format, size and sample layout from its first bytes, without decoding: the PNG IHDR chunk,
// the GIF logical screen, the BMP info header (read here byte by byte), the JPEG frame header (through
// libjpeg, io/jpeg_decode.h). decode_image checks this size against the pixel limit before any decoder
// allocates, so a PNG claiming 20000x20000 is "over the pixel limit", whatever the decoder would say.
#pragma once
#include <cstddef>
#include <string>

namespace fcn {

// "PNG", "JPEG", "GIF", "BMP" from the magic bytes (as tf.image.decode_image tells them apart), or
// nullptr for anything else.
const char* image_format_of(const void* data, size_t size);

struct ImageHeader {
  const char* format = nullptr;  // as image_format_of
  int width = 0;
  int height = 0;
  int channels = 0;         // stored: PNG 1 gray, 2 gray + alpha, 3 RGB or paletted, 4 RGBA; GIF 3; BMP 3,
                            // or 4 at 32 bits per pixel; JPEG its component count (1, 3, 4)
  int bits_per_sample = 8;  // PNG's bit depth (1..16); 8 for the others
};

// False with *error ("unreadable PNG header: ...") when the bytes are no such image or the header is cut
// or impossible (a zero or negative size, an unknown PNG colour type).
bool read_image_header(const void* data, size_t size, ImageHeader* header, std::string* error);

}  // namespace fcn
