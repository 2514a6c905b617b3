// Helpers for the io tests: scratch folders, synthetic images, hand-built PNG files (for the variants
// stb_image_write cannot produce: paletted, 16-bit, lying headers) and PNG, GIF and BMP headers alone.
#pragma once
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "io/example.h"
#include "io/image_codec.h"

namespace fcn::test {

// A fresh empty folder under the system temp dir, removed when the object goes away.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name) {
    static std::atomic<int> counter{0};
    path = std::filesystem::temp_directory_path() /
           ("fcn_" + name + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// [h, w, 3] RGB with a different value per pixel and channel (so transposes and shifts are visible).
inline std::vector<uint8_t> pattern_rgb(int height, int width, int seed = 0) {
  std::vector<uint8_t> rgb(size_t(height) * width * 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c) rgb[(size_t(y) * width + x) * 3 + c] = uint8_t(y * 37 + x * 11 + c * 85 + seed * 7);
  return rgb;
}

// [h, w] class values: `value` inside the rectangle [y0, y1) x [x0, x1), 0 elsewhere.
inline std::vector<uint8_t> box_label(int height, int width, int y0, int y1, int x0, int x1, uint8_t value) {
  std::vector<uint8_t> label(size_t(height) * width, 0);
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) label[size_t(y) * width + x] = value;
  return label;
}

// The fields of a valid record: PNG image with pattern_rgb, PNG label with a box of class 1.
inline ExampleFields valid_fields(int height = 6, int width = 5, int seed = 0) {
  ExampleFields f;
  std::vector<uint8_t> rgb = pattern_rgb(height, width, seed);
  std::vector<uint8_t> label = box_label(height, width, 1, height - 1, 1, width - 1, 1);
  f.image_encoded = encode_png(rgb.data(), height, width, 3);
  f.image_format = "png";
  f.label_encoded = encode_png(label.data(), height, width, 1);
  f.filename = "img_" + std::to_string(seed) + ".png";
  f.id = "ck" + std::to_string(seed);
  f.height = height;
  f.width = width;
  f.channels = 3;
  return f;
}

// CRC-32 (ISO-HDLC, the PNG/zlib one; not CRC-32C), bit by bit: fine for tiny test files.
inline uint32_t crc32_iso(const uint8_t* data, size_t size) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int b = 0; b < 8; ++b) crc = (crc & 1u) ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
  }
  return ~crc;
}

inline void put_be32(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out += char((v >> (8 * i)) & 0xFF);
}

inline void png_chunk(std::string& out, const char* type, const std::string& data) {
  put_be32(out, uint32_t(data.size()));
  std::string typed = std::string(type, 4) + data;
  out += typed;
  put_be32(out, crc32_iso(reinterpret_cast<const uint8_t*>(typed.data()), typed.size()));
}

// The start of a PNG that only declares its size: the signature and IHDR, no image data.
inline std::string png_header_only(int width, int height, int bit_depth, int color_type) {
  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  put_be32(ihdr, uint32_t(width));
  put_be32(ihdr, uint32_t(height));
  ihdr += char(bit_depth);
  ihdr += char(color_type);
  ihdr += std::string(3, '\0');  // compression, filter, interlace
  png_chunk(png, "IHDR", ihdr);
  return png;
}

// A PNG built by hand with an uncompressed (stored) zlib stream. `rows` holds the raw scanlines without
// filter bytes ([height, bytes_per_row]); color_type 0 gray, 2 RGB, 3 paletted; palette is RGB triples.
inline std::string handmade_png(int width, int height, int bit_depth, int color_type, const std::string& rows,
                                const std::vector<uint8_t>& palette = {}) {
  std::string png = png_header_only(width, height, bit_depth, color_type);
  if (!palette.empty()) png_chunk(png, "PLTE", std::string(palette.begin(), palette.end()));

  std::string raw;  // scanlines each preceded by filter type 0
  const size_t row_bytes = height > 0 ? rows.size() / size_t(height) : 0;
  for (int y = 0; y < height; ++y) raw += '\0' + rows.substr(size_t(y) * row_bytes, row_bytes);
  std::string zlib("\x78\x01", 2);  // deflate, 32K window, no preset dictionary
  zlib += char(1);                   // final stored block (raw must stay under 64 KiB)
  uint16_t len = uint16_t(raw.size());
  zlib += char(len & 0xFF);
  zlib += char(len >> 8);
  zlib += char(~len & 0xFF);
  zlib += char((~len >> 8) & 0xFF);
  zlib += raw;
  uint32_t a = 1, b = 0;  // adler32
  for (unsigned char c : raw) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  put_be32(zlib, (b << 16) | a);
  png_chunk(png, "IDAT", zlib);
  png_chunk(png, "IEND", "");
  return png;
}

// The start of a GIF89a that only declares its logical screen size.
inline std::string gif_header_only(int width, int height) {
  std::string gif = "GIF89a";
  gif += char(width & 0xFF);
  gif += char(width >> 8);
  gif += char(height & 0xFF);
  gif += char(height >> 8);
  gif += std::string("\x00\x00\x00", 3);  // no global colour table
  return gif;
}

inline void put_le32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out += char((v >> (8 * i)) & 0xFF);
}

// A BMP file header and 40-byte BITMAPINFOHEADER declaring width x height (negative: top-down), no pixels.
inline std::string bmp_header_only(int width, int height, int bits_per_pixel) {
  std::string bmp = "BM";
  put_le32(bmp, 54);  // file size: just the headers
  put_le32(bmp, 0);
  put_le32(bmp, 54);  // pixel data offset
  put_le32(bmp, 40);
  put_le32(bmp, uint32_t(width));
  put_le32(bmp, uint32_t(height));
  bmp += std::string("\x01\x00", 2);  // planes
  bmp += char(bits_per_pixel);
  bmp += '\0';
  bmp += std::string(24, '\0');  // compression .. important colours
  return bmp;
}

}  // namespace fcn::test
