// Image decode (JPEG via libjpeg-turbo as TensorFlow sets it up; PNG, GIF, BMP via stb_image) and PNG/JPEG
// encode (stb_image_write).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace fcn {

struct DecodedImage {
  int height = 0;
  int width = 0;
  int channels = 0;           // channels of `pixels` (the requested count)
  int source_channels = 0;    // channels stored in the file
  std::vector<uint8_t> pixels;  // [height, width, channels]
};

// Decodes to `channels` (1 or 3): gray expands to RGB, alpha is dropped, RGB to gray uses luma (stb's
// integer weights for PNG/GIF/BMP, libjpeg's Y for JPEG). JPEG pixels equal tf.image.decode_image's.
// Returns false and sets *error on bad bytes or an image over max_pixels (checked before decoding).
bool decode_image(const void* data, size_t size, int channels, int64_t max_pixels, DecodedImage* out,
                  std::string* error);

// Reads the dimensions from the header alone. Returns false when the bytes are not an image.
bool peek_image_size(const void* data, size_t size, int* width, int* height, int* channels);
// True for a 16-bit-per-sample PNG (decode_image scales those to 8 bits, which would garble class values).
bool image_is_16_bit(const void* data, size_t size);

std::string encode_png(const uint8_t* pixels, int height, int width, int channels);  // [h, w, c]
std::string encode_jpeg(const uint8_t* pixels, int height, int width, int channels, int quality);
// Atomic (a temporary beside it, renamed over it): a failed write leaves no partial file. Throws
// std::runtime_error.
void write_file(const std::string& path, const std::string& bytes);
std::string read_file(const std::string& path);                        // throws std::runtime_error

}  // namespace fcn
