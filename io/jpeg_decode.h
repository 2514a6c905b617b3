// JPEG decoding with libjpeg-turbo, set up as TensorFlow's tf.image.decode_image / decode_jpeg is by
// default (tensorflow/core/lib/jpeg/jpeg_mem.cc, kernels/image/decode_image_op.cc), so the pixels are
// TensorFlow's to the byte: the fast integer IDCT (JDCT_IFAST, TensorFlow's choice for decode_image and
// for decode_jpeg's default dct_method ""), fancy upsampling, no scaling, RGB output for 3 channels (gray
// repeated by libjpeg; CMYK/YCCK decoded as CMYK and turned into RGB with TensorFlow's formula, Adobe's
// inverted CMYK included), gray (libjpeg's luma) for 1 channel. Bytes that run out before the image is
// complete are an error, as in TensorFlow with try_recover_truncated off; libjpeg's warnings about
// corrupt data (extraneous bytes, a segment that ends early) are accepted, as TensorFlow accepts them.
// libjpeg's fatal errors come back as false with a message (its error manager longjmps out), never as an
// exit or a crash. The image size is checked against the pixel limit from the header, before any pixel
// memory is taken, and progressive files may have at most kMaxJpegScans scans.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "io/image_codec.h"

namespace fcn {

// More scans than this is no real progressive JPEG, but a way to make the decoder loop for long.
constexpr int kMaxJpegScans = 1000;

struct JpegHeader {
  int width = 0;
  int height = 0;
  int components = 0;  // as stored: 1 gray, 3 YCbCr/RGB, 4 CMYK/YCCK
};

// Reads the header (up to the start of the image data). False with *error on a bad or short header.
bool read_jpeg_header(const void* data, size_t size, JpegHeader* header, std::string* error);

// Decodes to `channels` (1 or 3) pixels [height, width, channels]; out->source_channels is the stored
// component count. False with *error on bad data or an image over max_pixels (width * height).
bool decode_jpeg(const void* data, size_t size, int channels, int64_t max_pixels, DecodedImage* out,
                 std::string* error);

}  // namespace fcn
