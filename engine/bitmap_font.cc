// The 3x5 glyph table and the text rasteriser of bitmap_font.h.
#include "engine/bitmap_font.h"

namespace fcn {

namespace {

// Five rows per glyph, top to bottom; in each row bit 2 is the left column, bit 0 the right one.
struct Glyph {
  char c;
  uint8_t rows[kGlyphHeight];
};

constexpr Glyph kGlyphs[] = {
    {'0', {0b111, 0b101, 0b101, 0b101, 0b111}}, {'1', {0b010, 0b110, 0b010, 0b010, 0b111}},
    {'2', {0b111, 0b001, 0b111, 0b100, 0b111}}, {'3', {0b111, 0b001, 0b111, 0b001, 0b111}},
    {'4', {0b101, 0b101, 0b111, 0b001, 0b001}}, {'5', {0b111, 0b100, 0b111, 0b001, 0b111}},
    {'6', {0b111, 0b100, 0b111, 0b101, 0b111}}, {'7', {0b111, 0b001, 0b010, 0b010, 0b010}},
    {'8', {0b111, 0b101, 0b111, 0b101, 0b111}}, {'9', {0b111, 0b101, 0b111, 0b001, 0b111}},
    {'s', {0b011, 0b100, 0b010, 0b001, 0b110}}, {'t', {0b111, 0b010, 0b010, 0b010, 0b010}},
    {'e', {0b111, 0b100, 0b110, 0b100, 0b111}}, {'p', {0b110, 0b101, 0b110, 0b100, 0b100}},
    {' ', {0, 0, 0, 0, 0}},                     {'-', {0, 0, 0b111, 0, 0}},
    {'.', {0, 0, 0, 0, 0b010}},                 {':', {0, 0b010, 0, 0b010, 0}},
};

const Glyph* find_glyph(char c) {
  if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  for (const Glyph& g : kGlyphs) {
    if (g.c == c) return &g;
  }
  return nullptr;
}

}  // namespace

bool has_glyph(char c) { return find_glyph(c) != nullptr; }

bool glyph_pixel(char c, int x, int y) {
  const Glyph* g = find_glyph(c);
  if (g == nullptr || x < 0 || x >= kGlyphWidth || y < 0 || y >= kGlyphHeight) return false;
  return (g->rows[y] >> (kGlyphWidth - 1 - x)) & 1;
}

int text_width(const std::string& text, int scale) {
  if (text.empty()) return 0;
  return (kGlyphAdvance * static_cast<int>(text.size()) - 1) * scale;
}

void draw_text(uint8_t* image, int height, int width, int x, int y, const std::string& text, int scale,
               const uint8_t rgb[3]) {
  if (scale < 1) scale = 1;
  for (size_t k = 0; k < text.size(); ++k) {
    int glyph_x = x + static_cast<int>(k) * kGlyphAdvance * scale;
    for (int gy = 0; gy < kGlyphHeight; ++gy) {
      for (int gx = 0; gx < kGlyphWidth; ++gx) {
        if (!glyph_pixel(text[k], gx, gy)) continue;
        for (int dy = 0; dy < scale; ++dy) {
          int py = y + gy * scale + dy;
          if (py < 0 || py >= height) continue;
          for (int dx = 0; dx < scale; ++dx) {
            int px = glyph_x + gx * scale + dx;
            if (px < 0 || px >= width) continue;
            uint8_t* p = image + (static_cast<int64_t>(py) * width + px) * 3;
            p[0] = rgb[0];
            p[1] = rgb[1];
            p[2] = rgb[2];
          }
        }
      }
    }
  }
}

}  // namespace fcn
