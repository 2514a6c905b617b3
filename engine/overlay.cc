// Overlays, gray probability maps and progress strips (see overlay.h for the exact pixel rules).
#include "engine/overlay.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "engine/bitmap_font.h"

namespace fcn {

namespace {

uint8_t to_byte(float v) {
  v = std::round(v);
  return static_cast<uint8_t>(v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v));
}

}  // namespace

void draw_overlay(uint8_t* out, const uint8_t* rgb, const float* prob, int h, int w, float threshold) {
  // The mask first: out may alias rgb, and the outline needs every neighbour's class.
  std::vector<uint8_t> predicted(static_cast<size_t>(h) * w);
  for (size_t i = 0; i < predicted.size(); ++i) predicted[i] = prob[i] >= threshold ? 1 : 0;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      size_t i = static_cast<size_t>(y) * w + x;
      const uint8_t* in_px = rgb + 3 * i;
      uint8_t* out_px = out + 3 * i;
      if (!predicted[i]) {
        for (int c = 0; c < 3; ++c) out_px[c] = to_byte(in_px[c] * kOverlayDim);
        continue;
      }
      bool boundary = (x > 0 && !predicted[i - 1]) || (x + 1 < w && !predicted[i + 1]) ||
                      (y > 0 && !predicted[i - w]) || (y + 1 < h && !predicted[i + w]);
      for (int c = 0; c < 3; ++c) {
        out_px[c] = boundary ? kOverlayOutline[c]
                             : to_byte(in_px[c] * (1.0f - kOverlayTintAlpha) + kOverlayTint[c] * kOverlayTintAlpha);
      }
    }
  }
}

void probability_to_gray(uint8_t* out, const float* prob, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float p = prob[i];
    if (!(p > 0.0f)) p = 0.0f;  // also NaN
    if (p > 1.0f) p = 1.0f;
    out[i] = to_byte(p * 255.0f);
  }
}

std::vector<int> select_strip_frames(int count, int max_frames) {
  std::vector<int> chosen;
  if (count <= 0 || max_frames <= 0) return chosen;
  if (count <= max_frames) {
    for (int i = 0; i < count; ++i) chosen.push_back(i);
    return chosen;
  }
  if (max_frames == 1) return {count - 1};
  // count - 1 > max_frames - 1, so consecutive picks are more than one apart before rounding: distinct.
  for (int i = 0; i < max_frames; ++i) {
    double position = static_cast<double>(i) * (count - 1) / (max_frames - 1);
    chosen.push_back(static_cast<int>(std::lround(position)));
  }
  return chosen;
}

int strip_label_scale(int w) { return std::clamp(w / 64, 1, 4); }

std::string strip_label(int64_t label, int w, int scale) {
  std::string number = std::to_string(label);
  std::string full = "step " + number;
  return text_width(full, scale) <= w ? full : number;
}

void make_progress_strip(std::vector<uint8_t>* out, int* out_h, int* out_w,
                         const std::vector<std::vector<uint8_t>>& frames, int h, int w,
                         const std::vector<int64_t>& labels) {
  if (frames.size() != labels.size()) {
    throw std::invalid_argument("make_progress_strip: " + std::to_string(frames.size()) + " frames but " +
                                std::to_string(labels.size()) +
                                " labels\nHINT: pass one step number per frame.");
  }
  if (h <= 0 || w <= 0) {
    throw std::invalid_argument("make_progress_strip: frame size " + std::to_string(h) + "x" +
                                std::to_string(w) + "\nHINT: pass the frames' positive height and width.");
  }
  const size_t frame_bytes = static_cast<size_t>(h) * w * 3;
  for (size_t i = 0; i < frames.size(); ++i) {
    if (frames[i].size() != frame_bytes) {
      throw std::invalid_argument("make_progress_strip: frame " + std::to_string(i) + " holds " +
                                  std::to_string(frames[i].size()) + " bytes, expected " +
                                  std::to_string(frame_bytes) + " ([" + std::to_string(h) + ", " +
                                  std::to_string(w) + ", 3])\nHINT: every frame must be an RGB image of the "
                                  "same size.");
    }
  }
  std::vector<int> chosen = select_strip_frames(static_cast<int>(frames.size()));
  out->clear();
  if (chosen.empty()) {
    *out_h = 0;
    *out_w = 0;
    return;
  }
  const int k = static_cast<int>(chosen.size());
  const int scale = strip_label_scale(w);
  const int band = kGlyphHeight * scale + 2 * kStripGap;
  *out_w = k * w + (k + 1) * kStripGap;
  *out_h = kStripGap + h + band;
  out->resize(static_cast<size_t>(*out_h) * *out_w * 3);
  for (size_t i = 0; i < out->size(); i += 3) {
    (*out)[i] = kStripBackground[0];
    (*out)[i + 1] = kStripBackground[1];
    (*out)[i + 2] = kStripBackground[2];
  }
  for (int slot = 0; slot < k; ++slot) {
    const std::vector<uint8_t>& frame = frames[chosen[slot]];
    const int left = kStripGap + slot * (w + kStripGap);
    for (int y = 0; y < h; ++y) {
      std::copy_n(frame.data() + static_cast<size_t>(y) * w * 3, static_cast<size_t>(w) * 3,
                  out->data() + (static_cast<size_t>(kStripGap + y) * *out_w + left) * 3);
    }
    std::string text = strip_label(labels[chosen[slot]], w, scale);
    int text_left = left + std::max(0, (w - text_width(text, scale)) / 2);
    // Draw into the band only, clipped to this frame's columns: render into a band-sized scratch canvas.
    std::vector<uint8_t> cell(static_cast<size_t>(band) * w * 3, 0);
    for (size_t i = 0; i < cell.size(); i += 3) {
      cell[i] = kStripBackground[0];
      cell[i + 1] = kStripBackground[1];
      cell[i + 2] = kStripBackground[2];
    }
    draw_text(cell.data(), band, w, text_left - left, kStripGap, text, scale, kStripText);
    for (int y = 0; y < band; ++y) {
      std::copy_n(cell.data() + static_cast<size_t>(y) * w * 3, static_cast<size_t>(w) * 3,
                  out->data() + (static_cast<size_t>(kStripGap + h + y) * *out_w + left) * 3);
    }
  }
}

}  // namespace fcn
