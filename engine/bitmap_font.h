// A built-in 3x5 pixel font (digits, "step", a few marks) for labelling images without a font library.
// Each glyph is 3 columns x 5 rows; characters advance by 4 columns (one blank column between them).
// Drawing scales every font pixel to a scale x scale block and clips at the image border.
#pragma once
#include <cstdint>
#include <string>

namespace fcn {

constexpr int kGlyphWidth = 3;
constexpr int kGlyphHeight = 5;
constexpr int kGlyphAdvance = 4;  // glyph width + 1 blank column

// Digits 0-9, the letters of "step" (either case), space, '-', '.', ':'.
bool has_glyph(char c);
// Whether font pixel (x in [0, 3), y in [0, 5)) of c is set; false for characters without a glyph
// (they draw as blanks) and for coordinates outside the glyph.
bool glyph_pixel(char c, int x, int y);
// Width in image pixels of text drawn at scale: (4 * length - 1) * scale, 0 for "".
int text_width(const std::string& text, int scale);

// Draws text with its top-left corner at (x, y) into image [height, width, 3] in colour rgb[3].
// Parts outside the image are clipped.
void draw_text(uint8_t* image, int height, int width, int x, int y, const std::string& text, int scale,
               const uint8_t rgb[3]);

}  // namespace fcn
