// Helper for the tests and the fuzz seeds that need JPEG files stb_image_write cannot write (gray,
// progressive, CMYK): libjpeg's own encoder, to memory.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <jpeglib.h>

namespace fcn::test {

// A JPEG written with libjpeg itself (stb_image_write only writes baseline YCbCr): `pixels` [h, w,
// components] in `space`; CMYK gets Adobe's marker and is stored inverted, as libjpeg does.
inline std::string libjpeg_bytes(const std::vector<uint8_t>& pixels, int h, int w, int components,
                                 J_COLOR_SPACE space, bool progressive) {
  jpeg_compress_struct c{};
  jpeg_error_mgr err{};
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buffer, &size);
  c.image_width = JDIMENSION(w);
  c.image_height = JDIMENSION(h);
  c.input_components = components;
  c.in_color_space = space;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 100, TRUE);
  if (progressive) jpeg_simple_progression(&c);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW rows[1] = {const_cast<JSAMPLE*>(pixels.data()) + size_t(c.next_scanline) * size_t(w) * components};
    jpeg_write_scanlines(&c, rows, 1);
  }
  jpeg_finish_compress(&c);
  std::string out(reinterpret_cast<const char*>(buffer), size);
  jpeg_destroy_compress(&c);
  std::free(buffer);
  return out;
}

}  // namespace fcn::test
