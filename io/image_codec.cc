// Image decode and encode, from and to memory, plus whole-file I/O. JPEG is decoded by libjpeg-turbo
// (io/jpeg_decode), PNG, GIF and BMP by stb_image; encoding is stb_image_write's. Formats are recognised
// by their magic bytes (PNG, JPEG, GIF, BMP), as tf.image.decode_image does, so arbitrary bytes are never
// guessed into an image, and stb never sees JPEG bytes. Sizes are read from the header by io/image_header
// and checked against the pixel limit before any decoder allocates; a PNG's chunks are checked too
// (io/png_chunks.h).
#include "io/image_codec.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <stb_image.h>
#include <stb_image_write.h>

#include "io/file_checks.h"
#include "io/image_header.h"
#include "io/jpeg_decode.h"
#include "io/png_chunks.h"

namespace fcn {
namespace {

std::string first_bytes_hex(const void* data, size_t size) {
  const auto* b = static_cast<const unsigned char*>(data);
  std::string out;
  char buf[4];
  for (size_t i = 0; i < size && i < 8; ++i) {
    std::snprintf(buf, sizeof(buf), "%s%02x", i == 0 ? "" : " ", b[i]);
    out += buf;
  }
  return out.empty() ? "(empty)" : out;
}

void append_to_string(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), size_t(size));
}

}  // namespace

bool peek_image_size(const void* data, size_t size, int* width, int* height, int* channels) {
  ImageHeader header;
  if (!read_image_header(data, size, &header, nullptr)) return false;
  if (width) *width = header.width;
  if (height) *height = header.height;
  if (channels) *channels = header.channels;
  return true;
}

bool image_is_16_bit(const void* data, size_t size) {
  ImageHeader header;
  return read_image_header(data, size, &header, nullptr) && header.bits_per_sample == 16;
}

bool decode_image(const void* data, size_t size, int channels, int64_t max_pixels, DecodedImage* out,
                  std::string* error) {
  auto fail = [&](const std::string& message) {
    if (error) *error = message;
    return false;
  };
  if (channels != 1 && channels != 3) return fail("decode_image: channels must be 1 or 3");
  const char* format = image_format_of(data, size);
  if (format == nullptr) {
    return fail("not a PNG, JPEG, GIF or BMP image (" + std::to_string(size) + " bytes, starting " +
                first_bytes_hex(data, size) + ")");
  }
  if (size > size_t(INT_MAX)) return fail("image bytes over 2 GiB");
  // The size from the header, checked before any decoder allocates for it.
  ImageHeader header;
  std::string header_error;
  if (!read_image_header(data, size, &header, &header_error)) return fail(header_error);
  const int64_t pixel_count = int64_t(header.width) * header.height;
  if (pixel_count > max_pixels) {
    return fail(std::string(format) + " of " + std::to_string(header.width) + "x" + std::to_string(header.height) +
                " = " + std::to_string(pixel_count) + " pixels, over the pixel limit of " +
                std::to_string(max_pixels) + " pixels");
  }
  if (std::strcmp(format, "JPEG") == 0) return decode_jpeg(data, size, channels, max_pixels, out, error);
  std::string rewritten;  // a PNG without its empty IDAT chunks, when stb cannot take it as it is
  if (std::strcmp(format, "PNG") == 0 && !check_png_chunks(data, size, &rewritten, &header_error)) {
    return fail(header_error);
  }
  if (!rewritten.empty()) {
    data = rewritten.data();
    size = rewritten.size();
  }

  int w = 0, h = 0, c = 0;
  stbi_uc* pixels = stbi_load_from_memory(static_cast<const stbi_uc*>(data), int(size), &w, &h, &c, channels);
  if (pixels == nullptr) return fail(std::string("cannot decode ") + format + ": " + stbi_failure_reason());
  if (w != header.width || h != header.height) {  // header and decoder disagree: never hand out such an image
    stbi_image_free(pixels);
    return fail(std::string(format) + " header and pixel data disagree on the size");
  }
  out->width = w;
  out->height = h;
  out->channels = channels;
  out->source_channels = c;
  out->pixels.assign(pixels, pixels + size_t(w) * size_t(h) * size_t(channels));
  stbi_image_free(pixels);
  return true;
}

std::string encode_png(const uint8_t* pixels, int height, int width, int channels) {
  std::string bytes;
  if (stbi_write_png_to_func(append_to_string, &bytes, width, height, channels, pixels, width * channels) == 0) {
    throw std::runtime_error("encode_png: cannot encode a " + std::to_string(width) + "x" +
                             std::to_string(height) + "x" + std::to_string(channels) + " image");
  }
  return bytes;
}

std::string encode_jpeg(const uint8_t* pixels, int height, int width, int channels, int quality) {
  std::string bytes;
  if (stbi_write_jpg_to_func(append_to_string, &bytes, width, height, channels, pixels, quality) == 0) {
    throw std::runtime_error("encode_jpeg: cannot encode a " + std::to_string(width) + "x" +
                             std::to_string(height) + "x" + std::to_string(channels) + " image");
  }
  return bytes;
}

void write_file(const std::string& path, const std::string& bytes) {
  // Written beside it and renamed over it: a failure leaves no partial file, only the old one if any.
  const std::string tmp = path + ".tmp";
  std::FILE* file = std::fopen(tmp.c_str(), "wb");
  if (file == nullptr) {
    throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno) +
                             "\nHINT: check that the folder exists and is writable.");
  }
  size_t written = bytes.empty() ? 0 : std::fwrite(bytes.data(), 1, bytes.size(), file);
  int write_errno = errno;
  const bool closed = std::fclose(file) == 0;
  if (!closed) write_errno = errno;
  if (!closed || written != bytes.size() || std::rename(tmp.c_str(), path.c_str()) != 0) {
    if (closed && written == bytes.size()) write_errno = errno;  // the rename failed
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot write " + path + ": " + std::strerror(write_errno) +
                             "\nHINT: check free disk space and permissions.");
  }
}

std::string read_file(const std::string& path) {
  if (const std::string problem = regular_file_problem(path); problem == "is a directory") {
    throw std::runtime_error(path + " is a directory, not a file\nHINT: pass a file inside it");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno) +
                             "\nHINT: check that the path exists and is readable.");
  }
  std::string bytes;
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size < 0) throw std::runtime_error("cannot read " + path + " (not a regular file?)");
  bytes.resize(size_t(size));
  in.seekg(0, std::ios::beg);
  in.read(bytes.data(), size);
  if (in.gcount() != size) throw std::runtime_error("cannot read all of " + path + " (it changed while reading?)");
  return bytes;
}

}  // namespace fcn
